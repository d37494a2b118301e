//! Encoding typed values to bytes, split into fragments at every literal.
//!
//! A synchronizing literal (`{n}`) may only be sent after the peer answered the line that
//! announced it with a continuation request (`+`). The encoder therefore never returns a flat
//! byte string: it returns [`Encoded`], an iterator of [`Fragment`]s, and the sender waits for
//! `+` before each `Fragment::Literal { mode: LiteralMode::Sync, .. }`. Non-synchronizing
//! literals (`{n+}`, RFC 7888) are still separate fragments but need no wait.

use std::collections::VecDeque;

use crate::types::core::LiteralMode;

/// One piece of an encoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragment {
    /// Protocol text; ends either with CRLF or with a literal announcement `{n}\r\n`.
    Line {
        /// The bytes to send.
        data: Vec<u8>,
    },
    /// The bytes of a literal announced by the preceding line.
    Literal {
        /// The literal's content, sent verbatim.
        data: Vec<u8>,
        /// `Sync` means: wait for the peer's `+` before sending `data`.
        mode: LiteralMode,
    },
}

impl Fragment {
    /// The bytes of this fragment.
    pub fn data(&self) -> &[u8] {
        match self {
            Fragment::Line { data } | Fragment::Literal { data, .. } => data,
        }
    }
}

/// The encoded form of a message: fragments in the order they go on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encoded {
    fragments: VecDeque<Fragment>,
}

impl Encoded {
    /// All bytes at once, ignoring where the peer must be waited on. Use this only when the
    /// message has no synchronizing literal or the peer is known to accept them unasked.
    pub fn dump(mut self) -> Vec<u8> {
        if self.fragments.len() == 1
            && let Some(Fragment::Line { data } | Fragment::Literal { data, .. }) =
                self.fragments.pop_front()
        {
            // One fragment (no literal): its buffer is the answer, no copy needed.
            return data;
        }
        let total = self.fragments.iter().map(|f| f.data().len()).sum();
        let mut out = Vec::with_capacity(total);
        for fragment in self.fragments {
            out.extend_from_slice(fragment.data());
        }
        out
    }

    /// True when some fragment is a literal the sender must wait for `+` before sending.
    pub fn needs_continuation(&self) -> bool {
        self.fragments.iter().any(|f| {
            matches!(
                f,
                Fragment::Literal {
                    mode: LiteralMode::Sync,
                    ..
                }
            )
        })
    }
}

impl Iterator for Encoded {
    type Item = Fragment;

    fn next(&mut self) -> Option<Fragment> {
        self.fragments.pop_front()
    }
}

/// Collects bytes and cuts a new fragment at every literal.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    line: Vec<u8>,
    fragments: VecDeque<Fragment>,
}

impl Encoder {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn bytes(&mut self, data: &[u8]) -> &mut Self {
        self.line.extend_from_slice(data);
        self
    }

    pub(crate) fn sp(&mut self) -> &mut Self {
        self.bytes(b" ")
    }

    pub(crate) fn crlf(&mut self) -> &mut Self {
        self.bytes(b"\r\n")
    }

    pub(crate) fn number(&mut self, n: impl Into<u64>) -> &mut Self {
        // Decimal digits without leading zeros: the only spelling `number` and `nz-number` share.
        let mut n: u64 = n.into();
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            // n % 10 < 10, so the cast cannot truncate; 20 digits hold u64::MAX.
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.bytes(&digits[start..])
    }

    /// Writes `{n}\r\n` (or `{n+}`, `~{n}`) and the literal as its own fragment.
    pub(crate) fn literal(&mut self, data: &[u8], mode: LiteralMode, binary: bool) -> &mut Self {
        if binary {
            self.bytes(b"~");
        }
        self.bytes(b"{").number(data.len() as u64);
        if mode == LiteralMode::NonSync {
            self.bytes(b"+");
        }
        self.bytes(b"}\r\n");
        let line = std::mem::take(&mut self.line);
        self.fragments.push_back(Fragment::Line { data: line });
        self.fragments.push_back(Fragment::Literal {
            data: data.to_vec(),
            mode,
        });
        self
    }

    /// Writes each item with `encode`, separated by `sep`.
    pub(crate) fn join<T>(
        &mut self,
        items: &[T],
        sep: &[u8],
        mut encode: impl FnMut(&T, &mut Self),
    ) -> &mut Self {
        for (index, item) in items.iter().enumerate() {
            if index > 0 {
                self.bytes(sep);
            }
            encode(item, self);
        }
        self
    }

    /// `"(" item *(SP item) ")"`.
    pub(crate) fn paren_list<T: Encode>(&mut self, items: &[T]) -> &mut Self {
        self.bytes(b"(");
        self.join(items, b" ", |item, e| item.encode(e));
        self.bytes(b")")
    }

    pub(crate) fn value(&mut self, value: &impl Encode) -> &mut Self {
        value.encode(self);
        self
    }

    pub(crate) fn finish(mut self) -> Encoded {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.fragments.push_back(Fragment::Line { data: line });
        }
        Encoded {
            fragments: self.fragments,
        }
    }
}

/// Types that know their wire form.
pub(crate) trait Encode {
    fn encode(&self, e: &mut Encoder);
}

/// Encodes one value on its own, for tests.
#[cfg(test)]
pub(crate) fn to_bytes(value: &impl Encode) -> Vec<u8> {
    let mut e = Encoder::new();
    value.encode(&mut e);
    e.finish().dump()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_literal_is_its_own_fragment() {
        let mut e = Encoder::new();
        e.bytes(b"A1 LOGIN ")
            .literal(b"me", LiteralMode::Sync, false)
            .bytes(b" pw")
            .crlf();
        let encoded = e.finish();
        assert!(encoded.needs_continuation());
        let fragments: Vec<Fragment> = encoded.collect();
        assert_eq!(
            fragments,
            vec![
                Fragment::Line {
                    data: b"A1 LOGIN {2}\r\n".to_vec()
                },
                Fragment::Literal {
                    data: b"me".to_vec(),
                    mode: LiteralMode::Sync
                },
                Fragment::Line {
                    data: b" pw\r\n".to_vec()
                },
            ]
        );
    }

    #[test]
    fn non_sync_literal_needs_no_continuation() {
        let mut e = Encoder::new();
        e.literal(b"abc", LiteralMode::NonSync, true).crlf();
        let encoded = e.finish();
        assert!(!encoded.needs_continuation());
        assert_eq!(encoded.dump(), b"~{3+}\r\nabc\r\n");
    }
}
