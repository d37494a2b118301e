//! ENVELOPE (RFC 3501 §7.4.2) and BODYSTRUCTURE from a parsed message. Address lists are
//! parsed by mail-parser; the other fields are the raw (unfolded) header values, as the RFC
//! wants them.

use imap_proto::types::{
    body::{
        Body, BodyFields, BodyKind, BodyStructure, Disposition, ExtensionTail, LanguageTail,
        LocationTail, MultiPartExtension, SinglePartExtension,
    },
    core::{IString, NString, Number64},
    envelope::{Address, Envelope},
    non_empty::NonEmpty,
};
use mail_parser::{Address as MpAddress, MessageParser};

use super::{
    mime::{self, Kind, Part},
    structure::Structure,
};

/// Header bytes handed to the address parser at most; a header of 500,000 lines costs no
/// more than this.
const MAX_ENVELOPE_HEADER: usize = 256 * 1024;

fn nstring(value: Option<&str>) -> NString {
    NString(value.and_then(|v| IString::from_bytes(v.as_bytes()).ok()))
}

fn istring(value: &str) -> IString {
    IString::from_bytes(value.as_bytes())
        .or_else(|_| IString::from_bytes(value.replace('\0', "").as_bytes()))
        .unwrap_or_else(|_| unreachable!("a string without NUL always fits a literal"))
}

fn address_list(list: Option<&MpAddress<'_>>) -> Vec<Address> {
    let addr = |name: Option<&str>, email: Option<&str>| {
        let (mailbox, host) = match email {
            Some(e) => match e.rsplit_once('@') {
                Some((m, h)) => (Some(m), Some(h)),
                None => (Some(e), None),
            },
            None => (None, None),
        };
        Address {
            name: nstring(name.filter(|n| !n.is_empty())),
            adl: NString(None),
            mailbox: nstring(mailbox),
            host: nstring(host),
        }
    };
    match list {
        None => Vec::new(),
        Some(MpAddress::List(items)) => items
            .iter()
            .map(|a| addr(a.name.as_deref(), a.address.as_deref()))
            .collect(),
        Some(MpAddress::Group(groups)) => {
            let mut out = Vec::new();
            for g in groups {
                let named = g.name.is_some();
                if named {
                    // RFC 3501 §7.4.2: a group starts with NIL host and the group name as
                    // mailbox, and ends with NIL mailbox and host.
                    out.push(Address {
                        name: NString(None),
                        adl: NString(None),
                        mailbox: nstring(g.name.as_deref()),
                        host: NString(None),
                    });
                }
                out.extend(
                    g.addresses
                        .iter()
                        .map(|a| addr(a.name.as_deref(), a.address.as_deref())),
                );
                if named {
                    out.push(Address {
                        name: NString(None),
                        adl: NString(None),
                        mailbox: NString(None),
                        host: NString(None),
                    });
                }
            }
            out
        }
    }
}

/// The header fields kept with a message's structure: what ENVELOPE is made of, plus
/// `References` for THREAD (SORT and THREAD read their keys from these too).
const ENVELOPE_FIELDS: [&[u8]; 11] = [
    b"Date",
    b"Subject",
    b"From",
    b"Sender",
    b"Reply-To",
    b"To",
    b"Cc",
    b"Bcc",
    b"In-Reply-To",
    b"Message-ID",
    b"References",
];

/// The part of a header block ENVELOPE reads: at most [`MAX_ENVELOPE_HEADER`] bytes, cut at
/// a line end.
fn envelope_part(header: &[u8]) -> &[u8] {
    let mut cut = header.len().min(MAX_ENVELOPE_HEADER);
    if cut < header.len() {
        cut = header[..cut]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
    }
    &header[..cut]
}

/// Only the lines of `header` that ENVELOPE reads, in order, then the blank line:
/// [`envelope`] of them equals [`envelope`] of the whole header (kept in the store's
/// structure record instead of the header).
pub(crate) fn envelope_fields(header: &[u8]) -> Vec<u8> {
    mime::select_fields(envelope_part(header), |name| {
        name.is_none_or(read_by_envelope)
    })
}

