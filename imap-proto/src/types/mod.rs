//! Typed IMAP values, valid by construction: private fields, validating constructors.

pub mod core;
pub mod datetime;
pub mod flag;
pub mod mailbox;
pub mod non_empty;
pub mod secret;
pub mod sequence;
