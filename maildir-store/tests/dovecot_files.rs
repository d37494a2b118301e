//! Trees laid out the way Dovecot (and Courier before it) write them, read without Dovecot:
//! uidlist fields, keyword letters, POP3 UIDLs and order, version 1 uidlists, old
//! subscription files.

use std::{fs, path::Path};

use maildir_store::{
    ExpungeSelector, FlagChange, Flags, Keyword, MailStore, MailboxName, ReadPart, SystemFlag,
    UserId,
    maildir::{Maildir, Options},
};

fn tree() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    Maildir::init_replica(tmp.path()).expect("init");
    let user = tmp.path().join("carol");
    for d in ["", "tmp", "new", "cur"] {
        fs::create_dir(user.join(d)).expect("mkdir");
    }
    (tmp, user)
}

fn write(dir: &Path, name: &str, body: &[u8]) {
    fs::write(dir.join(name), body).expect("write");
}

#[test]
fn migrated_dovecot_mailbox_keeps_uids_keywords_and_pop3_identity() {
    let (tmp, user) = tree();
    let body_lf = b"Subject: one\nFrom: x@y\n\nlf body\n";
    write(
        &user.join("cur"),
        "1600000000.M1P1.old,S=32,W=36:2,Sb",
        body_lf,
    );
    write(
        &user.join("cur"),
        "1600000001.M2P1.old,S=20,W=20:2,RTa",
        b"Subject: two\r\n\r\nx\r\n",
    );
    write(
        &user.join("new"),
        "1600000002.M3P1.old,S=22,W=22",
        b"Subject: three\r\n\r\nyz\r\n",
    );
    write(
        &user,
        "dovecot-uidlist",
        b"3 V1234567 N90 G0123456789abcdef0123456789abcdef\n\
          7 P+OK-legacy-1 O2 :1600000000.M1P1.old,S=32,W=36\n\
          40 W20 P+OK-legacy-2 O1 :1600000001.M2P1.old,S=20,W=20\n\
          88 :1600000002.M3P1.old,S=22,W=22\n",
    );
    write(&user, "dovecot-keywords", b"0 $Label1\n1 Work\n");
    write(&user, "subscriptions", b"INBOX\nArchive.2024\n");
    let store = Maildir::open(tmp.path(), Options::default()).expect("open");
    let carol = UserId::new("carol").expect("user");
    let inbox = MailboxName::inbox();
    let view = store.open(&carol, &inbox).expect("open");
    assert_eq!(view.uid_validity.get(), 1_234_567);
    assert_eq!(
        view.uid_next.get(),
        90,
        "the header's next UID is respected"
    );
    let uids: Vec<u32> = view.messages.iter().map(|m| m.uid.get()).collect();
    assert_eq!(uids, [7, 40, 88]);
    let work = Keyword::new("Work").expect("kw");
    let label = Keyword::new("$Label1").expect("kw");
    let first = &view.messages[0];
    assert!(first.flags.contains(SystemFlag::Seen) && first.flags.contains_keyword(&work));
    assert_eq!(first.size, 36, "RFC822.SIZE is Dovecot's W= (CRLF) size");
    let second = &view.messages[1];
    assert!(
        second.flags.contains(SystemFlag::Answered) && second.flags.contains(SystemFlag::Deleted)
    );
    assert!(second.flags.contains_keyword(&label));
    let read = store
        .read(&carol, &inbox, first.uid, ReadPart::Whole)
        .expect("read");
    assert_eq!(read, b"Subject: one\r\nFrom: x@y\r\n\r\nlf body\r\n");
    assert_eq!(read.len() as u64, first.size);

    // POP3: recorded UIDLs and order win; the rest follow Dovecot's default format.
    let pop = store.pop3_view(&carol).expect("pop3");
    let got: Vec<(u32, &str)> = pop.iter().map(|e| (e.uid.get(), e.uidl.as_str())).collect();
    assert_eq!(
        got,
        [
            (40, "+OK-legacy-2"),
            (7, "+OK-legacy-1"),
            (88, "000000580012d687")
        ]
    );

    let list = store.list_mailboxes(&carol).expect("list");
    assert!(
        list.iter()
            .any(|i| i.name.is_inbox() && i.attributes.subscribed)
    );

    // Our changes keep Dovecot's fields and letters.
    let change = FlagChange::Add(Flags::new().with(SystemFlag::Flagged));
    store
        .store_flags(&carol, &inbox, &[first.uid], &change, None)
        .expect("store");
    store
        .expunge(&carol, &inbox, &ExpungeSelector::AllDeleted)
        .expect("expunge");
    let text = fs::read_to_string(user.join("dovecot-uidlist")).expect("read");
    assert!(text.starts_with("3 V1234567 N90"), "{text}");
    assert!(
        text.contains("7 P+OK-legacy-1 O2 :1600000000.M1P1.old,S=32,W=36\n"),
        "{text}"
    );
    assert!(
        !text.contains("1600000001"),
        "expunged line dropped: {text}"
    );
    let names: Vec<String> = fs::read_dir(user.join("cur"))
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    assert!(
        names.contains(&"1600000000.M1P1.old,S=32,W=36:2,FSb".to_owned()),
        "{names:?}"
    );
}

#[test]
fn version_1_uidlist_is_read_and_upgraded() {
    let (tmp, user) = tree();
    write(
        &user.join("cur"),
        "1500000000.a.host:2,S",
        b"Subject: a\r\n\r\n",
    );
    write(
        &user.join("cur"),
        "1500000001.b.host:2,",
        b"Subject: b\r\n\r\n",
    );
    write(
        &user,
        "dovecot-uidlist",
        b"1 999 12\n3 1500000000.a.host:2,S\n11 1500000001.b.host\n",
    );
    let store = Maildir::open(tmp.path(), Options::default()).expect("open");
    let carol = UserId::new("carol").expect("user");
    let view = store.open(&carol, &MailboxName::inbox()).expect("open");
    assert_eq!(view.uid_validity.get(), 999);
    let uids: Vec<u32> = view.messages.iter().map(|m| m.uid.get()).collect();
    assert_eq!(uids, [3, 11]);
    assert_eq!(view.uid_next.get(), 12);
    let text = fs::read_to_string(user.join("dovecot-uidlist")).expect("read");
    assert!(
        text.starts_with("3 V999 N12"),
        "upgraded to version 3: {text}"
    );
}
