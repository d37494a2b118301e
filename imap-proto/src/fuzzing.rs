//! Bodies of the cargo-fuzz targets, as plain functions so that unit tests (and any crash
//! input, as a regression test) run them on stable Rust.
//!
//! Each function panics only when it finds a bug: a decoder that panics, a round trip that
//! changes a value, or a framer that loses or invents bytes.

use crate::{
    codec::{CommandCodec, ResponseCodec},
    fragmentizer::{Fragmentizer, FramingEvent},
    options::Options,
    session::{
        client::ClientSession,
        server::{ServerEvent, ServerSession},
    },
    types::{
        command::{Base64, CommandBody},
        response::{Greeting, GreetingKind, ResponseText, StatusKind, Tagged, Text},
    },
};

fn text(t: &str) -> ResponseText {
    ResponseText {
        code: None,
        // Only called with fixed, valid texts.
        text: Text::try_from(t).unwrap_or_else(|_| unreachable!()),
    }
}

/// Drives a server session with arbitrary client bytes, answering every command with OK
/// (accepting IDLE and challenging AUTHENTICATE); everything the server sends must decode
/// as responses. Also feeds the bytes to a client session as if a server sent them.
pub fn session(data: &[u8]) {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let options = Options {
        max_line_length: usize::from(control) * 4 + 8,
        max_nesting_depth: usize::from(control % 16) + 1,
        // With bit 5 set, literals over a few octets are streamed.
        literal_stream_threshold: if control & 0x20 != 0 {
            u64::from(control % 8)
        } else {
            Options::default().literal_stream_threshold
        },
        ..Options::default()
    };
    let greeting = Greeting {
        // With bit 6 set the client starts authenticated, so APPEND is allowed at once.
        kind: if control & 0x40 != 0 {
            GreetingKind::PreAuth
        } else {
            GreetingKind::Ok
        },
        text: text("ready"),
    };
    let mut server = ServerSession::new(options.clone(), greeting);
    let mut sent = Vec::new();
    for piece in input.chunks(usize::from(control % 32) + 1) {
        server.handle_input(piece);
        while let Some(event) = server.poll_event() {
            let tag = match event {
                ServerEvent::Command(command) => match command.body {
                    CommandBody::Authenticate { .. } if control % 2 == 0 => {
                        let empty = Base64::try_from("").unwrap_or_else(|_| unreachable!());
                        let _ = server.authenticate_challenge(empty);
                        continue;
                    }
                    // Enables what was asked, UTF8=ACCEPT included, so both command
                    // grammars are exercised.
                    CommandBody::Enable(names) => {
                        server.send_data(crate::types::response::Data::Enabled(names.into_vec()));
                        command.tag
                    }
                    CommandBody::Idle => {
                        let _ = server.idle_accept(text("idling").text);
                        continue;
                    }
                    _ => command.tag,
                },
                ServerEvent::AuthenticateData { tag, data: Some(_) } => tag,
                ServerEvent::IdleDone { tag } | ServerEvent::AppendDone { tag } => tag,
                _ => continue,
            };
            let _ = server.send_tagged(Tagged {
                tag,
                kind: StatusKind::Ok,
                text: text("done"),
            });
        }
        server.poll_transmit(&mut sent);
    }
    let mut framer = Fragmentizer::new(Options::default());
    framer.handle_input(&sent);
    let codec = ResponseCodec::default();
    let mut first = true;
    while let Some(event) = framer.poll_event() {
        if let FramingEvent::Message(message) = event {
            if first {
                first = false;
                assert!(codec.decode_greeting(&message).is_ok(), "bad greeting");
            } else {
                assert!(codec.decode(&message).is_ok(), "server sent {message:?}");
            }
        }
    }

    let mut client = ClientSession::new(options);
    client.enqueue_command(CommandBody::Idle);
    client.handle_input(input);
    while client.poll_event().is_some() {}
    let _ = client.idle_done();
    client.poll_transmit(&mut Vec::new());
}

/// Frames arbitrary bytes, decodes each message as a command and as a response, and checks
/// the whole round trip: the encoding frames back as exactly one message (no text that looks
/// like a literal announcement, no stray CRLF) and decodes to the same value.
pub fn round_trip(data: &[u8]) {
    let mut framer = Fragmentizer::new(Options::default());
    framer.handle_input(data);
    let commands = CommandCodec::default();
    let mut utf8_commands = CommandCodec::default();
    utf8_commands.enable_utf8_accept();
    let responses = ResponseCodec::default();
    while let Some(event) = framer.poll_event() {
        let FramingEvent::Message(message) = event else {
            continue;
        };
        for (codec, utf8_accept) in [(&commands, false), (&utf8_commands, true)] {
            if let Ok((_, command)) = codec.decode(&message) {
                let bytes = command.encode_in(utf8_accept).dump();
                assert_eq!(
                    frame_once(&bytes),
                    Some(bytes.clone()),
                    "command frames differently"
                );
                assert_eq!(codec.decode(&bytes), Ok((&b""[..], command)));
            }
        }
        if let Ok((_, response)) = responses.decode(&message) {
            let bytes = response.encode().dump();
            assert_eq!(
                frame_once(&bytes),
                Some(bytes.clone()),
                "response frames differently"
            );
            assert_eq!(responses.decode(&bytes), Ok((&b""[..], response)));
        }
    }
}

