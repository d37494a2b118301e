//! Commands (RFC 3501 §6, RFC 9051 §6 and extensions).

use nom::{
    Parser,
    branch::alt,
    bytes::streaming::{tag, tag_no_case, take_while1},
    combinator::{map, opt, value},
    multi::{many1, separated_list0, separated_list1},
    sequence::{delimited, preceded, terminated},
};

use super::{
    ErrorKind, PResult,
    core::{
        astring, atom, crlf, literal, literal8, number64_value, nz_number, nz_number64, sp, tag_,
    },
    datetime::date_time,
    fail,
    fetch::{fetch_items, non_empty, token},
    flag::{flag, flag_list},
    mailbox::{list_mailbox, mailbox_in},
    reject,
    search::{search_key, search_return_option},
    sequence::sequence_set,
};
use crate::types::{
    command::{
        AppendData, AppendMessage, Base64, Command, CommandBody, ListPattern, ListReturnOption,
        ListSelectOption, SelectParameter, StoreKind,
    },
    secret::Secret,
    status::StatusItem,
};

/// `command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF`
///
/// Mailbox names are modified UTF-7, or UTF-8 once UTF8=ACCEPT is enabled (`utf8_accept`).
pub(crate) fn command(input: &[u8], max_depth: usize, utf8_accept: bool) -> PResult<'_, Command> {
    let (rest, (tag, _)) = (tag_, sp).parse(input)?;
    let (rest, body) = terminated(|i| command_body(i, max_depth, utf8_accept), crlf).parse(rest)?;
    Ok((rest, Command { tag, body }))
}

fn command_body(input: &[u8], max_depth: usize, utf8: bool) -> PResult<'_, CommandBody> {
    let mailbox = mailbox_in(utf8);
    let (rest, name) = take_while1(|b: u8| b.is_ascii_alphabetic()).parse(input)?;
    let upper = super::Upper::new(name);
    let simple = match upper.as_slice() {
        b"CAPABILITY" => Some(CommandBody::Capability),
        b"NOOP" => Some(CommandBody::Noop),
        b"LOGOUT" => Some(CommandBody::Logout),
        b"STARTTLS" => Some(CommandBody::StartTls),
        b"NAMESPACE" => Some(CommandBody::Namespace),
        b"IDLE" => Some(CommandBody::Idle),
        b"CHECK" => Some(CommandBody::Check),
        b"CLOSE" => Some(CommandBody::Close),
        b"UNSELECT" => Some(CommandBody::Unselect),
        b"EXPUNGE" => Some(CommandBody::Expunge),
        b"UNAUTHENTICATE" => Some(CommandBody::Unauthenticate),
        _ => None,
    };
    if let Some(body) = simple {
        return Ok((rest, body));
    }
    let mailbox_only: Option<fn(_) -> CommandBody> = match upper.as_slice() {
        b"DELETE" => Some(CommandBody::Delete),
        b"SUBSCRIBE" => Some(CommandBody::Subscribe),
        b"UNSUBSCRIBE" => Some(CommandBody::Unsubscribe),
        _ => None,
    };
    if let Some(build) = mailbox_only {
        return map(preceded(sp, &mailbox), build).parse(rest);
    }
    match upper.as_slice() {
        b"AUTHENTICATE" => authenticate(rest),
        b"LOGIN" => map((sp, astring, sp, astring), |(_, username, _, password)| {
            CommandBody::Login {
                username,
                password: Secret::new(password),
            }
        })
        .parse(rest),
        b"ENABLE" => {
            let (rest, caps) = many1(preceded(sp, atom)).parse(rest)?;
            let (rest, caps) = non_empty(rest, caps)?;
            Ok((rest, CommandBody::Enable(caps)))
        }
        b"SELECT" => map(
            |i| select_args(i, utf8),
            |(mailbox, parameters)| CommandBody::Select {
                mailbox,
                parameters,
            },
        )
        .parse(rest),
        b"EXAMINE" => map(
            |i| select_args(i, utf8),
            |(mailbox, parameters)| CommandBody::Examine {
                mailbox,
                parameters,
            },
        )
        .parse(rest),
        b"CREATE" => create(rest, utf8),
        b"RENAME" => map((sp, &mailbox, sp, &mailbox), |(_, from, _, to)| {
            CommandBody::Rename { from, to }
        })
        .parse(rest),
        b"LIST" => list(rest, utf8),
        b"LSUB" => map(
            (sp, &mailbox, sp, list_pattern),
            |(_, reference, _, pattern)| CommandBody::Lsub { reference, pattern },
        )
        .parse(rest),
        b"STATUS" => {
            let (rest, (_, mailbox, _, items)) = (sp, &mailbox, sp, status_items).parse(rest)?;
            let (rest, items) = non_empty(rest, items)?;
            Ok((rest, CommandBody::Status { mailbox, items }))
        }
        b"APPEND" => append(rest, utf8),
        b"UID" => uid_command(rest, max_depth, utf8),
        b"SEARCH" => search(rest, false, max_depth),
        b"FETCH" => fetch(rest, false),
        b"STORE" => store(rest, false),
        b"COPY" => copy_or_move(rest, false, false, utf8),
        b"MOVE" => copy_or_move(rest, false, true, utf8),
        b"ID" => id(rest),
        b"COMPRESS" => map(preceded(sp, atom), CommandBody::Compress).parse(rest),
        b"SORT" => super::sort::sort(rest, false, max_depth),
        b"THREAD" => super::sort::thread(rest, false, max_depth),
        b"GETQUOTA" => map(preceded(sp, astring), CommandBody::GetQuota).parse(rest),
        b"GETQUOTAROOT" => map(preceded(sp, &mailbox), CommandBody::GetQuotaRoot).parse(rest),
        b"SETQUOTA" => super::quota::set_quota(rest),
        _ => reject(input, ErrorKind::Invalid),
    }
}

