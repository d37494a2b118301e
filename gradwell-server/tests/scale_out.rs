//! Scale-out on existing engines: two `gradwell serve` front ends, each in its own network
//! namespace (made here with `ip netns` and a veth pair), behind HAProxy with PROXY protocol
//! v2, both serving the same mirrored storage (two replica roots on the host's filesystem).
//!
//! IMAP, POP3 and SMTP traffic for the same users is spread over both; a ledger proves that
//! no acknowledged message is lost or duplicated and that UIDs are unique and increasing;
//! IDLE on one front end sees deliveries made through the other; the client's real address
//! reaches the logs. Then one front end is killed with SIGKILL in the middle of a load wave:
//! clients reconnect through HAProxy and nothing acknowledged is lost.
//!
//! Needs root, `ip` and `haproxy` (scripts/test-deps.sh installs it). Without them the test
//! says so and passes, except under `CI=true`, where it fails.

use std::{
    collections::{BTreeMap, HashMap},
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Users the load spreads over; `popper` is read and emptied by POP3 only.
const USERS: [&str; 4] = ["u0", "u1", "u2", "u3"];
const POPPER: &str = "popper";
const PASSWORD: &str = "pw";
/// Ports each front end listens on, inside its namespace.
const IMAP_PORT: u16 = 1143;
const POP3_PORT: u16 = 1110;
const SMTP_PORT: u16 = 1025;

fn run(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Why this machine cannot run the test, if it cannot.
fn missing_prerequisite() -> Option<String> {
    match run("id", &["-u"]) {
        Ok(uid) if uid.trim() == "0" => {}
        Ok(_) => return Some("not root (ip netns needs it)".to_owned()),
        Err(e) => return Some(e),
    }
    if let Err(e) = run("ip", &["netns", "list"]) {
        return Some(format!("ip netns unusable: {e}"));
    }
    if let Err(e) = run("haproxy", &["-v"]) {
        return Some(format!("haproxy missing: {e}"));
    }
    None
}

/// A network namespace joined to the host by a veth pair; removed on drop.
struct Namespace {
    name: String,
    host_link: String,
    /// The front end's address inside the namespace.
    inside: String,
}

impl Namespace {
    /// Namespace `k` of this run: the host end gets `10.<net>.<k>.1/30`, the inside end
    /// `.2`, in a 10.x range no interface on the host uses.
    fn create(net: u8, k: u8) -> Namespace {
        let pid = std::process::id();
        let ns = Namespace {
            name: format!("gw-scale-{pid}-{k}"),
            host_link: format!("gws{pid}h{k}"),
            inside: format!("10.{net}.{k}.2"),
        };
        let peer = format!("gws{pid}n{k}");
        let host_addr = format!("10.{net}.{k}.1/30");
        let inside_addr = format!("{}/30", ns.inside);
        let steps: [&[&str]; 6] = [
            &["netns", "add", &ns.name],
            &[
                "link",
                "add",
                &ns.host_link,
                "type",
                "veth",
                "peer",
                "name",
                &peer,
                "netns",
                &ns.name,
            ],
            &["addr", "add", &host_addr, "dev", &ns.host_link],
            &["link", "set", &ns.host_link, "up"],
            &["-n", &ns.name, "addr", "add", &inside_addr, "dev", &peer],
            &["-n", &ns.name, "link", "set", &peer, "up"],
        ];
        for step in steps {
            run("ip", step).unwrap();
        }
        run("ip", &["-n", &ns.name, "link", "set", "lo", "up"]).unwrap();
        ns
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = run("ip", &["link", "del", &self.host_link]);
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}

/// A child process killed (SIGKILL) and reaped on drop.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A second octet for 10.x.0.0/16 that no address on the host is in.
fn free_net() -> u8 {
    let used = run("ip", &["-o", "addr", "show"]).unwrap();
    let start = (std::process::id() % 100) as u8;
    (0..100u8)
        .map(|i| 100 + (start + i) % 100)
        .find(|n| !used.contains(&format!(" 10.{n}.")))
        .expect("a free 10.x range")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_front_end_config(dir: &Path, k: u8, address: &str) -> PathBuf {
    let listeners: String = [
        ("imap", IMAP_PORT),
        ("pop3", POP3_PORT),
        ("smtp", SMTP_PORT),
    ]
    .iter()
    .map(|(service, port)| {
        format!(
            "[[listener]]\nservice = \"{service}\"\naddress = \"{address}:{port}\"\n\
                 tls = \"none\"\nproxy_protocol = true\nallow_cleartext_auth = true\n"
        )
    })
    .collect();
    let d = dir.display();
    let text = format!(
        r#"
hostname = "mail.example.test"
local_domains = ["example.test"]
users_file = "{d}/users"
postmaster = "u0"
[storage]
mirror_sets = [["{d}/replica-a", "{d}/replica-b"]]
[limits]
auth_penalty_initial_ms = 10
auth_penalty_max_ms = 20
imap_idle_poll_ms = 100
max_connections_per_ip = 1000
max_connections_per_user = 1000
{listeners}"#
    );
    let path = dir.join(format!("front-end-{k}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn start_front_end(ns: &Namespace, config: &Path, log: &Path) -> Process {
    let log_file = std::fs::File::create(log).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_gradwell")])
        .args(["serve", "--config", config.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let process = Process(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("listening")
        .count()
        < 3
    {
        assert!(
            Instant::now() < deadline,
            "front end in {} did not start: {}",
            ns.name,
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    process
}

/// HAProxy's ports on 127.0.0.1: balanced over both front ends, or pinned to one.
#[derive(Debug, Clone, Copy)]
struct Ports {
    imap: u16,
    pop3: u16,
    smtp: u16,
    imap_fe: [u16; 2],
    smtp_fe: [u16; 2],
}

fn start_haproxy(dir: &Path, front_ends: [&str; 2]) -> (Process, Ports) {
    let ports = Ports {
        imap: free_port(),
        pop3: free_port(),
        smtp: free_port(),
        imap_fe: [free_port(), free_port()],
        smtp_fe: [free_port(), free_port()],
    };
    let server = |k: usize, port: u16| {
        format!(
            "  server fe{k} {}:{port} send-proxy-v2 check check-send-proxy inter 200 fall 1 rise 2\n",
            front_ends[k]
        )
    };
    let balanced = |name: &str, bind: u16, port: u16| {
        format!(
            "listen {name}\n  bind 127.0.0.1:{bind}\n  balance roundrobin\n{}{}",
            server(0, port),
            server(1, port)
        )
    };
    let pinned = |name: &str, bind: u16, k: usize, port: u16| {
        format!(
            "listen {name}\n  bind 127.0.0.1:{bind}\n{}",
            server(k, port)
        )
    };
    let text = [
        "global\n  maxconn 4000\n".to_owned(),
        "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 120s\n  \
         timeout server 120s\n  retries 5\n  option redispatch\n"
            .to_owned(),
        balanced("imap", ports.imap, IMAP_PORT),
        balanced("pop3", ports.pop3, POP3_PORT),
        balanced("smtp", ports.smtp, SMTP_PORT),
        pinned("imap_fe0", ports.imap_fe[0], 0, IMAP_PORT),
        pinned("imap_fe1", ports.imap_fe[1], 1, IMAP_PORT),
        pinned("smtp_fe0", ports.smtp_fe[0], 0, SMTP_PORT),
        pinned("smtp_fe1", ports.smtp_fe[1], 1, SMTP_PORT),
    ]
    .join("\n");
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, text).unwrap();
    run("haproxy", &["-c", "-q", "-f", path.to_str().unwrap()]).unwrap();
    let child = Command::new("haproxy")
        .args(["-db", "-f", path.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("haproxy.log")).unwrap())
        .spawn()
        .unwrap();
    let process = Process(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", ports.smtp_fe[1])).is_err() {
        assert!(Instant::now() < deadline, "haproxy did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (process, ports)
}

/// A blocking line client whose every failure is an `Err` (the front end may die).
struct Line {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

type Io<T> = Result<T, String>;

impl Line {
    fn connect(port: u16) -> Io<Line> {
        let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(15)))
            .map_err(|e| e.to_string())?;
        Ok(Line {
            reader: BufReader::new(s.try_clone().map_err(|e| e.to_string())?),
            writer: s,
        })
    }

    fn line(&mut self) -> Io<String> {
        let mut l = String::new();
        match self.reader.read_line(&mut l) {
            Ok(0) => Err("connection closed".to_owned()),
            Ok(_) => Ok(l),
            Err(e) => Err(e.to_string()),
        }
    }

    fn send(&mut self, text: &str) -> Io<()> {
        self.writer
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string())
    }

    /// Reads until a line starting with `prefix`, returning every line read.
    fn until(&mut self, prefix: &str) -> Io<Vec<String>> {
        let mut lines = Vec::new();
        loop {
            let l = self.line()?;
            let done = l.starts_with(prefix);
            lines.push(l);
            if done {
                return Ok(lines);
            }
        }
    }

    fn expect(&mut self, prefix: &str) -> Io<String> {
        let l = self.line()?;
        if l.starts_with(prefix) {
            Ok(l)
        } else {
            Err(format!("expected {prefix:?}, got {l:?}"))
        }
    }

    fn imap(&mut self, tag: &str, command: &str) -> Io<Vec<String>> {
        self.send(&format!("{tag} {command}\r\n"))?;
        let lines = self.until(&format!("{tag} "))?;
        match lines.last() {
            Some(l) if l.starts_with(&format!("{tag} OK")) => Ok(lines),
            other => Err(format!("{command}: {other:?}")),
        }
    }

    fn imap_login(port: u16, user: &str) -> Io<Line> {
        let mut c = Line::connect(port)?;
        c.expect("* OK")?;
        c.imap("l", &format!("LOGIN {user} {PASSWORD}"))?;
        Ok(c)
    }
}

/// How one attempt to hand over a message ended.
enum Attempt {
    /// The server acknowledged it.
    Acked,
    /// Failed before the end of data was sent: the server cannot have it.
    Failed(String),
    /// Failed after the end of data was sent: the server may have it.
    Uncertain(String),
}

fn message(token: &str) -> String {
    format!("From: load@client.example\r\nSubject: {token}\r\n\r\nledger body {token}\r\n")
}

fn smtp_once(port: u16, user: &str, token: &str) -> Attempt {
    let mut c = match Line::connect(port) {
        Ok(c) => c,
        Err(e) => return Attempt::Failed(e),
    };
    let before: Io<()> = (|| {
        c.expect("220 ")?;
        c.send("EHLO client.example\r\n")?;
        c.until("250 ")?;
        for (cmd, want) in [
            ("MAIL FROM:<load@client.example>".to_owned(), "250"),
            (format!("RCPT TO:<{user}@example.test>"), "250"),
            ("DATA".to_owned(), "354"),
        ] {
            c.send(&format!("{cmd}\r\n"))?;
            c.expect(want)?;
        }
        c.send(&format!("{}.\r\n", message(token)))
    })();
    if let Err(e) = before {
        return Attempt::Failed(e);
    }
    match c.expect("250") {
        Ok(_) => {
            let _ = c.send("QUIT\r\n");
            Attempt::Acked
        }
        Err(e) => Attempt::Uncertain(e),
    }
}

fn append_once(port: u16, user: &str, token: &str) -> Attempt {
    let mut c = match Line::imap_login(port, user) {
        Ok(c) => c,
        Err(e) => return Attempt::Failed(e),
    };
    let body = message(token);
    let sent: Io<()> = (|| {
        c.send(&format!("a APPEND INBOX {{{}}}\r\n", body.len()))?;
        c.expect("+")?;
        c.send(&format!("{body}\r\n"))
    })();
    if let Err(e) = sent {
        return Attempt::Failed(e);
    }
    match c.until("a ") {
        Ok(lines) if lines.last().is_some_and(|l| l.starts_with("a OK")) => {
            let _ = c.send("z LOGOUT\r\n");
            Attempt::Acked
        }
        // A temporary refusal is in doubt, as a 4xx after DATA is for SMTP above: when a
        // front end dies holding a mailbox's lock, the survivor's store call can miss its
        // deadline and answer NO [UNAVAILABLE] while the write still lands (at-least-once,
        // never lost); a client that retries may then store a second copy.
        Ok(lines) if lines.last().is_some_and(|l| l.contains("[UNAVAILABLE]")) => {
            Attempt::Uncertain(format!("APPEND refused for now: {lines:?}"))
        }
        Ok(lines) => Attempt::Failed(format!("APPEND refused: {lines:?}")),
        Err(e) => Attempt::Uncertain(e),
    }
}

/// What the clients know about every message they handed over.
#[derive(Debug, Default)]
struct Ledger {
    /// token → (user, attempts that may have delivered a copy besides the acknowledged one)
    acked: HashMap<String, (String, u32)>,
    /// POP3: tokens retrieved in sessions whose QUIT was acknowledged (deleted for sure).
    popped: Vec<String>,
    /// POP3: tokens retrieved in sessions whose QUIT reply was lost (maybe deleted).
    maybe_popped: Vec<String>,
    retries: u32,
    /// The first few reasons a client had to retry, for the test's output.
    errors: Vec<String>,
}

/// Hands `token` to `user` with `once`, retrying through HAProxy until acknowledged.
fn deliver(ledger: &Mutex<Ledger>, user: &str, token: &str, once: impl Fn(&str, &str) -> Attempt) {
    let mut uncertain = 0;
    for _ in 0..100 {
        match once(user, token) {
            Attempt::Acked => {
                let mut l = ledger.lock().unwrap();
                l.acked
                    .insert(token.to_owned(), (user.to_owned(), uncertain));
                return;
            }
            Attempt::Failed(e) => note_retry(ledger, e),
            Attempt::Uncertain(e) => {
                uncertain += 1;
                note_retry(ledger, format!("uncertain: {e}"));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{token} for {user} was never acknowledged");
}

fn note_retry(ledger: &Mutex<Ledger>, why: String) {
    let mut l = ledger.lock().unwrap();
    l.retries += 1;
    if l.errors.len() < 8 {
        l.errors.push(why);
    }
}

/// One POP3 session that retrieves and deletes everything; records what it took.
fn pop_once(port: u16, ledger: &Mutex<Ledger>) {
    let mut c = match Line::connect(port) {
        Ok(c) => c,
        Err(_) => return,
    };
    let mut taken = Vec::new();
    let retrieved: Io<()> = (|| {
        c.expect("+OK")?;
        c.send(&format!("USER {POPPER}\r\n"))?;
        c.expect("+OK")?;
        c.send(&format!("PASS {PASSWORD}\r\n"))?;
        // [IN-USE] when another session holds the maildrop: try again later.
        c.expect("+OK")?;
        c.send("STAT\r\n")?;
        let stat = c.expect("+OK")?;
        let count: usize = stat
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .ok_or("bad STAT")?;
        for n in 1..=count {
            c.send(&format!("RETR {n}\r\n"))?;
            c.expect("+OK")?;
            let body = c.until(".\r\n")?;
            let token = body
                .iter()
                .find_map(|l| l.strip_prefix("Subject: "))
                .ok_or("message without a subject")?;
            taken.push(token.trim().to_owned());
            c.send(&format!("DELE {n}\r\n"))?;
            c.expect("+OK")?;
        }
        c.send("QUIT\r\n")
    })();
    if retrieved.is_err() {
        return; // nothing was deleted: the next session sees the same messages
    }
    let mut l = ledger.lock().unwrap();
    match c.expect("+OK") {
        Ok(_) => l.popped.extend(taken),
        Err(_) => l.maybe_popped.extend(taken),
    }
}

/// Every message in `user`'s INBOX as (UID, token), in sequence order.
fn inbox(port: u16, user: &str) -> Io<Vec<(u32, String)>> {
    let mut c = Line::imap_login(port, user)?;
    c.imap("s", "SELECT INBOX")?;
    let lines = c.imap(
        "f",
        "UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
    )?;
    let mut records: Vec<String> = Vec::new();
    for l in lines {
        if l.starts_with("* ") && l.contains(" FETCH (") {
            records.push(l);
        } else if let Some(last) = records.last_mut() {
            last.push_str(&l);
        }
    }
    records
        .iter()
        .map(|r| {
            let uid = r
                .split("UID ")
                .nth(1)
                .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok())
                .ok_or(format!("no UID in {r:?}"))?;
            let token = r
                .split("Subject: ")
                .nth(1)
                .and_then(|s| s.split("\r\n").next())
                .ok_or(format!("no subject in {r:?}"))?;
            Ok((uid, token.to_owned()))
        })
        .collect()
}

/// One load wave: SMTP through the balanced port to every user (and to the POP3 user),
/// APPENDs through the balanced IMAP port, and a POP3 reader emptying `popper`.
fn load_wave(ports: Ports, ledger: &Arc<Mutex<Ledger>>, wave: u32, during: impl FnOnce()) {
    let mut threads = Vec::new();
    for t in 0..4u32 {
        let ledger = Arc::clone(ledger);
        threads.push(std::thread::spawn(move || {
            for n in 0..40u32 {
                let user = if n % 4 == 3 {
                    POPPER
                } else {
                    USERS[((t + n) % 4) as usize]
                };
                let token = format!("ledger-w{wave}-smtp{t}-{n}");
                deliver(&ledger, user, &token, |u, tok| {
                    smtp_once(ports.smtp, u, tok)
                });
            }
        }));
    }
    for t in 0..2u32 {
        let ledger = Arc::clone(ledger);
        threads.push(std::thread::spawn(move || {
            for n in 0..20u32 {
                let user = USERS[((t + n) % 4) as usize];
                let token = format!("ledger-w{wave}-imap{t}-{n}");
                deliver(&ledger, user, &token, |u, tok| {
                    append_once(ports.imap, u, tok)
                });
            }
        }));
    }
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let popper = {
        let (ledger, done) = (Arc::clone(ledger), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                pop_once(ports.pop3, &ledger);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    during();
    for t in threads {
        t.join().unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    popper.join().unwrap();
}

/// IDLE through front end 0 sees a delivery made through front end 1.
fn idle_sees_other_front_end(ports: Ports, ledger: &Mutex<Ledger>) {
    let mut idler = Line::imap_login(ports.imap_fe[0], "u0").unwrap();
    let select = idler.imap("s", "SELECT INBOX").unwrap();
    let exists = |l: &str| {
        l.strip_prefix("* ")
            .and_then(|r| r.strip_suffix(" EXISTS\r\n"))
            .and_then(|n| n.parse::<u32>().ok())
    };
    let before = select.iter().find_map(|l| exists(l)).unwrap();
    idler.send("i IDLE\r\n").unwrap();
    idler.expect("+").unwrap();
    let token = "ledger-idle-via-fe1";
    deliver(ledger, "u0", token, |u, tok| {
        smtp_once(ports.smtp_fe[1], u, tok)
    });
    let started = Instant::now();
    loop {
        let l = idler.line().unwrap();
        if exists(&l).is_some_and(|n| n > before) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "IDLE saw nothing"
        );
    }
    idler.send("DONE\r\n").unwrap();
    idler.until("i OK").unwrap();
}

/// Every acknowledged message is in its mailbox (or was popped) exactly once, apart from
/// copies an uncertain attempt may have added; UIDs are unique and increase with sequence.
/// Returns how many such extra copies there are (at-least-once: the client retried after
/// losing the reply to a delivery the server had made durable).
fn check_ledger(ports: Ports, ledger: &Mutex<Ledger>) -> usize {
    let l = ledger.lock().unwrap();
    let mut found: HashMap<String, u32> = HashMap::new();
    for user in USERS.iter().chain([&POPPER]) {
        let messages = inbox(ports.imap, user).unwrap();
        let uids: Vec<u32> = messages.iter().map(|(u, _)| *u).collect();
        assert!(
            uids.windows(2).all(|w| w[0] < w[1]),
            "{user}: UIDs not strictly increasing: {uids:?}"
        );
        for (_, token) in messages {
            let owner = l.acked.get(&token).map(|(u, _)| u.as_str());
            assert_eq!(owner, Some(*user), "{token} in {user}'s INBOX");
            *found.entry(token).or_default() += 1;
        }
    }
    for token in &l.popped {
        *found.entry(token.clone()).or_default() += 1;
    }
    let mut problems = BTreeMap::new();
    for (token, (_, uncertain)) in &l.acked {
        let n = found.get(token).copied().unwrap_or(0);
        let maybe_popped = l.maybe_popped.contains(token);
        let ok = match n {
            0 => maybe_popped,
            n => n <= 1 + uncertain,
        };
        if !ok {
            problems.insert(token.clone(), n);
        }
    }
    assert!(
        problems.is_empty(),
        "lost (0) or duplicated (>1) messages: {problems:?}"
    );
    found
        .values()
        .map(|n| (*n as usize).saturating_sub(1))
        .sum()
}

#[test]
fn two_front_ends_behind_haproxy_share_the_mirrored_store_and_survive_a_kill() {
    if let Some(why) = missing_prerequisite() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the scale-out test cannot run under CI: {why}");
        }
        eprintln!("skipping the scale-out test: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for replica in ["replica-a", "replica-b"] {
        let root = dir.path().join(replica);
        std::fs::create_dir(&root).unwrap();
        maildir_store::maildir::Maildir::init_replica(&root).unwrap();
    }
    let users: String = USERS
        .iter()
        .chain([&POPPER])
        .map(|u| format!("{u}:{{PLAIN}}{PASSWORD}\n"))
        .collect();
    std::fs::write(dir.path().join("users"), users).unwrap();

    let net = free_net();
    let namespaces = [Namespace::create(net, 1), Namespace::create(net, 2)];
    let logs = [dir.path().join("fe0.log"), dir.path().join("fe1.log")];
    let mut front_ends: Vec<Option<Process>> = namespaces
        .iter()
        .zip(&logs)
        .enumerate()
        .map(|(k, (ns, log))| {
            let config = write_front_end_config(dir.path(), k as u8, &ns.inside);
            Some(start_front_end(ns, &config, log))
        })
        .collect();
    let (_haproxy, ports) = start_haproxy(
        dir.path(),
        [namespaces[0].inside.as_str(), namespaces[1].inside.as_str()],
    );
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    idle_sees_other_front_end(ports, &ledger);
    load_wave(ports, &ledger, 1, || {});
    assert_eq!(
        ledger.lock().unwrap().retries,
        0,
        "no retries without a fault"
    );
    for (k, log) in logs.iter().enumerate() {
        let text = std::fs::read_to_string(log).unwrap();
        assert!(
            text.contains("peer=127.0.0.1:"),
            "front end {k} never logged the client's real address"
        );
        assert!(
            text.contains("logged in"),
            "front end {k} served no logins: the load was not spread"
        );
    }
    assert_eq!(check_ledger(ports, &ledger), 0);

    // Wave 2: front end 1 dies by SIGKILL while the clients are busy, a quarter of the way.
    let before_wave = ledger.lock().unwrap().acked.len();
    let mut acked_at_kill = 0;
    load_wave(ports, &ledger, 2, || {
        while ledger.lock().unwrap().acked.len() < before_wave + 50 {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(front_ends[1].take());
        acked_at_kill = ledger.lock().unwrap().acked.len();
    });
    let acked_after_kill = ledger.lock().unwrap().acked.len() - acked_at_kill;
    assert!(
        acked_after_kill >= 100,
        "only {acked_after_kill} messages went through after the kill: it was not mid-load"
    );
    // Whatever the POP3 reader left behind is drained through the survivor.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let before = ledger.lock().unwrap().popped.len();
        pop_once(ports.pop3, &ledger);
        if inbox(ports.imap, POPPER).is_ok_and(|m| m.is_empty()) {
            break;
        }
        if ledger.lock().unwrap().popped.len() == before {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let retried_copies = check_ledger(ports, &ledger);
    let l = ledger.lock().unwrap();
    eprintln!(
        "scale-out: {} messages acknowledged ({acked_after_kill} after the kill), {} popped, \
         {} client retries ({retried_copies} extra copies from retries after a lost reply), \
         e.g. {:?}",
        l.acked.len(),
        l.popped.len(),
        l.retries,
        l.errors
    );
    assert!(front_ends[0].is_some());
}
