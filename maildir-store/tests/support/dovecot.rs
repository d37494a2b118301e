//! A throwaway Dovecot on a loopback port, and just enough of an IMAP client to check it.

use std::{
    fs,
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

/// Where Debian's `dovecot-imapd` / `dovecot-core` put the server.
pub(crate) const DOVECOT: &str = "/usr/sbin/dovecot";

/// The uid/gid Dovecot's mail processes run as when the test runs as root (Dovecot refuses
/// uid 0 for mail access).
const MAIL_UID: u32 = 65534;

/// True when the test process is root.
fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// Gives the whole tree to the mail user, so Dovecot can read and write what we wrote.
pub(crate) fn hand_over(root: &Path) {
    if !is_root() {
        return;
    }
    fn walk(p: &Path) {
        std::os::unix::fs::lchown(p, Some(MAIL_UID), Some(MAIL_UID)).expect("chown for dovecot");
        if p.is_dir() {
            for e in fs::read_dir(p).expect("read_dir") {
                walk(&e.expect("entry").path());
            }
        }
    }
    walk(root);
}

/// A running Dovecot.
pub(crate) struct Dovecot {
    child: Child,
    pub(crate) port: u16,
    pop3_port: Option<u16>,
    /// Implicit-TLS IMAPS and POP3S ports, when started with [`Extras::tls`].
    tls_ports: Option<(u16, u16)>,
    state: PathBuf,
}

/// What a Dovecot serves beyond plaintext IMAP (gradwell-server's remote-migration test
/// reuses this helper for POP3 and STARTTLS).
#[derive(Default)]
pub(crate) struct Extras {
    /// Also serve POP3 (needs Debian's `dovecot-pop3d`).
    pub(crate) pop3: bool,
    /// Offer STARTTLS/STLS, and IMAPS (and POP3S with `pop3`) on their own ports, with this
    /// PEM certificate and key.
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free loopback port")
        .port()
}

impl Dovecot {
    /// Starts Dovecot with users' Maildirs at `<mail_root>/<user>`, password `pass` for all.
    pub(crate) fn start(mail_root: &Path, state: &Path) -> Self {
        Self::start_with(mail_root, state, &Extras::default())
    }

    /// [`Dovecot::start`], with POP3 and TLS as `extras` asks.
    pub(crate) fn start_with(mail_root: &Path, state: &Path, extras: &Extras) -> Self {
        let port = free_port();
        let pop3_port = extras.pop3.then(free_port);
        let tls_ports = extras.tls.as_ref().map(|_| (free_port(), free_port()));
        // Port 0 turns an implicit-TLS listener off.
        let (imaps, pop3s) = tls_ports.unwrap_or((0, 0));
        for d in ["run", "state", "index"] {
            fs::create_dir_all(state.join(d)).expect("dovecot dirs");
        }
        fs::set_permissions(state, fs::Permissions::from_mode(0o755)).expect("chmod");
        let (uid, user_lines) = if is_root() {
            hand_over(&state.join("index"));
            (MAIL_UID, String::new())
        } else {
            let me = std::env::var("USER").unwrap_or_else(|_| "nobody".into());
            let uid = fs::metadata("/proc/self")
                .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
                .unwrap_or(MAIL_UID);
            (
                uid,
                format!("default_internal_user = {me}\ndefault_login_user = {me}\n"),
            )
        };
        let s = state.display();
        let m = mail_root.display();
        let protocols = if extras.pop3 { "imap pop3" } else { "imap" };
        let ssl = match &extras.tls {
            Some((cert, key)) => format!(
                "ssl = yes\nssl_cert = <{}\nssl_key = <{}\n",
                cert.display(),
                key.display()
            ),
            None => "ssl = no\n".to_owned(),
        };
        let pop3_service = pop3_port.map_or(String::new(), |p| {
            format!(
                "service pop3-login {{\n  inet_listener pop3 {{\n    address = 127.0.0.1\n    \
                 port = {p}\n  }}\n  inet_listener pop3s {{\n    address = 127.0.0.1\n    \
                 port = {pop3s}\n  }}\n}}\n"
            )
        });
        let conf = format!(
            "base_dir = {s}/run\nstate_dir = {s}/state\nlog_path = {s}/dovecot.log\n\
             protocols = {protocols}\nlisten = 127.0.0.1\n{ssl}\
             disable_plaintext_auth = no\nauth_mechanisms = plain\n{user_lines}\
             first_valid_uid = 1\nmail_fsync = always\n\
             passdb {{\n  driver = static\n  args = password=pass\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={uid} home={m}/%u\n}}\n\
             mail_location = maildir:{m}/%u:INDEX={s}/index/%u\n\
             namespace inbox {{\n  inbox = yes\n  separator = /\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
               inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps}\n  }}\n}}\n\
             {pop3_service}"
        );
        let conf_path = state.join("dovecot.conf");
        fs::write(&conf_path, conf).expect("write dovecot.conf");
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dovecot");
        let me = Self {
            child,
            port,
            pop3_port,
            tls_ports,
            state: state.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "dovecot did not listen: {}",
                me.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
        me
    }

    /// The POP3 port, when started with [`Extras::pop3`].
    #[allow(dead_code)] // Used by gradwell-server's tests/migrate_remote.rs, not here.
    pub(crate) fn pop3_port(&self) -> Option<u16> {
        self.pop3_port
    }

    /// The implicit-TLS ports (IMAPS, POP3S), when started with [`Extras::tls`].
    #[allow(dead_code)] // Used by gradwell-server's tests/migrate_remote.rs, not here.
    pub(crate) fn tls_ports(&self) -> Option<(u16, u16)> {
        self.tls_ports
    }

    /// Dovecot's log so far.
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(self.state.join("dovecot.log")).unwrap_or_default()
    }

    /// Stops Dovecot and waits for it.
    pub(crate) fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `UIDL` over POP3 as `user` (password `pass`): each message's number and unique id, in
