//! The remote migration sources against a real Dovecot (Debian's dovecot-imapd and
//! dovecot-pop3d) on loopback: what `ImapSource` and `Pop3Source` read must equal what
//! Dovecot reports (UIDVALIDITY, UIDNEXT, UIDs, flags, keywords, internal dates, bodies,
//! subscriptions, POP3 UIDLs and order), in plaintext and over STARTTLS/STLS with a
//! trusted CA file. Then small fake servers on loopback that hang up or go silent
//! mid-folder: each must be a `SourceError::Remote` for that mailbox.
//!
//! When Dovecot is missing the Dovecot test says so loudly and checks nothing; CI installs
//! it (scripts/test-deps.sh).

#[allow(dead_code)] // The helper serves maildir-store's interop test too.
#[path = "../../maildir-store/tests/support/dovecot.rs"]
mod dovecot;

use std::{
    collections::{BTreeMap, BTreeSet},
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    num::NonZeroU32,
    path::{Path, PathBuf},
    sync::Arc,
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use dovecot::{Dovecot, Extras, Imap, imap_flags};
use gradwell_server::migrate::{
    remote_conn::{Credentials, Endpoint, LoginMethod, RemoteOptions, Security, Trust},
    remote_imap::ImapSource,
    remote_pop3::Pop3Source,
    source::{Source, SourceError, SourceMailbox, SourceMessage},
    throttle::Throttle,
};
use maildir_store::MailStore;

fn dovecot_missing() -> bool {
    let pop3 = Path::new("/usr/lib/dovecot/pop3");
    if Path::new(dovecot::DOVECOT).exists() && pop3.exists() {
        return false;
    }
    eprintln!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !! SKIPPED: remote migration test: Dovecot IMAP/POP3 not installed.        !!\n\
         !! Install: apt-get install -y dovecot-imapd dovecot-pop3d                 !!\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    true
}

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

/// One message to put into Dovecot: folder (modified UTF-7), flags, INTERNALDATE as
/// APPEND spells it and as seconds, and the message.
struct Seed {
    folder: &'static str,
    flags: &'static str,
    date: &'static str,
    seconds: u64,
    body: Vec<u8>,
}

fn message(n: u32, date_header: bool) -> Vec<u8> {
    let date = if date_header {
        "Date: Thu, 15 Jun 2023 12:30:00 +0000\r\n"
    } else {
        ""
    };
    format!(
        "From: a{n}@example.org\r\nTo: alice@example.test\r\nSubject: migrate {n}\r\n{date}\
         Message-ID: <{n}@migrate>\r\n\r\nBody {n}.\r\n{}",
        ".dot-stuffed line for POP3\r\n".repeat(n as usize % 3)
    )
    .into_bytes()
}

fn seeds() -> Vec<Seed> {
    let mut out = Vec::new();
    let mut n = 0;
    let mut add = |folder, flags, date, seconds, date_header| {
        n += 1;
        out.push(Seed {
            folder,
            flags,
            date,
            seconds,
            body: message(n, date_header),
        });
    };
    add(
        "INBOX",
        r"(\Seen $Work)",
        "01-Jan-2024 10:00:00 +0100",
        1_704_099_600,
        true,
    );
    add(
        "INBOX",
        "()",
        "15-Jun-2023 12:30:00 +0000",
        1_686_832_200,
        false,
    );
    add(
        "INBOX",
        r"(\Flagged \Answered NonJunk)",
        "28-Feb-2022 23:59:59 +0000",
        1_646_092_799,
        true,
    );
    add(
        "INBOX",
        r"(\Seen)",
        "01-Jan-2024 10:00:00 +0100",
        1_704_099_600,
        true,
    );
    add(
        "Sent",
        r"(\Seen \Draft $Forwarded)",
        "15-Jun-2023 12:30:00 +0000",
        1_686_832_200,
        true,
    );
    add(
        "Archive/2024",
        r"(\Seen)",
        "28-Feb-2022 23:59:59 +0000",
        1_646_092_799,
        true,
    );
    add(
        "Archive/2024",
        r"(\Seen $Work)",
        "01-Jan-2024 10:00:00 +0100",
        1_704_099_600,
        true,
    );
    add(
        "Entw&APw-rfe",
        r"(\Draft)",
        "15-Jun-2023 12:30:00 +0000",
        1_686_832_200,
        true,
    );
    out
}

/// What Dovecot itself reports for one mailbox.
struct Truth {
    uid_validity: u32,
    uid_next: u32,
    /// UID → (flags without \Recent, body).
    messages: BTreeMap<u32, (BTreeSet<String>, Vec<u8>)>,
}

fn truth(imap: &mut Imap, wire: &str) -> Truth {
    let status = imap.ok(&format!("STATUS \"{wire}\" (UIDNEXT UIDVALIDITY)"));
    let line = status.lines().join(" ");
    let number = |key: &str| -> u32 {
        line.split(&format!("{key} "))
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{key} in {line}"))
    };
    let (uid_validity, uid_next) = (number("UIDVALIDITY"), number("UIDNEXT"));
    imap.ok(&format!("EXAMINE \"{wire}\""));
    let fetched = dovecot::parse_fetch(&imap.ok("UID FETCH 1:* (UID FLAGS BODY.PEEK[])"));
    let messages = fetched
        .into_iter()
        .map(|f| (f.uid, (f.flags.into_iter().collect(), f.body)))
        .collect();
    Truth {
        uid_validity,
        uid_next,
        messages,
    }
}

fn read_all(source: &mut dyn Source, mailbox: &SourceMailbox) -> Vec<SourceMessage> {
    let mut out = Vec::new();
    source
        .messages(mailbox, &mut |m| {
            out.push(m);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{}: {e}", mailbox.name.as_str()));
    out
}

fn endpoint(port: u16, security: Security, trust: Trust) -> Endpoint {
    Endpoint {
        host: "localhost".into(),
        port,
        security,
        trust,
    }
}

/// A plaintext endpoint on 127.0.0.1 (the fake servers).
fn loopback(port: u16) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port,
        security: Security::Plain,
        trust: Trust::WebPki,
    }
}

fn short_timeouts() -> RemoteOptions {
    let mut options = RemoteOptions::default();
    options.io_timeout = Duration::from_secs(20);
    // Small batches, so a mailbox takes several UID FETCH rounds.
    options.fetch_batch = 2;
    options
}

/// A Dovecot serving IMAP and POP3 from `dir`, with STARTTLS when `tls` names a
/// certificate and key; `None` when Dovecot is not installed.
fn start_dovecot(dir: &Path, tls: Option<(PathBuf, PathBuf)>) -> Option<Dovecot> {
    if dovecot_missing() {
        return None;
    }
    let mail = dir.join("mail");
    std::fs::create_dir_all(&mail).expect("mail dir");
    dovecot::hand_over(&mail);
    let extras = Extras { pop3: true, tls };
    Some(Dovecot::start_with(&mail, &dir.join("state"), &extras))
}

#[test]
fn imap_and_pop3_sources_read_exactly_what_dovecot_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("cert file");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("key file");
    let Some(server) = start_dovecot(dir.path(), Some((cert_path.clone(), key_path))) else {
        return;
    };
    let pop3_port = server.pop3_port().expect("pop3 port");

    // Fill Dovecot over IMAP: folders (one non-ASCII), flags, keywords, dates, a UID gap,
    // subscriptions.
    let mut imap = Imap::login(server.port, "alice");
    for folder in ["Sent", "Archive/2024", "Entw&APw-rfe", "Empty"] {
        imap.ok(&format!("CREATE \"{folder}\""));
    }
    for folder in ["Sent", "Entw&APw-rfe"] {
        imap.ok(&format!("SUBSCRIBE \"{folder}\""));
    }
    let seeds = seeds();
    for seed in &seeds {
        let answer = imap.command(
            &format!(
                "APPEND \"{}\" {} \"{}\"",
                seed.folder, seed.flags, seed.date
            ),
            Some(&seed.body),
        );
        assert!(answer.status.contains(" OK"), "APPEND: {}", answer.status);
    }
    // Expunge INBOX's second message: the UIDs have a gap, UIDNEXT is past it.
    imap.ok("SELECT INBOX");
    imap.ok(r"UID STORE 2 +FLAGS (\Deleted)");
    imap.ok("EXPUNGE");
    imap.ok("UNSELECT");

    let expected: BTreeMap<&str, &str> = [
        ("INBOX", "INBOX"),
        ("Sent", "Sent"),
        ("Archive/2024", "Archive/2024"),
        ("Entwürfe", "Entw&APw-rfe"),
        ("Empty", "Empty"),
    ]
    .into_iter()
    .collect();
    let subscribed: BTreeSet<&str> = ["Sent", "Entwürfe"].into_iter().collect();
    let dates: BTreeMap<Vec<u8>, u64> = seeds.iter().map(|s| (s.body.clone(), s.seconds)).collect();

    let plain = endpoint(server.port, Security::Plain, Trust::WebPki);
    let credentials = Credentials::new("alice", "pass", LoginMethod::Password);
    let mut source = ImapSource::new(plain, credentials, short_timeouts());
    let mailboxes = source.mailboxes().expect("mailboxes");
    assert_eq!(mailboxes[0].name.as_str(), "INBOX", "INBOX first");
    let names: BTreeSet<&str> = mailboxes.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, expected.keys().copied().collect(), "mailbox names");
    for mailbox in &mailboxes {
        let name = mailbox.name.as_str();
        let truth = truth(&mut imap, expected[name]);
        assert_eq!(
            mailbox.uid_validity.map(|v| v.get()),
            Some(truth.uid_validity),
            "UIDVALIDITY of {name}"
        );
        assert_eq!(
            mailbox.uid_next.map(|u| u.get()),
            Some(truth.uid_next),
            "UIDNEXT of {name}"
        );
        assert_eq!(
            mailbox.subscribed,
            subscribed.contains(name),
            "subscription of {name}"
        );
        assert_eq!(
            mailbox.message_count,
            Some(truth.messages.len() as u64),
            "count of {name}"
        );
        let read = read_all(&mut source, mailbox);
        let ours: BTreeMap<u32, (BTreeSet<String>, Vec<u8>)> = read
            .iter()
            .map(|m| {
                let uid = m.uid.expect("IMAP messages have UIDs").get();
                (uid, (imap_flags(&m.flags), m.body.clone()))
            })
            .collect();
        assert_eq!(
            ours, truth.messages,
            "UIDs, flags, keywords and bodies of {name}"
        );
        let uids: Vec<u32> = read.iter().filter_map(|m| m.uid.map(|u| u.get())).collect();
        assert!(
            uids.windows(2).all(|w| w[0] < w[1]),
            "ascending UIDs in {name}"
        );
        for m in &read {
            assert_eq!(
                m.internal_date,
                at(dates[&m.body]),
                "INTERNALDATE in {name}"
            );
            assert_eq!((m.pop3_uidl.as_ref(), m.pop3_order), (None, None));
        }
    }
    let inbox_uids: Vec<u32> = truth(&mut imap, "INBOX").messages.keys().copied().collect();
    assert_eq!(inbox_uids, [1, 3, 4], "the expunge left a gap");

    // STARTTLS with the CA file and AUTHENTICATE PLAIN read the same.
    let tls = endpoint(
        server.port,
        Security::StartTls,
        Trust::CaFile(cert_path.clone()),
    );
    let sasl = Credentials::new("alice", "pass", LoginMethod::SaslPlain);
    let mut over_tls = ImapSource::new(tls, sasl.clone(), short_timeouts());
    let tls_mailboxes = over_tls.mailboxes().expect("mailboxes over STARTTLS");
    assert_eq!(tls_mailboxes, mailboxes);
    assert_eq!(
        read_all(&mut over_tls, &tls_mailboxes[0]),
        read_all(&mut source, &mailboxes[0])
    );
    // The self-signed certificate is not in the Mozilla roots: refused, unless the operator
    // skipped verification explicitly.
    let untrusted = endpoint(server.port, Security::StartTls, Trust::WebPki);
    let refused = ImapSource::new(untrusted, sasl.clone(), short_timeouts()).mailboxes();
    assert!(
        matches!(refused, Err(SourceError::Remote(_))),
        "{refused:?}"
    );
    let insecure = endpoint(server.port, Security::StartTls, Trust::InsecureSkipVerify);
    let accepted = ImapSource::new(insecure, sasl.clone(), short_timeouts()).mailboxes();
    assert_eq!(accepted.expect("insecure by choice"), mailboxes);
    // Implicit TLS (IMAPS) reads the same too.
    let (imaps_port, pop3s_port) = server.tls_ports().expect("implicit TLS ports");
    let imaps = endpoint(
        imaps_port,
        Security::Implicit,
        Trust::CaFile(cert_path.clone()),
    );
    let mut over_imaps = ImapSource::new(imaps, sasl.clone(), short_timeouts());
    assert_eq!(over_imaps.mailboxes().expect("IMAPS"), mailboxes);
    assert_eq!(
        read_all(&mut over_imaps, &mailboxes[1]),
        read_all(&mut source, &mailboxes[1])
    );

    // POP3: INBOX only, UIDLs and order as Dovecot lists them, bodies as IMAP read them,
    // the Date: header as INTERNALDATE (the clock for the message without one).
    let clock_time = at(1_800_000_000);
    let clock: Arc<dyn Fn() -> SystemTime + Send + Sync> = Arc::new(move || clock_time);
    let pop_plain = endpoint(pop3_port, Security::Plain, Trust::WebPki);
    let credentials = Credentials::new("alice", "pass", LoginMethod::Password);
    let mut pop = Pop3Source::new(
        pop_plain,
        credentials,
        RemoteOptions::default(),
        clock.clone(),
    );
    let pop_mailboxes = pop.mailboxes().expect("pop3 mailboxes");
    assert_eq!(pop_mailboxes.len(), 1);
    assert!(pop_mailboxes[0].name.is_inbox());
    assert_eq!(pop_mailboxes[0].message_count, Some(3));
    assert_eq!(
        (pop_mailboxes[0].uid_validity, pop_mailboxes[0].uid_next),
        (None, None)
    );
    let popped = read_all(&mut pop, &pop_mailboxes[0]);
    let listed = dovecot::pop3_uidls(pop3_port, "alice");
    let ours: Vec<(u32, String)> = popped
        .iter()
        .map(|m| {
            (
                m.pop3_order.expect("order"),
                m.pop3_uidl.clone().expect("uidl"),
            )
        })
        .collect();
    assert_eq!(ours, listed, "POP3 order and UIDLs");
    let imap_inbox = read_all(&mut source, &mailboxes[0]);
    for (p, i) in popped.iter().zip(&imap_inbox) {
        assert_eq!(p.body, i.body, "POP3 body equals IMAP body");
        assert_eq!(p.uid, None);
        assert!(p.flags.is_empty());
    }
    assert_eq!(
        popped[0].internal_date,
        at(1_686_832_200),
        "from the Date: header"
    );

    // STLS + AUTH PLAIN + CA file, throttled to 4 messages/s with no burst: three messages
    // cannot take less than the two waits between them.
    let pop_tls = endpoint(
        pop3_port,
        Security::StartTls,
        Trust::CaFile(cert_path.clone()),
    );
    let throttle = Arc::new(Throttle::new(
        NonZeroU32::new(4).expect("4"),
        NonZeroU32::new(1).expect("1"),
    ));
    let mut pop_over_tls =
        Pop3Source::new(pop_tls, sasl, RemoteOptions::default(), clock).with_throttle(throttle);
    let started = Instant::now();
    let popped_tls = read_all(&mut pop_over_tls, &pop_mailboxes[0]);
    assert!(started.elapsed() >= Duration::from_millis(500), "throttled");
    assert_eq!(popped_tls, popped);
    // And POP3S.
    let pop3s = endpoint(
        pop3s_port,
        Security::Implicit,
        Trust::CaFile(cert_path.clone()),
    );
    let credentials = Credentials::new("alice", "pass", LoginMethod::Password);
    let clock_again: Arc<dyn Fn() -> SystemTime + Send + Sync> = Arc::new(move || clock_time);
    let mut over_pop3s = Pop3Source::new(pop3s, credentials, RemoteOptions::default(), clock_again);
    assert_eq!(read_all(&mut over_pop3s, &pop_mailboxes[0]), popped);

    // The same two sources through `gradwell import --manifest`, as an operator runs them
    // (STARTTLS with the CA file for IMAP, POP3S for POP3): the store ends with Dovecot's
    // UIDVALIDITY, UIDs and UIDNEXT for every folder, and the POP3 user with its UIDLs.
    let target = dir.path().join("target");
    std::fs::create_dir(&target).expect("target dir");
    let config = import_target(&target);
    let password_file = target.join("alice.pass");
    std::fs::write(&password_file, "pass\n").expect("password file");
    let manifest = target.join("users.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[user]]\nuser = \"alice\"\nkind = \"imap\"\n\
             remote = {{ host = \"localhost\", port = {imap}, security = \"starttls\", \
             ca_file = \"{ca}\", password_file = \"{pw}\", \
             fetch_batch = 2, io_timeout_secs = 20 }}\n\
             [[user]]\nuser = \"alicepop\"\nkind = \"pop3\"\n\
             remote = {{ host = \"localhost\", port = {pop3s}, ca_file = \"{ca}\", \
             login = \"alice\", password = \"pass\", auth = \"sasl-plain\" }}\n",
            imap = server.port,
            pop3s = pop3s_port,
            ca = cert_path.display(),
            pw = password_file.display(),
        ),
    )
    .expect("manifest");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args(["import", "-c"])
        .arg(&config)
        .arg("--manifest")
        .arg(&manifest)
        .output()
        .expect("gradwell import runs");
    assert!(
        run.status.success(),
        "import: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let store = maildir_store::maildir::Maildir::open(
        &target.join("a"),
        maildir_store::maildir::Options::default(),
    )
    .expect("target replica");
    let alice = maildir_store::UserId::new("alice").expect("user");
    for mailbox in &mailboxes {
        let truth = truth(&mut imap, expected[mailbox.name.as_str()]);
        let view = store.open(&alice, &mailbox.name).expect("imported mailbox");
        assert_eq!(
            view.uid_validity.get(),
            truth.uid_validity,
            "{}",
            mailbox.name.as_str()
        );
        assert_eq!(
            view.uid_next.get(),
            truth.uid_next,
            "{}",
            mailbox.name.as_str()
        );
        let uids: Vec<u32> = view.messages.iter().map(|m| m.uid.get()).collect();
        let want: Vec<u32> = truth.messages.keys().copied().collect();
        assert_eq!(uids, want, "UIDs of {}", mailbox.name.as_str());
    }
    let popped_uidls: Vec<(u32, String)> = store
        .pop3_view(&maildir_store::UserId::new("alicepop").expect("user"))
        .expect("POP3 view")
        .into_iter()
        .zip(1..)
        .map(|(entry, n)| (n, entry.uidl))
        .collect();
    assert_eq!(popped_uidls, listed, "UIDLs after gradwell import");
    server.stop();
}

