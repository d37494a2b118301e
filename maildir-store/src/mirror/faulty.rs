//! A deterministic fault-injection wrapper for tests: any [`Replica`] that fails or hangs on
//! command, before it touches the wrapped store.

use std::{
    io::{self, Read},
    sync::{Condvar, Mutex, MutexGuard},
};

use super::replica::{Replica, Restore};
use crate::{
    AppendRequest, ChangeSet, CopyResult, ExpungeSelector, FlagChange, Flags, MailStore,
    MailboxInfo, MailboxName, MailboxView, MessageMeta, ModSeq, Pop3Entry, QuotaUsage, ReadPart,
    SpecialUse, StoreError, StoreOutcome, Uid, UidValidity, UserId,
};

/// What an armed fault does to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Fails with this OS error number (`libc::EIO` = 5, `ENOSPC` = 28, `EROFS` = 30, …).
    Errno(i32),
    /// Blocks until [`FaultyStore::heal`] is called: a hung NFS server.
    Hang,
}

/// Which calls a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// Calls that change something (including the mirror-state record).
    Writes,
    /// Every call.
    Everything,
    /// Only writes of the mirror-state record (the survivor cannot record a fence).
    StateRecord,
}

#[derive(Debug, Default)]
struct Armed {
    fault: Option<(Fault, Scope)>,
    /// Writes still allowed through before the fault takes effect.
    grace: u64,
    hits: u64,
}

/// Wraps a replica; healthy until a fault is armed.
#[derive(Debug)]
pub struct FaultyStore<S> {
    inner: S,
    armed: Mutex<Armed>,
    healed: Condvar,
}

impl<S: Replica> FaultyStore<S> {
    /// A healthy wrapper around `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            armed: Mutex::new(Armed::default()),
            healed: Condvar::new(),
        }
    }

    /// The wrapped store, bypassing faults (to inspect it in tests).
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn lock(&self) -> MutexGuard<'_, Armed> {
        // Only plain values behind the lock; a poisoned one is still consistent.
        self.armed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arms `fault` for the calls in `scope`, starting now.
    pub fn arm(&self, fault: Fault, scope: Scope) {
        self.arm_after(0, fault, scope);
    }

    /// Arms `fault` after `writes` more write calls have gone through (a fault mid-burst).
    pub fn arm_after(&self, writes: u64, fault: Fault, scope: Scope) {
        let mut a = self.lock();
        a.fault = Some((fault, scope));
        a.grace = writes;
    }

    /// Disarms every fault and releases hung calls.
    pub fn heal(&self) {
        self.lock().fault = None;
        self.healed.notify_all();
    }

    /// Calls that hit a fault so far.
    pub fn hits(&self) -> u64 {
        self.lock().hits
    }

    fn enter(&self, write: bool) -> Result<(), StoreError> {
        self.enter_call(write, false)
    }

    fn enter_call(&self, write: bool, record: bool) -> Result<(), StoreError> {
        let mut a = self.lock();
        let Some((fault, scope)) = a.fault else {
            return Ok(());
        };
        let hit = match scope {
            Scope::Writes => write,
            Scope::Everything => true,
            Scope::StateRecord => record,
        };
        if !hit {
            return Ok(());
        }
        if write && a.grace > 0 {
            a.grace -= 1;
            return Ok(());
        }
        a.hits += 1;
        match fault {
            Fault::Errno(n) => Err(StoreError::Io {
                context: "injected fault",
                source: io::Error::from_raw_os_error(n),
            }),
            Fault::Hang => {
                while a.fault.is_some_and(|(f, _)| f == Fault::Hang) {
                    a = self.healed.wait(a).unwrap_or_else(|e| e.into_inner());
                }
                Err(StoreError::Io {
                    context: "injected hang ended",
                    source: io::Error::from(io::ErrorKind::TimedOut),
                })
            }
        }
    }
}

impl<S: Replica> Replica for FaultyStore<S> {
    fn read_mirror_state(&self) -> Result<Option<String>, StoreError> {
        self.enter(false)?;
        self.inner.read_mirror_state()
    }

    fn write_mirror_state(&self, text: &str) -> Result<(), StoreError> {
        self.enter_call(true, true)?;
        self.inner.write_mirror_state(text)
    }
}

