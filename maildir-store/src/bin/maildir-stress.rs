//! One worker of the multi-process stress test: appends messages to a user's INBOX and flags
//! some of them, then prints the UIDs it was given, in order.
//!
//! ```text
//! maildir-stress <replica root> <worker id> <messages>
//! ```
//! `tests/stress.rs` runs four of these at once and checks the result; run it by hand for
//! bigger counts (BENCHMARKS.md).

use std::{
    path::PathBuf,
    process::ExitCode,
    time::{Duration, SystemTime},
};

use maildir_store::{
    AppendRequest, FlagChange, Flags, MailStore, MailboxName, SystemFlag, UserId,
    maildir::{Maildir, Options},
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(root), Some(worker), Some(count)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: maildir-stress <replica root> <worker id> <messages>");
        return ExitCode::from(2);
    };
    let (Ok(worker), Ok(count)) = (worker.parse::<u32>(), count.parse::<u32>()) else {
        eprintln!("worker id and messages must be numbers");
        return ExitCode::from(2);
    };
    match run(PathBuf::from(root), worker, count) {
        Ok(uids) => {
            let text: Vec<String> = uids.iter().map(u32::to_string).collect();
            println!("UIDS {}", text.join(" "));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("worker {worker}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(root: PathBuf, worker: u32, count: u32) -> Result<Vec<u32>, String> {
    let store = Maildir::open(&root, Options::default()).map_err(|e| e.to_string())?;
    let user = UserId::new("stress").map_err(|e| e.to_string())?;
    let inbox = MailboxName::inbox();
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut uids = Vec::with_capacity(count as usize);
    for i in 0..count {
        let body = format!(
            "Message-ID: <w{worker}-{i}@stress>\r\nSubject: worker {worker} message {i}\r\n\r\nbody\r\n"
        );
        let uid = store
            .append(
                &user,
                &inbox,
                &mut body.as_bytes(),
                &AppendRequest::new(date),
            )
            .map_err(|e| format!("append {i}: {e}"))?;
        if uids.last().is_some_and(|last| *last >= uid.get()) {
            return Err(format!("UID {uid} after {:?}: not increasing", uids.last()));
        }
        uids.push(uid.get());
        if i % 5 == 4 {
            // Flag one of ours and the newest message anyone wrote, racing the others.
            let change = FlagChange::Add(Flags::new().with(SystemFlag::Seen));
            store
                .store_flags(&user, &inbox, &[uid], &change, None)
                .map_err(|e| format!("flag {i}: {e}"))?;
        }
    }
    Ok(uids)
}
