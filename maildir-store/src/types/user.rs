//! The owner of a mailbox tree.

use std::fmt;

/// Longest user id accepted, in bytes (the local part plus domain of an address fits).
pub const MAX_USER_ID_LEN: usize = 128;

/// A validated user id. It becomes one directory name under a replica root, so it can never
/// contain a separator, start with a dot, or be empty; ASCII letters are folded to lower case
/// so one user has one spelling (and one directory).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(String);

/// Why a user id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserIdError {
    /// Empty, or longer than [`MAX_USER_ID_LEN`].
    #[error("user id must be 1 to {MAX_USER_ID_LEN} bytes")]
    Length,
    /// A byte outside `A-Z a-z 0-9 . _ - + @`.
    #[error("user id contains a character that is not allowed")]
    Character,
    /// Starts with `.` (hidden, `.` or `..`) or `-` (option-like).
    #[error("user id must not start with '.' or '-'")]
    Leading,
}

impl UserId {
    /// Validates and normalises `raw`.
    pub fn new(raw: &str) -> Result<Self, UserIdError> {
        if raw.is_empty() || raw.len() > MAX_USER_ID_LEN {
            return Err(UserIdError::Length);
        }
        if raw.starts_with('.') || raw.starts_with('-') {
            return Err(UserIdError::Leading);
        }
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b"._-+@".contains(&b);
        if !raw.bytes().all(allowed) {
            return Err(UserIdError::Character);
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    /// The normalised id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for UserId {
    type Error = UserIdError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let table: &[(&str, Result<&str, UserIdError>)] = &[
            ("bob", Ok("bob")),
            ("Bob@Example.COM", Ok("bob@example.com")),
            ("a.b+tag", Ok("a.b+tag")),
            ("", Err(UserIdError::Length)),
            ("..", Err(UserIdError::Leading)),
            (".hidden", Err(UserIdError::Leading)),
            ("-rf", Err(UserIdError::Leading)),
            ("../bob", Err(UserIdError::Leading)),
            ("a/b", Err(UserIdError::Character)),
            ("a\0b", Err(UserIdError::Character)),
            ("a b", Err(UserIdError::Character)),
            ("~root", Err(UserIdError::Character)),
        ];
        for (raw, want) in table {
            let got = UserId::new(raw);
            assert_eq!(
                got.as_ref().map(UserId::as_str),
                want.as_ref().copied(),
                "{raw:?}"
            );
        }
        assert!(UserId::new(&"a".repeat(MAX_USER_ID_LEN + 1)).is_err());
    }
}
