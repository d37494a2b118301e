//! Transcript tests: RFC example sessions and the THREATS.md POP3 cases, replayed against the
//! [`Server`] (byte-exact output) and the [`Client`] (decoded events).

mod support;

use pop3_proto::{
    AuthLine, BodyEncoder, Client, ClientError, ClientEvent, Command, CommandKind, MsgNo, Options,
    RespCode, Response, ResponseError, ServerEvent, SessionState, Stat, Status,
};
use std::time::{Duration, Instant};

use support::{Maildrop, feed, rfc_messages, rfc_server, run_server_script};

/// The toy maildrop's CAPA answer in AUTHORIZATION state, before its `STLS` line.
const CAPA_AUTHORIZATION: &str = "S: +OK Capability list follows
        S: TOP
        S: UIDL
        S: RESP-CODES
        S: PIPELINING
        S: SASL PLAIN
        S: USER";

fn stuffed(message: &[u8]) -> String {
    let mut wire = Vec::new();
    let mut encoder = BodyEncoder::new();
    encoder.encode(message, &mut wire);
    encoder.finish(&mut wire);
    let text = String::from_utf8(wire).expect("test messages are ASCII");
    text.trim_end_matches("\r\n")
        .lines()
        .map(|l| format!("S: {l}\n"))
        .collect()
}

/// RFC 1939 §10, the example POP3 session, byte for byte (message contents are ours; the
/// second has lines starting with ".").
fn rfc1939_example() -> String {
    let m = rfc_messages();
    format!(
        "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
         C: APOP mrose c4c9334bac560ecc979e58001b3e22fb
         S: +OK mrose's maildrop has 2 messages (320 octets)
         C: STAT
         S: +OK 2 320
         C: LIST
         S: +OK 2 messages (320 octets)
         S: 1 120
         S: 2 200
         S: .
         C: RETR 1
         S: +OK 120 octets
         {}C: DELE 1
         S: +OK message 1 deleted
         C: RETR 2
         S: +OK 200 octets
         {}C: DELE 2
         S: +OK message 2 deleted
         C: QUIT
         S: +OK dewey POP3 server signing off (maildrop empty)",
        stuffed(&m[0]),
        stuffed(&m[1])
    )
}

#[test]
fn server_rfc1939_example_session() {
    let mut server = rfc_server();
    let mut drop = Maildrop::new(rfc_messages());
    run_server_script(&mut server, &mut drop, &rfc1939_example());
    // RFC 1939 §6: QUIT from TRANSACTION enters UPDATE; deletions were committed.
    assert_eq!(server.state(), SessionState::Update);
    assert!(server.is_closed());
    assert_eq!(drop.expunged, vec![1, 2]);
}

#[test]
fn client_rfc1939_example_session() {
    let script = rfc1939_example();
    let server_lines: String = script
        .lines()
        .map(str::trim_start)
        .filter_map(|l| l.strip_prefix("S: "))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let mut client = Client::new(Options::default());
    let msg = |n| MsgNo::new(n).expect("non-zero");
    for command in [
        Command::Apop {
            name: "mrose".try_into().unwrap(),
            digest: "c4c9334bac560ecc979e58001b3e22fb".try_into().unwrap(),
        },
        Command::Stat,
        Command::List(None),
        Command::Retr(msg(1)),
        Command::Dele(msg(1)),
        Command::Retr(msg(2)),
        Command::Dele(msg(2)),
        Command::Quit,
    ] {
        client.send(command).expect("valid in the predicted state");
    }
    // The server's whole side arrives in 5-octet reads.
    let mut events = Vec::new();
    let mut sent = Vec::new();
    for read in server_lines.as_bytes().chunks(5) {
        client.poll_transmit(&mut sent);
        assert_eq!(client.handle_input(read), read.len());
        while let Some(event) = client.poll_event().expect("the RFC session is valid") {
            events.push(event);
        }
    }
    let mut bodies = Vec::new();
    for event in &events {
        match event {
            ClientEvent::BodyStart { .. } => bodies.push(Vec::new()),
            ClientEvent::BodyData(d) => bodies
                .last_mut()
                .expect("after BodyStart")
                .extend_from_slice(d),
            _ => {}
        }
    }
    client.poll_transmit(&mut sent);
    assert_eq!(
        String::from_utf8_lossy(&sent),
        "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\nSTAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\nRETR 2\r\nDELE 2\r\nQUIT\r\n"
    );
    assert_eq!(bodies, rfc_messages());
    assert!(
        matches!(&events[0], ClientEvent::Greeting(g) if g.apop_timestamp() == Some("<1896.697170952@dbc.mtview.ca.us>"))
    );
    assert!(events.contains(&ClientEvent::Response {
        command: CommandKind::Stat,
        response: Response::Stat(Stat {
            count: 2,
            size: 320
        })
    }));
    assert_eq!(client.state(), SessionState::Closed);
    assert!(client.is_closed());
}