/// `authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")]` (RFC 4959)
fn authenticate(input: &[u8]) -> PResult<'_, CommandBody> {
    let (rest, (_, mechanism)) = (sp, atom).parse(input)?;
    let (rest, initial) = opt(preceded(sp, base64_or_empty)).parse(rest)?;
    Ok((
        rest,
        CommandBody::Authenticate {
            mechanism,
            initial_response: initial.map(Secret::new),
        },
    ))
}

/// `base64 / "="`: in RFC 4959 (SASL-IR) a lone "=" is an empty initial response.
fn base64_or_empty(input: &[u8]) -> PResult<'_, Base64> {
    if let Some(rest) = input.strip_prefix(b"=") {
        // "=" alone, not the padding of a longer string (which cannot start with "=").
        return Ok((rest, Base64::unvalidated("")));
    }
    base64(input)
}

/// `base64 = *(4base64-char) [base64-terminal]`, at least one group here.
pub(crate) fn base64(input: &[u8]) -> PResult<'_, Base64> {
    let (rest, text) =
        take_while1(|b: u8| b.is_ascii_alphanumeric() || b"+/=".contains(&b)).parse(input)?;
    // The class is ASCII, so this is valid UTF-8.
    let text = std::str::from_utf8(text).unwrap_or_default();
    match Base64::try_from(text) {
        Ok(b64) if !text.is_empty() => Ok((rest, b64)),
        _ => fail(input, ErrorKind::Invalid),
    }
}

/// `mailbox [SP "(" select-param *(SP select-param) ")"]` (RFC 7162)
fn select_args(
    input: &[u8],
    utf8: bool,
) -> PResult<'_, (crate::types::mailbox::Mailbox, Vec<SelectParameter>)> {
    let (rest, (_, mailbox)) = (sp, mailbox_in(utf8)).parse(input)?;
    let (rest, params) = opt(preceded(
        sp,
        delimited(
            tag(&b"("[..]),
            separated_list1(sp, select_parameter),
            tag(&b")"[..]),
        ),
    ))
    .parse(rest)?;
    Ok((rest, (mailbox, params.unwrap_or_default())))
}

fn select_parameter(input: &[u8]) -> PResult<'_, SelectParameter> {
    let (rest, name) = token(input)?;
    match super::Upper::new(name).as_slice() {
        b"CONDSTORE" => Ok((rest, SelectParameter::CondStore)),
        b"QRESYNC" => {
            let (rest, (_, _, uid_validity, _, mod_seq)) =
                (sp, tag(&b"("[..]), nz_number, sp, nz_number64).parse(rest)?;
            let (rest, known_uids) = opt(preceded(sp, sequence_set)).parse(rest)?;
            let (rest, seq_match) = opt(preceded(
                sp,
                delimited(
                    tag(&b"("[..]),
                    map((sequence_set, sp, sequence_set), |(a, _, b)| (a, b)),
                    tag(&b")"[..]),
                ),
            ))
            .parse(rest)?;
            let (rest, _) = tag(&b")"[..]).parse(rest)?;
            Ok((
                rest,
                SelectParameter::QResync {
                    uid_validity,
                    mod_seq,
                    known_uids,
                    seq_match,
                },
            ))
        }
        _ => fail(input, ErrorKind::Invalid),
    }
}