impl<S: Replica> Restore for FaultyStore<S> {
    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        self.enter(false)?;
        self.inner.users()
    }

    fn adopt_uid_validity(
        &self,
        user: &UserId,
        name: &MailboxName,
        v: UidValidity,
    ) -> Result<(), StoreError> {
        self.enter(true)?;
        self.inner.adopt_uid_validity(user, name, v)
    }

    fn restore_message(
        &self,
        user: &UserId,
        name: &MailboxName,
        meta: &MessageMeta,
        body: &[u8],
    ) -> Result<(), StoreError> {
        self.enter(true)?;
        self.inner.restore_message(user, name, meta, body)
    }

    fn restore_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        flags: &Flags,
        modseq: ModSeq,
    ) -> Result<(), StoreError> {
        self.enter(true)?;
        self.inner.restore_flags(user, name, uid, flags, modseq)
    }

    fn sync_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        self.enter(true)?;
        self.inner.sync_mailbox(user, name)
    }

    fn restore_pop3(
        &self,
        user: &UserId,
        name: &MailboxName,
        entries: &[(Uid, Option<String>, Option<u32>)],
    ) -> Result<(), StoreError> {
        self.enter(true)?;
        self.inner.restore_pop3(user, name, entries)
    }

    fn restore_expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        modseq: ModSeq,
    ) -> Result<(), StoreError> {
        self.enter(true)?;
        self.inner.restore_expunge(user, name, uids, modseq)
    }

    fn check_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<Vec<String>, StoreError> {
        self.enter(false)?;
        self.inner.check_mailbox(user, name)
    }

    fn reset_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        self.enter(true)?;
        self.inner.reset_mailbox(user, name)
    }
}

impl<S: Replica> MailStore for FaultyStore<S> {
    fn list_mailboxes(&self, user: &UserId) -> Result<Vec<MailboxInfo>, StoreError> {
        self.enter(false)?;
        self.inner.list_mailboxes(user)
    }

    fn subscriptions(&self, user: &UserId) -> Result<Vec<MailboxName>, StoreError> {
        self.enter(false)?;
        self.inner.subscriptions(user)
    }

    fn create_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreError> {
        self.enter(true)?;
        self.inner.create_mailbox(user, name, special_use)
    }

    fn delete_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        self.enter(true)?;
        self.inner.delete_mailbox(user, name)
    }

    fn rename_mailbox(
        &self,
        user: &UserId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<(), StoreError> {
        self.enter(true)?;
        self.inner.rename_mailbox(user, from, to)
    }

    fn set_subscribed(
        &self,
        user: &UserId,
        name: &MailboxName,
        subscribed: bool,
    ) -> Result<(), StoreError> {
        self.enter(true)?;
        self.inner.set_subscribed(user, name, subscribed)
    }

    fn open(&self, user: &UserId, name: &MailboxName) -> Result<MailboxView, StoreError> {
        self.enter(false)?;
        self.inner.open(user, name)
    }

    fn append(
        &self,
        user: &UserId,
        name: &MailboxName,
        message: &mut dyn Read,
        request: &AppendRequest,
    ) -> Result<Uid, StoreError> {
        self.enter(true)?;
        self.inner.append(user, name, message, request)
    }

    fn copy(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        self.enter(true)?;
        self.inner.copy(user, from, uids, to)
    }

    fn move_messages(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        self.enter(true)?;
        self.inner.move_messages(user, from, uids, to)
    }

    fn store_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        change: &FlagChange,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreOutcome, StoreError> {
        self.enter(true)?;
        self.inner
            .store_flags(user, name, uids, change, unchanged_since)
    }

    fn expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        which: &ExpungeSelector,
    ) -> Result<Vec<Uid>, StoreError> {
        self.enter(true)?;
        self.inner.expunge(user, name, which)
    }

    fn read(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        part: ReadPart,
    ) -> Result<Vec<u8>, StoreError> {
        self.enter(false)?;
        self.inner.read(user, name, uid, part)
    }

    fn cached_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.enter(false)?;
        self.inner.cached_structure(user, name, uid)
    }

    fn cache_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        record: &[u8],
    ) -> Result<(), StoreError> {
        self.enter(false)?;
        self.inner.cache_structure(user, name, uid, record)
    }

    fn changes_since(
        &self,
        user: &UserId,
        name: &MailboxName,
        since: ModSeq,
    ) -> Result<ChangeSet, StoreError> {
        self.enter(false)?;
        self.inner.changes_since(user, name, since)
    }

    fn quota_usage(&self, user: &UserId) -> Result<QuotaUsage, StoreError> {
        self.enter(false)?;
        self.inner.quota_usage(user)
    }

    fn pop3_view(&self, user: &UserId) -> Result<Vec<Pop3Entry>, StoreError> {
        self.enter(false)?;
        self.inner.pop3_view(user)
    }
}
