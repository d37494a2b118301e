//! [`MsgNo`]: a message number, never zero.

use std::{fmt, num::NonZeroU32};

use crate::error::ValidationError;

/// A message number (RFC 1939 §4: "The first message in the maildrop is assigned a
/// message-number of "1"").
///
/// Never zero. Decoders also bound it by [`Options::max_message_number`](crate::Options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsgNo(NonZeroU32);

impl MsgNo {
    /// Message number 1.
    pub const MIN: Self = Self(NonZeroU32::MIN);

    /// Message number `n`, or `None` for 0.
    pub const fn new(n: u32) -> Option<Self> {
        match NonZeroU32::new(n) {
            Some(n) => Some(Self(n)),
            None => None,
        }
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0.get()
    }
}

impl TryFrom<u32> for MsgNo {
    type Error = ValidationError;

    fn try_from(n: u32) -> Result<Self, Self::Error> {
        Self::new(n).ok_or(ValidationError::new(
            "message number",
            "message numbers start at 1",
        ))
    }
}

impl fmt::Display for MsgNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
