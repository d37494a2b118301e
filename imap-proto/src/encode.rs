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

/// Where a fragment ends in the encoded bytes, and whether it is a literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cut {
    end: usize,
    literal: Option<LiteralMode>,
}

/// The encoded form of a message: fragments in the order they go on the wire.
///
/// The bytes live in one buffer, so [`Encoded::dump`] costs nothing; iterating copies each
/// fragment out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encoded {
    buf: Vec<u8>,
    cuts: VecDeque<Cut>,
    start: usize,
}

impl Encoded {
    /// All bytes at once, ignoring where the peer must be waited on. Use this only when the
    /// message has no synchronizing literal or the peer is known to accept them unasked.
    pub fn dump(mut self) -> Vec<u8> {
        if self.start > 0 {
            self.buf.drain(..self.start);
        }
        self.buf
    }

    /// True when some fragment is a literal the sender must wait for `+` before sending.
    pub fn needs_continuation(&self) -> bool {
        self.cuts
            .iter()
            .any(|cut| cut.literal == Some(LiteralMode::Sync))
    }
}

impl Iterator for Encoded {
    type Item = Fragment;

    fn next(&mut self) -> Option<Fragment> {
        let cut = self.cuts.pop_front()?;
        // Cuts are increasing offsets into buf, each at most buf.len().
        let data = self
            .buf
            .get(self.start..cut.end)
            .unwrap_or_default()
            .to_vec();
        self.start = cut.end;
        Some(match cut.literal {
            None => Fragment::Line { data },
            Some(mode) => Fragment::Literal { data, mode },
        })
    }
}

/// Collects bytes and marks a cut at every literal.
#[derive(Debug)]
pub(crate) struct Encoder {
    buf: Vec<u8>,
    cuts: VecDeque<Cut>,
    /// UTF8=ACCEPT (RFC 6855) is enabled: mailbox names go out as UTF-8.
    utf8_accept: bool,
}

impl Encoder {
    pub(crate) fn new() -> Self {
        Self::in_dialect(false)
    }

    /// An encoder for a session where UTF8=ACCEPT is (`true`) or is not enabled.
    pub(crate) fn in_dialect(utf8_accept: bool) -> Self {
        Self {
            buf: Vec::with_capacity(128),
            cuts: VecDeque::new(),
            utf8_accept,
        }
    }

    /// Whether mailbox names are written as UTF-8 (RFC 6855) rather than modified UTF-7.
    pub(crate) fn utf8_accept(&self) -> bool {
        self.utf8_accept
    }

    pub(crate) fn bytes(&mut self, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(data);
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
        self.cuts.push_back(Cut {
            end: self.buf.len(),
            literal: None,
        });
        self.buf.extend_from_slice(data);
        self.cuts.push_back(Cut {
            end: self.buf.len(),
            literal: Some(mode),
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
        let last = self.cuts.back().map_or(0, |cut| cut.end);
        if self.buf.len() > last {
            self.cuts.push_back(Cut {
                end: self.buf.len(),
                literal: None,
            });
        }
        Encoded {
            buf: self.buf,
            cuts: self.cuts,
            start: 0,
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
