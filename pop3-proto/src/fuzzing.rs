//! Bodies of the cargo-fuzz targets (`fuzz/fuzz_targets/pop3_*.rs`), plain functions so a
//! crash input replays as an ordinary unit test on stable Rust.
//!
//! Each function panics only when it finds a bug: a decoder that panics, a round trip that
//! changes a value, a state machine that buffers without bound.

use crate::{
    BodyChunk, BodyDecoder, BodyEncoder, Client, ClientEvent, Command, CommandDecodeError,
    CommandDecoder, Options, Response, ResponseDecodeError, ResponseDecoder, ResponseKind, Server,
    ServerEvent, Status, StatusKind,
};

/// Decodes a body from `wire` as if it arrived `chunk` octets at a time: the unstuffed body
/// and the octets used through the terminating line, or `None` if `wire` ends first.
pub fn decode_body_in_chunks(wire: &[u8], chunk: usize) -> Option<(Vec<u8>, usize)> {
    let chunk = chunk.max(1);
    let mut decoder = BodyDecoder::new();
    let mut body = Vec::new();
    let mut used = 0;
    let mut available = chunk.min(wire.len());
    loop {
        match decoder.decode(wire.get(used..available).unwrap_or_default()) {
            BodyChunk::Data { data, consumed } => {
                assert!(
                    consumed > 0 && used + consumed <= available,
                    "decoder overran its input"
                );
                body.extend_from_slice(data);
                used += consumed;
            }
            BodyChunk::End { consumed } => return Some((body, used + consumed)),
            BodyChunk::Incomplete if available == wire.len() => return None,
            BodyChunk::Incomplete => available = available.saturating_add(chunk).min(wire.len()),
        }
    }
}

/// Command decoding: never panics; what decodes re-encodes to bytes that decode to the same
/// command, and every strict prefix of those bytes is incomplete. Also drives a [`Server`]
/// with the same bytes in chunks.
pub fn pop3_command(data: &[u8]) {
    let options = Options::default();
    for utf8 in [false, true] {
        let mut decoder = CommandDecoder::new(&options);
        decoder.set_utf8(utf8);
        let mut rest = data;
        while let Some(used) = match decoder.decode(rest) {
            Ok((command, used)) => {
                check_command_round_trip(&command);
                Some(used)
            }
            Err(CommandDecodeError::Invalid { consumed, .. }) => Some(consumed),
            Err(_) => None,
        } {
            assert!(used > 0 && used <= rest.len());
            rest = &rest[used..];
        }
    }
    drive_server(data);
}

fn check_command_round_trip(command: &Command) {
    let mut decoder = CommandDecoder::new(&Options::default());
    decoder.set_utf8(true);
    let mut wire = Vec::new();
    command.encode(&mut wire);
    assert_eq!(
        decoder.decode(&wire),
        Ok((command.clone(), wire.len())),
        "{:?}",
        String::from_utf8_lossy(&wire)
    );
    for end in prefix_lengths(wire.len()) {
        assert_eq!(
            decoder.decode(&wire[..end]),
            Err(CommandDecodeError::Incomplete)
        );
    }
}

/// Strict prefix lengths to check: all of them for short encodings, else 32 spread over
/// the encoding plus the last three (each check decodes again, so checking every prefix of
/// a long listing would make the fuzzer quadratic and slow).
fn prefix_lengths(len: usize) -> impl Iterator<Item = usize> {
    let all = if len <= 64 { 0..len } else { 0..0 };
    let spread = if len > 64 { 0..32 } else { 0..0 };
    all.chain(spread.map(move |i| i * len / 32))
        .chain(len.saturating_sub(3).max(64)..len)
}

fn drive_server(data: &[u8]) {
    let options = Options {
        max_buffered_input: 512,
        ..Options::default()
    };
    let mut server = Server::new(options, &Status::new_lossy(StatusKind::Ok, "ready"));
    let chunk = usize::from(data.first().copied().unwrap_or(1)).max(1);
    let mut out = Vec::new();
    for piece in data.chunks(chunk) {
        let mut piece = piece;
        while !piece.is_empty() && !server.is_closed() {
            let taken = server.handle_input(piece);
            piece = &piece[taken..];
            while let Some(event) = server.poll_event() {
                answer(&mut server, event, &mut out);
            }
            server.poll_transmit(&mut out);
            if taken == 0 {
                break;
            }
        }
    }
}

