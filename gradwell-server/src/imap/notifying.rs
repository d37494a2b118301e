//! The store as the server uses it: every call goes to the real store, and each write that
//! changes a mailbox wakes the IDLE sessions watching it ([`super::watchers`]) at once
//! instead of at their next poll.

use std::{io::Read, sync::Arc};

use maildir_store::{
    AppendRequest, ChangeSet, CopyResult, ExpungeSelector, FlagChange, MailStore, MailboxInfo,
    MailboxName, MailboxView, ModSeq, Pop3Entry, QuotaUsage, ReadPart, SpecialUse, StoreError,
    StoreOutcome, Uid, UserId,
};

use super::watchers::Watchers;

/// A [`MailStore`] that tells [`Watchers`] about its own successful writes.
pub struct Notifying {
    inner: Arc<dyn MailStore>,
    watchers: Watchers,
}

impl std::fmt::Debug for Notifying {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifying")
            .field("watchers", &self.watchers)
            .finish_non_exhaustive()
    }
}

impl Notifying {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn MailStore>, watchers: Watchers) -> Self {
        Self { inner, watchers }
    }

    /// Passes `result` through, waking the watchers of `names` when it is a success.
    fn after<T>(
        &self,
        user: &UserId,
        names: &[&MailboxName],
        result: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if result.is_ok() {
            for name in names {
                self.watchers.notify(user, name);
            }
        }
        result
    }
}

impl MailStore for Notifying {
    fn list_mailboxes(&self, user: &UserId) -> Result<Vec<MailboxInfo>, StoreError> {
        self.inner.list_mailboxes(user)
    }

    fn subscriptions(&self, user: &UserId) -> Result<Vec<MailboxName>, StoreError> {
        self.inner.subscriptions(user)
    }

    fn create_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreError> {
        self.inner.create_mailbox(user, name, special_use)
    }

    fn delete_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        let result = self.inner.delete_mailbox(user, name);
        self.after(user, &[name], result)
    }

    fn rename_mailbox(
        &self,
        user: &UserId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<(), StoreError> {
        let result = self.inner.rename_mailbox(user, from, to);
        self.after(user, &[from, to], result)
    }

    fn set_subscribed(
        &self,
        user: &UserId,
        name: &MailboxName,
        subscribed: bool,
    ) -> Result<(), StoreError> {
        self.inner.set_subscribed(user, name, subscribed)
    }

    fn open(&self, user: &UserId, name: &MailboxName) -> Result<MailboxView, StoreError> {
        self.inner.open(user, name)
    }

    fn append(
        &self,
        user: &UserId,
        name: &MailboxName,
        message: &mut dyn Read,
        request: &AppendRequest,
    ) -> Result<Uid, StoreError> {
        let result = self.inner.append(user, name, message, request);
        self.after(user, &[name], result)
    }

    fn copy(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        let result = self.inner.copy(user, from, uids, to);
        self.after(user, &[to], result)
    }

    fn move_messages(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        let result = self.inner.move_messages(user, from, uids, to);
        self.after(user, &[from, to], result)
    }

    fn store_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        change: &FlagChange,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreOutcome, StoreError> {
        let result = self
            .inner
            .store_flags(user, name, uids, change, unchanged_since);
        self.after(user, &[name], result)
    }

    fn expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        which: &ExpungeSelector,
    ) -> Result<Vec<Uid>, StoreError> {
        let result = self.inner.expunge(user, name, which);
        self.after(user, &[name], result)
    }

    fn read(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        part: ReadPart,
    ) -> Result<Vec<u8>, StoreError> {
        self.inner.read(user, name, uid, part)
    }

    fn changes_since(
        &self,
        user: &UserId,
        name: &MailboxName,
        since: ModSeq,
    ) -> Result<ChangeSet, StoreError> {
        self.inner.changes_since(user, name, since)
    }

    fn quota_usage(&self, user: &UserId) -> Result<QuotaUsage, StoreError> {
        self.inner.quota_usage(user)
    }

    fn pop3_view(&self, user: &UserId) -> Result<Vec<Pop3Entry>, StoreError> {
        self.inner.pop3_view(user)
    }

    fn read_stream(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
    ) -> Result<Box<dyn Read + Send>, StoreError> {
        self.inner.read_stream(user, name, uid)
    }

    fn cached_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.cached_structure(user, name, uid)
    }

    fn cache_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        record: &[u8],
    ) -> Result<(), StoreError> {
        self.inner.cache_structure(user, name, uid, record)
    }
}
