//! Users placed on several mirror sets, and a live move of one user between sets while
//! writers keep appending: nothing acknowledged is lost, and UIDVALIDITY, UIDs and UIDLs are
//! the same before and after.

mod mirror_support;

use std::{
    collections::HashMap,
    fs,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, SystemTime},
};

use maildir_store::{
    AppendRequest, ExpungeSelector, FlagChange, Flags, MailStore, MailboxName, MemStore, ReadPart,
    StoreError, SystemFlag, Uid, UserId,
    maildir::{self, Maildir},
    mirror::{
        Fault, FaultyStore, Mirror, Options as MirrorOptions, Replica, Restore, Scope, differences,
    },
    placement::{Options, Placement},
};
use mirror_support::{bob, body};

// The suite, through the router over two sets.
maildir_store::conformance_suite!(|| {
    let dir = tempfile::tempdir().expect("tempdir");
    let sets: Vec<Arc<dyn Restore>> = vec![Arc::new(MemStore::new()), Arc::new(MemStore::new())];
    let store =
        Placement::open(sets, &dir.path().join("placement"), Options::default()).expect("open");
    (dir, store)
});

fn append(store: &dyn MailStore, user: &UserId, name: &MailboxName, n: usize) -> Uid {
    let req = AppendRequest::new(SystemTime::UNIX_EPOCH);
    store
        .append(user, name, &mut &body(n)[..], &req)
        .expect("append")
}

/// A mirror set of two Maildir replicas under `dir` (fsync off: test trees only).
fn maildir_set(dir: &Path, name: &str) -> (Arc<Mirror>, [Arc<Maildir>; 2]) {
    let replicas = ["a", "b"].map(|side| {
        let root = dir.join(format!("{name}-{side}"));
        fs::create_dir(&root).expect("mkdir");
        Maildir::init_replica(&root).expect("init");
        let mut options = maildir::Options::default();
        options.fsync = false;
        Arc::new(Maildir::open(&root, options).expect("open"))
    });
    let [p, s] = replicas.clone().map(|r| r as Arc<dyn Replica>);
    let mirror = Mirror::open(p, s, MirrorOptions::default()).expect("mirror");
    (Arc::new(mirror), replicas)
}

#[test]
fn new_users_go_to_the_default_set_and_stay_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("placement");
    let (a, b) = (Arc::new(MemStore::new()), Arc::new(MemStore::new()));
    let sets = || -> Vec<Arc<dyn Restore>> { vec![a.clone(), b.clone()] };
    let mut options = Options::default();
    options.default_set = 1;
    let store = Placement::open(sets(), &path, options).expect("open");
    let carol = UserId::new("carol").expect("user");
    append(&store, &carol, &MailboxName::inbox(), 1);
    assert_eq!(store.set_of(&carol), Some(1));
    assert_eq!(
        b.open(&carol, &MailboxName::inbox())
            .expect("open")
            .messages
            .len(),
        1
    );
    assert!(!a.users().expect("users").contains(&carol));
    // A new default moves nobody; the map is on disk and read back by a new router.
    store.set_default(0).expect("default");
    append(&store, &bob(), &MailboxName::inbox(), 2);
    assert_eq!(store.set_of(&bob()), Some(0));
    let text = fs::read_to_string(&path).expect("map");
    assert!(
        text.contains("user carol 1\n") && text.contains("user bob 0\n"),
        "{text}"
    );
    let again = Placement::open(sets(), &path, Options::default()).expect("reopen");
    assert_eq!(again.set_of(&carol), Some(1));
    assert_eq!(again.default_set(), 0);
    // A map naming a set that was not given is refused.
    assert!(
        Placement::open(
            vec![a.clone() as Arc<dyn Restore>],
            &path,
            Options::default()
        )
        .is_err()
    );
}

