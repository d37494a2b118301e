//! Numbers, atoms, strings and literals.

use nom::{
    Needed, Parser,
    bytes::streaming::{tag, tag_no_case, take, take_while1},
    combinator::{map, opt, value},
};

use super::{ErrorKind, PResult, fail, reject};
use crate::{
    chars::{PLAIN_QUOTED_CHAR, is_astring_char, is_atom_char, is_tag_char, is_text_char},
    types::core::{
        AString, Atom, AtomExt, IString, Literal, Literal8, LiteralMode, NString, Number64,
        NzNumber64, Quoted, Tag,
    },
};

/// Parses ASCII digits as a number no larger than `max`.
fn digits(input: &[u8], max: u64) -> PResult<'_, u64> {
    let (rest, digits) = take_while1(|b: u8| b.is_ascii_digit()).parse(input)?;
    let mut n: u64 = 0;
    for d in digits {
        n = match n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
        {
            Some(n) if n <= max => n,
            _ => return fail(input, ErrorKind::Number),
        };
    }
    Ok((rest, n))
}

/// `number = 1*DIGIT` — RFC 3501 §9: "Unsigned 32-bit integer (0 <= n < 4,294,967,296)".
pub(crate) fn number(input: &[u8]) -> PResult<'_, u32> {
    let (rest, n) = digits(input, u64::from(u32::MAX))?;
    // Unwrap-free: `digits` already bounded n by u32::MAX.
    Ok((rest, u32::try_from(n).unwrap_or(u32::MAX)))
}

/// `number64 = 1*DIGIT` — RFC 9051 §9: "Unsigned 63-bit integer (0 <= n <=
/// 9,223,372,036,854,775,807)".
pub(crate) fn number64(input: &[u8]) -> PResult<'_, u64> {
    digits(input, i64::MAX as u64)
}

/// `number64` as a value type.
pub(crate) fn number64_value(input: &[u8]) -> PResult<'_, Number64> {
    let (rest, n) = number64(input)?;
    // number64 bounded n by NUMBER64_MAX, which is all Number64 checks.
    Ok((rest, Number64::try_from(n).unwrap_or_default()))
}

/// `nz-number64 = digit-nz *DIGIT` (RFC 9051), also RFC 7162 `mod-sequence-value`:
/// "Positive unsigned 63-bit integer".
pub(crate) fn nz_number64(input: &[u8]) -> PResult<'_, NzNumber64> {
    let (rest, n) = number64(input)?;
    match NzNumber64::try_from(n) {
        Ok(n) => Ok((rest, n)),
        Err(_) => fail(input, ErrorKind::Number),
    }
}

/// `nz-number = digit-nz *DIGIT` — RFC 3501 §9: "Non-zero unsigned 32-bit integer (0 < n <
/// 4,294,967,296)".
pub(crate) fn nz_number(input: &[u8]) -> PResult<'_, std::num::NonZeroU32> {
    match input.first() {
        None => Err(nom::Err::Incomplete(Needed::new(1))),
        Some(b'1'..=b'9') => {
            let (rest, n) = number(input)?;
            match std::num::NonZeroU32::new(n) {
                Some(n) => Ok((rest, n)),
                None => fail(input, ErrorKind::Number),
            }
        }
        Some(_) => reject(input, ErrorKind::Number),
    }
}

/// A run of octets the caller's ASCII class allows (every class here is ASCII-only, so
/// the run is valid UTF-8 without a check).
fn ascii_run(input: &[u8], class: fn(u8) -> bool) -> PResult<'_, &[u8]> {
    take_while1(class).parse(input)
}

/// The octets of an `atom`, for callers that match them before building one.
pub(crate) fn atom_bytes(input: &[u8]) -> PResult<'_, &[u8]> {
    ascii_run(input, is_atom_char)
}

/// `atom = 1*ATOM-CHAR`
pub(crate) fn atom(input: &[u8]) -> PResult<'_, Atom> {
    map(|i| ascii_run(i, is_atom_char), Atom::unvalidated_ascii).parse(input)
}

/// `1*ASTRING-CHAR`
pub(crate) fn atom_ext(input: &[u8]) -> PResult<'_, AtomExt> {
    map(
        |i| ascii_run(i, is_astring_char),
        AtomExt::unvalidated_ascii,
    )
    .parse(input)
}

/// `tag = 1*<any ASTRING-CHAR except "+">`
pub(crate) fn tag_(input: &[u8]) -> PResult<'_, Tag> {
    map(|i| ascii_run(i, is_tag_char), Tag::unvalidated_ascii).parse(input)
}

/// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`
pub(crate) fn quoted(input: &[u8]) -> PResult<'_, Quoted> {
    let (rest, _) = tag(&b"\""[..]).parse(input)?;
    quoted_content(input, rest)
}

