//! Property round trips: for every command and response, `decode(encode(x)) == x` with
//! nothing left over, and every strict prefix of the encoding is "incomplete". Bodies
//! round-trip through the codec and through the state machines, split at random points.

use pop3_proto::{
    ApopDigest, AuthLine, Capability, Client, ClientEvent, Command, CommandDecodeError,
    CommandDecoder, ExpirePolicy, LangRequest, Language, LanguageTag, Mechanism, MsgNo, Options,
    OtherCapability, Param, Password, RespCode, Response, ResponseDecodeError, ResponseDecoder,
    ResponseKind, ScanListing, Server, ServerEvent, Stat, Status, Text, UidListing, UniqueId,
    UserName,
};
use proptest::{collection::vec, option, prelude::*};

fn msg() -> impl Strategy<Value = MsgNo> {
    (1u32..=10_000_000).prop_map(|n| MsgNo::new(n).expect("range starts at 1"))
}

fn param() -> impl Strategy<Value = Param> {
    "[!-~é中]{1,20}".prop_map(|s| Param::try_from(s.as_str()).expect("strategy matches Param"))
}

fn user() -> impl Strategy<Value = UserName> {
    param().prop_map(UserName::from)
}

fn password() -> impl Strategy<Value = Password> {
    vec(
        any::<u8>().prop_filter("no NUL, CR, LF", |b| !matches!(b, 0 | b'\r' | b'\n')),
        1..60,
    )
    .prop_map(|p| Password::try_from(&p[..]).expect("strategy matches Password"))
}

fn sasl() -> impl Strategy<Value = pop3_proto::SaslData> {
    vec(any::<u8>(), 0..120).prop_map(Into::into)
}

fn mechanism() -> impl Strategy<Value = Mechanism> {
    "[A-Z0-9_-]{1,20}".prop_map(|s| Mechanism::try_from(s.as_str()).expect("strategy matches"))
}

fn language_tag() -> impl Strategy<Value = LanguageTag> {
    "[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8}){0,3}"
        .prop_map(|s| LanguageTag::try_from(s.as_str()).expect("strategy matches"))
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        user().prop_map(Command::User),
        password().prop_map(Command::Pass),
        (user(), "[0-9a-f]{32}").prop_map(|(name, d)| Command::Apop {
            name,
            digest: ApopDigest::try_from(d.as_str()).expect("32 hex digits")
        }),
        Just(Command::Quit),
        Just(Command::Stat),
        option::of(msg()).prop_map(Command::List),
        msg().prop_map(Command::Retr),
        msg().prop_map(Command::Dele),
        Just(Command::Noop),
        Just(Command::Rset),
        (msg(), any::<u32>()).prop_map(|(msg, lines)| Command::Top { msg, lines }),
        option::of(msg()).prop_map(Command::Uidl),
        Just(Command::Capa),
        Just(Command::Stls),
        (mechanism(), option::of(sasl())).prop_map(|(mechanism, initial_response)| Command::Auth {
            mechanism,
            initial_response
        }),
        Just(Command::Utf8),
        option::of(prop_oneof![
            Just(LangRequest::Wildcard),
            language_tag().prop_map(LangRequest::Tag)
        ])
        .prop_map(Command::Lang),
    ]
}

fn text() -> impl Strategy<Value = Text> {
    "([^\\[\r\n\0][^\r\n\0]{0,40})?".prop_map(|s| Text::try_from(s).expect("strategy matches Text"))
}

fn resp_code() -> impl Strategy<Value = RespCode> {
    prop_oneof![
        Just(RespCode::InUse),
        Just(RespCode::LoginDelay),
        Just(RespCode::SysTemp),
        Just(RespCode::SysPerm),
        Just(RespCode::Auth),
        Just(RespCode::Utf8),
        "X-[A-Z0-9-]{1,8}(/[!-.0-\\\\^-~]{1,8}){0,2}"
            .prop_map(|s| RespCode::from_text(&s).expect("strategy matches")),
    ]
}

fn status() -> impl Strategy<Value = Status> {
    (any::<bool>(), option::of(resp_code()), text()).prop_map(|(ok, code, text)| {
        let status = if ok {
            Status::ok(text)
        } else {
            Status::err(text)
        };
        match code {
            Some(code) => status.with_code(code),
            None => status,
        }
    })
}

fn capability() -> impl Strategy<Value = Capability> {
    let per_user = any::<bool>();
    prop_oneof![
        Just(Capability::Top),
        Just(Capability::User),
        vec(mechanism(), 0..4).prop_map(Capability::Sasl),
        Just(Capability::RespCodes),
        (any::<u32>(), per_user)
            .prop_map(|(seconds, per_user)| Capability::LoginDelay { seconds, per_user }),
        Just(Capability::Pipelining),
        (option::of(any::<u32>()), per_user).prop_map(|(days, per_user)| {
            Capability::Expire {
                policy: days.map_or(ExpirePolicy::Never, ExpirePolicy::Days),
                per_user,
            }
        }),
        Just(Capability::Uidl),
        vec(param(), 0..4).prop_map(Capability::Implementation),
        Just(Capability::Stls),
        Just(Capability::AuthRespCode),
        per_user.prop_map(|user| Capability::Utf8 { user }),
        Just(Capability::Lang),
        ("X-[A-Za-z0-9]{1,10}", vec(param(), 0..3)).prop_map(|(tag, params)| Capability::Other(
            OtherCapability::new(Param::try_from(tag.as_str()).expect("valid tag"), params)
                .expect("not a known tag")
        )),
    ]
}

