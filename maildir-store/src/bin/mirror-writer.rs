//! A writer for the kill -9 test of the mirror: delivers numbered messages to `bob`'s INBOX
//! through a `Mirror` of two Maildir replicas, printing `ACK <n> <uid>` (flushed) after each
//! acknowledgement, until killed.
//!
//! ```text
//! mirror-writer <replica root A> <replica root B>
//! ```
//! `tests/mirror_kill.rs` kills it with SIGKILL and checks that every acknowledged message is
//! on both replicas after restart and resync.

#[path = "common/ledger.rs"]
mod ledger;

use std::{path::Path, process::ExitCode, sync::Arc};

use maildir_store::{
    maildir::{self, Maildir},
    mirror::{Mirror, Options},
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(a), Some(b)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: mirror-writer <replica root A> <replica root B>");
        return ExitCode::from(2);
    };
    match run(Path::new(a), Path::new(b)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mirror-writer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: &Path, b: &Path) -> Result<(), String> {
    let open = |root: &Path| {
        Maildir::open(root, maildir::Options::default())
            .map(Arc::new)
            .map_err(|e| e.to_string())
    };
    let mirror = Mirror::open(open(a)?, open(b)?, Options::default()).map_err(|e| e.to_string())?;
    ledger::deliver_numbered(&mirror, |_| true)
}
