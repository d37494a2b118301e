//! A second process for the cross-process fence test of live moves: delivers numbered
//! messages to `bob`'s INBOX through its own `Placement` over two one-replica sets, printing
//! `ACK <n> <uid>` (flushed) after each acknowledgement, until `<count>` is reached or a file
//! `<placement map>.stop` appears (a clean stop: a kill could leave a mailbox lock behind).
//!
//! ```text
//! placement-writer <placement map> <set 0 root> <set 1 root> <count>
//! ```
//! `tests/placement_processes.rs` moves `bob` from set 0 to set 1 in the test process while
//! this one writes, and checks that every acknowledged message is on set 1.

#[path = "common/ledger.rs"]
mod ledger;

use std::{path::Path, process::ExitCode, sync::Arc};

use maildir_store::{
    maildir::{self, Maildir},
    mirror::Restore,
    placement::{Options, Placement},
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(map), Some(a), Some(b), Some(count)) =
        (args.get(1), args.get(2), args.get(3), args.get(4))
    else {
        eprintln!("usage: placement-writer <placement map> <set 0 root> <set 1 root> <count>");
        return ExitCode::from(2);
    };
    let Ok(count) = count.parse::<u64>() else {
        eprintln!("placement-writer: <count> is a number");
        return ExitCode::from(2);
    };
    match run(Path::new(map), [Path::new(a), Path::new(b)], count) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("placement-writer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(map: &Path, roots: [&Path; 2], count: u64) -> Result<(), String> {
    let mut sets: Vec<Arc<dyn Restore>> = Vec::new();
    for root in roots {
        let mut options = maildir::Options::default();
        options.fsync = false;
        let store = Maildir::open(root, options).map_err(|e| e.to_string())?;
        sets.push(Arc::new(store));
    }
    let placement = Placement::open(sets, map, Options::default()).map_err(|e| e.to_string())?;
    let mut stop = map.as_os_str().to_owned();
    stop.push(".stop");
    let stop = std::path::PathBuf::from(stop);
    ledger::deliver_numbered(&placement, |n| n < count && !stop.exists())
}
