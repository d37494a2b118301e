//! Whole sessions against a server running in-process on loopback: SMTP and LMTP delivery,
//! POP3 retrieval and deletion, locking, TLS, PROXY headers, timeouts and shutdown.

mod common;

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf, WriteHalf},
    net::TcpStream,
    sync::oneshot,
};

/// Listener order in [`Server::start`]'s config.
const POP3: usize = 0;
const POP3S: usize = 1;
const SMTP: usize = 2;
const LMTP: usize = 3;
const SMTP_PROXY: usize = 4;
const POP3_TLS_ONLY: usize = 5;

struct Server {
    dir: tempfile::TempDir,
    addrs: Vec<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(limits: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("replica-a");
        std::fs::create_dir(&root).unwrap();
        maildir_store::maildir::Maildir::init_replica(&root).unwrap();
        std::fs::write(
            dir.path().join("users"),
            "alice:{PLAIN}pw-alice\nbob:{PLAIN}pw-bob\ncarol:{PLAIN}pw-carol\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("aliases"), "team@example.test alice, bob\n").unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
        let text = format!(
            r#"
hostname = "mx.example.test"
local_domains = ["example.test"]
users_file = "users"
aliases_file = "aliases"
postmaster = "alice"
lmtp_socket = "lmtp.sock"
[tls]
cert = "cert.pem"
key = "key.pem"
[storage]
mirror_sets = [["replica-a"]]
fsync = false
[limits]
auth_penalty_initial_ms = 10
auth_penalty_max_ms = 20
shutdown_grace_secs = 5
{limits}
[[listener]]
service = "pop3"
address = "127.0.0.1:0"
allow_cleartext_auth = true
[[listener]]
service = "pop3"
address = "127.0.0.1:0"
tls = "implicit"
[[listener]]
service = "smtp"
address = "127.0.0.1:0"
[[listener]]
service = "lmtp"
address = "127.0.0.1:0"
tls = "none"
[[listener]]
service = "smtp"
address = "127.0.0.1:0"
tls = "none"
proxy_protocol = true
[[listener]]
service = "pop3"
address = "127.0.0.1:0"
"#
        );
        let path = dir.path().join("test.toml");
        std::fs::write(&path, text).unwrap();
        let (addrs, stop_tx, done) = common::serve_here(&path).await;
        Server {
            dir,
            addrs,
            stop: Some(stop_tx),
            done,
        }
    }

    async fn connect(&self, which: usize) -> Client<TcpStream> {
        Client::new(TcpStream::connect(self.addrs[which]).await.unwrap())
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    async fn stop(mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        self.done.await.unwrap().unwrap();
    }
}

struct Client<S> {
    reader: BufReader<ReadHalf<S>>,
    writer: WriteHalf<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    fn new(stream: S) -> Self {
        let (r, w) = tokio::io::split(stream);
        Client {
            reader: BufReader::new(r),
            writer: w,
        }
    }

    fn into_inner(self) -> S {
        self.reader.into_inner().unsplit(self.writer)
    }

    async fn send(&mut self, data: &str) {
        self.writer.write_all(data.as_bytes()).await.unwrap();
    }

    async fn line(&mut self) -> String {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(10), self.reader.read_line(&mut line))
            .await
            .expect("reply in time")
            .unwrap();
        line
    }

    /// A whole SMTP reply (all its lines).
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let line = self.line().await;
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] == b' ' {
                return all;
            }
        }
    }

    /// A POP3 multi-line body, dot-unstuffed, without the terminating line.
    async fn multiline(&mut self) -> String {
        let mut body = String::new();
        loop {
            let line = self.line().await;
            if line == ".\r\n" {
                return body;
            }
            body.push_str(line.strip_prefix('.').unwrap_or(&line));
        }
    }
}

