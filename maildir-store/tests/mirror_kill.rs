//! `kill -9` of a process writing through a mirror, right after acknowledgements: after a
//! restart (and a resync if the replicas were left different), every acknowledged message is
//! on both replicas exactly once, and the replicas compare equal.

mod mirror_support;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::Arc,
};

use maildir_store::{
    Uid,
    maildir::{self, Maildir},
    mirror::{Mirror, Options, differences},
};
use mirror_support::{Ledger, bob, body};

fn acks(line: &str) -> Option<(usize, Uid)> {
    let mut it = line.strip_prefix("ACK ")?.split(' ');
    let n = it.next()?.parse().ok()?;
    let uid = Uid::new(it.next()?.parse().ok()?)?;
    Some((n, uid))
}

#[test]
fn killed_writer_loses_no_acknowledged_message() {
    for round in 0..3 {
        let (da, db) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        for d in [&da, &db] {
            Maildir::init_replica(d.path()).expect("init");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_mirror-writer"))
            .arg(da.path())
            .arg(db.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start writer");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut ledger = Ledger::default();
        // Kill right after an acknowledgement, at a different point each round.
        let kill_after = 20 + round * 13;
        while ledger.acked.len() < kill_after {
            let line = lines.next().expect("writer alive").expect("utf-8");
            let (n, uid) = acks(&line).expect("an ACK line");
            ledger.acked.push((uid, body(n)));
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        // Acknowledgements printed before death count too.
        for line in lines.map_while(Result::ok) {
            if let Some((n, uid)) = acks(&line) {
                ledger.acked.push((uid, body(n)));
            }
        }
        let open = |p: &std::path::Path| {
            Arc::new(Maildir::open(p, maildir::Options::default()).expect("open"))
        };
        let (a, b) = (open(da.path()), open(db.path()));
        let mirror = Mirror::open(a.clone(), b.clone(), Options::default()).expect("restart");
        ledger.assert_all_present(&mirror);
        if mirror.status().secondary.is_some() {
            mirror.rejoin().expect("resync after the kill");
        }
        ledger.assert_all_present(&*a);
        ledger.assert_all_present(&*b);
        let diff = differences(&*a, &*b, &bob()).expect("compare");
        assert!(diff.is_empty(), "round {round}: {diff:#?}");
        ledger.deliver(&mirror, 10_000).expect("serving again");
        ledger.assert_all_present(&*a);
        ledger.assert_all_present(&*b);
    }
}

/// Permission loss for real: root ignores `chmod 000`, so the writer runs as `nobody`
/// (`setpriv`, CI runs as root) and the secondary's tree is made unreadable mid-burst. The
/// writer keeps acknowledging on the primary; after the permissions are restored the
/// secondary is resynced and the ledger holds on both.
#[test]
fn permission_loss_on_the_secondary() {
    use std::os::unix::fs::PermissionsExt;
    let (da, db) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    for d in [&da, &db] {
        Maildir::init_replica(d.path()).expect("init");
        let p = d.path().to_str().expect("utf-8");
        let out = Command::new("chown")
            .args(["-R", "65534:65534", p])
            .output()
            .expect("chown runs");
        assert!(out.status.success(), "this test must run as root (CI does)");
    }
    let mut child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_mirror-writer"))
        .arg(da.path())
        .arg(db.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("setpriv must exist (util-linux) and the test must run as root");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut ledger = Ledger::default();
    let mut take = |ledger: &mut Ledger, upto: usize| {
        while ledger.acked.len() < upto {
            let line = lines.next().expect("writer alive").expect("utf-8");
            let (n, uid) = acks(&line).expect("an ACK line");
            ledger.acked.push((uid, body(n)));
        }
    };
    take(&mut ledger, 10);
    let user_dir = db.path().join("bob");
    std::fs::set_permissions(&user_dir, std::fs::Permissions::from_mode(0o000)).expect("chmod 000");
    take(&mut ledger, 30);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    std::fs::set_permissions(&user_dir, std::fs::Permissions::from_mode(0o700))
        .expect("chmod back");
    let open = |p: &std::path::Path| {
        Arc::new(Maildir::open(p, maildir::Options::default()).expect("open"))
    };
    let (a, b) = (open(da.path()), open(db.path()));
    let mirror = Mirror::open(a.clone(), b.clone(), Options::default()).expect("restart");
    assert!(
        mirror.status().secondary.is_some(),
        "the primary's record names the secondary stale"
    );
    mirror.rejoin().expect("resync");
    ledger.assert_all_present(&*a);
    ledger.assert_all_present(&*b);
    let diff = differences(&*a, &*b, &bob()).expect("compare");
    assert!(diff.is_empty(), "{diff:#?}");
}
