//! Greetings and responses (RFC 3501 §7, RFC 9051 §7).

use std::num::NonZeroU32;

use nom::{
    Parser,
    branch::alt,
    bytes::streaming::{tag, tag_no_case, take_while, take_while1},
    combinator::{map, opt, value},
    multi::{many1, separated_list0, separated_list1},
    sequence::{delimited, preceded, terminated},
};

use super::{
    ErrorKind, PResult,
    body::{body, envelope},
    byte,
    command::{base64, status_item},
    core::{
        astring, atom, crlf, literal8, nil, nstring, number, number64_value, nz_number,
        nz_number64, quoted, sp, string, tag_,
    },
    datetime::date_time,
    fail,
    fetch::{non_empty, section, token},
    flag::{flag_fetch, flag_list, flag_perm},
    mailbox::mailbox,
    paren_list, reject,
    sequence::sequence_set,
};
use crate::{
    chars::is_text_char,
    keywords::by_name,
    types::{
        core::Tag,
        response::{
            BinaryData, Code, Continuation, Data, ESearchItem, FetchData, Greeting, GreetingKind,
            ListExtendedItem, ListItem, NamespaceEntry, OtherCode, Response, ResponseText,
            SimpleCode, StatusKind, Tagged, TaggedExtComp, TaggedExtSimple, TaggedExtValue, Text,
        },
    },
};

/// `"(" [status-att-val *(SP status-att-val)] ")"`
fn status_items_values(
    input: &[u8],
) -> PResult<
    '_,
    Vec<(
        crate::types::status::StatusItem,
        crate::types::core::Number64,
    )>,
> {
    delimited(
        tag(&b"("[..]),
        separated_list0(
            sp,
            map((status_item, sp, number64_value), |(i, _, n)| (i, n)),
        ),
        tag(&b")"[..]),
    )
    .parse(input)
}

/// `resp-text-code`
fn code(input: &[u8]) -> PResult<'_, Code> {
    let (rest, name) = atom(input)?;
    if let Some(simple) = by_name(&SimpleCode::ALL, name.as_bytes()) {
        return Ok((rest, Code::Simple(simple)));
    }
    let nz = |rest| preceded(sp, nz_number).parse(rest);
    match super::Upper::new(name.as_bytes()).as_slice() {
        b"BADCHARSET" => map(
            opt(preceded(
                sp,
                delimited(tag(&b"("[..]), separated_list1(sp, astring), tag(&b")"[..])),
            )),
            |charsets| Code::BadCharset(charsets.unwrap_or_default()),
        )
        .parse(rest),
        b"CAPABILITY" => {
            let (rest, caps) = many1(preceded(sp, atom)).parse(rest)?;
            let (rest, caps) = non_empty(rest, caps)?;
            Ok((rest, Code::Capability(caps)))
        }
        b"PERMANENTFLAGS" => map(
            preceded(
                sp,
                delimited(
                    tag(&b"("[..]),
                    separated_list0(sp, flag_perm),
                    tag(&b")"[..]),
                ),
            ),
            Code::PermanentFlags,
        )
        .parse(rest),
        b"UIDNEXT" => map(nz, Code::UidNext).parse(rest),
        b"UIDVALIDITY" => map(nz, Code::UidValidity).parse(rest),
        b"UNSEEN" => map(nz, Code::Unseen).parse(rest),
        b"APPENDUID" => map((nz, sp, sequence_set), |(uid_validity, _, uids)| {
            Code::AppendUid { uid_validity, uids }
        })
        .parse(rest),
        b"COPYUID" => map(
            (nz, sp, sequence_set, sp, sequence_set),
            |(uid_validity, _, source, _, destination)| Code::CopyUid {
                uid_validity,
                source,
                destination,
            },
        )
        .parse(rest),
        b"HIGHESTMODSEQ" => map(preceded(sp, nz_number64), Code::HighestModSeq).parse(rest),
        b"MODIFIED" => map(preceded(sp, sequence_set), Code::Modified).parse(rest),
        _ => {
            let args = take_while1(|b: u8| b != b']' && (b >= 0x80 || is_text_char(b)));
            let (rest, arguments) = opt(preceded(sp, args)).parse(rest)?;
            let arguments = match arguments.map(|a| std::str::from_utf8(a).map(str::to_owned)) {
                None => None,
                Some(Ok(a)) => Some(a),
                Some(Err(_)) => return fail(input, ErrorKind::Invalid),
            };
            match OtherCode::new(name, arguments) {
                Ok(other) => Ok((rest, Code::Other(other))),
                Err(_) => fail(input, ErrorKind::Invalid),
            }
        }
    }
}

