//! Sans-IO POP3 for servers and clients: RFC 1939 (POP3), RFC 2449 (CAPA, response codes,
//! PIPELINING), RFC 2595 (STLS), RFC 3206 (SYS and AUTH response codes), RFC 5034 (SASL
//! `AUTH`) and RFC 6856 (`UTF8`, `LANG`).
//!
//! The crate never opens sockets, spawns threads, reads the clock or draws random numbers.
//! The caller owns the connection and moves octets in and out; the crate decodes, encodes
//! and keeps the session rules.
//!
//! # Layers
//!
//! | Layer | Items | Use it for |
//! |---|---|---|
//! | Values | [`Command`], [`Response`], [`Status`], [`Capability`], [`MsgNo`], [`UniqueId`], … | typed protocol data, valid by construction |
//! | Codec | [`CommandDecoder`], [`ResponseDecoder`], `encode` methods, [`BodyEncoder`], [`BodyDecoder`] | framing and parsing, one message at a time |
//! | Sessions | [`Server`], [`Client`] | AUTHORIZATION → TRANSACTION → UPDATE, pipelining, STLS, AUTH |
//! | Adapters | `tokio::{ServerCodec, ClientCodec}` (feature `tokio`) | `tokio_util::codec::Framed` |
//!
//! # Driving a server
//!
//! 1. [`Server::new`] with [`Options`] and the greeting.
//! 2. Write [`Server::poll_transmit`] output; feed socket reads to [`Server::handle_input`].
//! 3. Take [`Server::poll_event`] events until `None`; answer each [`ServerEvent::Command`]
//!    with [`Server::respond`], or for `RETR`/`TOP` with [`Server::start_body`], any number
//!    of [`Server::send_body`] (each writes into the caller's buffer: send it between chunks,
//!    and a 10 MB message never needs to be in memory) and [`Server::finish_body`].
//! 4. After each read and at [`Server::poll_timeout`], call [`Server::handle_timeout`] with
//!    the time (the idle autologout timer; time is always passed in).
//! 5. After `+OK` to `STLS`: write output, handshake, [`Server::tls_established`].
//! 6. Close the socket when [`Server::is_closed`].
//!
//! # Driving a client
//!
//! 1. [`Client::new`]; feed reads to [`Client::handle_input`]; the first
//!    [`Client::poll_event`] is the [`ClientEvent::Greeting`].
//! 2. [`Client::send`] commands (several at once: they are pipelined when allowed), write
//!    [`Client::poll_transmit`] output, take events: [`ClientEvent::Response`], or for
//!    `RETR`/`TOP` [`ClientEvent::BodyStart`], [`ClientEvent::BodyData`]…,
//!    [`ClientEvent::BodyEnd`].
//! 3. Answer SASL challenges with [`Client::auth_respond`]; after `+OK` to `STLS`,
//!    handshake and call [`Client::tls_established`].
//!
//! ```
//! use pop3_proto::{Client, ClientEvent, Command, Options, Response, Server, ServerEvent, Stat, Status, StatusKind};
//!
//! let mut server = Server::new(Options::default(), &Status::new_lossy(StatusKind::Ok, "hello"));
//! let mut client = Client::new(Options::default());
//! let mut wire = Vec::new();
//!
//! server.poll_transmit(&mut wire);
//! client.handle_input(&wire);
//! assert!(matches!(client.poll_event(), Ok(Some(ClientEvent::Greeting(_)))));
//!
//! client.send(Command::Capa).unwrap();
//! wire.clear();
//! client.poll_transmit(&mut wire);
//! server.handle_input(&wire);
//! assert_eq!(server.poll_event(), Some(ServerEvent::Command(Command::Capa)));
//! let capabilities = vec![pop3_proto::Capability::User, pop3_proto::Capability::Pipelining];
//! server.respond(Response::Capabilities { text: Default::default(), capabilities }).unwrap();
//!
//! wire.clear();
//! server.poll_transmit(&mut wire);
//! client.handle_input(&wire);
//! assert!(matches!(client.poll_event(), Ok(Some(ClientEvent::Response { .. }))));
//! assert!(client.is_pipelining());
//! ```
//!
//! # Limits
//!
//! Every limit is a field of [`Options`] with a documented default: command line 255 octets
//! (RFC 2449 §4), response line 512 octets, SASL lines, message numbers, listing sizes, bad
//! commands, buffered input. Over a limit a server answers `-ERR` and recovers (closing
//! after too many bad commands); a client reports a [`ClientError`] and ends the session.
//!
//! # Panics
//!
//! None reachable from input: decoders are total over bytes (value, incomplete, or error),
//! state machines return errors for misuse. The fuzz targets in `fuzz/` check this.
//!
//! # Features
//!
//! | Feature | Adds |
//! |---|---|
//! | `tokio` | `tokio` module: `tokio_util::codec` `Decoder`/`Encoder` adapters |
#![forbid(unsafe_code)]

mod base64;
mod body;
mod encode;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod options;
mod parse;
mod secret;
mod state;
#[cfg(test)]
mod testing;
#[cfg(feature = "tokio")]
pub mod tokio;
mod types;

pub use body::{BodyChunk, BodyDecoder, BodyEncoder, top_of_message};
pub use error::{
    CommandDecodeError, CommandError, ResponseDecodeError, ResponseError, ValidationError,
};
pub use options::Options;
pub use parse::{CommandDecoder, ResponseDecoder};
pub use secret::Secret;
pub use state::{
    SessionState,
    client::{Client, ClientError, ClientEvent},
    server::{Server, ServerError, ServerEvent},
};
pub use types::*;
