//! Two processes share two one-replica sets and the placement map: this process moves `bob`
//! from set 0 to set 1 while a `placement-writer` process appends to `bob` through its own
//! `Placement`. The cross-process fence holds the writer back during the cutover, after
//! which it finds the new map and writes to set 1: every message it was told is stored is
//! on set 1 under its UID, and nothing of `bob`'s is left on set 0.

mod mirror_support;

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use maildir_store::{
    MailStore, MailboxName, ReadPart, Uid,
    maildir::{self, Maildir},
    mirror::Restore,
    placement::{Options, Placement},
};
use mirror_support::{bob, body};

fn open(root: &Path) -> Arc<Maildir> {
    let mut options = maildir::Options::default();
    options.fsync = false;
    Arc::new(Maildir::open(root, options).expect("open replica"))
}

fn wait_for(acks: &Mutex<Vec<(usize, Uid)>>, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while acks.lock().expect("ledger").len() < count {
        assert!(Instant::now() < deadline, "the writer stalled");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_move_fences_a_writer_in_another_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let roots = [dir.path().join("set0"), dir.path().join("set1")];
    for root in &roots {
        std::fs::create_dir(root).expect("mkdir");
        Maildir::init_replica(root).expect("init");
    }
    let map = dir.path().join("placement");
    let mut child = Command::new(env!("CARGO_BIN_EXE_placement-writer"))
        .arg(&map)
        .args(&roots)
        .arg("1000000")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the writer");
    let acks = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let (out, acks) = (child.stdout.take().expect("piped"), Arc::clone(&acks));
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let mut words = line.split(' ').skip(1);
                let n = words.next().and_then(|w| w.parse().ok());
                let uid = words.next().and_then(|w| w.parse().ok()).and_then(Uid::new);
                if let (Some(n), Some(uid)) = (n, uid) {
                    acks.lock().expect("ledger").push((n, uid));
                }
            }
        })
    };
    wait_for(&acks, 30);
    let sets: Vec<Arc<dyn Restore>> = vec![open(&roots[0]), open(&roots[1])];
    let placement = Placement::open(sets, &map, Options::default()).expect("placement");
    let report = placement.move_user(&bob(), 1).expect("move");
    let at_switch = acks.lock().expect("ledger").len();
    wait_for(&acks, at_switch + 30);
    let mut stop = map.as_os_str().to_owned();
    stop.push(".stop");
    std::fs::write(stop, b"").expect("ask the writer to stop");
    assert!(child.wait().expect("writer").success(), "the writer failed");
    reader.join().expect("reader");

    let acks = acks.lock().expect("ledger").clone();
    let (old, new) = (open(&roots[0]), open(&roots[1]));
    let inbox = MailboxName::inbox();
    for (n, uid) in &acks {
        let stored = new.read(&bob(), &inbox, *uid, ReadPart::Whole);
        assert_eq!(
            stored.as_deref().ok(),
            Some(&body(*n)[..]),
            "acknowledged message {n} (UID {uid}) is not on the new set ({report:?})"
        );
    }
    let left = old.open(&bob(), &inbox).expect("old INBOX");
    assert!(left.messages.is_empty(), "mail left on the old set");
}