/// `text`, possibly empty, up to CRLF.
fn text(input: &[u8]) -> PResult<'_, Text> {
    let (rest, run) = take_while(|b: u8| b >= 0x80 || is_text_char(b)).parse(input)?;
    match std::str::from_utf8(run)
        .ok()
        .and_then(|t| Text::try_from(t).ok())
    {
        Some(text) => Ok((rest, text)),
        None => fail(input, ErrorKind::Invalid),
    }
}

/// `resp-text = ["[" resp-text-code "]" SP] [text]`, also accepting a missing SP before it.
fn resp_text(input: &[u8]) -> PResult<'_, ResponseText> {
    let (rest, _) = opt(sp).parse(input)?;
    let (rest, code) = opt(delimited(tag(&b"["[..]), code, tag(&b"]"[..]))).parse(rest)?;
    let (rest, text) = if code.is_some() {
        preceded(opt(sp), text).parse(rest)?
    } else {
        text(rest)?
    };
    Ok((rest, ResponseText { code, text }))
}

fn status_kind(input: &[u8]) -> PResult<'_, StatusKind> {
    alt((
        value(StatusKind::Ok, tag_no_case(&b"OK"[..])),
        value(StatusKind::No, tag_no_case(&b"NO"[..])),
        value(StatusKind::Bad, tag_no_case(&b"BAD"[..])),
    ))
    .parse(input)
}

/// `greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF`
pub(crate) fn greeting(input: &[u8]) -> PResult<'_, Greeting> {
    let (rest, (_, name)) = (
        tag(&b"* "[..]),
        take_while1(|b: u8| b.is_ascii_alphabetic()),
    )
        .parse(input)?;
    let kind = match super::Upper::new(name).as_slice() {
        b"OK" => GreetingKind::Ok,
        b"PREAUTH" => GreetingKind::PreAuth,
        b"BYE" => GreetingKind::Bye,
        _ => return fail(input, ErrorKind::Invalid),
    };
    let (rest, text) = terminated(resp_text, crlf).parse(rest)?;
    Ok((rest, Greeting { kind, text }))
}

/// The hierarchy delimiter: `DQUOTE QUOTED-CHAR DQUOTE / nil`.
fn delimiter(input: &[u8]) -> PResult<'_, Option<char>> {
    alt((map(nil, |()| None), |i| {
        let (rest, q) = quoted(i)?;
        let mut chars = q.as_str().chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok((rest, Some(c))),
            _ => fail(i, ErrorKind::Invalid),
        }
    }))
    .parse(input)
}

/// `mbox-list-extended-item`, for the tags this crate knows.
fn list_extended_item(input: &[u8]) -> PResult<'_, ListExtendedItem> {
    let (rest, (name, _)) = (astring, sp).parse(input)?;
    let name = name.as_bytes();
    if name.eq_ignore_ascii_case(b"CHILDINFO") {
        let (rest, infos) =
            delimited(tag(&b"("[..]), separated_list1(sp, string), tag(&b")"[..])).parse(rest)?;
        let (rest, infos) = non_empty(rest, infos)?;
        Ok((rest, ListExtendedItem::ChildInfo(infos)))
    } else if name.eq_ignore_ascii_case(b"OLDNAME") {
        map(
            delimited(tag(&b"("[..]), mailbox, tag(&b")"[..])),
            ListExtendedItem::OldName,
        )
        .parse(rest)
    } else {
        let (_, tag) = astring(input)?;
        let (rest, value) = tagged_ext_val(rest)?;
        Ok((rest, ListExtendedItem::Other { tag, value }))
    }
}

