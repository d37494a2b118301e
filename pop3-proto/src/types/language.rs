//! Language tags for `LANG` (RFC 6856 §3).

use crate::{error::ValidationError, types::Text};

/// A language tag (RFC 5646), checked for its outer syntax: 1 to 64 characters, subtags of 1
/// to 8 ASCII letters or digits separated by hyphens, the first all letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageTag(String);

impl LanguageTag {
    /// Checks `value` without building a value.
    pub fn validate(value: &[u8]) -> Result<(), ValidationError> {
        const WHAT: &str = "language tag";
        if value.is_empty() || value.len() > 64 {
            return Err(ValidationError::new(WHAT, "must be 1 to 64 characters"));
        }
        for (i, sub) in value.split(|&b| b == b'-').enumerate() {
            if sub.is_empty() || sub.len() > 8 {
                return Err(ValidationError::new(WHAT, "subtags are 1 to 8 characters"));
            }
            let ok = if i == 0 {
                sub.iter().all(u8::is_ascii_alphabetic)
            } else {
                sub.iter().all(u8::is_ascii_alphanumeric)
            };
            if !ok {
                return Err(ValidationError::new(
                    WHAT,
                    "subtags are ASCII letters and digits",
                ));
            }
        }
        Ok(())
    }
}

string_newtype!(LanguageTag);

/// The argument of `LANG` (RFC 6856 §3: `LANG [lang-or-wild]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LangRequest {
    /// Switch to this language.
    Tag(LanguageTag),
    /// `*`: the server picks its default from the client's context.
    Wildcard,
}

/// One line of the `LANG` listing: a tag and a description in that language.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Language {
    tag: LanguageTag,
    description: Text,
}

impl Language {
    /// A listing line.
    pub fn new(tag: LanguageTag, description: Text) -> Self {
        Self { tag, description }
    }

    /// The tag.
    pub fn tag(&self) -> &LanguageTag {
        &self.tag
    }

    /// The description.
    pub fn description(&self) -> &Text {
        &self.description
    }
}
