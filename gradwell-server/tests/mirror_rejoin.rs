//! A replica that fails while mail arrives is fenced, and once it is back the server
//! rejoins it by itself while delivery goes on: a real fault (the replica's root vanishes,
//! as an unmounted array does, then comes back), SMTP deliveries throughout, and a ledger
//! proving that every acknowledged message is on both replicas exactly once, under the same
//! UID, with the same bytes.

mod common;

use std::{
    collections::BTreeMap,
    path::Path,
    sync::Mutex,
    time::{Duration, Instant},
};

use common::Running;
use maildir_store::{MailStore, MailboxName, ReadPart, UserId, maildir::Maildir};

const SMTP: usize = 0;

/// Two initialised replica roots, a users file and a config that rejoins after
/// `rejoin_after` seconds, with the operations listener on `metrics` if given.
fn setup(dir: &Path, rejoin_after: u64, metrics: Option<u16>) -> std::path::PathBuf {
    for root in ["replica-a", "replica-b"] {
        std::fs::create_dir(dir.join(root)).unwrap();
        Maildir::init_replica(&dir.join(root)).unwrap();
    }
    std::fs::write(dir.join("users"), "alice:{PLAIN}pw-alice\n").unwrap();
    let path = dir.join("test.toml");
    let metrics = metrics.map_or(String::new(), |port| {
        format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n")
    });
    std::fs::write(
        &path,
        format!(
            r#"
hostname = "mx.example.test"
local_domains = ["example.test"]
users_file = "users"
postmaster = "alice"
[storage]
mirror_sets = [["replica-a", "replica-b"]]
mirror_deadline_ms = 1000
mirror_rejoin_after_secs = {rejoin_after}
[[listener]]
service = "smtp"
address = "127.0.0.1:0"
tls = "none"
{metrics}"#
        ),
    )
    .unwrap();
    path
}

/// Delivers one message whose subject is `subject`; true when it was acknowledged.
fn deliver(server: &Running, subject: &str) -> bool {
    let mut c = server.talk(SMTP);
    for command in [
        "HELO client.example.net",
        "MAIL FROM:<sender@example.net>",
        "RCPT TO:<alice@example.test>",
    ] {
        if !c.ask(command).starts_with("250") {
            return false;
        }
    }
    if !c.ask("DATA").starts_with("354") {
        return false;
    }
    let answer = c.ask(&format!("Subject: {subject}\r\n\r\nbody of {subject}\r\n."));
    c.ask("QUIT");
    answer.starts_with("250 ")
}

/// Alice's INBOX on one replica root, read by a store of its own: UID -> subject and
/// whole message. `None` while the root cannot be read.
fn inbox(root: &Path) -> Option<BTreeMap<u32, (String, Vec<u8>)>> {
    let store = Maildir::open(root, maildir_store::maildir::Options::default()).ok()?;
    let alice = UserId::new("alice").unwrap();
    let view = store.open(&alice, &MailboxName::inbox()).ok()?;
    let mut all = BTreeMap::new();
    for meta in view.messages {
        let bytes = store
            .read(&alice, &MailboxName::inbox(), meta.uid, ReadPart::Whole)
            .ok()?;
        let text = String::from_utf8_lossy(&bytes);
        let subject = text
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_owned();
        all.insert(meta.uid.get(), (subject, bytes));
    }
    Some(all)
}

/// A replica root's mirror-state record.
fn record(root: &Path) -> String {
    std::fs::read_to_string(root.join(maildir_store::mirror::MIRROR_STATE_FILE)).unwrap()
}

/// Every acknowledged subject is in `box_` exactly once, and nothing else is.
fn holds_exactly(box_: &BTreeMap<u32, (String, Vec<u8>)>, ledger: &[String]) -> bool {
    let mut have: Vec<&str> = box_.values().map(|(s, _)| s.as_str()).collect();
    let mut want: Vec<&str> = ledger.iter().map(String::as_str).collect();
    have.sort_unstable();
    want.sort_unstable();
    have == want
}