/// A toy application: accepts everything with the right shape of `+OK`.
fn answer(server: &mut Server, event: ServerEvent, out: &mut Vec<u8>) {
    let ok = Status::new_lossy(StatusKind::Ok, "");
    let result = match event {
        ServerEvent::Command(Command::Retr(_) | Command::Top { .. }) => server
            .start_body(ok)
            .and_then(|()| server.send_body(b".x\r\n", out))
            .and_then(|()| server.finish_body()),
        ServerEvent::Command(Command::Auth { .. }) => {
            server.respond(Response::Challenge(Vec::new().into()))
        }
        ServerEvent::Command(command) => {
            let response = match command.kind().response_kind() {
                ResponseKind::Status => Response::Status(ok),
                _ => Response::Status(Status::new_lossy(StatusKind::Err, "no")),
            };
            server.respond(response)
        }
        ServerEvent::AuthResponse(_) => server.respond(Response::Status(ok)),
        ServerEvent::AuthCancelled => Ok(()),
    };
    assert_eq!(result, Ok(()));
}

const KINDS: [ResponseKind; 11] = [
    ResponseKind::Greeting,
    ResponseKind::Status,
    ResponseKind::Stat,
    ResponseKind::Scan,
    ResponseKind::ScanList,
    ResponseKind::Uid,
    ResponseKind::UidList,
    ResponseKind::Capabilities,
    ResponseKind::Languages,
    ResponseKind::Message,
    ResponseKind::Auth,
];

/// Response decoding: the first octet picks the expected kind. Never panics; what decodes
/// re-encodes to bytes that decode to the same response. Also drives a [`Client`].
pub fn pop3_response(data: &[u8]) {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let kind = KINDS[usize::from(selector) % KINDS.len()];
    let decoder = ResponseDecoder::new(&Options::default());
    match decoder.decode(kind, input) {
        Ok((response, used)) => {
            assert!(used <= input.len());
            let mut wire = Vec::new();
            response.encode(&mut wire);
            assert_eq!(
                decoder.decode(kind, &wire),
                Ok((response, wire.len())),
                "{:?}",
                String::from_utf8_lossy(&wire)
            );
            for end in prefix_lengths(wire.len()) {
                assert_eq!(
                    decoder.decode(kind, &wire[..end]),
                    Err(ResponseDecodeError::Incomplete)
                );
            }
        }
        Err(ResponseDecodeError::Incomplete | ResponseDecodeError::Invalid(_)) => {}
    }
    drive_client(selector, input);
}