async fn smtp_deliver(server: &Server, rcpts: &[&str], message: &str) -> String {
    let mut c = server.connect(SMTP).await;
    assert!(c.reply().await.starts_with("220 "));
    c.send("EHLO client.example.net\r\n").await;
    let ehlo = c.reply().await;
    for keyword in [
        "PIPELINING",
        "SIZE",
        "8BITMIME",
        "SMTPUTF8",
        "CHUNKING",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
    ] {
        assert!(ehlo.contains(keyword), "{keyword} in {ehlo}");
    }
    c.send("MAIL FROM:<sender@example.net>\r\n").await;
    assert!(c.reply().await.starts_with("250 "));
    for r in rcpts {
        c.send(&format!("RCPT TO:<{r}>\r\n")).await;
        assert!(c.reply().await.starts_with("250 "), "{r}");
    }
    c.send("DATA\r\n").await;
    assert!(c.reply().await.starts_with("354 "));
    c.send(&stuff(message)).await;
    c.send(".\r\n").await;
    let end = c.reply().await;
    c.send("QUIT\r\n").await;
    end
}

/// RFC 5321 §4.5.2 transparency: a line starting with "." gets another one.
fn stuff(message: &str) -> String {
    let stuffed = message.replace("\r\n.", "\r\n..");
    match stuffed.strip_prefix('.') {
        Some(_) => format!(".{stuffed}"),
        None => stuffed,
    }
}

async fn pop3_login<S: AsyncRead + AsyncWrite + Unpin>(c: &mut Client<S>, user: &str) -> String {
    assert!(c.line().await.starts_with("+OK"));
    c.send(&format!("USER {user}\r\nPASS pw-{user}\r\n")).await;
    assert!(c.line().await.starts_with("+OK"));
    c.line().await
}

