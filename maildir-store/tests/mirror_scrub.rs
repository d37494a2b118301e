//! The verify-and-repair scrub: damage one replica's files behind the mirror's back (a
//! missing message file, an altered body, a uidlist that no longer parses) and check that the
//! scrub finds it, names the damaged side, and repairs it from the other, so that every
//! acknowledged message is present once, with the same bytes, on both replicas.

mod mirror_support;

use std::{fs, path::PathBuf, sync::Arc, time::SystemTime};

use maildir_store::{
    AppendRequest, MailStore, MailboxName, MemStore, ReadPart, Uid,
    maildir::{self, Maildir},
    mirror::{Fault, FaultyStore, Mirror, Options, Replica, Scope, ScrubReport, Side, differences},
};
use mirror_support::{bob, body};

struct Set {
    _dir: tempfile::TempDir,
    roots: [PathBuf; 2],
    replicas: [Arc<Maildir>; 2],
    mirror: Mirror,
    /// (mailbox, message number, UID) of every acknowledged delivery.
    ledger: Vec<(MailboxName, usize, Uid)>,
}

fn work() -> MailboxName {
    MailboxName::new("Work").expect("valid name")
}

impl Set {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let roots = ["a", "b"].map(|n| dir.path().join(n));
        let replicas = roots.clone().map(|root| {
            fs::create_dir(&root).expect("mkdir");
            Maildir::init_replica(&root).expect("init");
            Arc::new(Maildir::open(&root, maildir::Options::default()).expect("open"))
        });
        let [p, s] = replicas.clone().map(|r| r as Arc<dyn Replica>);
        let mirror = Mirror::open(p, s, Options::default()).expect("open mirror");
        mirror
            .create_mailbox(&bob(), &work(), None)
            .expect("create");
        let mut set = Self {
            _dir: dir,
            roots,
            replicas,
            mirror,
            ledger: Vec::new(),
        };
        for n in 1..=4 {
            set.deliver(&MailboxName::inbox(), n);
        }
        for n in 5..=6 {
            set.deliver(&work(), n);
        }
        set
    }

    fn deliver(&mut self, name: &MailboxName, n: usize) {
        let req = AppendRequest::new(SystemTime::UNIX_EPOCH);
        let uid = self
            .mirror
            .append(&bob(), name, &mut &body(n)[..], &req)
            .expect("append");
        self.ledger.push((name.clone(), n, uid));
    }

    fn mailbox_dir(&self, side: Side, name: &MailboxName) -> PathBuf {
        let user = self.roots[side.index()].join("bob");
        if name.is_inbox() {
            user
        } else {
            user.join(format!(".{name}"))
        }
    }

    /// The file holding message `n` on one side.
    fn file_of(&self, side: Side, name: &MailboxName, n: usize) -> PathBuf {
        let dir = self.mailbox_dir(side, name);
        for sub in ["cur", "new"] {
            for entry in fs::read_dir(dir.join(sub)).expect("list") {
                let path = entry.expect("entry").path();
                if fs::read(&path).expect("read") == body(n) {
                    return path;
                }
            }
        }
        panic!("message {n} not found in {}", dir.display());
    }

    fn scrub(&self, repair: bool) -> ScrubReport {
        let mut calls = 0;
        let report = self
            .mirror
            .scrub(repair, &mut |p| {
                calls += 1;
                assert_eq!(p.users_done, calls, "progress after every user");
            })
            .expect("scrub");
        assert_eq!(calls, report.progress.users_total);
        report
    }

    /// Every acknowledged message is on both replicas exactly once, under its UID, and the
    /// replicas compare equal.
    fn assert_ledger(&self) {
        for replica in &self.replicas {
            for (name, n, uid) in &self.ledger {
                let view = replica.open(&bob(), name).expect("open");
                assert!(view.get(*uid).is_some(), "message {n} in {name}");
                let bytes = replica
                    .read(&bob(), name, *uid, ReadPart::Whole)
                    .expect("read");
                assert_eq!(bytes, body(*n), "message {n} bytes");
            }
        }
        let [p, s] = &self.replicas;
        assert_eq!(
            differences(&**p, &**s, &bob()).expect("compare"),
            Vec::<String>::new()
        );
        assert_eq!(self.mirror.status().primary, None);
        assert_eq!(self.mirror.status().secondary, None);
    }
}

