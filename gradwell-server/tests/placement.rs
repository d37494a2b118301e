//! A server over two mirror sets: each user's mail lands on the set the placement map names
//! (both replicas of it), SMTP delivery and POP3 work for users on either set, and
//! `gradwell user move` moves a user to the other set through the running server while mail
//! keeps arriving, with the same UIDLs and nothing lost.

mod common;

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use common::{Running, Talk};
use gradwell_server::{config::Config, moves};
use maildir_store::{MailStore, UserId, maildir::Maildir};

const SMTP: usize = 0;
const POP3: usize = 1;
const ROOTS: [&str; 4] = ["set0-a", "set0-b", "set1-a", "set1-b"];

/// Four initialised replica roots in two mirror sets, bob placed on set 1 by the map.
fn setup(dir: &Path) -> PathBuf {
    for root in ROOTS {
        std::fs::create_dir(dir.join(root)).unwrap();
        Maildir::init_replica(&dir.join(root)).unwrap();
    }
    std::fs::write(
        dir.join("placement"),
        "gradwell-placement v1\ndefault 0\nuser bob 1\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("users"),
        "alice:{PLAIN}pw-alice\nbob:{PLAIN}pw-bob\ncarol:{PLAIN}pw-carol\n",
    )
    .unwrap();
    let path = dir.join("test.toml");
    std::fs::write(
        &path,
        r#"
hostname = "mx.example.test"
local_domains = ["example.test"]
users_file = "users"
postmaster = "alice"
[storage]
mirror_sets = [["set0-a", "set0-b"], ["set1-a", "set1-b"]]
placement_file = "placement"
fsync = false
mirror_deadline_ms = 2000
[limits]
auth_penalty_initial_ms = 10
auth_penalty_max_ms = 20
[[listener]]
service = "smtp"
address = "127.0.0.1:0"
tls = "none"
[[listener]]
service = "pop3"
address = "127.0.0.1:0"
tls = "none"
allow_cleartext_auth = true
"#,
    )
    .unwrap();
    path
}

fn deliver(server: &Running, to: &str, subject: &str) -> String {
    let mut c = server.talk(SMTP);
    for command in [
        "HELO client.example.net".to_owned(),
        "MAIL FROM:<sender@example.net>".to_owned(),
        format!("RCPT TO:<{to}@example.test>"),
    ] {
        let answer = c.ask(&command);
        assert!(answer.starts_with("250"), "{command}: {answer}");
    }
    assert!(c.ask("DATA").starts_with("354"));
    c.ask(&format!("Subject: {subject}\r\n\r\nbody of {subject}\r\n."))
}

/// `user`'s POP3 UIDLs on one replica root, read by a store of its own.
fn on_root(root: &Path, user: &str) -> Vec<String> {
    let store = Maildir::open(root, maildir_store::maildir::Options::default()).unwrap();
    store
        .pop3_view(&UserId::new(user).unwrap())
        .unwrap()
        .into_iter()
        .map(|e| e.uidl)
        .collect()
}

fn pop3_login(server: &Running, user: &str) -> Talk {
    let mut c = server.talk(POP3);
    assert!(c.ask(&format!("USER {user}")).starts_with("+OK"));
    let answer = c.ask(&format!("PASS pw-{user}"));
    assert!(answer.starts_with("+OK"), "{user}: {answer}");
    c
}

/// Every message's UIDL and body over POP3, in maildrop order.
fn pop3_all(server: &Running, user: &str) -> Vec<(String, String)> {
    let mut c = pop3_login(server, user);
    assert!(c.ask("UIDL").starts_with("+OK"));
    let uidls: Vec<String> = c
        .until_dot()
        .lines()
        .map(|l| l.split(' ').nth(1).unwrap().to_owned())
        .collect();
    let mut all = Vec::new();
    for (n, uidl) in uidls.into_iter().enumerate() {
        assert!(c.ask(&format!("RETR {}", n + 1)).starts_with("+OK"));
        all.push((uidl, c.until_dot()));
    }
    assert!(c.ask("QUIT").starts_with("+OK"));
    all
}

#[test]
fn users_land_on_their_sets_and_are_served_from_there() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(&setup(dir.path()));
    for user in ["alice", "bob", "carol"] {
        let answer = deliver(&server, user, &format!("for {user}"));
        assert!(answer.starts_with("250 "), "{user}: {answer}");
    }
    let root = |r: &str| dir.path().join(r);
    // alice (not in the map) and carol go to the default set 0, bob to set 1; on both
    // replicas of their set, nowhere else.
    for (user, home, other) in [
        ("alice", ["set0-a", "set0-b"], ["set1-a", "set1-b"]),
        ("carol", ["set0-a", "set0-b"], ["set1-a", "set1-b"]),
        ("bob", ["set1-a", "set1-b"], ["set0-a", "set0-b"]),
    ] {
        let uidls = on_root(&root(home[0]), user);
        assert_eq!(uidls.len(), 1, "{user} on {}", home[0]);
        assert_eq!(on_root(&root(home[1]), user), uidls, "{user} mirrored");
        for r in other {
            assert!(on_root(&root(r), user).is_empty(), "{user} not on {r}");
        }
        let served = pop3_all(&server, user);
        assert_eq!(served.len(), 1);
        assert_eq!(
            served[0].0, uidls[0],
            "{user}: UIDL from the set's replicas"
        );
        assert!(served[0].1.contains(&format!("body of for {user}")));
    }
    let map = std::fs::read_to_string(dir.path().join("placement")).unwrap();
    assert!(map.contains("user alice 0\n"), "placed at first use: {map}");
    assert!(map.contains("user bob 1\n"), "{map}");
}

