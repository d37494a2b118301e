//! Double fault: both replicas take writes while split, then are merged by message identity.
//! The ledger of every acknowledged message (before and during the split, on either side)
//! must end present exactly once on both replicas, expunges made on either side must hold,
//! and UIDVALIDITY must not change.

mod mirror_support;

use std::{collections::HashMap, sync::Arc, time::SystemTime};

use maildir_store::{
    AppendRequest, ExpungeSelector, FlagChange, Flags, MailStore, MailboxName, MemStore, ReadPart,
    SystemFlag, Uid, UserId,
    maildir::{self, Maildir},
    mirror::{Mirror, Options, Replica, differences},
};
use mirror_support::{bob, body};

fn work() -> MailboxName {
    MailboxName::new("Work").expect("valid name")
}

fn append(store: &dyn MailStore, name: &MailboxName, n: usize) -> Uid {
    let req = AppendRequest::new(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(n as u64));
    store
        .append(&bob(), name, &mut &body(n)[..], &req)
        .expect("append")
}

fn flag(store: &dyn MailStore, name: &MailboxName, uid: Uid, f: SystemFlag) {
    let mut flags = Flags::default();
    flags.insert(f);
    store
        .store_flags(&bob(), name, &[uid], &FlagChange::Add(flags), None)
        .expect("store flags");
}

fn expunge(store: &dyn MailStore, name: &MailboxName, uid: Uid) {
    store
        .expunge(&bob(), name, &ExpungeSelector::Uids(vec![uid]))
        .expect("expunge");
}

/// Where each body is, by mailbox: (mailbox, body) → UIDs holding it.
fn holdings(store: &dyn MailStore) -> HashMap<(MailboxName, Vec<u8>), Vec<Uid>> {
    let mut out: HashMap<_, Vec<Uid>> = HashMap::new();
    for info in store.list_mailboxes(&bob()).expect("list") {
        for m in store.open(&bob(), &info.name).expect("open").messages {
            let b = store
                .read(&bob(), &info.name, m.uid, ReadPart::Whole)
                .expect("read");
            out.entry((info.name.clone(), b)).or_default().push(m.uid);
        }
    }
    out
}

