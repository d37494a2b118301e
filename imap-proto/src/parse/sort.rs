//! SORT and THREAD (RFC 5256): command arguments and response data.

use std::num::NonZeroU32;

use nom::{
    Parser,
    bytes::streaming::{tag, tag_no_case},
    combinator::{map, opt},
    multi::{many1, separated_list1},
    sequence::{delimited, preceded, terminated},
};

use super::{
    ErrorKind, PResult,
    core::{astring, atom, nz_number, sp},
    fail,
    fetch::{non_empty, token},
    search::search_key,
};
use crate::{
    keywords::by_name,
    types::{
        command::CommandBody,
        sort::{SortCriterion, SortKey, Thread, ThreadAlgorithm},
    },
};

/// `sort-criterion = ["REVERSE" SP] sort-key`
fn sort_criterion(input: &[u8]) -> PResult<'_, SortCriterion> {
    let (rest, reverse) = opt(terminated(tag_no_case(&b"REVERSE"[..]), sp)).parse(input)?;
    let (rest, name) = token(rest)?;
    match by_name(&SortKey::ALL, name) {
        Some(key) => Ok((
            rest,
            SortCriterion {
                reverse: reverse.is_some(),
                key,
            },
        )),
        None => fail(input, ErrorKind::Invalid),
    }
}

/// `sort = ["UID" SP] "SORT" SP sort-criteria SP search-criteria`, after "SORT".
pub(crate) fn sort(input: &[u8], uid: bool, max_depth: usize) -> PResult<'_, CommandBody> {
    let (rest, (_, criteria, _, charset)) = (
        sp,
        delimited(
            tag(&b"("[..]),
            separated_list1(sp, sort_criterion),
            tag(&b")"[..]),
        ),
        sp,
        astring,
    )
        .parse(input)?;
    let (rest, criteria) = non_empty(rest, criteria)?;
    let (rest, search) = many1(preceded(sp, |i| search_key(i, max_depth))).parse(rest)?;
    let (rest, search) = non_empty(rest, search)?;
    Ok((
        rest,
        CommandBody::Sort {
            uid,
            criteria,
            charset,
            search,
        },
    ))
}

/// `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria`, after "THREAD".
pub(crate) fn thread(input: &[u8], uid: bool, max_depth: usize) -> PResult<'_, CommandBody> {
    let (rest, (_, algorithm, _, charset)) = (sp, atom, sp, astring).parse(input)?;
    let (rest, search) = many1(preceded(sp, |i| search_key(i, max_depth))).parse(rest)?;
    let (rest, search) = non_empty(rest, search)?;
    Ok((
        rest,
        CommandBody::Thread {
            uid,
            algorithm: ThreadAlgorithm::from_atom(algorithm),
            charset,
            search,
        },
    ))
}

/// `thread-list = "(" (thread-members / thread-nested) ")"`, nesting at most `depth` deep.
pub(crate) fn thread_list(input: &[u8], depth: usize) -> PResult<'_, Thread> {
    if depth == 0 {
        return fail(input, ErrorKind::RecursionLimit);
    }
    let nested = |i| many1(|i| thread_list(i, depth - 1)).parse(i);
    let (rest, _) = tag(&b"("[..]).parse(input)?;
    let (rest, thread) = if rest.first() == Some(&b'(') {
        let (rest, threads) = nested(rest)?;
        match Thread::nested(threads) {
            Ok(t) => (rest, t),
            // RFC 5256: "thread-nested = 2*thread-list".
            Err(_) => return fail(input, ErrorKind::Invalid),
        }
    } else {
        let (rest, chain) = separated_list1(sp, nz_number).parse(rest)?;
        let (rest, branches) = opt(preceded(sp, nested)).parse(rest)?;
        match Thread::members(chain, branches.unwrap_or_default()) {
            Ok(t) => (rest, t),
            Err(_) => return fail(input, ErrorKind::Invalid),
        }
    };
    let (rest, _) = tag(&b")"[..]).parse(rest)?;
    Ok((rest, thread))
}

/// `"THREAD" [SP 1*thread-list]`, after "THREAD".
pub(crate) fn thread_data(input: &[u8], max_depth: usize) -> PResult<'_, Vec<Thread>> {
    map(
        opt(preceded(sp, many1(|i| thread_list(i, max_depth)))),
        Option::unwrap_or_default,
    )
    .parse(input)
}

/// `"SORT" *(SP nz-number)`, after "SORT".
pub(crate) fn sort_data(input: &[u8]) -> PResult<'_, Vec<NonZeroU32>> {
    super::many0_lazy(preceded(sp, nz_number)).parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode::to_bytes, testing::assert_prefixes_incomplete};

    #[test]
    fn kat_thread() {
        // RFC 5256 §4 examples.
        for input in [
            &b"(2)(3 6 (4 23)(44 7 96))"[..],
            b"((3)(5))",
            b"(166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))(179)(177 (183)(182)(188)(184)(185)(186)(187)(189))(190)(191)(192)(193)(194 195)(196 (197)(198))(199)(200 202)(201)(203)(204)(205)(206 207)(208)",
        ] {
            let mut with_end = input.to_vec();
            with_end.extend_from_slice(b"\r\n");
            let (rest, threads) = many1(|i| thread_list(i, 16)).parse(&with_end).unwrap();
            assert_eq!(rest, b"\r\n");
            let encoded: Vec<u8> = threads.iter().flat_map(to_bytes).collect();
            assert_eq!(encoded, input);
            assert_prefixes_incomplete(input, |i| many1(|i| thread_list(i, 16)).parse(i));
        }
        // A single nested list and a single branch break "2*thread-list".
        assert!(thread_list(b"((3))\r\n", 16).is_err());
        assert!(thread_list(b"(3 (4))\r\n", 16).is_err());
    }
}
