//! `MailboxName`: a mailbox path that can never leave the user's tree and has one spelling.
//!
//! The protocol layer decodes modified UTF-7 (RFC 3501 §5.1.3) first and hands us Unicode;
//! the hierarchy separator is `/`. The rules follow Dovecot's `mailbox_list_validate_fs_names`
//! plus what Maildir++ needs: because Maildir++ joins levels with `.` on disk, a `.` inside a
//! level would alias (`a.b` and `a/b` would share `.a.b`), so it is refused (THREATS IMAP-08).

use std::fmt;

/// The hierarchy separator in names.
pub const SEPARATOR: char = '/';
/// Longest name accepted, in UTF-8 bytes.
pub const MAX_NAME_LEN: usize = 200;
/// Most hierarchy levels accepted.
pub const MAX_DEPTH: usize = 16;

/// A validated mailbox name, e.g. `INBOX`, `Sent` or `Archive/2024`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MailboxName(String);

/// Why a mailbox name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Empty, or longer than [`MAX_NAME_LEN`] bytes.
    #[error("name must be 1 to {MAX_NAME_LEN} bytes")]
    Length,
    /// More than [`MAX_DEPTH`] levels.
    #[error("name has more than {MAX_DEPTH} levels")]
    TooDeep,
    /// A leading or trailing `/`, or `//`.
    #[error("empty hierarchy level")]
    EmptyLevel,
    /// A `.` or `..` level.
    #[error("'.' and '..' are not mailbox names")]
    DotLevel,
    /// A level that starts with `~` or `.`.
    #[error("a level must not start with '~' or '.'")]
    Leading,
    /// A control character, or one of `. \ : * %`.
    #[error("name contains a character that is not allowed")]
    Character,
    /// A level that is a Maildir directory or control file name (`cur`, `new`, `tmp`, ...).
    #[error("name collides with a Maildir directory or control file")]
    Reserved,
}

impl MailboxName {
    /// Validates `raw`. A first level spelled `inbox` in any case becomes `INBOX`
    /// (RFC 3501 §5.1: "The case-insensitive mailbox name INBOX is a special name").
    pub fn new(raw: &str) -> Result<Self, NameError> {
        if raw.is_empty() || raw.len() > MAX_NAME_LEN {
            return Err(NameError::Length);
        }
        let mut out = String::with_capacity(raw.len());
        for (depth, level) in raw.split(SEPARATOR).enumerate() {
            if depth >= MAX_DEPTH {
                return Err(NameError::TooDeep);
            }
            validate_level(level)?;
            if depth == 0 {
                if level.eq_ignore_ascii_case("INBOX") {
                    out.push_str("INBOX");
                } else {
                    out.push_str(level);
                }
            } else {
                out.push(SEPARATOR);
                out.push_str(level);
            }
        }
        Ok(Self(out))
    }

    /// `INBOX`.
    pub fn inbox() -> Self {
        Self("INBOX".to_owned())
    }

    /// True for `INBOX` itself (not its children).
    pub fn is_inbox(&self) -> bool {
        self.0 == "INBOX"
    }

    /// The canonical spelling.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hierarchy levels, outermost first.
    pub fn levels(&self) -> impl Iterator<Item = &str> {
        self.0.split(SEPARATOR)
    }

    /// The parent mailbox, if this is not a top-level name.
    pub fn parent(&self) -> Option<Self> {
        self.0
            .rsplit_once(SEPARATOR)
            .map(|(p, _)| Self(p.to_owned()))
    }

    /// True when `self` is strictly below `ancestor` (a level-wise prefix: `a/bc` is not below
    /// `a/b`, the mistake behind CVE-2022-22931).
    pub fn is_below(&self, ancestor: &Self) -> bool {
        self.0
            .strip_prefix(ancestor.as_str())
            .is_some_and(|rest| rest.starts_with(SEPARATOR))
    }

