//! Flags.

use nom::{
    Parser,
    branch::alt,
    bytes::streaming::tag,
    combinator::{map, value},
    multi::separated_list0,
    sequence::delimited,
};

use super::{
    ErrorKind, PResult, byte,
    core::{atom, atom_bytes, sp},
    fail,
};
use crate::types::{
    core::Atom,
    flag::{Flag, FlagFetch, FlagPerm},
};

/// `"\" atom`, as a system flag or a `flag-extension`; `\Recent` too when `recent` is given
/// (`flag-fetch`), which other flag lists refuse.
fn backslash_flag_or<T>(
    input: &[u8],
    recent: Option<T>,
    wrap: impl FnOnce(Flag) -> T,
) -> PResult<'_, T> {
    let (rest, ()) = byte(input, b'\\')?;
    let (rest, name) = atom_bytes(rest)?;
    // The system flags are most flags on the wire: matched without building an atom.
    if let Some(flag) = Flag::system(name) {
        return Ok((rest, wrap(flag)));
    }
    if let Some(recent) = recent
        && name.eq_ignore_ascii_case(b"Recent")
    {
        return Ok((rest, recent));
    }
    match Flag::from_backslash_atom(Atom::unvalidated_ascii(name)) {
        Ok(flag) => Ok((rest, wrap(flag))),
        Err(_) => fail(input, ErrorKind::Invalid),
    }
}

/// `"\" atom`, as a system flag or a `flag-extension`.
fn backslash_flag(input: &[u8]) -> PResult<'_, Flag> {
    backslash_flag_or(input, None, |flag| flag)
}

/// `flag = "\Answered" / … / flag-keyword / flag-extension`
pub(crate) fn flag(input: &[u8]) -> PResult<'_, Flag> {
    alt((backslash_flag, map(atom, Flag::Keyword))).parse(input)
}

/// `flag-list = "(" [flag *(SP flag)] ")"`
pub(crate) fn flag_list(input: &[u8]) -> PResult<'_, Vec<Flag>> {
    delimited(tag(&b"("[..]), separated_list0(sp, flag), tag(&b")"[..])).parse(input)
}

/// `flag-fetch = flag / "\Recent"`
pub(crate) fn flag_fetch(input: &[u8]) -> PResult<'_, FlagFetch> {
    match input.first() {
        Some(b'\\') => backslash_flag_or(input, Some(FlagFetch::Recent), FlagFetch::Flag),
        _ => map(atom, |a| FlagFetch::Flag(Flag::Keyword(a))).parse(input),
    }
}

/// `flag-perm = flag / "\*"`
pub(crate) fn flag_perm(input: &[u8]) -> PResult<'_, FlagPerm> {
    alt((
        value(FlagPerm::Asterisk, tag(&b"\\*"[..])),
        map(flag, FlagPerm::Flag),
    ))
    .parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode::to_bytes, testing::assert_prefixes_incomplete, types::core::Atom};

    #[test]
    fn kat() {
        let table: &[(&[u8], Vec<Flag>)] = &[
            (b"()", vec![]),
            (b"(\\Seen \\deleted)", vec![Flag::Seen, Flag::Deleted]),
            (
                b"($Forwarded \\X-Custom)",
                vec![
                    Flag::Keyword(Atom::try_from("$Forwarded").unwrap()),
                    Flag::Extension(Atom::try_from("X-Custom").unwrap().try_into().unwrap()),
                ],
            ),
        ];
        for (input, expected) in table {
            assert_eq!(flag_list(input).unwrap(), (&b""[..], expected.clone()));
            assert_prefixes_incomplete(input, flag_list);
        }
        assert_eq!(to_bytes(&Flag::Deleted), b"\\Deleted");
        // `\Recent` is not a `flag`; a STORE cannot set it.
        assert!(flag(b"\\Recent ").is_err());
        assert_eq!(flag_fetch(b"\\Recent ").unwrap().1, FlagFetch::Recent);
        assert_eq!(flag_fetch(b"\\recent)").unwrap().1, FlagFetch::Recent);
        assert_eq!(
            flag_fetch(b"\\SEEN ").unwrap().1,
            FlagFetch::Flag(Flag::Seen)
        );
        // A longer atom is a flag extension, not `\Recent` followed by garbage.
        assert_eq!(
            flag_fetch(b"\\RecentX ").unwrap().1,
            FlagFetch::Flag(Flag::Extension(
                Atom::try_from("RecentX").unwrap().try_into().unwrap()
            ))
        );
        for fetched in [&b"\\Recent"[..], b"\\Seen", b"$Label1"] {
            assert_prefixes_incomplete(fetched, flag_fetch);
        }
        assert_eq!(flag_perm(b"\\* ").unwrap().1, FlagPerm::Asterisk);
    }
}
