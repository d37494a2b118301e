//! Operations against the real `gradwell` binary over loopback: the metrics and health
//! listener, runtime log levels and redacted protocol traces, reload, the SIGTERM drain with
//! a ledger, `check-config`, `print-default-config` and `print-systemd-unit`.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use gradwell_server::config::{Config, Limits, MetricsConfig, default_config_text};
use maildir_store::{MailStore, MailboxName, UserId, maildir::Maildir};

const PASSWORD: &str = "s3cret-Pw-xyzzy";

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A scratch setup: two initialised replica roots, a users file, a config.
struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    smtp: u16,
    pop3: u16,
    imap: u16,
    metrics: u16,
}

impl Setup {
    fn new(extra_top: &str) -> Setup {
        Setup::with_listeners(extra_top, "")
    }

    /// `extra_top` goes before the first section, `extra_listeners` after the last.
    fn with_listeners(extra_top: &str, extra_listeners: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        for r in ["replica-a", "replica-b"] {
            let root = dir.path().join(r);
            std::fs::create_dir(&root).unwrap();
            Maildir::init_replica(&root).unwrap();
        }
        std::fs::write(
            dir.path().join("users"),
            format!("alice:{{PLAIN}}{PASSWORD}\n"),
        )
        .unwrap();
        let (smtp, pop3, imap, metrics) = (free_port(), free_port(), free_port(), free_port());
        let config = dir.path().join("gradwell.toml");
        std::fs::write(
            &config,
            format!(
                r#"
hostname = "mx.example.test"
local_domains = ["example.test"]
users_file = "users"
postmaster = "alice"
{extra_top}
[metrics]
listen = "127.0.0.1:{metrics}"
[storage]
mirror_sets = [["replica-a", "replica-b"]]
[limits]
auth_penalty_initial_ms = 10
auth_penalty_max_ms = 20
shutdown_grace_secs = 10
[[listener]]
service = "smtp"
address = "127.0.0.1:{smtp}"
tls = "none"
[[listener]]
service = "pop3"
address = "127.0.0.1:{pop3}"
tls = "none"
allow_cleartext_auth = true
[[listener]]
service = "imap"
address = "127.0.0.1:{imap}"
tls = "none"
allow_cleartext_auth = true
{extra_listeners}
"#
            ),
        )
        .unwrap();
        Setup {
            dir,
            config,
            smtp,
            pop3,
            imap,
            metrics,
        }
    }

    fn gradwell(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gradwell"))
            .args(args)
            .args(["--config", self.config.to_str().unwrap()])
            .output()
            .unwrap()
    }

    fn serve(&self) -> Child {
        self.serve_notifying(None)
    }

