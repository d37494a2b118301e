//! Dovecot interoperability: a tree written by maildir-store opens in Dovecot with the same
//! UIDVALIDITY, UIDs, flags, keywords and bodies, and what Dovecot writes reads back the same.
//!
//! Needs Debian's `dovecot-imapd` (which pulls in `dovecot-core`). When `/usr/sbin/dovecot` is
//! missing the test says so loudly and passes without checking anything; CI installs it.

mod support;

use std::{
    collections::BTreeSet,
    time::{Duration, SystemTime},
};

use maildir_store::{
    AppendRequest, ExpungeSelector, FlagChange, Flags, Keyword, MailStore, MailboxName, ReadPart,
    SystemFlag, Uid, UserId,
    maildir::{Maildir, Options},
};
use support::dovecot::{self, Dovecot, Imap, imap_flags};

fn dovecot_missing() -> bool {
    if std::path::Path::new(dovecot::DOVECOT).exists() {
        return false;
    }
    eprintln!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !! SKIPPED: Dovecot interop test: {} not found.                        !!\n\
         !! Install it with: apt-get install -y dovecot-imapd                          !!\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
        dovecot::DOVECOT
    );
    true
}

fn kw(s: &str) -> Keyword {
    Keyword::new(s).expect("valid keyword")
}

fn name(s: &str) -> MailboxName {
    MailboxName::new(s).expect("valid name")
}

fn message(n: u32) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: bob@example.org\r\nSubject: interop {n}\r\n\
         Message-ID: <{n}@interop>\r\n\r\nBody of message {n}.\r\nSecond line.\r\n"
    )
    .into_bytes()
}

/// `wire` is the name as IMAP spells it (modified UTF-7).
fn check_mailbox_in_dovecot(
    imap: &mut Imap,
    store: &Maildir,
    bob: &UserId,
    mbox: &MailboxName,
    wire: &str,
) {
    let view = store.open(bob, mbox).expect("open");
    let select = imap.ok(&format!("SELECT \"{wire}\""));
    assert_eq!(
        dovecot::code_number(&select, "UIDVALIDITY"),
        Some(view.uid_validity.get()),
        "UIDVALIDITY of {mbox}"
    );
    let fetched = dovecot::parse_fetch(&imap.ok("UID FETCH 1:* (UID FLAGS BODY.PEEK[])"));
    let theirs: Vec<u32> = fetched.iter().map(|f| f.uid).collect();
    let ours: Vec<u32> = view.messages.iter().map(|m| m.uid.get()).collect();
    assert_eq!(theirs, ours, "UIDs of {mbox}");
    for (f, m) in fetched.iter().zip(&view.messages) {
        let their_flags: BTreeSet<String> = f.flags.iter().cloned().collect();
        assert_eq!(their_flags, imap_flags(&m.flags), "flags of UID {}", f.uid);
        let body = store.read(bob, mbox, m.uid, ReadPart::Whole).expect("read");
        assert_eq!(f.body, body, "body of UID {}", f.uid);
    }
}

