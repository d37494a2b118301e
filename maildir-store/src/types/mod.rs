//! Domain types the store traits speak: never paths.

mod flags;
mod ids;
mod records;
mod user;

pub use flags::{FlagChange, Flags, Keyword, KeywordError, MAX_KEYWORD_LEN, SystemFlag};
pub use ids::{ModSeq, Uid, UidValidity};
pub use records::{
    AppendRequest, ChangeSet, CopyResult, ExpungeSelector, FlagUpdate, MailboxAttributes,
    MailboxInfo, MailboxView, MessageMeta, Pop3Entry, QuotaUsage, ReadPart, SpecialUse,
    StoreOutcome,
};
pub use user::{MAX_USER_ID_LEN, UserId, UserIdError};
