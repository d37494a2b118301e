//! Typed IMAP values, valid by construction: private fields, validating constructors.

pub mod body;
pub mod command;
mod command_encode;
pub mod core;
pub mod datetime;
pub mod envelope;
pub mod fetch;
pub mod flag;
pub mod mailbox;
pub mod non_empty;
pub mod quota;
pub mod response;
mod response_encode;
pub mod search;
pub mod secret;
pub mod sequence;
mod small_str;
pub mod sort;
pub mod status;
