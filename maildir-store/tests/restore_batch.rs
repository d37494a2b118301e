//! `Restore::restore_messages`: a batch restores exactly what the same messages restored one
//! at a time would (UIDs with gaps, flags, keywords, INTERNALDATE, modseqs, bytes), on the
//! memory store, on Maildir (where it is one lock and one control-file commit) and through a
//! mirror of two Maildirs; a batch that would reuse a UID or whose UIDs do not ascend is
//! refused before anything is stored.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use maildir_store::{
    Flags, Keyword, MailboxName, MemStore, MessageMeta, ModSeq, ReadPart, StoreError, SystemFlag,
    Uid, UserId,
    maildir::{Maildir, Options},
    mirror::{self, Mirror, Restore},
};

fn bob() -> UserId {
    UserId::new("bob").expect("valid user")
}

/// Five messages with UID gaps, each flag kind, two keywords, distinct dates and modseqs.
fn messages() -> Vec<(MessageMeta, Vec<u8>)> {
    let flag_sets = [
        Flags::default(),
        Flags::new().with(SystemFlag::Seen),
        Flags::new()
            .with(SystemFlag::Answered)
            .with(SystemFlag::Flagged),
        Flags::default().with_keyword(Keyword::new("$Forwarded").expect("valid keyword")),
        Flags::new()
            .with(SystemFlag::Seen)
            .with_keyword(Keyword::new("Work").expect("valid keyword")),
    ];
    [3u32, 4, 9, 10, 40]
        .into_iter()
        .zip(flag_sets)
        .enumerate()
        .map(|(i, (uid, flags))| {
            let body = format!("Subject: m{uid}\r\n\r\n{}\r\n", "x".repeat(i * 100)).into_bytes();
            let date =
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + 3_600 * uid as u64);
            let meta = MessageMeta::new(
                Uid::new(uid).expect("non-zero"),
                flags,
                body.len() as u64,
                date,
                ModSeq::new(u64::from(uid) + 1),
            );
            (meta, body)
        })
        .collect()
}

/// What a store holds for bob's INBOX: each message's record and bytes, and UIDNEXT.
fn contents(store: &dyn Restore) -> (Vec<(MessageMeta, Vec<u8>)>, u32) {
    let inbox = MailboxName::inbox();
    let view = store.open(&bob(), &inbox).expect("open");
    let messages = view
        .messages
        .iter()
        .map(|m| {
            let body = store
                .read(&bob(), &inbox, m.uid, ReadPart::Whole)
                .expect("read");
            (m.clone(), body.to_vec())
        })
        .collect();
    (messages, view.uid_next.get())
}

fn batch_of(messages: &[(MessageMeta, Vec<u8>)]) -> Vec<(MessageMeta, &[u8])> {
    messages.iter().map(|(m, b)| (m.clone(), &b[..])).collect()
}

/// Restores the messages as one batch into `batched` and one by one into `single`, then
/// checks both hold the same, and the refusals.
fn exercise(batched: &dyn Restore, single: &dyn Restore) {
    let inbox = MailboxName::inbox();
    let all = messages();
    // Both start from the same UIDVALIDITY, as a migration makes them.
    let v = batched.open(&bob(), &inbox).expect("open").uid_validity;
    single.open(&bob(), &inbox).expect("open");
    single.adopt_uid_validity(&bob(), &inbox, v).expect("adopt");
    batched
        .restore_messages(&bob(), &inbox, &batch_of(&all))
        .expect("batch");
    for (meta, body) in &all {
        single
            .restore_message(&bob(), &inbox, meta, body)
            .expect("one");
    }
    let (got, next) = contents(batched);
    assert_eq!(got, contents(single).0);
    assert_eq!(next, 41, "UIDNEXT follows the last restored UID");
    let stored: Vec<(u32, u64)> = got
        .iter()
        .map(|(m, _)| (m.uid.get(), m.modseq.get()))
        .collect();
    assert_eq!(stored, vec![(3, 4), (4, 5), (9, 10), (10, 11), (40, 41)]);
    for ((m, body), (want, want_body)) in got.iter().zip(&all) {
        assert_eq!(
            (&m.flags, m.internal_date),
            (&want.flags, want.internal_date)
        );
        assert_eq!(body, want_body);
    }

    // A UID below UIDNEXT: refused, and the message after it in the batch is not stored.
    let late = |uid: u32| {
        let body = format!("Subject: late {uid}\r\n\r\nlate\r\n").into_bytes();
        let meta = MessageMeta::new(
            Uid::new(uid).expect("non-zero"),
            Flags::default(),
            body.len() as u64,
            SystemTime::UNIX_EPOCH,
            ModSeq::new(100),
        );
        (meta, body)
    };
    let reused = [late(39), late(50)];
    let err = batched
        .restore_messages(&bob(), &inbox, &batch_of(&reused))
        .expect_err("UID 39 is below UIDNEXT");
    assert!(matches!(err, StoreError::ReplicasDiverged { .. }), "{err}");
    // UIDs out of order: refused too.
    let unordered = [late(60), late(55)];
    let err = batched
        .restore_messages(&bob(), &inbox, &batch_of(&unordered))
        .expect_err("UIDs must ascend");
    assert!(matches!(err, StoreError::ReplicasDiverged { .. }), "{err}");
    assert_eq!(
        contents(batched),
        (got, 41),
        "nothing stored by a refused batch"
    );
    // An empty batch changes nothing.
    batched
        .restore_messages(&bob(), &inbox, &[])
        .expect("empty");
    assert_eq!(contents(batched).1, 41);
}

