//! What a store must offer to be one side of a [`Mirror`](super::Mirror): the trait calls,
//! plus a small durable record of the mirror set's state kept beside the mail.

use std::{fs, io::ErrorKind};

use crate::{
    error::StoreError,
    mailbox_name::MailboxName,
    maildir::{Maildir, lock::DotLock},
    memory::MemStore,
    store::MailStore,
    types::{
        AppendRequest, ExpungeSelector, FlagChange, Flags, MessageMeta, ModSeq, Uid, UidValidity,
        UserId,
    },
};

/// The file in a Maildir replica root that holds the mirror-set record.
pub const MIRROR_STATE_FILE: &str = "gradwell-mirror-state";

/// What a store must offer so that a resync, a scrub or a move between mirror sets can copy
/// mail into it with the source's identifiers: same UIDVALIDITY, UIDs, flags and MODSEQs.
/// Maildir and MemStore replicas offer it, and so does a whole [`Mirror`](super::Mirror)
/// (forwarded to both its replicas), which is what lets a user move between sets.
pub trait Restore: MailStore {
    /// Every user with a tree on this replica (resync walks them all).
    fn users(&self) -> Result<Vec<UserId>, StoreError>;

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

    /// Migration: creates a mailbox (never INBOX) that has UIDVALIDITY `v` from the start,
    /// as [`MailStore::create_mailbox`] followed by [`Restore::adopt_uid_validity`] would
    /// (the default does exactly that), but in one step where the store can.
    fn create_restored_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
        v: UidValidity,
    ) -> Result<(), StoreError> {
        self.create_mailbox(user, name, None)?;
        self.adopt_uid_validity(user, name, v)
    }

    /// Resync: stores `body` under exactly `meta`'s UID, flags, INTERNALDATE and modseq. The
    /// UID must be at or above the mailbox's UIDNEXT ([`StoreError::ReplicasDiverged`]
    /// otherwise), so a UID is never reused.
    fn restore_message(
        &self,
        user: &UserId,
        name: &MailboxName,
        meta: &MessageMeta,
        body: &[u8],
    ) -> Result<(), StoreError>;

    /// Bulk import: [`Restore::restore_message`] for each `(meta, body)` of `batch`. A batch
    /// whose UIDs do not ascend, or whose first UID is below UIDNEXT, is refused before
    /// anything is stored ([`StoreError::ReplicasDiverged`]). A store may write the batch at
    /// once (Maildir: one mailbox lock and one control-file commit for all of it). On a later
    /// error some leading messages may be stored, each whole; none is ever half there.
    fn restore_messages(
        &self,
        user: &UserId,
        name: &MailboxName,
        batch: &[(MessageMeta, &[u8])],
    ) -> Result<(), StoreError> {
        check_ascending(batch)?;
        for (meta, body) in batch {
            self.restore_message(user, name, meta, body)?;
        }
        Ok(())
    }

    /// Resync: gives an existing message exactly `flags`, at exactly `modseq`.
    fn restore_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        flags: &Flags,
        modseq: ModSeq,
    ) -> Result<(), StoreError>;

    /// Resync: expunges these messages (those present) and records every one of them as
    /// expunged at `modseq` (a tombstone for QRESYNC even if this replica never had it),
    /// keeping UIDNEXT above them so none is ever handed out again.
    fn restore_expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        modseq: ModSeq,
    ) -> Result<(), StoreError>;

    /// Migration: gives messages the POP3 UIDL and position their POP3 clients already know
    /// (Dovecot's `P` and `O` uidlist records; a remote server's UIDL), for messages whose
    /// UIDL is not the default `%08Xu%08Xv`. Each entry is `(uid, uidl, order)`; `None`
    /// leaves that part as it is, UIDs not present are skipped, and setting the values a
    /// message already has changes nothing. A UIDL must be 1 to 70 printable ASCII
    /// characters (RFC 1939 §7) or the call fails with [`StoreError::Corrupt`].
    fn restore_pop3(
        &self,
        user: &UserId,
        name: &MailboxName,
        entries: &[(Uid, Option<String>, Option<u32>)],
    ) -> Result<(), StoreError>;

    /// Makes everything of the mailbox durable now, whatever the store's own fsync policy:
    /// its message files, control files and directories, and the directory entry of the
    /// mailbox itself. A bulk import writes a whole mailbox through a store opened without
    /// per-message fsync and calls this once at the end (durability per mailbox).
    fn sync_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError>;

    /// Makes the directory entry of a mailbox durable, not its contents: what a rename into
    /// place needs after [`Restore::sync_mailbox`] made the contents durable under the old
    /// name. The default syncs the whole mailbox again.
    fn sync_mailbox_entry(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        self.sync_mailbox(user, name)
    }

    /// Makes the user's own files (subscriptions, the UIDVALIDITY record, special-use
    /// attributes) and the entries of the user's directory durable. The default syncs INBOX
    /// whole, which covers them.
    fn sync_user_files(&self, user: &UserId) -> Result<(), StoreError> {
        self.sync_mailbox(user, &MailboxName::inbox())
    }

    /// Scrub: problems this replica finds in its own copy of a mailbox without asking its
    /// peer — control files that do not parse, a listed message whose file is gone, a file
    /// whose length is not the one its name records. Empty when sound.
    fn check_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<Vec<String>, StoreError>;

    /// Scrub repair: empties the mailbox on this replica (messages, expunge tombstones,
    /// control files), leaving it in place and never having held a message, so a resync
    /// refills it with the peer's identifiers. The mirror calls it only on a fenced replica.
    fn reset_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError>;
}

