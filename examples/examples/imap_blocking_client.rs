//! A small IMAP client over a blocking `std::net::TcpStream`: it logs in, lists mailboxes,
//! selects INBOX and fetches a few headers. It shows that `imap-proto` needs no async
//! runtime: the session is plain data, and this file owns all IO.
//!
//! Usage: `cargo run -p examples --example imap_blocking_client [HOST:PORT USER PASSWORD]`.
//! Without arguments it starts a tiny demo server (also built on `imap-proto`, on loopback)
//! and talks to that.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    thread,
};

use imap_proto::{
    options::Options,
    session::{
        client::{ClientEvent, ClientSession},
        server::{ServerEvent, ServerSession},
    },
    types::{
        command::{CommandBody, ListPattern},
        core::{AString, Tag},
        fetch::{FetchAttribute, FetchItems, Section, SectionText},
        mailbox::Mailbox,
        non_empty::NonEmpty,
        response::{
            Data, FetchData, Greeting, GreetingKind, ListItem, ResponseText, StatusKind, Tagged,
            Text,
        },
        secret::Secret,
        sequence::SequenceSet,
    },
};

type Error = Box<dyn std::error::Error>;

/// Sends what the session has queued, then reads until `until` says the answer is complete.
fn exchange(
    session: &mut ClientSession,
    stream: &mut TcpStream,
    mut until: impl FnMut(&ClientEvent) -> bool,
) -> Result<Vec<ClientEvent>, Error> {
    let mut events = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let mut out = Vec::new();
        session.poll_transmit(&mut out);
        stream.write_all(&out)?;
        while let Some(event) = session.poll_event() {
            let done = until(&event);
            events.push(event);
            if done {
                return Ok(events);
            }
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err("server closed the connection".into());
        }
        session.handle_input(&buf[..n]);
    }
}

/// Runs one command and returns everything up to its tagged completion.
fn run(
    session: &mut ClientSession,
    stream: &mut TcpStream,
    body: CommandBody,
) -> Result<Vec<ClientEvent>, Error> {
    let tag = session.enqueue_command(body);
    let events = exchange(
        session,
        stream,
        |e| matches!(e, ClientEvent::Tagged(t) if t.tag == tag),
    )?;
    match events.last() {
        Some(ClientEvent::Tagged(t)) if t.kind == StatusKind::Ok => Ok(events),
        other => Err(format!("command failed: {other:?}").into()),
    }
}

fn client(address: &str, user: &str, password: &str) -> Result<(), Error> {
    let mut stream = TcpStream::connect(address)?;
    let mut session = ClientSession::new(Options::default());
    let greeting = exchange(&mut session, &mut stream, |e| {
        matches!(e, ClientEvent::Greeting(_))
    })?;
    println!("greeting: {:?}", greeting.last());

    run(
        &mut session,
        &mut stream,
        CommandBody::Login {
            username: AString::try_from(user)?,
            password: Secret::new(AString::try_from(password)?),
        },
    )?;

    let list = run(
        &mut session,
        &mut stream,
        CommandBody::List {
            selection: vec![],
            reference: Mailbox::try_from("")?,
            patterns: NonEmpty::one(ListPattern::new(b"*".to_vec())?),
            return_options: None,
        },
    )?;
    for event in &list {
        if let ClientEvent::Data(Data::List(item)) = event {
            println!("mailbox: {}", item.mailbox.name());
        }
    }

    let select = run(
        &mut session,
        &mut stream,
        CommandBody::Select {
            mailbox: Mailbox::Inbox,
            parameters: vec![],
        },
    )?;
    let exists = select.iter().find_map(|e| match e {
        ClientEvent::Data(Data::Exists(n)) => Some(*n),
        _ => None,
    });
    println!("INBOX has {} messages", exists.unwrap_or(0));

    if let Some(last) = exists.and_then(std::num::NonZeroU32::new) {
        let fields = ["From", "Subject", "Date"]
            .map(AString::try_from)
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let section = Section::new(
            vec![],
            Some(SectionText::HeaderFields(NonEmpty::try_from(fields)?)),
        )?;
        let fetch = run(
            &mut session,
            &mut stream,
            CommandBody::Fetch {
                uid: false,
                set: SequenceSet::Set(NonEmpty::one(imap_proto::types::sequence::Sequence::Range(
                    imap_proto::types::sequence::SeqNumber::Value(std::num::NonZeroU32::MIN),
                    imap_proto::types::sequence::SeqNumber::Value(last),
                ))),
                items: FetchItems::Attributes(NonEmpty::one(FetchAttribute::BodySection {
                    peek: true,
                    section,
                    partial: None,
                })),
                changed_since: None,
                vanished: false,
            },
        )?;
        for event in &fetch {
            if let ClientEvent::Data(Data::Fetch { seq, items }) = event {
                for item in items.iter() {
                    if let FetchData::BodySection { data, .. } = item {
                        let text = data
                            .0
                            .as_ref()
                            .map(|s| String::from_utf8_lossy(s.as_bytes()).into_owned());
                        println!("message {seq}:\n{}", text.unwrap_or_default().trim_end());
                    }
                }
            }
        }
    }

    run(&mut session, &mut stream, CommandBody::Logout)?;
    println!("logged out");
    Ok(())
}

