//! Flags.

use nom::{
    Parser,
    branch::alt,
    bytes::streaming::{tag, tag_no_case},
    combinator::{map, value},
    multi::separated_list0,
    sequence::{delimited, preceded},
};

use super::{
    ErrorKind, PResult,
    core::{atom, sp},
    fail,
};
use crate::types::flag::{Flag, FlagFetch, FlagPerm};

/// `"\" atom`, as a system flag or a `flag-extension`.
fn backslash_flag(input: &[u8]) -> PResult<'_, Flag> {
    let (rest, name) = preceded(tag(&b"\\"[..]), atom).parse(input)?;
    match Flag::from_backslash_atom(name) {
        Ok(flag) => Ok((rest, flag)),
        Err(_) => fail(input, ErrorKind::Invalid),
    }
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
    alt((
        value(FlagFetch::Recent, tag_no_case(&b"\\Recent"[..])),
        map(flag, FlagFetch::Flag),
    ))
    .parse(input)
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
        assert_eq!(flag_perm(b"\\* ").unwrap().1, FlagPerm::Asterisk);
    }
}
