//! The Gradwell reference mail server, as a library behind the `gradwell` binary.
//!
//! It is the only crate in the workspace that does IO: listeners, TLS, sessions, delivery
//! and the admin verbs. Layout:
//!
//! - [`net`]: sockets. [`net::conn::drive`] is the one driver loop that reads and writes
//!   client connections; TLS, PROXY headers, per-address limits and accept loops live
//!   beside it.
//! - [`smtp`], [`pop3`] and [`imap`]: protocol sessions on smtp-proto, pop3-proto and
//!   imap-proto, one file per command (group).
//! - [`delivery`]: local delivery into the store; [`accounts`]: users, passwords, aliases,
//!   the failed-login penalty; [`config`]: the TOML file; [`storage`]: the mirror sets; [`moves`]: moving a user between sets.
//! - [`cli`], [`serve`], [`quickstart`]: the commands; [`check`]: `check-config`.
//! - Operations: [`metrics`], [`health`], [`ops_http`] (the internal listener),
//!   [`reload`], [`logging`], [`trace`].
//! - [`migrate`]: importing mailboxes from other systems and exporting them back.
//! - [`queue`] and [`relay`]: the outbound queue of submitted mail and the client that hands
//!   it to the smart host.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod app;
pub mod check;
pub mod cli;
pub mod config;
pub mod delivery;
#[doc(hidden)]
pub mod fuzzing;
pub mod health;
pub mod imap;
pub mod logging;
pub mod metrics;
pub mod migrate;
pub mod mirror_admin;
pub mod moves;
pub mod net;
pub mod ops_http;
pub mod pop3;
pub mod queue;
pub mod quickstart;
pub mod rejoin;
pub mod relay;
pub mod reload;
pub mod serve;
pub mod smtp;
pub mod storage;
pub mod systemd;
pub mod trace;
