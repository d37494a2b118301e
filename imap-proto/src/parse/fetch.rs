//! FETCH attributes and sections.

use std::num::NonZeroU32;

use nom::{
    Parser,
    branch::alt,
    bytes::streaming::{tag, take_while1},
    combinator::{cut, map, opt},
    multi::separated_list1,
    sequence::{delimited, preceded},
};

use super::{
    ErrorKind, PResult,
    core::{astring, number64_value, nz_number, nz_number64, sp},
    fail, reject,
};
use crate::types::{
    fetch::{FetchAttribute, FetchItems, Partial, Section, SectionText},
    non_empty::NonEmpty,
};

/// A keyword made of letters, digits, `.` and `-`, as in `BODY.PEEK` or `RFC822.SIZE`.
pub(crate) fn token(input: &[u8]) -> PResult<'_, &[u8]> {
    take_while1(|b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-').parse(input)
}

/// Wraps a list the grammar guarantees non-empty.
pub(crate) fn non_empty<T>(input: &[u8], items: Vec<T>) -> PResult<'_, NonEmpty<T>> {
    match NonEmpty::try_from(items) {
        Ok(items) => Ok((input, items)),
        Err(_) => fail(input, ErrorKind::Invalid),
    }
}

/// `section-part = nz-number *("." nz-number)`
fn section_part(input: &[u8]) -> PResult<'_, Vec<NonZeroU32>> {
    separated_list1(tag(&b"."[..]), nz_number).parse(input)
}

/// `header-list = "(" header-fld-name *(SP header-fld-name) ")"`
fn header_list(input: &[u8]) -> PResult<'_, NonEmpty<crate::types::core::AString>> {
    let (rest, names) =
        delimited(tag(&b"("[..]), separated_list1(sp, astring), tag(&b")"[..])).parse(input)?;
    non_empty(rest, names)
}

/// `section-msgtext / "MIME"`, after the `token` that names it.
fn section_text(input: &[u8]) -> PResult<'_, SectionText> {
    let (rest, name) = token(input)?;
    let upper = super::Upper::new(name);
    match upper.as_slice() {
        b"HEADER" => Ok((rest, SectionText::Header)),
        b"TEXT" => Ok((rest, SectionText::Text)),
        b"MIME" => Ok((rest, SectionText::Mime)),
        b"HEADER.FIELDS" => map(preceded(sp, header_list), SectionText::HeaderFields).parse(rest),
        b"HEADER.FIELDS.NOT" => {
            map(preceded(sp, header_list), SectionText::HeaderFieldsNot).parse(rest)
        }
        _ => fail(input, ErrorKind::Invalid),
    }
}

/// `section = "[" [section-spec] "]"`
pub(crate) fn section(input: &[u8]) -> PResult<'_, Section> {
    let (rest, _) = tag(&b"["[..]).parse(input)?;
    // After "[" only a section can follow: no alternative may take over.
    cut(section_body).parse(rest)
}

fn section_body(rest: &[u8]) -> PResult<'_, Section> {
    let input = rest;
    let (rest, part) = opt(section_part).parse(rest)?;
    let part = part.unwrap_or_default();
    let (rest, text) = if part.is_empty() {
        opt(section_text).parse(rest)?
    } else {
        opt(preceded(tag(&b"."[..]), section_text)).parse(rest)?
    };
    let (rest, _) = tag(&b"]"[..]).parse(rest)?;
    match Section::new(part, text) {
        Ok(section) => Ok((rest, section)),
        // RFC 3501 §6.4.5: "The MIME part specifier MUST be prefixed by one or more numeric
        // part specifiers."
        Err(_) => fail(input, ErrorKind::Invalid),
    }
}

/// `section-binary = "[" [section-part] "]"`
fn section_binary(input: &[u8]) -> PResult<'_, Vec<NonZeroU32>> {
    map(
        delimited(tag(&b"["[..]), opt(section_part), tag(&b"]"[..])),
        Option::unwrap_or_default,
    )
    .parse(input)
}

/// `partial = "<" number64 "." nz-number64 ">"`
fn partial(input: &[u8]) -> PResult<'_, Partial> {
    map(
        (
            tag(&b"<"[..]),
            number64_value,
            tag(&b"."[..]),
            nz_number64,
            tag(&b">"[..]),
        ),
        |(_, offset, _, length, _)| Partial { offset, length },
    )
    .parse(input)
}

