//! A pipelining Client and a Server talk through random-sized reads and writes: every
//! command gets exactly one response, in order, of the right kind, and every retrieved
//! message arrives byte-exact.

mod support;

use pop3_proto::{Client, ClientEvent, Command, CommandKind, MsgNo, Options, top_of_message};
use proptest::{collection::vec, prelude::*};
use support::{Maildrop, drain, feed, rfc_messages, rfc_server};

fn msg() -> impl Strategy<Value = MsgNo> {
    // One past the maildrop too, to get "-ERR no such message".
    (1u32..=3).prop_map(|n| MsgNo::new(n).expect("from 1"))
}

fn transaction_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(Command::Stat),
        Just(Command::List(None)),
        msg().prop_map(|m| Command::List(Some(m))),
        Just(Command::Uidl(None)),
        msg().prop_map(|m| Command::Uidl(Some(m))),
        msg().prop_map(Command::Retr),
        (msg(), 0u32..4).prop_map(|(msg, lines)| Command::Top { msg, lines }),
        msg().prop_map(Command::Dele),
        Just(Command::Noop),
        Just(Command::Rset),
        Just(Command::Capa),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pipelined_session(commands in vec(transaction_command(), 1..25), read in 1usize..200, write in 1usize..200) {
        let mut server = rfc_server();
        let mut drop = Maildrop::new(rfc_messages());
        let mut options = Options::default();
        options.assume_pipelining = true;
        let mut client = Client::new(options);

        let mut sent = vec![CommandKind::User, CommandKind::Pass];
        client.send(Command::User("mrose".try_into().unwrap())).unwrap();
        client.send(Command::Pass("tanstaaf".try_into().unwrap())).unwrap();
        for command in &commands {
            sent.push(command.kind());
            client.send(command.clone()).unwrap();
        }
        sent.push(CommandKind::Quit);
        client.send(Command::Quit).unwrap();

        let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
        let mut answered = Vec::new();
        // (index of the command answered, body octets)
        let mut bodies: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut open_body: Option<(usize, Vec<u8>)> = None;
        for _ in 0..10_000 {
            if client.is_closed() {
                break;
            }
            drain(&mut server, &mut drop, &mut to_client);
            let n = to_client.len().min(read);
            let taken = client.handle_input(&to_client[..n]);
            to_client.drain(..taken);
            while let Some(event) = client.poll_event().expect("a valid server") {
                match event {
                    ClientEvent::Greeting(_) => {}
                    ClientEvent::Response { command, response } => {
                        prop_assert!(command.response_kind().accepts(&response), "{command:?} {response:?}");
                        answered.push(command);
                    }
                    ClientEvent::BodyStart { command, .. } => {
                        open_body = Some((answered.len(), Vec::new()));
                        answered.push(command);
                    }
                    ClientEvent::BodyData(data) => open_body.as_mut().expect("inside a body").1.extend_from_slice(&data),
                    ClientEvent::BodyEnd => bodies.push(open_body.take().expect("inside a body")),
                    _ => {}
                }
            }
            client.poll_transmit(&mut to_server);
            let n = to_server.len().min(write);
            feed(&mut server, &mut drop, &to_server[..n]);
            to_server.drain(..n);
        }
        prop_assert!(client.is_closed());
        prop_assert_eq!(&answered, &sent);
        // Every body is exactly what RETR or TOP asked for.
        let messages = rfc_messages();
        for (index, body) in &bodies {
            let expected = match &commands[index - 2] {
                Command::Retr(m) => &messages[m.get() as usize - 1][..],
                Command::Top { msg, lines } => top_of_message(&messages[msg.get() as usize - 1], *lines),
                other => panic!("a body answered {other:?}"),
            };
            prop_assert_eq!(&body[..], expected);
        }
    }
}
