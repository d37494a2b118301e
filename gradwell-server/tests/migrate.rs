//! `gradwell import` and `gradwell export`, run as an operator would: a Dovecot Maildir tree
//! imported into a mirrored store keeps UIDVALIDITY, UIDs, UIDNEXT, flags, keywords, dates
//! and subscriptions; a re-run changes nothing; exporting gives the source back; bad input
//! fails per mailbox while the rest goes on.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use gradwell_server::migrate::{
    dovecot::{DovecotMaildir, Layout},
    mbox::{MboxDir, Quoting},
    source::{Source, SourceMessage},
};
use maildir_store::{
    Keyword, MailStore, MailboxName, SystemFlag, UserId,
    maildir::{Maildir, Options},
};

fn gradwell(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args(args)
        .output()
        .expect("the gradwell binary runs")
}

/// Runs `gradwell` and fails the test, showing what it printed, unless it succeeded.
fn gradwell_ok(args: &[&str]) -> Output {
    let out = gradwell(args);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A mirrored store (two replica roots) and its configuration, with fsync on (the import
/// then makes each mailbox durable at its end).
fn target(dir: &Path) -> PathBuf {
    for root in ["a", "b"] {
        std::fs::create_dir(dir.join(root)).unwrap();
        Maildir::init_replica(&dir.join(root)).unwrap();
    }
    std::fs::write(dir.join("users"), "").unwrap();
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        "hostname = \"mx.example.test\"\nlocal_domains = [\"example.test\"]\nusers_file = \"users\"\n\
         postmaster = \"bob\"\n[storage]\nmirror_sets = [[\"a\", \"b\"]]\nfsync = true\n",
    )
    .unwrap();
    config
}

fn replica(dir: &Path, root: &str) -> Maildir {
    Maildir::open(&dir.join(root), Options::default()).unwrap()
}

fn write_message(dir: &Path, sub: &str, file: &str, body: &[u8], mtime: u64) {
    let path = dir.join(sub).join(file);
    std::fs::write(&path, body).unwrap();
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::from_secs(mtime))
        .unwrap();
}

fn maildir(dir: &Path) {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
}

/// A Dovecot user tree: INBOX with UID gaps and an expunged tail (N is above the last UID),
/// keywords, a message still in new/, folders in Maildir++ with a modified UTF-7 name.
fn dovecot_tree(root: &Path) {
    maildir(root);
    std::fs::write(
        root.join("dovecot-uidlist"),
        "3 V1700000000 N10 G0123456789abcdef0123456789abcdef\n\
         2 Pfirst-uidl O2 :1700000001.M1P1.old,S=40\n3 O3 :1700000002.M2P1.old,S=52:2,S\n\
         5 Pthird-uidl O1 :1700000003.M3P1.old\n",
    )
    .unwrap();
    std::fs::write(root.join("dovecot-keywords"), "0 $Forwarded\n1 Work\n").unwrap();
    write_message(
        root,
        "cur",
        "1700000001.M1P1.old,S=40:2,RSb",
        b"Subject: one\nFrom: a@example.test\n\nbody 1\n",
        1_700_000_001,
    );
    write_message(
        root,
        "cur",
        "1700000002.M2P1.old,S=52:2,FSa",
        b"Subject: two\nFrom: b@example.test\n\nFrom the past\n>quoted\n",
        1_700_000_002,
    );
    write_message(
        root,
        "new",
        "1700000003.M3P1.old",
        b"Subject: three\n\nunseen\n",
        1_700_000_003,
    );
    for (folder, v, n) in [
        (".Sent", 1_600_000_000u32, 3u32),
        (".Archive", 1_600_000_001, 1),
        (".Archive.2024", 1_600_000_002, 2),
        (".Entw&APw-rfe", 1_600_000_003, 2),
    ] {
        let dir = root.join(folder);
        maildir(&dir);
        std::fs::write(dir.join("maildirfolder"), "").unwrap();
        let mut list = format!("3 V{v} N{n}\n");
        for uid in 1..n {
            let base = format!("16000{uid}.M{uid}P2.old");
            list.push_str(&format!("{uid} :{base}\n"));
            write_message(
                &dir,
                "cur",
                &format!("{base}:2,S"),
                format!("Subject: {folder} {uid}\n\nhello\n").as_bytes(),
                1_600_000_000 + u64::from(uid),
            );
        }
        std::fs::write(dir.join("dovecot-uidlist"), list).unwrap();
    }
    std::fs::write(
        root.join("subscriptions"),
        "V\t2\n\nINBOX\nSent\nArchive\t2024\nEntwürfe\n",
    )
    .unwrap();
}

