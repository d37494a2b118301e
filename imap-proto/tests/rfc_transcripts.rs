//! Replays of the sample sessions in RFC 3501 §8 and RFC 9051 §8 through the server session,
//! with the server's lines fed back as typed responses, and through the response decoder.
//!
//! The RFC samples wrap long lines for print; here each message is on one line, and literal
//! lengths are computed from the text.

use imap_proto::{
    codec::ResponseCodec,
    encode::Fragment,
    fragmentizer::{Fragmentizer, FramingEvent},
    options::Options,
    session::{
        State,
        server::{ServerEvent, ServerSession},
    },
    types::{
        command::CommandBody,
        response::{Continuation, Response},
    },
};

enum Line {
    C(Vec<u8>),
    S(Vec<u8>),
}

fn c(s: &str) -> Line {
    Line::C(format!("{s}\r\n").into_bytes())
}

fn s(s: &str) -> Line {
    Line::S(format!("{s}\r\n").into_bytes())
}

const HEADER: &str = "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\nFrom: Terry Gray <gray@cac.washington.edu>\r\nSubject: IMAP4rev1 WG mtg summary and minutes\r\nTo: imap@cac.washington.edu\r\ncc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\nMessage-Id: <B27397-0100000@cac.washington.edu>\r\nMIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n";

const FETCH_FULL: &str = "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))";

fn fetch_header() -> Line {
    Line::S(
        format!(
            "* 12 FETCH (BODY[HEADER] {{{}}}\r\n{HEADER})\r\n",
            HEADER.len()
        )
        .into_bytes(),
    )
}

/// RFC 3501 §8, "Sample IMAP4rev1 connection".
fn rfc3501() -> Vec<Line> {
    vec![
        s("* OK IMAP4rev1 Service Ready"),
        c("a001 login mrc secret"),
        s("a001 OK LOGIN completed"),
        c("a002 select inbox"),
        s("* 18 EXISTS"),
        s("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)"),
        s("* 2 RECENT"),
        s("* OK [UNSEEN 17] Message 17 is the first unseen message"),
        s("* OK [UIDVALIDITY 3857529045] UIDs valid"),
        s("a002 OK [READ-WRITE] SELECT completed"),
        c("a003 fetch 12 full"),
        s(FETCH_FULL),
        s("a003 OK FETCH completed"),
        c("a004 fetch 12 body[header]"),
        fetch_header(),
        s("a004 OK FETCH completed"),
        c("a005 store 12 +flags \\deleted"),
        s("* 12 FETCH (FLAGS (\\Seen \\Deleted))"),
        s("a005 OK +FLAGS completed"),
        c("a006 logout"),
        s("* BYE IMAP4rev1 server terminating connection"),
        s("a006 OK LOGOUT completed"),
    ]
}

/// RFC 9051 §8, "Sample IMAP4rev2 Connection" (STARTTLS, SCRAM with SASL-IR, ENABLE).
fn rfc9051() -> Vec<Line> {
    vec![
        s(
            "* OK [CAPABILITY STARTTLS AUTH=SCRAM-SHA-256 LOGINDISABLED IMAP4rev2] IMAP4rev2 Service Ready",
        ),
        c("a000 starttls"),
        s("a000 OK Proceed with TLS negotiation"),
        c("A001 AUTHENTICATE SCRAM-SHA-256 biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8="),
        s(
            "+ cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=",
        ),
        c(
            "Yz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU8laHZZRHBXVWEyUmFUQ0FmdXhGSWxqKWhObEYkazAscD1kSHpiWmFwV0lrNGpVaE4rVXRlOXl0YWc5empmTUhnc3FtbWl6N0FuZFZRPQ==",
        ),
        s("+ dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ=="),
        c(""),
        s("A001 OK SCRAM-SHA-256 authentication successful"),
        c("babc ENABLE UTF8=ACCEPT"),
        s("* ENABLED UTF8=ACCEPT"),
        s("babc OK ENABLE completed"),
        c("a002 select inbox"),
        s("* 18 EXISTS"),
        s("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)"),
        s("* OK [UIDVALIDITY 3857529045] UIDs valid"),
        s("* LIST () \"/\" INBOX (\"OLDNAME\" (\"inbox\"))"),
        s("a002 OK [READ-WRITE] SELECT completed"),
        c("a003 fetch 12 full"),
        s(FETCH_FULL),
        s("a003 OK FETCH completed"),
        c("a004 fetch 12 body[header]"),
        fetch_header(),
        s("a004 OK FETCH completed"),
        c("a005 store 12 +flags \\deleted"),
        s("* 12 FETCH (FLAGS (\\Seen \\Deleted))"),
        s("a005 OK +FLAGS completed"),
        c("a006 logout"),
        s("* BYE IMAP4rev2 server terminating connection"),
        s("a006 OK LOGOUT completed"),
    ]
}

