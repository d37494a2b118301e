//! Clients' view before and after: a Dovecot Maildir tree served by a real Dovecot, imported
//! with `gradwell import`, then the imported tree served by Dovecot again. Over IMAP every
//! mailbox shows the same UIDVALIDITY, UIDNEXT, UIDs, flags and bodies, and over POP3 the
//! same UIDLs in the same order, including UIDLs and order recorded in `dovecot-uidlist`.
//!
//! Needs Debian's `dovecot-imapd` and `dovecot-pop3d`; without either the test
//! says so loudly and checks nothing (CI installs them).

#[allow(dead_code)]
#[path = "../../maildir-store/tests/support/dovecot.rs"]
mod dovecot;

use std::{path::Path, process::Command};

use dovecot::{Dovecot, Extras, Imap, code_number, hand_over, parse_fetch, pop3_uidls};
use maildir_store::{MailStore, maildir::Maildir};

const MAILBOXES: [(&str, &str); 3] = [
    ("INBOX", "INBOX"),
    ("Sent", "Sent"),
    ("Archive/2024", "Archive/2024"),
];

/// A source tree for `bob`: UID gaps, an expunged tail, keywords, recorded POP3 UIDLs/order.
fn source_tree(root: &Path) {
    let mk = |dir: &Path| {
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
    };
    mk(root);
    std::fs::write(
        root.join("dovecot-uidlist"),
        "3 V1700000000 N12 G0123456789abcdef0123456789abcdef\n\
         2 Pfirst-uidl O2 :1700000001.M1P1.old\n4 O3 :1700000002.M2P1.old\n\
         7 Pthird-uidl O1 :1700000003.M3P1.old\n",
    )
    .unwrap();
    std::fs::write(root.join("dovecot-keywords"), "0 $Forwarded\n1 Work\n").unwrap();
    let msg =
        |n: u32| format!("From: a@example.test\nSubject: m{n}\nMessage-ID: <{n}@x>\n\nbody {n}\n");
    std::fs::write(root.join("cur/1700000001.M1P1.old:2,RSb"), msg(1)).unwrap();
    std::fs::write(root.join("cur/1700000002.M2P1.old:2,Fa"), msg(2)).unwrap();
    std::fs::write(root.join("new/1700000003.M3P1.old"), msg(3)).unwrap();
    for (dir, v) in [
        (".Sent", 1_600_000_000u32),
        (".Archive.2024", 1_600_000_001),
    ] {
        let d = root.join(dir);
        mk(&d);
        std::fs::write(d.join("maildirfolder"), "").unwrap();
        std::fs::write(
            d.join("dovecot-uidlist"),
            format!("3 V{v} N9\n5 :160000.M5.old\n"),
        )
        .unwrap();
        std::fs::write(d.join("cur/160000.M5.old:2,S"), msg(5)).unwrap();
    }
    std::fs::write(root.join("subscriptions"), "V\t2\n\nSent\nArchive\t2024\n").unwrap();
}

/// A mailbox as SELECT and FETCH show it: name, UIDVALIDITY, UIDNEXT, messages.
type Selected = (String, u32, u32, Vec<dovecot::Fetched>);

/// Everything a client sees: per mailbox UIDVALIDITY, UIDNEXT and each message's UID,
/// flags and body; then the POP3 UIDLs in order.
fn client_view(d: &Dovecot) -> (Vec<Selected>, Vec<String>) {
    let mut imap = Imap::login(d.port, "bob");
    let mut boxes = Vec::new();
    for (name, wire) in MAILBOXES {
        let sel = imap.ok(&format!("SELECT \"{wire}\""));
        let v = code_number(&sel, "UIDVALIDITY").expect("UIDVALIDITY");
        let next = code_number(&sel, "UIDNEXT").expect("UIDNEXT");
        let fetched = parse_fetch(&imap.ok("UID FETCH 1:* (UID FLAGS BODY.PEEK[])"));
        boxes.push((name.to_owned(), v, next, fetched));
    }
    imap.ok("LOGOUT");
    (
        boxes,
        pop3_uidls(d.pop3_port().expect("Dovecot serves POP3"), "bob")
            .into_iter()
            .map(|(_, uidl)| uidl)
            .collect(),
    )
}