#[test]
fn user_pass_top_uidl_rset() {
    let script = "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
        C: USER mrose
        S: +OK mrose is a real hoopy frood
        C: PASS tanstaaf
        S: +OK mrose's maildrop has 2 messages (320 octets)
        C: TOP 2 2
        S: +OK
        S: From: dewey@example.org
        S: Subject: two
        S:
        S: ..dot line
        S: ...two dots
        S: .
        C: UIDL
        S: +OK
        S: 1 uid-1
        S: 2 uid-2
        S: .
        C: UIDL 2
        S: +OK 2 uid-2
        C: DELE 1
        S: +OK message 1 deleted
        C: DELE 1
        S: -ERR message 1 already deleted
        C: LIST 1
        S: -ERR no such message
        C: RSET
        S: +OK maildrop has 2 messages (320 octets)
        C: LIST 3
        S: -ERR no such message
        C: NOOP
        S: +OK";
    let mut server = rfc_server();
    let mut drop = Maildrop::new(rfc_messages());
    run_server_script(&mut server, &mut drop, script);
    assert_eq!(server.state(), SessionState::Transaction);
}

/// RFC 2449 §6.6: a pipelining client sends its commands in one write; the server answers
/// them in order.
#[test]
fn pipelined_commands_are_answered_in_order() {
    let script = format!(
        "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
        C: CAPA
        C: USER mrose
        C: PASS tanstaaf
        C: STAT
        C: LIST 2
        {CAPA_AUTHORIZATION}
        S: STLS
        S: .
        S: +OK mrose is a real hoopy frood
        S: +OK mrose's maildrop has 2 messages (320 octets)
        S: +OK 2 320
        S: +OK 2 200"
    );
    run_server_script(
        &mut rfc_server(),
        &mut Maildrop::new(rfc_messages()),
        &script,
    );
}

/// THREATS.md TLS-01, RFC 2595: commands sent after STLS in the same segment are never
/// executed; after the handshake the session is still in AUTHORIZATION.
#[test]
fn stls_discards_injected_plaintext() {
    let script = format!(
        "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
        C: STLS
        C: USER victim
        C: PASS injected
        S: +OK Begin TLS negotiation
        TLS
        C: STLS
        S: -ERR command not permitted when TLS active
        C: CAPA
        {CAPA_AUTHORIZATION}
        S: ."
    );
    let mut server = rfc_server();
    let mut drop = Maildrop::new(rfc_messages());
    run_server_script(&mut server, &mut drop, &script);
    assert!(server.is_tls_active());
    assert_eq!(server.state(), SessionState::Authorization);
    assert!(
        !drop
            .seen
            .iter()
            .any(|e| matches!(e, ServerEvent::Command(Command::User(_) | Command::Pass(_))))
    );
}

/// RFC 5034 §4: AUTH with an initial response, with a challenge, and cancelled with "*".
#[test]
fn sasl_exchanges() {
    let cancelled = "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
        C: AUTH PLAIN
        S: + 
        C: *
        S: -ERR authentication cancelled
        C: AUTH PLAIN
        S: + 
        C: AG1yb3NlAHRhbnN0YWFm
        S: +OK mrose's maildrop has 2 messages (320 octets)";
    let mut server = rfc_server();
    let mut drop = Maildrop::new(rfc_messages());
    run_server_script(&mut server, &mut drop, cancelled);
    assert_eq!(server.state(), SessionState::Transaction);
    assert!(drop.seen.contains(&ServerEvent::AuthCancelled));

    let initial = "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
        C: AUTH PLAIN AG1yb3NlAHdyb25n
        S: -ERR [AUTH] authentication failed
        C: AUTH PLAIN AG1yb3NlAHRhbnN0YWFm
        S: +OK mrose's maildrop has 2 messages (320 octets)";
    let mut server = rfc_server();
    run_server_script(&mut server, &mut Maildrop::new(rfc_messages()), initial);
    assert_eq!(server.state(), SessionState::Transaction);
}