/// the server's order.
#[allow(dead_code)] // used by gradwell-server's migration tests, which include this file
pub(crate) fn pop3_uidls(port: u16, user: &str) -> Vec<(u32, String)> {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect pop3");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let mut line = || {
        let mut l = String::new();
        reader.read_line(&mut l).expect("read pop3");
        l.trim_end().to_owned()
    };
    assert!(line().starts_with("+OK"), "pop3 greeting");
    for cmd in [
        format!("USER {user}"),
        "PASS pass".to_owned(),
        "UIDL".to_owned(),
    ] {
        write!(writer, "{cmd}\r\n").expect("send");
        let answer = line();
        assert!(answer.starts_with("+OK"), "{cmd} -> {answer}");
    }
    let mut uidls = Vec::new();
    loop {
        let l = line();
        if l == "." {
            break;
        }
        let (n, uidl) = l.split_once(' ').expect("a UIDL line");
        uidls.push((n.parse().expect("a message number"), uidl.to_owned()));
    }
    write!(writer, "QUIT\r\n").expect("send");
    uidls
}

/// One IMAP connection, commands sent one at a time.
pub(crate) struct Imap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
}

/// The answer to one command: untagged responses (literals inlined) and the tagged line.
pub(crate) struct Answer {
    pub(crate) untagged: Vec<Vec<u8>>,
    pub(crate) status: String,
}

impl Answer {
    /// Untagged responses as lossy text.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.untagged
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }
}

