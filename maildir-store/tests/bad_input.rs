//! Damaged trees and hostile surroundings: each gets a clear error or a correct recovery,
//! and no message is lost or given a second UID.

use std::{
    fs,
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use maildir_store::{
    AppendRequest, FlagChange, Flags, MailStore, MailboxName, ModSeq, ReadPart, StoreError,
    SystemFlag, Uid, UserId,
    maildir::{Maildir, Options},
};

struct Tree {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    store: Maildir,
    bob: UserId,
}

impl Tree {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().to_path_buf();
        Maildir::init_replica(&root).expect("init");
        let store = Maildir::open(&root, Options::default()).expect("open");
        Self {
            _tmp: tmp,
            root,
            store,
            bob: UserId::new("bob").expect("user"),
        }
    }

    fn inbox(&self) -> PathBuf {
        self.root.join("bob")
    }

    /// A second store on the same root: another process, as far as the files know.
    fn other(&self) -> Maildir {
        Maildir::open(&self.root, Options::default()).expect("open")
    }

    fn put(&self, n: u32) -> Uid {
        let body = format!("Subject: {n}\r\nMessage-ID: <{n}@bad>\r\n\r\nbody\r\n");
        let req = AppendRequest::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000));
        self.store
            .append(&self.bob, &MailboxName::inbox(), &mut body.as_bytes(), &req)
            .expect("append")
    }

    fn uids(&self, store: &Maildir) -> Vec<u32> {
        store
            .open(&self.bob, &MailboxName::inbox())
            .expect("open")
            .messages
            .iter()
            .map(|m| m.uid.get())
            .collect()
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = ["cur", "new"]
        .iter()
        .flat_map(|s| fs::read_dir(dir.join(s)).expect("read_dir"))
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    names
}

#[test]
fn corrupt_uidlist_is_rebuilt_with_the_same_uids() {
    let t = Tree::new();
    for n in 0..5 {
        t.put(n);
    }
    let before = t.store.open(&t.bob, &MailboxName::inbox()).expect("open");
    fs::write(
        t.inbox().join("dovecot-uidlist"),
        b"3 V12 N\x00garbage\n7 :x\n2 :y\n",
    )
    .expect("corrupt");
    let other = t.other();
    let after = other.open(&t.bob, &MailboxName::inbox()).expect("open");
    assert_eq!(after.uid_validity, before.uid_validity);
    let a: Vec<Uid> = after.messages.iter().map(|m| m.uid).collect();
    let b: Vec<Uid> = before.messages.iter().map(|m| m.uid).collect();
    assert_eq!(a, b);
    assert_eq!(other.rebuild_count(), 1);
    let text = fs::read_to_string(t.inbox().join("dovecot-uidlist")).expect("read");
    assert!(
        text.starts_with("3 V"),
        "rewritten in Dovecot's format: {text}"
    );
}

#[test]
fn torn_uidlist_tail_and_lost_lines_keep_uids() {
    let t = Tree::new();
    for n in 0..4 {
        t.put(n);
    }
    let before = t.uids(&t.store);
    // A power cut after the rename but before the page cache reached disk: the last uidlist
    // line is torn and the index forgot the message and the boot it was written in.
    let list_path = t.inbox().join("dovecot-uidlist");
    let list = fs::read_to_string(&list_path).expect("read");
    let cut = list.trim_end().rfind('\n').expect("lines") + 4;
    fs::write(&list_path, &list[..cut]).expect("tear");
    let index_path = t.inbox().join("gradwell-index");
    let index = fs::read_to_string(&index_path).expect("read");
    let mut lines: Vec<&str> = index.lines().collect();
    lines.pop();
    let header = lines[0].rsplit_once(" B").expect("boot field").0.to_owned() + " Bearlier-boot";
    lines[0] = &header;
    fs::write(&index_path, lines.join("\n") + "\n").expect("forget");
    let other = t.other();
    assert_eq!(
        t.uids(&other),
        before,
        "the file-name marker restored the UID"
    );
    let next = other
        .append(
            &t.bob,
            &MailboxName::inbox(),
            &mut &b"Subject: next\r\n\r\nx\r\n"[..],
            &AppendRequest::new(SystemTime::now()),
        )
        .expect("append");
    assert!(
        next.get() > *before.last().expect("uids"),
        "no UID handed out twice"
    );
}