/// A two-replica store and a configuration naming it, for `gradwell import`.
fn import_target(dir: &Path) -> PathBuf {
    for root in ["a", "b"] {
        std::fs::create_dir(dir.join(root)).expect("replica root");
        maildir_store::maildir::Maildir::init_replica(&dir.join(root)).expect("init replica");
    }
    std::fs::write(dir.join("users"), "").expect("users file");
    let config = dir.join("gradwell.toml");
    std::fs::write(
        &config,
        "hostname = \"mx.example.test\"\nlocal_domains = [\"example.test\"]\n\
         users_file = \"users\"\npostmaster = \"alice\"\n\
         [storage]\nmirror_sets = [[\"a\", \"b\"]]\nfsync = true\n",
    )
    .expect("config");
    config
}

#[test]
fn pop3_date_fallback_is_the_clock() {
    // Without a Date: header the clock decides; with one, the header does.
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(server) = start_dovecot(dir.path(), None) else {
        return;
    };
    let mut imap = Imap::login(server.port, "bob");
    for body in [message(2, false), message(3, true)] {
        let a = imap.command(
            "APPEND INBOX () \"01-Jan-2024 10:00:00 +0100\"",
            Some(&body),
        );
        assert!(a.status.contains(" OK"));
    }
    let now = at(1_800_000_000);
    let port = server.pop3_port().expect("pop3");
    let mut pop = Pop3Source::new(
        endpoint(port, Security::Plain, Trust::WebPki),
        Credentials::new("bob", "pass", LoginMethod::Password),
        RemoteOptions::default(),
        Arc::new(move || now),
    );
    let inbox = pop.mailboxes().expect("mailboxes").remove(0);
    let dates: Vec<SystemTime> = read_all(&mut pop, &inbox)
        .iter()
        .map(|m| m.internal_date)
        .collect();
    assert_eq!(dates, [now, at(1_686_832_200)]);
    server.stop();
}