const MESSAGE: &str = "Subject: test\r\n\r\nline one\r\n.starts with a dot\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_delivery_then_pop3_retr_dele_quit() {
    let server = Server::start("").await;
    let end = smtp_deliver(&server, &["alice@example.test"], MESSAGE).await;
    assert!(end.starts_with("250 2.0.0"), "{end}");

    let mut c = server.connect(POP3).await;
    assert!(pop3_login(&mut c, "alice").await.starts_with("+OK"));
    c.send("STAT\r\nRETR 1\r\n").await;
    let stat = c.line().await;
    assert!(stat.starts_with("+OK 1 "), "{stat}");
    assert!(c.line().await.starts_with("+OK"));
    let body = c.multiline().await;
    assert!(body.starts_with("Return-Path: <sender@example.net>\r\nReceived: from client.example.net ([127.0.0.1])\r\n"), "{body}");
    assert!(
        body.ends_with(MESSAGE),
        "byte-exact content after the trace fields: {body}"
    );
    let size: usize = stat.split(' ').nth(2).unwrap().trim().parse().unwrap();
    assert_eq!(size, body.len(), "STAT counts the octets RETR sends");
    c.send("UIDL 1\r\nDELE 1\r\nSTAT\r\nQUIT\r\n").await;
    let uidl = c.line().await;
    assert!(uidl.starts_with("+OK 1 "), "{uidl}");
    assert!(c.line().await.starts_with("+OK"));
    assert!(c.line().await.starts_with("+OK 0 0"));
    assert!(c.line().await.starts_with("+OK"));

    let mut c = server.connect(POP3).await;
    pop3_login(&mut c, "alice").await;
    c.send("STAT\r\n").await;
    assert!(
        c.line().await.starts_with("+OK 0 0"),
        "DELE + QUIT removed it"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pop3_lock_dropped_connection_and_stable_uidl() {
    let server = Server::start("").await;
    smtp_deliver(&server, &["bob@example.test"], MESSAGE).await;
    let mut first = server.connect(POP3).await;
    assert!(pop3_login(&mut first, "bob").await.starts_with("+OK"));
    first.send("UIDL 1\r\nDELE 1\r\n").await;
    let uidl = first.line().await;
    assert!(first.line().await.starts_with("+OK"));

    let mut second = server.connect(POP3).await;
    let refused = pop3_login(&mut second, "bob").await;
    assert!(refused.starts_with("-ERR [IN-USE]"), "{refused}");

    drop(first); // no QUIT: nothing is deleted
    let mut third = None;
    for _ in 0..50 {
        let mut c = server.connect(POP3).await;
        if pop3_login(&mut c, "bob").await.starts_with("+OK") {
            third = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut c = third.expect("lock released after the connection dropped");
    c.send("STAT\r\nUIDL 1\r\n").await;
    assert!(c.line().await.starts_with("+OK 1 "));
    assert_eq!(c.line().await, uidl, "UIDL stable across sessions");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lmtp_answers_per_recipient_and_aliases_fan_out() {
    let server = Server::start("").await;
    let mut c = server.connect(LMTP).await;
    assert!(c.reply().await.starts_with("220 "));
    c.send("LHLO mta.example.test\r\nMAIL FROM:<>\r\nRCPT TO:<carol@example.test>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<team@example.test>\r\nDATA\r\n").await;
    assert!(c.reply().await.starts_with("250"));
    assert!(c.reply().await.starts_with("250 "));
    assert!(c.reply().await.starts_with("250 "));
    assert!(c.reply().await.starts_with("550 5.1.1"));
    assert!(c.reply().await.starts_with("250 "));
    assert!(c.reply().await.starts_with("354 "));
    c.send(&stuff(MESSAGE)).await;
    c.send(".\r\n").await;
    assert!(c.reply().await.starts_with("250 "), "carol");
    assert!(c.reply().await.starts_with("250 "), "team");
    for user in ["carol", "alice", "bob"] {
        let mut p = server.connect(POP3).await;
        pop3_login(&mut p, user).await;
        p.send("STAT\r\n").await;
        assert!(p.line().await.starts_with("+OK 1 "), "{user} got one copy");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_refused_and_unknown_users_rejected_at_rcpt() {
    let server = Server::start("").await;
    let mut c = server.connect(SMTP).await;
    c.reply().await;
    c.send("EHLO x.example.net\r\n").await;
    c.reply().await;
    c.send("MAIL FROM:<a@example.net>\r\n").await;
    c.reply().await;
    for (rcpt, want) in [
        ("u@elsewhere.net", "554 5.7.1"),
        ("u%elsewhere.net@example.test", "554 5.7.1"),
        ("\"u@elsewhere.net\"@example.test", "554 5.7.1"),
        ("elsewhere.net!u@example.test", "554 5.7.1"),
        ("alice@[127.0.0.1]", "554 5.7.1"),
        ("nobody@example.test", "550 5.1.1"),
        ("Postmaster", "250 "),
    ] {
        c.send(&format!("RCPT TO:<{rcpt}>\r\n")).await;
        let r = c.reply().await;
        assert!(r.starts_with(want), "{rcpt}: {r}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bdat_chunks_make_one_message() {
    let server = Server::start("").await;
    let mut c = server.connect(SMTP).await;
    c.reply().await;
    c.send("EHLO x.example.net\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<carol@example.test>\r\n")
        .await;
    for _ in 0..3 {
        assert!(c.reply().await.starts_with("250"));
    }
    let (a, b) = MESSAGE.split_at(10);
    c.send(&format!("BDAT {}\r\n{a}", a.len())).await;
    assert!(c.reply().await.starts_with("250 "));
    c.send(&format!("BDAT {} LAST\r\n{b}", b.len())).await;
    assert!(c.reply().await.starts_with("250 2.0.0"));
    let mut p = server.connect(POP3).await;
    pop3_login(&mut p, "carol").await;
    p.send("RETR 1\r\n").await;
    p.line().await;
    assert!(p.multiline().await.ends_with(MESSAGE));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_unavailable_is_451_never_250() {
    let server = Server::start("").await;
    // Without its marker the replica root is a failed array: nothing is created on it.
    std::fs::remove_file(server.dir.path().join("replica-a/gradwell-replica")).unwrap();
    let end = smtp_deliver(&server, &["carol@example.test"], MESSAGE).await;
    assert!(end.starts_with("451 4.3.0"), "{end}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_header_sets_the_client_address() {
    let server = Server::start("").await;
    let mut c = server.connect(SMTP_PROXY).await;
    c.send("PROXY TCP4 192.0.2.7 127.0.0.1 40000 25\r\n").await;
    assert!(c.reply().await.starts_with("220 "));
    c.send("HELO proxied.example.net\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n").await;
    for _ in 0..3 {
        c.reply().await;
    }
    assert!(c.reply().await.starts_with("354"));
    c.send(&stuff(MESSAGE)).await;
    c.send(".\r\n").await;
    assert!(c.reply().await.starts_with("250"));
    let mut p = server.connect(POP3).await;
    pop3_login(&mut p, "alice").await;
    p.send("RETR 1\r\n").await;
    p.line().await;
    let body = p.multiline().await;
    assert!(
        body.contains("from proxied.example.net ([192.0.2.7])") && body.contains("with SMTP"),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pop3s_and_stls_with_injection_discarded() {
    let server = Server::start("").await;
    smtp_deliver(&server, &["alice@example.test"], MESSAGE).await;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::pem::PemObject::pem_file_iter(server.cert()).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();

    let tcp = TcpStream::connect(server.addrs[POP3S]).await.unwrap();
    let tls = connector.connect(name.clone(), tcp).await.unwrap();
    let mut c = Client::new(tls);
    assert!(pop3_login(&mut c, "alice").await.starts_with("+OK"));
    c.send("QUIT\r\n").await;
    assert!(c.line().await.starts_with("+OK"));

    // STLS with a command injected in the same packet: it must never run.
    let mut c = server.connect(POP3).await;
    assert!(c.line().await.starts_with("+OK"));
    c.send("CAPA\r\n").await;
    c.line().await;
    assert!(c.multiline().await.contains("STLS"));
    c.send("STLS\r\nUSER alice\r\n").await;
    assert!(c.line().await.starts_with("+OK"));
    let tls = connector.connect(name, c.into_inner()).await.unwrap();
    let mut c = Client::new(tls);
    c.send("PASS pw-alice\r\n").await;
    assert!(
        c.line().await.starts_with("-ERR"),
        "the injected USER was discarded"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_auth_timeout_and_graceful_shutdown_say_goodbye() {
    let server = Server::start("pre_auth_timeout_secs = 1").await;
    let mut idle = server.connect(SMTP).await;
    idle.reply().await;
    let bye = idle.reply().await;
    assert!(bye.starts_with("421 4.4.2"), "{bye}");

    let mut c = server.connect(POP3).await;
    assert!(c.line().await.starts_with("+OK"));
    let mut server = server;
    let _ = server.stop.take().map(|s| s.send(()));
    let bye = c.line().await;
    assert!(bye.starts_with("-ERR [SYS/TEMP]"), "{bye}");
    server.done.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smuggled_message_is_never_delivered() {
    let server = Server::start("").await;
    let smuggle = "Subject: outer\r\n\r\nx\n.\nMAIL FROM:<evil@example.net>\r\n";
    let end = smtp_deliver(&server, &["bob@example.test"], smuggle).await;
    assert!(end.starts_with('5'), "bare LF refused: {end}");
    let mut p = server.connect(POP3).await;
    pop3_login(&mut p, "bob").await;
    p.send("STAT\r\n").await;
    assert!(p.line().await.starts_with("+OK 0 0"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_message_round_trip_and_top() {
    let server = Server::start("").await;
    let mut message = String::from("Subject: big\r\n\r\n");
    for i in 0..40_000 {
        message.push_str(&format!(
            ".line {i:06} of a message bigger than the in-memory spool\r\n"
        ));
    }
    let end = smtp_deliver(&server, &["carol@example.test"], &message).await;
    assert!(end.starts_with("250 "), "{end}");
    let mut p = server.connect(POP3).await;
    pop3_login(&mut p, "carol").await;
    p.send("RETR 1\r\n").await;
    let ok = p.line().await;
    let body = p.multiline().await;
    assert!(body.ends_with(&message), "byte-exact over several pieces");
    assert_eq!(ok, format!("+OK {} octets\r\n", body.len()));
    p.send("TOP 1 2\r\n").await;
    p.line().await;
    let top = p.multiline().await;
    assert!(
        top.ends_with("Subject: big\r\n\r\n.line 000000 of a message bigger than the in-memory spool\r\n.line 000001 of a message bigger than the in-memory spool\r\n"),
        "{top}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleartext_passwords_refused_and_not_advertised_before_tls() {
    let server = Server::start("").await;
    let mut c = server.connect(POP3_TLS_ONLY).await;
    assert!(c.line().await.starts_with("+OK"));
    c.send("CAPA\r\n").await;
    c.line().await;
    let caps = c.multiline().await;
    assert!(
        caps.contains("STLS") && !caps.contains("USER") && !caps.contains("SASL"),
        "{caps}"
    );
    c.send("USER alice\r\nAUTH PLAIN AGFsaWNlAHB3LWFsaWNl\r\n")
        .await;
    assert!(c.line().await.starts_with("-ERR [AUTH]"));
    assert!(c.line().await.starts_with("-ERR [AUTH]"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_capped() {
    let server = Server::start("max_connections_per_ip = 2").await;
    let mut a = server.connect(SMTP).await;
    let mut b = server.connect(SMTP).await;
    assert!(a.reply().await.starts_with("220 "));
    assert!(b.reply().await.starts_with("220 "));
    let mut refused = server.connect(SMTP).await;
    assert!(refused.reply().await.starts_with("421 4.7.0"));
    drop(a);
    let mut again = None;
    for _ in 0..50 {
        let mut c = server.connect(SMTP).await;
        if c.reply().await.starts_with("220 ") {
            again = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "a freed slot is usable again");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pop3_auth_plain_and_login() {
    let server = Server::start("").await;
    let mut c = server.connect(POP3).await;
    assert!(c.line().await.starts_with("+OK"));
    // base64("\0alice\0pw-alice")
    c.send("AUTH PLAIN AGFsaWNlAHB3LWFsaWNl\r\nSTAT\r\nQUIT\r\n")
        .await;
    assert!(c.line().await.starts_with("+OK"));
    assert!(c.line().await.starts_with("+OK 0 0"));
    assert!(c.line().await.starts_with("+OK"));
    let mut c = server.connect(POP3).await;
    assert!(c.line().await.starts_with("+OK"));
    c.send("AUTH LOGIN\r\n").await;
    assert_eq!(c.line().await, "+ VXNlcm5hbWU6\r\n");
    c.send("Ym9i\r\n").await; // bob
    assert_eq!(c.line().await, "+ UGFzc3dvcmQ6\r\n");
    c.send("cHctYm9i\r\n").await; // pw-bob
    assert!(c.line().await.starts_with("+OK"));
    let mut c = server.connect(POP3).await;
    assert!(c.line().await.starts_with("+OK"));
    c.send("AUTH PLAIN AGFsaWNlAHdyb25n\r\n").await; // wrong password
    assert!(c.line().await.starts_with("-ERR [AUTH]"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lmtp_over_a_unix_socket() {
    let server = Server::start("").await;
    let stream = tokio::net::UnixStream::connect(server.dir.path().join("lmtp.sock"))
        .await
        .unwrap();
    let mut c = Client::new(stream);
    assert!(c.reply().await.starts_with("220 "));
    c.send("LHLO mta.example.test\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n").await;
    for _ in 0..3 {
        assert!(c.reply().await.starts_with("250"));
    }
    assert!(c.reply().await.starts_with("354"));
    c.send(&stuff(MESSAGE)).await;
    c.send(".\r\n").await;
    assert!(c.reply().await.starts_with("250 "));
    let mut p = server.connect(POP3).await;
    pop3_login(&mut p, "alice").await;
    p.send("RETR 1\r\n").await;
    p.line().await;
    let body = p.multiline().await;
    assert!(
        body.contains("with LMTP") && body.ends_with(MESSAGE),
        "{body}"
    );
    server.stop().await;
}
