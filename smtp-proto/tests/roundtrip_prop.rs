//! Property tests: encode → decode gives the same value with an empty remainder, for every
//! command, every reply shape, EHLO keyword lists and SASL lines.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::{collection::vec, option, prelude::*};
use smtp_proto::{
    Command, Domain, EhloKeyword, EhloResponse, EnhancedStatus, ForwardPath, Mailbox, Reply,
    ReplyCode, ReversePath, Secret,
    command::{
        Argument, AuthLine, AuthParam, Body, EsmtpParam, MailParams, Mechanism, Notify, Orcpt,
        RcptParams, Ret, XText, decode_auth_line,
    },
    decode_command, decode_reply,
};

fn leak(s: String) -> &'static str {
    // Test-only: values borrow `'static` text; a few KB per run.
    Box::leak(s.into_boxed_str())
}

fn domain_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z0-9]{1,8}){0,3}",
        1 => "(ü|é)[a-z]{0,5}\\.(δοκιμή|test)",
        1 => any::<[u8; 4]>().prop_map(|o| format!("[{}]", Ipv4Addr::from(o))),
        1 => any::<[u16; 8]>().prop_map(|s| format!("[IPv6:{}]", Ipv6Addr::from(s))),
        1 => "\\[x-tag:[!-Z^-~]{1,8}\\]",
    ]
}

fn domain() -> impl Strategy<Value = Domain<'static>> {
    domain_text().prop_map(|d| Domain::try_from(leak(d)).expect("generated domain is valid"))
}

fn mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    let local = prop_oneof![
        3 => "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,8}(\\.[a-zA-Z0-9_-]{1,8}){0,2}",
        1 => "\"([ !#-\\[\\]-~]|\\\\[ -~]){0,8}\"",
        1 => "(ü|δ)[a-z]{0,4}",
    ];
    (local, domain_text())
        .prop_map(|(l, d)| Mailbox::try_from(leak(format!("{l}@{d}"))).expect("valid mailbox"))
}

fn xtext() -> impl Strategy<Value = XText<'static>> {
    "([!-*,-<>-~]|\\+[0-9A-F]{2}){0,12}"
        .prop_map(|x| XText::from_wire(leak(x)).expect("valid xtext"))
}

fn others() -> impl Strategy<Value = Vec<EsmtpParam<'static>>> {
    vec(("X-[A-Z0-9]{1,6}", option::of("[!-<>-~]{1,8}")), 0..2).prop_map(|params| {
        params
            .into_iter()
            .map(|(k, v)| EsmtpParam::new(leak(k), v.map(leak)).expect("valid param"))
            .collect()
    })
}

fn mail_params() -> impl Strategy<Value = MailParams<'static>> {
    (
        option::of(any::<u64>()),
        option::of(prop_oneof![
            Just(Body::SevenBit),
            Just(Body::EightBitMime),
            Just(Body::BinaryMime)
        ]),
        any::<bool>(),
        option::of(prop_oneof![Just(Ret::Full), Just(Ret::Headers)]),
        option::of(xtext()),
        option::of(prop_oneof![
            Just(AuthParam::Unknown),
            xtext().prop_map(AuthParam::Identity)
        ]),
        any::<bool>(),
        others(),
    )
        .prop_map(
            |(size, body, smtputf8, ret, envid, auth, requiretls, other)| {
                let mut p = MailParams::default();
                p.size = size;
                p.body = body;
                p.smtputf8 = smtputf8;
                p.ret = ret;
                p.envid = envid;
                p.auth = auth;
                p.requiretls = requiretls;
                p.other = other;
                p
            },
        )
}

fn rcpt_params() -> impl Strategy<Value = RcptParams<'static>> {
    let notify =
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(success, failure, delay)| {
            Notify {
                success,
                failure,
                delay,
            }
        });
    let orcpt = ("rfc822|utf-8", xtext()).prop_map(|(t, x)| Orcpt::new(leak(t), x).expect("valid"));
    (option::of(notify), option::of(orcpt), others()).prop_map(|(notify, orcpt, other)| {
        let mut p = RcptParams::default();
        p.notify = notify;
        p.orcpt = orcpt;
        p.other = other;
        p
    })
}

