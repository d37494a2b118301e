//! Client and server sessions driven against each other and against raw bytes: literals and
//! continuation requests, AUTHENTICATE, IDLE, STARTTLS, limits.

use imap_proto::{
    codec::ResponseCodec,
    options::Options,
    session::{
        State,
        client::{ClientEvent, ClientSession},
        server::{Refusal, ServerEvent, ServerSession},
    },
    types::{
        command::{Base64, CommandBody},
        core::{AString, IString, Literal, LiteralMode, Tag},
        mailbox::Mailbox,
        response::{
            Data, Greeting, GreetingKind, Response, ResponseText, StatusKind, Tagged, Text,
        },
        secret::Secret,
    },
};

fn text(t: &str) -> ResponseText {
    ResponseText {
        code: None,
        text: Text::try_from(t).unwrap(),
    }
}

fn server() -> ServerSession {
    ServerSession::new(
        Options::default(),
        Greeting {
            kind: GreetingKind::Ok,
            text: text("ready"),
        },
    )
}

fn ok(tag: &Tag) -> Tagged {
    Tagged {
        tag: tag.clone(),
        kind: StatusKind::Ok,
        text: text("done"),
    }
}

fn drain(server: &mut ServerSession) -> Vec<u8> {
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    out
}

fn events(server: &mut ServerSession) -> Vec<ServerEvent> {
    std::iter::from_fn(|| server.poll_event()).collect()
}

fn command_tag(event: &ServerEvent) -> Tag {
    match event {
        ServerEvent::Command(c) => c.tag.clone(),
        other => panic!("expected a command, got {other:?}"),
    }
}

#[test]
fn server_asks_for_sync_literals_and_authenticates() {
    let mut s = server();
    assert_eq!(drain(&mut s), b"* OK ready\r\n");
    s.handle_input(b"a LOGIN {4}\r\n");
    assert!(events(&mut s).is_empty());
    assert_eq!(drain(&mut s), b"+ Ready for literal data\r\n");
    s.handle_input(b"fred secret\r\n");
    let ev = events(&mut s);
    assert_eq!(ev.len(), 1);
    let ServerEvent::Command(cmd) = &ev[0] else {
        panic!()
    };
    assert_eq!(
        cmd.body,
        CommandBody::Login {
            username: AString::String(IString::Literal(
                Literal::new(b"fred".to_vec(), LiteralMode::Sync).unwrap()
            )),
            password: Secret::new(AString::try_from("secret").unwrap()),
        }
    );
    s.send_tagged(ok(&cmd.tag)).unwrap();
    assert_eq!(s.state(), State::Authenticated);
    assert_eq!(drain(&mut s), b"a OK done\r\n");
}

#[test]
fn server_refuses_commands_outside_their_state_and_malformed_ones() {
    let mut s = server();
    drain(&mut s);
    s.handle_input(b"a SELECT INBOX\r\nb FROB\r\nc NOOP\r\n");
    let ev = events(&mut s);
    assert!(matches!(
        ev[0],
        ServerEvent::Refused {
            reason: Refusal::WrongState,
            ..
        }
    ));
    assert!(matches!(
        ev[1],
        ServerEvent::Refused {
            reason: Refusal::Malformed(_),
            ..
        }
    ));
    assert_eq!(command_tag(&ev[2]).as_str(), "c");
    assert_eq!(
        String::from_utf8(drain(&mut s)).unwrap(),
        "a BAD Command not valid in this state\r\nb BAD [CLIENTBUG] Syntax error\r\n"
    );
}

#[test]
fn server_refuses_oversize_literals_without_reading_them() {
    let mut options = Options::default();
    options.max_literal_size = 10;
    let mut s = ServerSession::new(
        options,
        Greeting {
            kind: GreetingKind::PreAuth,
            text: text("hi"),
        },
    );
    drain(&mut s);
    // A non-synchronizing literal is sent at once: its bytes must be skipped, not run.
    s.handle_input(b"a APPEND INBOX {20+}\r\nb LOGOUT\r\nc LOGOUT\r\n\r\nd NOOP\r\n");
    let ev = events(&mut s);
    assert!(matches!(&ev[0], ServerEvent::Refused { tag: Some(t), .. } if t.as_str() == "a"));
    assert_eq!(command_tag(&ev[1]).as_str(), "d");
    assert_eq!(drain(&mut s), b"a BAD [TOOBIG] Command too long\r\n");
}