fn uid_listing() -> impl Strategy<Value = UidListing> {
    (msg(), "[!-~]{1,70}").prop_map(|(msg, uid)| UidListing {
        msg,
        uid: UniqueId::try_from(uid.as_str()).expect("strategy matches"),
    })
}

fn scan_listing() -> impl Strategy<Value = ScanListing> {
    (msg(), any::<u64>()).prop_map(|(msg, size)| ScanListing { msg, size })
}

/// A response and the kind a client would decode it as.
fn response() -> impl Strategy<Value = (ResponseKind, Response)> {
    prop_oneof![
        status().prop_map(|s| (ResponseKind::Status, Response::Status(s))),
        status().prop_map(|s| (ResponseKind::Greeting, Response::Status(s))),
        (any::<u32>(), any::<u64>())
            .prop_map(|(count, size)| (ResponseKind::Stat, Response::Stat(Stat { count, size }))),
        scan_listing().prop_map(|s| (ResponseKind::Scan, Response::Scan(s))),
        (text(), vec(scan_listing(), 0..20)).prop_map(|(text, entries)| (
            ResponseKind::ScanList,
            Response::ScanList { text, entries }
        )),
        uid_listing().prop_map(|u| (ResponseKind::Uid, Response::Uid(u))),
        (text(), vec(uid_listing(), 0..20)).prop_map(|(text, entries)| (
            ResponseKind::UidList,
            Response::UidList { text, entries }
        )),
        (text(), vec(capability(), 0..16)).prop_map(|(text, capabilities)| (
            ResponseKind::Capabilities,
            Response::Capabilities { text, capabilities }
        )),
        (text(), vec((language_tag(), text()), 0..8)).prop_map(|(text, langs)| (
            ResponseKind::Languages,
            Response::Languages {
                text,
                languages: langs
                    .into_iter()
                    .map(|(t, d)| Language::new(t, d))
                    .collect()
            }
        )),
        sasl().prop_map(|d| (ResponseKind::Auth, Response::Challenge(d))),
    ]
}

/// A message body rich in the octets that matter: ".", CR, LF.
fn body() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![3 => Just(b'.'), 3 => Just(b'\r'), 3 => Just(b'\n'), 4 => any::<u8>()],
        0..400,
    )
}

fn with_final_crlf(body: &[u8]) -> Vec<u8> {
    let mut expected = body.to_vec();
    if !expected.is_empty() && !expected.ends_with(b"\n") {
        expected.extend_from_slice(b"\r\n");
    }
    expected
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn command_round_trip(command in command()) {
        let mut decoder = CommandDecoder::new(&Options::default());
        decoder.set_utf8(true);
        let mut wire = Vec::new();
        command.encode(&mut wire);
        prop_assert_eq!(decoder.decode(&wire), Ok((command, wire.len())));
        for end in 0..wire.len() {
            prop_assert_eq!(decoder.decode(&wire[..end]), Err(CommandDecodeError::Incomplete));
        }
    }

    #[test]
    fn auth_line_round_trip(line in prop_oneof![Just(AuthLine::Cancel), sasl().prop_map(AuthLine::Response)]) {
        let decoder = CommandDecoder::new(&Options::default());
        let mut wire = Vec::new();
        line.encode(&mut wire);
        prop_assert_eq!(decoder.decode_auth_line(&wire), Ok((line, wire.len())));
    }

    #[test]
    fn response_round_trip((kind, response) in response()) {
        let decoder = ResponseDecoder::new(&Options::default());
        let mut wire = Vec::new();
        response.encode(&mut wire);
        prop_assert_eq!(decoder.decode(kind, &wire), Ok((response, wire.len())));
        for end in 0..wire.len() {
            prop_assert_eq!(decoder.decode(kind, &wire[..end]), Err(ResponseDecodeError::Incomplete));
        }
    }

    /// A body sent by the Server in random chunks and read by the Client in random reads
    /// arrives byte-exact.
    #[test]
    fn body_through_both_state_machines(body in body(), send in 1usize..50, read in 1usize..50) {
        let greeting = Status::new_lossy(pop3_proto::StatusKind::Ok, "hi");
        let mut server = Server::new(Options::default(), &greeting);
        let mut sent = Vec::new();
        server.handle_input(b"USER a\r\nPASS b\r\nRETR 1\r\n");
        while let Some(event) = server.poll_event() {
            match event {
                ServerEvent::Command(Command::Retr(_)) => {
                    server.start_body(Status::new_lossy(pop3_proto::StatusKind::Ok, "")).unwrap();
                    for chunk in body.chunks(send) {
                        server.send_body(chunk, &mut sent).unwrap();
                    }
                    server.finish_body().unwrap();
                }
                _ => server.respond(Response::Status(Status::new_lossy(pop3_proto::StatusKind::Ok, ""))).unwrap(),
            }
        }
        let mut wire = sent;
        server.poll_transmit(&mut wire);

        let mut options = Options::default();
        options.assume_pipelining = true;
        let mut client = Client::new(options);
        client.send(Command::User("a".try_into().unwrap())).unwrap();
        client.send(Command::Pass("b".try_into().unwrap())).unwrap();
        client.send(Command::Retr(MsgNo::MIN)).unwrap();
        let mut received = Vec::new();
        let mut ended = false;
        for piece in wire.chunks(read) {
            prop_assert_eq!(client.handle_input(piece), piece.len());
            while let Some(event) = client.poll_event().unwrap() {
                match event {
                    ClientEvent::BodyData(data) => received.extend_from_slice(&data),
                    ClientEvent::BodyEnd => ended = true,
                    _ => {}
                }
            }
        }
        prop_assert!(ended);
        prop_assert_eq!(received, with_final_crlf(&body));
    }
}
