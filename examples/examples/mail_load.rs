//! A load generator for mail servers, built on the client sides of `smtp-proto` and
//! `pop3-proto` over blocking sockets (one thread per session), so the same program measures
//! gradwell and Dovecot side by side.
//!
//! ```text
//! mail_load deliver ADDR smtp|lmtp DOMAIN USER_PREFIX SESSIONS MESSAGES SIZE
//!     SESSIONS concurrent sessions each deliver MESSAGES messages of about SIZE octets to
//!     USER_PREFIX<n>@DOMAIN (session n), pipelining MAIL/RCPT/DATA.
//! mail_load pop3 ADDR USER_PREFIX PASSWORD SESSIONS ROUNDS
//!     SESSIONS concurrent sessions, each ROUNDS times: log in as USER_PREFIX<n>, STAT,
//!     UIDL, RETR every message, QUIT (nothing is deleted).
//! mail_load pop3-drain ADDR USER_PREFIX PASSWORD SESSIONS
//!     SESSIONS concurrent sessions, each once: log in as USER_PREFIX<n>, UIDL, RETR and DELE
//!     every message, QUIT. "messages" counts the messages deleted: the server's +OK to QUIT
//!     is what makes the deletions happen (RFC 1939 §6), so a failed run deleted none.
//! mail_load imap ADDR USER_PREFIX PASSWORD USERS SESSIONS ROUNDS
//!     SESSIONS concurrent sessions, each ROUNDS times an imaptest-like round (see
//!     `load/imap.rs`) on the INBOX of USER_PREFIX<n % USERS>, so several sessions share
//!     each mailbox. "messages" in the output counts IMAP commands.
//! mail_load imap-idle ADDR USER_PREFIX PASSWORD SESSIONS
//!     Logs SESSIONS IMAP sessions in (USER_PREFIX<n>), selects INBOX and IDLEs in each until
//!     standard input closes (memory per idle session).
//! mail_load pop3-idle ADDR USER_PREFIX PASSWORD SESSIONS
//!     Logs SESSIONS sessions in and holds them open until standard input closes (to measure
//!     the server's memory per session).
//! ```
//!
//! Each run prints one line: `<mode> sessions=… messages=… seconds=… msgs_per_sec=…`.

use std::{
    io::{self, Read, Write},
    net::TcpStream,
    sync::Arc,
    time::Instant,
};

use pop3_proto::{Client as PopClient, ClientEvent as PopEvent, Command as PopCommand, Response};
use smtp_proto::{
    Command, Domain, ForwardPath, Mailbox, ReversePath,
    client::{Client, ClientEvent, Sent},
    command::{MailParams, RcptParams},
};

#[path = "load/imap.rs"]
mod imap;

fn fail(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// An SMTP or LMTP client session on a blocking socket.
struct Smtp {
    stream: TcpStream,
    client: Client,
    buf: Vec<u8>,
}

impl Smtp {
    fn connect(addr: &str, lmtp: bool) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        let options = smtp_proto::Options::default();
        let client = if lmtp {
            Client::new_lmtp(options)
        } else {
            Client::new(options)
        };
        let mut s = Smtp {
            stream,
            client,
            buf: vec![0; 16 * 1024],
        };
        s.expect(Sent::Greeting)?;
        let hello = Domain::try_from("load.example.net").map_err(fail)?;
        s.client
            .send(&if lmtp {
                Command::Lhlo(hello)
            } else {
                Command::Ehlo(hello)
            })
            .map_err(fail)?;
        s.expect(if lmtp { Sent::Lhlo } else { Sent::Ehlo })?;
        Ok(s)
    }

    /// Writes what is pending, then reads until the next reply, which must be positive.
    fn expect(&mut self, to: Sent) -> io::Result<()> {
        let mut out = Vec::new();
        self.client.poll_transmit(&mut out);
        self.stream.write_all(&out)?;
        loop {
            match self.client.poll_event() {
                Some(ClientEvent::Reply { to: got, reply }) if got == to => {
                    return if reply.code().get() < 400 {
                        Ok(())
                    } else {
                        Err(fail(format!("{to:?} refused: {reply:?}")))
                    };
                }
                Some(other) => return Err(fail(format!("unexpected {other:?}"))),
                None => {}
            }
            let n = self.stream.read(&mut self.buf)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.client.handle_input(&self.buf[..n]).map_err(fail)?;
        }
    }

    /// One message to one recipient, MAIL/RCPT/DATA pipelined (RFC 2920).
    fn deliver(&mut self, to: &str, body: &[u8]) -> io::Result<()> {
        let from = Mailbox::try_from("load@example.net").map_err(fail)?;
        let rcpt = Mailbox::try_from(to).map_err(fail)?;
        self.client
            .send(&Command::Mail {
                from: ReversePath::Mailbox(from),
                params: MailParams::default(),
            })
            .map_err(fail)?;
        self.client
            .send(&Command::Rcpt {
                to: ForwardPath::Mailbox(rcpt),
                params: RcptParams::default(),
            })
            .map_err(fail)?;
        self.client.send(&Command::Data).map_err(fail)?;
        self.expect(Sent::Mail)?;
        self.expect(Sent::Rcpt)?;
        self.expect(Sent::Data)?;
        self.client.send_data(body).map_err(fail)?;
        self.client.finish_data().map_err(fail)?;
        self.expect(Sent::MessageEnd)
    }
}