/// `create = "CREATE" SP mailbox [SP "(" "USE" SP "(" [use-attr *(SP use-attr)] ")" ")"]`
fn create(input: &[u8], utf8: bool) -> PResult<'_, CommandBody> {
    let (rest, (_, mailbox)) = (sp, mailbox_in(utf8)).parse(input)?;
    let use_attr = preceded(tag(&b"\\"[..]), atom);
    let (rest, special_use) = opt(delimited(
        (
            sp,
            tag(&b"("[..]),
            tag_no_case(&b"USE"[..]),
            sp,
            tag(&b"("[..]),
        ),
        separated_list0(sp, use_attr),
        tag(&b"))"[..]),
    ))
    .parse(rest)?;
    Ok((
        rest,
        CommandBody::Create {
            mailbox,
            special_use,
        },
    ))
}

fn list_pattern(input: &[u8]) -> PResult<'_, ListPattern> {
    let (rest, bytes) = list_mailbox(input)?;
    match ListPattern::new(bytes) {
        Ok(p) => Ok((rest, p)),
        Err(_) => fail(input, ErrorKind::Invalid),
    }
}

fn list_select_option(input: &[u8]) -> PResult<'_, ListSelectOption> {
    let (rest, name) = token(input)?;
    let option = match super::Upper::new(name).as_slice() {
        b"SUBSCRIBED" => ListSelectOption::Subscribed,
        b"REMOTE" => ListSelectOption::Remote,
        b"RECURSIVEMATCH" => ListSelectOption::RecursiveMatch,
        b"SPECIAL-USE" => ListSelectOption::SpecialUse,
        _ => return fail(input, ErrorKind::Invalid),
    };
    Ok((rest, option))
}

fn list_return_option(input: &[u8]) -> PResult<'_, ListReturnOption> {
    let (rest, name) = token(input)?;
    match super::Upper::new(name).as_slice() {
        b"SUBSCRIBED" => Ok((rest, ListReturnOption::Subscribed)),
        b"CHILDREN" => Ok((rest, ListReturnOption::Children)),
        b"SPECIAL-USE" => Ok((rest, ListReturnOption::SpecialUse)),
        b"STATUS" => {
            let (rest, items) = preceded(sp, status_items).parse(rest)?;
            let (rest, items) = non_empty(rest, items)?;
            Ok((rest, ListReturnOption::Status(items)))
        }
        _ => fail(input, ErrorKind::Invalid),
    }
}

/// `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]`
fn list(input: &[u8], utf8: bool) -> PResult<'_, CommandBody> {
    let (rest, _) = sp(input)?;
    let (rest, selection) = opt(terminated(
        delimited(
            tag(&b"("[..]),
            separated_list0(sp, list_select_option),
            tag(&b")"[..]),
        ),
        sp,
    ))
    .parse(rest)?;
    let selection = selection.unwrap_or_default();
    // RFC 5258 §3.1: RECURSIVEMATCH only makes sense with another selection option, and a
    // server refuses it alone (or with REMOTE only).
    if selection.contains(&ListSelectOption::RecursiveMatch)
        && selection.iter().all(|o| {
            matches!(
                o,
                ListSelectOption::RecursiveMatch | ListSelectOption::Remote
            )
        })
    {
        return fail(input, ErrorKind::Invalid);
    }
    let (rest, (reference, _)) = (mailbox_in(utf8), sp).parse(rest)?;
    let (rest, patterns) = alt((
        delimited(
            tag(&b"("[..]),
            separated_list1(sp, list_pattern),
            tag(&b")"[..]),
        ),
        map(list_pattern, |p| vec![p]),
    ))
    .parse(rest)?;
    let (rest, patterns) = non_empty(rest, patterns)?;
    let (rest, return_options) = opt(preceded(
        (sp, tag_no_case(&b"RETURN"[..]), sp),
        delimited(
            tag(&b"("[..]),
            separated_list0(sp, list_return_option),
            tag(&b")"[..]),
        ),
    ))
    .parse(rest)?;
    Ok((
        rest,
        CommandBody::List {
            selection,
            reference,
            patterns,
            return_options,
        },
    ))
}

pub(crate) fn status_item(input: &[u8]) -> PResult<'_, StatusItem> {
    let (rest, name) = token(input)?;
    match crate::keywords::by_name(&StatusItem::ALL, name) {
        Some(item) => Ok((rest, item)),
        None => fail(input, ErrorKind::Invalid),
    }
}

/// `"(" status-att *(SP status-att) ")"`
pub(crate) fn status_items(input: &[u8]) -> PResult<'_, Vec<StatusItem>> {
    delimited(
        tag(&b"("[..]),
        separated_list1(sp, status_item),
        tag(&b")"[..]),
    )
    .parse(input)
}