/// The engine runs sources on worker threads.
#[test]
fn sources_can_move_to_worker_threads() {
    fn movable<T: Send + 'static>() {}
    movable::<ImapSource>();
    movable::<Pop3Source>();
    movable::<Arc<Throttle>>();
}

// ---- Fake servers that misbehave mid-folder --------------------------------------------

/// How the fake IMAP server ends the second UID FETCH batch.
#[derive(Clone, Copy)]
enum Ending {
    /// Sends one message, then closes the connection.
    HangUp,
    /// Sends one message, then says nothing more.
    Silence,
}

fn fetch_response(uid: u32) -> String {
    let body = format!("Subject: {uid}\r\n\r\nbody {uid}\r\n");
    format!(
        "* {uid} FETCH (UID {uid} FLAGS (\\Seen) INTERNALDATE \"01-Jan-2024 10:00:00 +0000\" \
         RFC822.SIZE {} BODY[] {{{}}}\r\n{body})\r\n",
        body.len(),
        body.len()
    )
}

/// A byte stream the fake server talks over: TCP, or TLS on TCP after STARTTLS.
trait Duplex: Read + Write {}
impl<T: Read + Write> Duplex for T {}

/// STARTTLS offered by the fake server: its TLS configuration, and plaintext it sends right
/// after its `OK` (the injection of THREATS TLS-01; empty for an honest server).
type StartTls = (Arc<rustls::ServerConfig>, &'static str);

/// A scripted IMAP server for one connection: a mailbox `Work` with UIDs 1-4; the second
/// batch of two (UIDs 3 and 4) ends as `ending` says.
fn fake_imap(ending: Ending, starttls: Option<StartTls>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let _ = stream.write_all(b"* OK fake ready\r\n");
        serve_imap(Box::new(stream), ending, starttls);
    });
    port
}

