//! Bodies of the cargo-fuzz targets in `fuzz/fuzz_targets/smtp_*.rs`.
//!
//! Each function takes arbitrary bytes and panics only if an invariant breaks, so a crash
//! input found by the fuzzer becomes a unit test on stable Rust: call the function with it.

use crate::{
    Options,
    bdat::{BdatDecoder, BdatEvent},
    client::{Client, ClientEvent},
    command::{decode_auth_line, decode_command},
    data::{DataDecoder, DataEvent},
    ehlo::EhloResponse,
    encode_data::encode_message,
    reply::decode_reply,
    server::{Event, Server, ServerConfig},
};

/// The nine end-of-data variants of the SMTP smuggling family (hannob/smtpsmug): none of
/// them may end DATA (RFC 5321 §4.1.1.4). Shared by the tests and the fuzz seeds.
pub const SMUGGLING_END_OF_DATA: [&[u8]; 9] = [
    b"\n.\n",
    b"\r.\r",
    b"\r.\n",
    b"\n.\r",
    b"\n.\r\n",
    b"\r\n.\n",
    b"\r.\r\n",
    b"\r\n.\r",
    b"\r\n\x00.\r\n",
];

/// Commands: decode, and if valid, encode and decode again to the same value; SASL lines the
/// same way; then drive a server session with the bytes, accepting everything.
pub fn smtp_command(data: &[u8]) {
    let mut rest = data;
    while let Ok((next, command)) = decode_command(rest, 4096) {
        let mut wire = Vec::new();
        command.encode(&mut wire);
        let (tail, again) = decode_command(&wire, 4096).expect("an encoded command decodes");
        assert!(tail.is_empty());
        assert_eq!(again, command);
        rest = next;
    }
    if let Ok((_, line)) = decode_auth_line(data, 4096) {
        let mut wire = Vec::new();
        line.encode(&mut wire);
        let (_, again) = decode_auth_line(&wire, 4096).expect("an encoded SASL line decodes");
        assert_eq!(again, line);
    }
    drive_server(data);
}

fn drive_server(data: &[u8]) {
    let mut config = ServerConfig::new("fuzz.test");
    config.starttls = true;
    config.tls_active = data.first().is_some_and(|b| b & 1 == 1);
    config.lmtp = data.first().is_some_and(|b| b & 2 == 2);
    config.auth_mechanisms = vec!["PLAIN".into()];
    let options = Options {
        max_message_size: 4096,
        ..Options::default()
    };
    let mut server = Server::new(options, config);
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    for piece in data.chunks(7) {
        if server.is_closed() {
            break;
        }
        if server.handle_input(piece).is_err() {
            // Only a pending TLS handshake refuses input here; pretend it completed.
            server
                .tls_established()
                .expect("input is refused only before the handshake");
            continue;
        }
        while let Some(event) = server.poll_event() {
            let answer = matches!(
                event,
                Event::Command(_)
                    | Event::AuthResponse(_)
                    | Event::MessageEnd { outcome: Ok(_), .. }
            );
            if answer {
                server.accept().expect("accept fits every step that asks");
            }
        }
        server.poll_transmit(&mut out);
    }
    assert!(out.starts_with(b"220 "));
}

/// Replies: decode, and if valid, encode and decode again; read EHLO keywords; drive a
/// client session with the bytes.
pub fn smtp_reply(data: &[u8]) {
    let mut rest = data;
    while let Ok((next, reply)) = decode_reply(rest, 1000, 100) {
        let mut wire = Vec::new();
        reply.encode(&mut wire);
        let (tail, again) = decode_reply(&wire, 1000, 100).expect("an encoded reply decodes");
        assert!(tail.is_empty());
        assert_eq!(again, reply);
        if let Ok(ehlo) = EhloResponse::from_reply(&reply) {
            let mut wire = Vec::new();
            ehlo.to_reply().encode(&mut wire);
            let (_, back) = decode_reply(&wire, 1000, 100).expect("an encoded EHLO reply decodes");
            assert_eq!(EhloResponse::from_reply(&back).as_ref(), Ok(&ehlo));
        }
        rest = next;
    }
    let mut client = Client::new(Options::default());
    for piece in data.chunks(5) {
        if client.handle_input(piece).is_err() {
            break;
        }
        while let Some(event) = client.poll_event() {
            if let ClientEvent::StartTls = event {
                client
                    .tls_established()
                    .expect("handshake pending after StartTls");
            }
        }
    }
}

fn run_data(options: &Options, input: &[u8], step: usize) -> Option<(Vec<u8>, bool, usize)> {
    let mut decoder = DataDecoder::new(options);
    let mut body = Vec::new();
    let mut offset = 0;
    for piece in input.chunks(step.max(1)) {
        let mut piece = piece;
        loop {
            let (used, event) = decoder.decode(piece);
            assert!(used <= piece.len());
            offset += used;
            piece = &piece[used..];
            match event {
                Some(DataEvent::Chunk(chunk)) => body.extend_from_slice(chunk),
                Some(DataEvent::End(outcome)) => return Some((body, outcome.is_ok(), offset)),
                None => {
                    assert!(piece.is_empty(), "None means the piece was consumed");
                    break;
                }
            }
        }
    }
    None
}

