//! ENVELOPE and BODYSTRUCTURE.

use nom::{
    Parser,
    branch::alt,
    bytes::streaming::tag,
    combinator::map,
    multi::separated_list1,
    sequence::{delimited, preceded},
};

use super::{
    ErrorKind, PResult, byte,
    core::{nil, nstring, number, number64_value, sp, string},
    fail,
    fetch::non_empty,
    opt_sp, paren_list,
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
    let (rest, ()) = byte(input, b'(')?;
    let (rest, name) = nstring(rest)?;
    let (rest, ()) = byte(rest, b' ')?;
    let (rest, adl) = nstring(rest)?;
    let (rest, ()) = byte(rest, b' ')?;
    let (rest, mailbox) = nstring(rest)?;
    let (rest, ()) = byte(rest, b' ')?;
    let (rest, host) = nstring(rest)?;
    let (rest, ()) = byte(rest, b')')?;
    Ok((
        rest,
        Address {
            name,
            adl,
            mailbox,
            host,
        },
    ))
}

/// `"(" 1*address ")" / nil`: the addresses follow each other without a separator.
fn address_list(input: &[u8]) -> PResult<'_, Vec<Address>> {
    if input.first() != Some(&b'(') {
        return map(nil, |()| Vec::new()).parse(input);
    }
    let (mut rest, ()) = byte(input, b'(')?;
    // Most lists hold one address (From, Sender, Reply-To); To and Cc a few.
    let mut addresses = Vec::with_capacity(1);
    loop {
        let (after, address) = address(rest)?;
        addresses.push(address);
        rest = after;
        match rest.first() {
            Some(b'(') => {}
            _ => {
                let (rest, ()) = byte(rest, b')')?;
                return Ok((rest, addresses));
            }
        }
    }
}

/// `envelope`, boxed as both places that hold one keep it: built in its box, the large value
/// is not copied through every caller's result.
pub(crate) fn envelope(input: &[u8]) -> PResult<'_, Box<Envelope>> {
    let (rest, ()) = byte(input, b'(')?;
    let (rest, date) = nstring(rest)?;
    let (rest, ()) = byte(rest, b' ')?;
    let (rest, subject) = nstring(rest)?;
    let mut lists: [Vec<Address>; 6] = Default::default();
    let mut rest = rest;
    for list in &mut lists {
        let (after, ()) = byte(rest, b' ')?;
        (rest, *list) = address_list(after)?;
    }
    let (rest, ()) = byte(rest, b' ')?;
    let (rest, in_reply_to) = nstring(rest)?;
    let (rest, ()) = byte(rest, b' ')?;
    let (rest, message_id) = nstring(rest)?;
    let (rest, ()) = byte(rest, b')')?;
    let [from, sender, reply_to, to, cc, bcc] = lists;
    Ok((
        rest,
        Box::new(Envelope {
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
        }),
    ))
}

/// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil`
fn parameters(input: &[u8]) -> PResult<'_, Parameters> {
    if input.first() != Some(&b'(') {
        return map(nil, |()| Vec::new()).parse(input);
    }
    // One pair (CHARSET, NAME, BOUNDARY) is by far the most common.
    paren_list(input, false, 1, |i| {
        let (rest, key) = string(i)?;
        let (rest, ()) = byte(rest, b' ')?;
        let (rest, value) = string(rest)?;
        Ok((rest, (key, value)))
    })
}

/// `body-fields`
fn body_fields(input: &[u8]) -> PResult<'_, BodyFields> {
    let (rest, parameters) = parameters(input)?;
    let (rest, ()) = byte(rest, b' ')?;
    let (rest, id) = nstring(rest)?;
    let (rest, ()) = byte(rest, b' ')?;
    let (rest, description) = nstring(rest)?;
    let (rest, ()) = byte(rest, b' ')?;
    let (rest, encoding) = string(rest)?;
    let (rest, ()) = byte(rest, b' ')?;
    let (rest, octets) = number(rest)?;
    Ok((
        rest,
        BodyFields {
            parameters,
            id,
            description,
            encoding,
            octets,
        },
    ))
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

/// `body-fld-dsp = "(" string SP body-fld-param ")" / nil`
fn disposition(input: &[u8]) -> PResult<'_, Option<Disposition>> {
    if input.first() != Some(&b'(') {
        return map(nil, |()| None).parse(input);
    }
    let (rest, ()) = byte(input, b'(')?;
    let (rest, kind) = string(rest)?;
    let (rest, ()) = byte(rest, b' ')?;
    let (rest, parameters) = parameters(rest)?;
    let (rest, ()) = byte(rest, b')')?;
    Ok((rest, Some(Disposition { kind, parameters })))
}

