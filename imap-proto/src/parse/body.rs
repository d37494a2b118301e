//! ENVELOPE and BODYSTRUCTURE.

use nom::{
    Parser,
    branch::alt,
    bytes::streaming::tag,
    combinator::{map, opt},
    multi::{many1, separated_list1},
    sequence::{delimited, preceded},
};

use super::{
    ErrorKind, PResult,
    core::{nil, nstring, number, number64_value, sp, string},
    fail,
    fetch::non_empty,
};
use crate::types::{
    body::{
        Body, BodyExtension, BodyFields, BodyKind, BodyStructure, Disposition, ExtensionTail,
        KindTag, LanguageTail, LocationTail, MultiPartExtension, Parameters, SinglePartExtension,
        kind_for,
    },
    envelope::{Address, Envelope},
};

/// `address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"`
fn address(input: &[u8]) -> PResult<'_, Address> {
    map(
        (
            tag(&b"("[..]),
            nstring,
            sp,
            nstring,
            sp,
            nstring,
            sp,
            nstring,
            tag(&b")"[..]),
        ),
        |(_, name, _, adl, _, mailbox, _, host, _)| Address {
            name,
            adl,
            mailbox,
            host,
        },
    )
    .parse(input)
}

/// `"(" 1*address ")" / nil`
fn address_list(input: &[u8]) -> PResult<'_, Vec<Address>> {
    alt((
        delimited(tag(&b"("[..]), many1(address), tag(&b")"[..])),
        map(nil, |()| Vec::new()),
    ))
    .parse(input)
}

/// `envelope`
pub(crate) fn envelope(input: &[u8]) -> PResult<'_, Envelope> {
    let (rest, (_, date, _, subject, _, from, _, sender, _, reply_to, _, to, _, cc, _, bcc)) = (
        tag(&b"("[..]),
        nstring,
        sp,
        nstring,
        sp,
        address_list,
        sp,
        address_list,
        sp,
        address_list,
        sp,
        address_list,
        sp,
        address_list,
        sp,
        address_list,
    )
        .parse(input)?;
    let (rest, (_, in_reply_to, _, message_id, _)) =
        (sp, nstring, sp, nstring, tag(&b")"[..])).parse(rest)?;
    Ok((
        rest,
        Envelope {
            date,
            subject,
            from,
            sender,
            reply_to,
            to,
            cc,
            bcc,
            in_reply_to,
            message_id,
        },
    ))
}

/// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil`
fn parameters(input: &[u8]) -> PResult<'_, Parameters> {
    alt((
        delimited(
            tag(&b"("[..]),
            separated_list1(sp, map((string, sp, string), |(k, _, v)| (k, v))),
            tag(&b")"[..]),
        ),
        map(nil, |()| Vec::new()),
    ))
    .parse(input)
}

/// `body-fields`
fn body_fields(input: &[u8]) -> PResult<'_, BodyFields> {
    map(
        (parameters, sp, nstring, sp, nstring, sp, string, sp, number),
        |(parameters, _, id, _, description, _, encoding, _, octets)| BodyFields {
            parameters,
            id,
            description,
            encoding,
            octets,
        },
    )
    .parse(input)
}

/// `body-extension`, nesting at most `depth` lists.
fn body_extension(input: &[u8], depth: usize) -> PResult<'_, BodyExtension> {
    if depth == 0 {
        return fail(input, ErrorKind::RecursionLimit);
    }
    alt((
        map(nstring, BodyExtension::NString),
        map(number64_value, BodyExtension::Number),
        |i| {
            let (rest, items) = delimited(
                tag(&b"("[..]),
                separated_list1(sp, |i| body_extension(i, depth - 1)),
                tag(&b")"[..]),
            )
            .parse(i)?;
            let (rest, items) = non_empty(rest, items)?;
            Ok((rest, BodyExtension::List(items)))
        },
    ))
    .parse(input)
}

/// `[SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]`
fn extension_tail(input: &[u8], depth: usize) -> PResult<'_, Option<ExtensionTail>> {
    let disposition = alt((
        map(
            delimited(tag(&b"("[..]), (string, sp, parameters), tag(&b")"[..])),
            |(kind, _, parameters)| Some(Disposition { kind, parameters }),
        ),
        map(nil, |()| None),
    ));
    let (rest, disposition) = opt(preceded(sp, disposition)).parse(input)?;
    let Some(disposition) = disposition else {
        return Ok((rest, None));
    };
    let language = alt((
        delimited(tag(&b"("[..]), separated_list1(sp, string), tag(&b")"[..])),
        map(nstring, |s| s.0.into_iter().collect()),
    ));
    let (rest, languages) = opt(preceded(sp, language)).parse(rest)?;
    let Some(languages) = languages else {
        return Ok((
            rest,
            Some(ExtensionTail {
                disposition,
                language: None,
            }),
        ));
    };
    let (rest, location) = opt(preceded(sp, nstring)).parse(rest)?;
    let (rest, location) = match location {
        None => (rest, None),
        Some(location) => {
            let (rest, extensions) =
                super::many0_lazy(preceded(sp, |i| body_extension(i, depth))).parse(rest)?;
            (
                rest,
                Some(LocationTail {
                    location,
                    extensions,
                }),
            )
        }
    };
    Ok((
        rest,
        Some(ExtensionTail {
            disposition,
            language: Some(LanguageTail {
                languages,
                location,
            }),
        }),
    ))
}

