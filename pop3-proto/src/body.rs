//! Streaming multi-line bodies (`RETR`, `TOP`): dot-stuffing on the way out
//! ([`BodyEncoder`]), unstuffing and the terminating `.` line on the way in ([`BodyDecoder`]).
//!
//! RFC 1939 §3: "If any line of the multi-line response begins with the termination octet,
//! the line is "byte-stuffed" by pre-pending the termination octet to that line of the
//! response. Hence a multi-line response is terminated with the five octets "CRLF.CRLF"."
//!
//! Both sides work chunk by chunk with constant state (one flag), so a 10 MB message never
//! has to be in memory at once. Both treat every LF as a line end, so a body with bare LFs
//! still round-trips exactly; only CRLF `.` CRLF (or LF `.` CRLF) ends a body.

use bytes::BufMut;
use memchr::memmem;

/// What [`BodyDecoder::decode`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyChunk<'a> {
    /// Body octets, unstuffed, borrowed from the input. `consumed` (≥ 1) input octets were
    /// used, which may be more than `data.len()` when a stuffing dot was dropped.
    Data {
        /// The octets, part of the message.
        data: &'a [u8],
        /// Input octets used.
        consumed: usize,
    },
    /// The terminating `.` CRLF line; `consumed` input octets were used. The body is over.
    End {
        /// Input octets used.
        consumed: usize,
    },
    /// Nothing can be decided yet; call again with more input (nothing was used).
    Incomplete,
}

/// Decodes a multi-line body as it arrives (client side).
///
/// Call order: after the `+OK` line of `RETR`/`TOP`, call [`decode`](Self::decode) on the
/// unread input, drop `consumed` octets, repeat until [`BodyChunk::End`].
///
/// ```
/// use pop3_proto::{BodyChunk, BodyDecoder};
/// let mut decoder = BodyDecoder::new();
/// let mut input: &[u8] = b"Subject: x\r\n\r\n..dots\r\n.\r\n+OK next";
/// let mut body = Vec::new();
/// loop {
///     match decoder.decode(input) {
///         BodyChunk::Data { data, consumed } => {
///             body.extend_from_slice(data);
///             input = &input[consumed..];
///         }
///         BodyChunk::End { consumed } => {
///             input = &input[consumed..];
///             break;
///         }
///         BodyChunk::Incomplete => unreachable!("the example input is complete"),
///     }
/// }
/// assert_eq!(body, b"Subject: x\r\n\r\n.dots\r\n");
/// assert_eq!(input, b"+OK next");
/// ```
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    /// The next input octet starts a line.
    at_line_start: bool,
    /// The terminating line was seen.
    finished: bool,
    line_start_dot: memmem::Finder<'static>,
}

impl Default for BodyDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl BodyDecoder {
    /// A decoder positioned just after the `+OK` line.
    pub fn new() -> Self {
        Self {
            at_line_start: true,
            finished: false,
            line_start_dot: memmem::Finder::new(b"\n."),
        }
    }

    /// Whether the terminating line has been seen.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Decodes the next piece of `input`. After [`BodyChunk::End`] it returns `End` with
    /// nothing consumed.
    #[inline]
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> BodyChunk<'a> {
        if self.finished {
            return BodyChunk::End { consumed: 0 };
        }
        let mut start = 0;
        if self.at_line_start {
            match input {
                [] | [b'.'] | [b'.', b'\r'] => return BodyChunk::Incomplete,
                // RFC 1939 §3: "If so and if CRLF immediately follows the termination
                // character, then the response from the POP server is ended and the line
                // containing ".CRLF" is not considered part of the multi-line response."
                [b'.', b'\r', b'\n', ..] => {
                    self.finished = true;
                    return BodyChunk::End { consumed: 3 };
                }
                // RFC 1939 §3: "If so and if octets other than CRLF follow, the first octet
                // of the line (the termination octet) is stripped away."
                [b'.', ..] => start = 1,
                _ => {}
            }
            self.at_line_start = false;
        }
        // In bounds: `start` is 1 only when `input` starts with ".".
        let rest = &input[start..];
        let end = match self.line_start_dot.find(rest) {
            // Stop just after the LF: the next call looks at the line that starts with ".".
            Some(lf) => {
                self.at_line_start = true;
                start + lf + 1
            }
            None => {
                self.at_line_start = rest.last() == Some(&b'\n');
                input.len()
            }
        };
        if end == 0 {
            return BodyChunk::Incomplete;
        }
        BodyChunk::Data {
            data: &input[start..end],
            consumed: end,
        }
    }

    /// Decodes all that can be decided in `input` and appends the unstuffed octets to `out`:
    /// one copy, whatever the number of dotted lines. Returns the input octets used and
    /// whether the terminating line was reached (used too); the unused rest (at most a split
    /// line start, or what follows the body) must be offered again with more input.
    pub fn decode_into(&mut self, input: &[u8], out: &mut impl BufMut) -> (usize, bool) {
        let mut used = 0;
        loop {
            // `used <= input.len()`: it only grows by what `decode` consumed.
            match self.decode(input.get(used..).unwrap_or_default()) {
                BodyChunk::Incomplete => return (used, false),
                BodyChunk::Data { data, consumed } => {
                    out.put_slice(data);
                    used += consumed;
                }
                BodyChunk::End { consumed } => return (used + consumed, true),
            }
        }
    }
}