fn serve_imap(stream: Box<dyn Duplex>, ending: Ending, mut starttls: Option<StartTls>) {
    let mut reader = BufReader::new(stream);
    let mut batches = 0;
    let mut line = String::new();
    while {
        line.clear();
        reader.read_line(&mut line).unwrap_or(0) > 0
    } {
        let (tag, rest) = line.trim_end().split_once(' ').unwrap_or(("*", ""));
        let upper = rest.to_ascii_uppercase();
        let reply = if upper.starts_with("STARTTLS")
            && let Some((config, injected)) = starttls.take()
        {
            let ok = format!("{tag} OK begin TLS\r\n{injected}");
            let _ = reader.get_mut().write_all(ok.as_bytes());
            let connection = rustls::ServerConnection::new(config).expect("server TLS");
            let tls = rustls::StreamOwned::new(connection, reader.into_inner());
            return serve_imap(Box::new(tls), ending, None);
        } else if upper.starts_with("LIST") {
            "* LIST () \"/\" INBOX\r\n* LIST () \"/\" Work\r\n".to_owned()
        } else if upper.starts_with("LSUB") {
            "* LSUB () \"/\" Work\r\n".to_owned()
        } else if upper.starts_with("STATUS") {
            let name = if upper.contains("WORK") {
                "Work"
            } else {
                "INBOX"
            };
            format!("* STATUS {name} (MESSAGES 4 UIDNEXT 5 UIDVALIDITY 77)\r\n")
        } else if upper.starts_with("EXAMINE") {
            "* 4 EXISTS\r\n* OK [UIDVALIDITY 77] ok\r\n".to_owned()
        } else if upper.starts_with("UID FETCH 1:*") {
            (1..=4)
                .map(|u| format!("* {u} FETCH (UID {u})\r\n"))
                .collect()
        } else if upper.starts_with("UID FETCH") {
            batches += 1;
            if batches == 2 {
                let _ = reader.get_mut().write_all(fetch_response(3).as_bytes());
                let _ = reader.get_mut().flush();
                match ending {
                    Ending::HangUp => return,
                    Ending::Silence => {
                        thread::sleep(Duration::from_secs(3));
                        return;
                    }
                }
            }
            fetch_response(1) + &fetch_response(2)
        } else if upper.starts_with("NAMESPACE") {
            "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n".to_owned()
        } else {
            String::new()
        };
        let _ = reader
            .get_mut()
            .write_all(format!("{reply}{tag} OK done\r\n").as_bytes());
        let _ = reader.get_mut().flush();
    }
}

