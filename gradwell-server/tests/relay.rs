//! Submission and the outbound relay against a fake smart host started by each test: byte
//! exact single arrival, 4xx retried, 5xx answered by exactly one DSN, line endings
//! normalised with no second transaction, and a `kill -9` of the server losing nothing.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use gradwell_server::{
    config::Config,
    queue::store::{Envelope, Queue, RcptState},
    serve::serve_until,
};
use maildir_store::{MailStore, MailboxName, ReadPart, UserId, maildir::Maildir};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    sync::oneshot,
};
use tokio_rustls::TlsAcceptor;

/// What the fake smart host saw and will answer.
#[derive(Default)]
struct SinkState {
    /// The content of each accepted transaction (dot-unstuffed) and its recipients.
    accepted: Vec<(Vec<String>, Vec<u8>)>,
    /// Transactions that reached the end of data, accepted or not.
    ended: usize,
    /// Replies to RCPT, in turn (then 250).
    rcpt_replies: VecDeque<String>,
    /// Replies to the end of data, in turn (then 250).
    data_replies: VecDeque<String>,
    /// A line of the wire content that ended in a bare LF or held a bare CR.
    bare_line_endings: bool,
    /// MAIL commands seen (in any session, plaintext or TLS).
    mail_commands: usize,
    /// Completed TLS handshakes.
    tls_sessions: usize,
    /// SASL mechanisms to offer in EHLO (none: no AUTH).
    auth_offer: Option<&'static str>,
    /// The AUTH command and response lines received, as sent (base64).
    auth_lines: Vec<String>,
}

#[derive(Clone)]
struct Sink {
    addr: SocketAddr,
    state: Arc<Mutex<SinkState>>,
}

impl Sink {
    async fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Sink::serve(listener, None)
    }

    fn serve(listener: TcpListener, tls: Option<TlsAcceptor>) -> Sink {
        let sink = Sink {
            addr: listener.local_addr().unwrap(),
            state: Arc::default(),
        };
        let state = Arc::clone(&sink.state);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(session(tcp, Arc::clone(&state), tls.clone()));
            }
        });
        sink
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SinkState> {
        self.state.lock().unwrap()
    }
}

async fn session(tcp: TcpStream, state: Arc<Mutex<SinkState>>, tls: Option<TlsAcceptor>) {
    let mut plain = BufReader::new(tcp);
    let _ = plain.get_mut().write_all(b"220 sink.test ESMTP\r\n").await;
    if commands(&mut plain, &state, tls.is_some()).await != Some(Upgrade) {
        return;
    }
    // Plaintext the client pipelined after STARTTLS is dropped with the buffer.
    let Some(acceptor) = tls else { return };
    let Ok(stream) = acceptor.accept(plain.into_inner()).await else {
        return;
    };
    state.lock().unwrap().tls_sessions += 1;
    commands(&mut BufReader::new(stream), &state, false).await;
}

#[derive(Debug, PartialEq, Eq)]
struct Upgrade;

