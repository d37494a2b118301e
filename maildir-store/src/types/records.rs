//! Plain records passed into and returned from the store traits.

use std::time::SystemTime;

use crate::{
    mailbox_name::MailboxName,
    types::{Flags, ModSeq, Uid, UidValidity},
};

/// What a session knows about one message without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageMeta {
    /// Its UID.
    pub uid: Uid,
    /// Stored flags and keywords.
    pub flags: Flags,
    /// Size of the stored message in bytes (RFC822.SIZE when stored with CRLF).
    pub size: u64,
    /// INTERNALDATE, as the caller gave it at append time.
    pub internal_date: SystemTime,
    /// The modseq of its last change.
    pub modseq: ModSeq,
}

impl MessageMeta {
    /// Builds a record (for store implementations).
    pub fn new(
        uid: Uid,
        flags: Flags,
        size: u64,
        internal_date: SystemTime,
        modseq: ModSeq,
    ) -> Self {
        Self {
            uid,
            flags,
            size,
            internal_date,
            modseq,
        }
    }
}

/// An opened mailbox: what SELECT reports, and every message sorted by UID.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxView {
    /// UIDVALIDITY.
    pub uid_validity: UidValidity,
    /// The UID the next message will get at least.
    pub uid_next: Uid,
    /// HIGHESTMODSEQ (RFC 7162).
    pub highest_modseq: ModSeq,
    /// Every message, ascending by UID.
    pub messages: Vec<MessageMeta>,
}

impl MailboxView {
    /// Builds a view (for store implementations); `messages` must be sorted by UID.
    pub fn new(
        uid_validity: UidValidity,
        uid_next: Uid,
        highest_modseq: ModSeq,
        messages: Vec<MessageMeta>,
    ) -> Self {
        Self {
            uid_validity,
            uid_next,
            highest_modseq,
            messages,
        }
    }

    /// The message with this UID, if present.
    pub fn get(&self, uid: Uid) -> Option<&MessageMeta> {
        self.messages
            .binary_search_by_key(&uid, |m| m.uid)
            .ok()
            .and_then(|i| self.messages.get(i))
    }
}

/// RFC 6154 special-use attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpecialUse {
    /// `\All`
    All,
    /// `\Archive`
    Archive,
    /// `\Drafts`
    Drafts,
    /// `\Flagged`
    Flagged,
    /// `\Junk`
    Junk,
    /// `\Sent`
    Sent,
    /// `\Trash`
    Trash,
}

impl SpecialUse {
    /// Every attribute.
    pub const ALL: [Self; 7] = [
        Self::All,
        Self::Archive,
        Self::Drafts,
        Self::Flagged,
        Self::Junk,
        Self::Sent,
        Self::Trash,
    ];

    /// The IMAP spelling, e.g. `\Sent`.
    pub fn as_imap(self) -> &'static str {
        match self {
            Self::All => "\\All",
            Self::Archive => "\\Archive",
            Self::Drafts => "\\Drafts",
            Self::Flagged => "\\Flagged",
            Self::Junk => "\\Junk",
            Self::Sent => "\\Sent",
            Self::Trash => "\\Trash",
        }
    }

    /// Parses the IMAP spelling (case-insensitive, as RFC 3501 flags are).
    pub fn from_imap(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|u| u.as_imap().eq_ignore_ascii_case(s))
    }
}

/// LIST attributes the store knows (RFC 3501 §7.2.2, RFC 3348, RFC 5258, RFC 6154).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxAttributes {
    /// `\HasChildren` when true, `\HasNoChildren` when false.
    pub has_children: bool,
    /// `\Subscribed`.
    pub subscribed: bool,
    /// A special-use attribute, if one was set.
    pub special_use: Option<SpecialUse>,
}

impl MailboxAttributes {
    /// Builds the attributes (for store implementations).
    pub fn new(has_children: bool, subscribed: bool, special_use: Option<SpecialUse>) -> Self {
        Self {
            has_children,
            subscribed,
            special_use,
        }
    }
}

/// One line of LIST.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailboxInfo {
    /// The mailbox.
    pub name: MailboxName,
    /// Its attributes.
    pub attributes: MailboxAttributes,
}

impl MailboxInfo {
    /// Builds a LIST entry (for store implementations).
    pub fn new(name: MailboxName, attributes: MailboxAttributes) -> Self {
        Self { name, attributes }
    }
}

/// How to store an appended message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppendRequest {
    /// Initial flags and keywords.
    pub flags: Flags,
    /// INTERNALDATE; the caller supplies the clock.
    pub internal_date: SystemTime,
}

impl AppendRequest {
    /// A message with no flags received at `internal_date`.
    pub fn new(internal_date: SystemTime) -> Self {
        Self {
            flags: Flags::new(),
            internal_date,
        }
    }

    /// The same request with these initial flags.
    #[must_use]
    pub fn with_flags(mut self, flags: Flags) -> Self {
        self.flags = flags;
        self
    }
}

