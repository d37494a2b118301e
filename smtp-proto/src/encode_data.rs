//! The client's DATA encoder: CRLF normalisation and dot-stuffing.
//!
//! RFC 5321 §4.5.2: "Before sending a line of mail text, the SMTP client checks the first
//! character of the line. If it is a period, one additional period is inserted at the
//! beginning of the line." Every bare CR and bare LF becomes CRLF first, so the encoder and
//! any receiver agree on where lines start: a line that is only `.` can never reach the wire
//! unstuffed (lettre's RUSTSEC-2021-0069), and no bare newline is relayed (SMTP smuggling).

use memchr::memchr2;

/// Turns message octets into DATA content; [`DataEncoder::finish`] writes the terminator.
///
/// ```
/// use smtp_proto::encode_data::DataEncoder;
///
/// let mut out = Vec::new();
/// let mut encoder = DataEncoder::new();
/// encoder.encode(b"Subject: x\n\n.\r\nMAIL FROM:<a@b>\n", &mut out);
/// encoder.finish(&mut out);
/// assert_eq!(out, b"Subject: x\r\n\r\n..\r\nMAIL FROM:<a@b>\r\n.\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataEncoder {
    line_start: bool,
    /// The last octet was a CR, already written as CRLF: an LF right after it is dropped.
    after_cr: bool,
}

impl Default for DataEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl DataEncoder {
    /// An encoder at the start of a message.
    pub fn new() -> Self {
        DataEncoder {
            line_start: true,
            after_cr: false,
        }
    }

    /// Appends the encoded form of the next piece of the message to `out`.
    pub fn encode(&mut self, mut chunk: &[u8], out: &mut Vec<u8>) {
        out.reserve(chunk.len() + chunk.len() / 64 + 2);
        while let Some(&first) = chunk.first() {
            match first {
                b'\r' => {
                    out.extend_from_slice(b"\r\n");
                    self.line_start = true;
                    self.after_cr = true;
                    chunk = &chunk[1..];
                    continue;
                }
                b'\n' => {
                    if !self.after_cr {
                        out.extend_from_slice(b"\r\n");
                    }
                    self.line_start = true;
                    self.after_cr = false;
                    chunk = &chunk[1..];
                    continue;
                }
                _ => {}
            }
            self.after_cr = false;
            let run = memchr2(b'\r', b'\n', chunk).unwrap_or(chunk.len());
            if self.line_start && first == b'.' {
                out.push(b'.');
            }
            out.extend_from_slice(&chunk[..run]);
            self.line_start = false;
            chunk = &chunk[run..];
        }
    }

    /// Ends the last line if it is open, then appends the terminator `.` CRLF.
    pub fn finish(self, out: &mut Vec<u8>) {
        if !self.line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

/// Encodes a whole message as DATA content with its terminator.
pub fn encode_message(message: &[u8], out: &mut Vec<u8>) {
    let mut encoder = DataEncoder::new();
    encoder.encode(message, out);
    encoder.finish(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_encodings() {
        let table: &[(&[u8], &[u8])] = &[
            (b"", b".\r\n"),
            (b"a", b"a\r\n.\r\n"),
            (b"a\r\n", b"a\r\n.\r\n"),
            (b".", b"..\r\n.\r\n"),
            (b"..\r\n", b"...\r\n.\r\n"),
            (b"a\n.\nb", b"a\r\n..\r\nb\r\n.\r\n"),
            (b"a\r.\rb", b"a\r\n..\r\nb\r\n.\r\n"),
            // RUSTSEC-2021-0069: a period after a double CRLF.
            (
                b"x\r\n\r\n.\r\nMAIL FROM:<a@b>\r\n",
                b"x\r\n\r\n..\r\nMAIL FROM:<a@b>\r\n.\r\n",
            ),
            (b"\n\r", b"\r\n\r\n.\r\n"),
            (b"a.b\r\n.c", b"a.b\r\n..c\r\n.\r\n"),
        ];
        for (message, wire) in table {
            let mut out = Vec::new();
            encode_message(message, &mut out);
            assert_eq!(out, *wire, "{:?}", String::from_utf8_lossy(message));
            // Byte by byte gives the same octets.
            let mut split = Vec::new();
            let mut encoder = DataEncoder::new();
            for b in message.iter() {
                encoder.encode(std::slice::from_ref(b), &mut split);
            }
            encoder.finish(&mut split);
            assert_eq!(split, *wire);
        }
    }
}
