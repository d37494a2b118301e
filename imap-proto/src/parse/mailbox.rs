//! Mailbox names and LIST patterns.

use nom::{Parser, branch::alt, bytes::streaming::take_while1, combinator::map};

use super::{
    ErrorKind, PResult,
    core::{astring, string},
    fail,
};
use crate::{chars::is_list_char, types::mailbox::Mailbox};

/// `mailbox = "INBOX" / astring` in a response: modified UTF-7 when it is canonical, else
/// UTF-8, because a server with UTF8=ACCEPT enabled sends UTF-8 names.
pub(crate) fn mailbox(input: &[u8]) -> PResult<'_, Mailbox> {
    let (rest, wire) = astring(input)?;
    match Mailbox::from_any_wire(wire.as_bytes()) {
        Ok(mailbox) => Ok((rest, mailbox)),
        Err(_) => fail(input, ErrorKind::Mutf7),
    }
}

/// `mailbox = "INBOX" / astring` in a command: modified UTF-7, or UTF-8 when the session has
/// UTF8=ACCEPT enabled (`utf8_accept`).
pub(crate) fn mailbox_in(utf8_accept: bool) -> impl Fn(&[u8]) -> PResult<'_, Mailbox> {
    move |input| {
        let (rest, wire) = astring(input)?;
        let decoded = if utf8_accept {
            Mailbox::from_utf8_wire(wire.as_bytes())
        } else {
            Mailbox::from_wire(wire.as_bytes())
        };
        match decoded {
            Ok(mailbox) => Ok((rest, mailbox)),
            Err(_) => fail(input, ErrorKind::Mutf7),
        }
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
        let strict = mailbox_in(false);
        assert!(matches!(strict(b"&AGEAYgBj- "), Err(nom::Err::Failure(_))));
        // Before UTF8=ACCEPT a name is modified UTF-7, so 8-bit octets are refused.
        assert!(matches!(
            strict(b"\"\xc3\xa9\" "),
            Err(nom::Err::Failure(_))
        ));
        // RFC 6855 §3: with UTF8=ACCEPT the name is UTF-8 and `&` stands for itself; a
        // client reading responses takes modified UTF-7 when it is canonical, else UTF-8.
        let utf8 = mailbox_in(true);
        assert_eq!(utf8(b"\"\xc3\xa9\" ").unwrap().1.name(), "\u{e9}");
        assert_eq!(utf8(b"&AGEAYgBj- ").unwrap().1.name(), "&AGEAYgBj-");
        assert_eq!(mailbox(b"&APw- ").unwrap().1.name(), "\u{fc}");
        assert_eq!(mailbox(b"\"a&b\" ").unwrap().1.name(), "a&b");
        assert_eq!(mailbox(b"\"\xc3\xa9\" ").unwrap().1.name(), "\u{e9}");
        assert_eq!(list_mailbox(b"INBOX.%/* ").unwrap().1, b"INBOX.%/*");
    }
}
