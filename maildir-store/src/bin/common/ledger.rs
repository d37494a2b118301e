//! The delivery loop the test writer processes share.

use std::{io::Write, time::SystemTime};

use maildir_store::{AppendRequest, MailStore, MailboxName, UserId};

/// Delivers numbered messages to `bob`'s INBOX, printing `ACK <n> <uid>` (flushed) after each
/// acknowledgement, while `go_on()` says so. The bytes are the test ledger's `body(n)`.
pub(crate) fn deliver_numbered(
    store: &dyn MailStore,
    mut go_on: impl FnMut(u64) -> bool,
) -> Result<(), String> {
    let user = UserId::new("bob").map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let mut n = 0u64;
    while go_on(n) {
        let body = format!("Message-ID: <{n}@ledger>\r\nSubject: {n}\r\n\r\nbody {n}\r\n");
        let req = AppendRequest::new(SystemTime::UNIX_EPOCH);
        let uid = store
            .append(&user, &MailboxName::inbox(), &mut body.as_bytes(), &req)
            .map_err(|e| format!("append {n}: {e}"))?;
        writeln!(out, "ACK {n} {uid}")
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())?;
        n += 1;
    }
    Ok(())
}
