//! [`Command`]: everything a client can send (RFC 1939, 2449, 2595, 5034, 6856).

use std::fmt;

use crate::{
    error::ValidationError,
    secret::Secret,
    types::{LangRequest, Mechanism, MsgNo, Param, ResponseKind, SaslData},
};

/// A user name: one [`Param`] (`USER name`, `APOP name digest`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserName(Param);

impl UserName {
    /// The name.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the name is ASCII (valid outside UTF-8 mode).
    pub fn is_ascii(&self) -> bool {
        self.0.is_ascii()
    }
}

impl From<Param> for UserName {
    fn from(value: Param) -> Self {
        Self(value)
    }
}

impl TryFrom<&str> for UserName {
    type Error = ValidationError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Param::try_from(value).map(Self)
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The argument of `PASS`: the rest of the line, spaces included, never empty.
///
/// RFC 1939 §7: "Since the PASS command has exactly one argument, a POP3 server may treat
/// spaces in the argument as part of the password, instead of as argument separators."
/// Octets, not text: legacy clients send passwords in 8-bit charsets. Redacted in `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Password(Secret<Vec<u8>>);

impl Password {
    /// Checks `value` without building a value. NUL is refused rather than truncated at.
    pub fn validate(value: &[u8]) -> Result<(), ValidationError> {
        if value.is_empty() {
            return Err(ValidationError::new("password", "must not be empty"));
        }
        if value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(ValidationError::new(
                "password",
                "CR, LF and NUL are not allowed",
            ));
        }
        Ok(())
    }

    /// The password octets.
    pub fn declassify(&self) -> &[u8] {
        self.0.declassify()
    }
}

impl TryFrom<&[u8]> for Password {
    type Error = ValidationError;

    fn try_from(value: &[u8]) -> Result<Self, Self::Error> {
        Self::validate(value)?;
        Ok(Self(Secret::new(value.to_vec())))
    }
}

impl TryFrom<&str> for Password {
    type Error = ValidationError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::try_from(value.as_bytes())
    }
}

/// The `APOP` digest: MD5 as 32 lower-case hexadecimal digits.
///
/// RFC 1939 §7: "The `digest' parameter itself is a 16-octet value which is sent in
/// hexadecimal format, using lower-case ASCII characters." Decoders lower-case upper-case
/// digits before checking. This crate does not compute MD5: the server does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApopDigest(String);

impl ApopDigest {
    /// Checks `value` without building a value.
    pub fn validate(value: &[u8]) -> Result<(), ValidationError> {
        if value.len() != 32 || !value.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ValidationError::new(
                "APOP digest",
                "must be 32 lower-case hex digits",
            ));
        }
        Ok(())
    }
}

string_newtype!(ApopDigest);

/// A POP3 command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `USER name` (RFC 1939 §7), AUTHORIZATION state.
    User(UserName),
    /// `PASS string` (RFC 1939 §7), AUTHORIZATION state, after `USER`.
    Pass(Password),
    /// `APOP name digest` (RFC 1939 §7), AUTHORIZATION state.
    Apop {
        /// The mailbox name.
        name: UserName,
        /// MD5 of the greeting's timestamp followed by the shared secret.
        digest: ApopDigest,
    },
    /// `QUIT` (RFC 1939 §4, §6), any state.
    Quit,
    /// `STAT` (RFC 1939 §5), TRANSACTION state.
    Stat,
    /// `LIST [msg]` (RFC 1939 §5), TRANSACTION state.
    List(Option<MsgNo>),
    /// `RETR msg` (RFC 1939 §5), TRANSACTION state.
    Retr(MsgNo),
    /// `DELE msg` (RFC 1939 §5), TRANSACTION state.
    Dele(MsgNo),
    /// `NOOP` (RFC 1939 §5), TRANSACTION state.
    Noop,
    /// `RSET` (RFC 1939 §5), TRANSACTION state.
    Rset,
    /// `TOP msg n` (RFC 1939 §7), TRANSACTION state.
    Top {
        /// The message.
        msg: MsgNo,
        /// How many body lines after the header.
        lines: u32,
    },
    /// `UIDL [msg]` (RFC 1939 §7), TRANSACTION state.
    Uidl(Option<MsgNo>),
    /// `CAPA` (RFC 2449 §5), any state.
    Capa,
    /// `STLS` (RFC 2595 §4), AUTHORIZATION state.
    Stls,
    /// `AUTH mechanism [initial-response]` (RFC 5034 §4), AUTHORIZATION state.
    Auth {
        /// The SASL mechanism.
        mechanism: Mechanism,
        /// The initial response; `Some` of empty data is sent as `=`.
        initial_response: Option<SaslData>,
    },
    /// `UTF8` (RFC 6856 §2), AUTHORIZATION state.
    Utf8,
    /// `LANG [lang-or-wild]` (RFC 6856 §3), AUTHORIZATION and TRANSACTION states.
    Lang(Option<LangRequest>),
}