    /// Starts the server, with `NOTIFY_SOCKET` set to `notify` when given.
    fn serve_notifying(&self, notify: Option<&Path>) -> Child {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gradwell"));
        command
            .args(["serve", "--config", self.config.to_str().unwrap()])
            .env_remove("RUST_LOG")
            .env_remove("NOTIFY_SOCKET")
            .stderr(Stdio::piped());
        if let Some(socket) = notify {
            command.env("NOTIFY_SOCKET", socket);
        }
        let child = command.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http(self.metrics, "GET", "/healthz/ready").map(|r| r.0) != Some(200) {
            assert!(Instant::now() < deadline, "server never became ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    fn root(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// One HTTP request; the status code and body, or `None` if nothing listens.
fn http(port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_owned()))
}

struct Talk {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Talk {
    fn connect(port: u16) -> (Talk, String) {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut t = Talk {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
        };
        let greeting = t.line();
        (t, greeting)
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        let _ = self.reader.read_line(&mut line);
        line
    }

    fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
    }

    fn ask(&mut self, command: &str) -> String {
        self.send(&format!("{command}\r\n"));
        self.line()
    }

    /// An SMTP transaction up to the body: EHLO's lines, MAIL, RCPT, DATA.
    fn smtp_to_data(&mut self) {
        self.send("EHLO client.example.net\r\n");
        while self.line().starts_with("250-") {}
        assert!(self.ask("MAIL FROM:<a@example.net>").starts_with("250 "));
        assert!(self.ask("RCPT TO:<alice@example.test>").starts_with("250 "));
        assert!(self.ask("DATA").starts_with("354 "));
    }
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in\n{text}"))
}

/// Sends `which` (`-TERM`, `-HUP`) to process `pid`.
fn signal(which: &str, pid: &str) {
    let ok = Command::new("kill").args([which, pid]).status().unwrap();
    assert!(ok.success(), "kill {which} {pid}");
}

fn stop(server: Child) -> String {
    signal("-TERM", &server.id().to_string());
    stop_waiting(server)
}

fn inbox_len(root: &Path) -> usize {
    let store = Maildir::open(root, Default::default()).unwrap();
    let alice = UserId::new("alice").unwrap();
    match store.open(&alice, &MailboxName::inbox()) {
        Ok(view) => view.messages.len(),
        Err(_) => 0,
    }
}

#[test]
fn metrics_health_log_levels_and_redacted_traces() {
    let s = Setup::new("protocol_trace = true\nlog_level = \"info\"\naliases_file = \"aliases\"");
    std::fs::write(s.dir.path().join("aliases"), "# none yet\n").unwrap();
    let server = s.serve();
    let (code, body) = http(s.metrics, "GET", "/healthz/ready").unwrap();
    assert_eq!(code, 200);
    assert!(body.contains("set 0 ok"), "{body}");
    assert_eq!(http(s.metrics, "GET", "/healthz/live").unwrap().0, 200);

    // Traces are off at level info; turn them on at runtime through the admin channel.
    let out = s.gradwell(&["log-level", "info,gradwell_server::trace=debug"]);
    assert!(out.status.success(), "{out:?}");

    let (mut c, _) = Talk::connect(s.smtp);
    c.smtp_to_data();
    assert!(c.ask("Subject: x\r\n\r\nhello\r\n.").starts_with("250 "));
    c.ask("QUIT");
    let (mut p, _) = Talk::connect(s.pop3);
    assert!(p.ask("USER alice").starts_with("+OK"));
    assert!(p.ask("PASS wrong-Pw-plugh").starts_with("-ERR"));
    assert!(p.ask("USER alice").starts_with("+OK"));
    assert!(p.ask(&format!("PASS {PASSWORD}")).starts_with("+OK"));
    assert!(p.ask("QUIT").starts_with("+OK"));
    let (mut i, _) = Talk::connect(s.imap);
    assert!(
        i.ask(&format!("a1 LOGIN alice {PASSWORD}"))
            .starts_with("a1 OK")
    );
    i.ask("a2 LOGOUT");

    let (_, text) = http(s.metrics, "GET", "/metrics").unwrap();
    for (name, at_least) in [
        ("gradwell_connections_total{protocol=\"smtp\"}", 1.0),
        ("gradwell_connections_total{protocol=\"pop3\"}", 1.0),
        (
            "gradwell_commands_total{protocol=\"smtp\",command=\"DATA\"}",
            1.0,
        ),
        (
            "gradwell_commands_total{protocol=\"imap\",command=\"LOGIN\"}",
            1.0,
        ),
        ("gradwell_auth_failures_total", 1.0),
        ("gradwell_deliveries_total{result=\"ok\"}", 1.0),
        (
            "gradwell_command_duration_seconds_count{protocol=\"pop3\"}",
            4.0,
        ),
        // The delivery's own fsyncs (message file and directory) on each replica.
        (
            "gradwell_replica_fsync_seconds_count{set=\"0\",replica=\"0\"}",
            2.0,
        ),
        (
            "gradwell_replica_fsync_seconds_count{set=\"0\",replica=\"1\"}",
            2.0,
        ),
        ("gradwell_replica_writable{set=\"0\",replica=\"0\"}", 1.0),
        ("gradwell_listeners_ready", 1.0),
    ] {
        assert!(metric(&text, name) >= at_least, "{name} in\n{text}");
    }
    assert_eq!(metric(&text, "gradwell_mirror_degraded{set=\"0\"}"), 0.0);
    assert_eq!(metric(&text, "gradwell_queue_messages"), 0.0);
    assert_eq!(
        metric(&text, "gradwell_connections_open{protocol=\"smtp\"}"),
        0.0
    );

    // A replica root that disappears: still ready (one replica serves), reported degraded.
    std::fs::rename(s.root("replica-b"), s.root("replica-b.gone")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, body) = http(s.metrics, "GET", "/healthz/ready").unwrap();
        if body.contains("set 0 degraded") {
            assert_eq!(code, 200, "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "never degraded: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, text) = http(s.metrics, "GET", "/metrics").unwrap();
    assert_eq!(metric(&text, "gradwell_mirror_degraded{set=\"0\"}"), 1.0);
    std::fs::rename(s.root("replica-b.gone"), s.root("replica-b")).unwrap();

    // Reload re-reads the file (log_level info turns the traces off again) and the aliases.
    let rcpt_bob = || {
        let (mut c, _) = Talk::connect(s.smtp);
        assert!(c.ask("HELO x").starts_with("250"));
        assert!(c.ask("MAIL FROM:<a@example.net>").starts_with("250"));
        c.ask("RCPT TO:<bob@example.test>")
    };
    assert!(rcpt_bob().starts_with("550"), "no alias yet");
    std::fs::write(
        s.dir.path().join("aliases"),
        "bob@example.test alice@example.test\n",
    )
    .unwrap();
    let out = s.gradwell(&["reload"]);
    assert!(out.status.success(), "{out:?}");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("1 users"), "{report}");
    assert!(report.contains("aliases reloaded"), "{report}");
    let answer = rcpt_bob();
    assert!(answer.starts_with("250"), "alias after reload: {answer}");
    let (_, text) = http(s.metrics, "GET", "/metrics").unwrap();
    assert!(metric(&text, "gradwell_config_reloads_total{result=\"ok\"}") >= 1.0);

    let log = stop(server);
    assert!(log.contains("C: PASS <redacted>"), "{log}");
    assert!(log.contains("C: a1 LOGIN <redacted>"), "{log}");
    assert!(log.contains("S: 354 "), "{log}");
    assert!(!log.contains(PASSWORD), "password in the log:\n{log}");
    assert!(
        !log.contains("wrong-Pw-plugh"),
        "password in the log:\n{log}"
    );
    assert!(log.contains("log level changed"), "{log}");
    assert!(log.contains("configuration reloaded"), "{log}");
}

#[test]
fn sigterm_drains_without_losing_or_inventing_mail() {
    let s = Setup::new("");
    let server = s.serve();
    // Delivered before the signal: must be kept.
    let mut done = Vec::new();
    for _ in 0..3 {
        let (mut c, _) = Talk::connect(s.smtp);
        c.smtp_to_data();
        assert!(
            c.ask("Subject: early\r\n\r\nhello\r\n.")
                .starts_with("250 ")
        );
        done.push(c);
    }
    // Inside DATA when the signal comes: refused (421), never delivered.
    let mut half = Vec::new();
    for _ in 0..3 {
        let (mut c, _) = Talk::connect(s.smtp);
        c.smtp_to_data();
        c.send("Subject: half\r\n\r\nthe first half of a body\r\n");
        half.push(c);
    }
    // Idle sessions of every protocol: told goodbye.
    let (mut idle_smtp, _) = Talk::connect(s.smtp);
    assert!(idle_smtp.ask("EHLO x").starts_with("250"));
    while !idle_smtp.line().starts_with("250 ") {}
    let (mut idle_pop3, _) = Talk::connect(s.pop3);
    let (mut idle_imap, _) = Talk::connect(s.imap);
    // IMAP: one APPEND done before the signal (kept), one inside its literal (refused).
    let (mut appender, _) = Talk::connect(s.imap);
    assert!(
        appender
            .ask(&format!("a1 LOGIN alice {PASSWORD}"))
            .starts_with("a1 OK")
    );
    let message = "Subject: appended\r\n\r\nbody\r\n";
    assert!(
        appender
            .ask(&format!("a2 APPEND INBOX {{{}}}", message.len()))
            .starts_with("+ ")
    );
    let appended = appender.ask(message);
    assert!(appended.starts_with("a2 OK"), "{appended}");
    assert!(appender.ask("a3 APPEND INBOX {100}").starts_with("+ "));
    appender.send("Subject: half an append\r\n");
    // Racing the signal: each gets 250 (and is kept) or 421 (and is not).
    let mut racing = Vec::new();
    for _ in 0..3 {
        let (mut c, _) = Talk::connect(s.smtp);
        c.smtp_to_data();
        racing.push(c);
    }
    let pid = server.id().to_string();
    let racers = std::thread::spawn(move || {
        racing
            .into_iter()
            .map(|mut c| c.ask("Subject: race\r\n\r\nbody\r\n.").starts_with("250 "))
            .collect::<Vec<bool>>()
    });
    signal("-TERM", &pid);
    let raced = racers.join().unwrap();
    for mut c in half {
        let answer = c.line();
        assert!(answer.starts_with("421 "), "inside DATA: {answer:?}");
    }
    assert!(idle_smtp.line().starts_with("421 "));
    assert!(idle_pop3.line().starts_with("-ERR [SYS/TEMP]"));
    let bye = idle_imap.line();
    assert!(bye.starts_with("* BYE"), "{bye}");
    let bye = appender.line();
    assert!(bye.starts_with("* BYE"), "inside APPEND: {bye}");
    let log = stop_waiting(server);
    assert!(log.contains("stopped"), "{log}");
    let accepted = done.len() + 1 + raced.iter().filter(|ok| **ok).count();
    // The ledger: exactly the acknowledged messages, on both replicas.
    assert_eq!(inbox_len(&s.root("replica-a")), accepted);
    assert_eq!(inbox_len(&s.root("replica-b")), accepted);
}

/// Waits for a server already sent SIGTERM.
fn stop_waiting(mut server: Child) -> String {
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut log = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    log
}

#[test]
fn check_config_names_every_problem() {
    let s = Setup::new("");
    let out = s.gradwell(&["check-config"]);
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&s.config).unwrap();
    let bad = text
        .replace(
            &format!("127.0.0.1:{}", s.pop3),
            &format!("0.0.0.0:{}", s.smtp),
        )
        .replace("users_file = \"users\"", "users_file = \"no-such-users\"")
        .replace("replica-b", "replica-missing");
    std::fs::write(&s.config, bad).unwrap();
    let out = s.gradwell(&["check-config"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "key `users_file`",
        "key `listener[1].address`",
        "replica-missing is not a directory",
    ] {
        assert!(err.contains(want), "{want} missing in {err}");
    }
    std::fs::write(&s.config, "hostname = 3\n").unwrap();
    let out = s.gradwell(&["check-config"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("hostname"));
}

#[test]
fn default_config_parses_to_the_defaults_and_names_every_key() {
    let out = Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .arg("print-default-config")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, default_config_text());
    let c = Config::parse(&text).unwrap();
    let d = Limits::default();
    assert_eq!(format!("{:?}", c.limits), format!("{d:?}"));
    assert_eq!(c.log_level, "info");
    assert!(!c.protocol_trace);
    assert!(c.storage.fsync);
    assert_eq!(c.metrics, MetricsConfig::default());
    assert!(c.listeners.is_empty() && c.tls.is_none() && c.relay.is_none());
    assert!(c.aliases_file.is_none() && c.lmtp_socket.is_none());
    assert_eq!(
        format!("{:?}", c.queue),
        format!("{:?}", gradwell_server::queue::QueueConfig::default())
    );
    let (mirror, defaults) = (
        c.storage.mirror_options(),
        maildir_store::mirror::Options::default(),
    );
    assert_eq!(mirror.deadline, defaults.deadline);
    assert_eq!(mirror.workers_per_replica, defaults.workers_per_replica);
    assert_eq!(mirror.queue_depth, defaults.queue_depth);
    assert_eq!(mirror.trust_lone_replica, defaults.trust_lone_replica);
    // Every key a section accepts (serde's own field lists) appears in the text, set or
    // commented out, under its documentation.
    let mut missing = Vec::new();
    for (section, fields) in gradwell_server::config::sections() {
        for field in fields {
            let forms = [
                format!("\n{field} = "),
                format!("\n# {field} = "),
                format!("\n[{field}]\n"),
                format!("\n# [{field}]\n"),
                format!("\n# [[{field}]]\n"),
            ];
            if !forms.iter().any(|f| text.contains(f.as_str())) {
                missing.push(format!("[{section}] {field}"));
            }
        }
    }
    assert!(missing.is_empty(), "not in the default config: {missing:?}");
}

/// The printed file is a configuration an operator can start from: with the users file and
/// the replica roots it names in place, `check-config` passes it.
#[test]
fn printed_default_config_passes_check_config_once_its_files_exist() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gradwell.toml");
    std::fs::write(&config, default_config_text()).unwrap();
    let check = || {
        Command::new(env!("CARGO_BIN_EXE_gradwell"))
            .args(["check-config", "--config", config.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let out = check();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for want in ["key `users_file`", "replica-a is not a directory"] {
        assert!(err.contains(want), "{want} missing in {err}");
    }
    let parsed = Config::load(&config).unwrap();
    std::fs::write(&parsed.users_file, "").unwrap();
    for root in parsed.storage.mirror_sets.iter().flatten() {
        std::fs::create_dir(root).unwrap();
        Maildir::init_replica(root).unwrap();
    }
    let out = check();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn systemd_unit_is_well_formed_and_hardened() {
    let s = Setup::new("");
    let out = Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args(["print-systemd-unit", "--config", s.config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let unit = String::from_utf8(out.stdout).unwrap();
    let mut section = String::new();
    let mut keys = Vec::new();
    for line in unit.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        assert!(!section.is_empty(), "{line} outside a section");
        assert!(k.chars().all(|c| c.is_ascii_alphanumeric()), "key {k:?}");
        assert!(!v.is_empty(), "{k} has no value");
        keys.push((section.clone(), k.to_owned(), v.to_owned()));
    }
    let has = |sec: &str, k: &str, v: &str| {
        keys.iter()
            .any(|(s, kk, vv)| s == sec && kk == k && vv.contains(v))
    };
    assert!(has("Service", "Type", "notify"));
    assert!(has("Service", "ProtectSystem", "strict"));
    assert!(has("Service", "NoNewPrivileges", "yes"));
    assert!(has(
        "Service",
        "CapabilityBoundingSet",
        "CAP_NET_BIND_SERVICE"
    ));
    assert!(has("Service", "ReadWritePaths", "replica-a"));
    assert!(has("Service", "ReadWritePaths", "replica-b"));
    assert!(has("Service", "ExecReload", "-HUP"));
    assert!(has("Install", "WantedBy", "multi-user.target"));
    // With systemd's own checker, when this machine has it.
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok()
    {
        let path = s.dir.path().join("gradwell.service");
        std::fs::write(&path, &unit).unwrap();
        let out = Command::new("systemd-analyze")
            .args(["verify", path.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        // Only a machine without a running systemd may excuse a failure.
        let no_systemd = err.contains("bus") || err.contains("not been booted");
        assert!(
            out.status.success() || no_systemd,
            "systemd-analyze verify: {err}"
        );
    }
}

/// A self-signed certificate for `localhost` in PEM: (certificate, key).
fn self_signed() -> (String, String) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    (c.cert.pem(), c.signing_key.serialize_pem())
}

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// Connects with TLS trusting only `cert_pem`; the handshake's result.
fn tls_connect(port: u16, cert_pem: &str) -> std::io::Result<TlsStream> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(cert_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

/// Sends an IMAP command on `tls` and reads up to its tagged answer.
fn tls_ask(tls: &mut TlsStream, tag: &str, command: &str) -> String {
    tls.write_all(format!("{tag} {command}\r\n").as_bytes())
        .unwrap();
    let mut reader = BufReader::new(tls);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line.starts_with(tag) {
            return line;
        }
    }
}

#[test]
fn sighup_gives_new_sessions_the_new_certificate_and_systemd_hears_each_state() {
    let imaps = free_port();
    let dir = tempfile::tempdir().unwrap();
    let (old_cert, old_key) = self_signed();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, &old_cert).unwrap();
    std::fs::write(&key_path, &old_key).unwrap();
    let s = Setup::with_listeners(
        &format!(
            "[tls]\ncert = {:?}\nkey = {:?}",
            cert_path.display().to_string(),
            key_path.display().to_string()
        ),
        &format!(
            "[[listener]]\nservice = \"imap\"\naddress = \"127.0.0.1:{imaps}\"\ntls = \"implicit\"\n"
        ),
    );
    let notify_path = dir.path().join("notify");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let next_notice = || {
        let mut buf = [0u8; 512];
        let n = notify.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let server = s.serve_notifying(Some(&notify_path));
    assert_eq!(next_notice(), "READY=1\n");

    let mut before = tls_connect(imaps, &old_cert).unwrap();
    let greeting = tls_ask(&mut before, "a1", "NOOP");
    assert!(greeting.starts_with("a1 OK"), "{greeting}");

    let (new_cert, new_key) = self_signed();
    std::fs::write(&cert_path, &new_cert).unwrap();
    std::fs::write(&key_path, &new_key).unwrap();
    let pid = server.id().to_string();
    signal("-HUP", &pid);
    let reloading = next_notice();
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading}"
    );
    assert_eq!(next_notice(), "READY=1\n");

    // New handshakes get the new certificate; the old one is no longer offered.
    assert!(tls_connect(imaps, &new_cert).is_ok());
    assert!(tls_connect(imaps, &old_cert).is_err());
    // The session from before keeps its connection and keeps working.
    assert!(tls_ask(&mut before, "a2", "NOOP").starts_with("a2 OK"));

    // A broken certificate: the reload fails and the current one stays.
    std::fs::write(&cert_path, "not a certificate").unwrap();
    signal("-HUP", &pid);
    assert!(next_notice().starts_with("RELOADING=1"));
    assert_eq!(next_notice(), "READY=1\n");
    assert!(tls_connect(imaps, &new_cert).is_ok());
    let (_, text) = http(s.metrics, "GET", "/metrics").unwrap();
    assert_eq!(
        metric(&text, "gradwell_config_reloads_total{result=\"ok\"}"),
        1.0
    );
    assert_eq!(
        metric(&text, "gradwell_config_reloads_total{result=\"error\"}"),
        1.0
    );

    drop(before);
    signal("-TERM", &pid);
    assert_eq!(next_notice(), "STOPPING=1\n");
    let log = stop_waiting(server);
    assert!(log.contains("SIGHUP: reloading"), "{log}");
    assert!(log.contains("reload failed; nothing changed"), "{log}");
}

#[test]
fn a_queued_message_is_logged_with_its_session_and_counted_in_the_queue_metrics() {
    let submission = free_port();
    let s = Setup::with_listeners(
        "",
        &format!(
            "[[listener]]\nservice = \"submission\"\naddress = \"127.0.0.1:{submission}\"\ntls = \"none\"\nallow_cleartext_auth = true\n"
        ),
    );
    let server = s.serve();
    let (mut c, _) = Talk::connect(submission);
    c.send("EHLO client.example.net\r\n");
    while c.line().starts_with("250-") {}
    // base64("\0alice\0s3cret-Pw-xyzzy")
    let auth = c.ask("AUTH PLAIN AGFsaWNlAHMzY3JldC1Qdy14eXp6eQ==");
    assert!(auth.starts_with("235"), "{auth}");
    assert!(c.ask("MAIL FROM:<alice@example.test>").starts_with("250"));
    assert!(c.ask("RCPT TO:<bob@remote.example>").starts_with("250"));
    assert!(c.ask("DATA").starts_with("354"));
    let queued = c.ask("From: alice@example.test\r\nSubject: out\r\n\r\nbody\r\n.");
    assert!(queued.starts_with("250"), "{queued}");
    c.ask("QUIT");

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, text) = http(s.metrics, "GET", "/metrics").unwrap();
        if metric(&text, "gradwell_queue_messages") == 1.0 {
            assert!(metric(&text, "gradwell_queue_oldest_age_seconds") < 60.0);
            break;
        }
        assert!(Instant::now() < deadline, "queue never counted:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // `gradwell stop` drains as SIGTERM does.
    let out = s.gradwell(&["stop"]);
    assert!(out.status.success(), "{out:?}");
    let log = stop_waiting(server);
    assert!(log.contains("stop requested: shutting down"), "{log}");
    let line = log
        .lines()
        .find(|l| l.contains("queue_id=") && l.contains(" queued"))
        .unwrap_or_else(|| panic!("no queued line in\n{log}"));
    assert!(line.contains("session{id="), "{line}");
    assert!(line.contains("queue_id="), "{line}");
}

#[test]
fn a_set_whose_only_root_is_not_mounted_makes_the_server_unready() {
    let s = Setup::new("");
    let text = std::fs::read_to_string(&s.config).unwrap();
    std::fs::write(
        &s.config,
        text.replace(r#"[["replica-a", "replica-b"]]"#, r#"[["replica-a"]]"#),
    )
    .unwrap();
    let server = s.serve();
    let marker = s
        .root("replica-a")
        .join(maildir_store::maildir::REPLICA_MARKER);
    let saved = std::fs::read(&marker).unwrap();
    // What an unmounted array looks like: the mount point without the replica's marker.
    std::fs::remove_file(&marker).unwrap();
    let wait_for = |want: u16, text: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (code, body) = http(s.metrics, "GET", "/healthz/ready").unwrap();
            if code == want && body.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "wanted {want} {text}: {code} {body}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(503, "set 0 unwritable");
    let (_, text) = http(s.metrics, "GET", "/metrics").unwrap();
    assert_eq!(
        metric(&text, "gradwell_replica_writable{set=\"0\",replica=\"0\"}"),
        0.0
    );
    assert_eq!(http(s.metrics, "GET", "/healthz/live").unwrap().0, 200);
    std::fs::write(&marker, saved).unwrap();
    wait_for(200, "set 0 ok");
    stop(server);
}