/// `append-message = append-opts SP append-data`; the `"UTF8" SP "(" literal8 ")"` form of
/// RFC 6855 §4 only when UTF8=ACCEPT is enabled (`utf8`).
fn append_message(input: &[u8], utf8: bool) -> PResult<'_, AppendMessage> {
    let (rest, flags) = opt(terminated(flag_list, sp)).parse(input)?;
    let (rest, date) = opt(terminated(date_time, sp)).parse(rest)?;
    let (rest, data) = alt((
        map(literal, AppendData::Literal),
        map(literal8, AppendData::Binary),
        |i| utf8_append_data(i, utf8),
    ))
    .parse(rest)?;
    Ok((rest, AppendMessage { flags, date, data }))
}

/// `utf8-literal = "UTF8" SP "(" literal8 ")"` with `append-data =/ utf8-literal` (RFC 6855 §4).
fn utf8_append_data(input: &[u8], utf8: bool) -> PResult<'_, AppendData> {
    let (rest, _) = tag_no_case(&b"UTF8 ("[..]).parse(input)?;
    // UTF8 APPEND belongs to the UTF8=ACCEPT extension, which the client switches on with
    // ENABLE (RFC 6855 §3); before that it is not part of the session's grammar.
    if !utf8 {
        return fail(input, ErrorKind::Utf8NotEnabled);
    }
    map(terminated(literal8, tag(&b")"[..])), AppendData::Utf8).parse(rest)
}

/// `append = "APPEND" SP mailbox 1*append-message` (RFC 3502)
fn append(input: &[u8], utf8: bool) -> PResult<'_, CommandBody> {
    let (rest, (_, mailbox)) = (sp, mailbox_in(utf8)).parse(input)?;
    let (rest, messages) = many1(preceded(sp, |i| append_message(i, utf8))).parse(rest)?;
    let (rest, messages) = non_empty(rest, messages)?;
    Ok((rest, CommandBody::Append { mailbox, messages }))
}

/// The options of one APPEND message and whether its literal is `literal8`, read from the
/// head of a streamed message (whose literal octets come separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppendHead {
    pub(crate) flags: Option<Vec<crate::types::flag::Flag>>,
    pub(crate) date: Option<crate::types::datetime::DateTime>,
    pub(crate) binary: bool,
    /// The literal is wrapped in RFC 6855's `UTF8 (…)`, so a `)` follows its octets.
    pub(crate) utf8: bool,
}

/// `append-opts` and a literal announcement ending the input: `{n}`, `~{n}`, or (with
/// UTF8=ACCEPT enabled) `UTF8 (~{n}`.
fn append_opts_and_header(input: &[u8], utf8_accept: bool) -> PResult<'_, AppendHead> {
    let (rest, flags) = opt(terminated(flag_list, sp)).parse(input)?;
    let (rest, date) = opt(terminated(date_time, sp)).parse(rest)?;
    let (rest, utf8) = opt(tag_no_case(&b"UTF8 ("[..])).parse(rest)?;
    if utf8.is_some() && !utf8_accept {
        // As in `utf8_append_data`: not valid before ENABLE UTF8=ACCEPT.
        return fail(input, ErrorKind::Utf8NotEnabled);
    }
    // RFC 6855 §4: the UTF8 form always holds a literal8.
    let (rest, binary) = if utf8.is_some() {
        map(tag(&b"~"[..]), Some).parse(rest)?
    } else {
        opt(tag(&b"~"[..])).parse(rest)?
    };
    let (rest, _) = super::core::literal_header(rest)?;
    if !rest.is_empty() {
        return fail(rest, ErrorKind::Invalid);
    }
    Ok((
        rest,
        AppendHead {
            flags,
            date,
            binary: binary.is_some(),
            utf8: utf8.is_some(),
        },
    ))
}

/// `tag SP "APPEND" SP mailbox SP append-opts literal-header`: the head of an APPEND whose
/// first literal is streamed.
pub(crate) fn append_head(
    input: &[u8],
    utf8: bool,
) -> PResult<
    '_,
    (
        crate::types::core::Tag,
        crate::types::mailbox::Mailbox,
        AppendHead,
    ),
> {
    let (rest, (tag, _, _, _, mailbox, _)) = (
        tag_,
        sp,
        tag_no_case(&b"APPEND"[..]),
        sp,
        mailbox_in(utf8),
        sp,
    )
        .parse(input)?;
    let (rest, head) = append_opts_and_header(rest, utf8)?;
    Ok((rest, (tag, mailbox, head)))
}

/// `SP append-opts literal-header`: the head of a further MULTIAPPEND message, streamed.
pub(crate) fn append_next_head(input: &[u8], utf8: bool) -> PResult<'_, AppendHead> {
    preceded(sp, |i| append_opts_and_header(i, utf8)).parse(input)
}

