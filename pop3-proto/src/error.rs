//! Error types: small enums that never allocate, one per kind of failure.

/// A value refused by a validating constructor (`TryFrom`, `new`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct ValidationError {
    what: &'static str,
    reason: &'static str,
}

impl ValidationError {
    pub(crate) const fn new(what: &'static str, reason: &'static str) -> Self {
        Self { what, reason }
    }

    /// What kind of value was refused ("message number", "unique-id", ...).
    pub fn what(&self) -> &'static str {
        self.what
    }
}

/// Why a complete command line was refused. `Display` gives the text of the `-ERR` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The keyword is not a command this crate knows.
    #[error("unknown command")]
    UnknownCommand,
    /// Wrong number of arguments, or arguments not separated by single spaces.
    #[error("syntax: {usage}")]
    Syntax {
        /// The command's grammar, e.g. `RETR msg`.
        usage: &'static str,
    },
    /// A message number argument is not a decimal number.
    #[error("message number must be a decimal number")]
    NotANumber,
    /// Message number 0.
    #[error("message numbers start at 1")]
    ZeroMessageNumber,
    /// A message number above [`Options::max_message_number`](crate::Options).
    #[error("no such message")]
    MessageNumberTooLarge,
    /// The line count of `TOP` is negative, not a number, or too large.
    #[error("line count must be a non-negative decimal number")]
    BadLineCount,
    /// The `APOP` digest is not 32 hexadecimal digits.
    #[error("APOP digest must be 32 hexadecimal digits")]
    BadDigest,
    /// A byte that is not allowed in a command (control character, NUL, bare CR, or
    /// non-ASCII outside UTF-8 mode).
    #[error("invalid character in command")]
    BadCharacter,
    /// A line ended with LF alone.
    #[error("lines must end with CRLF")]
    BareLineFeed,
    /// The line is longer than the limit for its command.
    #[error("line too long")]
    LineTooLong,
    /// SASL data that is not canonical base64.
    #[error("invalid base64")]
    BadBase64,
    /// A SASL mechanism name outside RFC 4422 syntax.
    #[error("invalid SASL mechanism name")]
    BadMechanism,
    /// A `LANG` argument that is not a language tag or `*`.
    #[error("invalid language tag")]
    BadLanguage,
}

/// Result of decoding a command or a SASL client line that did not yield a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandDecodeError {
    /// More input is needed: no complete line yet.
    #[error("incomplete command")]
    Incomplete,
    /// No line end within the limit. The caller discards input up to the next LF and
    /// answers `-ERR`.
    #[error("line too long")]
    LineTooLong,
    /// A complete line of `consumed` octets (CRLF included) was refused.
    #[error("{error}")]
    Invalid {
        /// Octets to skip to reach the next line.
        consumed: usize,
        /// Why the line was refused.
        error: CommandError,
    },
}

/// Why a response from the server could not be decoded. A client cannot resynchronise
/// after one, so these end the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The line does not start with `+OK` or `-ERR` (or `+` for a SASL challenge).
    #[error("response does not start with +OK or -ERR")]
    BadStatus,
    /// A `[` that does not open a valid response code.
    #[error("malformed response code")]
    BadResponseCode,
    /// The fields of a STAT, LIST, UIDL or LANG line are malformed.
    #[error("malformed {what} line")]
    BadListing {
        /// Which kind of line.
        what: &'static str,
    },
    /// A CAPA line is malformed.
    #[error("malformed capability")]
    BadCapability,
    /// A SASL challenge that is not canonical base64.
    #[error("invalid base64 in SASL challenge")]
    BadBase64,
    /// A NUL, bare CR or bare LF.
    #[error("invalid character in response")]
    BadCharacter,
    /// A line longer than its limit in [`Options`](crate::Options).
    #[error("response line too long")]
    LineTooLong,
    /// A listing with more lines than its limit in [`Options`](crate::Options).
    #[error("too many lines in multi-line response")]
    TooManyLines,
}

/// Result of decoding a response that did not yield a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseDecodeError {
    /// More input is needed.
    #[error("incomplete response")]
    Incomplete,
    /// The response is malformed.
    #[error(transparent)]
    Invalid(#[from] ResponseError),
}