#[test]
fn live_move_with_concurrent_appends_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (set_a, _) = maildir_set(dir.path(), "a");
    let (set_b, b_replicas) = maildir_set(dir.path(), "b");
    let sets: Vec<Arc<dyn Restore>> = vec![set_a.clone(), set_b.clone()];
    let store = Arc::new(
        Placement::open(sets, &dir.path().join("placement"), Options::default()).expect("open"),
    );
    let (user, inbox, work) = (
        bob(),
        MailboxName::inbox(),
        MailboxName::new("Work").expect("name"),
    );
    // A history: messages, a folder, flags, expunges.
    for n in 0..60 {
        append(&*store, &user, &inbox, n);
    }
    store.create_mailbox(&user, &work, None).expect("create");
    store.set_subscribed(&user, &work, true).expect("subscribe");
    for n in 60..70 {
        append(&*store, &user, &work, n);
    }
    let seen = FlagChange::Add(Flags::new().with(SystemFlag::Seen));
    let some: Vec<Uid> = (1..20).map(|u| Uid::new(u).expect("uid")).collect();
    store
        .store_flags(&user, &inbox, &some, &seen, None)
        .expect("flags");
    let gone: Vec<Uid> = (5..9).map(|u| Uid::new(u).expect("uid")).collect();
    store
        .expunge(&user, &inbox, &ExpungeSelector::Uids(gone.clone()))
        .expect("expunge");
    let before_inbox = store.open(&user, &inbox).expect("open");
    let before_work = store.open(&user, &work).expect("open");
    let before_pop = store.pop3_view(&user).expect("pop3");

    // Writers append throughout the move; each keeps a ledger of what it was told.
    let stop = Arc::new(AtomicBool::new(false));
    let ledger = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (store, stop, ledger, user) =
                (store.clone(), stop.clone(), ledger.clone(), user.clone());
            thread::spawn(move || {
                let mut n = 1000 * (w + 1);
                while !stop.load(Ordering::Relaxed) {
                    let uid = append(&*store, &user, &MailboxName::inbox(), n);
                    ledger.lock().expect("ledger").push((uid, n));
                    n += 1;
                    // A busy mailbox, not a flood: the copy must be able to catch up.
                    thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    while ledger.lock().expect("ledger").len() < 10 {
        thread::yield_now();
    }
    let report = store.move_user(&user, 1).expect("move");
    // Keep writing a little after the switch, then stop.
    let after_switch = ledger.lock().expect("ledger").len();
    while ledger.lock().expect("ledger").len() < after_switch + 10 {
        thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    assert_eq!((report.from, report.to), (0, 1));
    assert_eq!(report.retire_error, None);
    assert_eq!(store.set_of(&user), Some(1));
    let ledger = ledger.lock().expect("ledger").clone();
    assert!(ledger.len() >= 20);

    // Every acknowledged message, before and during the move, is on set B once, under its UID.
    let now = store.open(&user, &inbox).expect("open");
    let mut by_uid: HashMap<Uid, Vec<u8>> = HashMap::new();
    for m in &now.messages {
        let bytes = store
            .read(&user, &inbox, m.uid, ReadPart::Whole)
            .expect("read");
        by_uid.insert(m.uid, bytes);
    }
    for (uid, n) in &ledger {
        assert_eq!(
            by_uid.get(uid),
            Some(&body(*n)),
            "message {n} under UID {uid}"
        );
    }
    assert_eq!(
        now.messages.len(),
        before_inbox.messages.len() + ledger.len()
    );
    // Identifiers are unchanged: UIDVALIDITY, the old messages' UIDs, flags and modseqs, the
    // expunged UIDs stay gone, and the POP3 UIDLs of the old messages are the same.
    assert_eq!(now.uid_validity, before_inbox.uid_validity);
    for m in &before_inbox.messages {
        assert_eq!(now.get(m.uid), Some(m), "UID {}", m.uid);
    }
    assert!(gone.iter().all(|u| now.get(*u).is_none()));
    assert_eq!(store.open(&user, &work).expect("open"), before_work);
    let pop = store.pop3_view(&user).expect("pop3");
    for entry in &before_pop {
        assert!(pop.contains(entry), "UIDL {} kept", entry.uidl);
    }
    let listed = store.list_mailboxes(&user).expect("list");
    assert!(
        listed
            .iter()
            .any(|i| i.name == work && i.attributes.subscribed)
    );
    // Set B's two replicas agree; set A no longer holds bob's mail.
    let [p, s] = &b_replicas;
    assert_eq!(
        differences(&**p, &**s, &user).expect("compare"),
        Vec::<String>::new()
    );
    let old = set_a.list_mailboxes(&user).expect("list");
    assert_eq!(old.len(), 1, "only an empty INBOX is left: {old:?}");
    assert!(set_a.open(&user, &inbox).expect("open").messages.is_empty());
    let text = fs::read_to_string(dir.path().join("placement")).expect("map");
    assert!(
        text.contains("user bob 1\n") && !text.contains("moving"),
        "{text}"
    );
}

#[test]
fn a_failed_move_leaves_the_user_in_place_and_a_rerun_completes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Arc::new(MemStore::new());
    let b = Arc::new(FaultyStore::new(MemStore::new()));
    let sets: Vec<Arc<dyn Restore>> = vec![a.clone(), b.clone()];
    let store =
        Placement::open(sets, &dir.path().join("placement"), Options::default()).expect("open");
    let inbox = MailboxName::inbox();
    let uids: Vec<Uid> = (0..20).map(|n| append(&store, &bob(), &inbox, n)).collect();
    b.arm_after(8, Fault::Errno(5), Scope::Writes);
    assert!(store.move_user(&bob(), 1).is_err());
    assert_eq!(store.set_of(&bob()), Some(0));
    assert_eq!(store.open(&bob(), &inbox).expect("open").messages.len(), 20);
    b.heal();
    // The partial copy is cleared and the move runs again.
    let report = store.move_user(&bob(), 1).expect("move");
    assert_eq!(report.messages_copied, 20);
    assert_eq!(store.set_of(&bob()), Some(1));
    let view = store.open(&bob(), &inbox).expect("open");
    assert_eq!(
        view.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
        uids
    );
    // Moving back works too: the old copy on set 0 was retired, so it is not in the way.
    store.move_user(&bob(), 0).expect("move back");
    assert_eq!(store.open(&bob(), &inbox).expect("open").messages.len(), 20);
}

#[test]
fn moves_that_cannot_be_made_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (Arc::new(MemStore::new()), Arc::new(MemStore::new()));
    let sets: Vec<Arc<dyn Restore>> = vec![a, b.clone()];
    let store =
        Placement::open(sets, &dir.path().join("placement"), Options::default()).expect("open");
    append(&store, &bob(), &MailboxName::inbox(), 1);
    let placement = |r: Result<_, StoreError>| matches!(r, Err(StoreError::Placement { .. }));
    assert!(placement(store.move_user(&bob(), 0)), "already there");
    assert!(placement(store.move_user(&bob(), 2)), "no such set");
    // The target holds mail for bob that no move of ours put there.
    append(&*b, &bob(), &MailboxName::inbox(), 2);
    assert!(placement(store.move_user(&bob(), 1)));
    assert_eq!(store.set_of(&bob()), Some(0));
}