/// A POP3 client session on a blocking socket.
struct Pop3 {
    stream: TcpStream,
    client: PopClient,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Pop3 {
    fn login(addr: &str, user: &str, password: &str) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        let mut s = Pop3 {
            stream,
            client: PopClient::new(pop3_proto::Options::default()),
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
        };
        match s.event()? {
            PopEvent::Greeting(g) if g.is_ok() => {}
            other => return Err(fail(format!("greeting: {other:?}"))),
        }
        s.command(PopCommand::User(user.try_into().map_err(fail)?))?;
        s.command(PopCommand::Pass(password.try_into().map_err(fail)?))?;
        Ok(s)
    }

    fn event(&mut self) -> io::Result<PopEvent> {
        let mut out = Vec::new();
        self.client.poll_transmit(&mut out);
        self.stream.write_all(&out)?;
        loop {
            if let Some(event) = self.client.poll_event().map_err(fail)? {
                return Ok(event);
            }
            if self.start == self.end {
                self.end = self.stream.read(&mut self.buf)?;
                self.start = 0;
                if self.end == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
            let taken = self.client.handle_input(&self.buf[self.start..self.end]);
            if taken == 0 {
                return Err(fail("response exceeds the client's input limit"));
            }
            self.start += taken;
        }
    }

    fn command(&mut self, command: PopCommand) -> io::Result<Response> {
        self.client.send(command).map_err(fail)?;
        match self.event()? {
            PopEvent::Response { response, .. } if !response.is_err() => Ok(response),
            other => Err(fail(format!("refused: {other:?}"))),
        }
    }

    /// RETR, discarding the body; returns its size.
    fn retrieve(&mut self, msg: pop3_proto::MsgNo) -> io::Result<usize> {
        self.client.send(PopCommand::Retr(msg)).map_err(fail)?;
        match self.event()? {
            PopEvent::BodyStart { .. } => {}
            other => return Err(fail(format!("RETR refused: {other:?}"))),
        }
        let mut size = 0;
        loop {
            match self.event()? {
                PopEvent::BodyData(data) => size += data.len(),
                PopEvent::BodyEnd => return Ok(size),
                other => return Err(fail(format!("unexpected {other:?}"))),
            }
        }
    }

    /// STAT, UIDL, RETR all (and DELE each with `delete`), QUIT; returns the messages
    /// retrieved.
    fn read_all(mut self, delete: bool) -> io::Result<usize> {
        self.command(PopCommand::Stat)?;
        let Response::UidList { entries, .. } = self.command(PopCommand::Uidl(None))? else {
            return Err(fail("UIDL answer is not a listing"));
        };
        for entry in &entries {
            self.retrieve(entry.msg)?;
            if delete {
                self.command(PopCommand::Dele(entry.msg))?;
            }
        }
        self.command(PopCommand::Quit)?;
        Ok(entries.len())
    }
}

/// A message of about `size` octets: a header and 76-character lines.
fn message(size: usize) -> Vec<u8> {
    let mut m = b"From: load@example.net\r\nTo: user@example.test\r\nSubject: load test\r\nMessage-ID: <load@example.net>\r\n\r\n".to_vec();
    let line = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmn\r\n";
    while m.len() < size {
        m.extend_from_slice(line);
    }
    m
}

/// Runs `work(n)` on `sessions` threads at once; sums what they return.
fn parallel(
    sessions: usize,
    work: impl Fn(usize) -> io::Result<usize> + Send + Sync,
) -> io::Result<usize> {
    let work = Arc::new(work);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..sessions)
            .map(|n| {
                let work = Arc::clone(&work);
                s.spawn(move || work(n))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| fail("session thread panicked"))?)
            .sum()
    })
}