/// THREATS.md POP-01: bad arguments get -ERR and the session goes on; an over-long line
/// gets -ERR and is skipped; PASS needs USER right before; TRANSACTION commands need a login.
#[test]
fn bad_input_gets_err_and_session_continues() {
    let long = "X".repeat(300);
    let script = format!(
        "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
        C: STAT
        S: -ERR command not valid in this state
        C: PASS tanstaaf
        S: -ERR USER first
        C: USER mrose
        S: +OK mrose is a real hoopy frood
        C: PASS tanstaaf
        S: +OK mrose's maildrop has 2 messages (320 octets)
        C: RETR 0
        S: -ERR message numbers start at 1
        C: RETR 4294967296
        S: -ERR no such message
        C: TOP 1 -1
        S: -ERR line count must be a non-negative decimal number
        C: TOP 1 99999999999
        S: -ERR line count must be a non-negative decimal number
        C: LIST x
        S: -ERR message number must be a decimal number
        C: USER {long}
        S: -ERR line too long
        C: APOP mrose c4c9334bac560ecc979e58001b3e22fb
        S: -ERR command not valid in this state
        C: STAT
        S: +OK 2 320"
    );
    let mut server = rfc_server();
    run_server_script(&mut server, &mut Maildrop::new(rfc_messages()), &script);
    assert_eq!(server.state(), SessionState::Transaction);
}

#[test]
fn line_past_buffer_limit_is_skipped_then_session_recovers() {
    let mut server = rfc_server();
    let mut drop = Maildrop::new(rfc_messages());
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    out.clear();
    // 200 KB without a line end arrives in reads; the server never holds more than its limit.
    for _ in 0..50 {
        feed(&mut server, &mut drop, &[b'a'; 4096]);
    }
    feed(&mut server, &mut drop, b"\r\nNOOP\r\n");
    server.poll_transmit(&mut out);
    assert_eq!(
        out,
        b"-ERR line too long\r\n-ERR command not valid in this state\r\n"
    );
}

#[test]
fn too_many_bad_commands_close_the_session() {
    let mut server = rfc_server();
    let mut drop = Maildrop::new(rfc_messages());
    feed(&mut server, &mut drop, &b"XTND\r\n".repeat(20));
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    let text = String::from_utf8(out).expect("ASCII");
    assert_eq!(text.matches("-ERR unknown command").count(), 10);
    assert!(text.ends_with("-ERR too many bad commands, closing connection\r\n"));
    assert!(server.is_closed());
    assert_eq!(server.state(), SessionState::Closed);
}

/// RFC 1939 §6: a session that ends without QUIT never enters UPDATE; QUIT in
/// AUTHORIZATION closes without UPDATE.
#[test]
fn update_only_after_quit_in_transaction() {
    let mut server = rfc_server();
    let mut drop = Maildrop::new(rfc_messages());
    feed(
        &mut server,
        &mut drop,
        b"USER mrose\r\nPASS tanstaaf\r\nDELE 1\r\n",
    );
    assert_eq!(server.state(), SessionState::Transaction);
    assert!(drop.expunged.is_empty()); // the connection may drop here: nothing is deleted

    let mut server = rfc_server();
    feed(&mut server, &mut drop, b"QUIT\r\n");
    assert_eq!(server.state(), SessionState::Closed);
    assert!(drop.expunged.is_empty());
}

/// RFC 2449 §8.1.1: `-ERR [IN-USE]` to PASS leaves the session in AUTHORIZATION.
#[test]
fn in_use_login_stays_in_authorization() {
    let script = "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
        C: USER mrose
        C: PASS tanstaaf
        C: STAT
        S: +OK mrose is a real hoopy frood
        S: -ERR [IN-USE] maildrop already locked
        S: -ERR command not valid in this state";
    let mut drop = Maildrop::new(rfc_messages());
    drop.in_use = true;
    let mut server = rfc_server();
    run_server_script(&mut server, &mut drop, script);
    assert_eq!(server.state(), SessionState::Authorization);
}

/// RFC 6856: UTF8 turns on UTF-8 user names; LANG lists languages.
#[test]
fn utf8_and_lang() {
    let script = "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
        C: USER josé
        S: -ERR invalid character in command
        C: UTF8
        S: +OK UTF8 enabled
        C: USER josé
        S: -ERR sorry, no mailbox for josé here
        C: LANG
        S: +OK Language listing follows
        S: en English
        S: .
        C: LANG en
        S: +OK Language changed";
    let mut server = rfc_server();
    run_server_script(&mut server, &mut Maildrop::new(rfc_messages()), script);
    assert!(server.is_utf8());
}

