//! What a store must offer to be one side of a [`Mirror`](super::Mirror): the trait calls,
//! plus a small durable record of the mirror set's state kept beside the mail.

use std::{fs, io::ErrorKind};

use crate::{
    error::StoreError,
    mailbox_name::MailboxName,
    maildir::{Maildir, lock::DotLock},
    memory::MemStore,
    store::MailStore,
    types::{UidValidity, UserId},
};

/// The file in a Maildir replica root that holds the mirror-set record.
pub const MIRROR_STATE_FILE: &str = "gradwell-mirror-state";

/// One replica of a mirror set: a [`MailStore`] that can also keep the set's state record
/// (epoch and which side is stale) durably, on the same disk array as its mail, so the record
/// is lost exactly when the mail is.
pub trait Replica: MailStore {
    /// The record last written with [`Replica::write_mirror_state`], or `None` if this replica
    /// never had one. A missing or unmounted replica root is an error, not `None` (M4).
    fn read_mirror_state(&self) -> Result<Option<String>, StoreError>;

    /// Replaces the record durably: when this returns `Ok` the new text survives a crash.
    fn write_mirror_state(&self, text: &str) -> Result<(), StoreError>;

    /// Gives a mailbox that never held a message (no UID handed out, nothing expunged) the
    /// UIDVALIDITY `v`, and makes sure this replica never hands out `v` again. The mirror
    /// calls it on the secondary when a mailbox was just created on both sides (explicitly or
    /// as a user's INBOX) and the two picked different values. A mailbox with history is
    /// [`StoreError::ReplicasDiverged`].
    fn adopt_uid_validity(
        &self,
        user: &UserId,
        name: &MailboxName,
        v: UidValidity,
    ) -> Result<(), StoreError>;
}

impl Replica for Maildir {
    fn read_mirror_state(&self) -> Result<Option<String>, StoreError> {
        self.check_replica_root()?;
        match fs::read_to_string(self.ctx.root.join(MIRROR_STATE_FILE)) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("reading mirror state")(e)),
        }
    }

    fn write_mirror_state(&self, text: &str) -> Result<(), StoreError> {
        self.check_replica_root()?;
        let target = self.ctx.root.join(MIRROR_STATE_FILE);
        // The dotlock file is written, fsynced and renamed over the record: readers see the
        // old record or the new one, never a torn one.
        let lock = DotLock::acquire(&target, &self.ctx.lock_policy())?;
        lock.replace_target(text.as_bytes(), self.ctx.options.fsync)?;
        self.ctx.fsync_path(&self.ctx.root)
    }

    fn adopt_uid_validity(
        &self,
        user: &UserId,
        name: &MailboxName,
        v: UidValidity,
    ) -> Result<(), StoreError> {
        Maildir::adopt_uid_validity(self, user, name, v)
    }
}

impl Replica for MemStore {
    fn read_mirror_state(&self) -> Result<Option<String>, StoreError> {
        Ok(self.mirror_state())
    }

    fn write_mirror_state(&self, text: &str) -> Result<(), StoreError> {
        self.set_mirror_state(text.to_owned());
        Ok(())
    }

    fn adopt_uid_validity(
        &self,
        user: &UserId,
        name: &MailboxName,
        v: UidValidity,
    ) -> Result<(), StoreError> {
        MemStore::adopt_uid_validity(self, user, name, v)
    }
}
