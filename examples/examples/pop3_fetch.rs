//! Fetches a whole POP3 mailbox over a plain blocking `std::net::TcpStream`, driving the
//! sans-IO `pop3_proto::Client`: no async runtime, no IO inside the codec.
//!
//! ```text
//! cargo run -p examples --example pop3_fetch -- HOST:PORT USER PASSWORD [OUT_DIR]
//! ```
//!
//! It logs in with USER/PASS, asks for UIDL, retrieves every message with RETR (streamed:
//! each piece is written to its file as it arrives), and QUITs without deleting. With
//! OUT_DIR, each message is saved as `OUT_DIR/<unique-id>.eml`; without, sizes are printed.
//! Plain text only: STLS needs a TLS library, which this example leaves out.
//!
//! `cargo test -p examples --example pop3_fetch` runs it against a small loopback server
//! built on `pop3_proto::Server`.

use std::{
    fs::File,
    io::{self, Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
};

use pop3_proto::{Client, ClientEvent, Command, Options, Response};

/// A message as fetched: its unique-id and its octets.
#[derive(Debug, PartialEq, Eq)]
struct Fetched {
    uid: String,
    size: usize,
}

fn protocol(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// One blocking session: owns the socket, the state machine and a read buffer whose
/// octets `start..end` have not been fed to the state machine yet.
struct Session {
    stream: TcpStream,
    client: Client,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Session {
    fn connect(addr: &str) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        let mut session = Self {
            stream,
            client: Client::new(Options::default()),
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
        };
        match session.next_event()? {
            ClientEvent::Greeting(g) if g.is_ok() => Ok(session),
            other => Err(protocol(format!("greeting refused: {other:?}"))),
        }
    }

    /// Writes pending commands, then reads until the state machine has an event.
    fn next_event(&mut self) -> io::Result<ClientEvent> {
        let mut out = Vec::new();
        self.client.poll_transmit(&mut out);
        self.stream.write_all(&out)?;
        loop {
            if let Some(event) = self.client.poll_event().map_err(protocol)? {
                return Ok(event);
            }
            if self.start == self.end {
                self.end = self.stream.read(&mut self.buf)?;
                self.start = 0;
                if self.end == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
            // The state machine takes what fits under its buffer limit; the rest waits in
            // `buf` until the events it makes room for have been taken.
            let taken = self.client.handle_input(&self.buf[self.start..self.end]);
            if taken == 0 {
                return Err(protocol("server response exceeds the client's input limit"));
            }
            self.start += taken;
        }
    }

    /// Sends a command and returns its (non-body) response; `-ERR` becomes an error.
    fn command(&mut self, command: Command) -> io::Result<Response> {
        self.client.send(command).map_err(protocol)?;
        match self.next_event()? {
            ClientEvent::Response { response, .. } if !response.is_err() => Ok(response),
            other => Err(protocol(format!("refused: {other:?}"))),
        }
    }

    /// RETR: streams the body into `sink`; returns its size.
    fn retrieve(&mut self, msg: pop3_proto::MsgNo, sink: &mut impl Write) -> io::Result<usize> {
        self.client.send(Command::Retr(msg)).map_err(protocol)?;
        match self.next_event()? {
            ClientEvent::BodyStart { .. } => {}
            other => return Err(protocol(format!("RETR {msg} refused: {other:?}"))),
        }
        let mut size = 0;
        loop {
            match self.next_event()? {
                ClientEvent::BodyData(data) => {
                    size += data.len();
                    sink.write_all(&data)?;
                }
                ClientEvent::BodyEnd => return Ok(size),
                other => return Err(protocol(format!("unexpected {other:?}"))),
            }
        }
    }
}

/// Fetches every message; `save` gives a writer per unique-id.
fn fetch<W: Write>(
    addr: &str,
    user: &str,
    password: &str,
    mut save: impl FnMut(&str) -> io::Result<W>,
) -> io::Result<Vec<Fetched>> {
    let mut session = Session::connect(addr)?;
    session.command(Command::User(user.try_into().map_err(protocol)?))?;
    session.command(Command::Pass(password.try_into().map_err(protocol)?))?;
    let Response::UidList { entries, .. } = session.command(Command::Uidl(None))? else {
        return Err(protocol("UIDL answer is not a listing"));
    };
    let mut fetched = Vec::new();
    for entry in entries {
        let mut sink = save(entry.uid.as_str())?;
        let size = session.retrieve(entry.msg, &mut sink)?;
        fetched.push(Fetched {
            uid: entry.uid.to_string(),
            size,
        });
    }
    session.command(Command::Quit)?;
    Ok(fetched)
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, user, password, rest @ ..] = args.as_slice() else {
        eprintln!("usage: pop3_fetch HOST:PORT USER PASSWORD [OUT_DIR]");
        std::process::exit(2);
    };
    let out_dir = rest.first().map(PathBuf::from);
    let save = |uid: &str| -> io::Result<Box<dyn Write>> {
        match &out_dir {
            // Unique-ids are 0x21-0x7E: replace "/" so one cannot name a path outside OUT_DIR.
            Some(dir) => Ok(Box::new(File::create(
                Path::new(dir).join(format!("{}.eml", uid.replace('/', "_"))),
            )?)),
            None => Ok(Box::new(io::sink())),
        }
    };
    for message in fetch(addr, user, password, save)? {
        println!("{} {} octets", message.uid, message.size);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::{
        cell::RefCell,
        io::{Read, Write},
        net::TcpListener,
        rc::Rc,
        thread,
    };

    use pop3_proto::{
        Command, Options, Response, ScanListing, Server, ServerEvent, Status, StatusKind,
        UidListing,
    };

    use super::{Fetched, fetch};

    /// Messages saved so far: unique-id and octets.
    type Saved = Rc<RefCell<Vec<(String, Vec<u8>)>>>;

    /// Appends what it is given to the last saved message.
    struct Sink(Saved);

    impl Write for Sink {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            if let Some((_, body)) = self.0.borrow_mut().last_mut() {
                body.extend_from_slice(data);
            }
            Ok(data.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A one-connection POP3 server on loopback, driven by `pop3_proto::Server`.
    fn serve(listener: TcpListener, messages: Vec<Vec<u8>>) {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut server = Server::new(
            Options::default(),
            &Status::new_lossy(StatusKind::Ok, "test server"),
        );
        let ok = |t: &str| Response::Status(Status::new_lossy(StatusKind::Ok, t));
        let mut buf = [0u8; 4096];
        let mut out = Vec::new();
        while !server.is_closed() {
            server.poll_transmit(&mut out);
            stream.write_all(&out).expect("write");
            out.clear();
            if server.is_closed() {
                break;
            }
            let n = stream.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            server.handle_input(&buf[..n]);
            while let Some(event) = server.poll_event() {
                let ServerEvent::Command(command) = event else {
                    continue;
                };
                let response = match command {
                    Command::Uidl(None) => Response::UidList {
                        text: Default::default(),
                        entries: (1..=messages.len() as u32)
                            .map(|n| UidListing {
                                msg: pop3_proto::MsgNo::new(n).expect("from 1"),
                                uid: format!("id/{n}").as_str().try_into().expect("valid uid"),
                            })
                            .collect(),
                    },
                    Command::List(Some(msg)) => Response::Scan(ScanListing { msg, size: 0 }),
                    Command::Retr(msg) => {
                        server
                            .start_body(Status::new_lossy(StatusKind::Ok, ""))
                            .expect("RETR pending");
                        for chunk in messages[msg.get() as usize - 1].chunks(1000) {
                            server.send_body(chunk, &mut out).expect("body");
                        }
                        server.finish_body().expect("body");
                        continue;
                    }
                    _ => ok(""),
                };
                server.respond(response).expect("fitting answer");
            }
        }
        server.poll_transmit(&mut out);
        stream.write_all(&out).expect("write");
    }

    #[test]
    fn fetches_a_mailbox_over_loopback() {
        let big: Vec<u8> = (0..20_000)
            .flat_map(|i| format!(".line {i}\r\n").into_bytes())
            .collect();
        let messages = vec![
            b"Subject: a\r\n\r\n.\r\n..\r\nend\r\n".to_vec(),
            big,
            Vec::new(),
        ];
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("address").to_string();
        let served = messages.clone();
        let server = thread::spawn(move || serve(listener, served));

        let saved = Saved::default();
        let fetched = fetch(&addr, "alice", "secret", |uid| {
            saved.borrow_mut().push((uid.to_owned(), Vec::new()));
            Ok(Sink(Rc::clone(&saved)))
        });
        server.join().expect("server thread");
        let fetched = fetched.expect("fetch succeeds");
        assert_eq!(fetched.len(), 3);
        assert_eq!(
            fetched[1],
            Fetched {
                uid: "id/2".into(),
                size: messages[1].len()
            }
        );
        for ((uid, body), (n, message)) in saved.borrow().iter().zip(messages.iter().enumerate()) {
            assert_eq!(uid, &format!("id/{}", n + 1));
            assert_eq!(body, message);
        }
    }
}
