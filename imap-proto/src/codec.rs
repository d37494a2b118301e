//! Public decoders, [`CommandCodec`] for servers and [`ResponseCodec`] for clients: bytes of one whole message (as the [`crate::fragmentizer`] delivers
//! them) to typed values.

use crate::{
    options::Options,
    parse::{self, ErrorKind, ParseError},
    types::{
        command::{Base64, Command},
        core::Tag,
        response::{Greeting, Response},
        secret::Secret,
    },
};

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ends before the message does; read more and decode again.
    Incomplete,
    /// The message is malformed. A server answers `tag BAD …` (or `* BAD …` without a tag).
    Failed {
        /// The command's tag, when the line started with one.
        tag: Option<Tag>,
        /// What kind of mistake.
        kind: DecodeErrorKind,
    },
}

/// The kind of a decoding failure, for the text of a BAD response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The bytes do not follow the grammar.
    Syntax,
    /// A number is out of its range.
    Number,
    /// A mailbox name is not canonical modified UTF-7.
    MailboxName,
    /// A date or time does not exist.
    Date,
    /// Lists or search keys nest deeper than `max_nesting_depth`.
    NestingTooDeep,
    /// Octets with the high bit set outside a literal, in a session that has not enabled
    /// UTF8=ACCEPT (RFC 6855).
    Utf8NotEnabled,
}

impl DecodeError {
    fn from_nom(err: nom::Err<ParseError<'_>>, tag: Option<Tag>) -> Self {
        match err {
            nom::Err::Incomplete(_) => DecodeError::Incomplete,
            nom::Err::Error(e) | nom::Err::Failure(e) => DecodeError::Failed {
                tag,
                kind: match e.kind {
                    ErrorKind::Number => DecodeErrorKind::Number,
                    ErrorKind::Mutf7 => DecodeErrorKind::MailboxName,
                    ErrorKind::Date => DecodeErrorKind::Date,
                    ErrorKind::RecursionLimit => DecodeErrorKind::NestingTooDeep,
                    ErrorKind::Utf8NotEnabled => DecodeErrorKind::Utf8NotEnabled,
                    ErrorKind::Nom(_) | ErrorKind::Invalid => DecodeErrorKind::Syntax,
                },
            },
        }
    }
}

/// Decodes client commands.
#[derive(Debug, Clone, Default)]
pub struct CommandCodec {
    options: Options,
    utf8_accept: bool,
}

impl CommandCodec {
    /// A decoder enforcing `options` (nesting depth; sizes are the framer's job).
    pub fn new(options: Options) -> Self {
        Self {
            options,
            utf8_accept: false,
        }
    }

    /// Switches to the grammar of a session that enabled UTF8=ACCEPT (RFC 6855): UTF-8
    /// mailbox names (where `&` stands for itself), UTF-8 in quoted strings, and APPEND's
    /// `UTF8 (~{n}…)`. An enabled extension lasts for the session: RFC 5161 has no
    /// command that disables one, so there is no way back.
    pub fn enable_utf8_accept(&mut self) {
        self.utf8_accept = true;
    }

    /// Whether UTF8=ACCEPT grammar is in force.
    pub fn utf8_accept(&self) -> bool {
        self.utf8_accept
    }

    /// Decodes one command from the start of `input`; returns it and the bytes after it.
    pub fn decode<'a>(&self, input: &'a [u8]) -> Result<(&'a [u8], Command), DecodeError> {
        // RFC 3501 §4.3: "A quoted string is a sequence of zero or more 7-bit characters,
        // excluding CR and LF"; atoms are 7-bit too, so before UTF8=ACCEPT octets with the
        // high bit set may only appear inside literals. LOGIN is exempt: it comes before
        // ENABLE can (RFC 5161 §3.1: "The ENABLE command is only valid in the authenticated
        // state"), and IMAP4rev2 (RFC 9051) quoted strings carry UTF-8, so a UTF-8 password
        // must not lock its owner out.
        if !self.utf8_accept && !is_login(input) && eight_bit_outside_literals(input) {
            return Err(DecodeError::Failed {
                tag: parse::core::tag_(input).ok().map(|(_, tag)| tag),
                kind: DecodeErrorKind::Utf8NotEnabled,
            });
        }
        match parse::command::command(input, self.options.max_nesting_depth, self.utf8_accept) {
            Ok((rest, command)) => Ok((rest, command)),
            Err(err) => {
                let tag = parse::core::tag_(input).ok().map(|(_, tag)| tag);
                Err(DecodeError::from_nom(err, tag))
            }
        }
    }

    /// Decodes the client's answer to an AUTHENTICATE challenge: base64 data, or `None` when
    /// the client cancelled with `*` (RFC 3501 §6.2.2: "If the client wishes to cancel an
    /// authentication exchange, it issues a line consisting of a single "*".").
    pub fn decode_authenticate_data<'a>(
        &self,
        input: &'a [u8],
    ) -> Result<(&'a [u8], Option<Secret<Base64>>), DecodeError> {
        parse::command::authenticate_data(input)
            .map(|(rest, data)| (rest, data.map(Secret::new)))
            .map_err(|err| DecodeError::from_nom(err, None))
    }

    /// Decodes the `DONE` that ends IDLE (RFC 2177).
    pub fn decode_idle_done<'a>(&self, input: &'a [u8]) -> Result<&'a [u8], DecodeError> {
        parse::command::idle_done(input)
            .map(|(rest, ())| rest)
            .map_err(|err| DecodeError::from_nom(err, None))
    }
}

