//! `Restore::restore_pop3`: a migrated mailbox keeps the POP3 UIDLs and order its clients
//! know, on the Maildir store (in `dovecot-uidlist` `P`/`O` records, as Dovecot keeps them)
//! and on the memory store.

use std::time::SystemTime;

use maildir_store::{
    AppendRequest, MailStore, MailboxName, MemStore, Uid, UserId,
    maildir::{Maildir, Options},
    mirror::Restore,
};

fn exercise(store: &dyn Restore) {
    let bob = UserId::new("bob").unwrap();
    let inbox = MailboxName::inbox();
    for body in ["a", "b", "c"] {
        let msg = format!("Subject: {body}\r\n\r\n{body}\r\n");
        store
            .append(
                &bob,
                &inbox,
                &mut msg.as_bytes(),
                &AppendRequest::new(SystemTime::now()),
            )
            .unwrap();
    }
    let uid = |n| Uid::new(n).unwrap();
    let entries = [
        (uid(1), Some("old-uidl-1".to_owned()), Some(2)),
        (uid(2), Some("old-uidl-2".to_owned()), Some(1)),
        (uid(9), Some("not-there".to_owned()), None),
    ];
    store.restore_pop3(&bob, &inbox, &entries).unwrap();
    let view = |s: &dyn Restore| -> Vec<(u32, String)> {
        s.pop3_view(&bob)
            .unwrap()
            .into_iter()
            .map(|e| (e.uid.get(), e.uidl))
            .collect()
    };
    let v = store.open(&bob, &inbox).unwrap().uid_validity;
    let expected = vec![
        (2, "old-uidl-2".to_owned()),
        (1, "old-uidl-1".to_owned()),
        (3, format!("{:08x}{:08x}", 3, v.get())),
    ];
    assert_eq!(view(store), expected);
    // Again: nothing changes.
    store.restore_pop3(&bob, &inbox, &entries).unwrap();
    assert_eq!(view(store), expected);
    // A UIDL with a space is refused (RFC 1939 §7: 0x21 to 0x7E).
    let bad = [(uid(3), Some("has space".to_owned()), None)];
    assert!(store.restore_pop3(&bob, &inbox, &bad).is_err());
}

#[test]
fn memory_store_keeps_recorded_uidls() {
    exercise(&MemStore::new());
}

#[test]
fn maildir_keeps_recorded_uidls_in_the_uidlist() {
    let dir = tempfile::tempdir().unwrap();
    Maildir::init_replica(dir.path()).unwrap();
    let store = Maildir::open(dir.path(), Options::default()).unwrap();
    exercise(&store);
    let list = std::fs::read_to_string(dir.path().join("bob/dovecot-uidlist")).unwrap();
    assert!(
        list.lines().any(|l| l.starts_with("1 Pold-uidl-1 O2 :")),
        "{list}"
    );
    // A fresh handle (another process) reads them back.
    let again = Maildir::open(dir.path(), Options::default()).unwrap();
    let uidls: Vec<String> = again
        .pop3_view(&UserId::new("bob").unwrap())
        .unwrap()
        .into_iter()
        .map(|e| e.uidl)
        .collect();
    assert_eq!(
        uidls[..2],
        ["old-uidl-2".to_owned(), "old-uidl-1".to_owned()]
    );
}
