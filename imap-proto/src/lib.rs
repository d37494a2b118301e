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
//! Status: nothing is implemented yet; the codec arrives with its own issue.
#![forbid(unsafe_code)]
