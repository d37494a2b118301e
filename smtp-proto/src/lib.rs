//! Sans-IO SMTP (RFC 5321), ESMTP extensions and LMTP (RFC 2033) codec and session state
//! machines, for clients and servers.
//!
//! What it will not do: open sockets, spawn threads, read the clock or draw random numbers.
//! The caller owns all IO and passes time in. It never depends on storage.
//!
//! Status: nothing is implemented yet; the codec arrives with its own issue.
#![forbid(unsafe_code)]
