//! A live move of one user between mirror sets (steps in the module docs of
//! [`super::Placement`]).
//!
//! The copying is the mirror's own resync: a [`Mirror::pairing`] of the two sets, the target
//! fenced as a resync target, each set wrapped as a [`MoveSide`] (a [`Replica`] whose
//! mirror-state record lives in memory, since the pairing records nothing).

use std::{
    collections::HashSet,
    fmt,
    io::Read,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::{Placement, placement_error};
use crate::{
    error::StoreError,
    mailbox_name::MailboxName,
    mirror::{Mirror, Replica, Restore, metadata_differences},
    store::MailStore,
    types::{
        AppendRequest, ChangeSet, CopyResult, ExpungeSelector, FlagChange, Flags, MailboxInfo,
        MailboxView, MessageMeta, ModSeq, Pop3Entry, QuotaUsage, ReadPart, SpecialUse,
        StoreOutcome, Uid, UidValidity, UserId,
    },
};

/// What a move did and how long clients were held back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MoveReport {
    /// The set the user was on.
    pub from: usize,
    /// The set the user is on now.
    pub to: usize,
    /// Messages copied, over every pass.
    pub messages_copied: usize,
    /// Resync passes made while writers were active.
    pub catch_up_passes: usize,
    /// Messages whose bytes were compared on both sets.
    pub messages_verified: usize,
    /// How long the user's calls were held back (fence, last pass, comparison, switch).
    pub cutover: Duration,
    /// Why the old copy could not be removed, if it could not (it is never read again; a
    /// later move back to that set clears it).
    pub retire_error: Option<String>,
}

impl Placement {
    /// Moves `user` to set `to` while their sessions stay active (see the module docs). On
    /// an error before the switch the user stays where they were, unchanged.
    pub fn move_user(&self, user: &UserId, to: usize) -> Result<MoveReport, StoreError> {
        self.check_set(to)?;
        let from = {
            let _fence = self.fence_shared(user)?;
            self.place(user)?
        };
        if from == to {
            return Err(placement_error(format!("{user} is already on set {to}")));
        }
        let (source, target) = (Arc::clone(&self.sets[from]), Arc::clone(&self.sets[to]));
        if self.read_map().moving.get(user) == Some(&to) {
            clear_user(&*target, user)?; // the partial copy of a failed move
        } else if holds_mail(&*target, user)? {
            return Err(placement_error(format!(
                "set {to} already holds mail for {user}: clear it first"
            )));
        }
        self.update_map(|m| {
            m.moving.insert(user.clone(), to);
        })?;
        let wrap = |s: &Arc<dyn Restore>| -> Arc<dyn Replica> { Arc::new(MoveSide::new(s)) };
        let pair = Mirror::pairing(wrap(&source), wrap(&target), self.options.copy.clone())?;
        let mut report = MoveReport {
            from,
            to,
            ..MoveReport::default()
        };
        for pass in 1..=self.options.catch_up_passes.max(1) {
            report.catch_up_passes = pass;
            report.messages_copied += catch_up(&pair, user)?;
            if pair.lag(user)? <= self.options.cutover_lag {
                break;
            }
        }
        let mut verified = HashSet::new();
        report.messages_verified += same_bytes(&*source, &*target, user, &mut verified)?;
        // The comparison takes a while on a large mailbox: catch up again with quick journal
        // passes until one has little left to copy, so the fenced pass has less still.
        for _ in 0..self.options.catch_up_passes.max(1) {
            match last_pass(&*source, &*target, user, true) {
                Ok(Some(copied)) => {
                    report.messages_copied += copied;
                    if copied <= QUICK_ENOUGH {
                        break;
                    }
                }
                Ok(None) => break, // the mailbox list changed: the fenced pass handles it
                // A writer changed the source mid-pass; the next pass picks it up.
                Err(StoreError::ReplicasDiverged { .. }) => {}
                Err(e) => return Err(e),
            }
        }

        let started = Instant::now();
        let fence = self.fence.exclusive(self.stripe(user))?;
        match last_pass(&*source, &*target, user, false)? {
            Some(copied) => report.messages_copied += copied,
            None => {
                // Mailboxes created, deleted or renamed since the catch-up: the full resync
                // and comparison (slower, still fenced).
                report.messages_copied += pair.resync_user(user)?.messages_copied;
                let differ = metadata_differences(&*source, &*target, user)?;
                if let Some(first) = differ.first() {
                    return Err(StoreError::ReplicasDiverged {
                        detail: format!("moving {user}: the copy differs: {first}"),
                    });
                }
                report.messages_verified += same_bytes(&*source, &*target, user, &mut verified)?;
            }
        }
        // Recorded POP3 UIDLs and order (from a migration) go along, or POP3 clients would
        // download everything again after the move (DESIGN.md M5).
        crate::pop3::carry_pop3(&*source, &*target, user)?;
        self.update_map(|m| {
            m.users.insert(user.clone(), to);
            m.moving.remove(user);
        })?;
        drop(fence);
        report.cutover = started.elapsed();

        report.retire_error = clear_user(&*source, user).err().map(|e| e.to_string());
        Ok(report)
    }
}