fn greeted_client(options: Options) -> Client {
    let mut client = Client::new(options);
    client.handle_input(b"+OK hello\r\n");
    assert!(matches!(
        client.poll_event(),
        Ok(Some(ClientEvent::Greeting(_)))
    ));
    client
}

fn transmitted(client: &mut Client) -> String {
    let mut out = Vec::new();
    client.poll_transmit(&mut out);
    String::from_utf8(out).expect("ASCII")
}

#[test]
fn client_pipelines_after_capa_announces_it() {
    let mut client = greeted_client(Options::default());
    client.send(Command::Capa).unwrap();
    client
        .send(Command::User("mrose".try_into().unwrap()))
        .unwrap();
    client
        .send(Command::Pass("tanstaaf".try_into().unwrap()))
        .unwrap();
    assert_eq!(transmitted(&mut client), "CAPA\r\n");
    client.handle_input(b"+OK\r\nPIPELINING\r\n.\r\n");
    assert!(matches!(
        client.poll_event(),
        Ok(Some(ClientEvent::Response {
            command: CommandKind::Capa,
            ..
        }))
    ));
    assert!(client.is_pipelining());
    // Both queued commands go out at once now.
    assert_eq!(transmitted(&mut client), "USER mrose\r\nPASS tanstaaf\r\n");
    client.send(Command::Stat).unwrap();
    assert_eq!(transmitted(&mut client), "STAT\r\n");
    assert_eq!(client.pending_commands(), 3);
}

#[test]
fn client_waits_for_barriers() {
    let mut options = Options::default();
    options.assume_pipelining = true;
    let mut client = greeted_client(options);
    client.send(Command::Stls).unwrap();
    client.send(Command::Capa).unwrap();
    assert_eq!(transmitted(&mut client), "STLS\r\n");
    // An attacker appends a fake response to the plaintext +OK: it is discarded.
    client.handle_input(b"+OK Begin TLS\r\n+OK\r\nSASL INJECTED\r\n.\r\n");
    assert!(matches!(
        client.poll_event(),
        Ok(Some(ClientEvent::Response {
            command: CommandKind::Stls,
            ..
        }))
    ));
    assert_eq!(client.poll_event(), Ok(None));
    assert_eq!(transmitted(&mut client), "");
    client.tls_established().unwrap();
    assert!(client.is_tls_active());
    assert_eq!(transmitted(&mut client), "CAPA\r\n");
    client.handle_input(b"+OK\r\nUSER\r\n.\r\n");
    let Ok(Some(ClientEvent::Response {
        response: Response::Capabilities { capabilities, .. },
        ..
    })) = client.poll_event()
    else {
        panic!("CAPA answer expected")
    };
    assert_eq!(capabilities, vec![pop3_proto::Capability::User]);
}

#[test]
fn client_sasl_exchange() {
    let mut client = greeted_client(Options::default());
    client
        .send(Command::Auth {
            mechanism: "PLAIN".try_into().unwrap(),
            initial_response: None,
        })
        .unwrap();
    assert_eq!(transmitted(&mut client), "AUTH PLAIN\r\n");
    assert_eq!(
        client.auth_respond(AuthLine::Cancel),
        Err(ClientError::NotExpected)
    );
    client.handle_input(b"+ \r\n");
    assert!(matches!(
        client.poll_event(),
        Ok(Some(ClientEvent::Response {
            response: Response::Challenge(_),
            ..
        }))
    ));
    client
        .auth_respond(AuthLine::Response(b"\0mrose\0tanstaaf".to_vec().into()))
        .unwrap();
    assert_eq!(transmitted(&mut client), "AG1yb3NlAHRhbnN0YWFm\r\n");
    client.handle_input(b"+OK welcome\r\n");
    assert!(matches!(
        client.poll_event(),
        Ok(Some(ClientEvent::Response {
            command: CommandKind::Auth,
            ..
        }))
    ));
    assert_eq!(client.state(), SessionState::Transaction);
}

#[test]
fn client_refuses_commands_in_wrong_state() {
    let mut client = greeted_client(Options::default());
    assert_eq!(
        client.send(Command::Stat),
        Err(ClientError::WrongState {
            command: CommandKind::Stat,
            state: SessionState::Authorization
        })
    );
    client
        .send(Command::User("mrose".try_into().unwrap()))
        .unwrap();
    client
        .send(Command::Pass("wrong".try_into().unwrap()))
        .unwrap();
    client.send(Command::Stat).unwrap(); // optimistic: runs in TRANSACTION if PASS succeeds
    client.handle_input(b"+OK\r\n-ERR [AUTH] invalid password\r\n");
    client.poll_event().unwrap();
    let Ok(Some(ClientEvent::Response {
        response: Response::Status(status),
        ..
    })) = client.poll_event()
    else {
        panic!("PASS answer expected")
    };
    assert_eq!(status.code(), Some(&RespCode::Auth));
    assert_eq!(client.state(), SessionState::Authorization);
    assert_eq!(
        client.send(Command::Retr(MsgNo::MIN)),
        Err(ClientError::WrongState {
            command: CommandKind::Retr,
            state: SessionState::Authorization
        })
    );
}

