//! The IMAP mix of `mail_load`, modelled on imaptest's default profile: log in, select,
//! append, fetch flags, fetch bodies, store flags, expunge, log out, on mailboxes that several
//! sessions share. Built on imap-proto's client session over a blocking socket.

use std::{
    io::{self, Read, Write},
    net::TcpStream,
    num::NonZeroU32,
};

use imap_proto::{
    options::Options,
    session::client::{ClientEvent, ClientSession},
    types::{
        command::{AppendData, AppendMessage, CommandBody, StoreKind},
        core::{AString, Literal, LiteralMode},
        fetch::{FetchAttribute, FetchItems, Section},
        flag::Flag,
        mailbox::Mailbox,
        non_empty::NonEmpty,
        response::{Data, StatusKind},
        secret::Secret,
        sequence::{SeqNumber, Sequence, SequenceSet},
    },
};

use super::fail;

/// Messages a mailbox keeps; above this each round expunges its oldest message.
const KEEP: u32 = 10;
/// Bodies fetched per round (the newest ones).
const BODIES: u32 = 3;

/// One logged-in IMAP connection.
struct Imap {
    stream: TcpStream,
    session: ClientSession,
    buf: Vec<u8>,
}

fn range(a: u32, b: u32) -> io::Result<SequenceSet> {
    let n = |v| {
        NonZeroU32::new(v)
            .map(SeqNumber::Value)
            .ok_or_else(|| fail("empty range"))
    };
    Ok(SequenceSet::Set(NonEmpty::one(Sequence::Range(
        n(a)?,
        n(b)?,
    ))))
}

impl Imap {
    fn connect(addr: &str) -> io::Result<Self> {
        let mut c = Imap {
            stream: TcpStream::connect(addr)?,
            session: ClientSession::new(Options::default()),
            buf: vec![0; 64 * 1024],
        };
        c.stream.set_nodelay(true)?;
        c.until(|e| matches!(e, ClientEvent::Greeting(_)))?;
        Ok(c)
    }

    /// Sends what is queued and reads until `done` holds for an event; returns the events.
    fn until(
        &mut self,
        mut done: impl FnMut(&ClientEvent) -> bool,
    ) -> io::Result<Vec<ClientEvent>> {
        let mut events = Vec::new();
        loop {
            // Events first: a `+` for a synchronizing literal is consumed here, and only then
            // does poll_transmit release the literal.
            while let Some(event) = self.session.poll_event() {
                let last = done(&event);
                events.push(event);
                if last {
                    return Ok(events);
                }
            }
            let mut out = Vec::new();
            self.session.poll_transmit(&mut out);
            self.stream.write_all(&out)?;
            let n = self.stream.read(&mut self.buf)?;
            if n == 0 {
                return Err(fail("server closed the connection"));
            }
            self.session.handle_input(&self.buf[..n]);
        }
    }

    /// Runs one command to its tagged OK.
    fn run(&mut self, body: CommandBody) -> io::Result<Vec<ClientEvent>> {
        let tag = self.session.enqueue_command(body);
        let events = self.until(|e| matches!(e, ClientEvent::Tagged(t) if t.tag == tag))?;
        match events.last() {
            Some(ClientEvent::Tagged(t)) if t.kind == StatusKind::Ok => Ok(events),
            other => Err(fail(format!("IMAP command failed: {other:?}"))),
        }
    }
}

/// Connects, logs in and selects INBOX; returns the SELECT responses too.
fn login_select(addr: &str, user: &str, password: &str) -> io::Result<(Imap, Vec<ClientEvent>)> {
    let astring = |s: &str| AString::try_from(s).map_err(fail);
    let mut c = Imap::connect(addr)?;
    c.run(CommandBody::Login {
        username: astring(user)?,
        password: Secret::new(astring(password)?),
    })?;
    let selected = c.run(CommandBody::Select {
        mailbox: Mailbox::Inbox,
        parameters: Vec::new(),
    })?;
    Ok((c, selected))
}

/// Logs in, selects INBOX and starts IDLE; the connection stays open while it is held.
pub(crate) fn idle(addr: &str, user: &str, password: &str) -> io::Result<Held> {
    let (mut c, _) = login_select(addr, user, password)?;
    c.session.enqueue_command(CommandBody::Idle);
    c.until(|e| matches!(e, ClientEvent::Continuation(_)))?;
    Ok(Held(c))
}

/// An idling connection; dropping it closes the socket.
pub(crate) struct Held(Imap);

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.0.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// One imaptest-like round on `user`'s INBOX; returns the number of commands run.
pub(crate) fn round(addr: &str, user: &str, password: &str, message: &[u8]) -> io::Result<usize> {
    let (mut c, selected) = login_select(addr, user, password)?;
    let mut exists = selected
        .iter()
        .find_map(|e| match e {
            ClientEvent::Data(Data::Exists(n)) => Some(*n),
            _ => None,
        })
        .unwrap_or(0);
    let literal = Literal::new(message.to_vec(), LiteralMode::Sync).map_err(fail)?;
    c.run(CommandBody::Append {
        mailbox: Mailbox::Inbox,
        messages: NonEmpty::one(AppendMessage {
            flags: None,
            date: None,
            data: AppendData::Literal(literal),
        }),
    })?;
    // The NOOP reports the new EXISTS (ours and other sessions' appends).
    for event in c.run(CommandBody::Noop)? {
        if let ClientEvent::Data(Data::Exists(n)) = event {
            exists = n;
        }
    }
    let mut commands = 4;
    if exists > 0 {
        c.run(CommandBody::Fetch {
            uid: false,
            set: range(1, exists)?,
            items: FetchItems::Attributes(NonEmpty::one(FetchAttribute::Flags)),
            changed_since: None,
            vanished: false,
        })?;
        let first = exists.saturating_sub(BODIES - 1).max(1);
        c.run(CommandBody::Fetch {
            uid: false,
            set: range(first, exists)?,
            items: FetchItems::Attributes(NonEmpty::one(FetchAttribute::BodySection {
                peek: true,
                section: Section::default(),
                partial: None,
            })),
            changed_since: None,
            vanished: false,
        })?;
        c.run(CommandBody::Store {
            uid: false,
            set: range(first, exists)?,
            unchanged_since: None,
            kind: StoreKind::Add,
            silent: false,
            flags: vec![Flag::Seen],
        })?;
        commands += 3;
        if exists > KEEP {
            c.run(CommandBody::Store {
                uid: false,
                set: range(1, 1)?,
                unchanged_since: None,
                kind: StoreKind::Add,
                silent: true,
                flags: vec![Flag::Deleted],
            })?;
            c.run(CommandBody::Expunge)?;
            commands += 2;
        }
    }
    c.run(CommandBody::Logout)?;
    Ok(commands + 1)
}