/// `body-fld-lang = nstring / "(" string *(SP string) ")"`
fn languages(input: &[u8]) -> PResult<'_, Vec<crate::types::core::IString>> {
    if input.first() == Some(&b'(') {
        paren_list(input, false, 1, string)
    } else {
        map(nstring, |s| s.0.into_iter().collect()).parse(input)
    }
}

/// `[SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]`
fn extension_tail(input: &[u8], depth: usize) -> PResult<'_, Option<ExtensionTail>> {
    let (rest, disposition) = opt_sp(input, disposition)?;
    let Some(disposition) = disposition else {
        return Ok((rest, None));
    };
    let (rest, languages) = opt_sp(rest, languages)?;
    let Some(languages) = languages else {
        return Ok((
            rest,
            Some(ExtensionTail {
                disposition,
                language: None,
            }),
        ));
    };
    let (rest, location) = opt_sp(rest, nstring)?;
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
    let (rest, ()) = byte(input, b'(')?;
    let (rest, structure) = if rest.first() == Some(&b'(') {
        multipart(rest, depth)?
    } else {
        single_part(rest, depth)?
    };
    let (rest, ()) = byte(rest, b')')?;
    Ok((rest, structure))
}

/// `body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]`
fn multipart(input: &[u8], depth: usize) -> PResult<'_, BodyStructure> {
    // `1*body`: the parts follow each other without a separator; two (text and HTML, or a
    // text and an attachment) are the most common.
    let mut parts = Vec::with_capacity(2);
    let mut rest = input;
    loop {
        let (after, part) = body(rest, depth - 1)?;
        parts.push(part);
        rest = after;
        if rest.first() != Some(&b'(') {
            break;
        }
    }
    let (rest, parts) = non_empty(rest, parts)?;
    let (rest, ()) = byte(rest, b' ')?;
    let (rest, subtype) = string(rest)?;
    let (rest, extension) = match opt_sp(rest, parameters)? {
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
    let (rest, media_type) = string(input)?;
    let (rest, ()) = byte(rest, b' ')?;
    let (rest, subtype) = string(rest)?;
    let (rest, ()) = byte(rest, b' ')?;
    let (rest, fields) = body_fields(rest)?;
    let (rest, kind) = match kind_for(media_type.as_bytes(), subtype.as_bytes()) {
        KindTag::Basic => (rest, BodyKind::Basic),
        KindTag::Text => map(preceded(sp, number64_value), |lines| BodyKind::Text {
            lines,
        })
        .parse(rest)?,
        KindTag::Message => map(
            (sp, envelope, sp, |i| body(i, depth - 1), sp, number64_value),
            |(_, envelope, _, body, _, lines)| BodyKind::Message {
                envelope,
                body: Box::new(body),
                lines,
            },
        )
        .parse(rest)?,
    };
    let (rest, extension) = match opt_sp(rest, nstring)? {
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

    /// The deepest structures the default limit admits (nested multiparts, nested
    /// MESSAGE/RFC822 parts, nested extension lists) decode on a 2 MiB stack, the default for
    /// spawned threads, in debug builds too: nesting is bounded so that no input can
    /// overflow the stack.
    #[test]
    fn deepest_allowed_nesting_fits_a_small_stack() {
        let depth = crate::options::Options::default().max_nesting_depth;
        let leaf = &b"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)"[..];
        let mut multipart = leaf.to_vec();
        let mut message = leaf.to_vec();
        for _ in 1..depth {
            multipart = [&b"("[..], &multipart, b" \"MIXED\")"].concat();
            message = [
                &b"(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 1 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "[..],
                &message,
                b" 1)",
            ]
            .concat();
        }
        let mut extension = b"1".to_vec();
        for _ in 2..depth {
            extension = [&b"("[..], &extension, b")"].concat();
        }
        let extension = [
            &b"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1 NIL NIL NIL NIL "[..],
            &extension,
            b")",
        ]
        .concat();
        let inputs = [multipart, message, extension];
        let worker = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                for input in &inputs {
                    let with_end = [input.as_slice(), b"\r\n"].concat();
                    let (rest, structure) = body(&with_end, depth)
                        .unwrap_or_else(|e| panic!("{}: {e:?}", String::from_utf8_lossy(input)));
                    assert_eq!(rest, b"\r\n");
                    assert_eq!(to_bytes(&structure), *input);
                }
            })
            .expect("spawning a test thread");
        worker
            .join()
            .expect("decoded without overflowing the stack");
    }
}
