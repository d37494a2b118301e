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
}

impl CommandCodec {
    /// A decoder enforcing `options` (nesting depth; sizes are the framer's job).
    pub fn new(options: Options) -> Self {
        Self { options }
    }

    /// Decodes one command from the start of `input`; returns it and the bytes after it.
    pub fn decode<'a>(&self, input: &'a [u8]) -> Result<(&'a [u8], Command), DecodeError> {
        match parse::command::command(input, self.options.max_nesting_depth) {
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
