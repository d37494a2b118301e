//! [`Response`]: everything a server sends, except message bodies, which stream (see
//! [`BodyEncoder`](crate::BodyEncoder) and [`BodyDecoder`](crate::BodyDecoder)).

use std::fmt;

use crate::{
    error::ValidationError,
    types::{Capability, Language, MsgNo, SaslData, Text, UniqueId},
};

/// `+OK` or `-ERR`.
///
/// RFC 1939 §3: "There are currently two status indicators: positive ("+OK") and negative
/// ("-ERR"). Servers MUST send the "+OK" and "-ERR" in upper case."
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusKind {
    /// `+OK`
    Ok,
    /// `-ERR`
    Err,
}

/// A response code in brackets after the status indicator (RFC 2449 §8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RespCode {
    /// `[IN-USE]` (RFC 2449 §8.1.1): the maildrop is locked by another session.
    InUse,
    /// `[LOGIN-DELAY]` (RFC 2449 §8.1.2): the user logged in too recently.
    LoginDelay,
    /// `[SYS/TEMP]` (RFC 3206 §4): a temporary system problem.
    SysTemp,
    /// `[SYS/PERM]` (RFC 3206 §4): a permanent system problem.
    SysPerm,
    /// `[AUTH]` (RFC 3206 §5): the credentials are the problem.
    Auth,
    /// `[UTF8]` (RFC 6856 §2): the message cannot be sent without UTF-8 mode.
    Utf8,
    /// Any other code, e.g. `X-FOO/BAR`, kept as sent.
    Other(String),
}

impl RespCode {
    /// Checks the text inside the brackets of an unknown code.
    ///
    /// RFC 2449 §3: `resp-code = "[" resp-level *("/" resp-level) "]"`,
    /// `resp-level = 1*rchar`, `rchar = %x21-2E / %x30-5C / %x5E-7F` (printable ASCII
    /// without "/" and "]").
    pub fn validate(value: &[u8]) -> Result<(), ValidationError> {
        let ok = !value.is_empty()
            && value.split(|&b| b == b'/').all(|level| {
                !level.is_empty()
                    && level
                        .iter()
                        .all(|&b| (0x21..=0x7e).contains(&b) && b != b']')
            });
        if ok {
            Ok(())
        } else {
            Err(ValidationError::new(
                "response code",
                "RFC 2449 resp-code syntax",
            ))
        }
    }

    /// The code as it appears between the brackets.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InUse => "IN-USE",
            Self::LoginDelay => "LOGIN-DELAY",
            Self::SysTemp => "SYS/TEMP",
            Self::SysPerm => "SYS/PERM",
            Self::Auth => "AUTH",
            Self::Utf8 => "UTF8",
            Self::Other(code) => code,
        }
    }

    /// The code for the text between the brackets; known codes match case-insensitively.
    pub fn from_text(value: &str) -> Result<Self, ValidationError> {
        Self::validate(value.as_bytes())?;
        let known = [
            Self::InUse,
            Self::LoginDelay,
            Self::SysTemp,
            Self::SysPerm,
            Self::Auth,
            Self::Utf8,
        ];
        Ok(known
            .into_iter()
            .find(|code| code.as_str().eq_ignore_ascii_case(value))
            .unwrap_or_else(|| Self::Other(value.to_owned())))
    }
}

impl fmt::Display for RespCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A single-line response: status indicator, optional response code, text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Status {
    kind: StatusKind,
    code: Option<RespCode>,
    text: Text,
}

impl Status {
    /// `+OK text`.
    pub fn ok(text: Text) -> Self {
        Self {
            kind: StatusKind::Ok,
            code: None,
            text,
        }
    }

    /// `-ERR text`.
    pub fn err(text: Text) -> Self {
        Self {
            kind: StatusKind::Err,
            code: None,
            text,
        }
    }

    /// Adds a response code: `-ERR [IN-USE] text`.
    pub fn with_code(mut self, code: RespCode) -> Self {
        self.code = Some(code);
        self
    }

    /// `+OK` or `-ERR` with this text; for literal texts known to be valid.
    ///
    /// Text that [`Text::validate`] refuses is replaced by an empty text, so this never panics.
    pub fn new_lossy(kind: StatusKind, text: &str) -> Self {
        Self {
            kind,
            code: None,
            text: Text::try_from(text).unwrap_or_default(),
        }
    }

    /// `+OK` or `-ERR`.
    pub fn kind(&self) -> StatusKind {
        self.kind
    }

    /// Whether this is `+OK`.
    pub fn is_ok(&self) -> bool {
        self.kind == StatusKind::Ok
    }

    /// The response code, if any.
    pub fn code(&self) -> Option<&RespCode> {
        self.code.as_ref()
    }

    /// The text.
    pub fn text(&self) -> &Text {
        &self.text
    }