#[test]
fn lost_control_files_start_a_new_uidvalidity_without_losing_mail() {
    let t = Tree::new();
    for n in 0..3 {
        t.put(n);
    }
    let before = t.store.open(&t.bob, &MailboxName::inbox()).expect("open");
    fs::remove_file(t.inbox().join("dovecot-uidlist")).expect("rm");
    fs::remove_file(t.inbox().join("gradwell-index")).expect("rm");
    let after = t.other().open(&t.bob, &MailboxName::inbox()).expect("open");
    assert_eq!(after.messages.len(), 3);
    assert_ne!(
        after.uid_validity, before.uid_validity,
        "clients must resync"
    );
    assert!(after.highest_modseq > ModSeq::ZERO);
}

#[test]
fn unknown_files_and_directories_in_cur() {
    let t = Tree::new();
    t.put(1);
    let cur = t.inbox().join("cur");
    fs::write(cur.join(".hidden"), b"x").expect("write");
    fs::create_dir(cur.join("subdir")).expect("mkdir");
    fs::write(
        cur.join("1234.foreign.host:2,S"),
        b"Subject: dropped in\r\n\r\nhi\r\n",
    )
    .expect("write");
    fs::write(
        cur.join("1235.weird.host:2,Szq?"),
        b"Subject: odd letters\r\n\r\n",
    )
    .expect("write");
    let view = t.store.open(&t.bob, &MailboxName::inbox()).expect("open");
    assert_eq!(
        view.messages.len(),
        3,
        "dot files and directories are not messages"
    );
    let foreign = &view.messages[1];
    assert!(foreign.flags.contains(SystemFlag::Seen));
    assert_eq!(
        foreign.size,
        b"Subject: dropped in\r\n\r\nhi\r\n".len() as u64
    );
    let read = t
        .store
        .read(&t.bob, &MailboxName::inbox(), foreign.uid, ReadPart::Whole)
        .expect("read");
    assert_eq!(read, b"Subject: dropped in\r\n\r\nhi\r\n");
    // Unknown letters survive a flag change.
    let odd = view.messages[2].uid;
    let change = FlagChange::Add(Flags::new().with(SystemFlag::Flagged));
    t.store
        .store_flags(&t.bob, &MailboxName::inbox(), &[odd], &change, None)
        .expect("store");
    assert!(
        files_in(&t.inbox())
            .iter()
            .any(|n| *n == "1235.weird.host:2,?FSqz"),
        "{:?}",
        files_in(&t.inbox())
    );
}

#[test]
fn message_vanishing_under_a_reader() {
    let t = Tree::new();
    let a = t.put(1);
    let b = t.put(2);
    let mark = t
        .store
        .open(&t.bob, &MailboxName::inbox())
        .expect("open")
        .highest_modseq;
    // Another process (or Dovecot) expunges b behind our back.
    let victim = files_in(&t.inbox())
        .into_iter()
        .find(|n| n.contains(&format!("U{}V", b.get())))
        .expect("b's file");
    fs::remove_file(t.inbox().join("new").join(&victim)).expect("rm");
    let r = t
        .store
        .read(&t.bob, &MailboxName::inbox(), b, ReadPart::Whole);
    // Whether our last scan still listed it decides which of the two clear errors we get.
    assert!(
        matches!(r, Err(StoreError::MessageVanished(u) | StoreError::NoSuchMessage(u)) if u == b),
        "{r:?}"
    );
    assert_eq!(t.uids(&t.store), [a.get()]);
    let ch = t
        .store
        .changes_since(&t.bob, &MailboxName::inbox(), mark)
        .expect("changes");
    assert_eq!(ch.vanished, [b]);
}