impl Imap {
    /// Connects and logs in.
    pub(crate) fn login(port: u16, user: &str) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let mut me = Self {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
            tag: 0,
        };
        let greeting = me.read_unit();
        assert!(greeting.starts_with(b"* OK"), "greeting");
        me.ok(&format!("LOGIN {user} pass"));
        me
    }

    fn read_unit(&mut self) -> Vec<u8> {
        let mut unit = Vec::new();
        loop {
            let mut line = Vec::new();
            self.reader.read_until(b'\n', &mut line).expect("read line");
            assert!(!line.is_empty(), "connection closed");
            unit.extend_from_slice(&line);
            // A line ending in {n}\r\n announces n literal bytes, then the line continues.
            let text = String::from_utf8_lossy(&line);
            let trimmed = text.trim_end();
            let literal = trimmed
                .strip_suffix('}')
                .and_then(|t| t.rsplit_once('{'))
                .and_then(|(_, n)| n.parse::<usize>().ok());
            match literal {
                Some(n) => {
                    let mut buf = vec![0u8; n];
                    self.reader.read_exact(&mut buf).expect("literal");
                    unit.extend_from_slice(&buf);
                }
                None => return unit,
            }
        }
    }

    /// Sends a command (with an optional literal) and collects its answer.
    pub(crate) fn command(&mut self, cmd: &str, literal: Option<&[u8]>) -> Answer {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        match literal {
            None => write!(self.writer, "{tag} {cmd}\r\n").expect("send"),
            Some(data) => {
                write!(self.writer, "{tag} {cmd} {{{}}}\r\n", data.len()).expect("send");
                let cont = self.read_unit();
                assert!(cont.starts_with(b"+"), "continuation");
                self.writer.write_all(data).expect("send literal");
                self.writer.write_all(b"\r\n").expect("send");
            }
        }
        let mut untagged = Vec::new();
        loop {
            let unit = self.read_unit();
            if unit.starts_with(tag.as_bytes()) {
                return Answer {
                    untagged,
                    status: String::from_utf8_lossy(&unit).trim_end().to_owned(),
                };
            }
            untagged.push(unit);
        }
    }

    /// Sends a command that must succeed.
    pub(crate) fn ok(&mut self, cmd: &str) -> Answer {
        let a = self.command(cmd, None);
        assert!(a.status.contains(" OK"), "{cmd} -> {}", a.status);
        a
    }
}

/// One message from `UID FETCH 1:* (UID FLAGS BODY.PEEK[])`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Fetched {
    pub(crate) uid: u32,
    pub(crate) flags: Vec<String>,
    pub(crate) body: Vec<u8>,
}

/// Parses the untagged FETCH responses of `UID FETCH ... (UID FLAGS BODY.PEEK[])`.
pub(crate) fn parse_fetch(answer: &Answer) -> Vec<Fetched> {
    let mut out = Vec::new();
    for unit in &answer.untagged {
        let text = String::from_utf8_lossy(unit);
        if !text.contains(" FETCH ") {
            continue;
        }
        let uid = text
            .split("UID ")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .expect("UID in FETCH");
        let flags = text
            .split("FLAGS (")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .map(|f| {
                f.split(' ')
                    .filter(|s| !s.is_empty() && *s != "\\Recent")
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let marker = b"BODY[] {";
        let at = unit
            .windows(marker.len())
            .position(|w| w == marker)
            .expect("BODY[] literal");
        let rest = &unit[at + marker.len()..];
        let close = rest
            .iter()
            .position(|&b| b == b'}')
            .expect("literal length");
        let len: usize = std::str::from_utf8(&rest[..close])
            .expect("digits")
            .parse()
            .expect("length");
        let start = close + 3; // "}\r\n"
        out.push(Fetched {
            uid,
            flags,
            body: rest[start..start + len].to_vec(),
        });
    }
    out.sort_by_key(|f| f.uid);
    out
}

/// The number in `[KEY n]` within any untagged response or the status line.
pub(crate) fn code_number(answer: &Answer, key: &str) -> Option<u32> {
    let needle = format!("[{key} ");
    answer
        .lines()
        .into_iter()
        .chain(std::iter::once(answer.status.clone()))
        .find_map(|l| {
            let rest = l.split(&needle).nth(1)?;
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
}

/// The IMAP spelling of stored flags, sorted, for comparing with Dovecot's FETCH FLAGS.
pub(crate) fn imap_flags(flags: &maildir_store::Flags) -> std::collections::BTreeSet<String> {
    flags
        .system()
        .map(|f| f.as_imap().to_owned())
        .chain(flags.keywords().map(|k| k.as_str().to_owned()))
        .collect()
}