/// How deep the lists of an unknown extension's value may nest.
const MAX_TAGGED_EXT_DEPTH: usize = 8;

/// `tagged-ext-val = tagged-ext-simple / "(" [tagged-ext-comp] ")"` (RFC 4466 §3).
fn tagged_ext_val(input: &[u8]) -> PResult<'_, TaggedExtValue> {
    alt((
        map(
            delimited(
                tag(&b"("[..]),
                separated_list0(sp, |i| tagged_ext_comp(i, MAX_TAGGED_EXT_DEPTH)),
                tag(&b")"[..]),
            ),
            TaggedExtValue::Comp,
        ),
        map(tagged_ext_simple, TaggedExtValue::Simple),
    ))
    .parse(input)
}

/// `tagged-ext-simple = sequence-set / number / number64`: digits alone are a number.
fn tagged_ext_simple(input: &[u8]) -> PResult<'_, TaggedExtSimple> {
    let (rest, text) =
        take_while1(|b: u8| b.is_ascii_digit() || b":,*$".contains(&b)).parse(input)?;
    if text.iter().all(u8::is_ascii_digit) {
        // All ASCII digits, so valid UTF-8; out of range is an error.
        let n = std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse::<u64>().ok())
            .and_then(|n| crate::types::core::Number64::try_from(n).ok());
        return match n {
            Some(n) => Ok((rest, TaggedExtSimple::Number(n))),
            None => fail(input, ErrorKind::Number),
        };
    }
    // The streaming set parser must see what follows the run to know it ended; the set is
    // the whole run or nothing.
    match sequence_set(&[text, b" "].concat()) {
        Ok((b" ", set)) => Ok((rest, TaggedExtSimple::Set(set))),
        _ => fail(input, ErrorKind::Invalid),
    }
}

/// One `tagged-ext-comp` element: an astring, or a list nested at most `depth` deep.
fn tagged_ext_comp(input: &[u8], depth: usize) -> PResult<'_, TaggedExtComp> {
    if input.first() != Some(&b'(') {
        return map(astring, TaggedExtComp::String).parse(input);
    }
    if depth == 0 {
        return fail(input, ErrorKind::RecursionLimit);
    }
    let (rest, items) = delimited(
        tag(&b"("[..]),
        separated_list1(sp, |i| tagged_ext_comp(i, depth - 1)),
        tag(&b")"[..]),
    )
    .parse(input)?;
    let (rest, items) = non_empty(rest, items)?;
    Ok((rest, TaggedExtComp::List(items)))
}

/// `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
/// [SP mbox-list-extended]`
fn list_item(input: &[u8]) -> PResult<'_, ListItem> {
    let (rest, item) = map(
        (
            |i| paren_list(i, true, 2, |i| preceded(tag(&b"\\"[..]), atom).parse(i)),
            sp,
            delimiter,
            sp,
            mailbox,
        ),
        |(attributes, _, delimiter, _, mailbox)| ListItem {
            attributes,
            delimiter,
            mailbox,
            extended: Vec::new(),
        },
    )
    .parse(input)?;
    let (rest, extended) = opt(preceded(
        sp,
        delimited(
            tag(&b"("[..]),
            separated_list0(sp, list_extended_item),
            tag(&b")"[..]),
        ),
    ))
    .parse(rest)?;
    Ok((
        rest,
        ListItem {
            extended: extended.unwrap_or_default(),
            ..item
        },
    ))
}