#[test]
fn authenticate_exchange_with_challenge_and_cancel() {
    let mut s = server();
    drain(&mut s);
    s.handle_input(b"a AUTHENTICATE PLAIN\r\n");
    let ev = events(&mut s);
    let tag = command_tag(&ev[0]);
    s.authenticate_challenge(Base64::try_from("").unwrap())
        .unwrap();
    assert_eq!(drain(&mut s), b"+ \r\n");
    s.handle_input(b"AGZyZWQAc2VjcmV0\r\n");
    let ev = events(&mut s);
    assert!(
        matches!(&ev[0], ServerEvent::AuthenticateData { data: Some(d), .. }
        if d.declassify().as_str() == "AGZyZWQAc2VjcmV0")
    );
    s.send_tagged(ok(&tag)).unwrap();
    assert_eq!(s.state(), State::Authenticated);

    let mut s = server();
    drain(&mut s);
    s.handle_input(b"b AUTHENTICATE PLAIN\r\n");
    events(&mut s);
    s.authenticate_challenge(Base64::try_from("").unwrap())
        .unwrap();
    s.handle_input(b"*\r\n");
    let ev = events(&mut s);
    assert!(matches!(
        &ev[0],
        ServerEvent::AuthenticateData { data: None, .. }
    ));
    assert_eq!(drain(&mut s), b"+ \r\nb BAD Authentication cancelled\r\n");
    assert_eq!(s.state(), State::NotAuthenticated);
    // Misuse is an error value, not a panic.
    assert!(
        s.authenticate_challenge(Base64::try_from("").unwrap())
            .is_err()
    );
}

fn preauth(options: Options) -> ServerSession {
    let mut s = ServerSession::new(
        options,
        Greeting {
            kind: GreetingKind::PreAuth,
            text: text("hi"),
        },
    );
    drain(&mut s);
    s
}