    /// The APOP timestamp of a greeting: the first `<...>` in the text, brackets included.
    ///
    /// RFC 1939 §7: "A POP3 server which implements the APOP command will include a timestamp
    /// in its banner greeting. The syntax of the timestamp corresponds to the `msg-id' in
    /// \[RFC822\]".
    pub fn apop_timestamp(&self) -> Option<&str> {
        let text = self.text.as_str();
        let start = text.find('<')?;
        let len = text.get(start..)?.find('>')?;
        let stamp = text.get(start..=start + len)?;
        stamp.contains('@').then_some(stamp)
    }
}

/// The `STAT` drop listing.
///
/// RFC 1939 §5: "The positive response consists of "+OK" followed by a single space, the
/// number of messages in the maildrop, a single space, and the size of the maildrop in octets."
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stat {
    /// Messages not marked as deleted.
    pub count: u32,
    /// Their total size in octets.
    pub size: u64,
}

/// One scan listing: a message number and its exact size.
///
/// RFC 1939 §5: "A scan listing consists of the message-number of the message, followed by a
/// single space and the exact size of the message in octets."
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScanListing {
    /// The message.
    pub msg: MsgNo,
    /// Its exact size in octets.
    pub size: u64,
}

/// One unique-id listing: a message number and its unique-id (RFC 1939 §7).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UidListing {
    /// The message.
    pub msg: MsgNo,
    /// Its unique-id.
    pub uid: UniqueId,
}

/// A complete response other than a message body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Response {
    /// Any single-line `+OK`/`-ERR`; every command may get `-ERR`.
    Status(Status),
    /// `+OK count size` to `STAT`.
    Stat(Stat),
    /// `+OK msg size` to `LIST msg`.
    Scan(ScanListing),
    /// `+OK text` and one scan listing a line, to `LIST`.
    ScanList {
        /// Text of the first line.
        text: Text,
        /// The listings.
        entries: Vec<ScanListing>,
    },
    /// `+OK msg uid` to `UIDL msg`.
    Uid(UidListing),
    /// `+OK text` and one unique-id listing a line, to `UIDL`.
    UidList {
        /// Text of the first line.
        text: Text,
        /// The listings.
        entries: Vec<UidListing>,
    },
    /// `+OK text` and one capability a line, to `CAPA` (RFC 2449 §5).
    Capabilities {
        /// Text of the first line.
        text: Text,
        /// The capabilities.
        capabilities: Vec<Capability>,
    },
    /// `+OK text` and one language a line, to `LANG` without argument (RFC 6856 §3).
    Languages {
        /// Text of the first line.
        text: Text,
        /// The languages.
        languages: Vec<Language>,
    },
    /// `+ base64`: a SASL challenge during `AUTH` (RFC 5034 §4).
    Challenge(SaslData),
}

impl Response {
    /// The shape of this response, as matched against [`CommandKind::response_kind`](crate::CommandKind::response_kind).
    pub fn kind(&self) -> ResponseKind {
        match self {
            Self::Status(_) => ResponseKind::Status,
            Self::Stat(_) => ResponseKind::Stat,
            Self::Scan(_) => ResponseKind::Scan,
            Self::ScanList { .. } => ResponseKind::ScanList,
            Self::Uid(_) => ResponseKind::Uid,
            Self::UidList { .. } => ResponseKind::UidList,
            Self::Capabilities { .. } => ResponseKind::Capabilities,
            Self::Languages { .. } => ResponseKind::Languages,
            Self::Challenge(_) => ResponseKind::Auth,
        }
    }

    /// Whether this is a negative (`-ERR`) response.
    pub fn is_err(&self) -> bool {
        matches!(self, Self::Status(s) if !s.is_ok())
    }
}

/// What a client expects next: the shape of the positive response to what it sent.
///
/// `-ERR` is always possible and always a single [`Response::Status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseKind {
    /// The server greeting (a status line).
    Greeting,
    /// A plain status line.
    Status,
    /// `STAT`.
    Stat,
    /// `LIST msg`.
    Scan,
    /// `LIST`.
    ScanList,
    /// `UIDL msg`.
    Uid,
    /// `UIDL`.
    UidList,
    /// `CAPA`.
    Capabilities,
    /// `LANG` without argument.
    Languages,
    /// `RETR` or `TOP`: a status line, then on `+OK` a streamed body.
    Message,
    /// During `AUTH`: a challenge or the final status line.
    Auth,
}

impl ResponseKind {
    /// Whether a positive response of this kind is multi-line.
    pub fn is_multiline(self) -> bool {
        matches!(
            self,
            Self::ScanList | Self::UidList | Self::Capabilities | Self::Languages | Self::Message
        )
    }

    /// Whether `response` is a valid answer of this kind (a `-ERR` status always is).
    pub fn accepts(self, response: &Response) -> bool {
        match response {
            Response::Status(s) if !s.is_ok() => true,
            Response::Status(_) => matches!(
                self,
                Self::Greeting | Self::Status | Self::Auth | Self::Message
            ),
            other => other.kind() == self,
        }
    }
}