fn esearch_item(input: &[u8]) -> PResult<'_, ESearchItem> {
    let (rest, name) = token(input)?;
    match super::Upper::new(name).as_slice() {
        b"MIN" => map(preceded(sp, nz_number), ESearchItem::Min).parse(rest),
        b"MAX" => map(preceded(sp, nz_number), ESearchItem::Max).parse(rest),
        b"ALL" => map(preceded(sp, sequence_set), ESearchItem::All).parse(rest),
        b"COUNT" => map(preceded(sp, number), ESearchItem::Count).parse(rest),
        b"MODSEQ" => map(preceded(sp, nz_number64), ESearchItem::ModSeq).parse(rest),
        _ => fail(input, ErrorKind::Invalid),
    }
}

/// `esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)`
fn esearch(input: &[u8]) -> PResult<'_, Data> {
    let (rest, correlator) = opt(delimited(
        (sp, tag(&b"("[..]), tag_no_case(&b"TAG"[..]), sp),
        string,
        tag(&b")"[..]),
    ))
    .parse(input)?;
    let tag = match correlator {
        None => None,
        Some(s) => match std::str::from_utf8(s.as_bytes())
            .ok()
            .and_then(|t| Tag::try_from(t).ok())
        {
            Some(tag) => Some(tag),
            None => return fail(input, ErrorKind::Invalid),
        },
    };
    let (rest, uid) = opt(preceded(sp, tag_no_case(&b"UID"[..]))).parse(rest)?;
    let (rest, items) = super::many0_lazy(preceded(sp, esearch_item)).parse(rest)?;
    Ok((
        rest,
        Data::ESearch {
            tag,
            uid: uid.is_some(),
            items,
        },
    ))
}

fn namespace_list(input: &[u8]) -> PResult<'_, Vec<NamespaceEntry>> {
    let entry = map(
        delimited(tag(&b"("[..]), (string, sp, delimiter), tag(&b")"[..])),
        |(prefix, _, delimiter)| NamespaceEntry { prefix, delimiter },
    );
    alt((
        delimited(tag(&b"("[..]), many1(entry), tag(&b")"[..])),
        map(nil, |()| Vec::new()),
    ))
    .parse(input)
}

/// `msg-att` item.
fn fetch_data(input: &[u8], max_depth: usize) -> PResult<'_, FetchData> {
    let (rest, name) = token(input)?;
    let upper = super::Upper::new(name);
    match upper.as_slice() {
        b"FLAGS" => {
            let (rest, ()) = byte(rest, b' ')?;
            let (rest, flags) = paren_list(rest, true, 4, flag_fetch)?;
            Ok((rest, FetchData::Flags(flags)))
        }
        b"ENVELOPE" => {
            let (rest, ()) = byte(rest, b' ')?;
            let (rest, envelope) = envelope(rest)?;
            Ok((rest, FetchData::Envelope(envelope)))
        }
        b"INTERNALDATE" => map(preceded(sp, date_time), FetchData::InternalDate).parse(rest),
        b"RFC822.SIZE" => map(preceded(sp, number64_value), FetchData::Rfc822Size).parse(rest),
        b"RFC822" => map(preceded(sp, nstring), FetchData::Rfc822).parse(rest),
        b"RFC822.HEADER" => map(preceded(sp, nstring), FetchData::Rfc822Header).parse(rest),
        b"RFC822.TEXT" => map(preceded(sp, nstring), FetchData::Rfc822Text).parse(rest),
        b"BODYSTRUCTURE" => {
            let (rest, ()) = byte(rest, b' ')?;
            let (rest, structure) = body(rest, max_depth)?;
            Ok((rest, FetchData::BodyStructure(Box::new(structure))))
        }
        b"BODY" => {
            if rest.first() == Some(&b'[') {
                map(
                    (
                        section,
                        opt(delimited(tag(&b"<"[..]), number64_value, tag(&b">"[..]))),
                        sp,
                        nstring,
                    ),
                    |(section, origin, _, data)| FetchData::BodySection {
                        section,
                        origin,
                        data,
                    },
                )
                .parse(rest)
            } else {
                map(preceded(sp, |i| body(i, max_depth)), |b| {
                    FetchData::Body(Box::new(b))
                })
                .parse(rest)
            }
        }
        b"BINARY" | b"BINARY.SIZE" => {
            let (rest, part) = delimited(
                tag(&b"["[..]),
                map(
                    opt(separated_list1(tag(&b"."[..]), nz_number)),
                    Option::unwrap_or_default,
                ),
                tag(&b"]"[..]),
            )
            .parse(rest)?;
            let (rest, _) = sp(rest)?;
            if upper.as_slice().len() > 6 {
                map(number64_value, |size| FetchData::BinarySize {
                    part: part.clone(),
                    size,
                })
                .parse(rest)
            } else {
                let data = alt((
                    map(literal8, |l| Some(BinaryData::Literal8(l))),
                    map(nstring, |s| s.0.map(BinaryData::String)),
                ));
                map(data, |data| FetchData::Binary {
                    part: part.clone(),
                    data,
                })
                .parse(rest)
            }
        }
        b"UID" => {
            let (rest, ()) = byte(rest, b' ')?;
            let (rest, uid) = nz_number(rest)?;
            Ok((rest, FetchData::Uid(uid)))
        }
        b"MODSEQ" => map(
            preceded(sp, delimited(tag(&b"("[..]), nz_number64, tag(&b")"[..]))),
            FetchData::ModSeq,
        )
        .parse(rest),
        _ => fail(input, ErrorKind::Invalid),
    }
}

