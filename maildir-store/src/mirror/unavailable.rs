//! A replica that could not even be opened (unmounted array, missing root: DESIGN.md M4),
//! so that a mirror set can still start on the other one and report this one failed.

use std::io::Read;

use super::replica::{Replica, Restore};
use crate::{
    AppendRequest, ChangeSet, CopyResult, ExpungeSelector, FlagChange, Flags, MailStore,
    MailboxInfo, MailboxName, MailboxView, MessageMeta, ModSeq, Pop3Entry, QuotaUsage, ReadPart,
    SpecialUse, StoreError, StoreOutcome, Uid, UidValidity, UserId,
};

/// Stands in for a replica whose root could not be opened; every call fails with
/// [`StoreError::ReplicaUnavailable`] and the reason given.
#[derive(Debug, Clone)]
pub struct Unavailable {
    reason: String,
}

impl Unavailable {
    /// A stand-in failing with `reason` (say, the error from opening the root).
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    fn fail<T>(&self) -> Result<T, StoreError> {
        Err(StoreError::ReplicaUnavailable {
            reason: self.reason.clone(),
        })
    }
}

impl Replica for Unavailable {
    fn read_mirror_state(&self) -> Result<Option<String>, StoreError> {
        self.fail()
    }

    fn write_mirror_state(&self, _: &str) -> Result<(), StoreError> {
        self.fail()
    }
}

impl Restore for Unavailable {
    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        self.fail()
    }

    fn adopt_uid_validity(
        &self,
        _: &UserId,
        _: &MailboxName,
        _: UidValidity,
    ) -> Result<(), StoreError> {
        self.fail()
    }

    fn restore_message(
        &self,
        _: &UserId,
        _: &MailboxName,
        _: &MessageMeta,
        _: &[u8],
    ) -> Result<(), StoreError> {
        self.fail()
    }

    fn restore_flags(
        &self,
        _: &UserId,
        _: &MailboxName,
        _: Uid,
        _: &Flags,
        _: ModSeq,
    ) -> Result<(), StoreError> {
        self.fail()
    }

    fn sync_mailbox(&self, _: &UserId, _: &MailboxName) -> Result<(), StoreError> {
        self.fail()
    }

    fn restore_pop3(
        &self,
        _: &UserId,
        _: &MailboxName,
        _: &[(Uid, Option<String>, Option<u32>)],
    ) -> Result<(), StoreError> {
        self.fail()
    }

    fn restore_expunge(
        &self,
        _: &UserId,
        _: &MailboxName,
        _: &[Uid],
        _: ModSeq,
    ) -> Result<(), StoreError> {
        self.fail()
    }

    fn check_mailbox(&self, _: &UserId, _: &MailboxName) -> Result<Vec<String>, StoreError> {
        self.fail()
    }

    fn reset_mailbox(&self, _: &UserId, _: &MailboxName) -> Result<(), StoreError> {
        self.fail()
    }
}

impl MailStore for Unavailable {
    fn list_mailboxes(&self, _: &UserId) -> Result<Vec<MailboxInfo>, StoreError> {
        self.fail()
    }

    fn subscriptions(&self, _: &UserId) -> Result<Vec<MailboxName>, StoreError> {
        self.fail()
    }

    fn create_mailbox(
        &self,
        _: &UserId,
        _: &MailboxName,
        _: Option<SpecialUse>,
    ) -> Result<(), StoreError> {
        self.fail()
    }

    fn delete_mailbox(&self, _: &UserId, _: &MailboxName) -> Result<(), StoreError> {
        self.fail()
    }

    fn rename_mailbox(
        &self,
        _: &UserId,
        _: &MailboxName,
        _: &MailboxName,
    ) -> Result<(), StoreError> {
        self.fail()
    }

    fn set_subscribed(&self, _: &UserId, _: &MailboxName, _: bool) -> Result<(), StoreError> {
        self.fail()
    }

    fn open(&self, _: &UserId, _: &MailboxName) -> Result<MailboxView, StoreError> {
        self.fail()
    }

    fn append(
        &self,
        _: &UserId,
        _: &MailboxName,
        _: &mut dyn Read,
        _: &AppendRequest,
    ) -> Result<Uid, StoreError> {
        self.fail()
    }

    fn copy(
        &self,
        _: &UserId,
        _: &MailboxName,
        _: &[Uid],
        _: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        self.fail()
    }

    fn move_messages(
        &self,
        _: &UserId,
        _: &MailboxName,
        _: &[Uid],
        _: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        self.fail()
    }

    fn store_flags(
        &self,
        _: &UserId,
        _: &MailboxName,
        _: &[Uid],
        _: &FlagChange,
        _: Option<ModSeq>,
    ) -> Result<StoreOutcome, StoreError> {
        self.fail()
    }

    fn expunge(
        &self,
        _: &UserId,
        _: &MailboxName,
        _: &ExpungeSelector,
    ) -> Result<Vec<Uid>, StoreError> {
        self.fail()
    }

    fn read(
        &self,
        _: &UserId,
        _: &MailboxName,
        _: Uid,
        _: ReadPart,
    ) -> Result<Vec<u8>, StoreError> {
        self.fail()
    }

    fn changes_since(
        &self,
        _: &UserId,
        _: &MailboxName,
        _: ModSeq,
    ) -> Result<ChangeSet, StoreError> {
        self.fail()
    }

    fn quota_usage(&self, _: &UserId) -> Result<QuotaUsage, StoreError> {
        self.fail()
    }

    fn pop3_view(&self, _: &UserId) -> Result<Vec<Pop3Entry>, StoreError> {
        self.fail()
    }
}
