//! nom 8 parsers, one file per grammar area, with known-answer tables at the bottom of each.
//!
//! All parsers are streaming: when the input ends before the production does they return
//! `nom::Err::Incomplete`, so every strict prefix of a valid message is "incomplete".

pub(crate) mod body;
pub(crate) mod command;
pub(crate) mod core;
pub(crate) mod datetime;
pub(crate) mod fetch;
pub(crate) mod flag;
pub(crate) mod id;
pub(crate) mod mailbox;
pub(crate) mod quota;
pub(crate) mod response;
pub(crate) mod search;
pub(crate) mod sequence;
pub(crate) mod sort;

use nom::{IResult, Parser, error::FromExternalError};

/// What went wrong, kept crate-private; the public decoders translate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// A nom combinator did not match.
    Nom(nom::error::ErrorKind),
    /// A number is outside its range (RFC 3501 §9 `number`, `nz-number`).
    Number,
    /// A mailbox name is not canonical modified UTF-7.
    Mutf7,
    /// A date or time does not exist.
    Date,
    /// Nesting deeper than the configured limit.
    RecursionLimit,
    /// A validating constructor refused the value.
    Invalid,
    /// Syntax of UTF8=ACCEPT (RFC 6855) in a session that has not enabled it.
    Utf8NotEnabled,
}

/// The parser's error: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError<'a> {
    pub(crate) input: &'a [u8],
    pub(crate) kind: ErrorKind,
}

impl<'a> nom::error::ParseError<&'a [u8]> for ParseError<'a> {
    fn from_error_kind(input: &'a [u8], kind: nom::error::ErrorKind) -> Self {
        Self {
            input,
            kind: ErrorKind::Nom(kind),
        }
    }

    fn append(_: &'a [u8], _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

impl<'a, E> FromExternalError<&'a [u8], E> for ParseError<'a> {
    fn from_external_error(input: &'a [u8], _: nom::error::ErrorKind, _: E) -> Self {
        Self {
            input,
            kind: ErrorKind::Invalid,
        }
    }
}

pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, ParseError<'a>>;

/// A hard failure (no backtracking into alternatives) of the given kind.
pub(crate) fn fail<T>(input: &[u8], kind: ErrorKind) -> PResult<'_, T> {
    Err(nom::Err::Failure(ParseError { input, kind }))
}

/// `many0` that allocates only once an item is found: nom's reserves room for four items
/// up front, which costs an allocation for every empty list (BODYSTRUCTURE's extension
/// lists, SEARCH with no hits). Same results otherwise, including `Incomplete`.
pub(crate) fn many0_lazy<'a, O>(
    mut item: impl Parser<&'a [u8], Output = O, Error = ParseError<'a>>,
) -> impl FnMut(&'a [u8]) -> PResult<'a, Vec<O>> {
    move |mut input| {
        let mut items = Vec::new();
        loop {
            match item.parse(input) {
                // An item that consumes nothing would repeat forever; nom refuses it too.
                Ok((rest, _)) if rest.len() == input.len() => {
                    return reject(input, ErrorKind::Nom(nom::error::ErrorKind::Many0));
                }
                Ok((rest, value)) => {
                    items.push(value);
                    input = rest;
                }
                Err(nom::Err::Error(_)) => return Ok((input, items)),
                Err(other) => return Err(other),
            }
        }
    }
}

/// One expected octet: the cheapest form of nom's `tag` for the parentheses and spaces the
/// hot paths (FETCH, ENVELOPE, BODYSTRUCTURE) match dozens of times per response.
#[inline]
pub(crate) fn byte(input: &[u8], expected: u8) -> PResult<'_, ()> {
    match input.split_first() {
        Some((&b, rest)) if b == expected => Ok((rest, ())),
        Some(_) => reject(input, ErrorKind::Nom(nom::error::ErrorKind::Tag)),
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
    }
}

/// `"(" item *(SP item) ")"`, or `"(" ")"` too when `allow_empty`, as a plain loop (nom's
/// `delimited(tag, separated_list1(sp, …), tag)` costs a combinator layer per item). The
/// list starts with room for `capacity` items, which callers pick for typical traffic.
/// Accepts and refuses the same inputs as the combinator form; `Incomplete` when the input
/// ends inside the list.
pub(crate) fn paren_list<'a, O>(
    input: &'a [u8],
    allow_empty: bool,
    capacity: usize,
    mut item: impl FnMut(&'a [u8]) -> PResult<'a, O>,
) -> PResult<'a, Vec<O>> {
    let (mut rest, ()) = byte(input, b'(')?;
    if allow_empty && rest.first() == Some(&b')') {
        return Ok((rest.get(1..).unwrap_or_default(), Vec::new()));
    }
    let mut items = Vec::with_capacity(capacity);
    loop {
        let (after, value) = item(rest)?;
        items.push(value);
        match after.split_first() {
            Some((b' ', tail)) => rest = tail,
            Some((b')', tail)) => return Ok((tail, items)),
            Some(_) => return reject(after, ErrorKind::Nom(nom::error::ErrorKind::Tag)),
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        }
    }
}