/// LIST-EXTENDED (RFC 5258 §5): examples 1 to 11 as the RFC prints them, in order, with
/// wrapped lines joined. Not from the RFC: the PREAUTH greeting and the closing LOGOUT
/// (§5 shows neither), and example 9's two optional lines ("the server may also include")
/// and example 8 B (prose only, no transcript) are left out. The RFC's examples switch
/// mailbox trees (7, 8, 9, 10 and 11 each have their own) and reuse tags (C04, D03, a1 to
/// a3); the session does not track mailboxes, and each tag is answered before it returns.
fn rfc5258() -> Vec<Line> {
    vec![
        s("* PREAUTH IMAP4rev1 server logged in as Smith"),
        // 1: the complete local hierarchy.
        c("A01 LIST \"\" \"*\""),
        s("* LIST (\\Marked \\NoInferiors) \"/\" \"inbox\""),
        s("* LIST () \"/\" \"Fruit\""),
        s("* LIST () \"/\" \"Fruit/Apple\""),
        s("* LIST () \"/\" \"Fruit/Banana\""),
        s("* LIST () \"/\" \"Tofu\""),
        s("* LIST () \"/\" \"Vegetable\""),
        s("* LIST () \"/\" \"Vegetable/Broccoli\""),
        s("* LIST () \"/\" \"Vegetable/Corn\""),
        s("A01 OK done"),
        // 2: the subscribed mailboxes; "Fruit/Peach" is subscribed but does not exist.
        c("A02 LIST (SUBSCRIBED) \"\" \"*\""),
        s("* LIST (\\Marked \\NoInferiors \\Subscribed) \"/\" \"inbox\""),
        s("* LIST (\\Subscribed) \"/\" \"Fruit/Banana\""),
        s("* LIST (\\Subscribed \\NonExistent) \"/\" \"Fruit/Peach\""),
        s("* LIST (\\Subscribed) \"/\" \"Vegetable\""),
        s("* LIST (\\Subscribed) \"/\" \"Vegetable/Broccoli\""),
        s("A02 OK done"),
        // 3: the CHILDREN return option.
        c("A03 LIST () \"\" \"%\" RETURN (CHILDREN)"),
        s("* LIST (\\Marked \\NoInferiors) \"/\" \"inbox\""),
        s("* LIST (\\HasChildren) \"/\" \"Fruit\""),
        s("* LIST (\\HasNoChildren) \"/\" \"Tofu\""),
        s("* LIST (\\HasChildren) \"/\" \"Vegetable\""),
        s("A03 OK done"),
        // 4: remote mailboxes too, like RLIST "" "%".
        c("A04 LIST (REMOTE) \"\" \"%\" RETURN (CHILDREN)"),
        s("* LIST (\\Marked \\NoInferiors) \"/\" \"inbox\""),
        s("* LIST (\\HasChildren) \"/\" \"Fruit\""),
        s("* LIST (\\HasNoChildren) \"/\" \"Tofu\""),
        s("* LIST (\\HasChildren) \"/\" \"Vegetable\""),
        s("* LIST (\\Remote) \"/\" \"Bread\""),
        s("* LIST (\\HasChildren \\Remote) \"/\" \"Meat\""),
        s("A04 OK done"),
        // 5: two selection options, like RLSUB "" "*".
        c("A05 LIST (REMOTE SUBSCRIBED) \"\" \"*\""),
        s("* LIST (\\Marked \\NoInferiors \\Subscribed) \"/\" \"inbox\""),
        s("* LIST (\\Subscribed) \"/\" \"Fruit/Banana\""),
        s("* LIST (\\Subscribed \\NonExistent) \"/\" \"Fruit/Peach\""),
        s("* LIST (\\Subscribed) \"/\" \"Vegetable\""),
        s("* LIST (\\Subscribed) \"/\" \"Vegetable/Broccoli\""),
        s("* LIST (\\Remote \\Subscribed) \"/\" \"Bread\""),
        s("A05 OK done"),
        // 6: subscription state as a return option: no line for the non-existent Peach.
        c("A06 LIST (REMOTE) \"\" \"*\" RETURN (SUBSCRIBED)"),
        s("* LIST (\\Marked \\NoInferiors \\Subscribed) \"/\" \"inbox\""),
        s("* LIST () \"/\" \"Fruit\""),
        s("* LIST () \"/\" \"Fruit/Apple\""),
        s("* LIST (\\Subscribed) \"/\" \"Fruit/Banana\""),
        s("* LIST () \"/\" \"Tofu\""),
        s("* LIST (\\Subscribed) \"/\" \"Vegetable\""),
        s("* LIST (\\Subscribed) \"/\" \"Vegetable/Broccoli\""),
        s("* LIST () \"/\" \"Vegetable/Corn\""),
        s("* LIST (\\Remote \\Subscribed) \"/\" \"Bread\""),
        s("* LIST (\\Remote) \"/\" \"Meat\""),
        s("A06 OK done"),
        // 7: multiple mailbox patterns (another hierarchy).
        c("BBB LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\")"),
        s("* LIST () \"/\" \"INBOX\""),
        s("* LIST (\\NoInferiors) \"/\" \"Drafts\""),
        s("* LIST () \"/\" \"Sent/March2004\""),
        s("* LIST (\\Marked) \"/\" \"Sent/December2003\""),
        s("* LIST () \"/\" \"Sent/August2004\""),
        s("BBB OK done"),
        // 8: \HasChildren against CHILDINFO, on the Foo/Moo hierarchy.
        c("C01 LIST \"\" \"*\""),
        s("* LIST (\\Marked \\NoInferiors) \"/\" \"inbox\""),
        s("* LIST () \"/\" \"Foo\""),
        s("* LIST () \"/\" \"Foo/Bar\""),
        s("* LIST () \"/\" \"Foo/Baz\""),
        s("* LIST () \"/\" \"Moo\""),
        s("C01 OK done"),
        c("CA3 LIST \"\" \"%\" RETURN (CHILDREN)"),
        s("* LIST (\\Marked \\NoInferiors) \"/\" \"inbox\""),
        s("* LIST (\\HasChildren) \"/\" \"Foo\""),
        s("* LIST (\\HasNoChildren) \"/\" \"Moo\""),
        s("CA3 OK done"),
        // 8 A: only "Foo/Baz" is subscribed.
        c("C02 LIST (SUBSCRIBED) \"\" \"*\""),
        s("* LIST (\\Subscribed) \"/\" \"Foo/Baz\""),
        s("C02 OK done"),
        c("C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\""),
        s("* LIST () \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))"),
        s("C04 OK done"),
        // 8 A1: "Foo" subscribed too; the RFC gives two allowed answers.
        c("C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\""),
        s("* LIST (\\Subscribed) \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))"),
        s("C04 OK done"),
        c("C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\""),
        s("* LIST (\\Subscribed \\HasChildren) \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))"),
        s("C04 OK done"),
        // 8 A2: "Foo" neither exists nor is subscribed.
        c("C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\""),
        s("* LIST (\\NonExistent) \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))"),
        s("C04 OK done"),
        // 8 C: only "Foo" and "Moo" are subscribed.
        c("C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)"),
        s("* LIST (\\HasChildren \\Subscribed) \"/\" \"Foo\""),
        s("* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Moo\""),
        s("C04 OK done"),
        // 9: CHILDINFO whether or not the children match the pattern.
        c("D01 LIST \"\" \"*\""),
        s("* LIST (\\Marked \\NoInferiors) \"/\" \"inbox\""),
        s("* LIST () \"/\" \"foo2\""),
        s("* LIST () \"/\" \"foo2/bar1\""),
        s("* LIST () \"/\" \"foo2/bar2\""),
        s("* LIST () \"/\" \"baz2\""),
        s("* LIST () \"/\" \"baz2/bar2\""),
        s("* LIST () \"/\" \"baz2/bar22\""),
        s("* LIST () \"/\" \"baz2/bar222\""),
        s("* LIST () \"/\" \"eps2\""),
        s("* LIST () \"/\" \"eps2/mamba\""),
        s("* LIST () \"/\" \"qux2/bar2\""),
        s("D01 OK done"),
        c("D02 LIST (SUBSCRIBED) \"\" \"*\""),
        s("* LIST (\\Subscribed) \"/\" \"foo2/bar1\""),
        s("* LIST (\\Subscribed) \"/\" \"foo2/bar2\""),
        s("* LIST (\\Subscribed) \"/\" \"baz2/bar2\""),
        s("* LIST (\\Subscribed) \"/\" \"baz2/bar22\""),
        s("* LIST (\\Subscribed) \"/\" \"baz2/bar222\""),
        s("* LIST (\\Subscribed) \"/\" \"eps2\""),
        s("* LIST (\\Subscribed) \"/\" \"eps2/mamba\""),
        s("* LIST (\\Subscribed) \"/\" \"qux2/bar2\""),
        s("D02 OK done"),
        c("D03 LIST (RECURSIVEMATCH SUBSCRIBED) \"\" \"*2\""),
        s("* LIST () \"/\" \"foo2\" (\"CHILDINFO\" (\"SUBSCRIBED\"))"),
        s("* LIST (\\Subscribed) \"/\" \"foo2/bar2\""),
        s("* LIST (\\Subscribed) \"/\" \"baz2/bar2\""),
        s("* LIST (\\Subscribed) \"/\" \"baz2/bar22\""),
        s("* LIST (\\Subscribed) \"/\" \"baz2/bar222\""),
        s("* LIST (\\Subscribed) \"/\" \"eps2\" (\"CHILDINFO\" (\"SUBSCRIBED\"))"),
        s("* LIST (\\Subscribed) \"/\" \"qux2/bar2\""),
        s("D03 OK done"),
        c("D03 LIST (RECURSIVEMATCH SUBSCRIBED) \"\" \"*\""),
        s("* LIST () \"/\" \"foo2\" (\"CHILDINFO\" (\"SUBSCRIBED\"))"),
        s("* LIST (\\Subscribed) \"/\" \"foo2/bar1\""),
        s("* LIST (\\Subscribed) \"/\" \"foo2/bar2\""),
        s("* LIST () \"/\" \"baz2\" (\"CHILDINFO\" (\"SUBSCRIBED\"))"),
        s("* LIST (\\Subscribed) \"/\" \"baz2/bar2\""),
        s("* LIST (\\Subscribed) \"/\" \"baz2/bar22\""),
        s("* LIST (\\Subscribed) \"/\" \"baz2/bar222\""),
        s("* LIST (\\Subscribed) \"/\" \"eps2\" (\"CHILDINFO\" (\"SUBSCRIBED\"))"),
        s("* LIST (\\Subscribed) \"/\" \"eps2/mamba\""),
        s("* LIST (\\Subscribed) \"/\" \"qux2/bar2\""),
        s("D03 OK done"),
        // 10: multiple patterns; CHILDINFO does not imply \HasChildren.
        c("a1 LIST \"\" (\"foo\" \"foo/*\")"),
        s("* LIST () \"/\" foo"),
        s("a1 OK done"),
        c("a2 LIST (SUBSCRIBED) \"\" \"foo/*\""),
        s("* LIST (\\Subscribed \\NonExistent) \"/\" foo/bar"),
        s("a2 OK done"),
        c("a3 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" foo RETURN (CHILDREN)"),
        s("* LIST (\\HasNoChildren) \"/\" foo (\"CHILDINFO\" (\"SUBSCRIBED\"))"),
        s("a3 OK done"),
        // 11: \NonExistent \HasChildren for a missing parent, without RECURSIVEMATCH.
        c("a1 LIST (REMOTE) \"\" *"),
        s("* LIST () \"/\" music/rock"),
        s("* LIST (\\Remote) \"/\" also/jazz"),
        s("a1 OK done"),
        c("a2 LIST () \"\" %"),
        s("* LIST (\\NonExistent \\HasChildren) \"/\" music"),
        s("a2 OK done"),
        c("a3 LIST (REMOTE) \"\" %"),
        s("* LIST (\\NonExistent \\HasChildren) \"/\" music"),
        s("* LIST (\\NonExistent \\HasChildren) \"/\" also"),
        s("a3 OK done"),
        c("a3.1 LIST \"\" (% music/rock)"),
        s("* LIST () \"/\" music/rock"),
        s("a3.1 OK done"),
        c("Z LOGOUT"),
        s("* BYE done"),
        s("Z OK done"),
    ]
}

/// Not from RFC 5258: return options of later extensions (SPECIAL-USE, RFC 6154; STATUS,
/// RFC 5819) together with several patterns, and an extended item of another extension
/// (OLDNAME, RFC 9051) on a LIST line, through the same session.
fn list_return_options_combined() -> Vec<Line> {
    vec![
        s("* PREAUTH IMAP4rev1 server logged in as Smith"),
        c(
            "E01 LIST \"\" (\"Fruit/%\" \"Vegetable/*\") RETURN (SUBSCRIBED SPECIAL-USE STATUS (MESSAGES))",
        ),
        s("* LIST (\\HasNoChildren) \"/\" \"Fruit/Apple\""),
        s("* STATUS \"Fruit/Apple\" (MESSAGES 3)"),
        s("* LIST (\\Subscribed) \"/\" \"Vegetable/Broccoli\" (\"OLDNAME\" (\"Broccoli\"))"),
        s("E01 OK done"),
        c("Z LOGOUT"),
        s("* BYE done"),
        s("Z OK done"),
    ]
}

/// The number of options and patterns of each LIST command, in order.
fn list_shapes(commands: &[CommandBody]) -> Vec<(usize, usize, Option<usize>)> {
    commands
        .iter()
        .filter_map(|command| match command {
            CommandBody::List {
                selection,
                patterns,
                return_options,
                ..
            } => Some((
                selection.len(),
                patterns.len(),
                return_options.as_ref().map(Vec::len),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn rfc5258_list_extended() {
    let commands = replay_server(&rfc5258());
    let shapes = list_shapes(&commands);
    assert_eq!(shapes.len(), commands.len() - 1, "all but LOGOUT are LIST");
    // A01, A02, A03, A04, A05, A06, BBB (three patterns).
    assert_eq!(
        shapes[..7],
        [
            (0, 1, None),
            (1, 1, None),
            (0, 1, Some(1)),
            (1, 1, Some(1)),
            (2, 1, None),
            (1, 1, Some(1)),
            (0, 3, None),
        ]
    );
    // Example 10's a1 and example 11's a3.1 name two patterns each.
    assert_eq!(shapes[shapes.len() - 7], (0, 2, None));
    assert_eq!(shapes[shapes.len() - 1], (0, 2, None));
    replay_client(&rfc5258(), false);
}

#[test]
fn list_return_options_combined_session() {
    let commands = replay_server(&list_return_options_combined());
    assert_eq!(list_shapes(&commands), [(0, 2, Some(3))]);
    assert_eq!(commands.len(), 2);
    replay_client(&list_return_options_combined(), false);
}

fn decode_response(bytes: &[u8]) -> Response {
    let (rest, response) = ResponseCodec::default()
        .decode(bytes)
        .unwrap_or_else(|e| panic!("{}: {e:?}", String::from_utf8_lossy(bytes)));
    assert!(rest.is_empty());
    response
}

/// Plays the client's lines into a server session and answers with the sample's server
/// lines; the bytes the session sends must be the sample's, and the states must follow.
fn replay_server(lines: &[Line]) -> Vec<CommandBody> {
    let (greeting_bytes, lines) = match lines.split_first() {
        Some((Line::S(g), rest)) => (g, rest),
        _ => panic!("a transcript starts with the greeting"),
    };
    let (_, greeting) = ResponseCodec::default()
        .decode_greeting(greeting_bytes)
        .unwrap();
    let mut session = ServerSession::new(Options::default(), greeting);
    let mut expected = greeting_bytes.clone();
    let mut commands = Vec::new();
    for line in lines {
        match line {
            Line::C(bytes) => {
                session.handle_input(bytes);
                while let Some(event) = session.poll_event() {
                    match event {
                        ServerEvent::Command(command) => commands.push(command.body),
                        ServerEvent::AuthenticateData { data, .. } => assert!(data.is_some()),
                        ServerEvent::StartTls { discarded } => assert_eq!(discarded, 0),
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
            Line::S(bytes) => {
                // What the session sends is the canonical form of the sample's line (the
                // only difference: INBOX is always spelled "INBOX", RFC 3501 §5.1).
                let response = decode_response(bytes);
                expected.extend(response.encode().dump());
                match response {
                    Response::Tagged(tagged) => session.send_tagged(tagged).unwrap(),
                    Response::Data(data) => session.send_data(data),
                    Response::Continuation(Continuation::Base64(challenge)) => {
                        session.authenticate_challenge(challenge).unwrap();
                    }
                    Response::Continuation(other) => panic!("unexpected {other:?}"),
                }
                // STARTTLS's OK is followed by a StartTls event; drain it here.
                while let Some(event) = session.poll_event() {
                    assert!(
                        matches!(event, ServerEvent::StartTls { discarded: 0 }),
                        "{event:?}"
                    );
                }
            }
        }
    }
    let mut sent = Vec::new();
    session.poll_transmit(&mut sent);
    assert_eq!(
        String::from_utf8_lossy(&sent),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(session.state(), State::Logout);
    commands
}

/// Frames and decodes everything the server sent; every response re-encodes to a form that
/// decodes to the same value, and with `byte_exact` to the very same bytes.
fn replay_client(lines: &[Line], byte_exact: bool) {
    let mut framer = Fragmentizer::new(Options::default());
    for line in lines {
        if let Line::S(bytes) = line {
            framer.handle_input(bytes);
        }
    }
    let codec = ResponseCodec::default();
    let mut first = true;
    while let Some(event) = framer.poll_event() {
        let FramingEvent::Message(message) = event else {
            continue;
        };
        let encoded = if first {
            first = false;
            codec.decode_greeting(&message).unwrap().1.encode()
        } else {
            decode_response(&message).encode()
        };
        let fragments: Vec<Fragment> = encoded.collect();
        let bytes: Vec<u8> = fragments.iter().flat_map(|f| f.data().to_vec()).collect();
        if byte_exact {
            assert_eq!(
                String::from_utf8_lossy(&bytes),
                String::from_utf8_lossy(&message)
            );
        } else if message.starts_with(b"* ") || message.starts_with(b"+") {
            assert_eq!(codec.decode(&bytes), codec.decode(&message));
        }
    }
}

#[test]
fn rfc3501_sample_session() {
    let commands = replay_server(&rfc3501());
    assert_eq!(commands.len(), 6);
    assert!(matches!(commands[4], CommandBody::Store { .. }));
    replay_client(&rfc3501(), true);
}

#[test]
fn rfc9051_sample_session() {
    let commands = replay_server(&rfc9051());
    assert_eq!(
        commands.iter().map(CommandBody::name).collect::<Vec<_>>(),
        [
            "STARTTLS",
            "AUTHENTICATE",
            "ENABLE",
            "SELECT",
            "FETCH",
            "FETCH",
            "STORE",
            "LOGOUT"
        ]
    );
    replay_client(&rfc9051(), false);
}
