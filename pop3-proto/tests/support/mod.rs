//! A toy maildrop that answers a [`Server`]'s events, and a runner for `C:`/`S:`
//! transcripts (the RFC examples' format).

#![allow(dead_code, unreachable_pub)] // Each test file uses part of this module.

use pop3_proto::{
    Capability, Command, Language, MsgNo, Options, RespCode, Response, ScanListing, Server,
    ServerEvent, SessionState, Stat, Status, StatusKind, Text, UidListing, top_of_message,
};

/// The two messages of the RFC 1939 §10 example: 120 and 200 octets, the second with lines
/// that start with ".".
pub fn rfc_messages() -> Vec<Vec<u8>> {
    let mut first = b"From: dewey@example.org\r\nSubject: one\r\n\r\n".to_vec();
    while first.len() < 118 {
        first.push(b'a');
    }
    first.extend_from_slice(b"\r\n");
    let mut second = b"From: dewey@example.org\r\nSubject: two\r\n\r\n.dot line\r\n..two dots\r\n.\r\nline 1\r\nline 2\r\n".to_vec();
    while second.len() < 198 {
        second.push(b'b');
    }
    second.extend_from_slice(b"\r\n");
    assert_eq!((first.len(), second.len()), (120, 200));
    vec![first, second]
}

pub fn text(t: &str) -> Text {
    Text::try_from(t).expect("test texts are valid")
}

pub fn ok(t: &str) -> Response {
    Response::Status(Status::ok(text(t)))
}

pub fn err(t: &str) -> Response {
    Response::Status(Status::err(text(t)))
}

/// An in-memory maildrop for user `mrose`, password `tanstaaf` (the RFC 1939 example).
#[derive(Debug)]
pub struct Maildrop {
    pub messages: Vec<Vec<u8>>,
    pub deleted: Vec<bool>,
    /// Set when QUIT committed the deletions (the UPDATE state).
    pub expunged: Vec<usize>,
    /// Answer logins with `-ERR [IN-USE]`.
    pub in_use: bool,
    /// Every event the application saw, for checks that something was never executed.
    pub seen: Vec<ServerEvent>,
    /// Where message bodies are written ([`Server::send_body`] writes to the caller's buffer).
    pub sent: Vec<u8>,
}

impl Maildrop {
    pub fn new(messages: Vec<Vec<u8>>) -> Self {
        let n = messages.len();
        Self {
            messages,
            deleted: vec![false; n],
            expunged: Vec::new(),
            in_use: false,
            seen: Vec::new(),
            sent: Vec::new(),
        }
    }

    fn live(&self, msg: MsgNo) -> Option<&[u8]> {
        let i = msg.get() as usize - 1;
        match (self.messages.get(i), self.deleted.get(i)) {
            (Some(m), Some(false)) => Some(m),
            _ => None,
        }
    }

    fn totals(&self) -> (u32, u64) {
        let live = self
            .messages
            .iter()
            .zip(&self.deleted)
            .filter(|(_, d)| !**d);
        live.fold((0, 0), |(n, s), (m, _)| (n + 1, s + m.len() as u64))
    }

    fn login(&self) -> Response {
        if self.in_use {
            return Response::Status(
                Status::err(text("maildrop already locked")).with_code(RespCode::InUse),
            );
        }
        let (n, size) = self.totals();
        ok(&format!(
            "mrose's maildrop has {n} messages ({size} octets)"
        ))
    }

    /// Answers one event the way a simple server would.
    pub fn answer(&mut self, server: &mut Server, event: ServerEvent) {
        self.seen.push(event.clone());
        let response = match event {
            ServerEvent::Command(command) => match self.command(server, command) {
                Some(response) => response,
                None => return,
            },
            ServerEvent::AuthResponse(data) => {
                if data.declassify() == b"\0mrose\0tanstaaf" {
                    self.login()
                } else {
                    Response::Status(
                        Status::err(text("authentication failed")).with_code(RespCode::Auth),
                    )
                }
            }
            ServerEvent::AuthCancelled => return,
            _ => err("unexpected"),
        };
        server
            .respond(response)
            .expect("the toy maildrop answers with fitting responses");
    }

