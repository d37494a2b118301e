//! SEARCH keys, with a nesting limit.

use nom::{
    Parser,
    bytes::streaming::{tag, take_while1},
    combinator::{map, opt},
    multi::separated_list1,
    sequence::{delimited, preceded},
};

use super::{
    ErrorKind, PResult,
    core::{astring, atom, number64_value, quoted, sp},
    datetime::date,
    fail,
    fetch::non_empty,
    reject,
    sequence::sequence_set,
};
use crate::{
    keywords::by_name,
    types::{
        core::Atom,
        flag::Flag,
        search::{EntryType, ModSeqEntry, SearchKey, SearchReturnOption},
    },
};

/// `search-key`, refusing nesting deeper than `depth` (`NOT`, `OR` and parentheses each
/// count one level).
pub(crate) fn search_key(input: &[u8], depth: usize) -> PResult<'_, SearchKey> {
    if depth == 0 {
        return fail(input, ErrorKind::RecursionLimit);
    }
    let inner = |i| search_key(i, depth - 1);
    match input.first() {
        None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        Some(b'(') => {
            let (rest, keys) =
                delimited(tag(&b"("[..]), separated_list1(sp, inner), tag(&b")"[..]))
                    .parse(input)?;
            let (rest, keys) = non_empty(rest, keys)?;
            return Ok((rest, SearchKey::And(keys)));
        }
        Some(b'0'..=b'9' | b'*' | b'$') => {
            return map(sequence_set, SearchKey::SequenceSet).parse(input);
        }
        Some(_) => {}
    }
    let (rest, name) = take_while1(|b: u8| b.is_ascii_alphabetic()).parse(input)?;
    let upper = super::Upper::new(name);
    if let Some(key) = by_name(&SearchKey::FLAGS, name) {
        return Ok((rest, key));
    }
    let string_key: Option<fn(_) -> SearchKey> = match upper.as_slice() {
        b"BCC" => Some(SearchKey::Bcc),
        b"BODY" => Some(SearchKey::Body),
        b"CC" => Some(SearchKey::Cc),
        b"FROM" => Some(SearchKey::From),
        b"SUBJECT" => Some(SearchKey::Subject),
        b"TEXT" => Some(SearchKey::Text),
        b"TO" => Some(SearchKey::To),
        _ => None,
    };
    if let Some(build) = string_key {
        return map(preceded(sp, astring), build).parse(rest);
    }
    let date_key: Option<fn(_) -> SearchKey> = match upper.as_slice() {
        b"BEFORE" => Some(SearchKey::Before),
        b"ON" => Some(SearchKey::On),
        b"SENTBEFORE" => Some(SearchKey::SentBefore),
        b"SENTON" => Some(SearchKey::SentOn),
        b"SENTSINCE" => Some(SearchKey::SentSince),
        b"SINCE" => Some(SearchKey::Since),
        _ => None,
    };
    if let Some(build) = date_key {
        return map(preceded(sp, date), build).parse(rest);
    }
    match upper.as_slice() {
        b"HEADER" => map((sp, astring, sp, astring), |(_, n, _, v)| {
            SearchKey::Header(n, v)
        })
        .parse(rest),
        b"KEYWORD" => map(preceded(sp, atom), SearchKey::Keyword).parse(rest),
        b"UNKEYWORD" => map(preceded(sp, atom), SearchKey::Unkeyword).parse(rest),
        b"LARGER" => map(preceded(sp, number64_value), SearchKey::Larger).parse(rest),
        b"SMALLER" => map(preceded(sp, number64_value), SearchKey::Smaller).parse(rest),
        b"MODSEQ" => {
            let (rest, entry) = opt(preceded(sp, modseq_entry)).parse(rest)?;
            map(preceded(sp, number64_value), |value| SearchKey::ModSeq {
                entry: entry.clone(),
                value,
            })
            .parse(rest)
        }
        b"UID" => map(preceded(sp, sequence_set), SearchKey::Uid).parse(rest),
        b"NOT" => map(preceded(sp, inner), |k| SearchKey::Not(Box::new(k))).parse(rest),
        b"OR" => map((sp, inner, sp, inner), |(_, a, _, b)| {
            SearchKey::Or(Box::new(a), Box::new(b))
        })
        .parse(rest),
        _ => reject(input, ErrorKind::Invalid),
    }
}

