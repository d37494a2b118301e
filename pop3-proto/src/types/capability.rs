//! [`Capability`]: one line of a `CAPA` response (RFC 2449 §6, RFC 2595, RFC 3206, RFC 6856).

use crate::{
    error::ValidationError,
    types::{Mechanism, Param},
};

/// The argument of the `EXPIRE` capability (RFC 2449 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpirePolicy {
    /// Messages may be deleted this many days after first retrieval (0: at QUIT).
    Days(u32),
    /// `NEVER`: the server never expires messages.
    Never,
}

/// A capability announced in response to `CAPA`.
///
/// RFC 2449 §3: "capa-tag *(SP param)"; tags are matched case-insensitively and written in
/// upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// `TOP` (RFC 2449 §6.1).
    Top,
    /// `USER` (RFC 2449 §6.2).
    User,
    /// `SASL mech...` (RFC 2449 §6.3, RFC 5034 §3).
    Sasl(Vec<Mechanism>),
    /// `RESP-CODES` (RFC 2449 §6.4).
    RespCodes,
    /// `LOGIN-DELAY seconds [USER]` (RFC 2449 §6.5); `per_user` marks the `USER` argument,
    /// sent in AUTHORIZATION state when the delay varies by user.
    LoginDelay {
        /// Minimum seconds between logins.
        seconds: u32,
        /// The `USER` argument.
        per_user: bool,
    },
    /// `PIPELINING` (RFC 2449 §6.6).
    Pipelining,
    /// `EXPIRE policy [USER]` (RFC 2449 §6.7).
    Expire {
        /// Days, or never.
        policy: ExpirePolicy,
        /// The `USER` argument.
        per_user: bool,
    },
    /// `UIDL` (RFC 2449 §6.8).
    Uidl,
    /// `IMPLEMENTATION text` (RFC 2449 §6.9); the words after the tag.
    Implementation(Vec<Param>),
    /// `STLS` (RFC 2595 §4).
    Stls,
    /// `AUTH-RESP-CODE` (RFC 3206 §6).
    AuthRespCode,
    /// `UTF8 [USER]` (RFC 6856 §2); `user` marks UTF-8 user names and passwords.
    Utf8 {
        /// The `USER` argument.
        user: bool,
    },
    /// `LANG` (RFC 6856 §3).
    Lang,
    /// Any other capability, kept as sent.
    Other(OtherCapability),
}

/// A capability this crate does not interpret: a tag and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OtherCapability {
    tag: Param,
    params: Vec<Param>,
}

impl OtherCapability {
    /// A capability with a tag that is not one of the known ones (those would read back as
    /// their own variant) and does not start with `.` (RFC 2449 §3: `cchar` excludes ".").
    pub fn new(tag: Param, params: Vec<Param>) -> Result<Self, ValidationError> {
        if tag.as_str().starts_with('.') {
            return Err(ValidationError::new(
                "capability",
                "a tag cannot start with '.'",
            ));
        }
        if KNOWN_TAGS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(tag.as_str()))
        {
            return Err(ValidationError::new(
                "capability",
                "known tags have their own variant",
            ));
        }
        Ok(Self { tag, params })
    }

    /// The tag.
    pub fn tag(&self) -> &Param {
        &self.tag
    }

    /// The arguments.
    pub fn params(&self) -> &[Param] {
        &self.params
    }
}

/// Tags with their own [`Capability`] variant.
pub(crate) const KNOWN_TAGS: &[&str] = &[
    "TOP",
    "USER",
    "SASL",
    "RESP-CODES",
    "LOGIN-DELAY",
    "PIPELINING",
    "EXPIRE",
    "UIDL",
    "IMPLEMENTATION",
    "STLS",
    "AUTH-RESP-CODE",
    "UTF8",
    "LANG",
];
