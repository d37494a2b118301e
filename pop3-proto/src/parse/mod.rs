//! Decoders: bytes in, values out. Each returns a value and the octets it used, "incomplete",
//! or a clear error; every strict prefix of a valid input is "incomplete".
//!
//! POP3 is line-based, so every decoder first frames one line with [`frame_line`] (a
//! `memchr` for LF within the line limit), then parses the line's fields with nom.

mod command;
mod number;
mod response;

pub use command::CommandDecoder;
pub use response::ResponseDecoder;
pub(crate) use response::{FirstLine, ListingParser};

/// One framed line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Framed<'a> {
    /// A line without its CRLF, and the octets it used (CRLF included).
    Line(&'a [u8], usize),
    /// The line ended with a bare LF after `usize` octets.
    BareLf(usize),
    /// No LF yet, and fewer than `limit` octets: wait for more.
    Incomplete,
    /// No LF within `limit` octets.
    TooLong,
}

/// Finds the first line of `input`, at most `limit` octets long with its CRLF.
pub(crate) fn frame_line(input: &[u8], limit: usize) -> Framed<'_> {
    let window = input.get(..limit).unwrap_or(input);
    match memchr::memchr(b'\n', window) {
        Some(lf) => match input.get(..lf) {
            Some([line @ .., b'\r']) => Framed::Line(line, lf + 1),
            _ => Framed::BareLf(lf + 1),
        },
        None if input.len() >= limit => Framed::TooLong,
        None => Framed::Incomplete,
    }
}

/// Octets up to and including the next LF, if there is one: how a decoder skips the rest of
/// an over-long line.
pub(crate) fn skip_to_line_end(input: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', input).map(|lf| lf + 1)
}

#[cfg(test)]
mod tests {
    use super::{Framed, frame_line};

    #[test]
    fn framing() {
        assert_eq!(frame_line(b"NOOP\r\nX", 255), Framed::Line(b"NOOP", 6));
        assert_eq!(frame_line(b"NOOP\r", 255), Framed::Incomplete);
        assert_eq!(frame_line(b"NOOP\n", 255), Framed::BareLf(5));
        assert_eq!(frame_line(b"\n", 255), Framed::BareLf(1));
        assert_eq!(frame_line(b"abc\r\n", 5), Framed::Line(b"abc", 5));
        assert_eq!(frame_line(b"abcd\r\n", 5), Framed::TooLong);
        assert_eq!(frame_line(b"abcd", 5), Framed::Incomplete);
    }
}