/// Which command, without its arguments: what a state machine remembers about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // One variant per `Command` variant, same names.
pub enum CommandKind {
    User,
    Pass,
    Apop,
    Quit,
    Stat,
    List,
    ListAll,
    Retr,
    Dele,
    Noop,
    Rset,
    Top,
    Uidl,
    UidlAll,
    Capa,
    Stls,
    Auth,
    Utf8,
    Lang,
    LangList,
}

impl Command {
    /// The command without its arguments (`LIST` and `LIST n` differ: one listing or one line).
    pub fn kind(&self) -> CommandKind {
        match self {
            Self::User(_) => CommandKind::User,
            Self::Pass(_) => CommandKind::Pass,
            Self::Apop { .. } => CommandKind::Apop,
            Self::Quit => CommandKind::Quit,
            Self::Stat => CommandKind::Stat,
            Self::List(Some(_)) => CommandKind::List,
            Self::List(None) => CommandKind::ListAll,
            Self::Retr(_) => CommandKind::Retr,
            Self::Dele(_) => CommandKind::Dele,
            Self::Noop => CommandKind::Noop,
            Self::Rset => CommandKind::Rset,
            Self::Top { .. } => CommandKind::Top,
            Self::Uidl(Some(_)) => CommandKind::Uidl,
            Self::Uidl(None) => CommandKind::UidlAll,
            Self::Capa => CommandKind::Capa,
            Self::Stls => CommandKind::Stls,
            Self::Auth { .. } => CommandKind::Auth,
            Self::Utf8 => CommandKind::Utf8,
            Self::Lang(Some(_)) => CommandKind::Lang,
            Self::Lang(None) => CommandKind::LangList,
        }
    }
}

impl CommandKind {
    /// The shape of the positive response to this command.
    pub fn response_kind(self) -> ResponseKind {
        match self {
            Self::Stat => ResponseKind::Stat,
            Self::List => ResponseKind::Scan,
            Self::ListAll => ResponseKind::ScanList,
            Self::Uidl => ResponseKind::Uid,
            Self::UidlAll => ResponseKind::UidList,
            Self::Retr | Self::Top => ResponseKind::Message,
            Self::Capa => ResponseKind::Capabilities,
            Self::LangList => ResponseKind::Languages,
            Self::Auth => ResponseKind::Auth,
            _ => ResponseKind::Status,
        }
    }

    /// The keyword as sent on the wire.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::User => "USER",
            Self::Pass => "PASS",
            Self::Apop => "APOP",
            Self::Quit => "QUIT",
            Self::Stat => "STAT",
            Self::List | Self::ListAll => "LIST",
            Self::Retr => "RETR",
            Self::Dele => "DELE",
            Self::Noop => "NOOP",
            Self::Rset => "RSET",
            Self::Top => "TOP",
            Self::Uidl | Self::UidlAll => "UIDL",
            Self::Capa => "CAPA",
            Self::Stls => "STLS",
            Self::Auth => "AUTH",
            Self::Utf8 => "UTF8",
            Self::Lang | Self::LangList => "LANG",
        }
    }
}
