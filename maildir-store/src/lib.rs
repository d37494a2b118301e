//! Storage for Gradwell: blocking, coarse-grained mailbox traits in domain types, an in-memory
//! store for tests, and a Dovecot-compatible Maildir backend.
//!
//! - [`MailStore`] is the trait servers program against. It speaks [`UserId`],
//!   [`MailboxName`], [`Uid`], [`Flags`], [`Keyword`] and [`ModSeq`], never paths.
//! - [`MemStore`] keeps everything in memory.
//! - [`maildir::Maildir`] keeps every user as a Maildir++ tree that Dovecot opens with the same
//!   UIDs, flags and keywords (see that module for the on-disk format and durability rules).
//! - [`mirror::Mirror`] keeps every mailbox on two replicas, fencing a failed one.
//! - [`placement::Placement`] spreads users over several mirror sets and moves them live.
//! - [`conformance`] is one behaviour suite that any implementation runs with
//!   [`conformance_suite!`].
//!
//! A Maildir replica root must be created on purpose with [`maildir::Maildir::init_replica`];
//! [`maildir::Maildir::open`] refuses a missing, empty or unreadable root instead of creating
//! a fresh tree on a bare mount point (DESIGN.md M4).
//!
//! ```
//! use std::time::SystemTime;
//! use maildir_store::{AppendRequest, MailStore, MailboxName, MemStore, UserId};
//!
//! let store = MemStore::new();
//! let bob = UserId::new("bob").unwrap();
//! let inbox = MailboxName::inbox();
//! let uid = store
//!     .append(&bob, &inbox, &mut &b"Subject: hi\r\n\r\nhello\r\n"[..], &AppendRequest::new(SystemTime::now()))
//!     .unwrap();
//! assert_eq!(store.open(&bob, &inbox).unwrap().messages[0].uid, uid);
//! ```
#![forbid(unsafe_code)]

pub mod conformance;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod mailbox_name;
pub mod maildir;
mod memory;
pub mod mirror;
pub mod placement;
mod pop3;
mod store;
mod types;

pub use error::StoreError;
pub use mailbox_name::{MAX_DEPTH, MAX_NAME_LEN, MailboxName, NameError, SEPARATOR};
pub use memory::MemStore;
pub use pop3::default_uidl as default_pop3_uidl;
pub use store::{MAX_STRUCTURE_RECORD, MailStore};
pub use types::{
    AppendRequest, ChangeSet, CopyResult, ExpungeSelector, FlagChange, FlagUpdate, Flags, Keyword,
    KeywordError, MAX_KEYWORD_LEN, MAX_USER_ID_LEN, MailboxAttributes, MailboxInfo, MailboxView,
    MessageMeta, ModSeq, Pop3Entry, QuotaUsage, ReadPart, SpecialUse, StoreOutcome, SystemFlag,
    Uid, UidValidity, UserId, UserIdError,
};