    fn command(&mut self, server: &mut Server, command: Command) -> Option<Response> {
        let no_such = || err("no such message");
        Some(match command {
            Command::User(name) if name.as_str() == "mrose" => ok("mrose is a real hoopy frood"),
            Command::User(name) => err(&format!("sorry, no mailbox for {name} here")),
            Command::Pass(p) if p.declassify() == b"tanstaaf" => self.login(),
            Command::Pass(_) => {
                Response::Status(Status::err(text("invalid password")).with_code(RespCode::Auth))
            }
            // The digest from RFC 1939 §7's example ("tanstaaf" and the greeting's timestamp).
            Command::Apop { name, digest }
                if name.as_str() == "mrose"
                    && digest.as_str() == "c4c9334bac560ecc979e58001b3e22fb" =>
            {
                self.login()
            }
            Command::Apop { .. } => err("permission denied"),
            Command::Stat => {
                let (count, size) = self.totals();
                Response::Stat(Stat { count, size })
            }
            Command::List(None) => {
                let (n, size) = self.totals();
                let entries = (1..=self.messages.len() as u32)
                    .filter_map(MsgNo::new)
                    .filter_map(|msg| {
                        self.live(msg).map(|m| ScanListing {
                            msg,
                            size: m.len() as u64,
                        })
                    })
                    .collect();
                Response::ScanList {
                    text: text(&format!("{n} messages ({size} octets)")),
                    entries,
                }
            }
            Command::List(Some(msg)) => match self.live(msg) {
                Some(m) => Response::Scan(ScanListing {
                    msg,
                    size: m.len() as u64,
                }),
                None => no_such(),
            },
            Command::Uidl(None) => Response::UidList {
                text: Text::empty(),
                entries: self.uids(),
            },
            Command::Uidl(Some(msg)) => match self.uids().into_iter().find(|u| u.msg == msg) {
                Some(uid) => Response::Uid(uid),
                None => no_such(),
            },
            Command::Retr(msg) | Command::Top { msg, .. } => {
                let lines = match command {
                    Command::Top { lines, .. } => Some(lines),
                    _ => None,
                };
                let Some(m) = self.live(msg).map(<[u8]>::to_vec) else {
                    return Some(no_such());
                };
                let body = match lines {
                    Some(n) => top_of_message(&m, n),
                    None => &m[..],
                };
                let first = if lines.is_some() {
                    String::new()
                } else {
                    format!("{} octets", m.len())
                };
                server
                    .start_body(Status::ok(text(&first)))
                    .expect("RETR/TOP pending");
                // Odd-sized chunks: lines split across chunk boundaries.
                for chunk in body.chunks(7) {
                    server
                        .send_body(chunk, &mut self.sent)
                        .expect("body started");
                }
                server.finish_body().expect("body started");
                return None;
            }
            Command::Dele(msg) => match self.live(msg) {
                Some(_) => {
                    self.deleted[msg.get() as usize - 1] = true;
                    ok(&format!("message {msg} deleted"))
                }
                None => err(&format!("message {msg} already deleted")),
            },
            Command::Noop => ok(""),
            Command::Rset => {
                self.deleted.iter_mut().for_each(|d| *d = false);
                let (n, size) = self.totals();
                ok(&format!("maildrop has {n} messages ({size} octets)"))
            }
            Command::Quit => {
                if server.state() == SessionState::Transaction {
                    // Commit before answering: the +OK is the durability promise.
                    self.expunged = self
                        .deleted
                        .iter()
                        .enumerate()
                        .filter(|(_, d)| **d)
                        .map(|(i, _)| i + 1)
                        .collect();
                    if self.totals().0 == 0 {
                        ok("dewey POP3 server signing off (maildrop empty)")
                    } else {
                        ok("dewey POP3 server signing off")
                    }
                } else {
                    ok("dewey POP3 server signing off")
                }
            }
            Command::Capa => Response::Capabilities {
                text: text("Capability list follows"),
                capabilities: capabilities(server),
            },
            Command::Stls => ok("Begin TLS negotiation"),
            Command::Auth {
                mechanism,
                initial_response,
            } if mechanism.as_str() == "PLAIN" => match initial_response {
                Some(data) if data.declassify() == b"\0mrose\0tanstaaf" => self.login(),
                Some(_) => Response::Status(
                    Status::err(text("authentication failed")).with_code(RespCode::Auth),
                ),
                None => Response::Challenge(Vec::new().into()),
            },
            Command::Auth { .. } => err("unsupported mechanism"),
            Command::Utf8 => ok("UTF8 enabled"),
            Command::Lang(None) => Response::Languages {
                text: text("Language listing follows"),
                languages: vec![Language::new("en".try_into().unwrap(), text("English"))],
            },
            Command::Lang(Some(_)) => ok("Language changed"),
            _ => err("not supported"),
        })
    }