/// Whether ENVELOPE may read a field called `name`: one of [`ENVELOPE_FIELDS`], or a name
/// that is not a well-formed one, which mail-parser may still read as one of them (it read
/// `\x0cC\x0c\x0c\x0cC` as `Cc`; found by fuzzing). RFC 5322 §2.2: "A field name MUST be
/// composed of printable US-ASCII characters (i.e., characters that have values between 33
/// and 126, inclusive), except colon."
fn read_by_envelope(name: &[u8]) -> bool {
    let name = name.trim_ascii();
    name.is_empty()
        || !name.iter().all(|b| (33..=126).contains(b))
        || ENVELOPE_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// The ENVELOPE of a header block.
pub(crate) fn envelope(header: &[u8]) -> Envelope {
    let header = envelope_part(header);
    // A message that is all header and ends without a line end is read as if it had one,
    // as the kept fields ([`envelope_fields`]) always end with one; mail-parser reads a last
    // line differently with and without it.
    let ended;
    let header = if header.ends_with(b"\n") {
        header
    } else {
        ended = [header, b"\r\n"].concat();
        &ended
    };
    let fields = mime::fields(header);
    let raw = |name| mime::field(&fields, name);
    let parsed = MessageParser::new().parse_headers(header);
    let list = |f: for<'m> fn(&'m mail_parser::Message<'m>) -> Option<&'m MpAddress<'m>>| {
        parsed
            .as_ref()
            .map(|m| address_list(f(m)))
            .unwrap_or_default()
    };
    let from = list(|m| m.from());
    let mut sender = list(|m| m.sender());
    let mut reply_to = list(|m| m.reply_to());
    // RFC 3501 §7.4.2: sender and reply-to default to from.
    if sender.is_empty() {
        sender = from.clone();
    }
    if reply_to.is_empty() {
        reply_to = from.clone();
    }
    Envelope {
        date: nstring(raw("Date")),
        subject: nstring(raw("Subject")),
        from,
        sender,
        reply_to,
        to: list(|m| m.to()),
        cc: list(|m| m.cc()),
        bcc: list(|m| m.bcc()),
        in_reply_to: nstring(raw("In-Reply-To")),
        message_id: nstring(raw("Message-ID")),
    }
}

fn params(list: &[(String, String)]) -> Vec<(IString, IString)> {
    list.iter().map(|(k, v)| (istring(k), istring(v))).collect()
}

fn tail(part: &Part) -> ExtensionTail {
    ExtensionTail {
        disposition: part.disposition.as_ref().map(|(kind, p)| Disposition {
            kind: istring(kind),
            parameters: params(p),
        }),
        language: Some(LanguageTail {
            languages: part.language.iter().map(|l| istring(l)).collect(),
            location: Some(LocationTail {
                location: nstring(part.location.as_deref()),
                extensions: Vec::new(),
            }),
        }),
    }
}

/// BODYSTRUCTURE (`extended`) or BODY of a part of a message.
pub(crate) fn body_structure(message: &Structure, part: &Part, extended: bool) -> BodyStructure {
    if let Kind::Multi(children) = &part.kind {
        let parts: Vec<BodyStructure> = children
            .iter()
            .map(|c| body_structure(message, c, extended))
            .collect();
        if let Ok(parts) = NonEmpty::try_from(parts) {
            return BodyStructure::Multi {
                parts,
                subtype: istring(&part.subtype.to_ascii_uppercase()),
                extension: extended.then(|| MultiPartExtension {
                    parameters: params(&part.params),
                    tail: Some(tail(part)),
                }),
            };
        }
    }
    let lines = Number64::try_from(part.lines).unwrap_or_else(|_| unreachable!("u64 fits"));
    let kind = match &part.kind {
        Kind::Message(inner) => BodyKind::Message {
            envelope: Box::new(envelope(message.envelope_header(inner))),
            body: Box::new(body_structure(message, inner, extended)),
            lines,
        },
        _ if part.media_type == "text" => BodyKind::Text { lines },
        _ => BodyKind::Basic,
    };
    let fields = BodyFields {
        parameters: params(&part.params),
        id: nstring(part.id.as_deref()),
        description: nstring(part.description.as_deref()),
        encoding: istring(
            &part
                .encoding
                .as_deref()
                .unwrap_or("7BIT")
                .to_ascii_uppercase(),
        ),
        octets: u32::try_from(part.body.len()).unwrap_or(u32::MAX),
    };
    let media_type = istring(&part.media_type.to_ascii_uppercase());
    let subtype = istring(&part.subtype.to_ascii_uppercase());
    // The kind follows the media type, so Body::new accepts it; a message/rfc822 part that
    // was not split (too deep) is sent as a basic part of type APPLICATION.
    let body = Body::new(media_type, subtype.clone(), fields.clone(), kind).unwrap_or_else(|_| {
        Body::new(istring("APPLICATION"), subtype, fields, BodyKind::Basic)
            .unwrap_or_else(|_| unreachable!("APPLICATION is a basic type"))
    });
    BodyStructure::Single {
        body: Box::new(body),
        extension: extended.then(|| SinglePartExtension {
            md5: nstring(part.md5.as_deref()),
            tail: Some(tail(part)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_defaults_and_groups() {
        let h =
            b"From: Alice Example <alice@example.test>\r\nTo: undisclosed:;\r\nSubject: hi\r\n\r\n";
        let e = envelope(h);
        assert_eq!(e.sender, e.from);
        assert_eq!(e.reply_to, e.from);
        assert_eq!(
            e.from[0].host.0.as_ref().map(|s| s.as_bytes()),
            Some(&b"example.test"[..])
        );
        assert_eq!(e.subject.0.as_ref().map(|s| s.as_bytes()), Some(&b"hi"[..]));
        assert!(e.bcc.is_empty());
    }

    #[test]
    fn structure_of_a_multipart() {
        let msg = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nhello\r\n--x\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--x--\r\n";
        let s = Structure::of(msg);
        let BodyStructure::Multi { parts, .. } = body_structure(&s, &s.root, true) else {
            panic!("multipart expected")
        };
        assert_eq!(parts.len(), 2);
    }
}