/// Refuses a restore batch whose UIDs do not strictly ascend.
pub(crate) fn check_ascending(batch: &[(MessageMeta, &[u8])]) -> Result<(), StoreError> {
    match batch
        .iter()
        .zip(batch.iter().skip(1))
        .find(|((a, _), (b, _))| a.uid >= b.uid)
    {
        Some(((a, _), (b, _))) => Err(StoreError::ReplicasDiverged {
            detail: format!("restore batch UIDs must ascend: {} then {}", a.uid, b.uid),
        }),
        None => Ok(()),
    }
}

/// One replica of a mirror set: a [`MailStore`] that can also keep the set's state record
/// (epoch and which side is stale) durably, on the same disk array as its mail, so the record
/// is lost exactly when the mail is.
pub trait Replica: Restore {
    /// The record last written with [`Replica::write_mirror_state`], or `None` if this replica
    /// never had one. A missing or unmounted replica root is an error, not `None` (M4).
    fn read_mirror_state(&self) -> Result<Option<String>, StoreError>;

    /// Replaces the record durably: when this returns `Ok` the new text survives a crash.
    fn write_mirror_state(&self, text: &str) -> Result<(), StoreError>;
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
        lock.replace_target(text.as_bytes(), |f| self.ctx.fsync_data(f))?;
        self.ctx.fsync_path(&self.ctx.root)
    }
}

impl Restore for Maildir {
    fn sync_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        Maildir::sync_mailbox(self, user, name)
    }

    fn sync_mailbox_entry(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        Maildir::sync_mailbox_entry(self, user, name)
    }

    fn create_restored_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
        v: UidValidity,
    ) -> Result<(), StoreError> {
        self.create_with_uid_validity(user, name, v)
    }

    fn sync_user_files(&self, user: &UserId) -> Result<(), StoreError> {
        Maildir::sync_user_files(self, user)
    }

    fn restore_pop3(
        &self,
        user: &UserId,
        name: &MailboxName,
        entries: &[(Uid, Option<String>, Option<u32>)],
    ) -> Result<(), StoreError> {
        crate::pop3::check_uidls(entries)?;
        self.set_pop3(user, name, entries)
    }

    fn check_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<Vec<String>, StoreError> {
        Maildir::check_mailbox(self, user, name)
    }

    fn reset_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        Maildir::reset_mailbox(self, user, name)
    }

    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        self.check_replica_root()?;
        let entries =
            fs::read_dir(&self.ctx.root).map_err(StoreError::io("listing replica root"))?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(StoreError::io("listing replica root"))?;
            let name = entry.file_name();
            let Some(user) = name.to_str().and_then(|n| UserId::new(n).ok()) else {
                continue;
            };
            // Only the normalised spelling is a user tree; `cur/` marks a complete one.
            if user.as_str() == name && entry.path().join("cur").is_dir() {
                out.push(user);
            }
        }
        out.sort();
        Ok(out)
    }

    fn adopt_uid_validity(
        &self,
        user: &UserId,
        name: &MailboxName,
        v: UidValidity,
    ) -> Result<(), StoreError> {
        Maildir::adopt_uid_validity(self, user, name, v)
    }

    fn restore_message(
        &self,
        user: &UserId,
        name: &MailboxName,
        meta: &MessageMeta,
        body: &[u8],
    ) -> Result<(), StoreError> {
        let request = AppendRequest::new(meta.internal_date).with_flags(meta.flags.clone());
        let fixed = Some((meta.uid, meta.modseq));
        self.deliver(user, name, &mut &body[..], &request, fixed)
            .map(|_| ())
    }

    fn restore_messages(
        &self,
        user: &UserId,
        name: &MailboxName,
        batch: &[(MessageMeta, &[u8])],
    ) -> Result<(), StoreError> {
        self.restore_batch(user, name, batch)
    }

    fn restore_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        flags: &Flags,
        modseq: ModSeq,
    ) -> Result<(), StoreError> {
        let change = FlagChange::Replace(flags.clone());
        self.change_flags(user, name, &[uid], &change, None, Some(modseq))
            .map(|_| ())
    }

    fn restore_expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        modseq: ModSeq,
    ) -> Result<(), StoreError> {
        let which = ExpungeSelector::Uids(uids.to_vec());
        self.remove_messages(user, name, &which, Some(modseq))
            .map(|_| ())
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
}

impl Restore for MemStore {
    /// Nothing to do: memory is as durable as it gets.
    fn sync_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        self.open(user, name).map(|_| ())
    }

    fn restore_pop3(
        &self,
        user: &UserId,
        name: &MailboxName,
        entries: &[(Uid, Option<String>, Option<u32>)],
    ) -> Result<(), StoreError> {
        crate::pop3::check_uidls(entries)?;
        self.set_pop3(user, name, entries)
    }

    /// Nothing to check: a memory store has no control files apart from its messages.
    fn check_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<Vec<String>, StoreError> {
        self.open(user, name).map(|_| Vec::new())
    }

    fn reset_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        MemStore::reset_mailbox(self, user, name)
    }

    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        Ok(self.user_ids())
    }

    fn adopt_uid_validity(
        &self,
        user: &UserId,
        name: &MailboxName,
        v: UidValidity,
    ) -> Result<(), StoreError> {
        MemStore::adopt_uid_validity(self, user, name, v)
    }

    fn restore_message(
        &self,
        user: &UserId,
        name: &MailboxName,
        meta: &MessageMeta,
        body: &[u8],
    ) -> Result<(), StoreError> {
        MemStore::restore_message(self, user, name, meta, body)
    }

    fn restore_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        flags: &Flags,
        modseq: ModSeq,
    ) -> Result<(), StoreError> {
        MemStore::restore_flags(self, user, name, uid, flags, modseq)
    }

    fn restore_expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        modseq: ModSeq,
    ) -> Result<(), StoreError> {
        MemStore::restore_expunge(self, user, name, uids, modseq)
    }
}