    fn uids(&self) -> Vec<UidListing> {
        (1..=self.messages.len() as u32)
            .filter_map(MsgNo::new)
            .filter(|m| self.live(*m).is_some())
            .map(|msg| UidListing {
                msg,
                uid: format!("uid-{msg}").as_str().try_into().unwrap(),
            })
            .collect()
    }
}

pub fn capabilities(server: &Server) -> Vec<Capability> {
    let mut caps = vec![
        Capability::Top,
        Capability::Uidl,
        Capability::RespCodes,
        Capability::Pipelining,
    ];
    caps.push(Capability::Sasl(vec!["PLAIN".try_into().unwrap()]));
    if server.state() == SessionState::Authorization {
        caps.push(Capability::User);
        if !server.is_tls_active() {
            caps.push(Capability::Stls);
        }
    }
    caps
}

/// A server with the RFC 1939 example greeting.
pub fn rfc_server() -> Server {
    Server::new(
        Options::default(),
        &Status::new_lossy(
            StatusKind::Ok,
            "POP3 server ready <1896.697170952@dbc.mtview.ca.us>",
        ),
    )
}

/// Feeds `input` to the server, answering every event with the maildrop.
pub fn feed(server: &mut Server, drop: &mut Maildrop, input: &[u8]) {
    let mut rest = input;
    loop {
        let n = server.handle_input(rest);
        rest = &rest[n..];
        while let Some(event) = server.poll_event() {
            drop.answer(server, event);
        }
        if rest.is_empty() || n == 0 {
            break;
        }
    }
}

/// Everything written so far, in order: body octets the maildrop wrote, then the rest.
pub fn drain(server: &mut Server, drop: &mut Maildrop, out: &mut Vec<u8>) {
    out.append(&mut drop.sent);
    server.poll_transmit(out);
}

/// Runs a transcript: `C:` lines are sent (consecutive ones in one write, as a pipelining
/// client does) and everything the server writes must equal the `S:` lines, byte for byte.
/// A line `TLS` stands for the handshake after `+OK` to STLS.
pub fn run_server_script(server: &mut Server, drop: &mut Maildrop, script: &str) {
    let (mut batch, mut expected, mut actual) = (Vec::new(), Vec::new(), Vec::new());
    drain(server, drop, &mut actual);
    for line in script
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty())
    {
        if let Some(c) = line.strip_prefix("C:") {
            batch.extend_from_slice(c.trim_start().as_bytes());
            batch.extend_from_slice(b"\r\n");
            continue;
        }
        feed(server, drop, &batch);
        batch.clear();
        drain(server, drop, &mut actual);
        if let Some(s) = line.strip_prefix("S:") {
            expected.extend_from_slice(s.strip_prefix(' ').unwrap_or(s).as_bytes());
            expected.extend_from_slice(b"\r\n");
        } else if line == "TLS" {
            server.tls_established().expect("STLS was accepted");
        } else {
            panic!("bad script line {line:?}");
        }
    }
    feed(server, drop, &batch);
    drain(server, drop, &mut actual);
    assert_eq!(
        String::from_utf8_lossy(&actual),
        String::from_utf8_lossy(&expected)
    );
}
