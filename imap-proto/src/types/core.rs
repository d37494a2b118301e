//! Strings and atoms: the building blocks of every IMAP message.

use super::small_str::SmallStr;
use crate::{
    chars::{is_astring_char, is_atom_char, is_tag_char, is_text_char},
    encode::{Encode, Encoder},
    error::{ValidationError, check_bytes},
};

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(SmallStr);

        impl $name {
            /// Checks that `value` is a valid instance without building one.
            pub fn validate(value: impl AsRef<[u8]>) -> Result<(), ValidationError> {
                check_bytes(value.as_ref(), $check)
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The value's octets, without the UTF-8 check `as_str` makes.
            pub fn as_bytes(&self) -> &[u8] {
                self.0.as_bytes()
            }

            /// Built by the parser from octets its ASCII character class accepted, so no
            /// UTF-8 check is needed.
            pub(crate) fn unvalidated_ascii(value: &[u8]) -> Self {
                debug_assert!(Self::validate(value).is_ok());
                Self(SmallStr::from_ascii(value))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ValidationError;

            fn try_from(value: &str) -> Result<Self, ValidationError> {
                Self::validate(value)?;
                Ok(Self(SmallStr::new(value)))
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;

            fn try_from(value: String) -> Result<Self, ValidationError> {
                Self::validate(&value)?;
                Ok(Self(SmallStr::from_string(value)))
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.0.as_str()
            }
        }

        impl Encode for $name {
            fn encode(&self, e: &mut Encoder) {
                e.bytes(self.0.as_bytes());
            }
        }
    };
}

string_newtype!(
    /// `atom = 1*ATOM-CHAR`
    Atom,
    is_atom_char
);

string_newtype!(
    /// `1*ASTRING-CHAR`: the unquoted form of an `astring`, which unlike `atom` may hold `]`.
    AtomExt,
    is_astring_char
);

string_newtype!(
    /// `tag = 1*<any ASTRING-CHAR except "+">`
    Tag,
    is_tag_char
);

/// Whether a literal makes the sender wait for a continuation request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiteralMode {
    /// `{n}`: the sender waits for `+` before sending the data.
    Sync,
    /// `{n+}` (RFC 7888 LITERAL+ / LITERAL-): the data follows at once.
    NonSync,
}

/// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`
///
/// RFC 9051: `QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials /
/// UTF8-2 / UTF8-3 / UTF8-4`. The value is held unescaped; the encoder adds the backslashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Quoted(SmallStr);

impl Quoted {
    /// Checks that `value` fits in a quoted string: no NUL, CR or LF.
    pub fn validate(value: &str) -> Result<(), ValidationError> {
        match value.bytes().position(|b| b.is_ascii() && !is_text_char(b)) {
            Some(position) => Err(ValidationError::InvalidByte {
                byte: value.as_bytes()[position],
                position,
            }),
            None => Ok(()),
        }
    }

    /// The unescaped content.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub(crate) fn unvalidated_str(value: &str) -> Self {
        debug_assert!(Self::validate(value).is_ok());
        Self(SmallStr::new(value))
    }

    pub(crate) fn unvalidated(value: String) -> Self {
        debug_assert!(Self::validate(&value).is_ok());
        Self(SmallStr::from_string(value))
    }

    /// From plain ASCII `QUOTED-CHAR`s the parser checked.
    pub(crate) fn unvalidated_ascii(value: &[u8]) -> Self {
        Self(SmallStr::from_ascii(value))
    }
}

impl TryFrom<&str> for Quoted {
    type Error = ValidationError;

    fn try_from(value: &str) -> Result<Self, ValidationError> {
        Self::validate(value)?;
        Ok(Self(SmallStr::new(value)))
    }
}

impl Encode for Quoted {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(b"\"");
        for chunk in self
            .0
            .as_bytes()
            .split_inclusive(|b| *b == b'"' || *b == b'\\')
        {
            match chunk.split_last() {
                Some((last, head)) if *last == b'"' || *last == b'\\' => {
                    e.bytes(head).bytes(b"\\").bytes(&[*last]);
                }
                _ => {
                    e.bytes(chunk);
                }
            }
        }
        e.bytes(b"\"");
    }
}

/// `literal = "{" number64 ["+"] "}" CRLF *CHAR8`
///
/// RFC 3501 §4.3: "A literal is a sequence of zero or more octets (including CR and LF)". The
/// grammar's `CHAR8 = %x01-ff` excludes NUL; binary data with NUL travels as a [`Literal8`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Literal {
    data: Vec<u8>,
    mode: LiteralMode,
}

impl Literal {
    /// Builds a literal; refuses NUL bytes.
    pub fn new(data: Vec<u8>, mode: LiteralMode) -> Result<Self, ValidationError> {
        if let Some(position) = memchr::memchr(0, &data) {
            return Err(ValidationError::InvalidByte { byte: 0, position });
        }
        Ok(Self { data, mode })
    }

    /// The literal's octets.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Synchronizing or not.
    pub fn mode(&self) -> LiteralMode {
        self.mode
    }

    pub(crate) fn unvalidated(data: Vec<u8>, mode: LiteralMode) -> Self {
        debug_assert!(memchr::memchr(0, &data).is_none());
        Self { data, mode }
    }
}

impl Encode for Literal {
    fn encode(&self, e: &mut Encoder) {
        e.literal(&self.data, self.mode, false);
    }
}