/// UID, sorted flag names, INTERNALDATE, body, POP3 UIDL and order.
type Described = (
    Option<u32>,
    Vec<String>,
    SystemTime,
    Vec<u8>,
    (Option<String>, Option<u32>),
);

/// Everything a client can tell about a mailbox, read through a source.
#[derive(Debug, PartialEq)]
struct Seen {
    name: String,
    uid_validity: Option<u32>,
    uid_next: Option<u32>,
    subscribed: bool,
    messages: Vec<Described>,
}

fn describe(m: &SourceMessage) -> Described {
    let mut flags: Vec<String> = m.flags.system().map(|f| f.as_imap().to_owned()).collect();
    flags.extend(m.flags.keywords().map(|k| k.as_str().to_owned()));
    flags.sort();
    (
        m.uid.map(|u| u.get()),
        flags,
        m.internal_date,
        m.body.clone(),
        (m.pop3_uidl.clone(), m.pop3_order),
    )
}

fn read_all(source: &mut dyn Source) -> Vec<Seen> {
    let mut out = Vec::new();
    for mb in source.mailboxes().unwrap() {
        let mut messages = Vec::new();
        source
            .messages(&mb, &mut |m| {
                messages.push(describe(&m));
                Ok(())
            })
            .unwrap();
        out.push(Seen {
            name: mb.name.as_str().to_owned(),
            uid_validity: mb.uid_validity.map(|v| v.get()),
            uid_next: mb.uid_next.map(|u| u.get()),
            subscribed: mb.subscribed,
            messages,
        });
    }
    out
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn dovecot_tree_round_trips_with_identifiers_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = target(dir.path());
    let tree = dir.path().join("old-bob");
    dovecot_tree(&tree);
    let c = config.to_str().unwrap();
    let t = tree.to_str().unwrap();

    // Durable by syncfs (the bulk import's fast way); the re-run below syncs file by file.
    let out = gradwell_ok(&[
        "import",
        "-c",
        c,
        "--user",
        "bob",
        "--path",
        t,
        "--json",
        "--sync-method",
        "filesystem",
        // Batches of two: every folder takes several, and the last is a partial one.
        "--batch-messages",
        "2",
    ]);
    let report = json(&out);
    let mailboxes = report["users"][0]["mailboxes"].as_array().unwrap();
    assert_eq!(mailboxes.len(), 5);
    for m in mailboxes {
        assert_eq!(m["outcome"], "imported", "{m}");
        assert_eq!(m["source"], m["target"], "{m}");
    }
    assert_eq!(
        mailboxes[0]["uid_map"],
        serde_json::json!([{"source_first": 2, "source_last": 5, "offset": 0, "messages": 3}]),
        "INBOX keeps its UIDs, gaps and all"
    );

    // Both replicas hold the user with the source's identifiers.
    let bob = UserId::new("bob").unwrap();
    for root in ["a", "b"] {
        let store = replica(dir.path(), root);
        let inbox = store.open(&bob, &MailboxName::inbox()).unwrap();
        assert_eq!(inbox.uid_validity.get(), 1_700_000_000);
        assert_eq!(inbox.uid_next.get(), 10, "UIDNEXT raised to the source's");
        let uids: Vec<u32> = inbox.messages.iter().map(|m| m.uid.get()).collect();
        assert_eq!(uids, [2, 3, 5]);
        let first = &inbox.messages[0].flags;
        assert!(first.contains(SystemFlag::Answered) && first.contains(SystemFlag::Seen));
        assert!(first.contains_keyword(&Keyword::new("Work").unwrap()));
        assert!(
            inbox.messages[1]
                .flags
                .contains_keyword(&Keyword::new("$Forwarded").unwrap())
        );
        assert!(inbox.messages[2].flags.is_empty());
        assert_eq!(
            inbox.messages[0].internal_date,
            UNIX_EPOCH + Duration::from_secs(1_700_000_001)
        );
        // POP3 UIDLs in Dovecot's default format from the kept UID and UIDVALIDITY.
        let uidls: Vec<String> = store
            .pop3_view(&bob)
            .unwrap()
            .into_iter()
            .map(|e| e.uidl)
            .collect();
        // Recorded UIDLs and order kept; the rest in Dovecot's default format from the kept
        // UID and UIDVALIDITY.
        assert_eq!(uidls, ["third-uidl", "first-uidl", "000000036553f100"]);
        let names: Vec<(String, bool)> = store
            .list_mailboxes(&bob)
            .unwrap()
            .into_iter()
            .map(|i| (i.name.as_str().to_owned(), i.attributes.subscribed))
            .collect();
        assert_eq!(
            names,
            [
                ("INBOX".to_owned(), true),
                ("Archive".to_owned(), false),
                ("Archive/2024".to_owned(), true),
                ("Entwürfe".to_owned(), true),
                ("Sent".to_owned(), true),
            ]
        );
    }

    // A re-run changes nothing.
    let again = gradwell(&["import", "-c", c, "--user", "bob", "--path", t, "--json"]);
    assert!(again.status.success());
    for m in json(&again)["users"][0]["mailboxes"].as_array().unwrap() {
        assert_eq!(m["outcome"], "unchanged", "{m}");
        assert_eq!(m["copied"], 0);
    }

    // Export gives the source back: same UIDs, flags, dates, bodies, UIDVALIDITY, UIDNEXT.
    let back = dir.path().join("back");
    gradwell_ok(&[
        "export",
        "-c",
        c,
        "--user",
        "bob",
        "--to",
        back.to_str().unwrap(),
    ]);
    let original = read_all(&mut DovecotMaildir::new(&tree, Layout::MaildirPlusPlus));
    let exported = read_all(&mut DovecotMaildir::new(&back, Layout::MaildirPlusPlus));
    assert_eq!(original, exported);

    // And through LAYOUT=fs, imported again as a second user: the same again.
    let fs_tree = dir.path().join("back-fs");
    let out = gradwell(&[
        "export",
        "-c",
        c,
        "--user",
        "bob",
        "--format",
        "dovecot-fs",
        "--to",
        fs_tree.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(fs_tree.join("Archive/2024/cur").is_dir());
    let fs_read = read_all(&mut DovecotMaildir::new(&fs_tree, Layout::Fs));
    assert_eq!(original, fs_read);
}

#[test]
fn bad_input_fails_per_mailbox_and_the_rest_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = target(dir.path());
    let tree = dir.path().join("old");
    dovecot_tree(&tree);
    // A uidlist that lists a file that is gone.
    std::fs::remove_file(tree.join(".Sent/cur/160002.M2P2.old:2,S")).unwrap();
    // A folder whose name is not UTF-8.
    use std::os::unix::ffi::OsStrExt;
    let bad = tree.join(std::ffi::OsStr::from_bytes(b".Bad\xff"));
    maildir(&bad);
    let out = gradwell(&[
        "import",
        "-c",
        config.to_str().unwrap(),
        "--user",
        "carol",
        "--path",
        tree.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "failures make the run fail");
    let report = json(&out);
    let mailboxes = report["users"][0]["mailboxes"].as_array().unwrap();
    let by_name = |n: &str| mailboxes.iter().find(|m| m["mailbox"] == n).unwrap();
    assert_eq!(by_name("Sent")["outcome"], "failed");
    assert!(
        by_name("Sent")["notes"][0]
            .as_str()
            .unwrap()
            .contains("no file has it")
    );
    assert_eq!(by_name("Bad\u{fffd}")["outcome"], "failed");
    for ok in ["INBOX", "Archive", "Archive/2024", "Entwürfe"] {
        assert_eq!(by_name(ok)["outcome"], "imported", "{ok}");
    }
    // Nothing of Sent is visible, under its name or a staging name (bad data is not
    // resumed).
    let carol = UserId::new("carol").unwrap();
    let names: Vec<String> = replica(dir.path(), "a")
        .list_mailboxes(&carol)
        .unwrap()
        .into_iter()
        .map(|i| i.name.as_str().to_owned())
        .collect();
    assert!(!names.contains(&"Sent".to_owned()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("Migrating-")),
        "{names:?}"
    );
}

#[test]
fn dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = target(dir.path());
    let tree = dir.path().join("old");
    dovecot_tree(&tree);
    let out = gradwell_ok(&[
        "import",
        "-c",
        config.to_str().unwrap(),
        "--user",
        "dave",
        "--path",
        tree.to_str().unwrap(),
        "--dry-run",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Checked"));
    assert!(!dir.path().join("a/dave").exists());
}

const MBOX_INBOX: &str = "From MAILER-DAEMON Wed Jan  3 01:05:34 1996\n\
Subject: first\n\
Status: RO\n\
X-Status: AF\n\
X-IMAPbase: 1000 3\n\
X-UID: 1\n\
\n\
>From the top\n\
>>From deeper\n\
\n\
From MAILER-DAEMON Thu Feb 29 12:00:00 2024\n\
Subject: second\n\
Status: O\n\
X-Keywords: Work\n\
X-UID: 2\n\
\n\
body\n\
\n";

const MBOX_LISTS: &str = "From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n\
Subject: list mail\n\
Status: RO\n\
X-IMAPbase: 2000 5\n\
X-UID: 4\n\
\n\
hi\n\
\n";

#[test]
fn mbox_round_trips_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let config = target(dir.path());
    let src = dir.path().join("mail");
    std::fs::create_dir_all(src.join("Lists.sbd")).unwrap();
    std::fs::write(src.join("INBOX"), MBOX_INBOX).unwrap();
    std::fs::write(src.join("Lists"), MBOX_LISTS).unwrap();
    std::fs::write(src.join("Lists.sbd/rust"), MBOX_LISTS).unwrap();
    let c = config.to_str().unwrap();
    gradwell_ok(&[
        "import",
        "-c",
        c,
        "--user",
        "erin",
        "--kind",
        "mbox",
        "--path",
        src.to_str().unwrap(),
    ]);

    let erin = UserId::new("erin").unwrap();
    let store = replica(dir.path(), "a");
    let inbox = store.open(&erin, &MailboxName::inbox()).unwrap();
    let uids: Vec<u32> = inbox.messages.iter().map(|m| m.uid.get()).collect();
    assert_eq!(uids, [1, 2]);
    assert_eq!(inbox.uid_validity.get(), 1000);
    assert!(inbox.messages[0].flags.contains(SystemFlag::Flagged));
    assert_eq!(
        inbox.messages[1].internal_date,
        UNIX_EPOCH + Duration::from_secs(1_709_208_000)
    );
    let body = store
        .read(
            &erin,
            &MailboxName::inbox(),
            inbox.messages[0].uid,
            maildir_store::ReadPart::Whole,
        )
        .unwrap();
    assert_eq!(
        body,
        b"Subject: first\r\n\r\nFrom the top\r\n>From deeper\r\n"
    );

    let back = dir.path().join("back");
    gradwell_ok(&[
        "export",
        "-c",
        c,
        "--user",
        "erin",
        "--format",
        "mbox",
        "--to",
        back.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(back.join("INBOX")).unwrap(),
        MBOX_INBOX
    );
    assert_eq!(
        std::fs::read_to_string(back.join("Lists")).unwrap(),
        MBOX_LISTS
    );
    assert_eq!(
        std::fs::read_to_string(back.join("Lists.sbd/rust")).unwrap(),
        MBOX_LISTS
    );
    // And the exported files read back to the same messages.
    let a = read_all(&mut MboxDir::new(&src, None, Quoting::Mboxrd));
    let b = read_all(&mut MboxDir::new(&back, None, Quoting::Mboxrd));
    assert_eq!(a, b);
}

#[test]
fn courier_maildir_keeps_uids_keywords_and_subscriptions() {
    let dir = tempfile::tempdir().unwrap();
    let config = target(dir.path());
    let tree = dir.path().join("courier");
    maildir(&tree);
    maildir(&tree.join(".Sent"));
    std::fs::write(
        tree.join("courierimapuiddb"),
        "1 1111111111 20\n4 1100000000.M1.host:2,S\n9 1100000001.M2.host\n",
    )
    .unwrap();
    write_message(
        &tree,
        "cur",
        "1100000000.M1.host:2,RS",
        b"Subject: a\n\na\n",
        1_100_000_000,
    );
    write_message(
        &tree,
        "new",
        "1100000001.M2.host",
        b"Subject: b\n\nb\n",
        1_100_000_001,
    );
    std::fs::create_dir(tree.join("courierimapkeywords")).unwrap();
    std::fs::write(
        tree.join("courierimapkeywords/:list"),
        "$Label1\nWork\n\n1100000000.M1.host:1\n",
    )
    .unwrap();
    std::fs::write(tree.join("courierimapsubscribed"), "INBOX.Sent\n").unwrap();
    gradwell_ok(&[
        "import",
        "-c",
        config.to_str().unwrap(),
        "--user",
        "finn",
        "--kind",
        "courier",
        "--path",
        tree.to_str().unwrap(),
    ]);
    let finn = UserId::new("finn").unwrap();
    let store = replica(dir.path(), "b");
    let inbox = store.open(&finn, &MailboxName::inbox()).unwrap();
    assert_eq!(inbox.uid_validity.get(), 1_111_111_111);
    assert_eq!(inbox.uid_next.get(), 20);
    let uids: Vec<u32> = inbox.messages.iter().map(|m| m.uid.get()).collect();
    assert_eq!(uids, [4, 9]);
    assert!(inbox.messages[0].flags.contains(SystemFlag::Answered));
    assert!(
        inbox.messages[0]
            .flags
            .contains_keyword(&Keyword::new("Work").unwrap())
    );
    let subscribed: Vec<(String, bool)> = store
        .list_mailboxes(&finn)
        .unwrap()
        .into_iter()
        .map(|i| (i.name.as_str().to_owned(), i.attributes.subscribed))
        .collect();
    assert_eq!(
        subscribed,
        [("INBOX".to_owned(), false), ("Sent".to_owned(), true)]
    );
}

#[test]
fn restructured_layout_imports_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let config = target(dir.path());
    let tree = dir.path().join("old");
    dovecot_tree(&tree);
    let original = read_all(&mut DovecotMaildir::new(&tree, Layout::MaildirPlusPlus));
    let t = tree.to_str().unwrap();
    let out = gradwell(&[
        "restructure",
        "layout",
        "--path",
        t,
        "--from",
        "maildir-plus-plus",
        "--to",
        "fs",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(tree.join("Archive/2024/cur").is_dir() && !tree.join(".Sent").exists());
    assert_eq!(
        read_all(&mut DovecotMaildir::new(&tree, Layout::Fs)),
        original
    );
    let out = gradwell(&[
        "import",
        "-c",
        config.to_str().unwrap(),
        "--user",
        "gus",
        "--path",
        t,
        "--layout",
        "fs",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let back = dir.path().join("back");
    let out = gradwell(&[
        "export",
        "-c",
        config.to_str().unwrap(),
        "--user",
        "gus",
        "--to",
        back.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert_eq!(
        read_all(&mut DovecotMaildir::new(&back, Layout::MaildirPlusPlus)),
        original
    );
}

#[test]
fn manifest_places_users_on_sets_and_reshard_moves_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for root in ["s0", "s1"] {
        std::fs::create_dir(d.join(root)).unwrap();
        Maildir::init_replica(&d.join(root)).unwrap();
    }
    std::fs::write(d.join("users"), "").unwrap();
    std::fs::write(d.join("placement"), "gradwell-placement v1\ndefault 0\n").unwrap();
    let config = d.join("c.toml");
    std::fs::write(
        &config,
        "hostname = \"mx.example.test\"\nlocal_domains = [\"example.test\"]\nusers_file = \"users\"\n\
         postmaster = \"hal\"\n[storage]\nmirror_sets = [[\"s0\"], [\"s1\"]]\n\
         placement_file = \"placement\"\nfsync = false\n",
    )
    .unwrap();
    let tree = d.join("old");
    dovecot_tree(&tree);
    std::fs::write(
        d.join("manifest.toml"),
        format!(
            "[[user]]\nuser = \"hal\"\nkind = \"dovecot\"\npath = \"{}\"\nset = 1\n",
            tree.display()
        ),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    gradwell_ok(&[
        "import",
        "-c",
        c,
        "--manifest",
        d.join("manifest.toml").to_str().unwrap(),
    ]);
    let hal = UserId::new("hal").unwrap();
    let uids = |root: &str| -> Vec<u32> {
        replica(d, root)
            .open(&hal, &MailboxName::inbox())
            .map(|v| v.messages.iter().map(|m| m.uid.get()).collect())
            .unwrap_or_default()
    };
    assert_eq!(uids("s1"), [2, 3, 5]);
    assert!(
        std::fs::read_to_string(d.join("placement"))
            .unwrap()
            .contains("user hal 1")
    );
    std::fs::write(d.join("plan"), "# back\nhal 0\n").unwrap();
    gradwell_ok(&[
        "restructure",
        "reshard",
        "-c",
        c,
        "--plan",
        d.join("plan").to_str().unwrap(),
    ]);
    assert_eq!(uids("s0"), [2, 3, 5]);
    let v = replica(d, "s0").open(&hal, &MailboxName::inbox()).unwrap();
    assert_eq!(
        (v.uid_validity.get(), v.uid_next.get()),
        (1_700_000_000, 10)
    );
    // The recorded POP3 UIDLs and order survived both moves.
    let uidls: Vec<String> = replica(d, "s0")
        .pop3_view(&hal)
        .unwrap()
        .into_iter()
        .map(|e| e.uidl)
        .collect();
    assert_eq!(uidls, ["third-uidl", "first-uidl", "000000036553f100"]);
}

#[test]
fn the_rate_limit_holds_the_source_to_its_pace() {
    let dir = tempfile::tempdir().unwrap();
    let config = target(dir.path());
    let tree = dir.path().join("many");
    maildir(&tree);
    let mut list = String::from("3 V5 N61\n");
    for uid in 1..=60 {
        list.push_str(&format!("{uid} :m{uid:03}\n"));
        write_message(
            &tree,
            "cur",
            &format!("m{uid:03}:2,S"),
            b"Subject: x\n\nx\n",
            1_000,
        );
    }
    std::fs::write(tree.join("dovecot-uidlist"), list).unwrap();
    let start = std::time::Instant::now();
    let out = gradwell(&[
        "import",
        "-c",
        config.to_str().unwrap(),
        "--user",
        "ivy",
        "--path",
        tree.to_str().unwrap(),
        "--rate",
        "30",
    ]);
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // 60 messages at 30 per second, after the bucket's one-second burst of 30: at least
    // 1 s of reading.
    assert!(took >= Duration::from_millis(950), "{took:?}");
}

#[test]
fn mbox_written_by_dovecot_keeps_its_uids() {
    let dir = tempfile::tempdir().unwrap();
    let config = target(dir.path());
    let src = dir.path().join("mail");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("inbox"),
        "From a Sat Jan  3 01:05:34 1996\nX-IMAPbase: 1234 40\nX-UID: 7\nStatus: RO\nSubject: a\n\na\n\n\
         From a Sat Jan  3 01:05:34 1996\nX-UID: 9\nSubject: b\n\nb\n\n",
    )
    .unwrap();
    // X-IMAPbase without a complete set of X-UIDs: a clear error for that folder only.
    std::fs::write(
        src.join("Broken"),
        "From a Sat Jan  3 01:05:34 1996\nX-IMAPbase: 99 5\nX-UID: 1\n\na\n\n\
         From a Sat Jan  3 01:05:34 1996\nSubject: no uid\n\nb\n\n",
    )
    .unwrap();
    let out = gradwell(&[
        "import",
        "-c",
        config.to_str().unwrap(),
        "--user",
        "jo",
        "--kind",
        "mbox",
        "--path",
        src.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let mailboxes = report["users"][0]["mailboxes"].as_array().unwrap();
    let by_name = |n: &str| mailboxes.iter().find(|m| m["mailbox"] == n).unwrap();
    assert_eq!(by_name("INBOX")["outcome"], "imported");
    assert_eq!(by_name("Broken")["outcome"], "failed");
    assert!(
        by_name("Broken")["notes"][0]
            .as_str()
            .unwrap()
            .contains("X-UID")
    );
    let jo = UserId::new("jo").unwrap();
    let inbox = replica(dir.path(), "a")
        .open(&jo, &MailboxName::inbox())
        .unwrap();
    assert_eq!((inbox.uid_validity.get(), inbox.uid_next.get()), (1234, 40));
    let uids: Vec<u32> = inbox.messages.iter().map(|m| m.uid.get()).collect();
    assert_eq!(uids, [7, 9]);
    assert!(inbox.messages[0].flags.contains(SystemFlag::Seen));
}
