//! Sans-IO SMTP (RFC 5321), ESMTP extensions and LMTP (RFC 2033) codec and session state
//! machines, for clients and servers.
//!
//! What it will not do: open sockets, spawn threads, read the clock or draw random numbers.
//! The caller owns all IO and passes time in. It never depends on storage.
#![forbid(unsafe_code)]

pub mod address;
mod base64;
pub mod command;
pub mod options;
pub mod secret;

pub use address::{AddressError, Domain, ForwardPath, Mailbox, ReversePath};
pub use command::{Command, CommandError, decode_auth_line, decode_command};
pub use options::{BareNewlinePolicy, Options};
pub use secret::Secret;
pub mod ehlo;
pub mod reply;
#[cfg(test)]
mod testing;

pub use ehlo::{EhloKeyword, EhloResponse};
pub use reply::{EnhancedStatus, Reply, ReplyCode, ReplyError, decode_reply};
pub mod bdat;
pub mod client;
pub mod data;
pub mod encode_data;
#[doc(hidden)]
pub mod fuzzing;
pub mod server;
#[cfg(feature = "tokio")]
pub mod tokio;