#[test]
fn dovecot_reads_what_we_write_and_we_read_what_dovecot_writes() {
    if dovecot_missing() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    // Dovecot's unprivileged processes must be able to walk into the tree.
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let root = tmp.path().join("replica");
    std::fs::create_dir(&root).expect("mkdir");
    Maildir::init_replica(&root).expect("init");
    let store = Maildir::open(&root, Options::default()).expect("open");
    let bob = UserId::new("bob").expect("user");
    let inbox = MailboxName::inbox();
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let put = |mbox: &MailboxName, n: u32, flags: Flags| {
        let req = AppendRequest::new(date).with_flags(flags);
        store
            .append(&bob, mbox, &mut &message(n)[..], &req)
            .expect("append")
    };

    // --- Written by maildir-store ---
    put(
        &inbox,
        1,
        Flags::new().with(SystemFlag::Seen).with_keyword(kw("Work")),
    );
    let second = put(&inbox, 2, Flags::new());
    let third = put(&inbox, 3, Flags::new().with(SystemFlag::Flagged));
    put(&inbox, 4, Flags::new().with_keyword(kw("$Label1")));
    store
        .expunge(&bob, &inbox, &ExpungeSelector::Uids(vec![third]))
        .expect("expunge leaves a UID gap");
    let change = FlagChange::Add(
        Flags::new()
            .with(SystemFlag::Answered)
            .with_keyword(kw("$Forwarded")),
    );
    store
        .store_flags(&bob, &inbox, &[second], &change, None)
        .expect("store");
    let archive = name("Archive/2024");
    store.create_mailbox(&bob, &archive, None).expect("create");
    put(&archive, 5, Flags::new().with(SystemFlag::Draft));
    let bucher = name("Bücher");
    store.create_mailbox(&bob, &bucher, None).expect("create");
    put(&bucher, 6, Flags::new());
    store
        .set_subscribed(&bob, &archive, true)
        .expect("subscribe");
    store
        .set_subscribed(&bob, &bucher, true)
        .expect("subscribe");

    dovecot::hand_over(&root);
    let server = Dovecot::start(&root, &tmp.path().join("dovecot"));
    let mut imap = Imap::login(server.port, "bob");
    for (mbox, wire) in [
        (&inbox, "INBOX"),
        (&archive, "Archive/2024"),
        (&bucher, "B&APw-cher"),
    ] {
        check_mailbox_in_dovecot(&mut imap, &store, &bob, mbox, wire);
    }
    let lsub = imap.ok("LSUB \"\" \"*\"").lines().join("\n");
    assert!(lsub.contains("Archive/2024"), "{lsub}");
    assert!(
        lsub.contains("B&APw-cher"),
        "Bücher in modified UTF-7: {lsub}"
    );
    let list = imap.ok("LIST \"\" \"*\"").lines().join("\n");
    for n in ["INBOX", "Archive", "Archive/2024", "B&APw-cher"] {
        assert!(list.contains(&format!("\"/\" {n}")), "{n} in {list}");
    }

    // --- Written by Dovecot ---
    let inbox_validity = store.open(&bob, &inbox).expect("open").uid_validity;
    let appended = imap.command("APPEND INBOX (\\Seen Custom $Label1)", Some(&message(7)));
    assert!(appended.status.contains(" OK"), "{}", appended.status);
    let new_uid = appended
        .status
        .split("[APPENDUID ")
        .nth(1)
        .and_then(|r| r.split(' ').nth(1))
        .and_then(|u| u.split(']').next())
        .and_then(|u| u.parse::<u32>().ok())
        .expect("APPENDUID");
    imap.ok("SELECT INBOX");
    imap.ok(&format!(
        "UID STORE {} +FLAGS (\\Flagged NewKw)",
        second.get()
    ));
    imap.ok("UID STORE 1 -FLAGS (\\Seen)");
    imap.ok("CREATE FromDovecot");
    let made = imap.command("APPEND FromDovecot (\\Answered)", Some(&message(8)));
    assert!(made.status.contains(" OK"), "{}", made.status);
    let made_validity = made
        .status
        .split("[APPENDUID ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|v| v.parse::<u32>().ok())
        .expect("APPENDUID validity");
    let dovecot_view = dovecot::parse_fetch(&imap.ok("UID FETCH 1:* (UID FLAGS BODY.PEEK[])"));
    imap.ok("LOGOUT");
    let log = server.log();
    server.stop();

    let again = Maildir::open(&root, Options::default()).expect("reopen");
    let view = again.open(&bob, &inbox).expect("open after dovecot");
    assert_eq!(
        view.uid_validity, inbox_validity,
        "UIDVALIDITY kept; dovecot log: {log}"
    );
    let ours: Vec<u32> = view.messages.iter().map(|m| m.uid.get()).collect();
    let theirs: Vec<u32> = dovecot_view.iter().map(|f| f.uid).collect();
    assert_eq!(ours, theirs, "UIDs after Dovecot wrote");
    assert!(ours.contains(&new_uid));
    for (m, f) in view.messages.iter().zip(&dovecot_view) {
        let their_flags: BTreeSet<String> = f.flags.iter().cloned().collect();
        assert_eq!(imap_flags(&m.flags), their_flags, "flags of UID {}", f.uid);
        let body = again
            .read(&bob, &inbox, m.uid, ReadPart::Whole)
            .expect("read");
        assert_eq!(body, f.body, "body of UID {}", f.uid);
    }
    let appended_meta = view
        .get(Uid::new(new_uid).expect("uid"))
        .expect("dovecot's message");
    assert!(appended_meta.flags.contains_keyword(&kw("Custom")));
    let from = name("FromDovecot");
    let list = again.list_mailboxes(&bob).expect("list");
    assert!(
        list.iter().any(|i| i.name == from),
        "Dovecot's mailbox listed"
    );
    let fv = again.open(&bob, &from).expect("open FromDovecot");
    assert_eq!(fv.uid_validity.get(), made_validity);
    assert_eq!(fv.messages.len(), 1);
    assert!(fv.messages[0].flags.contains(SystemFlag::Answered));
    // And we can keep writing after Dovecot: the next UID continues its sequence.
    let next = again
        .append(
            &bob,
            &inbox,
            &mut &message(9)[..],
            &AppendRequest::new(date),
        )
        .expect("append after dovecot");
    assert!(next.get() > new_uid);
}
