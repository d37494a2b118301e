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

    /// Builds a mailbox from its wire bytes (the content of the `astring`).
    ///
    /// ASCII bytes are modified UTF-7; bytes with the high bit set are taken as UTF-8, which
    /// RFC 6855 (UTF8=ACCEPT) allows.
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
            SmallStr::new(std::str::from_utf8(bytes).map_err(|_| ValidationError::InvalidMutf7)?)
        };
        Ok(Mailbox::Other(MailboxName(name)))
    }

    /// The wire form: modified UTF-7 as an atom or quoted string.
    pub fn to_astring(&self) -> AString {
        let wire = mutf7::encode(self.name());
        // Modified UTF-7 is printable ASCII, which a quoted string can always hold.
        AString::from_bytes(wire.as_bytes())
            .unwrap_or_else(|_| unreachable!("printable ASCII fits in a quoted string"))
    }
}

impl TryFrom<&str> for Mailbox {
    type Error = ValidationError;

    /// Builds a mailbox from its Unicode name; `INBOX` in any case is the inbox.
    fn try_from(name: &str) -> Result<Self, ValidationError> {
        if name.eq_ignore_ascii_case("INBOX") {
            return Ok(Mailbox::Inbox);
        }
        if name.contains('\0') {
            return Err(ValidationError::InvalidByte {
                byte: 0,
                position: 0,
            });
        }
        Ok(Mailbox::Other(MailboxName(SmallStr::new(name))))
    }
}

impl Encode for Mailbox {
    fn encode(&self, e: &mut Encoder) {
        self.to_astring().encode(e);
    }
}