/// What follows `* n `: EXISTS, RECENT, EXPUNGE or FETCH.
fn numbered(input: &[u8], max_depth: usize) -> PResult<'_, Data> {
    let (rest, (n, _, name)) =
        (number, sp, take_while1(|b: u8| b.is_ascii_alphabetic())).parse(input)?;
    let nz = NonZeroU32::new(n);
    match (super::Upper::new(name).as_slice(), nz) {
        (b"EXISTS", _) => Ok((rest, Data::Exists(n))),
        (b"RECENT", _) => Ok((rest, Data::Recent(n))),
        (b"EXPUNGE", Some(seq)) => Ok((rest, Data::Expunge(seq))),
        (b"FETCH", Some(seq)) => {
            let (rest, ()) = byte(rest, b' ')?;
            // Room for what clients typically ask for (UID FLAGS INTERNALDATE RFC822.SIZE
            // ENVELOPE BODYSTRUCTURE …) without growing the list.
            let (rest, items) = paren_list(rest, false, 8, |i| fetch_data(i, max_depth))?;
            let (rest, items) = non_empty(rest, items)?;
            Ok((rest, Data::Fetch { seq, items }))
        }
        _ => fail(input, ErrorKind::Invalid),
    }
}

/// `response-data = "*" SP (resp-cond-state / resp-cond-bye / mailbox-data / message-data /
/// capability-data / enable-data) CRLF`
fn data(input: &[u8], max_depth: usize) -> PResult<'_, Data> {
    let (rest, _) = tag(&b"* "[..]).parse(input)?;
    if rest.first().is_some_and(u8::is_ascii_digit) {
        return numbered(rest, max_depth);
    }
    let (rest, name) = take_while1(|b: u8| b.is_ascii_alphabetic()).parse(rest)?;
    match super::Upper::new(name).as_slice() {
        b"OK" | b"NO" | b"BAD" => {
            let (_, kind) = status_kind(name)?;
            map(resp_text, |text| Data::Status { kind, text }).parse(rest)
        }
        b"BYE" => map(resp_text, Data::Bye).parse(rest),
        b"CAPABILITY" => {
            let (rest, caps) = many1(preceded(sp, atom)).parse(rest)?;
            let (rest, caps) = non_empty(rest, caps)?;
            Ok((rest, Data::Capability(caps)))
        }
        b"ENABLED" => map(super::many0_lazy(preceded(sp, atom)), Data::Enabled).parse(rest),
        b"LIST" => map(preceded(sp, list_item), Data::List).parse(rest),
        b"LSUB" => map(preceded(sp, list_item), Data::Lsub).parse(rest),
        b"STATUS" => map(
            (sp, mailbox, sp, status_items_values),
            |(_, mailbox, _, items)| Data::MailboxStatus { mailbox, items },
        )
        .parse(rest),
        b"SEARCH" => {
            let (rest, numbers) = super::many0_lazy(preceded(sp, nz_number)).parse(rest)?;
            let (rest, mod_seq) = opt(delimited(
                (sp, tag(&b"("[..]), tag_no_case(&b"MODSEQ"[..]), sp),
                nz_number64,
                tag(&b")"[..]),
            ))
            .parse(rest)?;
            Ok((rest, Data::Search { numbers, mod_seq }))
        }
        b"ESEARCH" => esearch(rest),
        b"SORT" => map(super::sort::sort_data, Data::Sort).parse(rest),
        b"THREAD" => map(|i| super::sort::thread_data(i, max_depth), Data::Thread).parse(rest),
        b"QUOTA" => super::quota::quota_data(rest),
        b"QUOTAROOT" => super::quota::quota_root_data(rest),
        b"FLAGS" => map(preceded(sp, flag_list), Data::Flags).parse(rest),
        b"VANISHED" => {
            let (rest, (_, earlier, uids)) =
                (sp, opt(tag_no_case(&b"(EARLIER) "[..])), sequence_set).parse(rest)?;
            Ok((
                rest,
                Data::Vanished {
                    earlier: earlier.is_some(),
                    uids,
                },
            ))
        }
        b"NAMESPACE" => map(
            (sp, namespace_list, sp, namespace_list, sp, namespace_list),
            |(_, personal, _, other, _, shared)| Data::Namespace {
                personal,
                other,
                shared,
            },
        )
        .parse(rest),
        b"ID" => map(preceded(sp, super::id::id_params_list), Data::Id).parse(rest),
        _ => reject(input, ErrorKind::Invalid),
    }
}