/// `entry-name SP entry-type-req`, where `entry-name = DQUOTE "/flags/" attr-flag DQUOTE`.
fn modseq_entry(input: &[u8]) -> PResult<'_, ModSeqEntry> {
    let (rest, name) = quoted(input)?;
    let Some(flag) = name.as_str().strip_prefix("/flags/") else {
        return fail(input, ErrorKind::Invalid);
    };
    let flag = match flag.strip_prefix('\\') {
        Some(name) => Atom::try_from(name)
            .map_err(|_| ())
            .and_then(|a| Flag::from_backslash_atom(a).map_err(|_| ())),
        None => Atom::try_from(flag).map(Flag::Keyword).map_err(|_| ()),
    };
    let Ok(flag) = flag else {
        return fail(input, ErrorKind::Invalid);
    };
    let (rest, (_, kind)) = (sp, take_while1(|b: u8| b.is_ascii_alphabetic())).parse(rest)?;
    let kind = match super::Upper::new(kind).as_slice() {
        b"PRIV" => EntryType::Private,
        b"SHARED" => EntryType::Shared,
        b"ALL" => EntryType::All,
        _ => return fail(input, ErrorKind::Invalid),
    };
    Ok((rest, ModSeqEntry { flag, kind }))
}

/// `search-return-opt`
pub(crate) fn search_return_option(input: &[u8]) -> PResult<'_, SearchReturnOption> {
    let (rest, name) = take_while1(|b: u8| b.is_ascii_alphabetic()).parse(input)?;
    match by_name(&SearchReturnOption::ALL, name) {
        Some(option) => Ok((rest, option)),
        None => fail(input, ErrorKind::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode::to_bytes, testing::assert_prefixes_incomplete};

    fn key(input: &[u8]) -> PResult<'_, SearchKey> {
        search_key(input, 64)
    }

    #[test]
    fn kat() {
        let table: &[&[u8]] = &[
            b"ALL",
            b"FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
            b"OR (DELETED SEEN) NOT (UID 1:5,7)",
            b"HEADER Message-ID \"<x@y>\" LARGER 1024 SMALLER 99999 KEYWORD $Junk",
            b"1:* UNKEYWORD $Seen SENTON 2-Mar-2020 MODSEQ 720162338 TEXT {3}\r\na\"b",
            // RFC 7162 §3.1.5 example.
            b"MODSEQ \"/flags/\\\\Draft\" all 620162338",
            b"MODSEQ \"/flags/$Junk\" priv 0",
            b"$ NEW OLD RECENT UNDRAFT",
        ];
        for input in table {
            let mut with_end = input.to_vec();
            with_end.extend_from_slice(b"\r\n");
            let mut keys = Vec::new();
            let mut rest = with_end.as_slice();
            loop {
                let (r, k) = key(rest).unwrap();
                keys.push(k);
                match sp(r) {
                    Ok((r, _)) => rest = r,
                    Err(_) => {
                        assert_eq!(r, b"\r\n");
                        break;
                    }
                }
            }
            let mut encoded = Vec::new();
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    encoded.push(b' ');
                }
                encoded.extend(to_bytes(k));
            }
            assert_eq!(encoded, *input);
            assert_prefixes_incomplete(&to_bytes(&keys[0]), key);
        }
    }

    #[test]
    fn nesting_is_bounded() {
        // The floor: "an OR chain of at least 32 terms must work".
        let mut chain = Vec::new();
        for _ in 0..31 {
            chain.extend_from_slice(b"OR SEEN ");
        }
        chain.extend_from_slice(b"DRAFT\r\n");
        assert!(search_key(&chain, 64).is_ok());
        assert!(matches!(
            search_key(&chain, 16),
            Err(nom::Err::Failure(e)) if e.kind == ErrorKind::RecursionLimit
        ));
        let deep = [&b"NOT "[..]; 10_000].concat();
        assert!(matches!(search_key(&deep, 64), Err(nom::Err::Failure(_))));
    }
}