#[test]
fn replica_root_must_exist_and_be_initialised() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("not-mounted");
    assert!(matches!(
        Maildir::open(&missing, Options::default()),
        Err(StoreError::ReplicaUnavailable { .. })
    ));
    // An empty directory (an unmounted mount point) is not a replica and stays empty.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).expect("mkdir");
    assert!(matches!(
        Maildir::open(&empty, Options::default()),
        Err(StoreError::ReplicaUnavailable { .. })
    ));
    assert_eq!(fs::read_dir(&empty).expect("read_dir").count(), 0);
    let file = tmp.path().join("file");
    fs::write(&file, b"").expect("write");
    assert!(Maildir::init_replica(&file).is_err());
    assert!(
        Maildir::init_replica(&missing).is_err(),
        "init never creates the root"
    );
    // The marker disappearing under a running store (unmount) stops new trees being made.
    Maildir::init_replica(&empty).expect("init");
    let store = Maildir::open(&empty, Options::default()).expect("open");
    fs::remove_file(empty.join(maildir_store::maildir::REPLICA_MARKER)).expect("rm");
    let bob = UserId::new("bob").expect("user");
    let r = store.open(&bob, &MailboxName::inbox());
    assert!(
        matches!(r, Err(StoreError::ReplicaUnavailable { .. })),
        "{r:?}"
    );
    assert!(!empty.join("bob").exists());
}

#[test]
fn stale_tmp_files_are_cleaned_and_fresh_ones_kept() {
    let t = Tree::new();
    t.put(1);
    let tmp = t.inbox().join("tmp");
    let old = tmp.join("1.M1P1.host");
    let fresh = tmp.join("2.M2P2.host");
    fs::write(&old, b"partial").expect("write");
    fs::write(&fresh, b"in progress").expect("write");
    let long_ago = SystemTime::now() - Duration::from_secs(40 * 3600);
    let f = fs::File::options().write(true).open(&old).expect("open");
    f.set_times(
        fs::FileTimes::new()
            .set_accessed(long_ago)
            .set_modified(long_ago),
    )
    .expect("age it");
    t.put(2);
    t.store.drop_caches();
    t.store
        .open(&t.bob, &MailboxName::inbox())
        .expect("open scans");
    assert!(!old.exists(), "36-hour-old tmp file removed");
    assert!(fresh.exists(), "a delivery in progress is left alone");
}

#[test]
fn stale_lock_of_a_dead_process_is_taken_over() {
    let t = Tree::new();
    t.put(1);
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    fs::write(
        t.inbox().join("dovecot-uidlist.lock"),
        format!("999999999 {}\n", host.trim()),
    )
    .expect("plant lock");
    t.put(2);
    assert_eq!(t.uids(&t.store).len(), 2);
}

#[test]
fn at_most_two_fsyncs_per_delivery() {
    let t = Tree::new();
    t.put(0);
    t.store.open(&t.bob, &MailboxName::inbox()).expect("open");
    let before = t.store.fsync_count();
    for n in 1..=20 {
        t.put(n);
    }
    let per_message = (t.store.fsync_count() - before) as f64 / 20.0;
    assert!(per_message <= 2.0, "{per_message} fsyncs per delivery");
    assert!(
        per_message >= 2.0,
        "file and directory must both be fsynced"
    );
}