/// `continue-req = "+" SP (resp-text / base64) CRLF`. A line that is valid base64 and has
/// no code is read as base64 (an AUTHENTICATE challenge).
fn continuation(input: &[u8]) -> PResult<'_, Continuation> {
    let (rest, _) = tag(&b"+"[..]).parse(input)?;
    // The SP is optional here as in `resp_text`, so both readings see the same bytes.
    if let Ok((after, data)) = terminated(preceded(opt(sp), base64), crlf).parse(rest) {
        return Ok((after, Continuation::Base64(data)));
    }
    terminated(map(resp_text, Continuation::Text), crlf).parse(rest)
}

/// `response-tagged = tag SP resp-cond-state CRLF`
fn tagged(input: &[u8]) -> PResult<'_, Tagged> {
    map(
        (tag_, sp, status_kind, resp_text),
        |(tag, _, kind, text)| Tagged { tag, kind, text },
    )
    .parse(input)
}

/// Any response after the greeting.
pub(crate) fn response(input: &[u8], max_depth: usize) -> PResult<'_, Response> {
    match input.first() {
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        Some(b'+') => map(continuation, Response::Continuation).parse(input),
        Some(b'*') => {
            let (rest, data) = data(input, max_depth)?;
            let (rest, _) = crlf(rest)?;
            Ok((rest, Response::Data(data)))
        }
        Some(_) => {
            let (rest, tagged) = tagged(input)?;
            let (rest, _) = crlf(rest)?;
            Ok((rest, Response::Tagged(tagged)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_prefixes_incomplete;

    fn decode(input: &[u8]) -> PResult<'_, Response> {
        response(input, 16)
    }

    /// Responses in canonical form, most from RFC 3501 §7 and RFC 9051 §7.
    const CANONICAL: &[&[u8]] = &[
        b"+ Ready for additional command text\r\n",
        b"+ \r\n",
        b"+ YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=\r\n",
        b"a001 OK LOGIN completed\r\n",
        b"a002 NO [AUTHENTICATIONFAILED] Authentication failed\r\n",
        b"a003 BAD [CLIENTBUG] Command unknown\r\n",
        b"A142 OK [READ-WRITE] SELECT completed\r\n",
        b"A003 OK [APPENDUID 38505 3955] APPEND completed\r\n",
        b"A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
        b"A005 NO [OVERQUOTA] Over quota\r\n",
        b"a OK [CAPABILITY IMAP4rev2 AUTH=PLAIN] Logged in\r\n",
        b"* OK [UNSEEN 12] Message 12 is first unseen\r\n",
        b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
        b"* OK [UIDNEXT 4392] Predicted next UID\r\n",
        b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
        b"* OK [HIGHESTMODSEQ 715194045007] Highest\r\n",
        b"* OK [X-CUSTOM some args] text\r\n",
        b"* OK [BADCHARSET (UTF-8 US-ASCII)] bad\r\n",
        b"* NO [ALERT] System shutdown in 10 minutes\r\n",
        b"* BYE Autologout; idle for too long\r\n",
        b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n",
        b"* ENABLED CONDSTORE\r\n",
        b"* LIST (\\Noselect) \"/\" ~/Mail/foo\r\n",
        b"* LIST () NIL INBOX\r\n",
        b"* LIST (\\HasNoChildren \\Sent) \".\" Sent\r\n",
        b"* LIST () \"/\" INBOX (\"OLDNAME\" (inbox-old))\r\n",
        b"* LIST (\\Subscribed) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
        // Extended items of extensions this crate does not know still decode (syntax: RFC
        // 5258 §6); RFC 5258 §3: "The client MUST ignore all extended fields it doesn't
        // recognize."
        b"* LIST () \"/\" Foo (X-VENDOR (a (b \"c d\") {1}\r\ne) \"X-N\" 1:5,7 X-E ())\r\n",
        b"* LSUB () \".\" #news.comp.mail.misc\r\n",
        b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n",
        b"* SEARCH 2 84 882\r\n",
        b"* SEARCH\r\n",
        b"* SEARCH 2 5 (MODSEQ 917162500)\r\n",
        b"* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n",
        b"* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800\r\n",
        b"* ESEARCH UID ALL 4:18,21,28\r\n",
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
        b"* 23 EXISTS\r\n",
        b"* 5 RECENT\r\n",
        b"* 44 EXPUNGE\r\n",
        b"* VANISHED (EARLIER) 41,43:116,118\r\n",
        b"* VANISHED 405,407,410\r\n",
        b"* 23 FETCH (FLAGS (\\Seen) UID 4827313)\r\n",
        b"* 12 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n",
        b"* 12 FETCH (BODY[HEADER] {6}\r\nab\r\n\r\n)\r\n",
        b"* 1 FETCH (BODY[1.2]<0> \"x\" MODSEQ (624140003) BINARY[1] ~{2}\r\n\0\x01 BINARY.SIZE[1] 2)\r\n",
        b"* 2 FETCH (RFC822.HEADER NIL BINARY[] NIL BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1 NIL))\r\n",
        b"* NAMESPACE ((\"\" \"/\")) NIL ((\"Public Folders/\" \"/\"))\r\n",
        b"* ID (\"name\" \"Cyrus\" \"version\" \"1.5\" \"support-url\" NIL)\r\n",
        b"* ID NIL\r\n",
        b"* SORT 2 84 882\r\n",
        b"* SORT\r\n",
        b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n",
        b"* THREAD\r\n",
        b"* QUOTA \"\" (STORAGE 10 512)\r\n",
        b"* QUOTAROOT INBOX \"\"\r\n",
        b"* QUOTAROOT comp.mail.mime\r\n",
    ];

    #[test]
    fn kat_canonical() {
        for input in CANONICAL {
            let (rest, r) = decode(input)
                .unwrap_or_else(|e| panic!("{}: {e:?}", String::from_utf8_lossy(input)));
            assert!(rest.is_empty(), "{input:?}");
            assert_eq!(
                String::from_utf8_lossy(&r.encode().dump()),
                String::from_utf8_lossy(input)
            );
            assert_prefixes_incomplete(input, decode);
        }
    }

    #[test]
    fn kat_greeting() {
        for input in [
            &b"* OK IMAP4rev2 server ready\r\n"[..],
            b"* PREAUTH [CAPABILITY IMAP4rev1] Logged in as Smith\r\n",
            b"* BYE [UNAVAILABLE] Go away\r\n",
        ] {
            let (rest, g) = greeting(input).unwrap();
            assert!(rest.is_empty());
            assert_eq!(g.encode().dump(), input);
            assert_prefixes_incomplete(input, greeting);
        }
        assert!(greeting(b"* NO nope\r\n").is_err());
    }

    #[test]
    fn lenient_spellings_decode() {
        // Servers omit the text after a code; RFC 9051 makes `text` optional.
        let (_, r) = decode(b"a OK [READ-WRITE]\r\n").unwrap();
        assert_eq!(r.encode().dump(), b"a OK [READ-WRITE]\r\n");
        let (_, r) = decode(b"* ok done\r\n").unwrap();
        assert_eq!(r.encode().dump(), b"* OK done\r\n");
    }

    #[test]
    fn refused() {
        for bad in [
            &b"* 0 FETCH (UID 1)\r\n"[..],
            b"* 1 FETCH ()\r\n",
            b"* LIST () \"ab\" x\r\n",
            b"* FROB\r\n",
            b"a MAYBE x\r\n",
            b"* OK [UIDNEXT 0] x\r\n",
            b"* OK [ALERT x] y\r\n",
            b"* 1 FETCH (BODY[] NIL BODY (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1))\r\n",
            // An unknown extension's value nests at most 8 lists deep.
            b"* LIST () \"/\" Foo (X-DEEP (((((((((((a))))))))))))\r\n",
            // A known tag must have its own syntax.
            b"* LIST () \"/\" Foo (CHILDINFO 5)\r\n",
        ] {
            assert!(
                matches!(decode(bad), Err(nom::Err::Error(_) | nom::Err::Failure(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}

#[cfg(test)]
mod round_trip {
    use proptest::prelude::*;

    use crate::{
        arbitrary,
        codec::{DecodeError, ResponseCodec},
    };

    /// Generating and encoding deep BODYSTRUCTURE trees nests many strategy layers, which
    /// in a debug build can outgrow the 2 MiB default test-thread stack before the decoder
    /// runs; the round trip gets a thread with room for it.
    #[test]
    fn response() {
        let run = || {
            let mut runner =
                proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(384));
            runner
                .run(&arbitrary::response(), |response| {
                    let bytes = response.encode().dump();
                    let codec = ResponseCodec::default();
                    let decoded = codec.decode(&bytes);
                    prop_assert_eq!(
                        decoded,
                        Ok((&b""[..], response)),
                        "{}",
                        String::from_utf8_lossy(&bytes)
                    );
                    for end in 0..bytes.len() {
                        prop_assert_eq!(codec.decode(&bytes[..end]), Err(DecodeError::Incomplete));
                    }
                    Ok(())
                })
                .unwrap_or_else(|failure| panic!("{failure}"));
        };
        std::thread::Builder::new()
            .stack_size(32 << 20)
            .spawn(run)
            .expect("spawning the test thread")
            .join()
            .expect("the round trip failed");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(384))]
        #[test]
        fn greeting(greeting in arbitrary::greeting()) {
            let bytes = greeting.encode().dump();
            let decoded = ResponseCodec::default().decode_greeting(&bytes);
            prop_assert_eq!(decoded, Ok((&b""[..], greeting)), "{}", String::from_utf8_lossy(&bytes));
        }
    }
}
