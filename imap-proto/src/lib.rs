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
//!   IDLE, STARTTLS, APPEND and FETCH bodies streamed in chunks) on top of the codec.
//! - [`fragmentizer`]: splits a byte stream into whole messages before parsing, enforcing
//!   the limits in [`options::Options`].
//! - `tokio_codec` (feature `tokio`): `tokio-util` `Decoder`/`Encoder` adapters; nothing else
//!   needs a runtime (see `examples/examples/imap_blocking_client.rs` for plain `std` IO).
//!
//! Extensions: IDLE, UIDPLUS, MOVE, LITERAL+/LITERAL-, SASL-IR, ENABLE, NAMESPACE, ID,
//! UNSELECT, CHILDREN, SPECIAL-USE, CREATE-SPECIAL-USE, LIST-EXTENDED, LIST-STATUS,
//! STATUS=SIZE, CONDSTORE/QRESYNC (SELECT parameters, CHANGEDSINCE, UNCHANGEDSINCE, VANISHED,
//! MODSEQ), ESEARCH, SEARCHRES, SORT, THREAD, QUOTA, APPENDLIMIT, BINARY, MULTIAPPEND,
//! COMPRESS (the command), UTF8=ACCEPT (UTF-8 strings and APPEND UTF8), UNAUTHENTICATE and
//! the response codes of RFC 5530.
//!
//! # A server, in the order the calls are made
//!
//! ```
//! use imap_proto::{
//!     options::Options,
//!     session::server::{ServerEvent, ServerSession},
//!     types::response::{Greeting, GreetingKind, ResponseText, StatusKind, Tagged, Text},
//! };
//!
//! let text = |t| ResponseText { code: None, text: Text::try_from(t).unwrap() };
//! let greeting = Greeting { kind: GreetingKind::Ok, text: text("ready") };
//! let mut session = ServerSession::new(Options::default(), greeting);
//! let mut out = Vec::new();
//!
//! // 1. Bytes read from the socket go in.
//! session.handle_input(b"a1 LOGIN {4}\r\n");
//! // 2. Events come out until `None`; the session asked for the literal by itself.
//! assert_eq!(session.poll_event(), None);
//! // 3. Bytes to write come out.
//! session.poll_transmit(&mut out);
//! assert_eq!(out, b"* OK ready\r\n+ Ready for literal data\r\n");
//!
//! session.handle_input(b"fred secret\r\n");
//! let Some(ServerEvent::Command(command)) = session.poll_event() else { panic!() };
//! // The caller checks the password, then answers with a tagged response.
//! let ok = Tagged { tag: command.tag, kind: StatusKind::Ok, text: text("LOGIN completed") };
//! session.send_tagged(ok).unwrap();
//! out.clear();
//! session.poll_transmit(&mut out);
//! assert_eq!(out, b"a1 OK LOGIN completed\r\n");
//! ```
//!
//! A client is the mirror image: [`session::client::ClientSession::enqueue_command`], then
//! `poll_transmit` (which stops before each synchronizing literal until the server's `+`
//! arrives), `handle_input` with the server's bytes, and `poll_event` for typed responses.
//!
//! # UTF8=ACCEPT (RFC 6855)
//!
//! The grammar changes once the extension is enabled, and both sessions follow it: the server
//! session switches when the caller answers `ENABLE UTF8=ACCEPT` with
//! `send_data(Data::Enabled(…))` naming it; the client session when the server's
//! `* ENABLED` names it. From then on mailbox names are UTF-8 (where `&` is itself) instead
//! of modified UTF-7, and APPEND may send `UTF8 (~{n}…)` (streamed like any large APPEND).
//! Before, 8-bit octets outside literals are refused with
//! [`codec::DecodeErrorKind::Utf8NotEnabled`]. Used alone, [`codec::CommandCodec`] takes
//! [`codec::CommandCodec::enable_utf8_accept`], and encoders take the dialect as
//! `encode_in(true)`. Responses are read in either dialect: a name that is canonical
//! modified UTF-7 is decoded as such, anything else as UTF-8 (so a UTF-8 name that happens to
//! spell canonical modified UTF-7, such as `&AOk-`, is read as what it encodes).
//!
//! # Panics
//!
//! No input makes this crate panic: parsers are total (complete, incomplete or an error),
//! every limit is an [`options::Options`] field, and the few `unwrap`s left are on values the
//! code has just proven valid, each with a comment saying why. The fuzz targets in
//! `fuzz/fuzz_targets/imap_*.rs` check this.
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
#[cfg(feature = "tokio")]
pub mod tokio_codec;
pub mod types;

#[cfg(test)]
mod arbitrary;
#[cfg(test)]
mod testing;