/// The content and closing quote of the quoted string `input`, whose opening quote the
/// caller has matched; `rest` is what follows that quote.
fn quoted_content<'a>(input: &'a [u8], mut rest: &'a [u8]) -> PResult<'a, Quoted> {
    // Fastest path, most quoted strings: plain ASCII up to the closing quote, found in one
    // table-driven pass with no UTF-8 check needed.
    if let Some(end) = rest
        .iter()
        .position(|&b| !PLAIN_QUOTED_CHAR[usize::from(b)])
        && rest.get(end) == Some(&b'"')
    {
        let (content, after) = rest.split_at(end);
        // `after` starts with the closing quote found above.
        return Ok((
            after.get(1..).unwrap_or_default(),
            Quoted::unvalidated_ascii(content),
        ));
    }
    // Fast path: no escape before the closing quote, so the content is one slice.
    if let Some(end) = memchr::memchr2(b'"', b'\\', rest)
        && rest.get(end) == Some(&b'"')
        // end was found inside rest, so the slice is in bounds.
        && memchr::memchr3(b'\r', b'\n', 0, &rest[..end]).is_none()
    {
        let (content, after) = rest.split_at(end);
        return match std::str::from_utf8(content) {
            // `after` starts with the closing quote found above.
            Ok(text) => Ok((
                after.get(1..).unwrap_or_default(),
                Quoted::unvalidated_str(text),
            )),
            Err(_) => fail(input, ErrorKind::Invalid),
        };
    }
    let mut out = Vec::new();
    loop {
        match rest {
            [] => return Err(nom::Err::Incomplete(Needed::Unknown)),
            [b'"', tail @ ..] => {
                rest = tail;
                break;
            }
            // `"\" quoted-specials` is the only escape.
            [b'\\', b'"' | b'\\', ..] => {
                out.push(rest[1]);
                rest = &rest[2..];
            }
            [b'\\'] => return Err(nom::Err::Incomplete(Needed::new(1))),
            [b'\\', ..] => return fail(rest, ErrorKind::Invalid),
            [b, tail @ ..] if b.is_ascii() && !is_text_char(*b) => {
                let _ = tail;
                return fail(rest, ErrorKind::Invalid);
            }
            [b, tail @ ..] => {
                out.push(*b);
                rest = tail;
            }
        }
    }
    // RFC 9051 allows UTF8-2..4 in quoted strings; anything else non-ASCII is refused.
    match String::from_utf8(out) {
        Ok(text) => Ok((rest, Quoted::unvalidated(text))),
        Err(_) => fail(input, ErrorKind::Invalid),
    }
}

/// The header of a literal: `"{" number64 ["+"] "}" CRLF`, without the `~` of `literal8`.
pub(crate) fn literal_header(input: &[u8]) -> PResult<'_, (u64, LiteralMode)> {
    let (rest, (_, length, plus, _)) = (
        tag(&b"{"[..]),
        number64,
        opt(tag(&b"+"[..])),
        tag(&b"}\r\n"[..]),
    )
        .parse(input)?;
    let mode = if plus.is_some() {
        LiteralMode::NonSync
    } else {
        LiteralMode::Sync
    };
    Ok((rest, (length, mode)))
}

/// Takes the `length` octets a literal header announced.
fn literal_data(input: &[u8], length: u64) -> PResult<'_, &[u8]> {
    match usize::try_from(length) {
        Ok(length) => take(length).parse(input),
        Err(_) => fail(input, ErrorKind::Number),
    }
}

/// `literal = "{" number64 ["+"] "}" CRLF *CHAR8`
pub(crate) fn literal(input: &[u8]) -> PResult<'_, Literal> {
    let (rest, (length, mode)) = literal_header(input)?;
    let (rest, data) = literal_data(rest, length)?;
    // `CHAR8 = %x01-ff`: a literal holds no NUL (searched with SIMD, literals are large).
    if memchr::memchr(0, data).is_some() {
        return fail(input, ErrorKind::Invalid);
    }
    Ok((rest, Literal::unvalidated(data.to_vec(), mode)))
}

/// `literal8 = "~{" number64 ["+"] "}" CRLF *OCTET`: RFC 9051's rule with the `["+"]` of
/// RFC 4466, which RFC 7888 §8 lets LITERAL+ and LITERAL- use.
pub(crate) fn literal8(input: &[u8]) -> PResult<'_, Literal8> {
    let (rest, _) = tag(&b"~"[..]).parse(input)?;
    let (rest, (length, mode)) = literal_header(rest)?;
    let (rest, data) = literal_data(rest, length)?;
    Ok((
        rest,
        Literal8 {
            data: data.to_vec(),
            mode,
        },
    ))
}

