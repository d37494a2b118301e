//! Sans-IO SMTP (RFC 5321), ESMTP extensions and LMTP (RFC 2033) codec and session state
//! machines, for clients and servers.
//!
//! What it will not do: open sockets, spawn threads, read the clock or draw random numbers.
//! The caller owns all IO and passes the time in (for the idle deadline of RFC 5321
//! §4.5.3.2). It never depends on storage.
//!
//! # Layers
//!
//! | Layer | Server side | Client side |
//! |---|---|---|
//! | Framing and values | [`decode_command`], [`decode_auth_line`], [`Reply::encode`], [`EhloResponse::to_reply`] | [`Command::encode`], [`decode_reply`], [`EhloResponse::from_reply`] |
//! | Message content | [`data::DataDecoder`] (dot-unstuffing, `CRLF.CRLF` only), [`bdat::BdatDecoder`] | [`encode_data::DataEncoder`] (CRLF normalisation, dot-stuffing) |
//! | Sessions | [`server::Server`] | [`client::Client`] |
//! | tokio (feature `tokio`) | [`tokio::CommandCodec`](crate::tokio), `DataCodec` | `ReplyCodec` |
//!
//! Every parser is total over bytes: a value and the rest of the input, "incomplete" (every
//! strict prefix of a valid input), or an error that says how many octets to skip. Every
//! limit is a field of [`Options`] with a documented default.
//!
//! # Driving the server
//!
//! 1. [`server::Server::new`] queues the 220 greeting.
//! 2. [`server::Server::poll_transmit`] — write the octets to the connection.
//! 3. [`server::Server::poll_event`] until `None`; answer `Command`, `AuthResponse` and a
//!    successful `MessageEnd` with [`server::Server::accept`] or [`server::Server::reply`];
//!    write `MessageChunk`s to the spool; on `StartTls`, transmit, handshake, then call
//!    [`server::Server::tls_established`]; on `Close`, transmit and close.
//! 4. Read at most [`server::Server::input_room`] octets, waiting no longer than
//!    [`server::Server::poll_timeout`]; pass them to [`server::Server::handle_input`], pass
//!    the time to [`server::Server::handle_timeout`], and go to 2.
//!
//! ```
//! use smtp_proto::{Options, server::{Event, Server, ServerConfig}};
//!
//! let mut server = Server::new(Options::default(), ServerConfig::new("mx.example"));
//! let mut wire = Vec::new();
//! server.poll_transmit(&mut wire);
//! assert_eq!(wire, b"220 mx.example ESMTP ready\r\n");
//!
//! server.handle_input(b"HELO client.example\r\nMAIL FROM:<a@client.example>\r\n").unwrap();
//! while let Some(event) = server.poll_event() {
//!     match event {
//!         Event::Command(_) => server.accept().unwrap(), // HELO, then the pipelined MAIL
//!         other => unreachable!("{other:?}"),
//!     }
//! }
//! wire.clear();
//! server.poll_transmit(&mut wire);
//! assert_eq!(wire, b"250 mx.example\r\n250 2.1.0 Sender OK\r\n");
//! ```
//!
//! # Driving the client
//!
//! 1. [`client::Client::new`] waits for the greeting.
//! 2. Pass octets read to [`client::Client::handle_input`]; take replies with
//!    [`client::Client::poll_event`], each tagged with what it answers ([`client::Sent`]).
//! 3. Send with [`client::Client::send`], [`client::Client::send_bdat`],
//!    [`client::Client::send_data`] + [`client::Client::finish_data`] after a 354, and
//!    [`client::Client::send_auth_line`] after a 334; it refuses to send when RFC 2920 says
//!    to wait. After `ClientEvent::StartTls`, handshake, call
//!    [`client::Client::tls_established`] and send EHLO again.
//! 4. [`client::Client::poll_transmit`] and write the octets; pass the time to
//!    [`client::Client::handle_timeout`] and wait no longer than
//!    [`client::Client::poll_timeout`] for the next reply.
//!
//! ```
//! use smtp_proto::{Command, Domain, Options, client::{Client, ClientEvent, Sent}};
//!
//! let mut client = Client::new(Options::default());
//! client.handle_input(b"220 mx.example ESMTP\r\n").unwrap();
//! assert!(matches!(client.poll_event(), Some(ClientEvent::Reply { to: Sent::Greeting, .. })));
//! client.send(&Command::Ehlo(Domain::try_from("client.example").unwrap())).unwrap();
//! let mut wire = Vec::new();
//! client.poll_transmit(&mut wire);
//! assert_eq!(wire, b"EHLO client.example\r\n");
//! client.handle_input(b"250-mx.example\r\n250 PIPELINING\r\n").unwrap();
//! assert!(matches!(client.poll_event(), Some(ClientEvent::Reply { to: Sent::Ehlo, .. })));
//! assert!(client.extensions().unwrap().has("PIPELINING"));
//! ```
//!
//! # Security properties
//!
//! - Only `CRLF.CRLF` ends DATA; bare CR/LF is rejected after the data by default
//!   ([`BareNewlinePolicy`]), so the SMTP smuggling family (CVE-2023-51764/5/6) can never make
//!   one DATA into two messages.
//! - The client's encoder normalises line ends and dot-stuffs every line start, so a lone
//!   `.` line cannot reach the wire (RUSTSEC-2021-0069).
//! - BDAT counts octets and never allocates the announced size.
//! - STARTTLS discards pipelined plaintext on both sides and resets the session (RFC 3207
//!   §4.2); AUTH is offered only under TLS by default.
#![forbid(unsafe_code)]

pub mod address;
mod base64;
pub mod bdat;
pub mod client;
pub mod command;
pub mod data;
pub mod ehlo;
pub mod encode_data;
#[doc(hidden)]
pub mod fuzzing;
pub mod options;
pub mod reply;
mod search;
pub mod secret;
pub mod server;
#[cfg(test)]
mod testing;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use address::{AddressError, Domain, ForwardPath, Mailbox, ReversePath};
pub use command::{Command, CommandError, decode_auth_line, decode_command};
pub use ehlo::{EhloKeyword, EhloResponse};
pub use options::{BareNewlinePolicy, Options};
pub use reply::{EnhancedStatus, Reply, ReplyCode, ReplyError, decode_reply};
pub use secret::Secret;
