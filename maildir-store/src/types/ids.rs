//! Message and mailbox identifiers (RFC 3501 §2.3.1.1, RFC 7162 §3.1.1).

use std::{fmt, num::NonZeroU32};

/// A message UID: "A 32-bit value assigned to each message" (RFC 3501 §2.3.1.1) that is never
/// zero (RFC 3501 `nz-number`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uid(NonZeroU32);

impl Uid {
    /// The smallest UID, 1.
    pub const MIN: Self = Self(NonZeroU32::MIN);

    /// `None` for zero, which is not a UID.
    pub fn new(value: u32) -> Option<Self> {
        NonZeroU32::new(value).map(Self)
    }

    /// The numeric value.
    pub fn get(self) -> u32 {
        self.0.get()
    }

    /// The next UID, or `None` when the 32-bit space is exhausted.
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// UIDVALIDITY: together with a UID it names one message forever (RFC 3501 §2.3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UidValidity(NonZeroU32);

impl UidValidity {
    /// `None` for zero, which RFC 3501's `nz-number` forbids.
    pub fn new(value: u32) -> Option<Self> {
        NonZeroU32::new(value).map(Self)
    }

    /// The numeric value.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for UidValidity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A modification sequence (RFC 7162 `mod-sequence-value`). Every change to a message's flags,
/// every new message and every expunge gets a fresh, larger one; zero means "before anything",
/// which is what `CHANGEDSINCE 0` and `UNCHANGEDSINCE 0` compare against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ModSeq(u64);

impl ModSeq {
    /// Zero: older than every change.
    pub const ZERO: Self = Self(0);

    /// Wraps a raw value.
    pub fn new(value: u64) -> Self {
        Self(value)
    }

    /// The numeric value.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The following value (saturating: 2^64 changes are not reachable).
    pub fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }
}

impl fmt::Display for ModSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
