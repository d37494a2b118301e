//! Shared helpers for integration tests.

pub(crate) mod dovecot;
