//! Sans-IO IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051) codec and session flows, for clients
//! and servers.
//!
//! This crate turns bytes into typed commands and responses and typed values back into bytes,
//! and tracks the session flows that change the grammar (literals, AUTHENTICATE, IDLE,
//! STARTTLS).
//!
//! What it will not do: open sockets, spawn threads, read the clock or draw random numbers.
//! The caller owns all IO and passes time in. It never depends on storage.
//!
//! # Layers
//!
//! - [`types`]: values that are valid by construction (atoms, strings, literals, flags,
//!   sequence sets, dates, mailbox names in modified UTF-7 ([`mutf7`]), credentials in
//!   [`types::secret::Secret`]).
//! - [`encode`]: typed values to bytes, as [`encode::Fragment`]s that say where a
//!   synchronizing literal must wait for the peer's `+`.
//! - [`codec`]: whole messages to typed commands ([`codec::CommandCodec`]) and responses
//!   ([`codec::ResponseCodec`]); [`types::command::Command::encode`] and
//!   [`types::response::Response::encode`] go the other way.
//! - [`session`]: sans-IO client and server flows (literals and continuations, AUTHENTICATE,
//!   IDLE, STARTTLS) on top of the codec.
//! - [`fragmentizer`]: splits a byte stream into whole messages before parsing, enforcing
//!   the limits in [`options::Options`].
#![forbid(unsafe_code)]

mod chars;
pub mod codec;
pub mod encode;
pub mod error;
pub mod fragmentizer;
#[doc(hidden)]
pub mod fuzzing;
mod keywords;
pub mod mutf7;
pub mod options;
mod parse;
pub mod session;
pub mod types;

#[cfg(test)]
mod arbitrary;
#[cfg(test)]
mod testing;
