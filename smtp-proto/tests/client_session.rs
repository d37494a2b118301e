//! The client state machine against scripted replies and against the server state machine.

use smtp_proto::{
    Command, Domain, ForwardPath, Mailbox, Options, ReversePath, Secret,
    client::{Client, ClientError, ClientEvent, Sent, auth_challenge},
    command::{AuthLine, MailParams, RcptParams},
    server::{Event, Server, ServerConfig},
};

fn ehlo() -> Command<'static> {
    Command::Ehlo(Domain::try_from("client.test").expect("valid"))
}

fn mail(from: &'static str) -> Command<'static> {
    Command::Mail {
        from: ReversePath::Mailbox(Mailbox::try_from(from).expect("valid")),
        params: MailParams::default(),
    }
}

fn rcpt(to: &'static str) -> Command<'static> {
    Command::Rcpt {
        to: ForwardPath::Mailbox(Mailbox::try_from(to).expect("valid")),
        params: RcptParams::default(),
    }
}

fn transmit(client: &mut Client) -> String {
    let mut out = Vec::new();
    client.poll_transmit(&mut out);
    String::from_utf8(out).expect("ASCII")
}

fn replies(client: &mut Client, input: &[u8]) -> Vec<(Sent, u16)> {
    client.handle_input(input).expect("input");
    let mut got = Vec::new();
    while let Some(event) = client.poll_event() {
        match event {
            ClientEvent::Reply { to, reply } => got.push((to, reply.code().get())),
            other => panic!("unexpected {other:?}"),
        }
    }
    got
}

#[test]
fn scripted_session_with_pipelining() {
    let mut client = Client::new(Options::default());
    assert_eq!(
        client.send(&ehlo()),
        Err(ClientError::MustWait),
        "RFC 2920: wait for the greeting"
    );
    assert_eq!(
        replies(&mut client, b"220 mx ESMTP\r\n"),
        [(Sent::Greeting, 220)]
    );
    client.send(&ehlo()).expect("ehlo");
    assert_eq!(
        client.send(&mail("a@b")),
        Err(ClientError::MustWait),
        "EHLO ends a group"
    );
    let got = replies(
        &mut client,
        b"250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SIZE 1000\r\n",
    );
    assert_eq!(got, [(Sent::Ehlo, 250)]);
    assert_eq!(client.extensions().and_then(|e| e.size()), Some(1000));
    client.send(&mail("a@b")).expect("mail");
    client.send(&rcpt("c@d")).expect("pipelined rcpt");
    client.send(&rcpt("e@f")).expect("pipelined rcpt");
    client.send(&Command::Data).expect("data ends the group");
    assert_eq!(client.send(&Command::Rset), Err(ClientError::MustWait));
    assert_eq!(
        transmit(&mut client),
        "EHLO client.test\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n"
    );
    assert_eq!(client.send_data(b"early"), Err(ClientError::WrongState));
    let got = replies(&mut client, b"250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n");
    assert_eq!(
        got,
        [
            (Sent::Mail, 250),
            (Sent::Rcpt, 250),
            (Sent::Rcpt, 550),
            (Sent::Data, 354)
        ]
    );
    assert_eq!(client.accepted_recipients(), 1);
    // SMTP-04 / RUSTSEC-2021-0069: the body is dot-stuffed and CRLF-normalised.
    client
        .send_data(b"Subject: x\n\n.\r\nMAIL FROM:<evil@x>\n")
        .expect("content");
    client.finish_data().expect("end");
    assert_eq!(
        transmit(&mut client),
        "Subject: x\r\n\r\n..\r\nMAIL FROM:<evil@x>\r\n.\r\n"
    );
    assert_eq!(
        replies(&mut client, b"250 queued\r\n"),
        [(Sent::MessageEnd, 250)]
    );
    client.send_bdat(b"abc", true).expect("chunking offered");
    assert_eq!(transmit(&mut client), "BDAT 3 LAST\r\nabc");
    assert_eq!(
        replies(&mut client, b"250 ok\r\n"),
        [(Sent::MessageEnd, 250)]
    );
    client.send(&Command::Quit).expect("quit");
    client.handle_input(b"221 bye\r\n").expect("input");
    assert!(matches!(
        client.poll_event(),
        Some(ClientEvent::Reply { to: Sent::Quit, .. })
    ));
    assert_eq!(client.poll_event(), Some(ClientEvent::Closed));
    assert_eq!(client.send(&Command::Noop(None)), Err(ClientError::Closed));
}

#[test]
fn no_pipelining_without_the_extension() {
    let mut client = Client::new(Options::default());
    replies(&mut client, b"220 mx\r\n");
    client.send(&ehlo()).expect("ehlo");
    replies(&mut client, b"250 mx\r\n");
    client.send(&mail("a@b")).expect("mail");
    assert_eq!(client.send(&rcpt("c@d")), Err(ClientError::MustWait));
    assert_eq!(
        client.send_bdat(b"x", true),
        Err(ClientError::WrongState),
        "no CHUNKING"
    );
}

#[test]
fn starttls_drops_injected_replies_and_extensions() {
    let mut client = Client::new(Options::default());
    replies(&mut client, b"220 mx\r\n");
    client.send(&ehlo()).expect("ehlo");
    replies(&mut client, b"250-mx\r\n250 STARTTLS\r\n");
    client.send(&Command::StartTls).expect("starttls");
    // A man in the middle appends a plaintext reply after the 220 (response injection).
    client
        .handle_input(b"220 go ahead\r\n250 injected\r\n")
        .expect("input");
    assert_eq!(client.poll_event(), Some(ClientEvent::StartTls));
    assert_eq!(client.poll_event(), None);
    assert!(
        client.extensions().is_none(),
        "RFC 3207 §4.2: forget the extensions"
    );
    assert_eq!(
        client.send(&ehlo()),
        Err(ClientError::WrongState),
        "handshake first"
    );
    client.tls_established().expect("pending");
    client.send(&ehlo()).expect("ehlo again");
    assert_eq!(replies(&mut client, b"250 mx\r\n"), [(Sent::Ehlo, 250)]);
}

#[test]
fn malformed_and_unsolicited_replies_close() {
    let mut client = Client::new(Options::default());
    client.handle_input(b"hello\r\n").expect("input");
    assert!(matches!(
        client.poll_event(),
        Some(ClientEvent::Malformed(_))
    ));
    let mut client = Client::new(Options::default());
    replies(&mut client, b"220 mx\r\n");
    client
        .handle_input(b"421 shutting down\r\n")
        .expect("input");
    assert_eq!(client.poll_event(), Some(ClientEvent::Closed));
}

/// The client and the server state machines talk to each other in memory.
#[test]
fn client_and_server_in_memory() {
    let mut config = ServerConfig::new("mx.test");
    config.tls_active = true;
    config.auth_mechanisms = vec!["PLAIN".into()];
    let mut server = Server::new(Options::default(), config);
    let mut client = Client::new(Options::default());
    let message = b"Subject: pair\n\n.\n..\nlast line without newline";
    let mut delivered = Vec::new();
    let mut sent_message = false;
    let mut done = false;
    let mut wire = Vec::new();
    for _round in 0..50 {
        // Server side.
        wire.clear();
        server.poll_transmit(&mut wire);
        if !wire.is_empty() {
            client.handle_input(&wire).expect("client input");
        }
        while let Some(event) = client.poll_event() {
            match event {
                ClientEvent::Reply {
                    to: Sent::Greeting, ..
                } => client.send(&ehlo()).expect("ehlo"),
                ClientEvent::Reply { to: Sent::Ehlo, .. } => client
                    .send(&Command::Auth {
                        mechanism: "PLAIN".try_into().expect("valid"),
                        initial_response: None,
                    })
                    .expect("auth"),
                ClientEvent::Reply {
                    to: Sent::Auth,
                    reply,
                } if reply.code().get() == 334 => {
                    assert_eq!(auth_challenge(&reply), Some(Vec::new()));
                    client
                        .send_auth_line(&AuthLine::Response(Secret::new(b"\0u\0p".to_vec())))
                        .expect("sasl");
                }
                ClientEvent::Reply {
                    to: Sent::Auth,
                    reply,
                } => {
                    assert_eq!(reply.code().get(), 235);
                    client.send(&mail("a@client.test")).expect("mail");
                    client.send(&rcpt("b@mx.test")).expect("rcpt");
                    client.send(&Command::Data).expect("data");
                }
                ClientEvent::Reply { to: Sent::Data, .. } => {
                    client.send_data(message).expect("content");
                    client.finish_data().expect("end");
                    sent_message = true;
                }
                ClientEvent::Reply {
                    to: Sent::MessageEnd,
                    reply,
                } => {
                    assert_eq!(reply.code().get(), 250);
                    client.send(&Command::Quit).expect("quit");
                }
                ClientEvent::Reply { to: Sent::Quit, .. } | ClientEvent::Closed => done = true,
                ClientEvent::Reply { reply, .. } => {
                    assert!(reply.code().is_positive(), "{reply:?}")
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        wire.clear();
        client.poll_transmit(&mut wire);
        if !wire.is_empty() && !server.is_closed() {
            server.handle_input(&wire).expect("server input");
        }
        while let Some(event) = server.poll_event() {
            match event {
                Event::MessageChunk(chunk) => delivered.extend_from_slice(chunk),
                Event::AuthResponse(secret) => {
                    assert_eq!(secret.declassify(), b"\0u\0p");
                    server.accept().expect("auth ok");
                }
                Event::Command(Command::Auth { .. }) => {
                    server.auth_challenge(b"").expect("challenge")
                }
                Event::Command(_) | Event::MessageEnd { .. } => server.accept().expect("accept"),
                _ => {}
            }
        }
        if done {
            break;
        }
    }
    assert!(done && sent_message);
    assert_eq!(
        delivered,
        b"Subject: pair\r\n\r\n.\r\n..\r\nlast line without newline\r\n"
    );
}

/// RFC 2033 §4.2: after the final dot, one reply per accepted recipient, in RCPT order.
#[test]
fn lmtp_client_expects_one_reply_per_recipient() {
    let mut client = Client::new_lmtp(Options::default());
    replies(&mut client, b"220 lmtp ready\r\n");
    client
        .send(&Command::Lhlo(
            Domain::try_from("client.test").expect("valid"),
        ))
        .expect("lhlo");
    assert_eq!(
        replies(&mut client, b"250-lmtp\r\n250 PIPELINING\r\n"),
        [(Sent::Lhlo, 250)]
    );
    client.send(&mail("a@b")).expect("mail");
    for to in ["1@b", "2@b", "3@b"] {
        client.send(&rcpt(to)).expect("rcpt");
    }
    client.send(&Command::Data).expect("data");
    let got = replies(
        &mut client,
        b"250 ok\r\n250 ok\r\n550 no\r\n250 ok\r\n354 go\r\n",
    );
    assert_eq!(got.len(), 5);
    assert_eq!(client.accepted_recipients(), 2);
    client.send_data(b"hello\r\n").expect("content");
    client.finish_data().expect("end");
    // RFC 2920 §3.1: the next transaction may be pipelined right after the content.
    client.send(&mail("c@d")).expect("pipelined after the dot");
    assert_eq!(
        transmit(&mut client),
        "LHLO client.test\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@b>\r\nRCPT TO:<2@b>\r\nRCPT TO:<3@b>\r\nDATA\r\nhello\r\n.\r\nMAIL FROM:<c@d>\r\n"
    );
    let got = replies(&mut client, b"250 delivered to 1\r\n452 full\r\n250 ok\r\n");
    assert_eq!(
        got,
        [
            (Sent::MessageEnd, 250),
            (Sent::MessageEnd, 452),
            (Sent::Mail, 250)
        ]
    );
}

/// RFC 5321 §4.5.3.2: the client gives up when a reply does not come; the end of a message
/// gets the longer DATA termination timeout.
#[test]
fn reply_timeouts() {
    use std::time::{Duration, Instant};
    let minute = Duration::from_secs(60);
    let start = Instant::now();
    let mut client = Client::new(Options::default());
    client.handle_timeout(start);
    assert_eq!(
        client.poll_timeout(),
        Some(start + 5 * minute),
        "waiting for the greeting"
    );
    replies(&mut client, b"220 mx\r\n");
    client.handle_timeout(start + minute);
    assert_eq!(client.poll_timeout(), None, "nothing outstanding");
    client.send(&ehlo()).expect("ehlo");
    client.handle_timeout(start + 2 * minute);
    replies(&mut client, b"250 mx\r\n");
    client.send(&mail("a@b")).expect("mail");
    client.handle_timeout(start + 3 * minute);
    replies(&mut client, b"250 ok\r\n");
    client.send(&rcpt("c@d")).expect("rcpt");
    client.handle_timeout(start + 3 * minute);
    replies(&mut client, b"250 ok\r\n");
    client.send(&Command::Data).expect("data");
    client.handle_timeout(start + 3 * minute);
    replies(&mut client, b"354 go\r\n");
    client.send_data(b"x").expect("content");
    client.finish_data().expect("end");
    client.handle_timeout(start + 4 * minute);
    assert_eq!(
        client.poll_timeout(),
        Some(start + 14 * minute),
        "DATA termination: 10 minutes"
    );
    client.handle_timeout(start + 13 * minute);
    assert_eq!(client.poll_event(), None);
    client.handle_timeout(start + 14 * minute);
    assert_eq!(client.poll_event(), Some(ClientEvent::TimedOut));
    assert_eq!(client.poll_event(), None);
    assert_eq!(client.send(&Command::Quit), Err(ClientError::Closed));
}