/// `[SP item]`, exactly as nom's `opt(preceded(sp, item))` decides it (an item that does
/// not match leaves the SP unread), without the two combinator layers.
#[inline]
pub(crate) fn opt_sp<'a, O>(
    input: &'a [u8],
    item: impl FnOnce(&'a [u8]) -> PResult<'a, O>,
) -> PResult<'a, Option<O>> {
    match input.split_first() {
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        Some((b' ', rest)) => match item(rest) {
            Ok((rest, value)) => Ok((rest, Some(value))),
            Err(nom::Err::Error(_)) => Ok((input, None)),
            Err(other) => Err(other),
        },
        Some(_) => Ok((input, None)),
    }
}

/// A soft error: alternatives may still match.
pub(crate) fn reject<T>(input: &[u8], kind: ErrorKind) -> PResult<'_, T> {
    Err(nom::Err::Error(ParseError { input, kind }))
}

/// A keyword in upper case, on the stack: matching IMAP's case-insensitive keywords without
/// allocating. Words longer than any keyword become empty and so match none.
pub(crate) struct Upper {
    buf: [u8; 24],
    len: usize,
}

impl Upper {
    pub(crate) fn new(word: &[u8]) -> Self {
        let len = word.len();
        if len > 24 {
            return Self {
                buf: [0; 24],
                len: 0,
            };
        }
        // Built as three 8-octet words, upper-cased in registers and stored whole: copying
        // and upper-casing octet by octet and then comparing wider loads stalls
        // store-to-load forwarding, which made keyword matching a hot spot.
        let mut buf = [0u8; 24];
        for (chunk, start) in buf.chunks_exact_mut(8).zip([0, 8, 16]) {
            chunk.copy_from_slice(&upper_word(word_at(word, start)).to_le_bytes());
        }
        Self { buf, len }
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        // len is 0 or a length that fitted in buf.
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// Octets `start..start + 8` of `word`, zero beyond its end, as a little-endian integer;
/// read with at most two loads whatever the length.
fn word_at(word: &[u8], start: usize) -> u64 {
    let len = word.len();
    let load8 = |at: usize| {
        word.get(at..at.saturating_add(8))
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map_or(0, u64::from_le_bytes)
    };
    let load4 = |at: usize| {
        word.get(at..at.saturating_add(4))
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map_or(0, |b| u64::from(u32::from_le_bytes(b)))
    };
    if start >= len {
        0
    } else if start + 8 <= len {
        load8(start)
    } else if len >= 8 {
        // The last eight octets, shifted so that octet `start` comes first.
        load8(len - 8) >> (8 * (start + 8 - len))
    } else if len >= 4 {
        // start is 0: the first and the last four octets, overlapping in the middle.
        load4(0) | load4(len - 4) << (8 * (len - 4))
    } else {
        // start is 0 and 1 <= len <= 3: first, middle and last octet.
        let at = |i: usize| u64::from(word.get(i).copied().unwrap_or(0)) << (8 * i);
        at(0) | at(len / 2) | at(len - 1)
    }
}

/// `x` with every ASCII lower-case letter upper-cased, eight octets at a time.
fn upper_word(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Seven low bits of each octet; adding keeps each sum inside its octet.
    let low = x & !HIGH;
    let at_least_a = low + ONES * u64::from(0x80 - b'a');
    let above_z = low + ONES * u64::from(0x80 - b'z' - 1);
    // Octets in 'a'..='z' (and without the high bit, so ASCII) have bit 7 set here.
    let lower = at_least_a & !above_z & !x & HIGH;
    x - (lower >> 2)
}

#[cfg(test)]
mod tests {
    use super::Upper;

    #[test]
    fn upper_matches_std_for_every_length_and_octet() {
        let sample: Vec<u8> = (0..=255u8).collect();
        for len in 0..=25 {
            for start in 0..sample.len().saturating_sub(len) {
                let word = &sample[start..start + len];
                let expected = if len > 24 {
                    Vec::new()
                } else {
                    word.to_ascii_uppercase()
                };
                assert_eq!(Upper::new(word).as_slice(), expected, "{word:?}");
            }
        }
        assert_eq!(Upper::new(b"body.peek").as_slice(), b"BODY.PEEK");
        assert_eq!(Upper::new(b"Rfc822.Size").as_slice(), b"RFC822.SIZE");
    }
}
