//! [`Text`] (human-readable response text) and [`Param`] (one command or capability argument).

use std::fmt;

use crate::error::ValidationError;

/// Free text after a status indicator, or in a listing line: any UTF-8 without CR, LF or NUL.
///
/// It may not start with `[`, since RFC 2449 §8 puts a response code there ("[" resp-code
/// "]"), and a text starting with `[` could be read back as one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(String);

impl Text {
    /// The empty text.
    pub const fn empty() -> Self {
        Self(String::new())
    }

    /// Checks `value` without building a value.
    pub fn validate(value: &str) -> Result<(), ValidationError> {
        if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(ValidationError::new(
                "text",
                "CR, LF and NUL are not allowed",
            ));
        }
        if value.starts_with('[') {
            return Err(ValidationError::new(
                "text",
                "a leading '[' would read as a response code",
            ));
        }
        Ok(())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Builds from bytes already checked by a parser (no CR, LF, NUL), replacing invalid
    /// UTF-8 without changing the length (see [`same_length_utf8`]).
    pub(crate) fn from_wire(value: &[u8]) -> Self {
        Self(same_length_utf8(value))
    }
}

impl TryFrom<&str> for Text {
    type Error = ValidationError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::validate(value)?;
        Ok(Self(value.to_owned()))
    }
}

impl TryFrom<String> for Text {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::validate(&value)?;
        Ok(Self(value))
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Text from octets that should be UTF-8: valid sequences are kept and every other octet
/// becomes `?`. Unlike `String::from_utf8_lossy` (U+FFFD is three octets), the length stays
/// the same, so a decoded line re-encodes within the same line limit.
pub(crate) fn same_length_utf8(value: &[u8]) -> String {
    let mut text = String::with_capacity(value.len());
    for chunk in value.utf8_chunks() {
        text.push_str(chunk.valid());
        text.extend(std::iter::repeat_n('?', chunk.invalid().len()));
    }
    text
}

/// One argument: a non-empty run of printable characters without spaces.
///
/// RFC 1939 §3: "Keywords and arguments consist of printable ASCII characters." RFC 6856 §2
/// lets arguments carry UTF-8 once UTF-8 mode is on, so non-ASCII UTF-8 is allowed here and
/// the command decoder refuses it outside UTF-8 mode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param(String);

impl Param {
    /// Checks `value` without building a value.
    pub fn validate(value: &str) -> Result<(), ValidationError> {
        if value.is_empty() {
            return Err(ValidationError::new("argument", "must not be empty"));
        }
        if value.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(ValidationError::new(
                "argument",
                "spaces and control characters are not allowed",
            ));
        }
        Ok(())
    }

    /// The argument.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the argument is plain ASCII (valid outside UTF-8 mode).
    pub fn is_ascii(&self) -> bool {
        self.0.is_ascii()
    }

    /// Builds from a parser's already validated UTF-8.
    pub(crate) fn from_checked(value: &str) -> Self {
        debug_assert!(Self::validate(value).is_ok());
        Self(value.to_owned())
    }
}

impl TryFrom<&str> for Param {
    type Error = ValidationError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::validate(value)?;
        Ok(Self(value.to_owned()))
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
