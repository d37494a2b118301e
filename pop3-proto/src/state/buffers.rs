//! [`Buffers`]: the octets between the caller's socket and a state machine.

use bytes::{BufMut, BytesMut};

/// Unread input, bounded by [`Options::max_buffered_input`](crate::Options), and unsent
/// output, drained by `poll_transmit`.
#[derive(Debug)]
pub(crate) struct Buffers {
    pub(crate) input: BytesMut,
    pub(crate) output: BytesMut,
    limit: usize,
}

impl Buffers {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            input: BytesMut::new(),
            output: BytesMut::new(),
            limit,
        }
    }

    /// Whether more input fits.
    pub(crate) fn has_room(&self) -> bool {
        self.input.len() < self.limit
    }

    /// Appends as much of `data` as fits under the limit; returns how many octets.
    pub(crate) fn take_input(&mut self, data: &[u8]) -> usize {
        let take = data.len().min(self.limit.saturating_sub(self.input.len()));
        self.input.extend_from_slice(&data[..take]);
        take
    }

    /// Moves all pending output to `out`; returns how many octets.
    pub(crate) fn transmit(&mut self, out: &mut impl BufMut) -> usize {
        let n = self.output.len();
        out.put_slice(&self.output);
        self.output.clear();
        n
    }
}