/// Result of COPY or MOVE: what RFC 4315 `COPYUID` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyResult {
    /// UIDVALIDITY of the destination.
    pub uid_validity: UidValidity,
    /// `(source UID, destination UID)` for every message copied, in source UID order.
    /// UIDs that did not exist are left out (RFC 3501 UID COPY ignores them).
    pub mapping: Vec<(Uid, Uid)>,
}

impl CopyResult {
    /// Builds a result (for store implementations).
    pub fn new(uid_validity: UidValidity, mapping: Vec<(Uid, Uid)>) -> Self {
        Self {
            uid_validity,
            mapping,
        }
    }
}

/// The state of one message after a STORE.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlagUpdate {
    /// The message.
    pub uid: Uid,
    /// Its flags now.
    pub flags: Flags,
    /// Its modseq now.
    pub modseq: ModSeq,
    /// False when the STORE left the flags as they were (the modseq is then unchanged).
    pub changed: bool,
}

impl FlagUpdate {
    /// Builds an update (for store implementations).
    pub fn new(uid: Uid, flags: Flags, modseq: ModSeq, changed: bool) -> Self {
        Self {
            uid,
            flags,
            modseq,
            changed,
        }
    }
}

/// Result of a STORE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StoreOutcome {
    /// Messages the STORE applied to, ascending by UID.
    pub updated: Vec<FlagUpdate>,
    /// Messages skipped because their modseq exceeded `UNCHANGEDSINCE` (RFC 7162 §3.1.3:
    /// the `MODIFIED` response code).
    pub modified: Vec<Uid>,
}

/// Which messages EXPUNGE removes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpungeSelector {
    /// Every message with `\Deleted` (IMAP EXPUNGE, CLOSE).
    AllDeleted,
    /// Messages in this set that have `\Deleted` (RFC 4315 UID EXPUNGE).
    DeletedAmong(Vec<Uid>),
    /// Exactly these messages, whatever their flags (POP3 UPDATE state, MOVE internals).
    Uids(Vec<Uid>),
}

/// Which bytes of a message to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadPart {
    /// The whole message.
    Whole,
    /// `len` bytes from `start` (shorter at the end of the message; RFC 3501 partial fetch).
    Range {
        /// First byte.
        start: u64,
        /// Most bytes to return.
        len: u64,
    },
    /// The header, up to and including the blank line that ends it (RFC 5322 §2.1).
    Header,
}

/// What changed since a modseq: the feed behind IDLE, CONDSTORE and QRESYNC.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChangeSet {
    /// UIDVALIDITY; if it differs from the client's, everything changed.
    pub uid_validity: UidValidity,
    /// UIDNEXT now.
    pub uid_next: Uid,
    /// HIGHESTMODSEQ now.
    pub highest_modseq: ModSeq,
    /// Messages added or changed after the given modseq, ascending by UID.
    pub changed: Vec<MessageMeta>,
    /// UIDs expunged after the given modseq, ascending (RFC 7162 `VANISHED (EARLIER)`).
    pub vanished: Vec<Uid>,
    /// Whether `vanished` is every UID expunged after the given modseq. `false` when the
    /// store has pruned tombstones above that modseq (see [`crate::maildir::Options`]); the
    /// caller then treats every UID below UIDNEXT that is not in the mailbox as expunged
    /// (RFC 7162 §3.2.6: a mod-sequence below the smallest one remembered "MUST behave as if
    /// it was requested to report all expunged messages").
    pub vanished_complete: bool,
}

impl ChangeSet {
    /// Builds a change set (for store implementations).
    pub fn new(
        uid_validity: UidValidity,
        uid_next: Uid,
        highest_modseq: ModSeq,
        changed: Vec<MessageMeta>,
        vanished: Vec<Uid>,
    ) -> Self {
        Self {
            uid_validity,
            uid_next,
            highest_modseq,
            changed,
            vanished,
            vanished_complete: true,
        }
    }

    /// Marks `vanished` as possibly missing pruned tombstones.
    pub fn with_vanished_complete(mut self, complete: bool) -> Self {
        self.vanished_complete = complete;
        self
    }
}

/// Storage used by one user (RFC 9208 `STORAGE` and `MESSAGE` resources).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct QuotaUsage {
    /// Messages in all mailboxes.
    pub messages: u64,
    /// Bytes of all messages.
    pub bytes: u64,
}

impl QuotaUsage {
    /// Builds a usage record (for store implementations).
    pub fn new(messages: u64, bytes: u64) -> Self {
        Self { messages, bytes }
    }
}

/// One message as POP3 sees it (RFC 1939): INBOX only, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pop3Entry {
    /// The IMAP UID behind it, for DELE → expunge.
    pub uid: Uid,
    /// The UIDL: stable across sessions, failover and migration (DESIGN.md M5).
    pub uidl: String,
    /// Size in bytes for LIST.
    pub size: u64,
}

impl Pop3Entry {
    /// Builds an entry (for store implementations).
    pub fn new(uid: Uid, uidl: String, size: u64) -> Self {
        Self { uid, uidl, size }
    }
}