/// `string = quoted / literal`
pub(crate) fn string(input: &[u8]) -> PResult<'_, IString> {
    // The first byte decides; no alternative is tried in vain.
    match input.split_first() {
        None => Err(nom::Err::Incomplete(Needed::new(1))),
        Some((b'"', rest)) => {
            let (rest, quoted) = quoted_content(input, rest)?;
            Ok((rest, IString::Quoted(quoted)))
        }
        Some((b'{', _)) => {
            let (rest, literal) = literal(input)?;
            Ok((rest, IString::Literal(literal)))
        }
        Some(_) => reject(input, ErrorKind::Nom(nom::error::ErrorKind::Alt)),
    }
}

/// `astring = 1*ASTRING-CHAR / string`
pub(crate) fn astring(input: &[u8]) -> PResult<'_, AString> {
    match input.first() {
        Some(b'"' | b'{') => map(string, AString::String).parse(input),
        _ => map(atom_ext, AString::Atom).parse(input),
    }
}

/// `nil = "NIL"`
pub(crate) fn nil(input: &[u8]) -> PResult<'_, ()> {
    value((), tag_no_case(&b"NIL"[..])).parse(input)
}

/// `nstring = string / nil`
pub(crate) fn nstring(input: &[u8]) -> PResult<'_, NString> {
    match input.first() {
        Some(b'N' | b'n') => {
            let (rest, ()) = nil(input)?;
            Ok((rest, NString(None)))
        }
        _ => {
            let (rest, string) = string(input)?;
            Ok((rest, NString(Some(string))))
        }
    }
}

/// `SP`
pub(crate) fn sp(input: &[u8]) -> PResult<'_, &[u8]> {
    tag(&b" "[..]).parse(input)
}

/// `CRLF`
pub(crate) fn crlf(input: &[u8]) -> PResult<'_, &[u8]> {
    tag(&b"\r\n"[..]).parse(input)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{encode::to_bytes, testing::assert_prefixes_incomplete};

    #[test]
    fn number_bounds() {
        // RFC 3501 §9: number is an "Unsigned 32-bit integer (0 <= n < 4,294,967,296)".
        assert_eq!(number(b"4294967295 ").unwrap().1, u32::MAX);
        assert!(matches!(number(b"4294967296 "), Err(nom::Err::Failure(_))));
        assert_eq!(number(b"007 ").unwrap().1, 7);
        assert!(matches!(number(b"12"), Err(nom::Err::Incomplete(_))));
        assert_eq!(nz_number(b"1 ").unwrap().1.get(), 1);
        assert!(nz_number(b"0 ").is_err());
        assert!(nz_number(b"01 ").is_err());
        assert!(matches!(
            nz_number(b"4294967296 "),
            Err(nom::Err::Failure(_))
        ));
        assert!(number64(b"9223372036854775808 ").is_err());
    }

    #[test]
    fn kat_strings() {
        let table: &[(&[u8], &[u8], AString)] = &[
            (
                b"INBOX ",
                b" ",
                AString::Atom(AtomExt::unvalidated_ascii(b"INBOX")),
            ),
            (
                b"a]b)",
                b")",
                AString::Atom(AtomExt::unvalidated_ascii(b"a]b")),
            ),
            (
                b"\"a\\\"b\\\\\" ",
                b" ",
                AString::String(IString::Quoted(Quoted::unvalidated("a\"b\\".into()))),
            ),
            (
                b"{3}\r\na\r\n ",
                b" ",
                AString::String(IString::Literal(Literal::unvalidated(
                    b"a\r\n".to_vec(),
                    LiteralMode::Sync,
                ))),
            ),
            (
                b"{0+}\r\n)",
                b")",
                AString::String(IString::Literal(Literal::unvalidated(
                    Vec::new(),
                    LiteralMode::NonSync,
                ))),
            ),
        ];
        for (input, rest, expected) in table {
            let (got_rest, got) = astring(input).unwrap();
            assert_eq!((got_rest, &got), (*rest, expected), "{input:?}");
            let encoded = to_bytes(&got);
            assert_eq!(encoded, input[..input.len() - rest.len()]);
            assert_prefixes_incomplete(&encoded, astring);
        }
    }

    #[test]
    fn strings_refused() {
        for bad in [
            &b"\"a\rb\""[..],
            b"\"\\a\"",
            b"{1}\r\n\0",
            b"{x}\r\n",
            b"{1}\n",
        ] {
            assert!(
                matches!(astring(bad), Err(nom::Err::Error(_) | nom::Err::Failure(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            literal(b"{99999999999999999999}\r\n"),
            Err(nom::Err::Failure(_))
        ));
        assert_eq!(literal8(b"~{2}\r\n\0\x01").unwrap().1.data, vec![0, 1]);
    }
}
