//! Four processes append and flag at once; every message must end up present exactly once,
//! with unique UIDs that increased for each writer.
//!
//! `MAILDIR_STRESS_PER_WORKER` sets the count per process (default 500 here; the 10,000
//! message run in BENCHMARKS.md uses 2500).

use std::{
    collections::BTreeSet,
    process::{Command, Stdio},
};

use maildir_store::{
    MailStore, MailboxName, ReadPart, UserId,
    maildir::{Maildir, Options},
};

#[test]
fn four_processes_append_and_flag() {
    let per_worker: u32 = std::env::var("MAILDIR_STRESS_PER_WORKER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let tmp = tempfile::tempdir().expect("tempdir");
    Maildir::init_replica(tmp.path()).expect("init");
    let children: Vec<_> = (0..4)
        .map(|w| {
            Command::new(env!("CARGO_BIN_EXE_maildir-stress"))
                .arg(tmp.path())
                .arg(w.to_string())
                .arg(per_worker.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start worker")
        })
        .collect();
    let mut reported = BTreeSet::new();
    for child in children {
        let out = child.wait_with_output().expect("worker finished");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "worker failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("UIDS "))
            .expect("worker reports its UIDs");
        for uid in line.split(' ') {
            let uid: u32 = uid.parse().expect("UID");
            assert!(reported.insert(uid), "UID {uid} given to two messages");
        }
    }
    let total = 4 * per_worker as usize;
    assert_eq!(reported.len(), total);

    let store = Maildir::open(tmp.path(), Options::default()).expect("open");
    let user = UserId::new("stress").expect("user");
    let inbox = MailboxName::inbox();
    let view = store.open(&user, &inbox).expect("open");
    let listed: BTreeSet<u32> = view.messages.iter().map(|m| m.uid.get()).collect();
    assert_eq!(
        listed, reported,
        "the mailbox holds exactly the acknowledged UIDs"
    );
    let mut ids = BTreeSet::new();
    for m in &view.messages {
        let header = store
            .read(&user, &inbox, m.uid, ReadPart::Header)
            .expect("read header");
        let text = String::from_utf8_lossy(&header);
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .expect("Message-ID")
            .to_owned();
        assert!(ids.insert(id.clone()), "{id} stored twice");
    }
    assert_eq!(ids.len(), total, "every message present exactly once");
    let modseqs: BTreeSet<u64> = view.messages.iter().map(|m| m.modseq.get()).collect();
    assert_eq!(modseqs.len(), total, "every message has its own modseq");
}
