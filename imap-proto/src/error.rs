//! Errors returned when a value cannot be represented on the wire.

use thiserror::Error;

/// Why a value was refused by a validating constructor.
///
/// Every protocol type in this crate is valid by construction: the constructors return this
/// error instead of building a value that would encode to bytes the peer could misread.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The value is empty but the grammar needs at least one character.
    #[error("value must not be empty")]
    Empty,
    /// The byte at `position` is not allowed in this kind of value.
    #[error("byte {byte:#04x} at position {position} is not allowed here")]
    InvalidByte {
        /// The offending byte.
        byte: u8,
        /// Its offset in the value.
        position: usize,
    },
    /// A number is outside the range the grammar allows.
    #[error("number out of range")]
    OutOfRange,
    /// A modified UTF-7 mailbox name is malformed or not in canonical form.
    #[error("invalid modified UTF-7 mailbox name")]
    InvalidMutf7,
    /// A date or time names a day, month or time of day that does not exist.
    #[error("invalid date or time")]
    InvalidDate,
    /// The value is longer than the wire form can carry.
    #[error("value too long")]
    TooLong,
    /// Not `base64` as RFC 3501 §9 defines it.
    #[error("invalid base64")]
    InvalidBase64,
    /// The value is reserved (for example a flag name that only the server may send).
    #[error("value is reserved")]
    Reserved,
}

/// Returns `InvalidByte` for the first byte of `value` that `allowed` refuses, `Empty` for an
/// empty value.
pub(crate) fn check_bytes(
    value: &[u8],
    allowed: impl Fn(u8) -> bool,
) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::Empty);
    }
    match value.iter().position(|byte| !allowed(*byte)) {
        Some(position) => Err(ValidationError::InvalidByte {
            byte: value[position],
            position,
        }),
        None => Ok(()),
    }
}