/// DATA: where the input is split must not change the outcome, the end position or an
/// accepted body; the terminator is always a real `CRLF.CRLF`; and any message survives
/// encode → decode with CRLF line ends.
pub fn smtp_data(data: &[u8]) {
    let options = Options::default();
    let step = usize::from(data.first().copied().unwrap_or(1) % 16) + 1;
    let whole = run_data(&options, data, data.len());
    let split = run_data(&options, data, step);
    match (&whole, &split) {
        (Some((body_a, ok_a, end_a)), Some((body_b, ok_b, end_b))) => {
            assert_eq!((ok_a, end_a), (ok_b, end_b));
            if *ok_a {
                assert_eq!(body_a, body_b);
            }
            // Only CRLF "." CRLF ends the data (RFC 5321 §4.1.1.4).
            assert!(data[..*end_a].ends_with(b".\r\n"));
            assert!(*end_a == 3 || data[..*end_a].ends_with(b"\r\n.\r\n"));
        }
        (None, None) => {}
        _ => panic!("split changed whether the data ended"),
    }
    let mut wire = Vec::new();
    encode_message(data, &mut wire);
    let lenient = Options {
        max_text_line: usize::MAX,
        ..Options::default()
    };
    let (body, ok, end) = run_data(&lenient, &wire, step).expect("an encoded message ends");
    assert!(ok, "the encoder never emits bare CR or LF");
    assert_eq!(end, wire.len(), "the terminator is the last thing written");
    assert!(!body.windows(2).any(|w| (w[0] == b'\r') != (w[1] == b'\n')) || body.len() < 2);
}

/// BDAT: the decoder reads exactly the announced octets, whatever the split, and refuses
/// a message over the limit.
pub fn smtp_bdat(data: &[u8]) {
    let Some((&[a, b, c], rest)) = data.split_first_chunk::<3>() else {
        return;
    };
    let size = u64::from(u16::from_be_bytes([a, b]));
    let step = usize::from(c % 8) + 1;
    let received = u64::from(c) * 100;
    let mut decoder = BdatDecoder::new(size, received, 40_000);
    let mut offset = 0;
    let mut chunk_octets = 0u64;
    let mut ended = None;
    'outer: for piece in rest.chunks(step) {
        let mut piece = piece;
        loop {
            let (used, event) = decoder.decode(piece);
            offset += used;
            piece = &piece[used..];
            match event {
                Some(BdatEvent::Chunk(chunk)) => chunk_octets += chunk.len() as u64,
                Some(BdatEvent::End(outcome)) => {
                    ended = Some(outcome);
                    break 'outer;
                }
                None => break,
            }
        }
    }
    match ended {
        Some(Ok(total)) => {
            assert_eq!(offset as u64, size);
            assert_eq!(chunk_octets, size);
            assert_eq!(total, received + size);
        }
        Some(Err(_)) => assert!(received + size > 40_000 && chunk_octets == 0),
        None => assert!((rest.len() as u64) < size || size == 0 && rest.is_empty()),
    }
    drive_server(data);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SEEDS: &[&[u8]] = &[
        b"",
        b"EHLO x\r\nMAIL FROM:<a@b> SIZE=10\r\nRCPT TO:<c@d>\r\nDATA\r\n",
        b"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 3 LAST\r\nabcQUIT\r\n",
        b"EHLO x\r\nAUTH PLAIN\r\nAGEAYg==\r\nSTARTTLS\r\nEHLO y\r\n",
        b"250-x\r\n250-PIPELINING\r\n250 SIZE 10\r\n",
        b"220 2.0.0 go\r\n",
        b"a\r\n.\r\n",
        b"\n.\n\r\n.\r\n",
        b"..\r\n.x\r\r\n.\r\n",
        b"\x00\x05\x01hello",
        b"\xff\xff\x07short",
    ];

    #[test]
    fn seeds_hold_every_invariant() {
        for end in SMUGGLING_END_OF_DATA {
            smtp_data(&[b"x".as_slice(), end, b"\r\n.\r\n"].concat());
        }
        for seed in SEEDS {
            smtp_command(seed);
            smtp_reply(seed);
            smtp_data(seed);
            smtp_bdat(seed);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn random_bytes_hold_every_invariant(data in proptest::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(b' '), any::<u8>(), b'A'..=b'Z'],
            0..300,
        )) {
            smtp_command(&data);
            smtp_reply(&data);
            smtp_data(&data);
            smtp_bdat(&data);
        }
    }
}