/// Encodes a multi-line body as it is read from storage (server side): dot-stuffs each chunk
/// and, at [`finish`](Self::finish), writes the terminating line.
///
/// Call order: send the `+OK` line, then [`encode`](Self::encode) each chunk of the message,
/// then [`finish`](Self::finish).
///
/// ```
/// use pop3_proto::BodyEncoder;
/// let mut out = Vec::new();
/// let mut encoder = BodyEncoder::new();
/// encoder.encode(b"Subject: x\r\n\r\n.dot", &mut out);
/// encoder.encode(b"s\r\n", &mut out);
/// encoder.finish(&mut out);
/// assert_eq!(out, b"Subject: x\r\n\r\n..dots\r\n.\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct BodyEncoder {
    /// The last octet written was LF, or nothing was written yet.
    at_line_start: bool,
    line_start_dot: memmem::Finder<'static>,
}

impl Default for BodyEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl BodyEncoder {
    /// An encoder at the start of a body.
    pub fn new() -> Self {
        Self {
            at_line_start: true,
            line_start_dot: memmem::Finder::new(b"\n."),
        }
    }

    /// Appends `chunk`, dot-stuffed, to `out`. Chunks may split lines anywhere.
    pub fn encode(&mut self, chunk: &[u8], out: &mut impl BufMut) {
        let Some(&last) = chunk.last() else { return };
        if self.at_line_start && chunk.first() == Some(&b'.') {
            out.put_u8(b'.');
        }
        let mut from = 0;
        // In bounds: matches are in order and do not overlap, so `from <= lf < chunk.len()`.
        for lf in self.line_start_dot.find_iter(chunk) {
            // Copy through the LF, then the extra "." before the line's own ".".
            out.put_slice(&chunk[from..=lf]);
            out.put_u8(b'.');
            from = lf + 1;
        }
        out.put_slice(&chunk[from..]);
        self.at_line_start = last == b'\n';
    }

    /// Ends the body: CRLF if the last line was not terminated, then `.` CRLF.
    pub fn finish(self, out: &mut impl BufMut) {
        if !self.at_line_start {
            out.put_slice(b"\r\n");
        }
        out.put_slice(b".\r\n");
    }
}

/// What `TOP msg n` sends: the header, the blank line, and the first `lines` body lines.
///
/// RFC 1939 §7: "the POP3 server sends the headers of the message, the blank line separating
/// the headers from the body, and then the number of lines of the indicated message's body
/// ... Note that if the number of lines requested by the POP3 client is greater than than the
/// number of lines in the body, then the POP3 server sends the entire message."
pub fn top_of_message(message: &[u8], lines: u32) -> &[u8] {
    let body_start = match memmem::find(message, b"\r\n\r\n") {
        Some(blank) => blank + 4,
        None => return message,
    };
    let mut end = body_start;
    for _ in 0..lines {
        match message
            .get(end..)
            .and_then(|rest| memchr::memchr(b'\n', rest))
        {
            Some(lf) => end += lf + 1,
            None => return message,
        }
    }
    &message[..end]
}