    /// This name with the prefix `from` replaced by `to` (for renaming a subtree).
    pub fn rebase(&self, from: &Self, to: &Self) -> Option<Self> {
        if self == from {
            return Some(to.clone());
        }
        let rest = self
            .0
            .strip_prefix(from.as_str())?
            .strip_prefix(SEPARATOR)?;
        Self::new(&format!("{}{SEPARATOR}{rest}", to.as_str())).ok()
    }
}

fn validate_level(level: &str) -> Result<(), NameError> {
    if level.is_empty() {
        return Err(NameError::EmptyLevel);
    }
    if level == "." || level == ".." {
        return Err(NameError::DotLevel);
    }
    if level.starts_with('~') || level.starts_with('.') {
        return Err(NameError::Leading);
    }
    let bad = |c: char| c.is_control() || matches!(c, '.' | '\\' | ':' | '*' | '%');
    if level.chars().any(bad) {
        return Err(NameError::Character);
    }
    let lower = level.to_ascii_lowercase();
    let reserved = matches!(
        lower.as_str(),
        "cur" | "new" | "tmp" | "subscriptions" | "maildirfolder"
    ) || lower.starts_with("dovecot")
        || lower.starts_with("gradwell");
    if reserved {
        return Err(NameError::Reserved);
    }
    Ok(())
}

impl TryFrom<&str> for MailboxName {
    type Error = NameError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl fmt::Display for MailboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        use NameError::*;
        let table: &[(&str, Result<&str, NameError>)] = &[
            ("INBOX", Ok("INBOX")),
            ("inbox", Ok("INBOX")),
            ("InBoX/Child", Ok("INBOX/Child")),
            ("Sent", Ok("Sent")),
            ("Archive/2024", Ok("Archive/2024")),
            ("Bücher", Ok("Bücher")),
            ("a&b", Ok("a&b")),
            ("", Err(Length)),
            ("../x", Err(DotLevel)),
            ("..", Err(DotLevel)),
            (".", Err(DotLevel)),
            ("a/../../x", Err(DotLevel)),
            ("/etc", Err(EmptyLevel)),
            ("a/", Err(EmptyLevel)),
            ("a//b", Err(EmptyLevel)),
            ("~root", Err(Leading)),
            ("INBOX/../..", Err(DotLevel)),
            ("cur", Err(Reserved)),
            ("INBOX/tmp", Err(Reserved)),
            ("NEW", Err(Reserved)),
            ("dovecot-uidlist", Err(Reserved)),
            ("gradwell-modseq", Err(Reserved)),
            ("a:2,S", Err(Character)),
            ("a\\b", Err(Character)),
            (".hidden", Err(Leading)),
            ("a.b", Err(Character)),
            ("a\0b", Err(Character)),
            ("a\r\nb", Err(Character)),
            ("a*", Err(Character)),
        ];
        for (raw, want) in table {
            let got = MailboxName::new(raw);
            assert_eq!(
                got.as_ref().map(MailboxName::as_str),
                want.as_ref().map(|s| *s),
                "{raw:?}"
            );
        }
        assert_eq!(MailboxName::new(&"a".repeat(300)), Err(Length));
        assert_eq!(MailboxName::new(&["a"; 17].join("/")), Err(TooDeep));
    }

    #[test]
    fn prefix_is_level_wise() {
        let ab = MailboxName::new("a/b").unwrap(); // Unwrap: valid literal.
        let abc = MailboxName::new("a/bc").unwrap(); // Unwrap: valid literal.
        let abx = MailboxName::new("a/b/x").unwrap(); // Unwrap: valid literal.
        assert!(!abc.is_below(&ab));
        assert!(abx.is_below(&ab));
        assert!(!ab.is_below(&ab));
        let to = MailboxName::new("z").unwrap(); // Unwrap: valid literal.
        assert_eq!(abx.rebase(&ab, &to).unwrap().as_str(), "z/x");
        assert!(abc.rebase(&ab, &to).is_none());
    }
}