/// Serves commands until QUIT, EOF or STARTTLS (`Some(Upgrade)`).
async fn commands<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    state: &Mutex<SinkState>,
    offer_tls: bool,
) -> Option<Upgrade> {
    let mut rcpts = Vec::new();
    loop {
        let mut line = Vec::new();
        if io.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
            return None;
        }
        let text = String::from_utf8_lossy(&line).to_ascii_uppercase();
        let reply = if text.starts_with("EHLO") {
            let tls = if offer_tls { "250-STARTTLS\r\n" } else { "" };
            let auth = state.lock().unwrap().auth_offer;
            let auth = auth
                .map(|m| format!("250-AUTH {m}\r\n"))
                .unwrap_or_default();
            format!(
                "250-sink.test\r\n{tls}{auth}250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 100000000"
            )
        } else if text.starts_with("AUTH") {
            let trimmed = |l: &[u8]| String::from_utf8_lossy(l).trim_end().to_owned();
            state.lock().unwrap().auth_lines.push(trimmed(&line));
            if text.starts_with("AUTH LOGIN") {
                for prompt in ["334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n"] {
                    let _ = io.get_mut().write_all(prompt.as_bytes()).await;
                    let mut answer = Vec::new();
                    if io.read_until(b'\n', &mut answer).await.unwrap_or(0) == 0 {
                        return None;
                    }
                    state.lock().unwrap().auth_lines.push(trimmed(&answer));
                }
            }
            "235 2.7.0 ok".to_owned()
        } else if text.starts_with("STARTTLS") && offer_tls {
            // The 220 and, in the same segment, a forged refusal that a careless client would
            // take as the answer to its EHLO inside TLS (CVE-2021-38371's shape).
            let _ = io
                .get_mut()
                .write_all(b"220 2.0.0 go ahead\r\n554 5.0.0 injected\r\n")
                .await;
            return Some(Upgrade);
        } else if text.starts_with("MAIL") {
            rcpts.clear();
            state.lock().unwrap().mail_commands += 1;
            "250 2.1.0 ok".to_owned()
        } else if text.starts_with("RCPT") {
            let r = state.lock().unwrap().rcpt_replies.pop_front();
            let r = r.unwrap_or_else(|| "250 2.1.5 ok".to_owned());
            if r.starts_with('2') {
                let t = String::from_utf8_lossy(&line);
                rcpts.push(t[t.find('<').unwrap() + 1..t.rfind('>').unwrap()].to_owned());
            }
            r
        } else if text.starts_with("DATA") {
            let _ = io.get_mut().write_all(b"354 go\r\n").await;
            let mut content = Vec::new();
            loop {
                let mut l = Vec::new();
                if io.read_until(b'\n', &mut l).await.unwrap_or(0) == 0 {
                    return None;
                }
                let body = &l[..l.len() - 1];
                if !l.ends_with(b"\r\n") || body[..body.len().saturating_sub(1)].contains(&b'\r') {
                    state.lock().unwrap().bare_line_endings = true;
                }
                if l == b".\r\n" {
                    break;
                }
                content.extend_from_slice(l.strip_prefix(b".").unwrap_or(&l));
            }
            let mut s = state.lock().unwrap();
            s.ended += 1;
            let r = s
                .data_replies
                .pop_front()
                .unwrap_or_else(|| "250 2.0.0 queued".to_owned());
            if r.starts_with('2') {
                s.accepted.push((std::mem::take(&mut rcpts), content));
            }
            r
        } else if text.starts_with("QUIT") {
            let _ = io.get_mut().write_all(b"221 bye\r\n").await;
            return None;
        } else {
            "250 ok".to_owned()
        };
        let _ = io
            .get_mut()
            .write_all(format!("{reply}\r\n").as_bytes())
            .await;
        let _ = io.get_mut().flush().await;
    }
}

/// A directory with users, a replica root and a config for submission on `port` relaying to
/// `smart_host`.
fn setup(dir: &Path, port: u16, smart_host: SocketAddr) -> std::path::PathBuf {
    setup_relay(dir, port, smart_host, "tls = \"none\"")
}

/// Lines added to the `[limits]` and `[queue]` sections by [`setup_with`].
#[derive(Default)]
struct Extra<'a> {
    limits: &'a str,
    queue: &'a str,
}

/// A sink, a directory and a server on them configured with `extra`.
async fn start_with(extra: Extra<'_>) -> (Sink, tempfile::TempDir, Server) {
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&setup_with(dir.path(), sink.addr, extra)).await;
    (sink, dir, server)
}

/// As [`setup`], with extra limits and queue settings.
fn setup_with(dir: &Path, smart_host: SocketAddr, extra: Extra<'_>) -> std::path::PathBuf {
    let path = setup(dir, 0, smart_host);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("[limits]\n", &format!("[limits]\n{}\n", extra.limits))
        .replace("[queue]\n", &format!("[queue]\n{}\n", extra.queue));
    std::fs::write(&path, text).unwrap();
    path
}

