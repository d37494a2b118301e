//! Typed IMAP values, valid by construction: private fields, validating constructors.

pub mod command;
mod command_encode;
pub mod core;
pub mod datetime;
pub mod fetch;
pub mod flag;
pub mod mailbox;
pub mod non_empty;
pub mod search;
pub mod secret;
pub mod sequence;
pub mod status;