#[cfg(test)]
mod tests {
    use super::{BodyChunk, BodyDecoder, BodyEncoder, top_of_message};
    use crate::testing::decode_body_in_chunks;

    /// (body, wire form after the `+OK` line): byte-exact, lines starting with ".".
    const KAT: &[(&[u8], &[u8])] = &[
        (b"", b".\r\n"),
        (b"a\r\n", b"a\r\n.\r\n"),
        (b".\r\n", b"..\r\n.\r\n"),
        (b"..\r\n", b"...\r\n.\r\n"),
        (
            b".starts with a dot\r\n..two dots\r\n.\r\nafter a lone dot\r\n",
            b"..starts with a dot\r\n...two dots\r\n..\r\nafter a lone dot\r\n.\r\n",
        ),
        (b"x\r\n.\r\n", b"x\r\n..\r\n.\r\n"),
        (b"mid.dle\r\n. \r\n", b"mid.dle\r\n.. \r\n.\r\n"),
        (b"bare\n.lf\n", b"bare\n..lf\n.\r\n"),
        (b".\r", b"..\r\r\n.\r\n"),
    ];

    #[test]
    fn encode_known_answers() {
        for (body, wire) in KAT {
            let mut out = Vec::new();
            let mut encoder = BodyEncoder::new();
            encoder.encode(body, &mut out);
            encoder.finish(&mut out);
            assert_eq!(out, *wire, "{:?}", String::from_utf8_lossy(body));
            // Byte by byte gives the same bytes.
            let mut out = Vec::new();
            let mut encoder = BodyEncoder::new();
            for b in body.iter() {
                encoder.encode(std::slice::from_ref(b), &mut out);
            }
            encoder.finish(&mut out);
            assert_eq!(out, *wire);
        }
    }

    #[test]
    fn decode_known_answers() {
        for (body, wire) in KAT {
            // A body without a final line end comes back with the CRLF the encoder added.
            let mut expected = body.to_vec();
            if !expected.is_empty() && !expected.ends_with(b"\n") {
                expected.extend_from_slice(b"\r\n");
            }
            let mut input = wire.to_vec();
            input.extend_from_slice(b"+OK next\r\n");
            for chunk in [1, 2, 3, 7, usize::MAX] {
                let (decoded, used) =
                    decode_body_in_chunks(&input, chunk).expect("KAT bodies are terminated");
                assert_eq!(
                    decoded,
                    expected,
                    "{:?} chunk {chunk}",
                    String::from_utf8_lossy(wire)
                );
                assert_eq!(used, wire.len());
            }
            // Every strict prefix is incomplete: the decoder never reports End early.
            for end in 0..wire.len() {
                assert!(
                    decode_body_in_chunks(&wire[..end], usize::MAX).is_none(),
                    "prefix {end}"
                );
            }
        }
    }

    #[test]
    fn incomplete_at_line_start() {
        let mut d = BodyDecoder::new();
        assert_eq!(d.decode(b""), BodyChunk::Incomplete);
        assert_eq!(d.decode(b"."), BodyChunk::Incomplete);
        assert_eq!(d.decode(b".\r"), BodyChunk::Incomplete);
        assert_eq!(
            d.decode(b".x"),
            BodyChunk::Data {
                data: b"x",
                consumed: 2
            }
        );
        assert_eq!(
            d.decode(b"\r\n.\r\n"),
            BodyChunk::Data {
                data: b"\r\n",
                consumed: 2
            }
        );
        assert_eq!(d.decode(b".\r\n"), BodyChunk::End { consumed: 3 });
        assert!(d.is_finished());
        assert_eq!(d.decode(b"more"), BodyChunk::End { consumed: 0 });
    }

    #[test]
    fn top() {
        let msg = b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n";
        assert_eq!(top_of_message(msg, 0), b"A: 1\r\nB: 2\r\n\r\n");
        assert_eq!(top_of_message(msg, 2), b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n");
        assert_eq!(top_of_message(msg, 3), msg);
        assert_eq!(top_of_message(msg, 99), msg);
        assert_eq!(top_of_message(b"no body", 1), b"no body");
    }
}
