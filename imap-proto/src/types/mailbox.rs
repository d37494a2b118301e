//! Mailbox names (RFC 3501 §5.1).

use crate::{
    encode::{Encode, Encoder},
    error::ValidationError,
    mutf7,
    types::{core::AString, small_str::SmallStr},
};

/// `mailbox = "INBOX" / astring`, held as the decoded Unicode name.
///
/// RFC 3501 §5.1: "The case-insensitive mailbox name INBOX is a special name reserved to mean
/// "the primary mailbox for this user on this server"", so every spelling of it is
/// [`Mailbox::Inbox`]. Other names are decoded from modified UTF-7 (§5.1.3); non-canonical
/// spellings are refused, so one name has one wire form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mailbox {
    /// The user's INBOX, in any letter case.
    Inbox,
    /// Any other mailbox, by its Unicode name.
    Other(MailboxName),
}

/// A mailbox name other than INBOX; names up to 22 bytes are held without a heap
/// allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MailboxName(SmallStr);

impl MailboxName {
    /// The Unicode name.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl Mailbox {
    /// The Unicode name, `INBOX` for the inbox.
    pub fn name(&self) -> &str {
        match self {
            Mailbox::Inbox => "INBOX",
            Mailbox::Other(name) => name.as_str(),
        }
    }

    /// Builds a mailbox from its wire bytes (the content of the `astring`) in a session
    /// without UTF8=ACCEPT: modified UTF-7, which is printable ASCII.
    ///
    /// RFC 3501 §5.1.3: "By convention, international mailbox names in IMAP4rev1 are specified
    /// using a modified version of the UTF-7 encoding", so octets with the high bit set are
    /// refused here; they are valid only once UTF8=ACCEPT is enabled
    /// ([`Mailbox::from_utf8_wire`]).
    pub fn from_wire(bytes: &[u8]) -> Result<Self, ValidationError> {
        if bytes.eq_ignore_ascii_case(b"INBOX") {
            return Ok(Mailbox::Inbox);
        }
        let plain = bytes
            .iter()
            .all(|b| (0x20..=0x7e).contains(b) && *b != b'&');
        let name = if plain {
            // Printable ASCII without "&" is its own canonical modified UTF-7.
            SmallStr::from_ascii(bytes)
        } else if bytes.is_ascii() {
            SmallStr::from_string(mutf7::decode(bytes)?)
        } else {
            return Err(ValidationError::InvalidMutf7);
        };
        Self::checked(name)
    }

    /// Builds a mailbox from its wire bytes in a session where UTF8=ACCEPT (RFC 6855) is
    /// enabled: the name is plain UTF-8 and `&` stands for itself.
    ///
    /// RFC 6855 §3: "All IMAP servers that support "UTF8=ACCEPT" SHOULD accept UTF-8 in
    /// mailbox names"; the names must still be Net-Unicode (see [`Mailbox::try_from`]).
    pub fn from_utf8_wire(bytes: &[u8]) -> Result<Self, ValidationError> {
        let text = std::str::from_utf8(bytes).map_err(|_| ValidationError::InvalidMutf7)?;
        Self::try_from(text)
    }

    /// Builds a mailbox from wire bytes whose dialect is unknown (a client reading a server
    /// that may have UTF8=ACCEPT enabled): canonical modified UTF-7 when it decodes as such,
    /// else UTF-8.
    pub fn from_any_wire(bytes: &[u8]) -> Result<Self, ValidationError> {
        Self::from_wire(bytes).or_else(|_| Self::from_utf8_wire(bytes))
    }

    fn checked(name: SmallStr) -> Result<Self, ValidationError> {
        let text = name.as_str();
        match text.char_indices().find(|(_, c)| is_forbidden_in_name(*c)) {
            Some((position, _)) => Err(ValidationError::InvalidByte {
                // position is a char boundary inside text.
                byte: text.as_bytes().get(position).copied().unwrap_or_default(),
                position,
            }),
            None => Ok(Mailbox::Other(MailboxName(name))),
        }
    }

    /// The wire form: modified UTF-7 as an atom or quoted string.
    pub fn to_astring(&self) -> AString {
        self.to_astring_in(false)
    }

    /// The wire form for a session with UTF8=ACCEPT enabled (`utf8_accept`): the UTF-8 name
    /// itself, as an atom or quoted string; without it, modified UTF-7.
    pub fn to_astring_in(&self, utf8_accept: bool) -> AString {
        let wire = if utf8_accept {
            std::borrow::Cow::Borrowed(self.name())
        } else {
            std::borrow::Cow::Owned(mutf7::encode(self.name()))
        };
        // Modified UTF-7 is printable ASCII, which a quoted string can always hold; a UTF-8
        // name holds no control character (Mailbox is checked on construction), which a
        // quoted string can hold too, else it falls back to a literal.
        AString::from_bytes(wire.as_bytes())
            .unwrap_or_else(|_| unreachable!("a mailbox name has no NUL"))
    }
}

/// RFC 6855 §3: "Mailbox names MUST comply with the Net-Unicode Definition ([RFC5198],
/// Section 2) with the specific exception that they MUST NOT contain control characters
/// (U+0000-U+001F and U+0080-U+009F), a delete character (U+007F), a line separator (U+2028),
/// or a paragraph separator (U+2029)." Applied to every name, whatever its wire form, so a
/// name valid in one dialect is valid in the other.
fn is_forbidden_in_name(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

impl TryFrom<&str> for Mailbox {
    type Error = ValidationError;

    /// Builds a mailbox from its Unicode name; `INBOX` in any case is the inbox. Names with
    /// control characters, U+2028 or U+2029 are refused (RFC 6855 §3, see above).
    fn try_from(name: &str) -> Result<Self, ValidationError> {
        if name.eq_ignore_ascii_case("INBOX") {
            return Ok(Mailbox::Inbox);
        }
        Self::checked(SmallStr::new(name))
    }
}

impl Encode for Mailbox {
    fn encode(&self, e: &mut Encoder) {
        self.to_astring_in(e.utf8_accept()).encode(e);
    }
}