/// A quick pass that copied at most this many messages leaves little for the fenced one.
const QUICK_ENOUGH: usize = 8;

/// One resync pass of the pairing while writers are active; returns the messages copied.
fn catch_up(pair: &Mirror, user: &UserId) -> Result<usize, StoreError> {
    match pair.resync_user(user) {
        Ok(r) => Ok(r.messages_copied),
        // A writer changed the source mid-pass; the next pass picks it up.
        Err(StoreError::ReplicasDiverged { .. }) => Ok(0),
        Err(e) => Err(e),
    }
}

/// The cutover's quick pass, made before the fence to catch up and once more while the
/// user is fenced: per mailbox, only the source's journal since the target's HIGHESTMODSEQ
/// is applied (new messages copied and, unfenced, read back; flag changes; expunges), and the copy is
/// then proved level by the mailbox heads (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) and the
/// user's message and byte counts — no full view of a large mailbox is built. `None` when the
/// mailbox list or a UIDVALIDITY changed since the catch-up (the caller then runs the full
/// resync); `Some(copied)` otherwise. Unfenced, a writer racing it makes the proof fail
/// ([`StoreError::ReplicasDiverged`]) after the journal was applied correctly.
fn last_pass(
    source: &dyn MailStore,
    target: &dyn Restore,
    user: &UserId,
    read_back: bool,
) -> Result<Option<usize>, StoreError> {
    let (ls, lt) = (source.list_mailboxes(user)?, target.list_mailboxes(user)?);
    if ls != lt {
        return Ok(None);
    }
    let head =
        |s: &dyn MailStore, name: &MailboxName| s.changes_since(user, name, ModSeq::new(u64::MAX));
    let mut copied = 0;
    for info in &ls {
        let name = &info.name;
        let before = head(target, name)?;
        let cs = source.changes_since(user, name, before.highest_modseq)?;
        if cs.uid_validity != before.uid_validity {
            return Ok(None);
        }
        let mut written = Vec::new();
        for meta in &cs.changed {
            if meta.uid >= before.uid_next {
                let body = source.read(user, name, meta.uid, ReadPart::Whole)?;
                target.restore_message(user, name, meta, &body)?;
                written.push((meta.uid, body));
            } else {
                target.restore_flags(user, name, meta.uid, &meta.flags, meta.modseq)?;
            }
        }
        // Read back after all are written: one rescan of the directory, not one per message.
        // (Fenced, the few messages left are not read back: the pause is kept short, and
        // their sizes are in the usage compared below.)
        for (uid, body) in written {
            copied += 1;
            if read_back && target.read(user, name, uid, ReadPart::Whole)? != body {
                return Err(StoreError::ReplicasDiverged {
                    detail: format!("moving {user}: {name} UID {uid} reads back different"),
                });
            }
        }
        if !cs.vanished.is_empty() {
            target.restore_expunge(user, name, &cs.vanished, cs.highest_modseq)?;
        }
        let after = head(target, name)?;
        let key = |c: &ChangeSet| (c.uid_validity, c.uid_next, c.highest_modseq);
        if key(&after) != key(&cs) {
            return Err(StoreError::ReplicasDiverged {
                detail: format!(
                    "moving {user}: {name} is at {:?} on the target, {:?} on the source",
                    key(&after),
                    key(&cs)
                ),
            });
        }
    }
    let (us, ut) = (source.quota_usage(user)?, target.quota_usage(user)?);
    if us != ut {
        return Err(StoreError::ReplicasDiverged {
            detail: format!("moving {user}: usage {us:?} on the source, {ut:?} on the target"),
        });
    }
    Ok(Some(copied))
}