#[test]
fn changes_made_by_other_processes_reach_the_feed() {
    let t = Tree::new();
    let a = t.put(1);
    let b = t.put(2);
    let mark = t
        .store
        .open(&t.bob, &MailboxName::inbox())
        .expect("open")
        .highest_modseq;
    let other = t.other();
    let seen = FlagChange::Add(Flags::new().with(SystemFlag::Seen));
    other
        .store_flags(&t.bob, &MailboxName::inbox(), &[a], &seen, None)
        .expect("store");
    // An outside program (Dovecot, an MUA on the box) renames b to add \Flagged.
    let name = files_in(&t.inbox())
        .into_iter()
        .find(|n| n.contains(&format!("U{}V", b.get())))
        .expect("b's file");
    fs::rename(
        t.inbox().join("new").join(&name),
        t.inbox().join("cur").join(format!("{name}:2,F")),
    )
    .expect("external rename");
    let ch = t
        .store
        .changes_since(&t.bob, &MailboxName::inbox(), mark)
        .expect("changes");
    let uids: Vec<Uid> = ch.changed.iter().map(|m| m.uid).collect();
    assert_eq!(uids, [a, b]);
    assert!(ch.changed[1].flags.contains(SystemFlag::Flagged));
    assert!(ch.changed.iter().all(|m| m.modseq > mark));
    assert_ne!(ch.changed[0].modseq, ch.changed[1].modseq);
}

#[test]
fn renames_hidden_from_the_cache_are_found_by_base_name() {
    let t = Tree::new();
    t.store
        .create_mailbox(&t.bob, &MailboxName::new("Copies").expect("name"), None)
        .expect("create");
    let body = b"Subject: renamed\r\n\r\nx\r\n";
    let req = AppendRequest::new(SystemTime::now()).with_flags(Flags::new().with(SystemFlag::Seen));
    let uid = t
        .store
        .append(&t.bob, &MailboxName::inbox(), &mut &body[..], &req)
        .expect("append");
    // Let the directories settle so the scan is cached, then rename behind the cache's back
    // within the same timestamp (restoring cur/'s mtime), as a same-tick race would.
    std::thread::sleep(Duration::from_millis(2100));
    t.store
        .open(&t.bob, &MailboxName::inbox())
        .expect("cached scan");
    let cur = t.inbox().join("cur");
    let old = files_in(&t.inbox())
        .into_iter()
        .find(|n| n.ends_with(":2,S"))
        .expect("seen file");
    let mtime = fs::metadata(&cur).expect("stat").modified().expect("mtime");
    fs::rename(cur.join(&old), cur.join(old.replace(":2,S", ":2,FS"))).expect("rename");
    fs::File::open(&cur)
        .expect("open dir")
        .set_times(fs::FileTimes::new().set_modified(mtime))
        .expect("restore mtime");
    let copied = t
        .store
        .copy(
            &t.bob,
            &MailboxName::inbox(),
            &[uid],
            &MailboxName::new("Copies").expect("name"),
        )
        .expect("copy");
    assert_eq!(copied.mapping.len(), 1, "the renamed file was still copied");
    let change = FlagChange::Add(Flags::new().with(SystemFlag::Answered));
    let out = t
        .store
        .store_flags(&t.bob, &MailboxName::inbox(), &[uid], &change, None)
        .expect("store");
    assert_eq!(out.updated.len(), 1);
    // The change applies to the flags the file had (F from the other writer), not the stale S.
    assert!(
        files_in(&t.inbox()).iter().any(|n| n.ends_with(":2,FRS")),
        "{:?}",
        files_in(&t.inbox())
    );
}

#[test]
fn exhausted_uid_space_is_an_error_not_a_duplicate() {
    let t = Tree::new();
    let uid = t.put(1);
    let list_path = t.inbox().join("dovecot-uidlist");
    let text = fs::read_to_string(&list_path).expect("read");
    let text = text.replace(&format!("\n{} :", uid.get()), "\n4294967295 :");
    fs::write(&list_path, text).expect("write");
    fs::remove_file(t.inbox().join("gradwell-index")).expect("rm index");
    let other = t.other();
    assert_eq!(t.uids(&other), [u32::MAX]);
    let r = other.append(
        &t.bob,
        &MailboxName::inbox(),
        &mut &b"Subject: one too many\r\n\r\n"[..],
        &AppendRequest::new(SystemTime::now()),
    );
    assert!(matches!(r, Err(StoreError::Corrupt { .. })), "{r:?}");
    assert_eq!(t.uids(&other), [u32::MAX], "nothing was given a second UID");
}