/// The single message `bytes` frame into, or `None` if they frame into anything else.
fn frame_once(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut framer = Fragmentizer::new(Options::default());
    framer.handle_input(bytes);
    let mut messages = Vec::new();
    while let Some(event) = framer.poll_event() {
        match event {
            FramingEvent::Message(m) => messages.push(m),
            FramingEvent::ContinuationNeeded { .. } => {}
            _ => return None,
        }
    }
    match (messages.pop(), messages.is_empty(), framer.buffered()) {
        (Some(message), true, 0) => Some(message),
        _ => None,
    }
}

/// Decodes arbitrary bytes as a command; whatever decodes must encode and decode back to the
/// same value.
pub fn command(data: &[u8]) {
    let mut codec = CommandCodec::default();
    // Both grammars: before and after ENABLE UTF8=ACCEPT (RFC 6855).
    for utf8_accept in [false, true] {
        if utf8_accept {
            codec.enable_utf8_accept();
        }
        if let Ok((_, command)) = codec.decode(data) {
            let bytes = command.encode_in(utf8_accept).dump();
            match codec.decode(&bytes) {
                Ok((rest, again)) => {
                    assert!(rest.is_empty(), "encoder left bytes over");
                    assert_eq!(again, command, "round trip changed the command");
                }
                Err(err) => panic!("re-encoded command does not decode: {err:?}"),
            }
        }
    }
    let _ = codec.decode_authenticate_data(data);
    let _ = codec.decode_idle_done(data);
}

/// Decodes arbitrary bytes as a response and as a greeting; whatever decodes must encode and
/// decode back to the same value.
pub fn response(data: &[u8]) {
    let codec = ResponseCodec::default();
    if let Ok((_, response)) = codec.decode(data) {
        let bytes = response.encode().dump();
        match codec.decode(&bytes) {
            Ok((rest, again)) => {
                assert!(rest.is_empty(), "encoder left bytes over");
                assert_eq!(again, response, "round trip changed the response");
            }
            Err(err) => panic!("re-encoded response does not decode: {err:?}"),
        }
    }
    if let Ok((_, greeting)) = codec.decode_greeting(data) {
        let bytes = greeting.encode().dump();
        assert_eq!(codec.decode_greeting(&bytes), Ok((&b""[..], greeting)));
    }
}

/// Feeds bytes to the framer in chunks chosen by the first byte, under small and default
/// limits. Every message is a piece of the input, in order; under small limits none is over
/// them.
pub fn fragmentizer(data: &[u8]) {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(control % 16) + 1;

    // Messages come out unchanged and in order; refused ones are skipped.
    let mut roomy = Fragmentizer::new(Options::default());
    let mut position = 0;
    for piece in input.chunks(chunk) {
        roomy.handle_input(piece);
        while let Some(event) = roomy.poll_event() {
            if let FramingEvent::Message(message) = event {
                let found = input[position..]
                    .windows(message.len().max(1))
                    .position(|w| w == message.as_slice());
                match found {
                    Some(offset) => position += offset + message.len(),
                    None => panic!("framer changed or invented bytes"),
                }
            }
        }
    }

    let small = Options {
        max_line_length: usize::from(control % 64) + 4,
        max_literal_size: u64::from(control % 32),
        max_message_size: usize::from(control) + 8,
        literal_stream_threshold: u64::from(control % 8),
        ..Options::default()
    };
    let mut tight = Fragmentizer::new(small.clone());
    let mut heads = 0usize;
    for piece in input.chunks(chunk) {
        tight.handle_input(piece);
        while let Some(event) = tight.poll_event() {
            match event {
                FramingEvent::Message(message)
                | FramingEvent::MessageHead { data: message, .. } => {
                    assert!(
                        message.len() <= small.max_message_size,
                        "message over the limit"
                    );
                }
                _ => {}
            }
            // With the high bit set, refuse every other streamed literal at once.
            if control & 0x80 != 0 && tight.is_in_literal() {
                heads += 1;
                if heads.is_multiple_of(2) {
                    tight.reject_streamed_literal();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_run_clean() {
        let seeds: &[&[u8]] = &[
            b"",
            b"* OK [CAPABILITY IMAP4rev2] hi\r\n",
            b"* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1) \"MIXED\"))\r\n",
            b"+ \r\n",
            b"* OK text {5}\r\nabcde\r\n",
            // Found by imap_response: base64 right after "+", without SP.
            b"+OPYUIDUIDo+W\r\n",
            b"a NOOP\r\n",
            b"a LOGIN {3}\r\nabc {1+}\r\nx\r\n",
            b"a SEARCH OR OR OR SEEN SEEN SEEN SEEN\r\n",
            b"a FETCH 1:* (BODY.PEEK[1.2.HEADER.FIELDS (a b)]<0.5>)\r\n",
            b"\x07a APPEND x {99+}\r\nb LOGOUT\r\n",
            b"\xffa X {1}\r\n{2}\r\n\r\n\r\n",
            b"a SELECT &AGEAYgBj-\r\n",
            b"\x10a AUTHENTICATE PLAIN\r\nAAAA\r\nb IDLE\r\nDONE\r\nc STARTTLS\r\nd X\r\n",
            b"\x64a APPEND x {9}\r\n123456789 (\\Seen) {2+}\r\nab {10}\r\n0123456789\r\n",
            // Found by imap_fragmentizer: a refused literal announcement.
            b"0\xa0a {4444444444444444}\n\0=28;\n\n\n",
        ];
        for seed in seeds {
            command(seed);
            response(seed);
            round_trip(seed);
            fragmentizer(seed);
            session(seed);
        }
    }
}
