//! The per-user control files are rewritten only when a call changes them: each rewrite is a
//! lock file, a new inode and a rename, which a bulk import pays per folder and replica.

use std::{fs, os::unix::fs::MetadataExt, path::Path};

use maildir_store::{
    MailStore, MailboxName, UidValidity, UserId,
    maildir::{Maildir, Options},
    mirror::Restore,
};

fn inode(path: &Path) -> Option<u64> {
    fs::metadata(path).ok().map(|m| m.ino())
}

#[test]
fn unchanged_tables_and_older_uidvalidities_write_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    Maildir::init_replica(dir.path()).expect("init");
    let store = Maildir::open(dir.path(), Options::default()).expect("open");
    let bob = UserId::new("bob").expect("valid user");
    let user_dir = dir.path().join("bob");
    let (staging, sent) = (
        MailboxName::new("Staging").expect("name"),
        MailboxName::new("Sent").expect("name"),
    );
    store.create_mailbox(&bob, &staging, None).expect("create");

    // A rename of a folder without special-use attributes leaves the table unwritten.
    store.rename_mailbox(&bob, &staging, &sent).expect("rename");
    assert_eq!(inode(&user_dir.join("gradwell-special-use")), None);

    // Subscribing twice writes once.
    store.set_subscribed(&bob, &sent, true).expect("subscribe");
    let subscriptions = user_dir.join("subscriptions");
    let first = inode(&subscriptions).expect("written");
    store.set_subscribed(&bob, &sent, true).expect("again");
    assert_eq!(inode(&subscriptions), Some(first));
    store
        .set_subscribed(&bob, &sent, false)
        .expect("unsubscribe");
    assert_ne!(
        inode(&subscriptions),
        Some(first),
        "a real change is written"
    );

    // Adopting a UIDVALIDITY older than the user's last one leaves the record as it is; a
    // newer one is recorded, so it is never handed out again.
    let record = user_dir.join("dovecot-uidvalidity");
    let before = (inode(&record), fs::read_to_string(&record).expect("record"));
    let archive = MailboxName::new("Archive").expect("name");
    store.create_mailbox(&bob, &archive, None).expect("create");
    let last =
        u32::from_str_radix(fs::read_to_string(&record).expect("record").trim(), 16).expect("hex");
    assert_ne!(
        (inode(&record), fs::read_to_string(&record).ok()),
        (before.0, Some(before.1))
    );
    let older = UidValidity::new(1_600_000_000).expect("non-zero");
    let after_create = inode(&record);
    store
        .adopt_uid_validity(&bob, &archive, older)
        .expect("adopt older");
    assert_eq!(inode(&record), after_create);
    assert_eq!(
        store.open(&bob, &archive).expect("open").uid_validity,
        older
    );
    let other = MailboxName::new("Other").expect("name");
    store.create_mailbox(&bob, &other, None).expect("create");
    let newer = UidValidity::new(last + 1000).expect("non-zero");
    store
        .adopt_uid_validity(&bob, &other, newer)
        .expect("adopt newer");
    let recorded =
        u32::from_str_radix(fs::read_to_string(&record).expect("record").trim(), 16).expect("hex");
    assert!(recorded >= newer.get(), "{recorded} < {newer}");
}