/// `[")"] *(SP append-message) CRLF`: the rest of an APPEND after a streamed literal, which
/// starts with the `)` closing a `UTF8 (` form (`close_utf8`).
pub(crate) fn append_tail(
    input: &[u8],
    close_utf8: bool,
    utf8: bool,
) -> PResult<'_, Vec<AppendMessage>> {
    let rest = if close_utf8 {
        tag(&b")"[..]).parse(input)?.0
    } else {
        input
    };
    terminated(
        super::many0_lazy(preceded(sp, |i| append_message(i, utf8))),
        crlf,
    )
    .parse(rest)
}

/// `uid = "UID" SP (copy / move / fetch / search / store / uid-expunge)`
fn uid_command(input: &[u8], max_depth: usize, utf8: bool) -> PResult<'_, CommandBody> {
    let (rest, (_, name)) = (sp, take_while1(|b: u8| b.is_ascii_alphabetic())).parse(input)?;
    match super::Upper::new(name).as_slice() {
        b"COPY" => copy_or_move(rest, true, false, utf8),
        b"MOVE" => copy_or_move(rest, true, true, utf8),
        b"FETCH" => fetch(rest, true),
        b"SEARCH" => search(rest, true, max_depth),
        b"STORE" => store(rest, true),
        b"EXPUNGE" => map(preceded(sp, sequence_set), CommandBody::UidExpunge).parse(rest),
        b"SORT" => super::sort::sort(rest, true, max_depth),
        b"THREAD" => super::sort::thread(rest, true, max_depth),
        _ => fail(input, ErrorKind::Invalid),
    }
}

/// `copy = "COPY" SP sequence-set SP mailbox`, `move = "MOVE" SP sequence-set SP mailbox`
fn copy_or_move(input: &[u8], uid: bool, is_move: bool, utf8: bool) -> PResult<'_, CommandBody> {
    let (rest, (_, set, _, mailbox)) = (sp, sequence_set, sp, mailbox_in(utf8)).parse(input)?;
    let body = if is_move {
        CommandBody::Move { uid, set, mailbox }
    } else {
        CommandBody::Copy { uid, set, mailbox }
    };
    Ok((rest, body))
}

/// `search = "SEARCH" [search-return-opts] SP search-program`
fn search(input: &[u8], uid: bool, max_depth: usize) -> PResult<'_, CommandBody> {
    let (rest, return_options) = opt(preceded(
        (sp, tag_no_case(&b"RETURN"[..]), sp),
        delimited(
            tag(&b"("[..]),
            separated_list0(sp, search_return_option),
            tag(&b")"[..]),
        ),
    ))
    .parse(input)?;
    let (rest, charset) =
        opt(preceded((sp, tag_no_case(&b"CHARSET"[..]), sp), astring)).parse(rest)?;
    let (rest, criteria) = many1(preceded(sp, |i| search_key(i, max_depth))).parse(rest)?;
    let (rest, criteria) = non_empty(rest, criteria)?;
    Ok((
        rest,
        CommandBody::Search {
            uid,
            return_options,
            charset,
            criteria,
        },
    ))
}

/// `fetch = "FETCH" SP sequence-set SP (…) [fetch-modifiers]` (RFC 7162 modifiers)
fn fetch(input: &[u8], uid: bool) -> PResult<'_, CommandBody> {
    let (rest, (_, set, _, items)) = (sp, sequence_set, sp, fetch_items).parse(input)?;
    let modifier = alt((
        map(
            preceded((tag_no_case(&b"CHANGEDSINCE"[..]), sp), nz_number64),
            Some,
        ),
        value(None, tag_no_case(&b"VANISHED"[..])),
    ));
    let (rest, modifiers) = opt(preceded(
        sp,
        delimited(
            tag(&b"("[..]),
            separated_list1(sp, modifier),
            tag(&b")"[..]),
        ),
    ))
    .parse(rest)?;
    let modifiers = modifiers.unwrap_or_default();
    let changed_since = modifiers.iter().flatten().next().copied();
    let vanished = modifiers.iter().any(Option::is_none);
    // RFC 7162 §3.2.6: "The VANISHED UID FETCH modifier MUST only be specified together with
    // the CHANGEDSINCE UID FETCH modifier", and it is a UID FETCH modifier only.
    if vanished && (changed_since.is_none() || !uid) {
        return fail(input, ErrorKind::Invalid);
    }
    Ok((
        rest,
        CommandBody::Fetch {
            uid,
            set,
            items,
            changed_since,
            vanished,
        },
    ))
}

