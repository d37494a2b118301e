//! RFC 5321 style transcripts against the server state machine.

use smtp_proto::{
    BareNewlinePolicy, Command, Options, Reply, ReplyCode,
    data::DataError,
    server::{Event, Server, ServerConfig},
};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Command(String),
    Auth(Vec<u8>),
    Chunk(Vec<u8>),
    End(Result<u64, DataError>, bool),
    Reset,
    StartTls,
    Close,
}

/// What the application answers to an event that needs an answer.
enum Answer {
    Accept,
    Reply(Reply<'static>),
    Challenge(&'static [u8]),
}

struct Harness {
    server: Server,
    events: Vec<Ev>,
    body: Vec<u8>,
}

impl Harness {
    fn new(options: Options, config: ServerConfig) -> Self {
        Harness {
            server: Server::new(options, config),
            events: Vec::new(),
            body: Vec::new(),
        }
    }

    fn smtp() -> Self {
        Self::new(Options::default(), ServerConfig::new("mx.test"))
    }

    /// Feeds `input`, drains events answering with `decide`, returns what was transmitted.
    fn feed(&mut self, input: &[u8], mut decide: impl FnMut(&Ev) -> Answer) -> String {
        if !input.is_empty() {
            self.server.handle_input(input).expect("input accepted");
        }
        while let Some(event) = self.server.poll_event() {
            let ev = match event {
                Event::Command(c) => {
                    let mut line = Vec::new();
                    c.encode(&mut line);
                    Ev::Command(String::from_utf8_lossy(&line).trim_end().to_owned())
                }
                Event::AuthResponse(secret) => Ev::Auth(secret.declassify().clone()),
                Event::MessageChunk(c) => {
                    self.body.extend_from_slice(c);
                    Ev::Chunk(c.to_vec())
                }
                Event::MessageEnd { outcome, last } => Ev::End(outcome, last),
                Event::TransactionReset => Ev::Reset,
                Event::StartTls => Ev::StartTls,
                Event::Close => Ev::Close,
                other => panic!("unexpected event {other:?}"),
            };
            let needs_answer = matches!(ev, Ev::Command(_) | Ev::Auth(_) | Ev::End(Ok(_), _));
            if needs_answer {
                match decide(&ev) {
                    Answer::Accept => self.server.accept().expect("accept fits"),
                    Answer::Reply(r) => self.server.reply(r).expect("reply fits"),
                    Answer::Challenge(c) => self.server.auth_challenge(c).expect("challenge fits"),
                }
            }
            if !matches!(ev, Ev::Chunk(_)) {
                self.events.push(ev);
            }
        }
        let mut out = Vec::new();
        self.server.poll_transmit(&mut out);
        String::from_utf8(out).expect("replies are UTF-8")
    }

    fn accept_all(&mut self, input: &[u8]) -> String {
        self.feed(input, |_| Answer::Accept)
    }
}

fn reply(code: u16, text: &'static str) -> Reply<'static> {
    Reply::new(ReplyCode::new(code).expect("valid code"), None, [text]).expect("valid reply")
}

fn codes(transcript: &str) -> Vec<&str> {
    transcript
        .lines()
        .filter(|l| l.as_bytes().get(3) == Some(&b' '))
        .map(|l| &l[..3])
        .collect()
}

#[test]
fn a_full_transaction() {
    let mut h = Harness::smtp();
    assert_eq!(h.accept_all(b""), "220 mx.test ESMTP ready\r\n");
    let ehlo = h.accept_all(b"EHLO client.test\r\n");
    assert!(
        ehlo.starts_with("250-mx.test\r\n250-PIPELINING\r\n250-SIZE 26214400\r\n"),
        "{ehlo}"
    );
    assert!(!ehlo.contains("STARTTLS") && !ehlo.contains("AUTH"));
    let out = h.accept_all(b"MAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n");
    assert_eq!(codes(&out), ["250", "250", "354"]);
    let out = h.accept_all(b"Subject: hi\r\n\r\n..leading dot\r\n.\r\n");
    assert_eq!(codes(&out), ["250"]);
    assert_eq!(h.body, b"Subject: hi\r\n\r\n.leading dot\r\n");
    assert_eq!(h.accept_all(b"QUIT\r\n"), "221 2.0.0 Bye\r\n");
    assert_eq!(
        h.events,
        [
            Ev::Command("EHLO client.test".into()),
            Ev::Command("MAIL FROM:<a@client.test>".into()),
            Ev::Command("RCPT TO:<b@mx.test>".into()),
            Ev::Command("DATA".into()),
            Ev::End(Ok(29), true),
            Ev::Close,
        ]
    );
    assert!(h.server.is_closed());
    assert!(h.server.handle_input(b"NOOP\r\n").is_err());
}

#[test]
fn sequence_errors_and_rejections() {
    let mut h = Harness::smtp();
    h.accept_all(b"");
    // RFC 5321 §4.1.4: mail transactions need EHLO/HELO first.
    assert_eq!(codes(&h.accept_all(b"MAIL FROM:<a@b>\r\n")), ["503"]);
    h.accept_all(b"HELO client.test\r\n");
    // ESMTP parameters after HELO are not recognised.
    assert_eq!(
        codes(&h.accept_all(b"MAIL FROM:<a@b> SIZE=10\r\n")),
        ["555"]
    );
    assert_eq!(codes(&h.accept_all(b"RCPT TO:<a@b>\r\n")), ["503"]);
    assert_eq!(codes(&h.accept_all(b"DATA\r\n")), ["503"]);
    assert_eq!(
        codes(&h.accept_all(b"FOO\r\nMAIL FROM:<<\r\n")),
        ["500", "501"]
    );
    // The application refuses a recipient; DATA then has no valid recipient.
    let out = h.feed(
        b"MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n",
        |ev| match ev {
            Ev::Command(c) if c.starts_with("RCPT") => Answer::Reply(reply(550, "No such user")),
            _ => Answer::Accept,
        },
    );
    assert_eq!(codes(&out), ["250", "550", "503"]);
    assert_eq!(
        codes(&h.accept_all(b"MAIL FROM:<c@d>\r\n")),
        ["503"],
        "nested MAIL"
    );
    assert_eq!(
        codes(&h.accept_all(b"RSET\r\nMAIL FROM:<c@d>\r\n")),
        ["250", "250"]
    );
    assert!(h.events.contains(&Ev::Reset));
    assert_eq!(
        codes(&h.accept_all(b"VRFY x\r\nEXPN x\r\nNOOP\r\nHELP\r\n")),
        ["252", "502", "250", "214"]
    );
}

#[test]
fn size_and_recipient_limits() {
    let mut options = Options::default();
    options.max_recipients = 2;
    options.max_message_size = 100;
    let mut h = Harness::new(options, ServerConfig::new("mx.test"));
    h.accept_all(b"EHLO c\r\n");
    // RFC 1870 §6.1: a declared size over the limit gets 552.
    assert_eq!(
        codes(&h.accept_all(b"MAIL FROM:<a@b> SIZE=101\r\n")),
        ["552"]
    );
    let out = h.accept_all(
        b"MAIL FROM:<a@b> SIZE=100\r\nRCPT TO:<1@b>\r\nRCPT TO:<2@b>\r\nRCPT TO:<3@b>\r\n",
    );
    assert_eq!(codes(&out), ["250", "250", "250", "452"]);
    assert!(out.contains("452 4.5.3"));
    h.accept_all(b"DATA\r\n");
    let body = [
        b"x".repeat(60),
        b"\r\n".to_vec(),
        b"y".repeat(60),
        b"\r\n.\r\n".to_vec(),
    ]
    .concat();
    let out = h.accept_all(&body);
    assert!(out.starts_with("552 5.3.4"), "{out}");
    assert_eq!(
        h.events.last(),
        Some(&Ev::End(Err(DataError::TooBig { max: 100 }), true))
    );
    // The transaction is over: a new one can start.
    assert_eq!(codes(&h.accept_all(b"MAIL FROM:<a@b>\r\n")), ["250"]);
}

/// THREATS SMTP-01: every smuggling end-of-data variant, then a second transaction.
#[test]
fn smuggling_never_yields_two_messages() {
    for policy in [BareNewlinePolicy::Reject, BareNewlinePolicy::Accept] {
        for end in smtp_proto::fuzzing::SMUGGLING_END_OF_DATA {
            let mut options = Options::default();
            options.bare_newline = policy;
            let mut h = Harness::new(options, ServerConfig::new("mx.test"));
            h.accept_all(b"EHLO c\r\nMAIL FROM:<a@ext>\r\nRCPT TO:<local@mx.test>\r\nDATA\r\n");
            let mut input = b"Subject: first\r\n\r\nhello".to_vec();
            input.extend_from_slice(end);
            input.extend_from_slice(b"MAIL FROM:<admin@mx.test>\r\nRCPT TO:<victim@mx.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n");
            let out = h.accept_all(&input);
            let ends: Vec<&Ev> = h
                .events
                .iter()
                .filter(|e| matches!(e, Ev::End(..)))
                .collect();
            assert_eq!(ends.len(), 1, "one DATA, one message: {end:?} {policy:?}");
            let smuggled_commands = h
                .events
                .iter()
                .filter(|e| matches!(e, Ev::Command(c) if c.contains("admin")))
                .count();
            assert_eq!(smuggled_commands, 0, "smuggled MAIL never runs");
            let clean = end == b"\r\n\x00.\r\n" || policy == BareNewlinePolicy::Accept;
            if clean {
                assert_eq!(codes(&out), ["250"]);
                assert!(String::from_utf8_lossy(&h.body).contains("MAIL FROM:<admin@mx.test>"));
            } else {
                assert_eq!(codes(&out), ["554"], "{end:?}");
            }
        }
    }
}

/// THREATS TLS-01: plaintext pipelined after STARTTLS is never executed.
#[test]
fn starttls_discards_pipelined_plaintext_and_resets() {
    let mut config = ServerConfig::new("mx.test");
    config.starttls = true;
    config.auth_mechanisms = vec!["PLAIN".into()];
    let mut h = Harness::new(Options::default(), config);
    let ehlo = h.accept_all(b"EHLO c\r\n");
    assert!(
        ehlo.contains("STARTTLS") && !ehlo.contains("AUTH"),
        "no AUTH before TLS"
    );
    assert_eq!(
        codes(&h.accept_all(b"AUTH PLAIN\r\n")),
        ["530"],
        "TLS-05: no cleartext AUTH"
    );
    let out = h.accept_all(b"STARTTLS\r\nRSET\r\nMAIL FROM:<i@x>\r\n");
    assert_eq!(out, "220 2.0.0 Ready to start TLS\r\n");
    assert_eq!(h.events.last(), Some(&Ev::StartTls));
    assert!(
        h.server.handle_input(b"ClientHello").is_err(),
        "TLS bytes go to the TLS library"
    );
    h.server.tls_established().expect("handshake was pending");
    assert!(h.server.is_tls());
    // RFC 3207 §4.2: the EHLO state is forgotten; the injected MAIL never ran.
    assert_eq!(codes(&h.accept_all(b"MAIL FROM:<i@x>\r\n")), ["503"]);
    let ehlo = h.accept_all(b"EHLO c\r\n");
    assert!(!ehlo.contains("STARTTLS") && ehlo.contains("AUTH PLAIN"));
    assert!(
        !h.events
            .iter()
            .any(|e| matches!(e, Ev::Command(c) if c.starts_with("MAIL")))
    );
    assert_eq!(
        codes(&h.accept_all(b"STARTTLS\r\n")),
        ["503"],
        "TLS already active"
    );
    assert_eq!(codes(&h.accept_all(b"STARTTLS x\r\n")), ["501"]);
}

#[test]
fn auth_exchange() {
    let mut config = ServerConfig::new("mx.test");
    config.tls_active = true;
    config.auth_mechanisms = vec!["PLAIN".into(), "LOGIN".into()];
    let mut h = Harness::new(Options::default(), config);
    h.accept_all(b"EHLO c\r\n");
    assert_eq!(codes(&h.accept_all(b"AUTH CRAM-MD5\r\n")), ["504"]);
    // A 2 KB initial response (an OAuth token) fits the SASL line limit, not the 512 one.
    let token = "QUJD".repeat(500);
    let long = format!("AUTH PLAIN {token}\r\n");
    let out = h.feed(long.as_bytes(), |_| {
        Answer::Reply(reply(535, "bad credentials"))
    });
    assert_eq!(codes(&out), ["535"]);
    // Cancelled exchange: RFC 4954 §4 requires 501.
    let out = h.feed(b"AUTH LOGIN\r\n*\r\n", |_| Answer::Challenge(b"Username:"));
    assert_eq!(
        out,
        "334 VXNlcm5hbWU6\r\n501 5.0.0 Authentication cancelled\r\n"
    );
    // PLAIN without initial response: empty challenge, then the credentials.
    let out = h.feed(b"AUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n", |ev| match ev {
        Ev::Command(_) => Answer::Challenge(b""),
        Ev::Auth(data) if data == b"\0alice\0secret" => Answer::Accept,
        _ => Answer::Reply(reply(535, "no")),
    });
    assert_eq!(out, "334 \r\n235 2.7.0 Authentication successful\r\n");
    assert!(h.server.is_authenticated());
    assert_eq!(codes(&h.accept_all(b"AUTH PLAIN\r\n")), ["503"]);
    assert_eq!(
        codes(&h.accept_all(b"MAIL FROM:<a@b> AUTH=<>\r\n")),
        ["250"]
    );
}

#[test]
fn bdat_chunks() {
    let mut h = Harness::smtp();
    h.accept_all(b"EHLO c\r\n");
    // Out of sequence: the octets are read, then refused.
    assert_eq!(codes(&h.accept_all(b"BDAT 5\r\nhello")), ["503"]);
    let out = h.accept_all(
        b"MAIL FROM:<a@b> BODY=BINARYMIME\r\nRCPT TO:<c@d>\r\nBDAT 6\r\nhello\nBDAT 0 LAST\r\n",
    );
    assert_eq!(codes(&out), ["250", "250", "250", "250"]);
    assert_eq!(h.body, b"hello\n");
    let ends: Vec<&Ev> = h
        .events
        .iter()
        .filter(|e| matches!(e, Ev::End(..)))
        .collect();
    assert_eq!(ends, [&Ev::End(Ok(6), false), &Ev::End(Ok(6), true)]);
    // BINARYMIME cannot use DATA (RFC 3030 §3).
    let out = h.accept_all(b"MAIL FROM:<a@b> BODY=BINARYMIME\r\nRCPT TO:<c@d>\r\nDATA\r\n");
    assert_eq!(codes(&out), ["250", "250", "503"]);
    // THREATS SMTP-05: an absurd size is refused without allocating, and the session closes.
    let out = h.accept_all(b"BDAT 18446744073709551615\r\n");
    assert!(out.starts_with("552"), "{out}");
    assert!(h.server.is_closed());
}

/// THREATS SMTP-03: data sent before the 354 is refused; pipelined RCPTs work.
#[test]
fn pipelining() {
    let mut h = Harness::smtp();
    h.accept_all(b"EHLO c\r\n");
    let mut input = b"MAIL FROM:<a@b>\r\n".to_vec();
    for i in 0..150 {
        input.extend_from_slice(format!("RCPT TO:<u{i}@mx.test>\r\n").as_bytes());
    }
    let out = h.accept_all(&input);
    let got = codes(&out);
    assert_eq!(got.len(), 151);
    assert_eq!(
        got.iter().filter(|c| **c == "452").count(),
        50,
        "replies in order, 452 past the limit"
    );
    let out = h.accept_all(b"DATA\r\nSubject: early\r\n\r\nx\r\n.\r\n");
    assert!(out.starts_with("554 5.5.0"), "{out}");
    assert!(h.server.is_closed());
}

#[test]
fn error_limit_and_long_lines() {
    let mut options = Options::default();
    options.max_errors = 3;
    let mut h = Harness::new(options, ServerConfig::new("mx.test"));
    h.accept_all(b"");
    let long = [b"NOOP ".to_vec(), vec![b'a'; 600], b"\r\nNOOP\r\n".to_vec()].concat();
    assert_eq!(
        codes(&h.accept_all(&long)),
        ["500", "250"],
        "recovers after the long line"
    );
    assert_eq!(codes(&h.accept_all(b"BAD\r\nBAD\n")), ["500", "500", "421"]);
    assert_eq!(h.events.last(), Some(&Ev::Close));
}

#[test]
fn application_refusals_share_the_error_limit() {
    let mut options = Options::default();
    options.max_errors = 3;
    let mut h = Harness::new(options, ServerConfig::new("mx.test"));
    h.accept_all(b"");
    assert_eq!(codes(&h.accept_all(b"EHLO c\r\nBAD\r\n")), ["250", "500"]);
    // The application refuses a sender: counted with the parser's own error above.
    h.server
        .handle_input(b"MAIL FROM:<x@y>\r\n")
        .expect("input");
    assert!(matches!(h.server.poll_event(), Some(Event::Command(_))));
    assert_eq!(
        h.server.refuse(reply(250, "not a refusal")),
        Err(smtp_proto::server::ServerError::UnexpectedReply(250)),
        "only 4xx and 5xx are refusals"
    );
    h.server
        .refuse(reply(553, "not yours"))
        .expect("refusal fits");
    assert!(!h.server.is_closed());
    let out = h.feed(b"MAIL FROM:<x@y>\r\n", |_| {
        Answer::Reply(reply(530, "authenticate first"))
    });
    assert_eq!(codes(&out), ["553", "530"]);
    h.server
        .handle_input(b"MAIL FROM:<x@y>\r\n")
        .expect("input");
    assert!(matches!(h.server.poll_event(), Some(Event::Command(_))));
    h.server
        .refuse(reply(530, "authenticate first"))
        .expect("refusal fits");
    let mut out = Vec::new();
    h.server.poll_transmit(&mut out);
    let out = String::from_utf8(out).expect("UTF-8");
    assert_eq!(codes(&out), ["530", "421"], "the third error closes");
    assert!(h.server.is_closed());
}

#[test]
fn lmtp_replies_per_recipient() {
    let mut config = ServerConfig::new("lmtp.test");
    config.lmtp = true;
    let mut h = Harness::new(Options::default(), config);
    assert!(h.accept_all(b"").contains("LMTP"));
    assert_eq!(codes(&h.accept_all(b"EHLO c\r\n")), ["500"]);
    let out =
        h.accept_all(b"LHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1@b>\r\nRCPT TO:<2@b>\r\nDATA\r\n");
    assert_eq!(codes(&out), ["250", "250", "250", "250", "354"]);
    h.server.handle_input(b"x\r\n.\r\n").expect("input");
    let event = h.server.poll_event();
    assert!(matches!(event, Some(Event::MessageChunk(b"x\r\n"))));
    assert!(matches!(
        h.server.poll_event(),
        Some(Event::MessageEnd {
            outcome: Ok(3),
            last: true
        })
    ));
    h.server.accept().expect("first recipient");
    h.server
        .reply(reply(452, "mailbox full"))
        .expect("second recipient");
    assert_eq!(
        h.server.accept(),
        Err(smtp_proto::server::ServerError::NothingToReply)
    );
    let mut out = Vec::new();
    h.server.poll_transmit(&mut out);
    assert_eq!(out, b"250 2.0.0 Message accepted\r\n452 mailbox full\r\n");
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let mut h = Harness::smtp();
    h.accept_all(b"");
    use smtp_proto::server::ServerError;
    assert_eq!(h.server.accept(), Err(ServerError::NothingToReply));
    assert_eq!(h.server.tls_established(), Err(ServerError::NoTlsPending));
    h.server.handle_input(b"EHLO c\r\n").expect("input");
    assert!(matches!(
        h.server.poll_event(),
        Some(Event::Command(Command::Ehlo(_)))
    ));
    assert_eq!(
        h.server.reply(reply(354, "go")),
        Err(ServerError::UnexpectedReply(354))
    );
    h.server.accept().expect("now it fits");
    assert!(
        h.server.handle_input(&vec![b'x'; 1 << 20]).is_err(),
        "bounded buffer"
    );
}

/// RFC 5321 §4.5.3.2.7 and THREATS LOAD-03: a client that dribbles a command line never
/// resets the deadline; complete commands do.
#[test]
fn idle_deadline_is_per_command() {
    use std::time::{Duration, Instant};
    let mut h = Harness::smtp();
    h.accept_all(b"");
    let start = Instant::now();
    let minute = Duration::from_secs(60);
    assert_eq!(
        h.server.poll_timeout(),
        None,
        "armed by the first handle_timeout"
    );
    h.server.handle_timeout(start);
    assert_eq!(h.server.poll_timeout(), Some(start + 5 * minute));
    // A complete command moves the deadline.
    h.accept_all(b"EHLO c\r\n");
    h.server.handle_timeout(start + 4 * minute);
    assert_eq!(h.server.poll_timeout(), Some(start + 9 * minute));
    // Dribbling octets of an unfinished line does not.
    for (i, octet) in b"MAIL FROM:<a@b>".iter().enumerate() {
        h.accept_all(std::slice::from_ref(octet));
        h.server
            .handle_timeout(start + 4 * minute + Duration::from_secs(10 * i as u64 + 10));
    }
    assert_eq!(h.server.poll_timeout(), Some(start + 9 * minute));
    h.server.handle_timeout(start + 9 * minute);
    let mut out = Vec::new();
    h.server.poll_transmit(&mut out);
    assert!(
        out.starts_with(b"421 4.4.2"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(h.server.poll_event(), Some(Event::Close));
    assert!(h.server.is_closed());
}

#[test]
fn the_application_thinking_is_not_the_client_idling() {
    use std::time::{Duration, Instant};
    let mut h = Harness::smtp();
    h.accept_all(b"");
    let start = Instant::now();
    h.server.handle_input(b"EHLO c\r\n").expect("input");
    assert!(matches!(h.server.poll_event(), Some(Event::Command(_))));
    h.server.handle_timeout(start);
    assert_eq!(h.server.poll_timeout(), None, "waiting for the application");
    h.server.accept().expect("accept");
    h.server.handle_timeout(start + Duration::from_secs(3600));
    assert!(!h.server.is_closed());
    assert_eq!(
        h.server.poll_timeout(),
        Some(start + Duration::from_secs(3600 + 300))
    );
}
