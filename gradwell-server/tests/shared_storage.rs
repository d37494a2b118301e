//! Servers over two replica roots: every delivery lands on both, a lost replica is fenced
//! while the other serves, the POP3 maildrop lock holds across two servers sharing the
//! roots (as two front-end hosts sharing the arrays would), and RETR's read-ahead returns
//! the same octets in any order.

mod common;

use std::{path::Path, time::Duration};

use common::{Running, Talk};
use gradwell_server::config::Config;
use maildir_store::{MailStore, UserId, maildir::Maildir};

const SMTP: usize = 0;
const POP3: usize = 1;

/// Two initialised replica roots, a users file and a config naming both roots.
fn setup(dir: &Path) -> std::path::PathBuf {
    for root in ["replica-a", "replica-b"] {
        std::fs::create_dir(dir.join(root)).unwrap();
        Maildir::init_replica(&dir.join(root)).unwrap();
    }
    std::fs::write(dir.join("users"), "alice:{PLAIN}pw-alice\n").unwrap();
    let path = dir.join("test.toml");
    std::fs::write(
        &path,
        r#"
hostname = "mx.example.test"
local_domains = ["example.test"]
users_file = "users"
postmaster = "alice"
[storage]
mirror_sets = [["replica-a", "replica-b"]]
fsync = false
mirror_deadline_ms = 1000
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

fn deliver(server: &Running, subject: &str) -> String {
    let mut c = server.talk(SMTP);
    for command in [
        "HELO client.example.net",
        "MAIL FROM:<sender@example.net>",
        "RCPT TO:<alice@example.test>",
    ] {
        let answer = c.ask(command);
        assert!(answer.starts_with("250"), "{command}: {answer}");
    }
    assert!(c.ask("DATA").starts_with("354"));
    c.ask(&format!("Subject: {subject}\r\n\r\nbody of {subject}\r\n."))
}

/// How many messages alice has on one replica root, read by a store of its own.
fn on_root(root: &Path) -> Vec<String> {
    let store = Maildir::open(root, maildir_store::maildir::Options::default()).unwrap();
    let alice = UserId::new("alice").unwrap();
    store
        .pop3_view(&alice)
        .unwrap()
        .into_iter()
        .map(|e| e.uidl)
        .collect()
}

fn pop3_login(server: &Running) -> (Talk, String) {
    let mut c = server.talk(POP3);
    assert!(c.ask("USER alice").starts_with("+OK"));
    let answer = c.ask("PASS pw-alice");
    (c, answer)
}

#[test]
fn every_delivery_is_on_both_replicas_and_a_lost_one_is_fenced() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path());
    let server = Running::start(&config);
    let answer = deliver(&server, "first");
    assert!(answer.starts_with("250 "), "{answer}");
    let (a, b) = (dir.path().join("replica-a"), dir.path().join("replica-b"));
    let uidls = on_root(&a);
    assert_eq!(uidls.len(), 1);
    assert_eq!(
        on_root(&b),
        uidls,
        "same message, same UIDL on both replicas"
    );

    // The second array vanishes (an unmounted or failed mount).
    std::fs::rename(&b, dir.path().join("replica-b.gone")).unwrap();
    for subject in ["second", "third"] {
        let answer = deliver(&server, subject);
        assert!(answer.starts_with("250 "), "survivor alone: {answer}");
    }
    assert_eq!(on_root(&a).len(), 3);
    assert!(!b.exists(), "nothing recreated where the array was");

    let (mut c, answer) = pop3_login(&server);
    assert!(answer.starts_with("+OK"), "{answer}");
    assert!(c.ask("STAT").starts_with("+OK 3 "));
    assert!(c.ask("RETR 3").starts_with("+OK"));
    assert!(c.until_dot().contains("body of third"));
    assert!(
        c.ask("UIDL 1").ends_with(&format!(" {}\r\n", uidls[0])),
        "UIDL kept"
    );
    assert!(c.ask("QUIT").starts_with("+OK"));
}

#[test]
fn the_maildrop_lock_holds_across_two_servers_on_the_same_roots() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path());
    let one = Running::start(&config);
    let two = Running::start(&config);
    assert!(deliver(&one, "hello").starts_with("250 "));

    let (mut first, answer) = pop3_login(&one);
    assert!(answer.starts_with("+OK"), "{answer}");
    let (_, refused) = pop3_login(&two);
    assert!(refused.starts_with("-ERR [IN-USE]"), "{refused}");

    // QUIT releases it for the other server.
    assert!(first.ask("QUIT").starts_with("+OK"));
    let (mut second, answer) = pop3_login(&two);
    assert!(answer.starts_with("+OK"), "{answer}");
    assert!(second.ask("STAT").starts_with("+OK 1 "));
    let (_, refused) = pop3_login(&one);
    assert!(refused.starts_with("-ERR [IN-USE]"), "{refused}");

    // A dropped connection releases it too (nothing deleted).
    assert!(second.ask("DELE 1").starts_with("+OK"));
    drop(second);
    let mut relocked = None;
    for _ in 0..50 {
        let (c, answer) = pop3_login(&one);
        if answer.starts_with("+OK") {
            relocked = Some(c);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut c = relocked.expect("lock released after the connection dropped");
    assert!(c.ask("STAT").starts_with("+OK 1 "), "nothing deleted");
}

#[test]
fn retr_in_any_order_returns_each_message_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(&setup(dir.path()));
    for n in 1..=6 {
        assert!(deliver(&server, &format!("message {n}")).starts_with("250 "));
    }
    let (mut c, answer) = pop3_login(&server);
    assert!(answer.starts_with("+OK"), "{answer}");
    let retr = |c: &mut Talk, n: u32| {
        let ok = c.ask(&format!("RETR {n}"));
        assert!(ok.starts_with("+OK"), "RETR {n}: {ok}");
        let body = c.until_dot();
        let octets: usize = ok.split(' ').nth(1).unwrap().parse().unwrap();
        assert_eq!(body.len(), octets, "RETR {n} sends what it announces");
        assert!(body.contains(&format!("body of message {n}\r\n")), "{body}");
    };
    // In order (read ahead), backwards, skipping, and after a DELE in the read-ahead range.
    for n in [1, 2, 3, 1, 5, 4, 6] {
        retr(&mut c, n);
    }
    assert!(c.ask("DELE 3").starts_with("+OK"));
    retr(&mut c, 2);
    assert!(c.ask("RETR 3").starts_with("-ERR"), "deleted");
    retr(&mut c, 4);
    assert!(c.ask("TOP 5 0").starts_with("+OK"));
    assert!(c.until_dot().ends_with("\r\n\r\n"), "the header only");
    retr(&mut c, 6);
}

#[test]
fn a_lone_replica_at_start_needs_the_operator_override() {
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path());
    drop(Running::start(&config)); // both replicas record the new set
    std::fs::remove_dir_all(dir.path().join("replica-b")).unwrap();
    // The survivor's record does not prove the other side is behind: refuse, naming the key.
    let err = gradwell_server::app::App::open(Config::load(&config).unwrap()).unwrap_err();
    let err = format!("{err:#}");
    assert!(err.contains("storage.mirror_sets"), "{err}");

    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replace("[storage]", "[storage]\nmirror_trust_lone_replica = true");
    std::fs::write(&config, text).unwrap();
    let server = Running::start(&config);
    assert!(deliver(&server, "alone").starts_with("250 "));
    assert_eq!(on_root(&dir.path().join("replica-a")).len(), 1);
    assert!(!dir.path().join("replica-b").exists(), "nothing recreated");
}
