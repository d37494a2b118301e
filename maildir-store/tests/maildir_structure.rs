//! The Maildir structure cache (`gradwell-structure`) across processes and on bad files: a
//! second store on the same root (another process: nothing shared in memory) finds what the
//! first kept; a damaged or foreign file is dropped and rebuilt; dead records are compacted.

use std::{fs, path::Path, time::SystemTime};

use maildir_store::{
    AppendRequest, ExpungeSelector, MailStore, MailboxName, UserId,
    maildir::{Maildir, Options},
};

fn open(root: &Path) -> Maildir {
    Maildir::open(root, Options::default()).expect("open replica")
}

fn setup() -> (tempfile::TempDir, UserId, MailboxName) {
    let dir = tempfile::tempdir().expect("temporary directory");
    Maildir::init_replica(dir.path()).expect("init replica");
    let bob = UserId::new("bob").expect("valid user");
    (dir, bob, MailboxName::inbox())
}

fn append(s: &Maildir, u: &UserId, m: &MailboxName, n: usize) -> maildir_store::Uid {
    let body = format!("Subject: {n}\r\n\r\nbody {n}\r\n");
    s.append(
        u,
        m,
        &mut body.as_bytes(),
        &AppendRequest::new(SystemTime::now()),
    )
    .expect("append")
}

#[test]
fn a_second_process_reads_what_the_first_kept() {
    let (dir, bob, inbox) = setup();
    let first = open(dir.path());
    let uid = append(&first, &bob, &inbox, 1);
    first
        .cache_structure(&bob, &inbox, uid, b"tree")
        .expect("put");
    let second = open(dir.path());
    assert_eq!(
        second.cached_structure(&bob, &inbox, uid).expect("get"),
        Some(b"tree".to_vec())
    );
    // Appended by the second, seen incrementally by the first.
    let other = append(&second, &bob, &inbox, 2);
    second
        .cache_structure(&bob, &inbox, other, b"other")
        .expect("put");
    assert_eq!(
        first.cached_structure(&bob, &inbox, other).expect("get"),
        Some(b"other".to_vec())
    );
}

#[test]
fn a_damaged_or_foreign_file_is_dropped_and_rebuilt() {
    let (dir, bob, inbox) = setup();
    let store = open(dir.path());
    let uid = append(&store, &bob, &inbox, 1);
    store
        .cache_structure(&bob, &inbox, uid, b"tree")
        .expect("put");
    let file = dir.path().join("bob").join("gradwell-structure");
    let mut bytes = fs::read(&file).expect("cache file written");
    let last = bytes.len() - 6;
    bytes[last] ^= 0xff;
    fs::write(&file, &bytes).expect("damage");
    let fresh = open(dir.path());
    assert_eq!(
        fresh.cached_structure(&bob, &inbox, uid).expect("get"),
        None
    );
    assert!(!file.exists(), "the damaged file was dropped");
    fresh
        .cache_structure(&bob, &inbox, uid, b"again")
        .expect("put");
    assert_eq!(
        open(dir.path())
            .cached_structure(&bob, &inbox, uid)
            .expect("get"),
        Some(b"again".to_vec())
    );
    fs::write(&file, b"gradwell-structure 99\nwhatever").expect("foreign version");
    let fresh = open(dir.path());
    assert_eq!(
        fresh.cached_structure(&bob, &inbox, uid).expect("get"),
        None
    );
}

#[test]
fn a_torn_last_record_is_ignored_and_the_rest_kept() {
    let (dir, bob, inbox) = setup();
    let store = open(dir.path());
    let uid = append(&store, &bob, &inbox, 1);
    store
        .cache_structure(&bob, &inbox, uid, b"tree")
        .expect("put");
    let file = dir.path().join("bob").join("gradwell-structure");
    let mut bytes = fs::read(&file).expect("cache file written");
    bytes.extend_from_slice(b"R\x02\x00");
    fs::write(&file, &bytes).expect("torn append");
    assert_eq!(
        open(dir.path())
            .cached_structure(&bob, &inbox, uid)
            .expect("get"),
        Some(b"tree".to_vec())
    );
}

#[test]
fn records_of_expunged_messages_are_compacted_away() {
    let (dir, bob, inbox) = setup();
    let store = open(dir.path());
    let file = dir.path().join("bob").join("gradwell-structure");
    let mut largest = 0;
    for round in 0..200 {
        let uid = append(&store, &bob, &inbox, round);
        store
            .cache_structure(&bob, &inbox, uid, &[7; 100])
            .expect("put");
        store
            .expunge(&bob, &inbox, &ExpungeSelector::Uids(vec![uid]))
            .expect("expunge");
        largest = largest.max(fs::metadata(&file).expect("cache file").len());
    }
    // One live message at most: the file never holds more than 2 * 1 + SLACK records of
    // about 180 bytes (without compaction it would reach 200 records).
    assert!(largest < 70 * 200, "file grew to {largest} bytes");
    let kept = append(&store, &bob, &inbox, 1000);
    store
        .cache_structure(&bob, &inbox, kept, b"live")
        .expect("put");
    assert_eq!(
        store.cached_structure(&bob, &inbox, kept).expect("get"),
        Some(b"live".to_vec())
    );
}