fn maildir(root: &std::path::Path) -> Maildir {
    Maildir::init_replica(root).expect("init");
    Maildir::open(root, Options::default()).expect("open")
}

#[test]
fn memory_store_batch_equals_one_by_one() {
    exercise(&MemStore::new(), &MemStore::new());
}

#[test]
fn maildir_batch_equals_one_by_one_and_another_process_reads_it() {
    let (a, b) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let batched = maildir(a.path());
    exercise(&batched, &maildir(b.path()));
    // A fresh handle (another process) reads the same from the files.
    let again = Maildir::open(a.path(), Options::default()).expect("reopen");
    assert_eq!(contents(&again), contents(&batched));
    // One message file per message, nothing left in tmp/.
    let count = |sub: &str| {
        std::fs::read_dir(a.path().join("bob").join(sub))
            .expect("list")
            .count()
    };
    assert_eq!(count("new") + count("cur"), 5);
    assert_eq!(count("tmp"), 0);
}

#[test]
fn mirror_batch_lands_on_both_replicas() {
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().expect("tmp")).collect();
    let mirror_of = |x: usize, y: usize| {
        let (a, b) = (
            Arc::new(maildir(dirs[x].path())),
            Arc::new(maildir(dirs[y].path())),
        );
        let m = Mirror::open(a.clone(), b.clone(), mirror::Options::default()).expect("mirror");
        (m, a, b)
    };
    let (batched, a, b) = mirror_of(0, 1);
    let (single, _, _) = mirror_of(2, 3);
    exercise(&batched, &single);
    assert!(
        mirror::differences(&*a, &*b, &bob())
            .expect("readable")
            .is_empty()
    );
    let status = batched.status();
    assert!(
        status.primary.is_none() && status.secondary.is_none(),
        "no replica fenced"
    );
}

/// The import's durability calls: a renamed folder's entry, the user's own files; a mailbox
/// that does not exist is an error, not a silent success.
#[test]
fn maildir_sync_calls_cover_nested_folders_and_refuse_missing_ones() {
    for by_filesystem in [false, true] {
        sync_calls(by_filesystem);
    }
}

fn sync_calls(by_filesystem: bool) {
    let dir = tempfile::tempdir().expect("tmp");
    Maildir::init_replica(dir.path()).expect("init");
    let mut options = Options::default();
    options.sync_by_filesystem = by_filesystem;
    let store = Maildir::open(dir.path(), options).expect("open");
    let nested = MailboxName::new("Archive/2024").expect("valid name");
    maildir_store::MailStore::create_mailbox(&store, &bob(), &nested, None).expect("create");
    store.sync_mailbox(&bob(), &nested).expect("contents");
    store.sync_mailbox_entry(&bob(), &nested).expect("entry");
    store.sync_user_files(&bob()).expect("user files");
    let missing = MailboxName::new("Nope").expect("valid name");
    assert!(store.sync_mailbox_entry(&bob(), &missing).is_err());
    assert!(store.sync_mailbox(&bob(), &missing).is_err());
}

/// A restored folder has the source's UIDVALIDITY from its creation, on every store kind;
/// INBOX and existing names are refused.
#[test]
fn restored_mailbox_is_created_with_the_given_uidvalidity() {
    let dir = tempfile::tempdir().expect("tmp");
    let stores: [Box<dyn Restore>; 2] = [Box::new(MemStore::new()), Box::new(maildir(dir.path()))];
    let v = maildir_store::UidValidity::new(1_600_000_123).expect("non-zero");
    let name = MailboxName::new("Old/Archive").expect("valid name");
    for store in &stores {
        store
            .create_restored_mailbox(&bob(), &name, v)
            .expect("create");
        let view = store.open(&bob(), &name).expect("open");
        assert_eq!((view.uid_validity, view.uid_next.get()), (v, 1));
        assert!(store.create_restored_mailbox(&bob(), &name, v).is_err());
        assert!(
            store
                .create_restored_mailbox(&bob(), &MailboxName::inbox(), v)
                .is_err()
        );
        // A folder created later still gets a fresh UIDVALIDITY, not `v` again.
        let later = MailboxName::new("Later").expect("valid name");
        store.create_mailbox(&bob(), &later, None).expect("create");
        assert_ne!(store.open(&bob(), &later).expect("open").uid_validity, v);
    }
}
