//! Abuse controls over real loopback sockets: automatic bans after failed logins (refused
//! at accept in each protocol, expiring, trusted networks exempt), per-user session caps,
//! a pre-auth deadline a byte-dripping client cannot extend, and a write timeout that
//! closes a client which stopped reading.

mod common;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    time::{Duration, Instant},
};

use common::Running;

/// Listener order in [`start`]'s config.
const IMAP: usize = 0;
const POP3: usize = 1;
const SMTP: usize = 2;

/// A server with IMAP, POP3 and SMTP listeners and `limits` appended to its `[limits]`.
fn start(limits: &str) -> (tempfile::TempDir, Running) {
    let dir = tempfile::tempdir().unwrap();
    common::replica_and_users(dir.path(), "alice:{PLAIN}pw-alice\nbob:{PLAIN}pw-bob\n");
    let text = format!(
        r#"
hostname = "mx.example.test"
local_domains = ["example.test"]
users_file = "users"
postmaster = "alice"
[storage]
mirror_sets = [["replica-a"]]
fsync = false
[limits]
auth_penalty_initial_ms = 10
auth_penalty_max_ms = 20
{limits}
[[listener]]
service = "imap"
address = "127.0.0.1:0"
tls = "none"
allow_cleartext_auth = true
[[listener]]
service = "pop3"
address = "127.0.0.1:0"
tls = "none"
allow_cleartext_auth = true
[[listener]]
service = "smtp"
address = "127.0.0.1:0"
tls = "none"
"#
    );
    let path: PathBuf = dir.path().join("test.toml");
    std::fs::write(&path, text).unwrap();
    let running = Running::start(&path);
    (dir, running)
}

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        let _ = self.reader.read_line(&mut line);
        line
    }

    fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
    }

    /// Sends a tagged IMAP command and returns its tagged reply.
    fn imap(&mut self, tag: &str, command: &str) -> String {
        self.send(&format!("{tag} {command}\r\n"));
        loop {
            let line = self.line();
            if line.is_empty() || line.starts_with(tag) {
                return line;
            }
        }
    }
}

fn greeting(addr: SocketAddr) -> String {
    Client::connect(addr).line()
}

#[test]
fn failed_logins_ban_the_address_in_every_protocol_until_the_ban_expires() {
    let (_dir, server) = start(
        "ban_after_auth_failures = 3\nban_initial_secs = 2\nban_max_secs = 8\nban_exempt_networks = []",
    );
    let mut c = Client::connect(server.addrs[IMAP]);
    assert!(c.line().starts_with("* OK"));
    for tag in ["a1", "a2"] {
        assert!(
            c.imap(tag, "LOGIN alice wrong")
                .starts_with(&format!("{tag} NO"))
        );
        assert!(greeting(server.addrs[IMAP]).starts_with("* OK"), "not yet");
    }
    assert!(c.imap("a3", "LOGIN alice wrong").starts_with("a3 NO"));
    let banned_at = Instant::now();
    // The ban is per address and applies to every listener, even to a right password.
    let refused = greeting(server.addrs[IMAP]);
    assert!(refused.starts_with("* BYE [UNAVAILABLE]"), "{refused}");
    let refused = greeting(server.addrs[POP3]);
    assert!(refused.starts_with("-ERR [SYS/TEMP]"), "{refused}");
    let refused = greeting(server.addrs[SMTP]);
    assert!(refused.starts_with("421 4.7.0"), "{refused}");
    // The session that was already open is not cut off by the ban.
    assert!(c.imap("a4", "NOOP").starts_with("a4 OK"));
    // It expires on its own.
    std::thread::sleep(Duration::from_secs(2).saturating_sub(banned_at.elapsed()));
    std::thread::sleep(Duration::from_millis(200));
    let mut again = Client::connect(server.addrs[IMAP]);
    assert!(again.line().starts_with("* OK"));
    assert!(
        again
            .imap("b1", "LOGIN alice pw-alice")
            .starts_with("b1 OK")
    );
}

#[test]
fn trusted_networks_are_never_banned() {
    // The default exempts loopback.
    let (_dir, server) = start("ban_after_auth_failures = 2");
    let mut c = Client::connect(server.addrs[POP3]);
    assert!(c.line().starts_with("+OK"));
    for _ in 0..4 {
        c.send("USER alice\r\n");
        assert!(c.line().starts_with("+OK"));
        c.send("PASS wrong\r\n");
        assert!(c.line().starts_with("-ERR"));
    }
    assert!(greeting(server.addrs[POP3]).starts_with("+OK"));
}

