//! Maildir file names: `unique[,S=size][,W=vsize][:2,FLAGS]` (<https://cr.yp.to/proto/maildir.html>
//! and Dovecot's extensions). Pure parsing and formatting, no IO.

use crate::types::{Flags, SystemFlag};

/// What a file name says about a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedName<'a> {
    /// Everything before `:` — stable across flag changes; what `dovecot-uidlist` records.
    pub(crate) base: &'a str,
    /// System flags from the `:2,` info.
    pub(crate) flags: Flags,
    /// Keyword letters `a`–`z` (index into `dovecot-keywords`), sorted.
    pub(crate) keyword_letters: Vec<u8>,
    /// Other info letters we do not interpret (kept on rename, e.g. `P` for passed).
    pub(crate) other_letters: Vec<u8>,
    /// `,S=` physical size, when present.
    pub(crate) size: Option<u64>,
}

/// The info letter for a system flag (maildir spec: "Flag "R": replied", "S": seen, "T":
/// trashed, "D": draft, "F": flagged).
fn letter(flag: SystemFlag) -> u8 {
    match flag {
        SystemFlag::Answered => b'R',
        SystemFlag::Seen => b'S',
        SystemFlag::Deleted => b'T',
        SystemFlag::Draft => b'D',
        SystemFlag::Flagged => b'F',
    }
}

fn flag_of(letter: u8) -> Option<SystemFlag> {
    SystemFlag::ALL
        .into_iter()
        .find(|f| self::letter(*f) == letter)
}

/// Parses any file name found in `cur/` or `new/`. `None` for names Maildir forbids:
/// empty, starting with `.`, or containing `/`.
pub(crate) fn parse(name: &str) -> Option<ParsedName<'_>> {
    if name.is_empty() || name.starts_with('.') || name.contains('/') {
        return None;
    }
    let (base, info) = match name.split_once(':') {
        Some((b, i)) => (b, Some(i)),
        None => (name, None),
    };
    if base.is_empty() {
        return None;
    }
    let mut parsed = ParsedName {
        base,
        flags: Flags::new(),
        keyword_letters: Vec::new(),
        other_letters: Vec::new(),
        size: field(base, "S"),
    };
    // Only "2," info carries flags; "1," (experimental) and anything else is ignored.
    if let Some(letters) = info.and_then(|i| i.strip_prefix("2,")) {
        for &b in letters.as_bytes() {
            if let Some(f) = flag_of(b) {
                parsed.flags.insert(f);
            } else if b.is_ascii_lowercase() {
                parsed.keyword_letters.push(b);
            } else if b.is_ascii_graphic() && b != b',' {
                parsed.other_letters.push(b);
            }
        }
        parsed.keyword_letters.sort_unstable();
        parsed.keyword_letters.dedup();
        parsed.other_letters.sort_unstable();
        parsed.other_letters.dedup();
    }
    Some(parsed)
}

/// Reads a `,KEY=digits` field from the base name.
pub(crate) fn field(base: &str, key: &str) -> Option<u64> {
    base.split(',').skip(1).find_map(|part| {
        let value = part.strip_prefix(key)?.strip_prefix('=')?;
        value.parse().ok()
    })
}

/// The full file name for `base` with these flags, keyword letters and preserved letters,
/// all in ASCII order as Dovecot writes them.
pub(crate) fn format(base: &str, flags: &Flags, keyword_letters: &[u8], other: &[u8]) -> String {
    let mut letters: Vec<u8> = flags.system().map(letter).collect();
    letters.extend_from_slice(other);
    letters.extend_from_slice(keyword_letters);
    letters.sort_unstable();
    letters.dedup();
    let mut out = String::with_capacity(base.len() + 3 + letters.len());
    out.push_str(base);
    out.push_str(":2,");
    out.extend(letters.into_iter().map(char::from));
    out
}

/// A new unique base name. The maildir spec's `time.MusecPpid` plus a per-process counter,
/// our UID marker `U<uid>V<uidvalidity>` (so a UID survives a lost `dovecot-uidlist` line),
/// the host (with `/` and `:` escaped as the spec says), and Dovecot's `,S=` and `,W=` sizes.
pub(crate) fn unique_base(p: &UniqueParts<'_>) -> String {
    let host = p.host.replace('/', "\\057").replace(':', "\\072");
    let mut out = format!("{}.M{}P{}Q{}", p.secs, p.micros, p.pid, p.counter);
    if let Some((uid, validity)) = p.marker {
        out.push_str(&format!("U{uid}V{validity}"));
    }
    out.push('.');
    out.push_str(&host);
    out.push_str(&format!(",S={},W={}", p.size, p.vsize));
    out
}

/// Inputs of [`unique_base`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct UniqueParts<'a> {
    pub(crate) secs: u64,
    pub(crate) micros: u32,
    pub(crate) pid: u32,
    pub(crate) counter: u64,
    pub(crate) marker: Option<(u32, u32)>,
    pub(crate) host: &'a str,
    pub(crate) size: u64,
    pub(crate) vsize: u64,
}

/// The `(uid, uidvalidity)` marker in a base name we wrote, if any.
pub(crate) fn marker(base: &str) -> Option<(u32, u32)> {
    let middle = base.split('.').nth(1)?;
    let (rest, validity) = middle.rsplit_once('V')?;
    let (_, uid) = rest.rsplit_once('U')?;
    Some((uid.parse().ok()?, validity.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dovecot_names() {
        let p = parse("1795911967.M166100P12084.vm,S=18,W=21:2,STabc").unwrap(); // Unwrap: valid.
        assert_eq!(p.base, "1795911967.M166100P12084.vm,S=18,W=21");
        assert!(p.flags.contains(SystemFlag::Seen) && p.flags.contains(SystemFlag::Deleted));
        assert_eq!(p.keyword_letters, b"abc");
        assert_eq!(p.size, Some(18));
        assert_eq!(field(p.base, "W"), Some(21));
        let q = parse("1795911967.M1P2.vm:2,").unwrap(); // Unwrap: valid.
        assert!(q.flags.is_empty() && q.size.is_none());
        let n = parse("123.abc.host").unwrap(); // Unwrap: valid.
        assert_eq!(n.base, "123.abc.host");
        let o = parse("1.2.h:2,PS").unwrap(); // Unwrap: valid.
        assert_eq!(o.other_letters, b"P");
        for bad in ["", ".hidden", ":2,S", "a/b"] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn formats_in_ascii_order() {
        let flags = Flags::new()
            .with(SystemFlag::Seen)
            .with(SystemFlag::Answered)
            .with(SystemFlag::Draft);
        assert_eq!(format("b", &flags, b"ca", b"P"), "b:2,DPRSac");
        assert_eq!(format("b", &Flags::new(), b"", b""), "b:2,");
    }

    #[test]
    fn unique_names_carry_the_marker() {
        let parts = UniqueParts {
            secs: 1_700_000_000,
            micros: 12,
            pid: 34,
            counter: 5,
            marker: Some((7, 99)),
            host: "mx/1:2",
            size: 10,
            vsize: 12,
        };
        let base = unique_base(&parts);
        assert_eq!(base, "1700000000.M12P34Q5U7V99.mx\\0571\\0722,S=10,W=12");
        assert_eq!(marker(&base), Some((7, 99)));
        assert_eq!(field(&base, "S"), Some(10));
        assert_eq!(marker("1795911967.M166100P12084.vm,S=18"), None);
    }
}