#[test]
fn client_protocol_errors_end_the_session() {
    let mut client = greeted_client(Options::default());
    client.handle_input(b"+OK surprise\r\n");
    assert_eq!(client.poll_event(), Err(ClientError::UnexpectedData));
    assert!(client.is_closed());
    assert_eq!(client.send(Command::Capa), Err(ClientError::Closed));

    let mut client = greeted_client(Options::default());
    client.send(Command::Capa).unwrap();
    client.handle_input(b"+OK\r\nLOGIN-DELAY soon\r\n.\r\n");
    assert_eq!(
        client.poll_event(),
        Err(ClientError::Protocol(ResponseError::BadCapability))
    );

    let mut client = Client::new(Options::default());
    client.handle_input(b"-ERR [SYS/TEMP] overloaded\r\n");
    let Ok(Some(ClientEvent::Greeting(greeting))) = client.poll_event() else {
        panic!("greeting")
    };
    assert!(!greeting.is_ok());
    assert!(client.is_closed());
    assert_eq!(
        greeting,
        Status::err("overloaded".try_into().unwrap()).with_code(RespCode::SysTemp)
    );
}

/// A 200 KB response offered in one call: the client takes no more than its buffers allow,
/// the caller offers the rest after taking events, and the body arrives exact.
#[test]
fn client_takes_large_reads_in_bounded_steps() {
    let mut client = greeted_client(Options::default());
    client
        .send(Command::User("mrose".try_into().unwrap()))
        .unwrap();
    client
        .send(Command::Pass("tanstaaf".try_into().unwrap()))
        .unwrap();
    client.send(Command::Retr(MsgNo::MIN)).unwrap();
    let body: Vec<u8> = (0..20_000)
        .flat_map(|i| format!(".{i}\r\n").into_bytes())
        .collect();
    let mut wire = b"+OK\r\n+OK\r\n+OK\r\n".to_vec();
    let mut encoder = BodyEncoder::new();
    encoder.encode(&body, &mut wire);
    encoder.finish(&mut wire);
    let (mut rest, mut received, mut ended) = (&wire[..], Vec::new(), false);
    while !rest.is_empty() {
        let taken = client.handle_input(rest);
        assert!(taken <= 2 * Options::default().max_buffered_input);
        rest = &rest[taken..];
        while let Some(event) = client.poll_event().expect("valid session") {
            match event {
                ClientEvent::BodyData(data) => received.extend_from_slice(&data),
                ClientEvent::BodyEnd => ended = true,
                _ => {}
            }
        }
        transmitted(&mut client);
    }
    assert!(ended);
    assert_eq!(received, body);
    assert_eq!(client.pending_commands(), 0);
}

/// RFC 1939 §3 autologout: the timer restarts on input, never counts time the application
/// spends answering, and on expiry the session closes silently without entering UPDATE.
#[test]
fn idle_timer_closes_silently_without_update() {
    let mut server = rfc_server();
    let mut drop = Maildrop::new(rfc_messages());
    let t0 = Instant::now();
    let minutes = |m: u64| Duration::from_secs(60 * m);
    assert_eq!(server.poll_timeout(), None);
    server.handle_timeout(t0);
    assert_eq!(server.poll_timeout(), Some(t0 + minutes(10)));
    feed(
        &mut server,
        &mut drop,
        b"USER mrose\r\nPASS tanstaaf\r\nDELE 1\r\n",
    );
    server.handle_timeout(t0 + minutes(5));
    assert_eq!(server.poll_timeout(), Some(t0 + minutes(15)));
    let mut out = Vec::new();
    server.poll_transmit(&mut out);
    server.handle_timeout(t0 + minutes(14));
    assert!(!server.is_closed());
    server.handle_timeout(t0 + minutes(15));
    assert!(server.is_closed());
    assert_eq!(server.state(), SessionState::Closed);
    assert_eq!(server.poll_transmit(&mut out), 0);
    assert!(drop.expunged.is_empty());
    assert_eq!(server.poll_timeout(), None);
}