/// As [`setup`], with `relay` as the `[relay]` TLS settings.
fn setup_relay(dir: &Path, port: u16, smart_host: SocketAddr, relay: &str) -> std::path::PathBuf {
    let root = dir.join("replica-a");
    std::fs::create_dir_all(&root).unwrap();
    Maildir::init_replica(&root).unwrap();
    std::fs::write(
        dir.join("users"),
        "alice:{PLAIN}pw-alice\nbob:{PLAIN}pw-bob\n",
    )
    .unwrap();
    std::fs::write(dir.join("aliases"), "sales@example.test alice\n").unwrap();
    let config = format!(
        r#"
postmaster = "alice"
users_file = "users"
aliases_file = "aliases"
hostname = "relay-test.example.test"
local_domains = ["example.test"]
[storage]
mirror_sets = [["replica-a"]]
[limits]
auth_penalty_initial_ms = 10
auth_penalty_max_ms = 20
shutdown_grace_secs = 2
[queue]
retry_schedule_secs = [1]
scan_interval_ms = 100
[relay]
smart_host = "{smart_host}"
{relay}
[[listener]]
service = "submission"
address = "127.0.0.1:{port}"
tls = "none"
allow_cleartext_auth = true
"#
    );
    let path = dir.join("gradwell.toml");
    std::fs::write(&path, config).unwrap();
    path
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(config: &Path) -> Server {
        let config = Config::load(config).unwrap();
        let (addr_tx, addr_rx) = oneshot::channel();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let done = tokio::spawn(serve_until(
            config,
            move |a| {
                let _ = addr_tx.send(a[0]);
            },
            async move {
                let _ = stop_rx.await;
            },
        ));
        let addr = addr_rx.await.unwrap();
        Server {
            addr,
            stop: Some(stop),
            done,
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let _ = self.done.await;
    }
}

/// A line-based SMTP client.
struct Smtp {
    read: BufReader<tokio::net::tcp::OwnedReadHalf>,
    write: tokio::net::tcp::OwnedWriteHalf,
}

impl Smtp {
    async fn connect(addr: SocketAddr) -> Smtp {
        let (r, w) = TcpStream::connect(addr).await.unwrap().into_split();
        let mut s = Smtp {
            read: BufReader::new(r),
            write: w,
        };
        assert_eq!(s.reply().await.0, 220);
        s
    }

    async fn reply(&mut self) -> (u16, String) {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            self.read.read_line(&mut line).await.unwrap();
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return (line[..3].parse().unwrap(), all);
            }
        }
    }

    async fn cmd(&mut self, line: &str) -> (u16, String) {
        self.write
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        self.reply().await
    }

    /// Logs in as alice and sends `content` (CRLF lines, unstuffed) from her address.
    async fn submit(addr: SocketAddr, to: &[&str], content: &[u8]) -> (u16, String) {
        let mut s = Smtp::connect(addr).await;
        assert_eq!(s.cmd("EHLO client.test").await.0, 250);
        assert_eq!(s.cmd("AUTH PLAIN AGFsaWNlAHB3LWFsaWNl").await.0, 235);
        assert_eq!(s.cmd("MAIL FROM:<alice@example.test>").await.0, 250);
        for rcpt in to {
            assert_eq!(s.cmd(&format!("RCPT TO:<{rcpt}>")).await.0, 250, "{rcpt}");
        }
        assert_eq!(s.cmd("DATA").await.0, 354);
        let mut stuffed = Vec::new();
        smtp_proto::encode_data::encode_message(content, &mut stuffed);
        s.write.write_all(&stuffed).await.unwrap();
        let reply = s.reply().await;
        let _ = s.cmd("QUIT").await;
        reply
    }
}

const MESSAGE: &[u8] = b"From: Alice <alice@example.test>\r\nTo: x@far.example\r\nSubject: relay\r\n\r\nline one\r\n.leading dot\r\n..two dots\r\n.\r\nlast\r\n";

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn inbox(dir: &Path, user: &str) -> Vec<Vec<u8>> {
    let store = Maildir::open(&dir.join("replica-a"), Default::default()).unwrap();
    let user = UserId::new(user).unwrap();
    let Ok(view) = store.open(&user, &MailboxName::inbox()) else {
        return Vec::new();
    };
    view.messages
        .iter()
        .map(|m| {
            store
                .read(&user, &MailboxName::inbox(), m.uid, ReadPart::Whole)
                .unwrap()
        })
        .collect()
}

