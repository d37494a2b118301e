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

    /// `bytes` (which must be UTF-8) stored inline, if they fit. The octets are gathered
    /// into two integers with at most two overlapping loads per size class and written out
    /// whole: building the buffer from small stores and then moving it with wide loads
    /// stalls store-to-load forwarding, which made this copy the decoder's hottest spot.
    fn inline(bytes: &[u8]) -> Option<Self> {
        let len = bytes.len();
        // Octets 0..16 and 16..22 of the buffer, little-endian.
        let (lo, hi): (u128, u64) = match len {
            0 => (0, 0),
            1..=3 => {
                // First, middle and last octet cover every position of 1 to 3.
                let at = |i: usize| u128::from(bytes.get(i).copied().unwrap_or(0)) << (8 * i);
                (at(0) | at(len / 2) | at(len - 1), 0)
            }
            4..=7 => {
                let (a, b) = (load::<4>(bytes, 0), load::<4>(bytes, len - 4));
                let word = u32::from_le_bytes(a) as u128
                    | (u32::from_le_bytes(b) as u128) << (8 * (len - 4));
                (word, 0)
            }
            8..=15 => {
                let (a, b) = (load::<8>(bytes, 0), load::<8>(bytes, len - 8));
                let word = u64::from_le_bytes(a) as u128
                    | (u64::from_le_bytes(b) as u128) << (8 * (len - 8));
                (word, 0)
            }
            16..=INLINE => {
                let tail = u64::from_le_bytes(load::<8>(bytes, len - 8));
                // The tail's last `len - 16` octets are octets 16.. of the text; none when
                // len is 16 (a shift by 64, which `checked_shr` turns into 0).
                let hi = tail.checked_shr(8 * (24 - len as u32)).unwrap_or(0);
                (u128::from_le_bytes(load::<16>(bytes, 0)), hi)
            }
            _ => return None,
        };
        let (lo, hi) = (lo.to_le_bytes(), hi.to_le_bytes());
        let mut buf = [0u8; INLINE];
        // Constant ranges within the 22-octet buffer and the 16- and 8-octet arrays.
        buf[..16].copy_from_slice(&lo);
        buf[16..].copy_from_slice(&hi[..INLINE - 16]);
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

/// The `N` octets of `src` at `at`; zeros if they are not all there (callers pass ranges
/// their size class proved in bounds).
fn load<const N: usize>(src: &[u8], at: usize) -> [u8; N] {
    src.get(at..at.saturating_add(N))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .unwrap_or([0; N])
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
