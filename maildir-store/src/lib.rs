//! Storage for Gradwell: blocking, coarse-grained mailbox traits in domain types, a
//! Dovecot-compatible Maildir backend, and a mirrored store that keeps every mailbox on two
//! independent replicas.
//!
//! What it will not do: speak any mail protocol, depend on an async runtime, or expose
//! filesystem paths through its traits.
//!
//! Status: nothing is implemented yet; the store arrives with its own issue.
#![forbid(unsafe_code)]
