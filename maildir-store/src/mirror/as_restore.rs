//! A whole mirror set as a [`Restore`] target: what lets a user's mail move from one set to
//! another with the same identifiers (see [`crate::placement`]). Each restore call is a write
//! like any other: queued to both healthy replicas, acknowledged when durable on both.

use std::sync::Arc;

use super::{Call, Mirror, Side, replica::Restore};
use crate::{
    error::StoreError,
    mailbox_name::MailboxName,
    types::{Flags, MessageMeta, ModSeq, Uid, UidValidity, UserId},
};

impl Restore for Mirror {
    /// The users of the preferred healthy replica.
    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        let mut last = StoreError::ReplicaUnavailable {
            reason: "no healthy replica".into(),
        };
        for side in Side::BOTH.into_iter().filter(|s| !self.is_fenced(*s)) {
            match self.on(side, Arc::new(|r| r.users())) {
                Ok(users) => return Ok(users),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn adopt_uid_validity(
        &self,
        user: &UserId,
        name: &MailboxName,
        v: UidValidity,
    ) -> Result<(), StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.write(user, Arc::new(move |r| r.adopt_uid_validity(&u, &n, v)))
    }

    fn restore_message(
        &self,
        user: &UserId,
        name: &MailboxName,
        meta: &MessageMeta,
        body: &[u8],
    ) -> Result<(), StoreError> {
        let (u, n, m, b): (_, _, _, Arc<[u8]>) =
            (user.clone(), name.clone(), meta.clone(), body.into());
        self.write(user, Arc::new(move |r| r.restore_message(&u, &n, &m, &b)))
    }

    fn create_restored_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
        v: UidValidity,
    ) -> Result<(), StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.write(
            user,
            Arc::new(move |r| r.create_restored_mailbox(&u, &n, v)),
        )
    }

    fn restore_messages(
        &self,
        user: &UserId,
        name: &MailboxName,
        batch: &[(MessageMeta, &[u8])],
    ) -> Result<(), StoreError> {
        let (u, n) = (user.clone(), name.clone());
        let owned: Arc<[(MessageMeta, Arc<[u8]>)]> = batch
            .iter()
            .map(|(meta, body)| (meta.clone(), Arc::from(*body)))
            .collect();
        self.write(
            user,
            Arc::new(move |r| {
                let borrowed: Vec<(MessageMeta, &[u8])> =
                    owned.iter().map(|(m, b)| (m.clone(), &b[..])).collect();
                r.restore_messages(&u, &n, &borrowed)
            }),
        )
    }

    fn sync_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.write(user, Arc::new(move |r| r.sync_mailbox(&u, &n)))
    }

    fn sync_mailbox_entry(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.write(user, Arc::new(move |r| r.sync_mailbox_entry(&u, &n)))
    }

    fn sync_user_files(&self, user: &UserId) -> Result<(), StoreError> {
        let u = user.clone();
        self.write(user, Arc::new(move |r| r.sync_user_files(&u)))
    }

    fn restore_pop3(
        &self,
        user: &UserId,
        name: &MailboxName,
        entries: &[(Uid, Option<String>, Option<u32>)],
    ) -> Result<(), StoreError> {
        let (u, n, e) = (user.clone(), name.clone(), entries.to_vec());
        self.write(user, Arc::new(move |r| r.restore_pop3(&u, &n, &e)))
    }

    fn restore_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        flags: &Flags,
        modseq: ModSeq,
    ) -> Result<(), StoreError> {
        let (u, n, f) = (user.clone(), name.clone(), flags.clone());
        self.write(
            user,
            Arc::new(move |r| r.restore_flags(&u, &n, uid, &f, modseq)),
        )
    }

    fn restore_expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        modseq: ModSeq,
    ) -> Result<(), StoreError> {
        let (u, n, ids) = (user.clone(), name.clone(), uids.to_vec());
        self.write(
            user,
            Arc::new(move |r| r.restore_expunge(&u, &n, &ids, modseq)),
        )
    }

    /// Both healthy replicas' own findings, each prefixed with its side.
    fn check_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for side in Side::BOTH.into_iter().filter(|s| !self.is_fenced(*s)) {
            let (u, n) = (user.clone(), name.clone());
            let call: Call<Vec<String>> = Arc::new(move |r| r.check_mailbox(&u, &n));
            out.extend(
                self.on(side, call)?
                    .into_iter()
                    .map(|p| format!("{side:?}: {p}")),
            );
        }
        Ok(out)
    }

    fn reset_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.write(user, Arc::new(move |r| r.reset_mailbox(&u, &n)))
    }
}