fn fake_source(port: u16, io_timeout: Duration) -> ImapSource {
    let mut options = RemoteOptions::default();
    options.io_timeout = io_timeout;
    options.fetch_batch = 2;
    ImapSource::new(
        loopback(port),
        Credentials::new("u", "p", LoginMethod::Password),
        options,
    )
}

fn copy_work(source: &mut ImapSource) -> (Vec<u32>, Result<(), SourceError>) {
    let mailboxes = source.mailboxes().expect("mailboxes");
    let work = mailboxes
        .iter()
        .find(|m| m.name.as_str() == "Work")
        .expect("Work listed");
    assert!(work.subscribed);
    let mut got = Vec::new();
    let result = source.messages(work, &mut |m| {
        got.push(m.uid.map_or(0, |u| u.get()));
        Ok(())
    });
    (got, result)
}

#[test]
fn a_server_that_hangs_up_mid_folder_is_a_remote_error_for_that_mailbox() {
    let mut source = fake_source(fake_imap(Ending::HangUp, None), Duration::from_secs(20));
    let (got, result) = copy_work(&mut source);
    assert_eq!(
        got,
        [1, 2, 3],
        "what arrived before the hang-up was handed on"
    );
    match result {
        Err(SourceError::Remote(text)) => {
            assert!(text.contains("Work"), "{text}");
            assert!(text.contains("closed"), "{text}");
        }
        other => panic!("expected a remote error, got {other:?}"),
    }
}