fn split_and_merge(p: Arc<dyn Replica>, s: Arc<dyn Replica>) {
    let inbox = MailboxName::inbox();
    let user = bob();
    // In sync: five messages in INBOX, one in Work.
    let mut ledger: Vec<(MailboxName, usize)> = Vec::new();
    let (uv_inbox, uv_work) = {
        let m = Mirror::open(Arc::clone(&p), Arc::clone(&s), Options::default()).expect("open");
        for n in 1..=5 {
            append(&m, &inbox, n);
            ledger.push((inbox.clone(), n));
        }
        m.create_mailbox(&user, &work(), None).expect("create");
        append(&m, &work(), 6);
        ledger.push((work(), 6));
        let uv = |name| m.open(&user, name).expect("open").uid_validity;
        (uv(&inbox), uv(&work()))
    };
    // Split: each side serves alone and takes writes.
    for n in [10, 11, 12] {
        append(&*p, &inbox, n); // UIDs 6, 7, 8 on the primary
        ledger.push((inbox.clone(), n));
    }
    for n in [20, 21] {
        append(&*s, &inbox, n); // UIDs 6, 7 on the secondary: conflicts
        ledger.push((inbox.clone(), n));
    }
    expunge(&*p, &inbox, Uid::new(2).expect("uid"));
    expunge(&*s, &inbox, Uid::new(3).expect("uid"));
    ledger.retain(|(_, n)| *n != 2 && *n != 3);
    flag(&*p, &inbox, Uid::new(1).expect("uid"), SystemFlag::Seen);
    flag(&*s, &inbox, Uid::new(4).expect("uid"), SystemFlag::Flagged);
    append(&*s, &work(), 22);
    ledger.push((work(), 22));
    let only_b = MailboxName::new("OnlyB").expect("valid name");
    s.create_mailbox(&user, &only_b, None).expect("create");
    append(&*s, &only_b, 23);
    ledger.push((only_b.clone(), 23));
    let only_b_uv = s.open(&user, &only_b).expect("open").uid_validity;
    // Each side fenced the other: split brain, refused at start-up.
    p.write_mirror_state("gradwell-mirror v1\nepoch 9\nstale 1\n")
        .expect("record");
    s.write_mirror_state("gradwell-mirror v1\nepoch 9\nstale 0\n")
        .expect("record");
    assert!(Mirror::open(Arc::clone(&p), Arc::clone(&s), Options::default()).is_err());

    let (m, report) =
        Mirror::merge_split(Arc::clone(&p), Arc::clone(&s), Options::default()).expect("merge");
    assert_eq!(report.messages_renumbered, 4, "{report:?}");
    assert_eq!(report.expunges_honoured, 2, "{report:?}");
    assert_eq!(report.mailboxes_created, 1, "{report:?}");

    // The ledger: every acknowledged message exactly once, on both replicas, nothing else.
    for replica in [&*p as &dyn MailStore, &*s] {
        let held = holdings(replica);
        for (name, n) in &ledger {
            let uids = held
                .get(&(name.clone(), body(*n)))
                .cloned()
                .unwrap_or_default();
            assert_eq!(uids.len(), 1, "message {n} in {name}: {uids:?}");
        }
        assert_eq!(held.len(), ledger.len(), "no extra messages: {held:?}");
        for n in [2, 3] {
            assert!(
                !held.contains_key(&(inbox.clone(), body(n))),
                "{n} was expunged"
            );
        }
    }
    assert_eq!(
        differences(&*p, &*s, &user).expect("compare"),
        Vec::<String>::new()
    );
    // UIDVALIDITY unchanged, conflicting messages renumbered after the last UID, UIDs the
    // split handed out twice retired.
    let view = m.open(&user, &inbox).expect("open");
    assert_eq!(view.uid_validity, uv_inbox);
    assert_eq!(m.open(&user, &work()).expect("open").uid_validity, uv_work);
    assert_eq!(
        m.open(&user, &only_b).expect("open").uid_validity,
        only_b_uv
    );
    let uids: Vec<u32> = view.messages.iter().map(|x| x.uid.get()).collect();
    // 2 and 3 expunged; 6 and 7 named different messages on each side (four renumbered
    // from 9); 8 was used only by the primary and keeps its message.
    assert_eq!(uids, [1, 4, 5, 8, 9, 10, 11, 12]);
    let flags_of = |uid: u32| {
        view.get(Uid::new(uid).expect("uid"))
            .expect("present")
            .flags
            .clone()
    };
    assert!(flags_of(1).contains(SystemFlag::Seen));
    assert!(flags_of(4).contains(SystemFlag::Flagged));
    // The set serves again, in sync, and hands out a UID above everything.
    assert_eq!(m.status().secondary, None);
    let next = append(&m, &inbox, 30);
    assert!(next > view.messages.last().expect("messages").uid);
    assert_eq!(
        differences(&*p, &*s, &user).expect("compare"),
        Vec::<String>::new()
    );
}

#[test]
fn merge_after_double_fault_in_memory() {
    split_and_merge(Arc::new(MemStore::new()), Arc::new(MemStore::new()));
}

#[test]
fn merge_after_double_fault_on_maildir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let replica = |n: &str| -> Arc<dyn Replica> {
        let root = dir.path().join(n);
        std::fs::create_dir(&root).expect("mkdir");
        Maildir::init_replica(&root).expect("init");
        Arc::new(Maildir::open(&root, maildir::Options::default()).expect("open"))
    };
    split_and_merge(replica("a"), replica("b"));
}

/// A user created on the secondary alone while split comes over whole.
#[test]
fn merge_brings_a_user_only_one_side_has() {
    let (p, s) = (Arc::new(MemStore::new()), Arc::new(MemStore::new()));
    drop(Mirror::open(p.clone(), s.clone(), Options::default()).expect("open"));
    let carol = UserId::new("carol").expect("valid user");
    let req = AppendRequest::new(SystemTime::UNIX_EPOCH);
    s.append(
        &carol,
        &MailboxName::inbox(),
        &mut &b"Subject: c\r\n\r\nc\r\n"[..],
        &req,
    )
    .expect("append");
    let (_m, report) =
        Mirror::merge_split(p.clone(), s.clone(), Options::default()).expect("merge");
    assert_eq!(report.messages_copied, 1, "{report:?}");
    assert_eq!(
        differences(&*p, &*s, &carol).expect("compare"),
        Vec::<String>::new()
    );
    assert_eq!(
        p.open(&carol, &MailboxName::inbox())
            .expect("open")
            .messages
            .len(),
        1
    );
}
