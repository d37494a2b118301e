//! STATUS data items (RFC 3501 §6.3.10, RFC 9051 §6.3.11, RFC 7162, RFC 8438).

use crate::encode::{Encode, Encoder};

/// `status-att`: what STATUS (or LIST-STATUS) asks about a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    /// `MESSAGES`
    Messages,
    /// `RECENT` (RFC 3501 only)
    Recent,
    /// `UIDNEXT`
    UidNext,
    /// `UIDVALIDITY`
    UidValidity,
    /// `UNSEEN`
    Unseen,
    /// `DELETED` (RFC 9051)
    Deleted,
    /// `SIZE` (RFC 8438)
    Size,
    /// `HIGHESTMODSEQ` (RFC 7162)
    HighestModSeq,
    /// `APPENDLIMIT` (RFC 7889)
    AppendLimit,
    /// `DELETED-STORAGE` (RFC 9208)
    DeletedStorage,
}

impl StatusItem {
    pub(crate) const ALL: [(StatusItem, &'static str); 10] = [
        (StatusItem::Messages, "MESSAGES"),
        (StatusItem::Recent, "RECENT"),
        (StatusItem::UidNext, "UIDNEXT"),
        (StatusItem::UidValidity, "UIDVALIDITY"),
        (StatusItem::Unseen, "UNSEEN"),
        (StatusItem::Deleted, "DELETED"),
        (StatusItem::Size, "SIZE"),
        (StatusItem::HighestModSeq, "HIGHESTMODSEQ"),
        (StatusItem::AppendLimit, "APPENDLIMIT"),
        (StatusItem::DeletedStorage, "DELETED-STORAGE"),
    ];

    /// The keyword on the wire.
    pub fn as_str(&self) -> &'static str {
        crate::keywords::name_of(&Self::ALL, self)
    }
}

impl Encode for StatusItem {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(self.as_str().as_bytes());
    }
}