#[test]
fn sessions_per_user_are_capped_across_imap_and_pop3() {
    let (_dir, server) = start("max_connections_per_user = 2");
    let mut first = Client::connect(server.addrs[IMAP]);
    first.line();
    assert!(first.imap("a", "LOGIN alice pw-alice").starts_with("a OK"));
    let mut second = Client::connect(server.addrs[IMAP]);
    second.line();
    assert!(second.imap("a", "LOGIN alice pw-alice").starts_with("a OK"));
    let mut third = Client::connect(server.addrs[IMAP]);
    third.line();
    let refused = third.imap("a", "LOGIN alice pw-alice");
    assert!(refused.starts_with("a NO [LIMIT]"), "{refused}");
    let mut pop = Client::connect(server.addrs[POP3]);
    pop.line();
    pop.send("USER alice\r\nPASS pw-alice\r\n");
    pop.line();
    let refused = pop.line();
    assert!(refused.starts_with("-ERR [SYS/TEMP]"), "{refused}");
    // Another user is not affected, and a logout frees the slot.
    let mut bob = Client::connect(server.addrs[IMAP]);
    bob.line();
    assert!(bob.imap("a", "LOGIN bob pw-bob").starts_with("a OK"));
    assert!(first.imap("z", "LOGOUT").starts_with("z OK"));
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reply = third.imap("b", "LOGIN alice pw-alice");
        if reply.starts_with("b OK") {
            break;
        }
        assert!(Instant::now() < deadline, "slot never freed: {reply}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Drips `line` one byte per 100 ms, forever repeating it, and returns how long after
/// connecting the server closed the connection.
fn drip_until_closed(addr: SocketAddr, expect_greeting: &str, line: &[u8]) -> Duration {
    let started = Instant::now();
    let mut c = Client::connect(addr);
    let hello = c.line();
    assert!(hello.starts_with(expect_greeting), "{hello}");
    c.writer.set_nonblocking(true).unwrap();
    let mut reader = c.reader.into_inner();
    reader
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut scratch = [0u8; 4096];
    for byte in line.iter().cycle() {
        // A write error or end of input both mean the server closed the connection.
        if c.writer.write(std::slice::from_ref(byte)).is_err() {
            return started.elapsed();
        }
        match reader.read(&mut scratch) {
            Ok(0) => return started.elapsed(),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return started.elapsed(),
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never closed");
    }
    unreachable!("cycle() never ends")
}

#[test]
fn a_byte_dripping_client_cannot_extend_the_pre_auth_deadline() {
    let (_dir, server) = start("pre_auth_timeout_secs = 2");
    // Complete commands keep coming (CAPABILITY, NOOP), so per-read silence never happens;
    // only a deadline fixed at accept closes these.
    let cases: [(usize, &str, &[u8]); 3] = [
        (IMAP, "* OK", b"a CAPABILITY\r\n"),
        (POP3, "+OK", b"CAPA\r\n"),
        (SMTP, "220 ", b"NOOP\r\n"),
    ];
    let handles: Vec<_> = cases
        .into_iter()
        .map(|(which, greet, line)| {
            let addr = server.addrs[which];
            std::thread::spawn(move || drip_until_closed(addr, greet, line))
        })
        .collect();
    for h in handles {
        let lasted = h.join().unwrap();
        assert!(
            lasted >= Duration::from_millis(1800) && lasted < Duration::from_secs(5),
            "closed after {lasted:?}, the deadline is 2 s"
        );
    }
}

/// Logs-in client `c` appends a 2 MiB message to INBOX; returns its size.
fn append_big_message(c: &mut Client) -> usize {
    let body: String = "x".repeat(998) + "\r\n";
    let message = format!("Subject: big\r\n\r\n{}", body.repeat(2048));
    c.send(&format!("b APPEND INBOX {{{}}}\r\n", message.len()));
    assert!(c.line().starts_with('+'));
    c.send(&message);
    c.send("\r\n");
    loop {
        let line = c.line();
        assert!(!line.is_empty() && !line.starts_with("b NO"), "{line}");
        if line.starts_with("b OK") {
            return message.len();
        }
    }
}

#[test]
fn a_slow_but_steady_reader_gets_a_body_that_outlasts_the_write_timeout() {
    let (_dir, server) = start("write_timeout_secs = 1\nimap_literal_stream_threshold = 65536");
    let mut c = Client::connect(server.addrs[IMAP]);
    c.line();
    assert!(c.imap("a", "LOGIN alice pw-alice").starts_with("a OK"));
    let size = append_big_message(&mut c);
    assert!(c.imap("c", "SELECT INBOX").starts_with("c OK"));
    c.send("f FETCH 1 BODY[]\r\n");
    // At most 64 KiB every 50 ms: the 2 MiB take over 1.5 s, longer than the timeout, but
    // the output keeps moving, so the connection stays.
    let started = Instant::now();
    let mut stream = c.reader.into_inner();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while !got.ends_with(b"f OK FETCH completed\r\n") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {} octets", got.len());
        got.extend_from_slice(&buf[..n]);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(got.len() > size);
    assert!(
        started.elapsed() > Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_client_that_stops_reading_is_closed_after_the_write_timeout() {
    let (_dir, server) = start("write_timeout_secs = 1\nimap_literal_stream_threshold = 65536");
    let mut c = Client::connect(server.addrs[IMAP]);
    c.line();
    assert!(c.imap("a", "LOGIN alice pw-alice").starts_with("a OK"));
    let size = append_big_message(&mut c);
    assert!(c.imap("c", "SELECT INBOX").starts_with("c OK"));
    // 64 pipelined FETCHes of a 2 MiB message are 128 MiB: far beyond socket buffers.
    let fetches: String = (0..64)
        .map(|i| format!("f{i} FETCH 1 BODY[]\r\n"))
        .collect();
    c.send(&fetches);
    std::thread::sleep(Duration::from_secs(3));
    // Draining now finds the end of the stream well before the whole output.
    let mut stream = c.reader.into_inner();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
    assert!(
        total < 64 * size / 2,
        "{total} octets arrived; the server kept writing to a client that did not read"
    );
    // The server still serves others.
    assert!(greeting(server.addrs[IMAP]).starts_with("* OK"));
}
