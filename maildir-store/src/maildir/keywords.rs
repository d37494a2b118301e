//! `dovecot-keywords`: which keyword each file-name letter `a`–`z` stands for.
//!
//! ```text
//! 0 $Label1
//! 1 Work
//! ```
//! Line `<index> <keyword>`; index 0 is letter `a`. Slots are never reused while the mailbox
//! lives, so a letter in an old file name keeps its meaning.

use crate::types::Keyword;

/// Letters available for keywords.
pub(crate) const SLOTS: usize = 26;

/// The slot table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeywordTable {
    slots: Vec<Option<Keyword>>,
}

impl KeywordTable {
    /// Parses the file, skipping lines it cannot use (Dovecot does the same).
    pub(crate) fn parse(text: &str) -> Self {
        let mut table = Self::default();
        for line in text.lines() {
            let Some((idx, name)) = line.split_once(' ') else {
                continue;
            };
            let (Ok(idx), Ok(kw)) = (idx.parse::<usize>(), Keyword::new(name)) else {
                continue;
            };
            if idx < SLOTS && table.letter_of(&kw).is_none() {
                if table.slots.len() <= idx {
                    table.slots.resize(idx + 1, None);
                }
                if let Some(slot) = table.slots.get_mut(idx) {
                    *slot = Some(kw);
                }
            }
        }
        table
    }

    /// The file contents.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        for (i, slot) in self.slots.iter().enumerate() {
            if let Some(kw) = slot {
                out.push_str(&format!("{i} {kw}\n"));
            }
        }
        out
    }

    /// The keyword behind a letter.
    pub(crate) fn keyword(&self, letter: u8) -> Option<&Keyword> {
        let idx = usize::from(letter.checked_sub(b'a')?);
        self.slots.get(idx)?.as_ref()
    }

    /// The letter of a keyword already in the table.
    pub(crate) fn letter_of(&self, kw: &Keyword) -> Option<u8> {
        let idx = self.slots.iter().position(|s| s.as_ref() == Some(kw))?;
        u8::try_from(idx).ok().map(|i| b'a' + i)
    }

    /// The letter for a keyword, adding it to a free slot if needed; `None` when full.
    pub(crate) fn letter_or_insert(&mut self, kw: &Keyword) -> Option<u8> {
        if let Some(l) = self.letter_of(kw) {
            return Some(l);
        }
        let idx = match self.slots.iter().position(Option::is_none) {
            Some(free) => free,
            None if self.slots.len() < SLOTS => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return None,
        };
        if let Some(slot) = self.slots.get_mut(idx) {
            *slot = Some(kw.clone());
        }
        u8::try_from(idx).ok().map(|i| b'a' + i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(s: &str) -> Keyword {
        Keyword::new(s).unwrap() // Unwrap: valid test keywords.
    }

    #[test]
    fn dovecot_file_round_trip() {
        let t = KeywordTable::parse("0 $Label1\n1 Work\n2 $Other\n");
        assert_eq!(t.keyword(b'b'), Some(&kw("Work")));
        assert_eq!(t.letter_of(&kw("$Other")), Some(b'c'));
        assert_eq!(t.to_text(), "0 $Label1\n1 Work\n2 $Other\n");
        let gaps = KeywordTable::parse("3 Late\nbad line\n99 Far\n1 Work\n");
        assert_eq!(gaps.keyword(b'd'), Some(&kw("Late")));
        assert_eq!(gaps.keyword(b'a'), None);
    }

    #[test]
    fn fills_slots_then_refuses() {
        let mut t = KeywordTable::default();
        for i in 0..SLOTS {
            assert!(t.letter_or_insert(&kw(&format!("k{i}"))).is_some());
        }
        assert_eq!(t.letter_or_insert(&kw("k0")), Some(b'a'));
        assert_eq!(t.letter_or_insert(&kw("extra")), None);
    }
}
