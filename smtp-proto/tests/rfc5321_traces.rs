//! The transcripts of RFC 5321 Appendix D, replayed: the server side of each is parsed by our
//! client, the client side by our server.

use smtp_proto::{
    Command, Options, decode_command, decode_reply,
    server::{Event, Server, ServerConfig},
};

/// RFC 5321 D.1, "A Typical SMTP Transaction Scenario", with its ESMTP greeting.
const D1: &str = "S: 220 foo.com Simple Mail Transfer Service Ready
C: EHLO bar.com
S: 250-foo.com greets bar.com
S: 250-8BITMIME
S: 250-SIZE
S: 250-DSN
S: 250 HELP
C: MAIL FROM:<Smith@bar.com>
S: 250 OK
C: RCPT TO:<Jones@foo.com>
S: 250 OK
C: RCPT TO:<Green@foo.com>
S: 550 No such user here
C: RCPT TO:<Brown@foo.com>
S: 250 OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Blah blah blah...
C: ...etc. etc. etc.
C: .
S: 250 OK
C: QUIT
S: 221 foo.com Service closing transmission channel";

/// Splits a transcript into the octets each side sends, CRLF-terminated.
fn sides(transcript: &str) -> (Vec<u8>, Vec<u8>) {
    let (mut client, mut server) = (Vec::new(), Vec::new());
    for line in transcript.lines() {
        let (side, text) = line.split_at(3);
        let out = if side == "C: " {
            &mut client
        } else {
            &mut server
        };
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    (client, server)
}

#[test]
fn appendix_d1_server_lines_parse_as_replies() {
    let (_, server) = sides(D1);
    let mut rest = server.as_slice();
    let mut codes = Vec::new();
    while !rest.is_empty() {
        let (next, reply) = decode_reply(rest, 1000, 100).expect("RFC reply parses");
        codes.push(reply.code().get());
        rest = next;
    }
    assert_eq!(codes, [220, 250, 250, 250, 550, 250, 354, 250, 221]);
}

#[test]
fn appendix_d1_client_lines_drive_our_server() {
    let (client, _) = sides(D1);
    // Every command line parses on its own.
    let commands = client.split_inclusive(|&b| b == b'\n').take(6);
    for line in commands {
        assert!(
            decode_command(line, 512).is_ok(),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
    let mut server = Server::new(Options::default(), ServerConfig::new("foo.com"));
    // Octet by octet, as slowly as a client can send.
    let mut recipients = Vec::new();
    let mut body = Vec::new();
    let mut ended = 0;
    for octet in client.iter() {
        server
            .handle_input(std::slice::from_ref(octet))
            .expect("input");
        while let Some(event) = server.poll_event() {
            match event {
                Event::Command(Command::Rcpt { to, .. }) => {
                    recipients.push(format!("{to:?}"));
                    server.accept().expect("accept");
                }
                Event::Command(_) => server.accept().expect("accept"),
                Event::MessageChunk(chunk) => body.extend_from_slice(chunk),
                Event::MessageEnd { outcome, .. } => {
                    assert_eq!(outcome, Ok(body.len() as u64));
                    ended += 1;
                    server.accept().expect("accept");
                }
                _ => {}
            }
        }
    }
    assert_eq!(recipients.len(), 3);
    assert_eq!(ended, 1);
    assert_eq!(body, b"Blah blah blah...\r\n..etc. etc. etc.\r\n");
    assert!(server.is_closed());
}