/// `body = "(" (body-type-1part / body-type-mpart) ")"`, nesting at most `depth` deep.
pub(crate) fn body(input: &[u8], depth: usize) -> PResult<'_, BodyStructure> {
    if depth == 0 {
        return fail(input, ErrorKind::RecursionLimit);
    }
    let (rest, _) = tag(&b"("[..]).parse(input)?;
    let (rest, structure) = if rest.first() == Some(&b'(') {
        multipart(rest, depth)?
    } else {
        single_part(rest, depth)?
    };
    let (rest, _) = tag(&b")"[..]).parse(rest)?;
    Ok((rest, structure))
}

/// `body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]`
fn multipart(input: &[u8], depth: usize) -> PResult<'_, BodyStructure> {
    let (rest, parts) = many1(|i| body(i, depth - 1)).parse(input)?;
    let (rest, parts) = non_empty(rest, parts)?;
    let (rest, (_, subtype)) = (sp, string).parse(rest)?;
    let (rest, extension) = match opt(preceded(sp, parameters)).parse(rest)? {
        (rest, Some(parameters)) => {
            let (rest, tail) = extension_tail(rest, depth)?;
            (rest, Some(MultiPartExtension { parameters, tail }))
        }
        (rest, None) => (rest, None),
    };
    Ok((
        rest,
        BodyStructure::Multi {
            parts,
            subtype,
            extension,
        },
    ))
}

/// `body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]`
fn single_part(input: &[u8], depth: usize) -> PResult<'_, BodyStructure> {
    let (rest, (media_type, _, subtype, _, fields)) =
        (string, sp, string, sp, body_fields).parse(input)?;
    let (rest, kind) = match kind_for(media_type.as_bytes(), subtype.as_bytes()) {
        KindTag::Basic => (rest, BodyKind::Basic),
        KindTag::Text => map(preceded(sp, number64_value), |lines| BodyKind::Text {
            lines,
        })
        .parse(rest)?,
        KindTag::Message => map(
            (sp, envelope, sp, |i| body(i, depth - 1), sp, number64_value),
            |(_, envelope, _, body, _, lines)| BodyKind::Message {
                envelope: Box::new(envelope),
                body: Box::new(body),
                lines,
            },
        )
        .parse(rest)?,
    };
    let (rest, extension) = match opt(preceded(sp, nstring)).parse(rest)? {
        (rest, Some(md5)) => {
            let (rest, tail) = extension_tail(rest, depth)?;
            (rest, Some(SinglePartExtension { md5, tail }))
        }
        (rest, None) => (rest, None),
    };
    match Body::new(media_type, subtype, fields, kind) {
        Ok(body) => Ok((
            rest,
            BodyStructure::Single {
                body: Box::new(body),
                extension,
            },
        )),
        Err(_) => fail(input, ErrorKind::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode::to_bytes, testing::assert_prefixes_incomplete};

    fn parse(input: &[u8]) -> PResult<'_, BodyStructure> {
        body(input, 16)
    }

    #[test]
    fn kat_bodystructure() {
        let table: &[&[u8]] = &[
            // RFC 3501 §7.4.2 example.
            b"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)",
            b"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") \"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\")",
            b"(\"IMAGE\" \"PNG\" NIL NIL NIL \"BASE64\" 100 NIL (\"attachment\" (\"filename\" \"a.png\")) (\"en\" \"de\") \"loc\" 7 (\"x\" (1 2)))",
            b"((\"TEXT\" \"HTML\" NIL NIL NIL \"8BIT\" 10 1 NIL NIL \"en\") \"ALTERNATIVE\" (\"BOUNDARY\" \"b\") NIL)",
            b"(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 500 (NIL \"subj\" ((\"A\" NIL \"a\" \"x.org\")) NIL NIL NIL NIL NIL NIL \"<id@x>\") (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 10 1) 20)",
        ];
        for input in table {
            let mut with_end = input.to_vec();
            with_end.extend_from_slice(b"\r\n");
            let (rest, structure) = parse(&with_end)
                .unwrap_or_else(|e| panic!("{}: {e:?}", String::from_utf8_lossy(input)));
            assert_eq!(rest, b"\r\n");
            assert_eq!(
                String::from_utf8_lossy(&to_bytes(&structure)),
                String::from_utf8_lossy(input)
            );
            assert_prefixes_incomplete(input, parse);
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let mut deep = Vec::new();
        for _ in 0..40 {
            deep.extend_from_slice(b"(");
        }
        assert!(
            matches!(body(&deep, 16), Err(nom::Err::Failure(e)) if e.kind == ErrorKind::RecursionLimit)
        );
    }
}
