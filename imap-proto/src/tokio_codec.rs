//! `tokio-util` codec adapters (feature `tokio`), for callers that drive IO with
//! `tokio_util::codec::Framed`. The session types stay runtime-free; these only move bytes
//! between a `BytesMut` and the framer or encoders.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::{
    fragmentizer::{Fragmentizer, FramingEvent},
    options::Options,
    types::{command::Command, response::Response},
};

/// Frames a byte stream into [`FramingEvent`]s (whole messages, continuation needs,
/// rejections, streamed literal chunks), with the limits of [`Options`].
#[derive(Debug)]
pub struct FramingCodec {
    framer: Fragmentizer,
}

impl FramingCodec {
    /// A codec enforcing `options`.
    pub fn new(options: Options) -> Self {
        Self {
            framer: Fragmentizer::new(options),
        }
    }

    /// Throws away buffered plaintext, for STARTTLS.
    pub fn discard_buffered(&mut self) -> usize {
        self.framer.discard_buffered()
    }
}

impl Decoder for FramingCodec {
    type Item = FramingEvent;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<FramingEvent>, std::io::Error> {
        // The framer owns the bytes from here on; it never holds more than one message
        // (bounded by the options) plus what was read.
        if !src.is_empty() {
            self.framer.handle_input(&src.split());
        }
        Ok(self.framer.poll_event())
    }
}

/// Writes responses (server side).
impl Encoder<&Response> for FramingCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: &Response, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        dst.extend_from_slice(&item.encode().dump());
        Ok(())
    }
}

/// Writes commands (client side). Synchronizing literals are written at once, so use this
/// only with servers that advertise LITERAL+ or for commands without literals; otherwise
/// drive [`crate::session::client::ClientSession`], which waits for `+`.
impl Encoder<&Command> for FramingCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: &Command, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        dst.extend_from_slice(&item.encode().dump());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_from_bytes_mut() {
        let mut codec = FramingCodec::new(Options::default());
        let mut buf = BytesMut::from(&b"a NOOP\r\nb LOGIN {1}\r\n"[..]);
        assert_eq!(
            codec.decode(&mut buf).unwrap(),
            Some(FramingEvent::Message(b"a NOOP\r\n".to_vec()))
        );
        assert_eq!(
            codec.decode(&mut buf).unwrap(),
            Some(FramingEvent::ContinuationNeeded { length: 1 })
        );
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        let mut out = BytesMut::new();
        let response = crate::codec::ResponseCodec::default()
            .decode(b"+ go\r\n")
            .unwrap()
            .1;
        codec.encode(&response, &mut out).unwrap();
        assert_eq!(&out[..], b"+ go\r\n");
    }
}
