//! `tokio-util` adapters (feature `tokio`): [`CommandCodec`] for servers and [`ReplyCodec`]
//! for clients, plus [`DataCodec`] for the content after a 354.
//!
//! Protocol errors are items (`Ok(Some(Err(..)))`), not stream errors, because an SMTP
//! session goes on after a bad command; only IO errors end the stream. Switch codecs on a
//! `Framed` with `map_codec` when the session changes mode (after 354, swap in
//! [`DataCodec`]). The session state machines in [`crate::server`] and [`crate::client`] do
//! that bookkeeping for you; these adapters are for callers that want only the framing.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{
    Options,
    command::{Command, CommandError, decode_command},
    data::{DataDecoder, DataError, Found},
    reply::{Reply, ReplyError, decode_reply},
};

/// An IO error from the transport.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The transport failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The peer sent something this codec cannot frame (a malformed reply); the stream
    /// cannot continue.
    #[error(transparent)]
    Reply(#[from] ReplyError),
}

/// Server side: command lines in, replies out.
#[derive(Debug, Clone)]
pub struct CommandCodec {
    max_line: usize,
    discarding: bool,
}

impl CommandCodec {
    /// A codec with the command line limit of `options`.
    pub fn new(options: &Options) -> Self {
        CommandCodec {
            max_line: options.max_command_line,
            discarding: false,
        }
    }
}

impl Decoder for CommandCodec {
    type Item = Result<Command<'static>, CommandError>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        if self.discarding {
            // Throw away the rest of an over-long line without buffering it.
            match memchr::memchr(b'\n', src) {
                Some(lf) => {
                    src.advance(lf + 1);
                    self.discarding = false;
                }
                None => {
                    src.clear();
                    return Ok(None);
                }
            }
        }
        match decode_command(src, self.max_line) {
            Ok((rest, command)) => {
                let command = command.into_owned();
                let used = src.len() - rest.len();
                src.advance(used);
                Ok(Some(Ok(command)))
            }
            Err(CommandError::Incomplete) => Ok(None),
            Err(error @ CommandError::LineTooLong { .. }) => {
                self.discarding = true;
                src.clear();
                Ok(Some(Err(error)))
            }
            Err(error) => {
                src.advance(error.line_len().unwrap_or(0).min(src.len()));
                Ok(Some(Err(error)))
            }
        }
    }
}

impl Encoder<&Reply<'_>> for CommandCodec {
    type Error = CodecError;

    fn encode(&mut self, reply: &Reply<'_>, dst: &mut BytesMut) -> Result<(), Self::Error> {
        let mut out = Vec::new();
        reply.encode(&mut out);
        dst.extend_from_slice(&out);
        Ok(())
    }
}

/// Client side: replies in, commands out.
#[derive(Debug, Clone)]
pub struct ReplyCodec {
    max_line: usize,
    max_lines: usize,
}

impl ReplyCodec {
    /// A codec with the reply limits of `options`.
    pub fn new(options: &Options) -> Self {
        ReplyCodec {
            max_line: options.max_text_line,
            max_lines: options.max_reply_lines,
        }
    }
}

impl Decoder for ReplyCodec {
    type Item = Reply<'static>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        match decode_reply(src, self.max_line, self.max_lines) {
            Ok((rest, reply)) => {
                let reply = reply.into_owned();
                let used = src.len() - rest.len();
                src.advance(used);
                Ok(Some(reply))
            }
            Err(ReplyError::Incomplete) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}

impl Encoder<&Command<'_>> for ReplyCodec {
    type Error = CodecError;

    fn encode(&mut self, command: &Command<'_>, dst: &mut BytesMut) -> Result<(), Self::Error> {
        let mut out = Vec::new();
        command.encode(&mut out);
        dst.extend_from_slice(&out);
        Ok(())
    }
}

/// What [`DataCodec`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataItem {
    /// A piece of the unstuffed message.
    Chunk(bytes::Bytes),
    /// The end of data; swap the command codec back in.
    End(Result<u64, DataError>),
}

/// Server side, after a 354: the message content up to `CRLF.CRLF`.
#[derive(Debug, Clone)]
pub struct DataCodec {
    decoder: DataDecoder,
}

impl DataCodec {
    /// A codec for one message with the limits and bare-newline policy of `options`.
    pub fn new(options: &Options) -> Self {
        DataCodec {
            decoder: DataDecoder::new(options),
        }
    }
}

impl Decoder for DataCodec {
    type Item = DataItem;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        loop {
            if self.decoder.is_done() {
                return Ok(None);
            }
            let (used, found) = self.decoder.decode_indexed(src);
            let item = match found {
                None => None,
                Some(Found::End(outcome)) => Some(DataItem::End(outcome)),
                Some(Found::Cr) => Some(DataItem::Chunk(bytes::Bytes::from_static(b"\r"))),
                Some(Found::Range(start, end)) => {
                    // Skip what precedes the chunk (a stuffed dot), then hand the chunk out
                    // without copying.
                    src.advance(start);
                    let chunk = src.split_to(end - start).freeze();
                    src.advance(used - end);
                    return Ok(Some(DataItem::Chunk(chunk)));
                }
            };
            src.advance(used);
            match item {
                Some(item) => return Ok(Some(item)),
                None if src.is_empty() => return Ok(None),
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_codec_recovers_from_errors() {
        let mut codec = CommandCodec::new(&Options::default());
        let mut buf = BytesMut::from(&b"FOO\r\nNOOP\r\nQU"[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Ok(Some(Err(CommandError::Unknown { .. })))
        ));
        assert!(matches!(
            codec.decode(&mut buf),
            Ok(Some(Ok(Command::Noop(None))))
        ));
        assert!(matches!(codec.decode(&mut buf), Ok(None)));
        buf.extend_from_slice(&[b'x'; 600]);
        assert!(matches!(
            codec.decode(&mut buf),
            Ok(Some(Err(CommandError::LineTooLong { .. })))
        ));
        buf.extend_from_slice(b"still long\r\nQUIT\r\n");
        assert!(matches!(
            codec.decode(&mut buf),
            Ok(Some(Ok(Command::Quit)))
        ));
    }

    #[test]
    fn reply_and_data_codecs() {
        let mut replies = ReplyCodec::new(&Options::default());
        let mut buf = BytesMut::from(&b"250-a\r\n250 b\r\n354 go\r\n"[..]);
        assert_eq!(
            replies
                .decode(&mut buf)
                .expect("ok")
                .map(|r| r.lines().len()),
            Some(2)
        );
        assert_eq!(
            replies
                .decode(&mut buf)
                .expect("ok")
                .map(|r| r.code().get()),
            Some(354)
        );
        assert!(
            replies
                .decode(&mut BytesMut::from(&b"xyz\r\n"[..]))
                .is_err()
        );

        let mut data = DataCodec::new(&Options::default());
        let mut buf = BytesMut::from(&b"a\r\n..b\r\n.\r\nQUIT\r\n"[..]);
        let mut body = Vec::new();
        let end = loop {
            match data.decode(&mut buf).expect("ok") {
                Some(DataItem::Chunk(c)) => body.extend_from_slice(&c),
                Some(DataItem::End(outcome)) => break outcome,
                None => panic!("input holds the terminator"),
            }
        };
        assert_eq!((body.as_slice(), end), (&b"a\r\n.b\r\n"[..], Ok(7)));
        assert_eq!(&buf[..], b"QUIT\r\n");
    }
}
