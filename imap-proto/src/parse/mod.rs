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
        let mut buf = [0u8; 24];
        let len = match buf.get_mut(..word.len()) {
            Some(dest) => {
                dest.copy_from_slice(word);
                dest.make_ascii_uppercase();
                word.len()
            }
            None => 0,
        };
        Self { buf, len }
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        // len is 0 or a length that fitted in buf.
        self.buf.get(..self.len).unwrap_or_default()
    }
}