fn number(s: &str) -> io::Result<usize> {
    s.parse().map_err(|_| fail(format!("not a number: {s}")))
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let started = Instant::now();
    let (mode, sessions, messages) = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [
            "deliver",
            addr,
            proto,
            domain,
            prefix,
            sessions,
            count,
            size,
        ] => {
            let (sessions, count, lmtp) = (number(sessions)?, number(count)?, *proto == "lmtp");
            let body = message(number(size)?);
            let total = parallel(sessions, |n| {
                let mut s = Smtp::connect(addr, lmtp)?;
                let to = format!("{prefix}{n}@{domain}");
                for _ in 0..count {
                    s.deliver(&to, &body)?;
                }
                Ok(count)
            })?;
            (format!("deliver-{proto}"), sessions, total)
        }
        ["pop3", addr, prefix, password, sessions, rounds] => {
            let (sessions, rounds) = (number(sessions)?, number(rounds)?);
            let total = parallel(sessions, |n| {
                let user = format!("{prefix}{n}");
                (0..rounds)
                    .map(|_| Pop3::login(addr, &user, password)?.read_all(false))
                    .sum()
            })?;
            ("pop3".to_owned(), sessions, total)
        }
        ["pop3-drain", addr, prefix, password, sessions] => {
            let sessions = number(sessions)?;
            let total = parallel(sessions, |n| {
                Pop3::login(addr, &format!("{prefix}{n}"), password)?.read_all(true)
            })?;
            ("pop3-drain".to_owned(), sessions, total)
        }
        ["imap", addr, prefix, password, users, sessions, rounds] => {
            let (users, sessions, rounds) =
                (number(users)?.max(1), number(sessions)?, number(rounds)?);
            let body = message(2048);
            let total = parallel(sessions, |n| {
                let user = format!("{prefix}{}", n % users);
                (0..rounds)
                    .map(|_| imap::round(addr, &user, password, &body))
                    .sum()
            })?;
            ("imap".to_owned(), sessions, total)
        }
        ["imap-idle", addr, prefix, password, sessions] => {
            let sessions = number(sessions)?;
            let held = (0..sessions)
                .map(|n| imap::idle(addr, &format!("{prefix}{n}"), password))
                .collect::<io::Result<Vec<_>>>()?;
            println!("ready {}", held.len());
            io::stdout().flush()?;
            let mut sink = Vec::new();
            io::stdin().read_to_end(&mut sink)?;
            return Ok(());
        }
        ["pop3-idle", addr, prefix, password, sessions] => {
            let sessions = number(sessions)?;
            let held: Vec<Pop3> = (0..sessions)
                .map(|n| Pop3::login(addr, &format!("{prefix}{n}"), password))
                .collect::<io::Result<_>>()?;
            println!("ready {}", held.len());
            io::stdout().flush()?;
            let mut sink = Vec::new();
            io::stdin().read_to_end(&mut sink)?;
            return Ok(());
        }
        _ => {
            eprintln!("usage: see the doc comment at the top of examples/mail_load.rs");
            std::process::exit(2);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{mode} sessions={sessions} messages={messages} seconds={seconds:.3} msgs_per_sec={:.1}",
        messages as f64 / seconds
    );
    Ok(())
}
