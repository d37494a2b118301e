//! Local delivery: a spooled message plus its trace fields, appended to each recipient's
//! INBOX. `Ok` means durable in every mailbox (the store fsyncs before returning), so the
//! caller may answer 250.

use std::{
    fs::File,
    io::{self, Cursor, Read, Seek, SeekFrom, Write},
    sync::Arc,
    time::SystemTime,
};

use maildir_store::{AppendRequest, MailStore, MailboxName, StoreError, UserId};

/// Messages up to this size stay in memory; larger ones go to an unlinked temporary file.
const IN_MEMORY: usize = 1024 * 1024;

/// A message being received.
#[derive(Debug, Default)]
pub struct Spool {
    memory: Vec<u8>,
    file: Option<File>,
    len: u64,
    /// A write failed: the message is incomplete and must not be delivered.
    failed: bool,
}

impl Spool {
    /// Appends a piece of the message. Spilling to disk is blocking IO of at most one chunk.
    pub fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        let result = self.append(chunk);
        self.failed |= result.is_err();
        result
    }

    fn append(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.len += chunk.len() as u64;
        if self.file.is_none() && self.memory.len() + chunk.len() <= IN_MEMORY {
            self.memory.extend_from_slice(chunk);
            return Ok(());
        }
        let memory = std::mem::take(&mut self.memory);
        let file = &mut self.file;
        tokio::task::block_in_place(|| {
            if file.is_none() {
                let mut f = tempfile::tempfile()?;
                f.write_all(&memory)?;
                *file = Some(f);
            }
            match file {
                Some(f) => f.write_all(chunk),
                None => Ok(()),
            }
        })
    }

    /// Octets received.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was received.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first `limit` octets (for header checks); blocking IO when spilled to disk.
    pub fn head(&mut self, limit: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.reader()?.take(limit as u64).read_to_end(&mut out)?;
        Ok(out)
    }

    /// A reader over the whole message, from the start; call once per recipient.
    pub(crate) fn reader(&mut self) -> io::Result<Box<dyn Read + '_>> {
        match &mut self.file {
            Some(f) => {
                f.seek(SeekFrom::Start(0))?;
                Ok(Box::new(&*f))
            }
            None => Ok(Box::new(Cursor::new(&self.memory))),
        }
    }
}

/// Why delivery failed, as SMTP sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Storage unavailable: try again later (451 4.3.0).
    Temporary,
    /// Out of space (452 4.3.1).
    NoSpace,
}

fn classify(e: &StoreError) -> Failure {
    match e {
        StoreError::Io { source, .. } if source.raw_os_error() == Some(28) => Failure::NoSpace,
        _ => Failure::Temporary,
    }
}

/// Delivers `spool`, prefixed by `trace`, to every user in `users` (blocking: run it on the
/// blocking pool). Returns the outcome per user, in order.
pub fn deliver(
    store: &Arc<dyn MailStore>,
    trace: &[u8],
    spool: &mut Spool,
    users: &[UserId],
    now: SystemTime,
) -> Vec<Result<(), Failure>> {
    if spool.failed {
        tracing::error!("spool write failed earlier; refusing to deliver a partial message");
        return vec![Err(Failure::Temporary); users.len()];
    }
    let inbox = MailboxName::inbox();
    users
        .iter()
        .map(|user| {
            let body = spool.reader().map_err(|_| Failure::Temporary)?;
            let mut message = Cursor::new(trace).chain(body);
            match store.append(user, &inbox, &mut message, &AppendRequest::new(now)) {
                Ok(uid) => {
                    crate::metrics::global()
                        .deliveries
                        .get_or_create(&crate::metrics::ResultLabel { result: "ok" })
                        .inc();
                    tracing::info!(user = %user, uid = uid.get(), "delivered");
                    Ok(())
                }
                Err(e) => {
                    tracing::error!(user = %user, error = %e, "delivery failed");
                    let failure = classify(&e);
                    let result = match failure {
                        Failure::NoSpace => "no_space",
                        _ => "temporary",
                    };
                    crate::metrics::global()
                        .deliveries
                        .get_or_create(&crate::metrics::ResultLabel { result })
                        .inc();
                    Err(failure)
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use maildir_store::{MemStore, ReadPart};

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn large_messages_spill_and_every_user_gets_a_copy() {
        let store: Arc<dyn MailStore> = Arc::new(MemStore::new());
        let mut spool = Spool::default();
        let line = b"0123456789012345678901234567890123456789012345678901234567890123\r\n";
        let mut expected = b"X-Trace: 1\r\n".to_vec();
        for _ in 0..(IN_MEMORY / line.len() + 10) {
            spool.write(line).unwrap();
            expected.extend_from_slice(line);
        }
        assert!(spool.file.is_some(), "spilled to disk");
        let users = [UserId::new("a").unwrap(), UserId::new("b").unwrap()];
        let out = deliver(
            &store,
            b"X-Trace: 1\r\n",
            &mut spool,
            &users,
            SystemTime::now(),
        );
        assert_eq!(out, [Ok(()), Ok(())]);
        for u in &users {
            let view = store.open(u, &MailboxName::inbox()).unwrap();
            let uid = view.messages[0].uid;
            let got = store
                .read(u, &MailboxName::inbox(), uid, ReadPart::Whole)
                .unwrap();
            assert!(got == expected, "byte-exact copy for {u}");
        }
    }
}