/// Dovecot with POP3 beside IMAP.
fn with_pop3() -> Extras {
    Extras {
        pop3: true,
        ..Extras::default()
    }
}

#[test]
fn dovecot_clients_see_the_same_before_and_after_import() {
    if !Path::new(dovecot::DOVECOT).exists() || !Path::new("/usr/lib/dovecot/pop3").exists() {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !! SKIPPED: Dovecot migration check: {} or its POP3 not found.!!\n\
             !! Install it with: apt-get install -y dovecot-imapd dovecot-pop3d   !!\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
            dovecot::DOVECOT
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let old = d.join("old");
    source_tree(&old.join("bob"));
    hand_over(&old);
    let source = Dovecot::start_with(&old, &d.join("dovecot-old"), &with_pop3());
    let before = client_view(&source);
    source.stop();
    assert_eq!(
        before.1,
        ["third-uidl", "first-uidl", "000000046553f100"],
        "Dovecot shows the recorded UIDLs in the recorded order"
    );

    std::fs::create_dir(d.join("new")).unwrap();
    Maildir::init_replica(&d.join("new")).unwrap();
    std::fs::write(d.join("users"), "").unwrap();
    let config = d.join("c.toml");
    std::fs::write(
        &config,
        "hostname = \"mx.example.test\"\nlocal_domains = [\"example.test\"]\nusers_file = \"users\"\n\
         postmaster = \"bob\"\n[storage]\nmirror_sets = [[\"new\"]]\nfsync = false\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args([
            "import",
            "-c",
            config.to_str().unwrap(),
            "--user",
            "bob",
            "--path",
        ])
        .arg(old.join("bob"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Gradwell's own POP3 view of the imported INBOX is Dovecot's.
    let store = Maildir::open(&d.join("new"), maildir_store::maildir::Options::default()).unwrap();
    let ours: Vec<String> = store
        .pop3_view(&maildir_store::UserId::new("bob").unwrap())
        .unwrap()
        .into_iter()
        .map(|e| e.uidl)
        .collect();
    assert_eq!(ours, before.1, "Gradwell's UIDLs are Dovecot's");
    drop(store);

    hand_over(&d.join("new"));
    let target = Dovecot::start_with(&d.join("new"), &d.join("dovecot-new"), &with_pop3());
    let after = client_view(&target);
    target.stop();
    assert_eq!(before.1, after.1, "POP3 UIDLs and order");
    assert_eq!(before.0.len(), after.0.len());
    for (b, a) in before.0.iter().zip(&after.0) {
        assert_eq!(
            (&b.0, b.1, b.2),
            (&a.0, a.1, a.2),
            "UIDVALIDITY/UIDNEXT of {}",
            b.0
        );
        assert_eq!(b.3, a.3, "UIDs, flags and bodies of {}", b.0);
    }

    // Rolling back: `gradwell export` writes a tree Dovecot serves the same way again.
    let out = Command::new(env!("CARGO_BIN_EXE_gradwell"))
        .args([
            "export",
            "-c",
            config.to_str().unwrap(),
            "--user",
            "bob",
            "--to",
        ])
        .arg(d.join("rollback/bob"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    hand_over(&d.join("rollback"));
    let rollback = Dovecot::start_with(
        &d.join("rollback"),
        &d.join("dovecot-rollback"),
        &with_pop3(),
    );
    let again = client_view(&rollback);
    rollback.stop();
    assert_eq!(before.1, again.1, "POP3 UIDLs and order after the rollback");
    for (b, a) in before.0.iter().zip(&again.0) {
        assert_eq!(
            (&b.0, b.1, b.2),
            (&a.0, a.1, a.2),
            "rollback: UIDVALIDITY/UIDNEXT of {}",
            b.0
        );
        assert_eq!(b.3, a.3, "rollback: UIDs, flags and bodies of {}", b.0);
    }
}