/// `store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags`
fn store(input: &[u8], uid: bool) -> PResult<'_, CommandBody> {
    let (rest, (_, set)) = (sp, sequence_set).parse(input)?;
    let (rest, unchanged_since) = opt(delimited(
        (sp, tag(&b"("[..]), tag_no_case(&b"UNCHANGEDSINCE"[..]), sp),
        number64_value,
        tag(&b")"[..]),
    ))
    .parse(rest)?;
    let (rest, _) = sp(rest)?;
    let (rest, sign) = opt(alt((tag(&b"+"[..]), tag(&b"-"[..])))).parse(rest)?;
    let kind = match sign {
        Some(b"+") => StoreKind::Add,
        Some(_) => StoreKind::Remove,
        None => StoreKind::Replace,
    };
    let (rest, (_, silent, _)) = (
        tag_no_case(&b"FLAGS"[..]),
        opt(tag_no_case(&b".SILENT"[..])),
        sp,
    )
        .parse(rest)?;
    let (rest, flags) = alt((flag_list, separated_list1(sp, flag))).parse(rest)?;
    Ok((
        rest,
        CommandBody::Store {
            uid,
            set,
            unchanged_since,
            kind,
            silent: silent.is_some(),
            flags,
        },
    ))
}

/// `id = "ID" SP id-params-list`
fn id(input: &[u8]) -> PResult<'_, CommandBody> {
    map(preceded(sp, super::id::id_params_list), CommandBody::Id).parse(input)
}

/// The client's reply during AUTHENTICATE: `base64 CRLF`, or `"*" CRLF` to cancel.
pub(crate) fn authenticate_data(input: &[u8]) -> PResult<'_, Option<Base64>> {
    alt((
        value(None, tag(&b"*\r\n"[..])),
        map(terminated(base64, crlf), Some),
        map(crlf, |_| Some(Base64::unvalidated(""))),
    ))
    .parse(input)
}

