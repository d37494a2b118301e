//! `tokio-util` codecs (feature `tokio`): [`ServerCodec`] and [`ClientCodec`] for
//! `tokio_util::codec::Framed`.
//!
//! They add no protocol logic: [`ServerCodec`] frames commands with [`CommandDecoder`] and
//! writes responses and bodies; [`ClientCodec`] wraps a [`Client`] state machine.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{
    AuthLine, BodyEncoder, Client, ClientEvent, Command, CommandDecodeError, CommandDecoder,
    CommandError, Options, Response, Status, parse::skip_to_line_end,
};

/// What a server reads: a command, a refused line (answer `-ERR` with its text), or, after
/// [`ServerCodec::expect_auth_line`], a SASL client line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerFrame {
    /// A well-formed command (not yet checked against the session state).
    Command(Command),
    /// A refused line; the codec has skipped it.
    Invalid(CommandError),
    /// A SASL client line.
    AuthLine(AuthLine),
}

/// What a server writes as part of a `RETR`/`TOP` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyFrame {
    /// The `+OK` line; starts a body.
    Start(Status),
    /// A piece of the message, dot-stuffed on the way out.
    Data(Bytes),
    /// The terminating `.` line.
    End,
}

/// Server-side framing for `tokio_util::codec::Framed`: decodes [`ServerFrame`]s, encodes
/// [`Response`]s and [`BodyFrame`]s. Session rules (state, PIPELINING order, STLS) are the
/// caller's; use [`Server`](crate::Server) to have them enforced.
#[derive(Debug)]
pub struct ServerCodec {
    decoder: CommandDecoder,
    discarding: bool,
    auth_line: bool,
    body: Option<BodyEncoder>,
}

impl ServerCodec {
    /// A codec with the limits of `options`.
    pub fn new(options: &Options) -> Self {
        Self {
            decoder: CommandDecoder::new(options),
            discarding: false,
            auth_line: false,
            body: None,
        }
    }

    /// Reads the next line as a SASL client line (after sending a challenge).
    pub fn expect_auth_line(&mut self) {
        self.auth_line = true;
    }

    /// Turns UTF-8 mode on (after `+OK` to `UTF8`).
    pub fn set_utf8(&mut self, on: bool) {
        self.decoder.set_utf8(on);
    }
}

impl Decoder for ServerCodec {
    type Item = ServerFrame;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ServerFrame>, io::Error> {
        if self.discarding {
            match skip_to_line_end(src) {
                Some(n) => {
                    src.advance(n);
                    self.discarding = false;
                }
                None => {
                    src.clear();
                    return Ok(None);
                }
            }
        }
        let decoded = if self.auth_line {
            self.decoder
                .decode_auth_line(src)
                .map(|(line, n)| (ServerFrame::AuthLine(line), n))
        } else {
            self.decoder
                .decode(src)
                .map(|(command, n)| (ServerFrame::Command(command), n))
        };
        match decoded {
            Ok((frame, n)) => {
                src.advance(n);
                self.auth_line = false;
                Ok(Some(frame))
            }
            Err(CommandDecodeError::Incomplete) => Ok(None),
            Err(CommandDecodeError::LineTooLong) => {
                self.discarding = true;
                self.auth_line = false;
                src.clear();
                Ok(Some(ServerFrame::Invalid(CommandError::LineTooLong)))
            }
            Err(CommandDecodeError::Invalid { consumed, error }) => {
                src.advance(consumed);
                self.auth_line = false;
                Ok(Some(ServerFrame::Invalid(error)))
            }
        }
    }
}

impl Encoder<Response> for ServerCodec {
    type Error = io::Error;

    fn encode(&mut self, response: Response, dst: &mut BytesMut) -> Result<(), io::Error> {
        response.encode(dst);
        Ok(())
    }
}

impl Encoder<BodyFrame> for ServerCodec {
    type Error = io::Error;

    fn encode(&mut self, frame: BodyFrame, dst: &mut BytesMut) -> Result<(), io::Error> {
        let misuse = |what| io::Error::new(io::ErrorKind::InvalidInput, what);
        match frame {
            BodyFrame::Start(status) => {
                status.encode(dst);
                self.body = Some(BodyEncoder::new());
            }
            BodyFrame::Data(data) => {
                self.body
                    .as_mut()
                    .ok_or_else(|| misuse("body data before BodyFrame::Start"))?
                    .encode(&data, dst);
            }
            BodyFrame::End => self
                .body
                .take()
                .ok_or_else(|| misuse("BodyFrame::End without a body"))?
                .finish(dst),
        }
        Ok(())
    }
}

/// Client-side framing for `tokio_util::codec::Framed`: encodes [`Command`]s and
/// [`AuthLine`]s, decodes [`ClientEvent`]s, through a [`Client`] state machine.
///
/// Commands are written as soon as they are sent (pipelining is the caller's choice, as
/// with any `Sink`), except after STLS, AUTH or QUIT, which must be answered first.
#[derive(Debug)]
pub struct ClientCodec {
    client: Client,
}

impl ClientCodec {
    /// A codec waiting for the greeting.
    pub fn new(mut options: Options) -> Self {
        options.assume_pipelining = true;
        Self {
            client: Client::new(options),
        }
    }

    /// The state machine, e.g. to call [`Client::tls_established`].
    pub fn client_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

fn protocol_error(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl Decoder for ClientCodec {
    type Item = ClientEvent;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ClientEvent>, io::Error> {
        loop {
            if let Some(event) = self.client.poll_event().map_err(protocol_error)? {
                return Ok(Some(event));
            }
            let taken = self.client.handle_input(src);
            src.advance(taken);
            if taken == 0 {
                return Ok(None);
            }
        }
    }
}

impl Encoder<Command> for ClientCodec {
    type Error = io::Error;

    fn encode(&mut self, command: Command, dst: &mut BytesMut) -> Result<(), io::Error> {
        self.client.send(command).map_err(protocol_error)?;
        self.client.poll_transmit(dst);
        Ok(())
    }
}

impl Encoder<AuthLine> for ClientCodec {
    type Error = io::Error;

    fn encode(&mut self, line: AuthLine, dst: &mut BytesMut) -> Result<(), io::Error> {
        self.client.auth_respond(line).map_err(protocol_error)?;
        self.client.poll_transmit(dst);
        Ok(())
    }
}