#[test]
fn a_failed_replica_rejoins_by_itself_with_every_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), 1, None);
    let (a, b) = (dir.path().join("replica-a"), dir.path().join("replica-b"));
    let gone = dir.path().join("replica-b.gone");
    let server = Running::start(&config);
    let ledger = Mutex::new(Vec::<String>::new());
    let refused = Mutex::new(0usize);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        // Mail keeps arriving through the fault, the failover and the rejoin.
        scope.spawn(|| {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let subject = format!("message {n}");
                if deliver(&server, &subject) {
                    ledger.lock().unwrap().push(subject);
                } else {
                    *refused.lock().unwrap() += 1;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let acked = || ledger.lock().unwrap().len();
        let wait_for = |what: &str, done: &dyn Fn() -> bool| {
            let until = Instant::now() + Duration::from_secs(60);
            while !done() {
                assert!(Instant::now() < until, "timed out waiting for {what}");
                std::thread::sleep(Duration::from_millis(50));
            }
        };
        wait_for("deliveries on both replicas", &|| acked() >= 10);

        // The second array vanishes (a failed or unmounted mount) mid-stream.
        std::fs::rename(&b, &gone).unwrap();
        let at_fault = acked();
        wait_for("deliveries on the survivor alone", &|| {
            acked() >= at_fault + 20
        });
        assert!(!b.exists(), "nothing recreated where the array was");

        // The array comes back; the server must rejoin it on its own: the survivor's
        // record then names no stale side under a newer epoch.
        let fenced = record(&a);
        assert!(fenced.ends_with("stale 1\n"), "fence recorded: {fenced}");
        std::fs::rename(&gone, &b).unwrap();
        wait_for("the automatic rejoin", &|| {
            let now = record(&a);
            now.ends_with("stale none\n") && now != fenced
        });
        // Delivery went on during the rejoin; more now lands on both replicas again.
        let at_rejoin = acked();
        wait_for("deliveries after the rejoin", &|| acked() >= at_rejoin + 10);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    drop(server);

    // The ledger, with the server stopped: every acknowledged message exactly once on each
    // replica, under the same UID, with the same bytes.
    let ledger = ledger.into_inner().unwrap();
    let (on_a, on_b) = (inbox(&a).unwrap(), inbox(&b).unwrap());
    assert!(holds_exactly(&on_a, &ledger), "survivor holds the ledger");
    assert!(holds_exactly(&on_b, &ledger), "rejoined replica holds it");
    assert_eq!(on_a, on_b, "same UIDs, same bytes on both replicas");
    assert_eq!(
        *refused.lock().unwrap(),
        0,
        "no delivery refused through the failover and the rejoin"
    );
    assert_eq!(record(&a), record(&b), "one epoch, no stale side on either");
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `gradwell mirror ARGS -c CONFIG`; its standard output, or a panic with its error.
fn mirror_cli(config: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .arg("mirror")
        .arg("-c")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "gradwell mirror {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The `--json` status: per set, whether a replica is fenced.
fn degraded(config: &Path) -> Vec<bool> {
    let text = mirror_cli(config, &["--json", "status"]);
    let sets: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    sets.iter()
        .map(|s| {
            s["replicas"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| !r["fenced"].is_null())
        })
        .collect()
}

#[test]
fn with_rejoin_off_the_operator_rejoins_through_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let ops = free_port();
    let config = setup(dir.path(), 0, Some(ops));
    let (a, b) = (dir.path().join("replica-a"), dir.path().join("replica-b"));
    let gone = dir.path().join("replica-b.gone");
    let server = Running::start(&config);
    let mut ledger = Vec::new();
    let mut send = |subject: String| {
        assert!(deliver(&server, &subject), "{subject} acknowledged");
        ledger.push(subject);
    };
    (1..=3).for_each(|n| send(format!("before {n}")));
    assert_eq!(degraded(&config), [false]);

    std::fs::rename(&b, &gone).unwrap();
    (1..=5).for_each(|n| send(format!("during {n}")));
    std::fs::rename(&gone, &b).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(degraded(&config), [true], "no automatic rejoin at 0");
    let status = mirror_cli(&config, &["status"]);
    assert!(
        status.contains("replica 1 ") && status.contains(" fenced at epoch "),
        "{status}"
    );

    let rejoined = mirror_cli(&config, &["rejoin"]);
    assert!(
        rejoined.contains("set 0 epoch ") && rejoined.contains(" ok\n"),
        "{rejoined}"
    );
    assert_eq!(degraded(&config), [false]);
    (1..=3).for_each(|n| send(format!("after {n}")));
    let metrics = gradwell_server::ops_http::request(
        std::net::SocketAddr::from(([127, 0, 0, 1], ops)),
        "GET",
        "/metrics",
    )
    .unwrap();
    let value = |name: &str| -> f64 {
        let line = metrics.lines().find(|l| l.starts_with(name));
        line.and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
    };
    // The metrics are per process, and the other test in this binary rejoins too: only
    // what holds whatever that test is doing is checked.
    assert!(value("gradwell_mirror_rejoins_total{result=\"ok\"}") >= 1.0);
    assert!(value("gradwell_mirror_resync_messages_total{set=\"0\"}") >= 5.0);
    assert!(metrics.contains("gradwell_mirror_resync_in_progress{set=\"0\"}"));
    let scrub = mirror_cli(&config, &["scrub"]);
    assert!(scrub.contains("; 0 findings"), "{scrub}");
    drop(server);

    // No server now: the command opens the storage itself.
    assert_eq!(degraded(&config), [false]);
    let (on_a, on_b) = (inbox(&a).unwrap(), inbox(&b).unwrap());
    assert!(holds_exactly(&on_a, &ledger), "survivor holds the ledger");
    assert!(holds_exactly(&on_b, &ledger), "rejoined replica holds it");
    assert_eq!(on_a, on_b, "same UIDs, same bytes on both replicas");
}