/// `literal8 = "~{" number64 ["+"] "}" CRLF *OCTET` (RFC 3516 BINARY, RFC 9051; `["+"]` from
/// RFC 4466 and RFC 7888): any octets, NUL included.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Literal8 {
    /// The octets.
    pub data: Vec<u8>,
    /// Synchronizing or not.
    pub mode: LiteralMode,
}

impl Encode for Literal8 {
    fn encode(&self, e: &mut Encoder) {
        e.literal(&self.data, self.mode, true);
    }
}

/// `string = quoted / literal`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IString {
    /// A quoted string.
    Quoted(Quoted),
    /// A literal.
    Literal(Literal),
}

impl IString {
    /// The content octets, whatever the representation.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            IString::Quoted(q) => q.0.as_bytes(),
            IString::Literal(l) => l.data(),
        }
    }

    /// Picks the plainest representation: quoted when possible, else a synchronizing literal.
    pub fn from_bytes(data: &[u8]) -> Result<Self, ValidationError> {
        if let Ok(text) = std::str::from_utf8(data)
            && let Ok(quoted) = Quoted::try_from(text)
        {
            return Ok(IString::Quoted(quoted));
        }
        Literal::new(data.to_vec(), LiteralMode::Sync).map(IString::Literal)
    }
}

impl Encode for IString {
    fn encode(&self, e: &mut Encoder) {
        match self {
            IString::Quoted(q) => q.encode(e),
            IString::Literal(l) => l.encode(e),
        }
    }
}

/// `astring = 1*ASTRING-CHAR / string`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AString {
    /// The bare form.
    Atom(AtomExt),
    /// A quoted string or literal.
    String(IString),
}

impl AString {
    /// The content octets, whatever the representation.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            AString::Atom(a) => a.0.as_bytes(),
            AString::String(s) => s.as_bytes(),
        }
    }

    /// Picks the plainest representation: bare, then quoted, then a synchronizing literal.
    pub fn from_bytes(data: &[u8]) -> Result<Self, ValidationError> {
        if let Ok(text) = std::str::from_utf8(data)
            && let Ok(atom) = AtomExt::try_from(text)
        {
            return Ok(AString::Atom(atom));
        }
        IString::from_bytes(data).map(AString::String)
    }
}

impl TryFrom<&str> for AString {
    type Error = ValidationError;

    fn try_from(value: &str) -> Result<Self, ValidationError> {
        Self::from_bytes(value.as_bytes())
    }
}

impl Encode for AString {
    fn encode(&self, e: &mut Encoder) {
        match self {
            AString::Atom(a) => a.encode(e),
            AString::String(s) => s.encode(e),
        }
    }
}

/// `nstring = string / nil`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NString(pub Option<IString>);

impl Encode for NString {
    fn encode(&self, e: &mut Encoder) {
        match &self.0 {
            Some(s) => s.encode(e),
            None => {
                e.bytes(b"NIL");
            }
        }
    }
}

/// The largest `number64`: RFC 9051 §9, "Unsigned 63-bit integer (0 <= n <=
/// 9,223,372,036,854,775,807)".
pub const NUMBER64_MAX: u64 = i64::MAX as u64;

/// `number64`: sizes, offsets and mod-sequences, at most [`NUMBER64_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Number64(u64);

impl Number64 {
    /// The value.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for Number64 {
    type Error = ValidationError;

    fn try_from(n: u64) -> Result<Self, ValidationError> {
        if n > NUMBER64_MAX {
            return Err(ValidationError::OutOfRange);
        }
        Ok(Self(n))
    }
}

impl Encode for Number64 {
    fn encode(&self, e: &mut Encoder) {
        e.number(self.0);
    }
}

/// `nz-number64` (and RFC 7162 `mod-sequence-value`): 1 to [`NUMBER64_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NzNumber64(std::num::NonZeroU64);

impl NzNumber64 {
    /// The value.
    pub fn get(self) -> u64 {
        self.0.get()
    }
}

impl TryFrom<u64> for NzNumber64 {
    type Error = ValidationError;

    fn try_from(n: u64) -> Result<Self, ValidationError> {
        match std::num::NonZeroU64::new(n) {
            Some(nz) if n <= NUMBER64_MAX => Ok(Self(nz)),
            _ => Err(ValidationError::OutOfRange),
        }
    }
}

impl Encode for NzNumber64 {
    fn encode(&self, e: &mut Encoder) {
        e.number(self.0.get());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::to_bytes;

    #[test]
    fn constructors_refuse_what_the_grammar_refuses() {
        assert_eq!(Atom::try_from(""), Err(ValidationError::Empty));
        assert!(Atom::try_from("a]").is_err());
        assert!(AtomExt::try_from("a]").is_ok());
        assert!(Tag::try_from("a+").is_err());
        assert!(Quoted::try_from("a\r\n").is_err());
        assert!(Literal::new(vec![0], LiteralMode::Sync).is_err());
    }

    #[test]
    fn astring_picks_the_plainest_form() {
        assert_eq!(to_bytes(&AString::try_from("INBOX").unwrap()), b"INBOX");
        assert_eq!(
            to_bytes(&AString::try_from("a b\"c\\").unwrap()),
            b"\"a b\\\"c\\\\\""
        );
        assert_eq!(
            to_bytes(&AString::try_from("a\r\nb").unwrap()),
            b"{4}\r\na\r\nb"
        );
    }
}