/// The `"DONE" CRLF` that ends `idle = "IDLE" CRLF "DONE"` (RFC 2177, RFC 9051 §9).
pub(crate) fn idle_done(input: &[u8]) -> PResult<'_, ()> {
    value((), (tag_no_case(&b"DONE"[..]), crlf)).parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_prefixes_incomplete;

    /// Commands in canonical form: decoding then encoding gives the same bytes.
    const CANONICAL: &[&[u8]] = &[
        b"a1 CAPABILITY\r\n",
        b"a2 NOOP\r\n",
        b"a3 LOGOUT\r\n",
        b"a4 STARTTLS\r\n",
        b"a5 AUTHENTICATE PLAIN\r\n",
        b"a5 AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0\r\n",
        b"a5 AUTHENTICATE EXTERNAL =\r\n",
        b"a6 LOGIN fred \"my secret\"\r\n",
        b"a6 LOGIN {4}\r\nfr\"d {3+}\r\npw\n\r\n",
        b"a7 ENABLE CONDSTORE UTF8=ACCEPT\r\n",
        b"a8 SELECT INBOX\r\n",
        b"a8 SELECT Entw&APw-rfe (CONDSTORE)\r\n",
        b"a8 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
        b"a8 EXAMINE \"a b\" (QRESYNC (1 2 1:5 (1:3 5:7)))\r\n",
        b"a9 CREATE owatagusiam/\r\n",
        b"a9 CREATE MySpecialArchive (USE (\\Archive))\r\n",
        b"b1 DELETE blurdybloop\r\n",
        b"b2 RENAME blurdybloop sarasoop\r\n",
        b"b3 SUBSCRIBE #news.comp.mail.mime\r\n",
        b"b4 UNSUBSCRIBE #news.comp.mail.mime\r\n",
        b"b5 LIST \"\" *\r\n",
        b"b5 LIST /usr/staff/jones \"\"\r\n",
        b"b5 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% Other/*) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n",
        b"b5 LIST \"\" % RETURN (SPECIAL-USE)\r\n",
        b"b6 LSUB #news. comp.mail.*\r\n",
        b"b7 NAMESPACE\r\n",
        b"b8 STATUS blurdybloop (UIDNEXT MESSAGES SIZE HIGHESTMODSEQ DELETED)\r\n",
        b"b9 APPEND saved-messages (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {5}\r\nhello\r\n",
        b"b9 APPEND INBOX {1+}\r\nx (\\Draft) ~{2}\r\n\0\x01\r\n",
        b"c1 IDLE\r\n",
        b"c2 CHECK\r\n",
        b"c3 CLOSE\r\n",
        b"c4 UNSELECT\r\n",
        b"c5 EXPUNGE\r\n",
        b"c6 UID EXPUNGE 3000:3002\r\n",
        b"c7 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
        b"c7 UID SEARCH RETURN (MIN COUNT SAVE) CHARSET UTF-8 OR SEEN $ TEXT {6}\r\nXXXXXX\r\n",
        b"c8 FETCH 12 FULL\r\n",
        b"c8 FETCH 12 (BODY[HEADER])\r\n",
        b"c8 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
        b"c8 FETCH 2:4 (BINARY.PEEK[1]<0.1024> MODSEQ)\r\n",
        b"c9 STORE 2:4 +FLAGS (\\Deleted)\r\n",
        b"c9 UID STORE 1 (UNCHANGEDSINCE 0) FLAGS.SILENT ($Label1 \\Seen)\r\n",
        b"c9 STORE * -FLAGS ()\r\n",
        b"d1 COPY 2:4 MEETING\r\n",
        b"d1 UID MOVE 42 [Gmail]/Trash\r\n",
        b"d2 ID (\"name\" \"sodr\" \"version\" NIL)\r\n",
        b"d2 ID NIL\r\n",
        b"d3 UNAUTHENTICATE\r\n",
        b"d4 COMPRESS DEFLATE\r\n",
        b"d5 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n",
        b"d5 UID SORT (REVERSE ARRIVAL DISPLAYFROM) US-ASCII ALL\r\n",
        b"d6 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-Mar-2000\r\n",
        b"d6 UID THREAD X-NEW \"UTF-8\" SEEN\r\n",
        b"d7 GETQUOTA \"\"\r\n",
        b"d7 GETQUOTAROOT INBOX\r\n",
        b"d7 SETQUOTA \"\" (STORAGE 512 MESSAGE 1000)\r\n",
    ];

    /// Commands in canonical form in a session with UTF8=ACCEPT enabled (RFC 6855).
    const UTF8_CANONICAL: &[&[u8]] = &[
        b"e1 SELECT \"Entw\xc3\xbcrfe\"\r\n",
        b"e1 EXAMINE \"\xe6\x97\xa5\xe6\x9c\xac \xe8\xaa\x9e\" (CONDSTORE)\r\n",
        b"e2 CREATE \"Tom & Jerry\"\r\n",
        b"e2 RENAME a&b \"\xc3\x84rger\"\r\n",
        b"e3 STATUS \"\xc3\xa9t\xc3\xa9\" (MESSAGES)\r\n",
        b"e4 APPEND INBOX UTF8 (~{3+}\r\n\xc3\xa9!)\r\n",
        b"e4 APPEND \"\xc3\xa9\" (\\Seen) UTF8 (~{1}\r\nx) {1}\r\ny\r\n",
        b"e5 UID MOVE 1:* \"\xc3\xa9\"\r\n",
        b"e6 LIST \"\" \"\xc3\xa9*\"\r\n",
    ];

    fn decode(input: &[u8]) -> PResult<'_, Command> {
        command(input, 64, false)
    }

    fn decode_utf8(input: &[u8]) -> PResult<'_, Command> {
        command(input, 64, true)
    }

    #[test]
    fn kat_utf8_accept() {
        for input in UTF8_CANONICAL {
            let (rest, cmd) = decode_utf8(input).unwrap_or_else(|e| panic!("{input:?}: {e:?}"));
            assert!(rest.is_empty(), "{input:?}");
            assert_eq!(
                String::from_utf8_lossy(&cmd.encode_in(true).dump()),
                String::from_utf8_lossy(input)
            );
            assert_prefixes_incomplete(input, decode_utf8);
        }
        // The same names go out as modified UTF-7 without UTF8=ACCEPT, and read back.
        let (_, cmd) = decode_utf8(UTF8_CANONICAL[3]).unwrap();
        assert_eq!(cmd.encode().dump(), b"e2 RENAME a&-b &AMQ-rger\r\n");
        assert_eq!(decode(b"e2 RENAME a&-b &AMQ-rger\r\n").unwrap().1, cmd);
        // Without UTF8=ACCEPT the UTF8 APPEND form and UTF-8 names are not in the grammar.
        for bad in [UTF8_CANONICAL[5], b"x SELECT {2}\r\n\xc3\xa9\r\n"] {
            assert!(matches!(decode(bad), Err(nom::Err::Failure(_))), "{bad:?}");
        }
        // RFC 6855 §3: names "MUST NOT contain control characters ... a line separator
        // (U+2028), or a paragraph separator (U+2029)".
        for bad in [
            &b"x SELECT \"a\xe2\x80\xa8\"\r\n"[..],
            b"x SELECT \"\xc2\x85\"\r\n",
            b"x SELECT {1}\r\n\x7f\r\n",
        ] {
            assert!(decode_utf8(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn kat_canonical() {
        for input in CANONICAL {
            let (rest, cmd) = decode(input).unwrap_or_else(|e| panic!("{input:?}: {e:?}"));
            assert!(rest.is_empty(), "{input:?}");
            assert_eq!(
                String::from_utf8_lossy(&cmd.encode().dump()),
                String::from_utf8_lossy(input)
            );
            assert_prefixes_incomplete(input, decode);
        }
    }

    #[test]
    fn kat_normalised() {
        let table: &[(&[u8], &[u8])] = &[
            (b"a login fred pw\r\n", b"a LOGIN fred pw\r\n"),
            (b"a select \"inbox\"\r\n", b"a SELECT INBOX\r\n"),
            (b"a fetch 1 body.peek[]\r\n", b"a FETCH 1 (BODY.PEEK[])\r\n"),
            (
                b"a store 1 flags \\seen \\draft\r\n",
                b"a STORE 1 FLAGS (\\Seen \\Draft)\r\n",
            ),
            (
                b"a search before \"1-Feb-1994\"\r\n",
                b"a SEARCH BEFORE 1-Feb-1994\r\n",
            ),
            (b"a delete {3}\r\nabc\r\n", b"a DELETE abc\r\n"),
        ];
        for (input, canonical) in table {
            let (rest, cmd) = decode(input).unwrap();
            assert!(rest.is_empty());
            assert_eq!(cmd.encode().dump(), *canonical);
        }
    }

    #[test]
    fn refused() {
        for bad in [
            &b"a NOOP extra\r\n"[..],
            b"+ NOOP\r\n",
            b"a FROB\r\n",
            b"a SELECT &AGEAYgBj-\r\n",
            b"a FETCH 0 FLAGS\r\n",
            b"a FETCH 1 FLAGS (VANISHED)\r\n",
            b"a UID FETCH 1 FLAGS (VANISHED)\r\n",
            b"a LIST (RECURSIVEMATCH) \"\" *\r\n",
            b"a LOGIN a\r\n",
            b"a NOOP\n",
            b"a APPEND x {2}\r\na\0\r\n",
            b"a UID FROB 1\r\n",
            b"a AUTHENTICATE PLAIN abc\r\n",
            b"a FETCH 1 (CHANGEDSINCE 0)\r\n",
        ] {
            assert!(
                matches!(decode(bad), Err(nom::Err::Error(_) | nom::Err::Failure(_))),
                "{:?} gave {:?}",
                String::from_utf8_lossy(bad),
                decode(bad)
            );
        }
    }

    #[test]
    fn idle_done_and_authenticate_data() {
        assert!(idle_done(b"done\r\n").is_ok());
        assert_prefixes_incomplete(b"DONE\r\n", idle_done);
        assert_eq!(authenticate_data(b"*\r\n").unwrap().1, None);
        assert_eq!(
            authenticate_data(b"dGVzdA==\r\n").unwrap().1,
            Some(Base64::unvalidated("dGVzdA=="))
        );
        assert_eq!(
            authenticate_data(b"\r\n").unwrap().1,
            Some(Base64::unvalidated(""))
        );
        assert!(authenticate_data(b"dGVzdA=\r\n").is_err());
    }
}

#[cfg(test)]
mod round_trip {
    use proptest::prelude::*;

    use crate::{
        arbitrary,
        codec::{CommandCodec, DecodeError, DecodeErrorKind},
    };

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn command(command in arbitrary::command()) {
            // Without UTF8=ACCEPT a command either round-trips or (holding 8-bit text
            // outside a literal, which RFC 3501 does not allow) is refused as such.
            let bytes = command.encode().dump();
            let codec = CommandCodec::default();
            match codec.decode(&bytes) {
                // 8-bit text outside literals, or APPEND's UTF8 form.
                Err(DecodeError::Failed { kind: DecodeErrorKind::Utf8NotEnabled, .. }) => {}
                decoded => prop_assert_eq!(
                    decoded,
                    Ok((&b""[..], command.clone())),
                    "{}",
                    String::from_utf8_lossy(&bytes)
                ),
            }
            // With it, every command round-trips, mailbox names in UTF-8.
            let bytes = command.encode_in(true).dump();
            let mut codec = CommandCodec::default();
            codec.enable_utf8_accept();
            let decoded = codec.decode(&bytes);
            prop_assert_eq!(decoded, Ok((&b""[..], command)), "{}", String::from_utf8_lossy(&bytes));
            // Every strict prefix of a valid command is incomplete, never an error or a
            // different command.
            for end in 0..bytes.len() {
                prop_assert_eq!(codec.decode(&bytes[..end]), Err(DecodeError::Incomplete));
            }
        }
    }
}
