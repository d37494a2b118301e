//! The BDAT receiver (RFC 3030 §2): counts octets, never allocates the announced size.
//!
//! "The BDAT verb takes two arguments. The first argument indicates the length, in octets,
//! of the binary data chunk." The data follow the command line at once, with no
//! dot-stuffing and no terminator.

use crate::data::DataError;

/// What [`BdatDecoder::decode`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BdatEvent<'a> {
    /// The next piece of the chunk.
    Chunk(&'a [u8]),
    /// The announced number of octets has been read: the message size so far (all BDAT
    /// chunks of this transaction), or why the message must be refused.
    End(Result<u64, DataError>),
}

/// Reads the octets of one BDAT chunk.
///
/// ```
/// use smtp_proto::bdat::{BdatDecoder, BdatEvent};
///
/// let mut decoder = BdatDecoder::new(5, 0, 1024);
/// assert_eq!(decoder.decode(b"abc"), (3, Some(BdatEvent::Chunk(b"abc"))));
/// assert_eq!(decoder.decode(b"deQUIT"), (2, Some(BdatEvent::Chunk(b"de"))));
/// assert_eq!(decoder.decode(b"QUIT"), (0, Some(BdatEvent::End(Ok(5)))));
/// ```
#[derive(Debug, Clone)]
pub struct BdatDecoder {
    remaining: u64,
    total: u64,
    problem: Option<DataError>,
    ended: bool,
}

impl BdatDecoder {
    /// A decoder for a chunk of `size` octets, after `received` octets of earlier chunks of
    /// the same message, with a message limit of `max_size`. When the message would exceed
    /// the limit, the octets are still read (they are on the wire) but dropped.
    pub fn new(size: u64, received: u64, max_size: u64) -> Self {
        let total = received.saturating_add(size);
        BdatDecoder {
            remaining: size,
            total,
            problem: (total > max_size).then_some(DataError::TooBig { max: max_size }),
            ended: false,
        }
    }

    /// Octets of this chunk not read yet.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Reads from `input`; returns the octets consumed and an event, or `None` when all
    /// input was consumed and more octets are due. After [`BdatEvent::End`] it consumes
    /// nothing and returns `None`.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> (usize, Option<BdatEvent<'a>>) {
        if self.ended {
            return (0, None);
        }
        if self.remaining == 0 {
            self.ended = true;
            let outcome = match self.problem {
                Some(problem) => Err(problem),
                None => Ok(self.total),
            };
            return (0, Some(BdatEvent::End(outcome)));
        }
        // `take` fits in usize: it is at most input.len().
        let take = usize::try_from(self.remaining).map_or(input.len(), |r| r.min(input.len()));
        self.remaining -= take as u64;
        let chunk = &input[..take];
        if take == 0 || self.problem.is_some() {
            if self.remaining == 0 {
                return self.decode(&input[take..]).with_offset(take);
            }
            return (take, None);
        }
        (take, Some(BdatEvent::Chunk(chunk)))
    }
}

trait WithOffset {
    fn with_offset(self, offset: usize) -> Self;
}

impl<T> WithOffset for (usize, T) {
    fn with_offset(self, offset: usize) -> Self {
        (self.0 + offset, self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        decoder: &mut BdatDecoder,
        input: &[u8],
    ) -> (Vec<u8>, Option<Result<u64, DataError>>, usize) {
        let mut body = Vec::new();
        let mut pos = 0;
        loop {
            let (used, event) = decoder.decode(&input[pos..]);
            pos += used;
            match event {
                Some(BdatEvent::Chunk(c)) => body.extend_from_slice(c),
                Some(BdatEvent::End(outcome)) => return (body, Some(outcome), pos),
                None => return (body, None, pos),
            }
        }
    }

    #[test]
    fn counts_octets_exactly() {
        // THREATS SMTP-05: "BDAT 10 LAST" followed by 9 octets, then 11.
        let mut decoder = BdatDecoder::new(10, 0, 100);
        assert_eq!(
            run(&mut decoder, b"123456789"),
            (b"123456789".to_vec(), None, 9)
        );
        let (body, outcome, used) = run(&mut decoder, b"0RSET\r\nNOOP");
        assert_eq!(
            (body.as_slice(), outcome, used),
            (&b"0"[..], Some(Ok(10)), 1)
        );
        assert_eq!(decoder.decode(b"x"), (0, None));
    }

    #[test]
    fn empty_chunk_and_huge_announcements() {
        let mut empty = BdatDecoder::new(0, 7, 100);
        assert_eq!(run(&mut empty, b"QUIT"), (Vec::new(), Some(Ok(7)), 0));
        // An announced 2^64-1 octets allocates nothing and is refused after reading.
        let mut huge = BdatDecoder::new(u64::MAX, 0, 100);
        assert_eq!(run(&mut huge, &[0; 64]), (Vec::new(), None, 64));
        assert_eq!(huge.remaining(), u64::MAX - 64);
        let mut over = BdatDecoder::new(5, 98, 100);
        assert_eq!(
            run(&mut over, b"12345X"),
            (Vec::new(), Some(Err(DataError::TooBig { max: 100 })), 5)
        );
    }
}