fn argument() -> impl Strategy<Value = Argument<'static>> {
    "[!-~]([ -~]{0,12}[!-~])?".prop_map(|a| Argument::try_from(leak(a)).expect("valid argument"))
}

fn command() -> impl Strategy<Value = Command<'static>> {
    prop_oneof![
        domain().prop_map(Command::Ehlo),
        domain().prop_map(Command::Helo),
        domain().prop_map(Command::Lhlo),
        (option::of(mailbox()), mail_params()).prop_map(|(m, params)| Command::Mail {
            from: m.map_or(ReversePath::Null, ReversePath::Mailbox),
            params,
        }),
        (option::of(mailbox()), rcpt_params()).prop_map(|(m, params)| Command::Rcpt {
            to: m.map_or(ForwardPath::Postmaster, ForwardPath::Mailbox),
            params,
        }),
        Just(Command::Data),
        (any::<u64>(), any::<bool>()).prop_map(|(size, last)| Command::Bdat { size, last }),
        Just(Command::Rset),
        option::of(argument()).prop_map(Command::Noop),
        Just(Command::Quit),
        argument().prop_map(Command::Vrfy),
        argument().prop_map(Command::Expn),
        option::of(argument()).prop_map(Command::Help),
        Just(Command::StartTls),
        ("[A-Z0-9_-]{1,20}", option::of(vec(any::<u8>(), 0..30))).prop_map(|(m, initial)| {
            Command::Auth {
                mechanism: Mechanism::try_from(leak(m)).expect("valid mechanism"),
                initial_response: initial.map(Secret::new),
            }
        }),
    ]
}

fn reply() -> impl Strategy<Value = Reply<'static>> {
    let code = (2u16..=5, 0u16..=5, 0u16..=9)
        .prop_map(|(a, b, c)| ReplyCode::new(a * 100 + b * 10 + c).expect("valid"));
    let status = (0u16..=999, 0u16..=999);
    (code, option::of(status), vec("[ -~]{0,30}", 1..5)).prop_filter_map(
        "status class must match the code",
        |(code, status, lines)| {
            let status = match status {
                Some((s, d)) if code.class() != 3 => Some(EnhancedStatus::new(code.class(), s, d)?),
                _ => None,
            };
            Reply::new(code, status, lines).ok()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_command_round_trips(command in command()) {
        let mut wire = Vec::new();
        command.encode(&mut wire);
        // Long generated lines need a larger limit than RFC 5321's 512.
        let (rest, decoded) = decode_command(&wire, 4096).expect("encoded command decodes");
        prop_assert!(rest.is_empty());
        prop_assert_eq!(decoded, command);
    }

    #[test]
    fn every_reply_round_trips(reply in reply()) {
        let mut wire = Vec::new();
        reply.encode(&mut wire);
        let (rest, decoded) = decode_reply(&wire, 1000, 100).expect("encoded reply decodes");
        prop_assert!(rest.is_empty());
        prop_assert_eq!(decoded, reply);
    }

    #[test]
    fn ehlo_keyword_lists_round_trip(
        host in "[a-z]{1,10}\\.test",
        greeting in option::of("[!-~]{1,10}"),
        lines in vec(("[A-Z0-9][A-Z0-9-]{0,10}", vec("[!-~]{1,8}", 0..3)), 0..6),
    ) {
        let keywords = lines.into_iter().map(|(k, p)| EhloKeyword::new(k, p).expect("valid")).collect();
        let ehlo = EhloResponse::new(host, greeting.map(Into::into), keywords).expect("valid");
        let mut wire = Vec::new();
        ehlo.to_reply().encode(&mut wire);
        let (rest, reply) = decode_reply(&wire, 1000, 100).expect("decodes");
        prop_assert!(rest.is_empty());
        prop_assert_eq!(EhloResponse::from_reply(&reply).expect("EHLO"), ehlo);
    }

    #[test]
    fn sasl_lines_round_trip(data in option::of(vec(any::<u8>(), 0..60))) {
        let line = data.map_or(AuthLine::Cancel, |d| AuthLine::Response(Secret::new(d)));
        let mut wire = Vec::new();
        line.encode(&mut wire);
        let (rest, decoded) = decode_auth_line(&wire, 1000).expect("decodes");
        prop_assert!(rest.is_empty());
        prop_assert_eq!(decoded, line);
    }
}
