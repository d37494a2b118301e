//! Helpers shared by the mirror fault tests: a ledger of acknowledged deliveries.
// Each test binary that includes this module uses a different subset of it.
#![allow(dead_code)]

use std::{collections::HashMap, time::SystemTime};

use maildir_store::{AppendRequest, MailStore, MailboxName, ReadPart, StoreError, Uid, UserId};

/// Every delivery a client was told succeeded, with the UID it was given.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub(crate) acked: Vec<(Uid, Vec<u8>)>,
}

pub(crate) fn bob() -> UserId {
    UserId::new("bob").expect("valid user")
}

pub(crate) fn body(n: usize) -> Vec<u8> {
    format!("Message-ID: <{n}@ledger>\r\nSubject: {n}\r\n\r\nbody {n}\r\n").into_bytes()
}

impl Ledger {
    /// Delivers message `n`; records it if acknowledged. Returns the store's answer.
    pub(crate) fn deliver(&mut self, store: &dyn MailStore, n: usize) -> Result<Uid, StoreError> {
        self.deliver_bytes(store, body(n))
    }

    /// Delivers `b`; records it if acknowledged.
    pub(crate) fn deliver_bytes(
        &mut self,
        store: &dyn MailStore,
        b: Vec<u8>,
    ) -> Result<Uid, StoreError> {
        let req = AppendRequest::new(SystemTime::UNIX_EPOCH);
        let r = store.append(&bob(), &MailboxName::inbox(), &mut &b[..], &req);
        if let Ok(uid) = &r {
            self.acked.push((*uid, b));
        }
        r
    }

    /// Every acknowledged message is in `store`'s INBOX exactly once, under its UID.
    pub(crate) fn assert_all_present(&self, store: &dyn MailStore) {
        let inbox = MailboxName::inbox();
        let view = store.open(&bob(), &inbox).expect("open INBOX");
        let mut by_bytes: HashMap<Vec<u8>, Vec<Uid>> = HashMap::new();
        for m in &view.messages {
            let bytes = store
                .read(&bob(), &inbox, m.uid, ReadPart::Whole)
                .expect("read");
            by_bytes.entry(bytes).or_default().push(m.uid);
        }
        for (uid, b) in &self.acked {
            let found = by_bytes.get(b).cloned().unwrap_or_default();
            assert_eq!(
                found,
                [*uid],
                "acknowledged message {uid} must be present exactly once under its UID"
            );
        }
    }
}