fn queue_len(dir: &Path) -> usize {
    Queue::open(&[dir.join("replica-a")], Default::default(), false)
        .unwrap()
        .list()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relayed_message_arrives_byte_exact_once() {
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&setup(dir.path(), 0, sink.addr)).await;
    let (code, text) =
        Smtp::submit(server.addr, &["x@far.example", "bob@example.test"], MESSAGE).await;
    assert_eq!(code, 250, "{text}");
    wait_for("relay", || sink.state().accepted.len() == 1).await;
    wait_for("empty queue", || queue_len(dir.path()) == 0).await;
    let (rcpts, content) = sink.state().accepted[0].clone();
    assert_eq!(rcpts, ["x@far.example"]);
    assert!(
        content.starts_with(b"Received: from client.test"),
        "trace first"
    );
    assert!(content.ends_with(MESSAGE), "byte-exact content");
    assert!(
        !content.starts_with(b"Return-Path"),
        "no Return-Path on relay"
    );
    // The local recipient got it directly.
    let bob = inbox(dir.path(), "bob");
    assert_eq!(bob.len(), 1);
    assert!(bob[0].ends_with(MESSAGE));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.state().ended, 1, "exactly one transaction");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_failure_is_retried() {
    let sink = Sink::start().await;
    sink.state()
        .data_replies
        .push_back("451 4.3.0 try later".into());
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&setup(dir.path(), 0, sink.addr)).await;
    assert_eq!(
        Smtp::submit(server.addr, &["x@far.example"], MESSAGE)
            .await
            .0,
        250
    );
    wait_for("retry", || sink.state().accepted.len() == 1).await;
    assert_eq!(sink.state().ended, 2, "one deferral, one success");
    wait_for("empty queue", || queue_len(dir.path()) == 0).await;
    assert!(inbox(dir.path(), "alice").is_empty(), "no DSN for success");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failure_sends_exactly_one_dsn() {
    let sink = Sink::start().await;
    sink.state()
        .rcpt_replies
        .push_back("550 5.1.1 no such user".into());
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&setup(dir.path(), 0, sink.addr)).await;
    let to = ["gone@far.example", "ok@far.example"];
    assert_eq!(Smtp::submit(server.addr, &to, MESSAGE).await.0, 250);
    wait_for("empty queue", || queue_len(dir.path()) == 0).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let alice = inbox(dir.path(), "alice");
    assert_eq!(alice.len(), 1, "exactly one DSN");
    let dsn = String::from_utf8_lossy(&alice[0]);
    assert!(dsn.starts_with("Return-Path: <>\r\n"), "{dsn}");
    assert!(dsn.contains("report-type=delivery-status"));
    assert!(dsn.contains("Final-Recipient: rfc822; gone@far.example"));
    assert!(dsn.contains("Status: 5.1.1"));
    assert!(!dsn.contains("Final-Recipient: rfc822; ok@far.example"));
    assert_eq!(sink.state().accepted.len(), 1, "the other recipient got it");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_line_ends_reach_the_wire_normalised_in_one_transaction() {
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), 0, sink.addr);
    // Content as a careless local producer might queue it: bare LF, bare CR, and the
    // smuggling shapes `\n.\n` and `\r\n.\n`.
    let content = b"Subject: smuggle\n\nfirst\n.\nMAIL FROM:<evil@x>\r\n.\nlast\rline\n";
    Queue::open(&[dir.path().join("replica-a")], Default::default(), false)
        .unwrap()
        .enqueue(
            "alice@example.test",
            &["x@far.example".to_owned()],
            &mut &content[..],
            SystemTime::now(),
        )
        .unwrap();
    let server = Server::start(&config).await;
    wait_for("relay", || sink.state().accepted.len() == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    {
        let s = sink.state();
        assert_eq!(s.ended, 1, "one transaction");
        assert!(!s.bare_line_endings, "only CRLF on the wire");
        assert_eq!(
            s.accepted[0].1,
            b"Subject: smuggle\r\n\r\nfirst\r\n.\r\nMAIL FROM:<evil@x>\r\n.\r\nlast\r\nline\r\n"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_and_from_must_belong_to_the_user() {
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&setup(dir.path(), 0, sink.addr)).await;
    let mut s = Smtp::connect(server.addr).await;
    s.cmd("EHLO client.test").await;
    assert_eq!(s.cmd("MAIL FROM:<alice@example.test>").await.0, 530);
    // authzid bob, authcid alice: refused.
    assert_eq!(s.cmd("AUTH PLAIN Ym9iAGFsaWNlAHB3LWFsaWNl").await.0, 535);
    assert_eq!(s.cmd("AUTH PLAIN AGFsaWNlAHB3LWFsaWNl").await.0, 235);
    assert_eq!(s.cmd("MAIL FROM:<bob@example.test>").await.0, 553);
    assert_eq!(s.cmd("MAIL FROM:<>").await.0, 553);
    // An alias that reaches alice is hers.
    assert_eq!(s.cmd("MAIL FROM:<sales@example.test>").await.0, 250);
    assert_eq!(s.cmd("RCPT TO:<x@far.example>").await.0, 250);
    assert_eq!(s.cmd("DATA").await.0, 354);
    let (code, text) = s
        .cmd("From: Bob <bob@example.test>\r\nSubject: spoof\r\n\r\nhi\r\n.")
        .await;
    assert_eq!(code, 553, "{text}");
    assert!(text.contains("5.7.1"));
    let _ = s.cmd("QUIT").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(queue_len(dir.path()), 0, "nothing queued");
    assert_eq!(sink.state().ended, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_loses_nothing() {
    // The smart host is down at first: the message waits in the queue.
    let parked = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink_addr = parked.local_addr().unwrap();
    drop(parked);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), port, sink_addr);
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_gradwell"))
            .args(["serve", "--config"])
            .arg(&config)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let up = || async {
        for _ in 0..200 {
            if TcpStream::connect(addr).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server did not start");
    };
    let mut child = spawn();
    up().await;
    assert_eq!(Smtp::submit(addr, &["x@far.example"], MESSAGE).await.0, 250);
    // SIGKILL: no shutdown code runs.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(queue_len(dir.path()), 1, "queued before 250");
    let sink = Sink::serve(TcpListener::bind(sink_addr).await.unwrap(), None);
    let mut child = spawn();
    up().await;
    wait_for("relay after restart", || sink.state().accepted.len() == 1).await;
    assert!(sink.state().accepted[0].1.ends_with(MESSAGE));
    wait_for("empty queue", || queue_len(dir.path()) == 0).await;
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A sink that offers STARTTLS with a certificate for `localhost`; returns it and the CA
/// file that verifies it.
async fn tls_sink(dir: &Path) -> (Sink, std::path::PathBuf) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let ca = dir.join("sink-ca.pem");
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let key = rustls_pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    (
        Sink::serve(listener, Some(TlsAcceptor::from(Arc::new(config)))),
        ca,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_verified_and_injected_plaintext_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let (sink, ca) = tls_sink(dir.path()).await;
    let relay = format!(
        "tls = \"required\"\nca_file = {:?}\ntls_name = \"localhost\"",
        ca
    );
    let server = Server::start(&setup_relay(dir.path(), 0, sink.addr, &relay)).await;
    assert_eq!(
        Smtp::submit(server.addr, &["x@far.example"], MESSAGE)
            .await
            .0,
        250
    );
    wait_for("relay over TLS", || sink.state().accepted.len() == 1).await;
    assert_eq!(sink.state().tls_sessions, 1);
    assert!(sink.state().accepted[0].1.ends_with(MESSAGE));
    server.stop().await;
}

/// Submits [`MESSAGE`] to a far recipient and returns its envelope after the first attempt.
async fn submit_and_wait_for_an_attempt(dir: &Path, server: SocketAddr) -> Envelope {
    assert_eq!(
        Smtp::submit(server, &["x@far.example"], MESSAGE).await.0,
        250
    );
    let queue = || Queue::open(&[dir.join("replica-a")], Default::default(), false).unwrap();
    wait_for("a failed attempt", || {
        queue().list().first().is_some_and(|e| e.attempts >= 1)
    })
    .await;
    queue().list().remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_certificate_when_tls_required_defers_without_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let (sink, _ca) = tls_sink(dir.path()).await;
    // The Mozilla roots do not vouch for the sink's self-signed certificate.
    let relay = "tls = \"required\"\ntls_name = \"localhost\"";
    let server = Server::start(&setup_relay(dir.path(), 0, sink.addr, relay)).await;
    let envelope = &submit_and_wait_for_an_attempt(dir.path(), server.addr).await;
    let why = envelope.recipients[0].last_reply.clone().unwrap();
    assert!(why.starts_with("4.7.5"), "{why}");
    assert_eq!(
        envelope.recipients[0].state,
        RcptState::Pending,
        "deferred, not bounced"
    );
    assert_eq!(sink.state().mail_commands, 0, "no plaintext fallback");
    assert!(inbox(dir.path(), "alice").is_empty(), "no DSN");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_required_but_not_offered_defers() {
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = setup_relay(dir.path(), 0, sink.addr, "tls = \"required\"");
    let server = Server::start(&config).await;
    let envelope = submit_and_wait_for_an_attempt(dir.path(), server.addr).await;
    let why = envelope.recipients[0].last_reply.clone().unwrap();
    assert!(why.starts_with("4.7.10"), "{why}");
    assert_eq!(sink.state().mail_commands, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_answers_452_and_rates_451() {
    let (sink, dir, server) = start_with(Extra {
        limits: "submission_max_messages_per_hour = 2",
        queue: "max_messages = 1",
    })
    .await;
    // One message already waits (its host refuses for a while), so the queue is full.
    sink.state()
        .data_replies
        .extend(std::iter::repeat_n("451 4.3.0 later".to_owned(), 30));
    assert_eq!(
        submit_and_wait_for_an_attempt(dir.path(), server.addr)
            .await
            .attempts,
        1
    );
    let mut s = Smtp::connect(server.addr).await;
    s.cmd("EHLO client.test").await;
    assert_eq!(s.cmd("AUTH PLAIN AGFsaWNlAHB3LWFsaWNl").await.0, 235);
    assert_eq!(s.cmd("MAIL FROM:<alice@example.test>").await.0, 250);
    let (code, text) = s.cmd("RCPT TO:<y@far.example>").await;
    assert_eq!(code, 452, "{text}");
    assert!(text.contains("4.3.1"), "{text}");
    // Local recipients still work when the queue is full.
    assert_eq!(s.cmd("RCPT TO:<bob@example.test>").await.0, 250);
    assert_eq!(s.cmd("RSET").await.0, 250);
    // The third MAIL this hour is over the rate.
    let (code, text) = s.cmd("MAIL FROM:<alice@example.test>").await;
    assert_eq!(code, 451, "{text}");
    assert!(text.contains("4.7.1"), "{text}");
    let _ = s.cmd("QUIT").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_errors_end_with_421() {
    let (_sink, _dir, server) = start_with(Extra {
        limits: "smtp_max_errors = 3",
        ..Extra::default()
    })
    .await;
    let mut s = Smtp::connect(server.addr).await;
    s.cmd("EHLO client.test").await;
    // One error the codec finds and two refusals of the submission policy share the limit.
    assert_eq!(s.cmd("BOGUS").await.0, 500);
    assert_eq!(s.cmd("MAIL FROM:<alice@example.test>").await.0, 530);
    let (code, text) = s.cmd("MAIL FROM:<alice@example.test>").await;
    assert_eq!(code, 530, "{text}");
    let (code, text) = s.reply().await;
    assert_eq!(code, 421, "{text}");
    let mut rest = String::new();
    let n = s.read.read_line(&mut rest).await.unwrap();
    assert_eq!(n, 0, "closed after 421, got {rest:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_message_bounces_once_and_null_sender_never_does() {
    let (sink, dir, server) = start_with(Extra {
        queue: "max_age_secs = 3600",
        ..Extra::default()
    })
    .await;
    let queue = Queue::open(&[dir.path().join("replica-a")], Default::default(), false).unwrap();
    let long_ago = SystemTime::now() - Duration::from_secs(7200);
    for sender in ["alice@example.test", ""] {
        queue
            .enqueue(
                sender,
                &["x@far.example".to_owned()],
                &mut &MESSAGE[..],
                long_ago,
            )
            .unwrap();
    }
    wait_for("empty queue", || queue_len(dir.path()) == 0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alice = inbox(dir.path(), "alice");
    assert_eq!(alice.len(), 1, "one DSN, for the non-null sender only");
    let dsn = String::from_utf8_lossy(&alice[0]);
    assert!(dsn.contains("Status: 4.4.7"), "{dsn}");
    assert_eq!(sink.state().ended, 0, "expired mail is not sent");
    assert_eq!(queue_len(dir.path()), 0, "no DSN queued for <>");
    server.stop().await;
}

#[test]
fn queue_verbs_list_show_hold_release_delete() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), 0, "127.0.0.1:9".parse().unwrap());
    let id = Queue::open(&[dir.path().join("replica-a")], Default::default(), false)
        .unwrap()
        .enqueue(
            "alice@example.test",
            &["x@far.example".to_owned()],
            &mut &MESSAGE[..],
            SystemTime::now(),
        )
        .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gradwell"))
            .arg("queue")
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let listed: Vec<Envelope> = serde_json::from_str(&run(&["--json", "list"])).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].recipients[0].state, RcptState::Pending);
    assert!(run(&["list"]).contains(&id));
    run(&["hold", &id]);
    let shown: Envelope = serde_json::from_str(&run(&["--json", "show", &id])).unwrap();
    assert!(shown.held);
    assert!(run(&["show", &id]).contains("Subject: relay"));
    run(&["release", &id]);
    let shown: Envelope = serde_json::from_str(&run(&["--json", "show", &id])).unwrap();
    assert!(!shown.held);
    run(&["retry", "all"]);
    let deleted: serde_json::Value =
        serde_json::from_str(&run(&["--json", "delete", &id])).unwrap();
    assert_eq!(deleted["ok"], true);
    assert_eq!(run(&["list"]).trim(), "0 message(s)");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args(["queue", "--config"])
        .arg(&config)
        .args(["show", "../../etc/passwd"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "IDs are hex only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_networks_submit_without_auth() {
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), 0, sink.addr);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "allow_cleartext_auth = true",
        "allow_cleartext_auth = true\ntrusted_networks = [\"127.0.0.0/8\", \"::1\"]",
    );
    std::fs::write(&config, text).unwrap();
    let server = Server::start(&config).await;
    let mut s = Smtp::connect(server.addr).await;
    s.cmd("EHLO webapp.test").await;
    assert_eq!(s.cmd("MAIL FROM:<app@elsewhere.example>").await.0, 250);
    assert_eq!(s.cmd("RCPT TO:<x@far.example>").await.0, 250);
    assert_eq!(s.cmd("DATA").await.0, 354);
    assert_eq!(s.cmd("Subject: from the app\r\n\r\nhi\r\n.").await.0, 250);
    let _ = s.cmd("QUIT").await;
    wait_for("relay", || sink.state().accepted.len() == 1).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_auth_timeout_applies_until_auth() {
    let (_sink, _dir, server) = start_with(Extra {
        limits: "pre_auth_timeout_secs = 1",
        ..Extra::default()
    })
    .await;
    // Greeting with EHLO is not enough on submission: only AUTH ends the short timeout.
    let mut s = Smtp::connect(server.addr).await;
    assert_eq!(s.cmd("EHLO client.test").await.0, 250);
    let started = std::time::Instant::now();
    let (code, text) = s.reply().await;
    assert_eq!(code, 421, "{text}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // After AUTH the idle timeout (600 s) applies instead.
    let mut s = Smtp::connect(server.addr).await;
    s.cmd("EHLO client.test").await;
    assert_eq!(s.cmd("AUTH PLAIN AGFsaWNlAHB3LWFsaWNl").await.0, 235);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(s.cmd("NOOP").await.0, 250);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_eight_bit_message_streams_across_chunk_boundaries() {
    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), 0, sink.addr);
    // CRLF split across the 64 KiB read boundary, a dot line right after it, 8-bit text.
    let mut content = b"Subject: big\r\n\r\n".to_vec();
    while content.len() + 100 < 65_535 {
        content.extend_from_slice(&[b'a'; 98]);
        content.extend_from_slice(b"\r\n");
    }
    content.resize(65_535, b'b');
    content.extend_from_slice(b"\r\n.dot after the boundary\r\n");
    for _ in 0..3000 {
        content.extend_from_slice("caf\u{e9} ligne \u{2014} 8-bit\r\n".as_bytes());
    }
    Queue::open(&[dir.path().join("replica-a")], Default::default(), false)
        .unwrap()
        .enqueue(
            "alice@example.test",
            &["x@far.example".to_owned()],
            &mut content.as_slice(),
            SystemTime::now(),
        )
        .unwrap();
    let server = Server::start(&config).await;
    wait_for("relay", || sink.state().accepted.len() == 1).await;
    assert!(sink.state().accepted[0].1 == content, "byte-exact");
    assert!(!sink.state().bare_line_endings);
    server.stop().await;
}

/// A DNS server for the MX test: `far.example` has an MX, `nomx.example` only an address
/// (implicit MX), `nullmx.example` a null MX (RFC 7505), `gone.example` does not exist.
async fn fake_dns() -> SocketAddr {
    use hickory_resolver::proto::{
        op::{Message, ResponseCode},
        rr::{
            Name, RData, Record, RecordType,
            rdata::{A, MX},
        },
    };
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
            reply.metadata.recursion_desired = query.metadata.recursion_desired;
            reply.metadata.recursion_available = true;
            for q in &query.queries {
                reply.add_query(q.clone());
                let name = q.name().to_ascii().to_ascii_lowercase();
                let answer = |data| Record::from_rdata(q.name().clone(), 60, data);
                let localhost = RData::A(A(std::net::Ipv4Addr::LOCALHOST));
                match (name.as_str(), q.query_type()) {
                    ("far.example.", RecordType::MX) => {
                        let mx = Name::from_ascii("mx.far.example.").unwrap();
                        reply.add_answer(answer(RData::MX(MX::new(10, mx))));
                    }
                    ("nullmx.example.", RecordType::MX) => {
                        reply.add_answer(answer(RData::MX(MX::new(0, Name::root()))));
                    }
                    ("mx.far.example." | "nomx.example.", RecordType::A) => {
                        reply.add_answer(answer(localhost));
                    }
                    ("gone.example.", _) => reply.metadata.response_code = ResponseCode::NXDomain,
                    _ => {}
                }
            }
            let _ = socket.send_to(&reply.to_vec().unwrap(), peer).await;
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mx_lookup_routes_per_domain_and_fails_null_mx_and_missing_domains() {
    let sink = Sink::start().await;
    let dns = fake_dns().await;
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), 0, sink.addr);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &format!("smart_host = \"{}\"\n", sink.addr),
        &format!(
            "dns_servers = [\"{dns}\"]\nmx_port = {}\n",
            sink.addr.port()
        ),
    );
    std::fs::write(&config, text).unwrap();
    let server = Server::start(&config).await;
    let to = [
        "a@far.example",
        "b@nomx.example",
        "c@nullmx.example",
        "d@gone.example",
    ];
    assert_eq!(Smtp::submit(server.addr, &to, MESSAGE).await.0, 250);
    wait_for("empty queue", || queue_len(dir.path()) == 0).await;
    let mut delivered: Vec<Vec<String>> = sink
        .state()
        .accepted
        .iter()
        .map(|(r, _)| r.clone())
        .collect();
    delivered.sort();
    assert_eq!(
        delivered,
        [["a@far.example"], ["b@nomx.example"]],
        "one transaction per domain"
    );
    let alice = inbox(dir.path(), "alice");
    assert_eq!(alice.len(), 1, "one DSN");
    let dsn = String::from_utf8_lossy(&alice[0]);
    assert!(
        dsn.contains(
            "Final-Recipient: rfc822; c@nullmx.example\r\nAction: failed\r\nStatus: 5.1.10"
        ),
        "{dsn}"
    );
    assert!(
        dsn.contains("Final-Recipient: rfc822; d@gone.example\r\nAction: failed\r\nStatus: 5.1.2"),
        "{dsn}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_authenticates_with_plain_or_login() {
    for (offer, expected) in [
        (
            "PLAIN LOGIN",
            &["AUTH PLAIN AHJlbGF5LXVzZXIAcmVsYXktcHc="][..],
        ),
        (
            "LOGIN",
            &["AUTH LOGIN", "cmVsYXktdXNlcg==", "cmVsYXktcHc="][..],
        ),
    ] {
        let sink = Sink::start().await;
        sink.state().auth_offer = Some(offer);
        let dir = tempfile::tempdir().unwrap();
        let relay = "tls = \"none\"\nusername = \"relay-user\"\npassword = \"relay-pw\"";
        let server = Server::start(&setup_relay(dir.path(), 0, sink.addr, relay)).await;
        assert_eq!(
            Smtp::submit(server.addr, &["x@far.example"], MESSAGE)
                .await
                .0,
            250
        );
        wait_for("relay", || sink.state().accepted.len() == 1).await;
        assert_eq!(sink.state().auth_lines, expected, "{offer}");
        server.stop().await;
    }
}