#[test]
fn a_server_that_goes_silent_mid_folder_times_out() {
    let mut source = fake_source(fake_imap(Ending::Silence, None), Duration::from_millis(300));
    let started = Instant::now();
    let (got, result) = copy_work(&mut source);
    assert_eq!(got, [1, 2, 3]);
    match result {
        Err(SourceError::Remote(text)) => assert!(text.contains("timed out"), "{text}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the timeout, not the server, ended it"
    );
}

#[test]
fn a_pop3_server_that_hangs_up_mid_message_is_a_remote_error() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        // Two sessions: STAT for `mailboxes`, then the walk.
        for _ in 0..2 {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut w = stream;
            let _ = w.write_all(b"+OK fake\r\n");
            let mut line = String::new();
            while {
                line.clear();
                reader.read_line(&mut line).unwrap_or(0) > 0
            } {
                let reply = match line.trim_end().to_ascii_uppercase().as_str() {
                    "STAT" => "+OK 2 40\r\n",
                    "UIDL" => "+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n",
                    "LIST" => "+OK\r\n1 20\r\n2 20\r\n.\r\n",
                    "RETR 1" => "+OK\r\nSubject: 1\r\n\r\nbody\r\n.\r\n",
                    "RETR 2" => {
                        let _ = w.write_all(b"+OK\r\nSubject: 2\r\n\r\nhalf a bo");
                        break;
                    }
                    "QUIT" => break,
                    _ => "+OK\r\n",
                };
                let _ = w.write_all(reply.as_bytes());
            }
        }
    });
    let mut pop = Pop3Source::new(
        loopback(port),
        Credentials::new("u", "p", LoginMethod::Password),
        RemoteOptions::default(),
        Arc::new(SystemTime::now),
    );
    let inbox = pop.mailboxes().expect("mailboxes").remove(0);
    let mut got = Vec::new();
    let result = pop.messages(&inbox, &mut |m| {
        got.push(m.pop3_uidl.unwrap_or_default());
        Ok(())
    });
    assert_eq!(got, ["aaa"]);
    assert!(
        matches!(result, Err(SourceError::Remote(ref t)) if t.contains("closed")),
        "{result:?}"
    );
}

/// THREATS TLS-01 on the client side: plaintext the server (or a man in the middle) sends
/// after `OK` to STARTTLS must never be read as if it came over TLS. An honest server works;
/// the same server with a planted `* LIST` line after its `OK` fails the handshake.
#[test]
fn plaintext_injected_after_starttls_fails_the_handshake() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, cert.cert.pem()).expect("ca");
    let key =
        rustls_pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).expect("key");
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .expect("server config"),
    );
    let source = |injected: &'static str| {
        let port = fake_imap(Ending::HangUp, Some((config.clone(), injected)));
        let mut options = RemoteOptions::default();
        options.io_timeout = Duration::from_secs(20);
        ImapSource::new(
            endpoint(port, Security::StartTls, Trust::CaFile(ca.clone())),
            Credentials::new("u", "p", LoginMethod::Password),
            options,
        )
    };
    let honest = source("").mailboxes().expect("honest STARTTLS");
    assert_eq!(honest.len(), 2);
    let planted = source("* LIST () \"/\" Planted\r\n").mailboxes();
    assert!(
        matches!(planted, Err(SourceError::Remote(_))),
        "{planted:?}"
    );
}
