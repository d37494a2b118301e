//! Short text kept inline: most tags, atoms and quoted strings in IMAP traffic are a few
//! bytes, and storing them without a heap allocation is most of the decoder's speed.

use std::{fmt, hash};

/// Bytes that fit inline.
const INLINE: usize = 22;

/// Immutable UTF-8 text; up to 22 bytes without allocating.
#[derive(Clone)]
pub(crate) enum SmallStr {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<str>),
}

impl SmallStr {
    pub(crate) fn new(text: &str) -> Self {
        Self::inline(text.as_bytes()).unwrap_or_else(|| SmallStr::Heap(text.into()))
    }

    /// Text the caller has checked to be ASCII (so valid UTF-8) is copied without a
    /// second UTF-8 check.
    pub(crate) fn from_ascii(bytes: &[u8]) -> Self {
        debug_assert!(bytes.is_ascii());
        Self::inline(bytes).unwrap_or_else(|| match std::str::from_utf8(bytes) {
            Ok(text) => SmallStr::Heap(text.into()),
            // ASCII is UTF-8: not taken.
            Err(_) => SmallStr::Heap(String::from_utf8_lossy(bytes).into()),
        })
    }

    /// `bytes` (which must be UTF-8) stored inline, if they fit. The copy is done as two
    /// overlapping fixed-size moves instead of a `memcpy` call of variable length: short
    /// strings are the most common value the decoder builds.
    fn inline(bytes: &[u8]) -> Option<Self> {
        let len = bytes.len();
        let mut buf = [0u8; INLINE];
        match len {
            0 => {}
            1..=3 => {
                for (d, s) in buf.iter_mut().zip(bytes) {
                    *d = *s;
                }
            }
            4..=7 => overlapping::<4>(&mut buf, bytes),
            8..=15 => overlapping::<8>(&mut buf, bytes),
            16..=INLINE => overlapping::<16>(&mut buf, bytes),
            _ => return None,
        }
        // len <= INLINE = 22, which fits u8.
        Some(SmallStr::Inline {
            len: len as u8,
            buf,
        })
    }

    pub(crate) fn from_string(text: String) -> Self {
        if text.len() <= INLINE {
            Self::new(&text)
        } else {
            SmallStr::Heap(text.into_boxed_str())
        }
    }

    /// The bytes, without the UTF-8 check `as_str` needs; for encoders.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            SmallStr::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or_default(),
            SmallStr::Heap(text) => text.as_bytes(),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Inline bytes were copied from a &str, so they are UTF-8; the fallback is never
            // taken.
            SmallStr::Inline { len, buf } => buf
                .get(..usize::from(*len))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
            SmallStr::Heap(text) => text,
        }
    }
}

/// Copies `src` (`N <= src.len() <= 2 * N`, and no longer than `dest`) as its first and
/// its last `N` octets, which overlap in the middle.
fn overlapping<const N: usize>(dest: &mut [u8; INLINE], src: &[u8]) {
    let len = src.len();
    let tail = len.saturating_sub(N);
    if let (Some(d), Some(s)) = (dest.get_mut(..N), src.get(..N)) {
        d.copy_from_slice(s);
    }
    if let (Some(d), Some(s)) = (dest.get_mut(tail..len), src.get(tail..)) {
        d.copy_from_slice(s);
    }
}

impl PartialEq for SmallStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SmallStr {}

impl hash::Hash for SmallStr {
    fn hash<H: hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for SmallStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_text_read_back() {
        for text in [
            "",
            "INBOX",
            "exactly twenty-two b..",
            "a longer text that needs the heap",
        ] {
            assert_eq!(SmallStr::new(text).as_str(), text);
            assert_eq!(SmallStr::from_string(text.to_owned()).as_str(), text);
        }
        assert!(matches!(
            SmallStr::new("1234567890123456789012"),
            SmallStr::Inline { .. }
        ));
        assert!(matches!(
            SmallStr::new("12345678901234567890123"),
            SmallStr::Heap(_)
        ));
        assert_eq!(SmallStr::new("é"), SmallStr::from_string("é".to_owned()));
        for text in ["", "INBOX", "a longer ASCII text that needs the heap"] {
            assert_eq!(SmallStr::from_ascii(text.as_bytes()), SmallStr::new(text));
        }
        // Every length, across the overlapping-copy size classes.
        let long = "abcdefghijklmnopqrstuvwxyz0123456789";
        for len in 0..=long.len() {
            assert_eq!(SmallStr::new(&long[..len]).as_str(), &long[..len]);
            assert_eq!(
                SmallStr::from_ascii(&long.as_bytes()[..len]).as_str(),
                &long[..len]
            );
        }
    }
}