/// `fetch-att`
pub(crate) fn fetch_attribute(input: &[u8]) -> PResult<'_, FetchAttribute> {
    let (rest, name) = token(input)?;
    let upper = super::Upper::new(name);
    match upper.as_slice() {
        b"BODY" | b"BODY.PEEK" => {
            let peek = upper.as_slice().len() > 4;
            let (rest, section) = if peek {
                map(section, Some).parse(rest)?
            } else {
                opt(section).parse(rest)?
            };
            match section {
                None => Ok((rest, FetchAttribute::Body)),
                Some(section) => {
                    let (rest, partial) = opt(partial).parse(rest)?;
                    Ok((
                        rest,
                        FetchAttribute::BodySection {
                            peek,
                            section,
                            partial,
                        },
                    ))
                }
            }
        }
        b"BINARY" | b"BINARY.PEEK" => {
            let (rest, (part, partial)) = (section_binary, opt(partial)).parse(rest)?;
            Ok((
                rest,
                FetchAttribute::Binary {
                    peek: upper.as_slice().len() > 6,
                    part,
                    partial,
                },
            ))
        }
        b"BINARY.SIZE" => {
            map(section_binary, |part| FetchAttribute::BinarySize { part }).parse(rest)
        }
        _ => match crate::keywords::by_name(&FetchAttribute::SIMPLE, name) {
            Some(attribute) => Ok((rest, attribute)),
            None => reject(input, ErrorKind::Invalid),
        },
    }
}

/// `"ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")"`
pub(crate) fn fetch_items(input: &[u8]) -> PResult<'_, FetchItems> {
    let list = |input| {
        let (rest, items) = delimited(
            tag(&b"("[..]),
            separated_list1(sp, fetch_attribute),
            tag(&b")"[..]),
        )
        .parse(input)?;
        non_empty(rest, items)
    };
    let macro_ = |input| {
        let (rest, name) = token(input)?;
        match super::Upper::new(name).as_slice() {
            b"ALL" => Ok((rest, FetchItems::All)),
            b"FAST" => Ok((rest, FetchItems::Fast)),
            b"FULL" => Ok((rest, FetchItems::Full)),
            _ => reject(input, ErrorKind::Invalid),
        }
    };
    alt((
        map(list, FetchItems::Attributes),
        macro_,
        map(fetch_attribute, |a| {
            FetchItems::Attributes(NonEmpty::one(a))
        }),
    ))
    .parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode::to_bytes, testing::assert_prefixes_incomplete};

    #[test]
    fn kat() {
        let table: &[&[u8]] = &[
            b"ALL",
            b"(FLAGS)",
            b"(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From Subject \"x y\")])",
            b"(BODY[] BODY[1.2.MIME]<0.100> BODY[TEXT] BODY.PEEK[3.HEADER.FIELDS.NOT (To)])",
            b"(BINARY.PEEK[1.2]<5.10> BINARY[] BINARY.SIZE[2] BODYSTRUCTURE BODY MODSEQ)",
        ];
        for input in table {
            let mut with_end = input.to_vec();
            with_end.extend_from_slice(b"\r\n");
            let (rest, items) = fetch_items(&with_end).unwrap();
            assert_eq!(rest, b"\r\n");
            assert_eq!(to_bytes(&items), *input);
            assert_prefixes_incomplete(input, fetch_items);
        }
        let (_, single) = fetch_items(b"body[]<1.2>\r\n").unwrap();
        assert_eq!(to_bytes(&single), b"(BODY[]<1.2>)");
    }

    #[test]
    fn refused() {
        for bad in [
            &b"BODY[MIME]\r\n"[..],
            b"BODY[0]\r\n",
            b"BODY[]<0.0>\r\n",
            b"BODY.PEEK\r\n",
            b"BODY[HEADER.FIELDS ()]\r\n",
            b"NOPE\r\n",
        ] {
            assert!(
                matches!(
                    fetch_items(bad),
                    Err(nom::Err::Error(_) | nom::Err::Failure(_))
                ),
                "{bad:?}"
            );
        }
    }
}