/// A demo server with one mailbox holding one message; just enough for the client above.
fn demo_server(listener: TcpListener) -> Result<(), Error> {
    let (mut stream, _) = listener.accept()?;
    let text = |t: &str| -> Result<ResponseText, Error> {
        Ok(ResponseText {
            code: None,
            text: Text::try_from(t)?,
        })
    };
    let greeting = Greeting {
        kind: GreetingKind::Ok,
        text: text("demo ready")?,
    };
    let mut session = ServerSession::new(Options::default(), greeting);
    let header = b"From: demo@example.org\r\nSubject: Hello\r\nDate: Sun, 29 Nov 2026 00:00:00 +0000\r\n\r\n";
    let mut buf = [0u8; 16 * 1024];
    loop {
        while let Some(event) = session.poll_event() {
            let ServerEvent::Command(command) = event else {
                continue;
            };
            let mut data = Vec::new();
            match &command.body {
                CommandBody::List { .. } => data.push(Data::List(ListItem {
                    attributes: vec![],
                    delimiter: Some('/'),
                    mailbox: Mailbox::Inbox,
                    extended: vec![],
                })),
                CommandBody::Select { .. } => data.push(Data::Exists(1)),
                CommandBody::Fetch { .. } => data.push(Data::Fetch {
                    seq: std::num::NonZeroU32::MIN,
                    items: NonEmpty::one(FetchData::BodySection {
                        section: Section::new(vec![], Some(SectionText::Header))?,
                        origin: None,
                        data: imap_proto::types::core::NString(Some(
                            imap_proto::types::core::IString::from_bytes(header)?,
                        )),
                    }),
                }),
                CommandBody::Logout => data.push(Data::Bye(text("bye")?)),
                _ => {}
            }
            for d in data {
                session.send_data(d);
            }
            let tag: Tag = command.tag;
            session.send_tagged(Tagged {
                tag,
                kind: StatusKind::Ok,
                text: text("done")?,
            })?;
        }
        let mut out = Vec::new();
        session.poll_transmit(&mut out);
        stream.write_all(&out)?;
        if session.state() == imap_proto::session::State::Logout {
            return Ok(());
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        session.handle_input(&buf[..n]);
    }
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [address, user, password] = args.as_slice() {
        return client(address, user, password);
    }
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?.to_string();
    let server = thread::spawn(move || demo_server(listener).map_err(|e| e.to_string()));
    client(&address, "demo", "demo password")?;
    server.join().map_err(|_| "demo server panicked")??;
    Ok(())
}
