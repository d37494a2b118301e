//! Message flags: the five stored system flags and keywords (RFC 3501 §2.3.2).

use std::{collections::BTreeSet, fmt};

/// Longest keyword accepted, in bytes.
pub const MAX_KEYWORD_LEN: usize = 128;

/// A stored system flag. `\Recent` is per session, not stored, so it is not here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SystemFlag {
    /// `\Seen`
    Seen,
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Draft`
    Draft,
}

impl SystemFlag {
    /// Every stored system flag.
    pub const ALL: [Self; 5] = [
        Self::Seen,
        Self::Answered,
        Self::Flagged,
        Self::Deleted,
        Self::Draft,
    ];

    fn bit(self) -> u8 {
        match self {
            Self::Seen => 1,
            Self::Answered => 2,
            Self::Flagged => 4,
            Self::Deleted => 8,
            Self::Draft => 16,
        }
    }

    /// The IMAP spelling, e.g. `\Seen`.
    pub fn as_imap(self) -> &'static str {
        match self {
            Self::Seen => "\\Seen",
            Self::Answered => "\\Answered",
            Self::Flagged => "\\Flagged",
            Self::Deleted => "\\Deleted",
            Self::Draft => "\\Draft",
        }
    }
}

/// A keyword (user-defined flag). RFC 3501: `flag-keyword = atom`, and an atom has no
/// `( ) { SP CTL % * " \ ]`. Keyword text never becomes part of a file name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Keyword(String);

/// Why a keyword was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeywordError {
    /// Empty or longer than [`MAX_KEYWORD_LEN`].
    #[error("keyword must be 1 to {MAX_KEYWORD_LEN} bytes")]
    Length,
    /// Contains a byte that is not an IMAP atom character.
    #[error("keyword contains a character that is not an IMAP atom character")]
    Character,
}

impl Keyword {
    /// Validates `raw` as an IMAP atom.
    pub fn new(raw: &str) -> Result<Self, KeywordError> {
        if raw.is_empty() || raw.len() > MAX_KEYWORD_LEN {
            return Err(KeywordError::Length);
        }
        let atom_char = |b: u8| b > 0x20 && b < 0x7f && !b"(){%*\"\\]".contains(&b);
        if !raw.bytes().all(atom_char) {
            return Err(KeywordError::Character);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The keyword text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Keyword {
    type Error = KeywordError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The stored flags of one message: system flags plus keywords.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Flags {
    system: u8,
    keywords: BTreeSet<Keyword>,
}

impl Flags {
    /// No flags.
    pub fn new() -> Self {
        Self::default()
    }

    /// These flags plus `flag`.
    #[must_use]
    pub fn with(mut self, flag: SystemFlag) -> Self {
        self.insert(flag);
        self
    }

    /// These flags plus `keyword`.
    #[must_use]
    pub fn with_keyword(mut self, keyword: Keyword) -> Self {
        self.keywords.insert(keyword);
        self
    }

    /// Sets a system flag.
    pub fn insert(&mut self, flag: SystemFlag) {
        self.system |= flag.bit();
    }

    /// Clears a system flag.
    pub fn remove(&mut self, flag: SystemFlag) {
        self.system &= !flag.bit();
    }

    /// Adds a keyword.
    pub fn insert_keyword(&mut self, keyword: Keyword) {
        self.keywords.insert(keyword);
    }

    /// Whether a system flag is set.
    pub fn contains(&self, flag: SystemFlag) -> bool {
        self.system & flag.bit() != 0
    }

    /// Whether a keyword is set.
    pub fn contains_keyword(&self, keyword: &Keyword) -> bool {
        self.keywords.contains(keyword)
    }

    /// The system flags that are set, in [`SystemFlag::ALL`] order.
    pub fn system(&self) -> impl Iterator<Item = SystemFlag> + '_ {
        SystemFlag::ALL.into_iter().filter(|f| self.contains(*f))
    }

    /// The keywords, sorted.
    pub fn keywords(&self) -> impl Iterator<Item = &Keyword> + '_ {
        self.keywords.iter()
    }

    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self.system == 0 && self.keywords.is_empty()
    }

    /// The union of both sets.
    #[must_use]
    pub fn union(&self, other: &Self) -> Self {
        Self {
            system: self.system | other.system,
            keywords: self.keywords.union(&other.keywords).cloned().collect(),
        }
    }

    /// These flags without any in `other`.
    #[must_use]
    pub fn difference(&self, other: &Self) -> Self {
        Self {
            system: self.system & !other.system,
            keywords: self.keywords.difference(&other.keywords).cloned().collect(),
        }
    }
}

/// A STORE operation (RFC 3501 §6.4.6: `FLAGS`, `+FLAGS`, `-FLAGS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagChange {
    /// `+FLAGS`: add these.
    Add(Flags),
    /// `-FLAGS`: remove these.
    Remove(Flags),
    /// `FLAGS`: replace with exactly these.
    Replace(Flags),
}

impl FlagChange {
    /// The flags a message ends up with when this change is applied to `current`.
    pub fn apply(&self, current: &Flags) -> Flags {
        match self {
            Self::Add(f) => current.union(f),
            Self::Remove(f) => current.difference(f),
            Self::Replace(f) => f.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_known_answers() {
        for ok in ["$Forwarded", "Work", "$Label1", "a:b", "x/y", "$A,B"] {
            assert!(Keyword::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a b", "\\Seen", "a(b", "a]", "a*", "a%", "\"q\"", "a\u{1}", "é",
        ] {
            assert!(Keyword::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn change_apply() {
        let kw = Keyword::new("Work").unwrap(); // Unwrap: a valid atom.
        let cur = Flags::new().with(SystemFlag::Seen).with_keyword(kw.clone());
        let add = FlagChange::Add(Flags::new().with(SystemFlag::Deleted)).apply(&cur);
        assert!(add.contains(SystemFlag::Deleted) && add.contains(SystemFlag::Seen));
        let rm = FlagChange::Remove(Flags::new().with_keyword(kw.clone())).apply(&cur);
        assert!(!rm.contains_keyword(&kw) && rm.contains(SystemFlag::Seen));
        let rep = FlagChange::Replace(Flags::new()).apply(&cur);
        assert!(rep.is_empty());
    }
}
