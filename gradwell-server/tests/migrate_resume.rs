//! MIR-10: a bulk import killed with `kill -9` at random points and run again finishes with
//! every message exactly once under its source UID, and a journal line per user.

use std::{
    collections::BTreeMap,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use maildir_store::{
    MailStore, MailboxName, ReadPart, UserId,
    maildir::{Maildir, Options},
};

const USERS: u32 = 24;
const MESSAGES: u32 = 15;

/// A Dovecot Maildir for user `n`: INBOX with UIDs 1, 3, 5, ... and a Sent folder.
fn tree(root: &Path, n: u32) {
    for folder in ["", ".Sent"] {
        let dir = root.join(folder);
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let mut list = format!("3 V{} N{}\n", 1_000 + n, MESSAGES * 2 + 5);
        for i in 0..MESSAGES {
            let uid = i * 2 + 1;
            let base = format!("{uid}.M{n}.src");
            list.push_str(&format!("{uid} :{base}\n"));
            let body = format!(
                "Subject: user {n} folder {folder} message {uid}\n\n{}\n",
                "x".repeat((uid as usize * 97) % 3000)
            );
            std::fs::write(dir.join("cur").join(format!("{base}:2,S")), body).unwrap();
        }
        std::fs::write(dir.join("dovecot-uidlist"), list).unwrap();
    }
}

/// A tiny deterministic generator for the kill delays.
/// Users the journal records as done (complete lines only).
fn journal_lines(journal: &std::path::Path) -> u64 {
    std::fs::read_to_string(journal)
        .map(|text| text.matches('\n').count() as u64)
        .unwrap_or(0)
}

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn killed_runs_resume_without_duplicates_or_loss() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for root in ["a", "b"] {
        std::fs::create_dir(d.join(root)).unwrap();
        Maildir::init_replica(&d.join(root)).unwrap();
    }
    std::fs::write(d.join("users"), "").unwrap();
    let config = d.join("c.toml");
    std::fs::write(
        &config,
        "hostname = \"mx.example.test\"\nlocal_domains = [\"example.test\"]\nusers_file = \"users\"\n\
         postmaster = \"u0\"\n[storage]\nmirror_sets = [[\"a\", \"b\"]]\nfsync = false\n",
    )
    .unwrap();
    let mut manifest = String::new();
    for n in 0..USERS {
        let src = d.join(format!("src/u{n}"));
        tree(&src, n);
        manifest.push_str(&format!(
            "[[user]]\nuser = \"u{n}\"\nkind = \"dovecot\"\npath = \"{}\"\n\n",
            src.display()
        ));
    }
    std::fs::write(d.join("manifest.toml"), manifest).unwrap();
    let (manifest, journal) = (d.join("manifest.toml"), d.join("journal"));
    let args = [
        "import",
        "-c",
        config.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
        "--workers",
        "2",
    ];
    let mut rng = Lcg(0x5eed);
    let mut kills = 0;
    for _ in 0..6 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gradwell"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill once the journal has grown by a random number of users (never all that are
        // left), then a random few milliseconds more: the kill lands mid-run however fast
        // this machine is, at a different point each time.
        let done_now = journal_lines(&journal);
        let left = u64::from(USERS).saturating_sub(done_now);
        let target = done_now + 1 + rng.below(left.saturating_sub(1).max(1));
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none()
            && journal_lines(&journal) < target
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(rng.below(15)));
        // SIGKILL: no destructor, no flush, wherever it is.
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(kills > 0, "at least one run was killed mid-way");

    // Every user once in the journal.
    let journal = std::fs::read_to_string(d.join("journal")).unwrap();
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for line in journal.lines() {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
            *counts
                .entry(v["user"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert_eq!(counts.len(), USERS as usize, "{journal}");
    assert!(counts.values().all(|c| *c == 1), "{counts:?}");

    // The two replicas agree on everything: lists, UIDVALIDITY, UIDNEXT, MODSEQs, flags,
    // bytes, UIDLs.
    let (a, b) = (
        Maildir::open(&d.join("a"), Options::default()).unwrap(),
        Maildir::open(&d.join("b"), Options::default()).unwrap(),
    );
    for n in 0..USERS {
        let user = UserId::new(&format!("u{n}")).unwrap();
        let diff = maildir_store::mirror::differences(&a, &b, &user).unwrap();
        assert!(diff.is_empty(), "u{n}: {diff:?}");
    }

    // Every message exactly once, under its source UID, on both replicas; nothing left
    // under a staging name.
    let expected: Vec<u32> = (0..MESSAGES).map(|i| i * 2 + 1).collect();
    for root in ["a", "b"] {
        let store = Maildir::open(&d.join(root), Options::default()).unwrap();
        for n in 0..USERS {
            let user = UserId::new(&format!("u{n}")).unwrap();
            let names: Vec<String> = store
                .list_mailboxes(&user)
                .unwrap()
                .into_iter()
                .map(|i| i.name.as_str().to_owned())
                .collect();
            assert_eq!(names, ["INBOX", "Sent"], "u{n} on {root}");
            for name in [MailboxName::inbox(), MailboxName::new("Sent").unwrap()] {
                let view = store.open(&user, &name).unwrap();
                assert_eq!(view.uid_validity.get(), 1_000 + n);
                assert_eq!(view.uid_next.get(), MESSAGES * 2 + 5);
                let uids: Vec<u32> = view.messages.iter().map(|m| m.uid.get()).collect();
                assert_eq!(uids, expected, "u{n} {name} on {root}");
                let last = view.messages.last().unwrap().uid;
                let body = store.read(&user, &name, last, ReadPart::Header).unwrap();
                let subject = format!("message {}", last.get());
                assert!(String::from_utf8_lossy(&body).contains(&subject));
            }
        }
    }
}