#[test]
fn large_append_streams_in_chunks_with_bounded_memory() {
    let mut options = Options::default();
    options.literal_stream_threshold = 8;
    options.max_literal_size = 100 * 1024 * 1024;
    let mut s = preauth(options);
    // 50 MB would take long in a debug test; the framer never holds more than one input
    // chunk of it, whatever the size, so 200 kB shows the same thing.
    let body = vec![b'x'; 200_000];
    s.handle_input(format!("a APPEND INBOX (\\Seen) {{{}}}\r\n", body.len()).as_bytes());
    let ev = events(&mut s);
    assert!(
        matches!(&ev[0], ServerEvent::AppendStart { length: 200_000, flags: Some(f), .. } if f.len() == 1)
    );
    assert_eq!(drain(&mut s), b"+ Ready for literal data\r\n");
    let mut received = 0;
    for chunk in body.chunks(4096) {
        s.handle_input(chunk);
        for event in events(&mut s) {
            match event {
                ServerEvent::AppendData { data, .. } => {
                    assert!(data.len() <= 4096);
                    received += data.len();
                }
                ServerEvent::AppendMessageEnd { .. } => assert_eq!(received, body.len()),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    // MULTIAPPEND: a second, small message follows whole; then the command ends.
    s.handle_input(b" {3}\r\n");
    assert_eq!(events(&mut s), vec![]);
    assert_eq!(drain(&mut s), b"+ Ready for literal data\r\n");
    s.handle_input(b"abc\r\nb NOOP\r\n");
    let ev = events(&mut s);
    assert!(matches!(&ev[0], ServerEvent::AppendMessage { tag, .. } if tag.as_str() == "a"));
    assert!(matches!(&ev[1], ServerEvent::AppendDone { tag } if tag.as_str() == "a"));
    assert_eq!(command_tag(&ev[2]).as_str(), "b");
    s.send_tagged(ok(&Tag::try_from("a").unwrap())).unwrap();
    assert_eq!(drain(&mut s), b"a OK done\r\n");
}

#[test]
fn only_append_may_stream_a_literal() {
    let mut options = Options::default();
    options.literal_stream_threshold = 8;
    let mut s = preauth(options);
    s.handle_input(b"a LOGIN x {20+}\r\nb LOGOUT\r\nc LOGOUT\r\n\r\nd NOOP\r\n");
    let ev = events(&mut s);
    assert!(matches!(&ev[0], ServerEvent::Refused { tag: Some(t), .. } if t.as_str() == "a"));
    assert_eq!(command_tag(&ev[1]).as_str(), "d");
    assert_eq!(drain(&mut s), b"a BAD Literal refused\r\n");
}

#[test]
fn large_fetch_bodies_are_sent_in_chunks() {
    let mut s = preauth(Options::default());
    let section = imap_proto::types::fetch::Section::new(vec![], None).unwrap();
    let uid = imap_proto::types::response::FetchData::Uid(std::num::NonZeroU32::new(7).unwrap());
    let seq = std::num::NonZeroU32::new(1).unwrap();
    s.send_fetch_start(seq, &[uid], &section, None, 6).unwrap();
    assert!(s.send_fetch_end().is_err(), "not all octets sent yet");
    s.send_fetch_chunk(b"abc").unwrap();
    let mut out = drain(&mut s);
    s.send_fetch_chunk(b"def").unwrap();
    assert!(s.send_fetch_chunk(b"g").is_err(), "more than announced");
    s.send_fetch_end().unwrap();
    out.extend(drain(&mut s));
    assert_eq!(out, b"* 1 FETCH (UID 7 BODY[] {6}\r\nabcdef)\r\n");
    // What was streamed decodes as one FETCH response.
    let (rest, _) = ResponseCodec::default().decode(&out).unwrap();
    assert!(rest.is_empty());
}

#[test]
fn too_many_bad_commands_end_the_session() {
    let mut options = Options::default();
    options.max_bad_commands = 2;
    let mut s = ServerSession::new(
        options,
        Greeting {
            kind: GreetingKind::Ok,
            text: text("hi"),
        },
    );
    drain(&mut s);
    s.handle_input(b"a FROB\r\nb NOOP\r\nc FROB\r\nd FROB\r\ne FROB\r\nf NOOP\r\n");
    let ev = events(&mut s);
    // A good command resets the count; the third bad one in a row says BYE.
    assert_eq!(ev.len(), 5);
    assert_eq!(s.state(), State::Logout);
    let out = String::from_utf8(drain(&mut s)).unwrap();
    assert!(
        out.ends_with("e BAD [CLIENTBUG] Syntax error\r\n* BYE Too many invalid commands\r\n"),
        "{out}"
    );
}

#[test]
fn inactivity_logs_out_with_time_passed_in() {
    use std::time::{Duration, Instant};
    let mut s = server();
    drain(&mut s);
    assert_eq!(s.poll_timeout(), None, "no time known yet");
    let start = Instant::now();
    s.handle_input_at(b"a LOGIN fred pw\r\n", start);
    let tag = command_tag(&events(&mut s)[0]);
    assert_eq!(s.poll_timeout(), Some(start + Duration::from_secs(60)));
    s.send_tagged(ok(&tag)).unwrap();
    // Authenticated: RFC 9051 §5.4 wants at least 30 minutes.
    assert_eq!(s.poll_timeout(), Some(start + Duration::from_secs(30 * 60)));
    assert!(!s.handle_timeout(start + Duration::from_secs(29 * 60)));
    assert!(s.handle_timeout(start + Duration::from_secs(30 * 60)));
    assert_eq!(s.state(), State::Logout);
    assert!(
        String::from_utf8(drain(&mut s))
            .unwrap()
            .ends_with("* BYE Autologout; idle for too long\r\n")
    );
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn idle_waits_for_done() {
    let mut s = ServerSession::new(
        Options::default(),
        Greeting {
            kind: GreetingKind::PreAuth,
            text: text("hi"),
        },
    );
    drain(&mut s);
    s.handle_input(b"a IDLE\r\nDONE\r\nb NOOP\r\n");
    let ev = events(&mut s);
    assert_eq!(ev.len(), 1, "input waits until IDLE is accepted");
    assert_eq!(s.buffered(), b"DONE\r\nb NOOP\r\n".len());
    s.idle_accept(Text::try_from("idling").unwrap()).unwrap();
    let ev = events(&mut s);
    assert!(matches!(&ev[0], ServerEvent::IdleDone { tag } if tag.as_str() == "a"));
    assert_eq!(ev.len(), 1, "input waits until IDLE is completed");
    s.send_data(Data::Exists(3));
    s.send_tagged(ok(&Tag::try_from("a").unwrap())).unwrap();
    let ev = events(&mut s);
    assert_eq!(command_tag(&ev[0]).as_str(), "b");
    assert_eq!(drain(&mut s), b"+ idling\r\n* 3 EXISTS\r\na OK done\r\n");
}

#[test]
fn starttls_discards_pipelined_plaintext() {
    // THREATS.md TLS-01 (CVE-2011-0411 class): a command injected behind STARTTLS in the same
    // segment must never run.
    let mut s = server();
    drain(&mut s);
    s.handle_input(b"a STARTTLS\r\nb LOGIN victim pw\r\n");
    let ev = events(&mut s);
    assert_eq!(ev.len(), 1);
    let tag = command_tag(&ev[0]);
    s.send_tagged(ok(&tag)).unwrap();
    let ev = events(&mut s);
    assert_eq!(ev, vec![ServerEvent::StartTls { discarded: 19 }]);
    assert_eq!(s.state(), State::NotAuthenticated);
    // After the handshake, new (decrypted) input is read normally.
    s.handle_input(b"c CAPABILITY\r\n");
    assert_eq!(command_tag(&events(&mut s)[0]).as_str(), "c");
}

#[test]
fn client_waits_for_continuation_before_a_sync_literal() {
    let mut c = ClientSession::new(Options::default());
    c.handle_input(b"* OK ready\r\n");
    assert!(matches!(c.poll_event(), Some(ClientEvent::Greeting(_))));
    let tag = c.enqueue_command(CommandBody::Login {
        username: AString::try_from("fred").unwrap(),
        password: Secret::new(AString::try_from("a\r\nb").unwrap()),
    });
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    assert_eq!(out, b"A1 LOGIN fred {4}\r\n");
    c.poll_transmit(&mut out);
    assert_eq!(out, b"A1 LOGIN fred {4}\r\n", "nothing more before '+'");
    c.handle_input(b"+ go ahead\r\n");
    assert_eq!(c.poll_event(), None, "the '+' was the literal's");
    c.poll_transmit(&mut out);
    assert_eq!(out, b"A1 LOGIN fred {4}\r\na\r\nb\r\n");
    c.handle_input(format!("{} OK logged in\r\n", tag.as_str()).as_bytes());
    assert!(matches!(c.poll_event(), Some(ClientEvent::Tagged(_))));
    assert_eq!(c.state(), State::Authenticated);
}

#[test]
fn client_drops_a_literal_the_server_refused() {
    let mut c = ClientSession::new(Options::default());
    c.handle_input(b"* PREAUTH hi\r\n");
    c.poll_event();
    // RFC 6855 §3: mailbox names "MUST NOT contain control characters", so a name with
    // CR LF cannot even be built.
    assert!(Mailbox::try_from("a\r\n").is_err());
    let mut out = Vec::new();
    c.enqueue_command(CommandBody::Login {
        username: AString::try_from("x").unwrap(),
        password: Secret::new(AString::try_from("\r").unwrap()),
    });
    c.enqueue_command(CommandBody::Noop);
    out.clear();
    c.poll_transmit(&mut out);
    assert_eq!(out, b"A1 LOGIN x {1}\r\n");
    c.handle_input(b"A1 BAD [TOOBIG] no\r\n");
    assert!(matches!(c.poll_event(), Some(ClientEvent::Tagged(_))));
    out.clear();
    c.poll_transmit(&mut out);
    assert_eq!(out, b"A2 NOOP\r\n");
}

/// A client and a server joined by an in-memory wire; events are collected as the call order
/// requires (poll events before transmitting).
struct Pair {
    server: ServerSession,
    client: ClientSession,
    server_events: Vec<ServerEvent>,
    client_events: Vec<ClientEvent>,
}

impl Pair {
    fn run(&mut self) {
        let mut wire = Vec::new();
        for _ in 0..8 {
            self.server_events
                .extend(std::iter::from_fn(|| self.server.poll_event()));
            wire.clear();
            self.server.poll_transmit(&mut wire);
            self.client.handle_input(&wire);
            self.client_events
                .extend(std::iter::from_fn(|| self.client.poll_event()));
            wire.clear();
            self.client.poll_transmit(&mut wire);
            self.server.handle_input(&wire);
        }
    }

    fn take_command(&mut self) -> imap_proto::types::command::Command {
        match self.server_events.remove(0) {
            ServerEvent::Command(c) => c,
            other => panic!("expected a command, got {other:?}"),
        }
    }
}

#[test]
fn client_and_server_run_a_session_together() {
    let mut p = Pair {
        server: server(),
        client: ClientSession::new(Options::default()),
        server_events: Vec::new(),
        client_events: Vec::new(),
    };
    p.run();
    assert!(matches!(
        p.client_events.remove(0),
        ClientEvent::Greeting(_)
    ));

    // A password that needs a synchronizing literal: the client waits for "+".
    p.client.enqueue_command(CommandBody::Login {
        username: AString::try_from("fred").unwrap(),
        password: Secret::new(AString::try_from("sec\"ret\r\n").unwrap()),
    });
    p.run();
    let login = p.take_command();
    assert_eq!(login.tag.as_str(), "A1");
    assert_eq!(
        login.body,
        CommandBody::Login {
            username: AString::try_from("fred").unwrap(),
            password: Secret::new(AString::try_from("sec\"ret\r\n").unwrap()),
        }
    );
    p.server.send_tagged(ok(&login.tag)).unwrap();
    p.run();
    assert!(matches!(p.client_events.remove(0), ClientEvent::Tagged(t) if t.tag == login.tag));
    assert_eq!(p.client.state(), State::Authenticated);

    p.client.enqueue_command(CommandBody::Idle);
    p.run();
    let idle = p.take_command();
    p.server
        .idle_accept(Text::try_from("idling").unwrap())
        .unwrap();
    p.run();
    assert!(matches!(
        p.client_events.remove(0),
        ClientEvent::Continuation(_)
    ));
    p.server.send_data(Data::Exists(4));
    p.run();
    assert_eq!(
        p.client_events.remove(0),
        ClientEvent::Data(Data::Exists(4))
    );
    p.client.idle_done().unwrap();
    p.run();
    assert!(matches!(
        p.server_events.remove(0),
        ServerEvent::IdleDone { .. }
    ));
    p.server.send_tagged(ok(&idle.tag)).unwrap();
    p.run();
    assert!(matches!(p.client_events.remove(0), ClientEvent::Tagged(t) if t.tag == idle.tag));

    p.client.enqueue_command(CommandBody::Logout);
    p.run();
    let logout = p.take_command();
    p.server.send_data(Data::Bye(text("bye")));
    p.server.send_tagged(ok(&logout.tag)).unwrap();
    p.run();
    assert!(matches!(
        p.client_events.remove(0),
        ClientEvent::Data(Data::Bye(_))
    ));
    assert!(matches!(p.client_events.remove(0), ClientEvent::Tagged(_)));
    assert_eq!(p.server.state(), State::Logout);
    assert_eq!(p.client.state(), State::Logout);
    assert!(p.server_events.is_empty() && p.client_events.is_empty());
}

#[test]
fn responses_decode_from_server_output() {
    let mut s = server();
    drain(&mut s);
    s.send_data(Data::Exists(1));
    let out = drain(&mut s);
    assert_eq!(
        ResponseCodec::default().decode(&out),
        Ok((&b""[..], Response::Data(Data::Exists(1))))
    );
}

#[test]
fn client_tracks_what_enable_enabled() {
    use imap_proto::types::{core::Atom, non_empty::NonEmpty};
    let mut c = ClientSession::new(Options::default());
    c.handle_input(b"* PREAUTH ready\r\n");
    assert!(matches!(c.poll_event(), Some(ClientEvent::Greeting(_))));
    // An ENABLED nobody asked for enables nothing.
    c.handle_input(b"* ENABLED CONDSTORE\r\n");
    assert!(matches!(c.poll_event(), Some(ClientEvent::Data(_))));
    assert!(c.enabled().is_empty());
    let asked = NonEmpty::try_from(vec![
        Atom::try_from("CONDSTORE").unwrap(),
        Atom::try_from("UTF8=ACCEPT").unwrap(),
        Atom::try_from("X-UNKNOWN").unwrap(),
    ])
    .unwrap();
    let tag = c.enqueue_command(CommandBody::Enable(asked));
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    assert_eq!(out, b"A1 ENABLE CONDSTORE UTF8=ACCEPT X-UNKNOWN\r\n");
    // The server enables what it supports; an unknown capability is left out.
    c.handle_input(b"* ENABLED condstore UTF8=ACCEPT\r\n");
    c.handle_input(format!("{} OK done\r\n", tag.as_str()).as_bytes());
    while c.poll_event().is_some() {}
    let names: Vec<&str> = c.enabled().iter().map(|a| a.as_str()).collect();
    assert_eq!(names, ["condstore", "UTF8=ACCEPT"]);
    assert!(c.is_enabled("CONDSTORE") && c.is_enabled("utf8=accept"));
    assert!(!c.is_enabled("X-UNKNOWN"));
    // Once the ENABLE is complete, a stray ENABLED changes nothing.
    c.handle_input(b"* ENABLED QRESYNC\r\n");
    while c.poll_event().is_some() {}
    assert!(!c.is_enabled("QRESYNC"));
}

/// RFC 6855 on both sides: before `ENABLE UTF8=ACCEPT` UTF-8 names and APPEND's `UTF8 (…)`
/// are refused and names go out in modified UTF-7; after the server's `* ENABLED` both
/// sessions use UTF-8 names, and a large `UTF8 (~{n}…)` literal is streamed like any other.
#[test]
fn utf8_accept_switches_both_sessions_to_utf8() {
    use imap_proto::types::{core::Atom, non_empty::NonEmpty, response::ListItem};
    let mut options = Options::default();
    options.literal_stream_threshold = 8;
    let mut s = preauth(options.clone());
    let entwuerfe = Mailbox::try_from("Entwürfe").unwrap();

    // Not enabled: UTF-8 in a quoted name is refused, in a literal too; UTF8 APPEND too.
    s.handle_input("a SELECT \"Entwürfe\"\r\n".as_bytes());
    s.handle_input(b"b SELECT {9}\r\n");
    assert!(
        events(&mut s)
            .iter()
            .any(|e| matches!(e, ServerEvent::Refused { .. }))
    );
    s.handle_input("Entwürfe\r\nc APPEND INBOX UTF8 (~{20}\r\n".as_bytes());
    let ev = events(&mut s);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert!(ev.iter().all(|e| matches!(e, ServerEvent::Refused { .. })));
    let out = String::from_utf8(drain(&mut s)).unwrap();
    assert!(
        out.starts_with("a BAD") && out.contains("b BAD") && out.contains("c BAD"),
        "{out}"
    );
    // Names go out as modified UTF-7.
    let list = |name: &Mailbox| {
        Data::List(ListItem {
            attributes: Vec::new(),
            delimiter: Some('/'),
            mailbox: name.clone(),
            extended: Vec::new(),
        })
    };
    s.send_data(list(&entwuerfe));
    assert_eq!(drain(&mut s), b"* LIST () \"/\" Entw&APw-rfe\r\n");

    // ENABLE; the caller answers `* ENABLED UTF8=ACCEPT`.
    s.handle_input(b"e ENABLE UTF8=ACCEPT\r\n");
    let tag = command_tag(&events(&mut s)[0]);
    let utf8 = Atom::try_from("UTF8=ACCEPT").unwrap();
    s.send_data(Data::Enabled(vec![utf8.clone()]));
    s.send_tagged(ok(&tag)).unwrap();
    assert_eq!(drain(&mut s), b"* ENABLED UTF8=ACCEPT\r\ne OK done\r\n");
    assert!(s.utf8_accept());

    s.send_data(list(&entwuerfe));
    assert_eq!(drain(&mut s), "* LIST () \"/\" \"Entwürfe\"\r\n".as_bytes());
    s.handle_input("f SELECT \"Entwürfe\"\r\ng SELECT a&b\r\n".as_bytes());
    let ev = events(&mut s);
    let selected: Vec<String> = ev
        .iter()
        .map(|e| match e {
            ServerEvent::Command(c) => match &c.body {
                CommandBody::Select { mailbox, .. } => mailbox.name().to_owned(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(selected, ["Entwürfe", "a&b"]);
    for tag in ["f", "g"] {
        s.send_tagged(ok(&Tag::try_from(tag).unwrap())).unwrap();
    }
    drain(&mut s);

    // A streamed UTF8 APPEND, then a second message of a MULTIAPPEND.
    let message = "Subject: Grüße\r\n\r\nHallo\r\n".as_bytes();
    s.handle_input(format!("h APPEND \"Entwürfe\" UTF8 (~{{{}}}\r\n", message.len()).as_bytes());
    let ev = events(&mut s);
    assert!(
        matches!(&ev[..], [ServerEvent::AppendStart { mailbox, utf8: true, binary: true, .. }] if *mailbox == entwuerfe),
        "{ev:?}"
    );
    assert_eq!(drain(&mut s), b"+ Ready for literal data\r\n");
    s.handle_input(message);
    s.handle_input(b") UTF8 (~{2+}\r\nhi)\r\n");
    let ev = events(&mut s);
    let received: Vec<u8> = ev
        .iter()
        .filter_map(|e| match e {
            ServerEvent::AppendData { data, .. } => Some(data.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(received, message);
    assert!(
        matches!(ev.last(), Some(ServerEvent::AppendDone { .. })),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, ServerEvent::AppendMessage { .. })),
        "{ev:?}"
    );

    // The client encodes names by what the server enabled.
    let mut c = ClientSession::new(options);
    c.handle_input(b"* PREAUTH ready\r\n");
    while c.poll_event().is_some() {}
    let select = || CommandBody::Select {
        mailbox: entwuerfe.clone(),
        parameters: Vec::new(),
    };
    c.enqueue_command(select());
    let names = NonEmpty::try_from(vec![utf8]).unwrap();
    let tag = c.enqueue_command(CommandBody::Enable(names));
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    c.handle_input(format!("* ENABLED UTF8=ACCEPT\r\n{} OK done\r\n", tag.as_str()).as_bytes());
    while c.poll_event().is_some() {}
    assert!(c.utf8_accept());
    c.enqueue_command(select());
    c.poll_transmit(&mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "A1 SELECT Entw&APw-rfe\r\nA2 ENABLE UTF8=ACCEPT\r\nA3 SELECT \"Entwürfe\"\r\n"
    );
}

/// LITERAL- (RFC 7888 §5) applies to the literal8 inside `UTF8 (…)` like any other: over
/// 4096 octets a `~{n+}` is refused with `BAD [TOOBIG]` and its octets are read and dropped,
/// never taken as commands; a small one and a synchronizing one of any size are fine.
#[test]
fn utf8_append_obeys_literal_minus() {
    use imap_proto::types::core::Atom;
    let mut options = Options::default();
    options.max_non_sync_literal_size = 4096;
    let mut s = preauth(options);
    s.handle_input(b"e ENABLE UTF8=ACCEPT\r\n");
    let tag = command_tag(&events(&mut s)[0]);
    s.send_data(Data::Enabled(vec![Atom::try_from("UTF8=ACCEPT").unwrap()]));
    s.send_tagged(ok(&tag)).unwrap();
    drain(&mut s);

    // 5000 octets that look like a command, inside a refused non-synchronizing literal.
    let hidden = b"x DELETE INBOX\r\n".repeat(5000 / 16 + 1);
    let hidden = &hidden[..5000];
    s.handle_input(b"a APPEND INBOX UTF8 (~{5000+}\r\n");
    s.handle_input(hidden);
    s.handle_input(b")\r\nb NOOP\r\n");
    let ev = events(&mut s);
    assert!(
        matches!(
            &ev[0],
            ServerEvent::Refused {
                reason: Refusal::TooBig(_),
                ..
            }
        ),
        "{ev:?}"
    );
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(command_tag(&ev[1]).as_str(), "b");
    let out = String::from_utf8(drain(&mut s)).unwrap();
    assert!(out.starts_with("a BAD [TOOBIG]"), "{out}");

    s.handle_input("c APPEND INBOX UTF8 (~{7+}\r\nGrüße)\r\n".as_bytes());
    let ev = events(&mut s);
    assert!(
        matches!(&ev[..], [ServerEvent::Command(c)] if c.tag.as_str() == "c"),
        "{ev:?}"
    );
}