fn drive_client(selector: u8, data: &[u8]) {
    let options = Options {
        max_buffered_input: 512,
        assume_pipelining: true,
        ..Options::default()
    };
    let mut client = Client::new(options);
    let mut commands = vec![Command::Capa];
    if let (Ok(user), Ok(pass)) = (
        crate::UserName::try_from("u"),
        crate::Password::try_from("p"),
    ) {
        commands.extend([Command::User(user), Command::Pass(pass)]);
    }
    commands.extend([
        Command::Stat,
        Command::List(None),
        Command::Uidl(None),
        Command::Retr(crate::MsgNo::MIN),
        Command::Quit,
    ]);
    let mut queue = commands.into_iter();
    let chunk = usize::from(selector).max(1);
    let mut out = Vec::new();
    let mut body_octets = 0usize;
    'feed: for piece in data.chunks(chunk) {
        let mut piece = piece;
        while !piece.is_empty() {
            let taken = client.handle_input(piece);
            piece = &piece[taken..];
            loop {
                match client.poll_event() {
                    Ok(Some(ClientEvent::Greeting(_))) => {
                        for command in queue.by_ref() {
                            let _ = client.send(command);
                        }
                    }
                    Ok(Some(ClientEvent::BodyData(d))) => body_octets += d.len(),
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
            client.poll_transmit(&mut out);
            if taken == 0 {
                break;
            }
        }
    }
    assert!(body_octets <= data.len());
}

/// Multi-line bodies: the first octet picks a chunk size. Decoding in chunks gives the same
/// result as decoding at once; encoding the rest as a body and decoding it gives the body
/// back (plus the CRLF that ends an unterminated last line).
pub fn pop3_multiline(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(selector).max(1);
    assert_eq!(
        decode_body_in_chunks(body, chunk),
        decode_body_in_chunks(body, usize::MAX)
    );

    let mut wire = Vec::new();
    let mut encoder = BodyEncoder::new();
    for piece in body.chunks(chunk) {
        encoder.encode(piece, &mut wire);
    }
    encoder.finish(&mut wire);
    let mut expected = body.to_vec();
    if !expected.is_empty() && !expected.ends_with(b"\n") {
        expected.extend_from_slice(b"\r\n");
    }
    assert_eq!(
        decode_body_in_chunks(&wire, chunk),
        Some((expected, wire.len()))
    );
}

#[cfg(test)]
mod tests {
    use super::{pop3_command, pop3_multiline, pop3_response};

    /// Fuzz finding: invalid UTF-8 in a 500-octet CAPA line grew past the 512-octet limit
    /// when replaced by U+FFFD, so the re-encoded response no longer decoded.
    #[test]
    fn regression_lossy_text_keeps_its_length() {
        pop3_response(b"u+OK\x0d\x0aIIIIIIIIII############################\xa3########\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff#\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff#########+ #II\x0d\x0a.\x0d\x0aIIIIII+K\x0d\x0aIIIIIIIIII############################\xa3########\xff\xff\xff\xff\xff\xffOKr\x0d\x0a");
    }

    /// Seed inputs that reach deep paths; the fuzz targets start from the same shapes.
    #[test]
    fn seeds() {
        let commands: &[&[u8]] = &[
            b"\x05USER a\r\nPASS b c\r\nSTAT\r\nLIST\r\nRETR 1\r\nTOP 1 2\r\nUIDL 1\r\nDELE 1\r\nRSET\r\nNOOP\r\nQUIT\r\n",
            b"\x01CAPA\r\nSTLS\r\nUSER x\r\n",
            b"\x03AUTH PLAIN\r\nAGEAYg==\r\nAUTH X =\r\n*\r\nUTF8\r\nUSER \xc3\xa9\r\nLANG\r\nLANG *\r\n",
            b"\x07RETR 0\r\nTOP 1 -1\r\nLIST x\r\n\x00\r\n\n\r\r\n",
            &[b'A'; 700],
        ];
        for seed in commands {
            pop3_command(seed);
        }
        let responses: &[&[u8]] = &[
            b"\x00+OK hi <1.2@x>\r\n",
            b"\x07+OK\r\nTOP\r\nSASL PLAIN\r\nLOGIN-DELAY 10 USER\r\nX a b\r\n.\r\n",
            b"\x04+OK 2\r\n1 10\r\n2 20\r\n.\r\n",
            b"\x06+OK\r\n1 a\r\n.\r\n",
            b"\x08+OK\r\nen English\r\n.\r\n",
            b"\x0a+ Zm9v\r\n",
            b"\x01-ERR [SYS/TEMP] x\r\n",
            b"\x02+OK 1 2\r\n",
            b"\x05+OK 1 uid\r\n",
            b"\x09+OK\r\n",
            b"\x01+OK hi\r\n+OK\r\n+OK\r\n+OK\r\n+OK 1 1\r\n+OK\r\n1 1\r\n.\r\n+OK\r\n1 a\r\n.\r\n+OK\r\n..x\r\n.\r\n+OK\r\n",
        ];
        for seed in responses {
            pop3_response(seed);
        }
        for seed in [
            &b"\x01.\r\n"[..],
            b"\x03..a\r\n.\r\n",
            b"\x02x\ny\r\n.",
            b"\xff.\r\n.\r\n",
        ] {
            pop3_multiline(seed);
        }
    }
}
