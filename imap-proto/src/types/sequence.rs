//! Message sequence number and UID sets (RFC 3501 §9 `sequence-set`).

use std::num::NonZeroU32;

use crate::{
    encode::{Encode, Encoder},
    types::non_empty::NonEmpty,
};

/// `seq-number = nz-number / "*"`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqNumber {
    /// A message sequence number or UID.
    Value(NonZeroU32),
    /// `*`: the largest number in use.
    Largest,
}

impl Encode for SeqNumber {
    fn encode(&self, e: &mut Encoder) {
        match self {
            SeqNumber::Value(n) => {
                e.number(n.get());
            }
            SeqNumber::Largest => {
                e.bytes(b"*");
            }
        }
    }
}

/// One element of a sequence set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sequence {
    /// `seq-number`
    Single(SeqNumber),
    /// `seq-range = seq-number ":" seq-number`; RFC 3501: "2:4 and 4:2 are equivalent", so
    /// the order is kept as sent.
    Range(SeqNumber, SeqNumber),
}

impl Encode for Sequence {
    fn encode(&self, e: &mut Encoder) {
        match self {
            Sequence::Single(n) => n.encode(e),
            Sequence::Range(a, b) => {
                e.value(a).bytes(b":").value(b);
            }
        }
    }
}

/// `sequence-set = (seq-number / seq-range) ["," sequence-set]`, or RFC 5182's `$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SequenceSet {
    /// Numbers and ranges.
    Set(NonEmpty<Sequence>),
    /// `seq-last-command = "$"` (SEARCHRES, RFC 9051): the result saved by the last SEARCH.
    LastResult,
}

impl SequenceSet {
    /// A set of one number.
    pub fn single(n: NonZeroU32) -> Self {
        SequenceSet::Set(NonEmpty::one(Sequence::Single(SeqNumber::Value(n))))
    }

    /// Whether `n` is in the set, with `largest` standing for `*`. `$` contains nothing: the
    /// caller resolves it against its saved result first.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        let resolve = |s: &SeqNumber| match s {
            SeqNumber::Value(v) => v.get(),
            SeqNumber::Largest => largest,
        };
        match self {
            SequenceSet::LastResult => false,
            SequenceSet::Set(items) => items.iter().any(|item| match item {
                Sequence::Single(s) => resolve(s) == n,
                Sequence::Range(a, b) => {
                    let (a, b) = (resolve(a), resolve(b));
                    a.min(b) <= n && n <= a.max(b)
                }
            }),
        }
    }
}

impl Encode for SequenceSet {
    fn encode(&self, e: &mut Encoder) {
        match self {
            SequenceSet::Set(items) => {
                e.join(items, b",", |item, e| item.encode(e));
            }
            SequenceSet::LastResult => {
                e.bytes(b"$");
            }
        }
    }
}