fn named(report: &ScrubReport, side: Side) -> bool {
    report.findings.iter().any(|f| f.damaged == Some(side))
}

#[test]
fn a_clean_set_scrubs_clean() {
    let set = Set::new();
    let report = set.scrub(true);
    assert_eq!(report.findings, []);
    assert_eq!(report.progress.mailboxes, 2);
    assert_eq!(report.progress.messages, 6);
    set.assert_ledger();
}

#[test]
fn missing_message_file_is_found_and_restored() {
    let set = Set::new();
    fs::remove_file(set.file_of(Side::Secondary, &MailboxName::inbox(), 2)).expect("rm");
    let report = set.scrub(false);
    assert!(named(&report, Side::Secondary), "{report:?}");
    assert!(!named(&report, Side::Primary), "{report:?}");
    assert!(!report.is_clean());
    // Report-only left it alone; the repair fixes it.
    let report = set.scrub(true);
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.mailboxes_repaired, 1);
    set.assert_ledger();
    assert_eq!(set.scrub(false).findings, []);
}

#[test]
fn altered_body_on_the_primary_is_repaired_from_the_secondary() {
    let set = Set::new();
    let file = set.file_of(Side::Primary, &work(), 5);
    fs::write(&file, b"Subject: 5\r\n\r\nnot what was delivered\r\n").expect("write");
    let report = set.scrub(true);
    assert!(named(&report, Side::Primary), "{report:?}");
    assert!(!named(&report, Side::Secondary), "{report:?}");
    assert!(report.is_clean(), "{report:?}");
    set.assert_ledger();
}

#[test]
fn bad_uidlist_is_found_before_it_is_rebuilt_and_repaired() {
    let set = Set::new();
    let list = set
        .mailbox_dir(Side::Secondary, &MailboxName::inbox())
        .join("dovecot-uidlist");
    fs::write(&list, b"this is not a uidlist\n").expect("write");
    let report = set.scrub(true);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.damaged == Some(Side::Secondary) && f.detail.contains("dovecot-uidlist")),
        "{report:?}"
    );
    assert!(report.is_clean(), "{report:?}");
    set.assert_ledger();
    assert_eq!(set.scrub(false).findings, []);
}

#[test]
fn same_length_damage_is_reported_not_guessed() {
    let set = Set::new();
    let file = set.file_of(Side::Secondary, &MailboxName::inbox(), 3);
    let mut bytes = fs::read(&file).expect("read");
    let last = bytes.len() - 3;
    bytes[last] ^= 0x20; // one flipped bit: same length, different bytes
    fs::write(&file, &bytes).expect("write");
    let report = set.scrub(true);
    assert_eq!(report.findings.len(), 1, "{report:?}");
    assert_eq!(report.findings[0].damaged, None);
    assert!(!report.is_clean());
    assert_eq!(report.mailboxes_repaired, 0);
    // Nothing was fenced or changed by guesswork.
    assert_eq!(set.mirror.status().secondary, None);
    assert_eq!(fs::read(&file).expect("read"), bytes);
}

#[test]
fn scrub_runs_on_memory_stores_and_refuses_a_degraded_set() {
    let (p, s) = (
        Arc::new(MemStore::new()),
        Arc::new(FaultyStore::new(MemStore::new())),
    );
    let m = Mirror::open(p, s.clone(), Options::default()).expect("open");
    let req = AppendRequest::new(SystemTime::UNIX_EPOCH);
    m.append(&bob(), &MailboxName::inbox(), &mut &body(1)[..], &req)
        .expect("append");
    let report = m.scrub(true, &mut |_| {}).expect("scrub");
    assert_eq!(report.findings, []);
    assert_eq!(report.progress.messages, 1);
    s.arm(Fault::Errno(5), Scope::Writes);
    m.append(&bob(), &MailboxName::inbox(), &mut &body(2)[..], &req)
        .expect("acknowledged by the survivor");
    assert!(m.status().secondary.is_some());
    assert!(
        m.scrub(false, &mut |_| {}).is_err(),
        "a fenced set is resynced, not scrubbed"
    );
}