/// Decodes server responses (client side).
#[derive(Debug, Clone, Default)]
pub struct ResponseCodec {
    options: Options,
}

impl ResponseCodec {
    /// A decoder enforcing `options` (nesting depth of BODYSTRUCTURE).
    pub fn new(options: Options) -> Self {
        Self { options }
    }

    /// Decodes the server greeting, the first line of a session.
    pub fn decode_greeting<'a>(
        &self,
        input: &'a [u8],
    ) -> Result<(&'a [u8], Greeting), DecodeError> {
        parse::response::greeting(input).map_err(|err| DecodeError::from_nom(err, None))
    }

    /// Decodes one response from the start of `input`; returns it and the bytes after it.
    pub fn decode<'a>(&self, input: &'a [u8]) -> Result<(&'a [u8], Response), DecodeError> {
        parse::response::response(input, self.options.max_nesting_depth)
            .map_err(|err| DecodeError::from_nom(err, None))
    }
}

/// Whether the command is `tag SP "LOGIN" SP …`.
fn is_login(message: &[u8]) -> bool {
    let Ok((rest, _)) = parse::core::tag_(message) else {
        return false;
    };
    rest.get(..7)
        .is_some_and(|name| name.eq_ignore_ascii_case(b" LOGIN "))
}

/// Whether `message` has an octet over 0x7f outside the literals its lines announce.
fn eight_bit_outside_literals(mut message: &[u8]) -> bool {
    if message.is_ascii() {
        return false;
    }
    loop {
        let line_end = memchr::memmem::find(message, b"\r\n").unwrap_or(message.len());
        let (line, rest) = message.split_at(line_end);
        if !line.is_ascii() {
            return true;
        }
        let rest = rest.get(2..).unwrap_or_default();
        message = match crate::fragmentizer::ends_like_literal(line) {
            Some(Some((length, _))) => {
                let skip = usize::try_from(length)
                    .unwrap_or(usize::MAX)
                    .min(rest.len());
                rest.get(skip..).unwrap_or_default()
            }
            _ => rest,
        };
        if message.is_empty() {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_bit_is_found_only_outside_literals() {
        assert!(!eight_bit_outside_literals(
            b"a APPEND x {2}\r\n\xc3\xa9\r\n"
        ));
        assert!(!eight_bit_outside_literals(
            b"a APPEND x ~{2+}\r\n\xc3\xa9 {1}\r\n\xff\r\n"
        ));
        assert!(eight_bit_outside_literals(b"a SELECT \"\xc3\xa9\"\r\n"));
        assert!(eight_bit_outside_literals(b"a LOGIN {1}\r\nx \xc3\xa9\r\n"));
    }

    /// A UTF-8 password in a quoted string logs in before ENABLE is possible; other commands
    /// with 8-bit text outside literals are refused.
    #[test]
    fn login_may_carry_utf8_before_enable() {
        let codec = CommandCodec::default();
        let (_, login) = codec.decode(b"a login fred \"p\xc3\xa4ss\"\r\n").unwrap();
        let crate::types::command::CommandBody::Login { password, .. } = login.body else {
            panic!("not a LOGIN");
        };
        assert_eq!(password.declassify().as_bytes(), "päss".as_bytes());
        assert!(matches!(
            codec.decode(b"a LOGINX \"\xc3\xa4\"\r\n"),
            Err(DecodeError::Failed {
                kind: DecodeErrorKind::Utf8NotEnabled,
                ..
            })
        ));
    }

    /// RFC 6855 §3: with UTF8=ACCEPT enabled a mailbox name is UTF-8 and `&` is itself;
    /// before, the same bytes are refused and modified UTF-7 is decoded.
    #[test]
    fn utf8_accept_changes_the_mailbox_grammar() {
        let mut codec = CommandCodec::default();
        let refused = codec.decode(b"a SELECT \"Entw\xc3\xbcrfe\"\r\n");
        assert!(matches!(
            refused,
            Err(DecodeError::Failed {
                kind: DecodeErrorKind::Utf8NotEnabled,
                ..
            })
        ));
        let refused_literal = codec.decode(b"a SELECT {9}\r\nEntw\xc3\xbcrfe\r\n");
        assert!(matches!(
            refused_literal,
            Err(DecodeError::Failed {
                kind: DecodeErrorKind::MailboxName,
                ..
            })
        ));
        let (_, mutf7) = codec.decode(b"a SELECT Entw&APw-rfe\r\n").unwrap();
        codec.enable_utf8_accept();
        let (_, utf8) = codec.decode(b"a SELECT \"Entw\xc3\xbcrfe\"\r\n").unwrap();
        assert_eq!(mutf7, utf8);
        let (_, literal) = codec.decode(b"a SELECT Entw&APw-rfe\r\n").unwrap();
        let crate::types::command::CommandBody::Select { mailbox, .. } = literal.body else {
            panic!("not a SELECT");
        };
        assert_eq!(mailbox.name(), "Entw&APw-rfe");
    }
}
