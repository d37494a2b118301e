//! The one error type every store operation returns.

use std::io;

use crate::{mailbox_name::NameError, types::Uid};

/// Why a store operation failed. Nothing here carries message content or credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The mailbox does not exist (IMAP answers `NO [TRYCREATE]` for APPEND/COPY targets).
    #[error("mailbox does not exist")]
    NoSuchMailbox,
    /// CREATE or RENAME onto a name that is already taken.
    #[error("mailbox already exists")]
    MailboxExists,
    /// DELETE of a mailbox that still has children.
    #[error("mailbox has children; delete them first")]
    HasChildren,
    /// RENAME of a mailbox to a name below itself.
    #[error("cannot rename a mailbox into its own subtree")]
    RenameIntoSelf,
    /// INBOX cannot be deleted or renamed away.
    #[error("INBOX cannot be deleted or renamed")]
    InboxIsSpecial,
    /// A message named by UID is not (or no longer) in the mailbox.
    #[error("no message with UID {0}")]
    NoSuchMessage(Uid),
    /// The message file disappeared while it was being read (expunged by another session).
    #[error("message with UID {0} was expunged while being read")]
    MessageVanished(Uid),
    /// A mailbox name failed validation.
    #[error("invalid mailbox name: {0}")]
    InvalidMailboxName(#[from] NameError),
    /// The mailbox already uses every keyword slot the on-disk format has.
    #[error("too many distinct keywords in this mailbox (limit {limit})")]
    TooManyKeywords {
        /// The limit that was reached.
        limit: usize,
    },
    /// A byte range that starts past the end of the message.
    #[error("byte range starts past the end of the message")]
    RangeOutOfBounds,
    /// The replica root is missing, not a directory, unreadable, or lacks its marker file:
    /// a failed replica (DESIGN.md M4), never something to create.
    #[error("replica root unusable: {reason}")]
    ReplicaUnavailable {
        /// What is wrong with it, for the operator.
        reason: String,
    },
    /// Another process held the mailbox lock for longer than the configured timeout.
    #[error("timed out waiting for the mailbox lock")]
    LockTimeout,
    /// An on-disk file could not be understood and could not be rebuilt.
    #[error("corrupt {file}: {detail}")]
    Corrupt {
        /// Which kind of file.
        file: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The two replicas of a mirror set disagree in a way that cannot be aligned in place
    /// (the secondary is then fenced and left for resync).
    #[error("replicas diverged: {detail}")]
    ReplicasDiverged {
        /// What differs.
        detail: String,
    },
    /// A placement request that cannot be carried out (an unknown mirror set, a move to the
    /// set the user is on, a target already holding the user's mail).
    #[error("placement: {detail}")]
    Placement {
        /// What is wrong.
        detail: String,
    },
    /// An operating-system error, with what we were doing at the time.
    #[error("{context}: {source}")]
    Io {
        /// The operation that failed.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl StoreError {
    /// Wraps an IO error with the operation that produced it.
    pub(crate) fn io(context: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| Self::Io { context, source }
    }
}
