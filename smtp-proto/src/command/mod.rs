//! SMTP commands (RFC 5321 §4.1.1) and their extensions: what a client sends and a server
//! parses.

mod encode;
mod params;
mod parse;

use std::{borrow::Cow, fmt};

pub use params::{AuthParam, Body, EsmtpParam, MailParams, Notify, Orcpt, RcptParams, Ret, XText};
pub use parse::{CommandError, decode_auth_line, decode_command};

use crate::{
    address::{AddressError, Domain, ForwardPath, ReversePath},
    secret::Secret,
};

/// One SMTP, ESMTP or LMTP command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `EHLO domain` (RFC 5321 §4.1.1.1).
    Ehlo(Domain<'a>),
    /// `HELO domain`.
    Helo(Domain<'a>),
    /// `LHLO domain` (RFC 2033 §4.1), the LMTP greeting.
    Lhlo(Domain<'a>),
    /// `MAIL FROM:<reverse-path> [parameters]`.
    Mail {
        /// The reverse path, `<>` for bounces.
        from: ReversePath<'a>,
        /// ESMTP parameters.
        params: MailParams<'a>,
    },
    /// `RCPT TO:<forward-path> [parameters]`.
    Rcpt {
        /// The recipient.
        to: ForwardPath<'a>,
        /// ESMTP parameters.
        params: RcptParams<'a>,
    },
    /// `DATA`.
    Data,
    /// `BDAT chunk-size [LAST]` (RFC 3030 §2); `size` octets follow the line.
    Bdat {
        /// Octets in this chunk.
        size: u64,
        /// Whether this is the last chunk.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `NOOP [string]`.
    Noop(Option<Argument<'a>>),
    /// `QUIT`.
    Quit,
    /// `VRFY string`.
    Vrfy(Argument<'a>),
    /// `EXPN string`.
    Expn(Argument<'a>),
    /// `HELP [string]`.
    Help(Option<Argument<'a>>),
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954 §4).
    Auth {
        /// The SASL mechanism, e.g. `PLAIN`.
        mechanism: Mechanism<'a>,
        /// The decoded initial response; `Some(empty)` stands for `=`.
        initial_response: Option<Secret<Vec<u8>>>,
    },
}

impl Command<'_> {
    /// Copies borrowed text so the value outlives the input buffer.
    pub fn into_owned(self) -> Command<'static> {
        match self {
            Command::Ehlo(d) => Command::Ehlo(d.into_owned()),
            Command::Helo(d) => Command::Helo(d.into_owned()),
            Command::Lhlo(d) => Command::Lhlo(d.into_owned()),
            Command::Mail { from, params } => Command::Mail {
                from: from.into_owned(),
                params: params.into_owned(),
            },
            Command::Rcpt { to, params } => Command::Rcpt {
                to: to.into_owned(),
                params: params.into_owned(),
            },
            Command::Data => Command::Data,
            Command::Bdat { size, last } => Command::Bdat { size, last },
            Command::Rset => Command::Rset,
            Command::Noop(a) => Command::Noop(a.map(Argument::into_owned)),
            Command::Quit => Command::Quit,
            Command::Vrfy(a) => Command::Vrfy(a.into_owned()),
            Command::Expn(a) => Command::Expn(a.into_owned()),
            Command::Help(a) => Command::Help(a.map(Argument::into_owned)),
            Command::StartTls => Command::StartTls,
            Command::Auth {
                mechanism,
                initial_response,
            } => Command::Auth {
                mechanism: mechanism.into_owned(),
                initial_response,
            },
        }
    }

    /// The command verb, upper case.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Ehlo(_) => "EHLO",
            Command::Helo(_) => "HELO",
            Command::Lhlo(_) => "LHLO",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Bdat { .. } => "BDAT",
            Command::Rset => "RSET",
            Command::Noop(_) => "NOOP",
            Command::Quit => "QUIT",
            Command::Vrfy(_) => "VRFY",
            Command::Expn(_) => "EXPN",
            Command::Help(_) => "HELP",
            Command::StartTls => "STARTTLS",
            Command::Auth { .. } => "AUTH",
        }
    }
}

/// The free-text argument of NOOP, VRFY, EXPN and HELP: printable text without CR or LF,
/// not starting or ending with a space.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Argument<'a>(Cow<'a, str>);

impl<'a> Argument<'a> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Copies borrowed text so the value outlives the input buffer.
    pub fn into_owned(self) -> Argument<'static> {
        Argument(Cow::Owned(self.0.into_owned()))
    }
}

impl<'a> TryFrom<&'a str> for Argument<'a> {
    type Error = AddressError;
    fn try_from(value: &'a str) -> Result<Self, Self::Error> {
        let printable = value
            .bytes()
            .all(|b| b == b' ' || b.is_ascii_graphic() || b >= 0x80);
        if value.is_empty() || !printable || value.starts_with(' ') || value.ends_with(' ') {
            return Err(AddressError::Syntax("argument"));
        }
        Ok(Argument(Cow::Borrowed(value)))
    }
}

impl fmt::Debug for Argument<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Argument({:?})", self.as_str())
    }
}

/// A SASL mechanism name: `1*20 (ALPHA / DIGIT / "-" / "_")` (RFC 4422 §3.1), upper case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mechanism<'a>(Cow<'a, str>);

impl<'a> Mechanism<'a> {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Copies borrowed text so the value outlives the input buffer.
    pub fn into_owned(self) -> Mechanism<'static> {
        Mechanism(Cow::Owned(self.0.into_owned()))
    }
}

impl<'a> TryFrom<&'a str> for Mechanism<'a> {
    type Error = AddressError;
    /// Accepts upper-case names only; the parser upper-cases what it reads (mechanism names
    /// are case-insensitive, RFC 4954 §4).
    fn try_from(value: &'a str) -> Result<Self, Self::Error> {
        let valid = (1..=20).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(Mechanism(Cow::Borrowed(value)))
        } else {
            Err(AddressError::Syntax("SASL mechanism"))
        }
    }
}

impl fmt::Debug for Mechanism<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mechanism({})", self.as_str())
    }
}

/// One line of a SASL exchange sent by the client after a 334 (RFC 4954 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthLine {
    /// Decoded base64 response.
    Response(Secret<Vec<u8>>),
    /// `*`: "If the client wishes to cancel the authentication exchange, it issues a line
    /// with a single "*"."
    Cancel,
}