/// True when `store` has anything of `user`'s beyond an empty INBOX.
fn holds_mail(store: &dyn Restore, user: &UserId) -> Result<bool, StoreError> {
    if !store.users()?.contains(user) {
        return Ok(false);
    }
    let list = store.list_mailboxes(user)?;
    if list.iter().any(|i| !i.name.is_inbox()) {
        return Ok(true);
    }
    let inbox = store.open(user, &MailboxName::inbox())?;
    Ok(!inbox.messages.is_empty() || inbox.uid_next != Uid::MIN)
}

/// Removes `user`'s mail from `store`: every other mailbox deleted (children first) and
/// unsubscribed, INBOX emptied.
fn clear_user(store: &dyn Restore, user: &UserId) -> Result<(), StoreError> {
    if !store.users()?.contains(user) {
        return Ok(());
    }
    for info in store.list_mailboxes(user)?.iter().rev() {
        if info.attributes.subscribed {
            store.set_subscribed(user, &info.name, false)?;
        }
        if info.name.is_inbox() {
            store.reset_mailbox(user, &info.name)?;
        } else {
            store.delete_mailbox(user, &info.name)?;
        }
    }
    Ok(())
}

/// Compares the bytes of every message present on both sides that is not in `done` yet, and
/// adds it there. A message the source expunged meanwhile, or the target does not have yet,
/// is left for the next call (the cutover's metadata comparison makes sure none is left
/// out). Returns how many were compared.
fn same_bytes(
    source: &dyn MailStore,
    target: &dyn MailStore,
    user: &UserId,
    done: &mut HashSet<(MailboxName, Uid)>,
) -> Result<usize, StoreError> {
    let mut compared = 0;
    let gone = |e: &StoreError| {
        matches!(
            e,
            StoreError::NoSuchMessage(_)
                | StoreError::MessageVanished(_)
                | StoreError::NoSuchMailbox
        )
    };
    for info in source.list_mailboxes(user)? {
        let name = info.name;
        let view = match source.open(user, &name) {
            Ok(v) => v,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(e),
        };
        for m in view.messages {
            let key = (name.clone(), m.uid);
            if done.contains(&key) {
                continue;
            }
            let read = |s: &dyn MailStore| s.read(user, &name, m.uid, ReadPart::Whole);
            let (a, b) = match (read(source), read(target)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) if gone(&e) => continue,
                (Err(e), _) | (_, Err(e)) => return Err(e),
            };
            if a != b {
                return Err(StoreError::ReplicasDiverged {
                    detail: format!("moving {user}: {name} UID {} has different bytes", m.uid),
                });
            }
            compared += 1;
            done.insert(key);
        }
    }
    Ok(compared)
}

/// One set taking part in a move, seen as a [`Replica`] by the pairing that copies it. Its
/// mirror-state record is kept in memory: the pairing never fences or rejoins, so it never
/// writes one that matters.
struct MoveSide {
    store: Arc<dyn Restore>,
    record: Mutex<Option<String>>,
}

impl fmt::Debug for MoveSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MoveSide").finish_non_exhaustive()
    }
}

impl MoveSide {
    fn new(store: &Arc<dyn Restore>) -> Self {
        Self {
            store: Arc::clone(store),
            record: Mutex::new(None),
        }
    }
}

impl Replica for MoveSide {
    fn read_mirror_state(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }

    fn write_mirror_state(&self, text: &str) -> Result<(), StoreError> {
        *self.record.lock().unwrap_or_else(|e| e.into_inner()) = Some(text.to_owned());
        Ok(())
    }
}

