//! [`UniqueId`]: the UIDL unique-id of a message.

use crate::error::ValidationError;

/// A message's unique-id as shown by `UIDL`.
///
/// RFC 1939 §7: "The unique-id of a message is an arbitrary server-determined string,
/// consisting of one to 70 characters in the range 0x21 to 0x7E, which uniquely identifies a
/// message within a maildrop and which persists across sessions."
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UniqueId(String);

impl UniqueId {
    /// Longest unique-id (RFC 1939 §7).
    pub const MAX_LEN: usize = 70;

    /// Checks `value` against RFC 1939 §7 without building a value.
    pub fn validate(value: &[u8]) -> Result<(), ValidationError> {
        if value.is_empty() || value.len() > Self::MAX_LEN {
            return Err(ValidationError::new(
                "unique-id",
                "must be 1 to 70 characters",
            ));
        }
        if !value.iter().all(|b| (0x21..=0x7e).contains(b)) {
            return Err(ValidationError::new(
                "unique-id",
                "characters must be in 0x21-0x7E",
            ));
        }
        Ok(())
    }
}

string_newtype!(UniqueId);

impl TryFrom<&[u8]> for UniqueId {
    type Error = ValidationError;

    fn try_from(value: &[u8]) -> Result<Self, Self::Error> {
        Self::validate(value)?;
        // Validated bytes are all ASCII, so this cannot lose anything.
        Ok(Self(String::from_utf8_lossy(value).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::UniqueId;

    #[test]
    fn boundaries() {
        assert!(UniqueId::try_from("a").is_ok());
        assert!(UniqueId::try_from("!~").is_ok());
        assert!(UniqueId::try_from("x".repeat(70).as_str()).is_ok());
        assert!(UniqueId::try_from("x".repeat(71).as_str()).is_err());
        assert!(UniqueId::try_from("").is_err());
        assert!(UniqueId::try_from("a b").is_err());
        assert!(UniqueId::try_from("a\u{7f}").is_err());
        assert!(UniqueId::try_from("é").is_err());
    }
}
