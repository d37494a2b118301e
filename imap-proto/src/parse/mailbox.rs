//! Mailbox names and LIST patterns.

use nom::{Parser, branch::alt, bytes::streaming::take_while1, combinator::map};

use super::{
    ErrorKind, PResult,
    core::{astring, string},
    fail,
};
use crate::{chars::is_list_char, types::mailbox::Mailbox};

/// `mailbox = "INBOX" / astring`, decoded from modified UTF-7.
pub(crate) fn mailbox(input: &[u8]) -> PResult<'_, Mailbox> {
    let (rest, wire) = astring(input)?;
    match Mailbox::from_wire(wire.as_bytes()) {
        Ok(mailbox) => Ok((rest, mailbox)),
        Err(_) => fail(input, ErrorKind::Mutf7),
    }
}

/// `list-mailbox = 1*list-char / string`: a LIST pattern, which may hold `%` and `*`. Kept as
/// wire bytes because a pattern is matched, not decoded.
pub(crate) fn list_mailbox(input: &[u8]) -> PResult<'_, Vec<u8>> {
    alt((
        map(take_while1(is_list_char), <[u8]>::to_vec),
        map(string, |s| s.as_bytes().to_vec()),
    ))
    .parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode::to_bytes, testing::assert_prefixes_incomplete};

    #[test]
    fn kat() {
        let table: &[(&[u8], Mailbox, &[u8])] = &[
            (b"inbox ", Mailbox::Inbox, b"INBOX"),
            (b"\"InBoX\" ", Mailbox::Inbox, b"INBOX"),
            (
                b"Entw&APw-rfe ",
                Mailbox::try_from("Entwürfe").unwrap(),
                b"Entw&APw-rfe",
            ),
            (
                b"{6}\r\na&-b c ",
                Mailbox::try_from("a&b c").unwrap(),
                b"\"a&-b c\"",
            ),
            (b"\"a b\" ", Mailbox::try_from("a b").unwrap(), b"\"a b\""),
        ];
        for (input, expected, canonical) in table {
            assert_eq!(
                mailbox(input).unwrap(),
                (&b" "[..], expected.clone()),
                "{input:?}"
            );
            assert_eq!(to_bytes(expected), *canonical);
            assert_prefixes_incomplete(&input[..input.len() - 1], mailbox);
        }
        // RFC 3501 §5.1.3: "Modified BASE64 MUST NOT be used to represent any printing
        // US-ASCII character which can represent itself."
        assert!(matches!(mailbox(b"&AGEAYgBj- "), Err(nom::Err::Failure(_))));
        assert_eq!(list_mailbox(b"INBOX.%/* ").unwrap().1, b"INBOX.%/*");
    }
}