impl Restore for MoveSide {
    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        self.store.users()
    }

    fn adopt_uid_validity(
        &self,
        user: &UserId,
        name: &MailboxName,
        v: UidValidity,
    ) -> Result<(), StoreError> {
        self.store.adopt_uid_validity(user, name, v)
    }

    fn restore_message(
        &self,
        user: &UserId,
        name: &MailboxName,
        meta: &MessageMeta,
        body: &[u8],
    ) -> Result<(), StoreError> {
        self.store.restore_message(user, name, meta, body)
    }

    fn restore_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        flags: &Flags,
        modseq: ModSeq,
    ) -> Result<(), StoreError> {
        self.store.restore_flags(user, name, uid, flags, modseq)
    }

    fn sync_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        self.store.sync_mailbox(user, name)
    }

    fn restore_pop3(
        &self,
        user: &UserId,
        name: &MailboxName,
        entries: &[(Uid, Option<String>, Option<u32>)],
    ) -> Result<(), StoreError> {
        self.store.restore_pop3(user, name, entries)
    }

    fn restore_expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        modseq: ModSeq,
    ) -> Result<(), StoreError> {
        self.store.restore_expunge(user, name, uids, modseq)
    }

    fn check_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<Vec<String>, StoreError> {
        self.store.check_mailbox(user, name)
    }

    fn reset_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        self.store.reset_mailbox(user, name)
    }
}

impl MailStore for MoveSide {
    fn list_mailboxes(&self, user: &UserId) -> Result<Vec<MailboxInfo>, StoreError> {
        self.store.list_mailboxes(user)
    }

    fn subscriptions(&self, user: &UserId) -> Result<Vec<MailboxName>, StoreError> {
        self.store.subscriptions(user)
    }

    fn create_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreError> {
        self.store.create_mailbox(user, name, special_use)
    }

    fn delete_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        self.store.delete_mailbox(user, name)
    }

    fn rename_mailbox(
        &self,
        user: &UserId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<(), StoreError> {
        self.store.rename_mailbox(user, from, to)
    }

    fn set_subscribed(
        &self,
        user: &UserId,
        name: &MailboxName,
        subscribed: bool,
    ) -> Result<(), StoreError> {
        self.store.set_subscribed(user, name, subscribed)
    }

    fn open(&self, user: &UserId, name: &MailboxName) -> Result<MailboxView, StoreError> {
        self.store.open(user, name)
    }

    fn append(
        &self,
        user: &UserId,
        name: &MailboxName,
        message: &mut dyn Read,
        request: &AppendRequest,
    ) -> Result<Uid, StoreError> {
        self.store.append(user, name, message, request)
    }

    fn copy(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        self.store.copy(user, from, uids, to)
    }

    fn move_messages(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        self.store.move_messages(user, from, uids, to)
    }

    fn store_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        change: &FlagChange,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreOutcome, StoreError> {
        self.store
            .store_flags(user, name, uids, change, unchanged_since)
    }

    fn expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        which: &ExpungeSelector,
    ) -> Result<Vec<Uid>, StoreError> {
        self.store.expunge(user, name, which)
    }

    fn read(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        part: ReadPart,
    ) -> Result<Vec<u8>, StoreError> {
        self.store.read(user, name, uid, part)
    }

    fn cached_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.cached_structure(user, name, uid)
    }

    fn cache_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        record: &[u8],
    ) -> Result<(), StoreError> {
        self.store.cache_structure(user, name, uid, record)
    }

    fn changes_since(
        &self,
        user: &UserId,
        name: &MailboxName,
        since: ModSeq,
    ) -> Result<ChangeSet, StoreError> {
        self.store.changes_since(user, name, since)
    }

    fn quota_usage(&self, user: &UserId) -> Result<QuotaUsage, StoreError> {
        self.store.quota_usage(user)
    }

    fn pop3_view(&self, user: &UserId) -> Result<Vec<Pop3Entry>, StoreError> {
        self.store.pop3_view(user)
    }
}
