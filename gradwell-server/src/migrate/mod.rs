//! Migration: importing whole populations of mailboxes from other systems with the UIDs,
//! flags and POP3 UIDLs their clients already know, and exporting them back.
//!
//! Every kind of source implements [`source::Source`]; the [`engine`] copies what a source
//! yields into the target store.

pub mod courier;
pub mod dovecot;
pub mod engine;
pub mod export;
pub mod journal;
pub mod mbox;
pub mod report;
pub mod restructure;
pub mod run;
pub mod source;
pub mod throttle;
