//! SORT and THREAD (RFC 5256).

use std::num::NonZeroU32;

use crate::{
    encode::{Encode, Encoder},
    error::ValidationError,
    types::core::Atom,
};

/// `sort-key`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // Each variant is the key of the same name.
pub enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    /// `DISPLAYFROM` (RFC 5957)
    DisplayFrom,
    /// `DISPLAYTO` (RFC 5957)
    DisplayTo,
}

impl SortKey {
    pub(crate) const ALL: [(SortKey, &'static str); 9] = [
        (SortKey::Arrival, "ARRIVAL"),
        (SortKey::Cc, "CC"),
        (SortKey::Date, "DATE"),
        (SortKey::From, "FROM"),
        (SortKey::Size, "SIZE"),
        (SortKey::Subject, "SUBJECT"),
        (SortKey::To, "TO"),
        (SortKey::DisplayFrom, "DISPLAYFROM"),
        (SortKey::DisplayTo, "DISPLAYTO"),
    ];
}

/// `sort-criterion = ["REVERSE" SP] sort-key`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortCriterion {
    /// Descending instead of ascending.
    pub reverse: bool,
    /// What to sort by.
    pub key: SortKey,
}

impl Encode for SortCriterion {
    fn encode(&self, e: &mut Encoder) {
        if self.reverse {
            e.bytes(b"REVERSE ");
        }
        e.bytes(crate::keywords::name_of(&SortKey::ALL, &self.key).as_bytes());
    }
}

/// `thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThreadAlgorithm {
    /// `ORDEREDSUBJECT`
    OrderedSubject,
    /// `REFERENCES`
    References,
    /// Any other algorithm a server advertises as `THREAD=name`.
    Other(Atom),
}

impl ThreadAlgorithm {
    /// Reads an algorithm name; the two of RFC 5256 get their own variants.
    pub fn from_atom(name: Atom) -> Self {
        if name.as_str().eq_ignore_ascii_case("ORDEREDSUBJECT") {
            ThreadAlgorithm::OrderedSubject
        } else if name.as_str().eq_ignore_ascii_case("REFERENCES") {
            ThreadAlgorithm::References
        } else {
            ThreadAlgorithm::Other(name)
        }
    }
}

impl Encode for ThreadAlgorithm {
    fn encode(&self, e: &mut Encoder) {
        match self {
            ThreadAlgorithm::OrderedSubject => {
                e.bytes(b"ORDEREDSUBJECT");
            }
            ThreadAlgorithm::References => {
                e.bytes(b"REFERENCES");
            }
            ThreadAlgorithm::Other(name) => name.encode(e),
        }
    }
}

/// `thread-list = "(" (thread-members / thread-nested) ")"`: one thread of a THREAD
/// response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Thread {
    /// `thread-members = nz-number *(SP nz-number) [SP thread-nested]`: a chain of messages,
    /// then (optionally) its branches.
    Members {
        /// The chain, parent first.
        chain: Vec<NonZeroU32>,
        /// The branches below the last message: none, or at least two.
        branches: Vec<Thread>,
    },
    /// `thread-nested = 2*thread-list`: siblings without a common message.
    Nested(Vec<Thread>),
}

impl Thread {
    /// A chain with branches; RFC 5256 grammar needs a non-empty chain and either no branches
    /// or at least two (`thread-nested = 2*thread-list`).
    pub fn members(chain: Vec<NonZeroU32>, branches: Vec<Thread>) -> Result<Self, ValidationError> {
        if chain.is_empty() || branches.len() == 1 {
            return Err(ValidationError::Empty);
        }
        Ok(Thread::Members { chain, branches })
    }

    /// Siblings; at least two.
    pub fn nested(threads: Vec<Thread>) -> Result<Self, ValidationError> {
        if threads.len() < 2 {
            return Err(ValidationError::Empty);
        }
        Ok(Thread::Nested(threads))
    }
}

impl Encode for Thread {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(b"(");
        match self {
            Thread::Members { chain, branches } => {
                e.join(chain, b" ", |n, e| {
                    e.number(n.get());
                });
                if !branches.is_empty() {
                    e.sp();
                    for branch in branches {
                        branch.encode(e);
                    }
                }
            }
            Thread::Nested(threads) => {
                for thread in threads {
                    thread.encode(e);
                }
            }
        }
        e.bytes(b")");
    }
}
