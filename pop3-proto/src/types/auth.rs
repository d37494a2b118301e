//! SASL values for `AUTH` (RFC 5034): mechanism names, data, and the client's response lines.

use crate::{error::ValidationError, secret::Secret};

/// SASL data as raw octets (base64 on the wire). Redacted in `Debug`: it carries credentials.
pub type SaslData = Secret<Vec<u8>>;

/// A SASL mechanism name.
///
/// RFC 4422 §3.1: "SASL mechanisms are named by character strings, from 1 to 20 characters in
/// length, consisting of ASCII \[ASCII\] uppercase letters, digits, hyphens, and/or
/// underscores." Decoders upper-case what clients send before checking.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mechanism(String);

impl Mechanism {
    /// Checks `value` without building a value.
    pub fn validate(value: &[u8]) -> Result<(), ValidationError> {
        if value.is_empty() || value.len() > 20 {
            return Err(ValidationError::new(
                "SASL mechanism",
                "must be 1 to 20 characters",
            ));
        }
        if !value
            .iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(ValidationError::new(
                "SASL mechanism",
                "only A-Z, 0-9, '-' and '_'",
            ));
        }
        Ok(())
    }
}

string_newtype!(Mechanism);

/// A client's line during a SASL exchange, answering a server challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthLine {
    /// The client's response (base64 on the wire; an empty line for empty data).
    Response(SaslData),
    /// RFC 5034 §4: "If the client wishes to cancel the authentication exchange, it issues a
    /// line with a single "*"."
    Cancel,
}