#[test]
fn a_live_move_keeps_uidls_and_loses_nothing_while_mail_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = setup(dir.path());
    let server = Arc::new(Running::start(&config_path));
    for n in 0..5 {
        assert!(deliver(&server, "alice", &format!("before {n}")).starts_with("250 "));
    }
    let before = pop3_all(&server, "alice");
    assert_eq!(before.len(), 5);

    // A writer keeps delivering while the move runs; it records what was acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (server, stop) = (Arc::clone(&server), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut acked = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) || n < 3 {
                let subject = format!("during {n}");
                if deliver(&server, "alice", &subject).starts_with("250 ") {
                    acked.push(subject);
                }
                n += 1;
            }
            acked
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let servers = std::fs::read_dir(dir.path().join("placement.servers")).unwrap();
    assert_eq!(servers.count(), 1, "the running server does the move");
    let config = Config::load(&config_path).unwrap();
    let done = moves::move_user(&config.storage, "alice", 1, Duration::from_secs(60)).unwrap();
    assert!(done.contains("moved alice from set 0 to set 1"), "{done}");
    stop.store(true, Ordering::Relaxed);
    let acked = writer.join().unwrap();
    assert!(!acked.is_empty());

    let after = pop3_all(&server, "alice");
    assert_eq!(
        &after[..5],
        &before[..],
        "same UIDLs and bytes for what was there"
    );
    assert_eq!(
        after.len(),
        5 + acked.len(),
        "nothing lost, nothing doubled"
    );
    for subject in &acked {
        let body = format!("body of {subject}\r\n");
        let copies = after.iter().filter(|(_, b)| b.contains(&body)).count();
        assert_eq!(copies, 1, "{subject} exactly once");
    }
    let uidls: Vec<String> = after.iter().map(|(u, _)| u.clone()).collect();
    for r in ["set1-a", "set1-b"] {
        assert_eq!(on_root(&dir.path().join(r), "alice"), uidls, "on {r}");
    }
    for r in ["set0-a", "set0-b"] {
        assert!(
            on_root(&dir.path().join(r), "alice").is_empty(),
            "retired from {r}"
        );
    }
    let map = std::fs::read_to_string(dir.path().join("placement")).unwrap();
    assert!(map.contains("user alice 1\n"), "{map}");

    // New mail after the move goes to set 1.
    assert!(deliver(&server, "alice", "after").starts_with("250 "));
    assert_eq!(
        on_root(&dir.path().join("set1-a"), "alice").len(),
        uidls.len() + 1
    );
}

#[test]
fn a_move_with_no_server_running_is_made_by_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = setup(dir.path());
    let before = {
        let server = Running::start(&config_path);
        assert!(deliver(&server, "bob", "offline").starts_with("250 "));
        on_root(&dir.path().join("set1-a"), "bob")
    };
    let config = Config::load(&config_path).unwrap();
    let done = moves::move_user(&config.storage, "bob", 0, Duration::from_secs(5)).unwrap();
    assert!(done.contains("moved bob from set 1 to set 0"), "{done}");
    assert_eq!(on_root(&dir.path().join("set0-b"), "bob"), before);
    let server = Running::start(&config_path);
    let served = pop3_all(&server, "bob");
    assert_eq!(served.len(), 1);
    assert_eq!(served[0].0, before[0]);
}

/// Two servers share the storage (each with its own placement and fence files open, as two
/// processes would): one of them moves the user, and the other's next delivery goes to the
/// new set, none to the retired copy.
#[test]
fn a_move_through_one_of_several_servers_fences_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = setup(dir.path());
    let one = Running::start(&config_path);
    let two = Running::start(&config_path);
    assert!(deliver(&one, "alice", "before").starts_with("250 "));
    assert!(deliver(&two, "alice", "also before").starts_with("250 "));
    let config = Config::load(&config_path).unwrap();
    let done = moves::move_user(&config.storage, "alice", 1, Duration::from_secs(30)).unwrap();
    assert!(done.contains("moved alice from set 0 to set 1"), "{done}");
    for server in [&one, &two] {
        assert!(deliver(server, "alice", "after").starts_with("250 "));
    }
    for r in ["set1-a", "set1-b"] {
        assert_eq!(on_root(&dir.path().join(r), "alice").len(), 4, "on {r}");
    }
    for r in ["set0-a", "set0-b"] {
        assert!(on_root(&dir.path().join(r), "alice").is_empty(), "{r}");
    }
}
