//! Real faults under a mirror of two Maildir replicas: the secondary's root is a small tmpfs
//! that fills up, is remounted read-only, or is unmounted in the middle of a burst. Each test
//! keeps a ledger of acknowledged deliveries and proves every one is on the primary exactly
//! once, and that whatever the secondary kept is byte-identical under the same UID.
//!
//! After the fault is repaired (space freed, remounted read-write, a fresh array mounted)
//! the mirror resyncs and readmits the secondary, and the ledger must then hold on both
//! replicas, which must compare equal.
//!
//! These tests mount filesystems, so they need root (CI runs as root). They fail loudly, never
//! skip, when mounting is impossible.

mod mirror_support;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
};

use maildir_store::{
    MailStore, MailboxName, ReadPart,
    maildir::{self, Maildir},
    mirror::{Mirror, Options},
};
use mirror_support::{Ledger, bob};

/// A tmpfs mounted on a fresh directory, unmounted on drop.
struct Tmpfs {
    _parent: tempfile::TempDir,
    dir: PathBuf,
}

fn run(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl Tmpfs {
    fn new(size: &str) -> Self {
        let parent = tempfile::tempdir().expect("temporary directory");
        let dir = parent.path().join("replica");
        fs::create_dir(&dir).expect("mount point");
        let opts = format!("size={size}");
        let path = dir.to_str().expect("utf-8 path");
        if let Err(e) = run("mount", &["-t", "tmpfs", "-o", &opts, "tmpfs", path]) {
            panic!("this test must mount a tmpfs (run as root, as CI does): {e}");
        }
        Self {
            _parent: parent,
            dir,
        }
    }

    fn path(&self) -> &str {
        self.dir.to_str().expect("utf-8 path")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Already unmounted by the test is fine.
        let _ = run("umount", &["-l", self.path()]);
    }
}

fn replica(root: &Path) -> Arc<Maildir> {
    Maildir::init_replica(root).expect("init replica");
    Arc::new(Maildir::open(root, maildir::Options::default()).expect("open replica"))
}

struct Set {
    _a_dir: tempfile::TempDir,
    a: Arc<Maildir>,
    b: Arc<Maildir>,
    mirror: Mirror,
}

fn set(b_root: &Path) -> Set {
    let a_dir = tempfile::tempdir().expect("temporary directory");
    let a = replica(a_dir.path());
    let b = replica(b_root);
    let mirror = Mirror::open(a.clone(), b.clone(), Options::default()).expect("open mirror");
    Set {
        _a_dir: a_dir,
        a,
        b,
        mirror,
    }
}

/// A body of about `kb` kilobytes for message `n`.
fn big(n: usize, kb: usize) -> Vec<u8> {
    let mut b = mirror_support::body(n);
    b.extend(std::iter::repeat_n(b'x', kb * 1024));
    b.extend_from_slice(b"\r\n");
    b
}

/// Delivers `count` messages, calling `fault` before message `at`.
fn burst(set: &Set, ledger: &mut Ledger, count: usize, at: usize, fault: impl FnOnce()) {
    let mut fault = Some(fault);
    for n in 0..count {
        if n == at
            && let Some(f) = fault.take()
        {
            f();
        }
        if let Err(e) = ledger.deliver_bytes(&set.mirror, big(n, 16)) {
            panic!("message {n}: the primary must keep accepting: {e}");
        }
    }
}

/// Whatever the secondary still shows is byte-identical to the primary under the same UID.
fn secondary_is_a_clean_prefix(set: &Set) {
    let inbox = MailboxName::inbox();
    let Ok(view) = set.b.open(&bob(), &inbox) else {
        return; // unreadable (unmounted): nothing on it can mislead anyone
    };
    for m in &view.messages {
        let on_b = set.b.read(&bob(), &inbox, m.uid, ReadPart::Whole);
        let on_a = set.a.read(&bob(), &inbox, m.uid, ReadPart::Whole);
        if let Ok(on_b) = on_b {
            assert_eq!(Some(&on_b), on_a.as_ref().ok(), "UID {} differs", m.uid);
        }
    }
}

/// Repairs nothing itself: resyncs, rejoins, and checks the ledger on both sides.
fn rejoin_and_check(set: &Set, ledger: &mut Ledger) {
    let report = set.mirror.rejoin().expect("resync and rejoin");
    assert!(report.messages_copied > 0, "{report:?}");
    let st = set.mirror.status();
    assert!(st.primary.is_none() && st.secondary.is_none());
    ledger.assert_all_present(&*set.a);
    ledger.assert_all_present(&*set.b);
    let diff = maildir_store::mirror::differences(&*set.a, &*set.b, &bob()).expect("compare");
    assert!(diff.is_empty(), "{diff:#?}");
    // Both replicas take writes again.
    let next = ledger.acked.len();
    ledger
        .deliver(&set.mirror, next + 1000)
        .expect("delivered to both");
    ledger.assert_all_present(&*set.b);
}

fn check(set: &Set, ledger: &Ledger, count: usize) {
    assert_eq!(ledger.acked.len(), count);
    let st = set.mirror.status();
    assert!(st.secondary.is_some(), "the secondary was fenced");
    assert!(st.primary.is_none());
    ledger.assert_all_present(&set.mirror);
    ledger.assert_all_present(&*set.a);
    secondary_is_a_clean_prefix(set);
}

/// MIR-03: the secondary's array fills up.
#[test]
fn secondary_fills_up() {
    let fs = Tmpfs::new("512k");
    let set = set(&fs.dir);
    let mut ledger = Ledger::default();
    burst(&set, &mut ledger, 60, usize::MAX, || {});
    check(&set, &ledger, 60);
    let reason = set.mirror.status().secondary.expect("fenced").reason;
    assert!(reason.contains("space"), "{reason}");
    run("mount", &["-o", "remount,size=16m", fs.path()]).expect("grow the array");
    rejoin_and_check(&set, &mut ledger);
}

/// MIR-04: the secondary's array is remounted read-only during the burst.
#[test]
fn secondary_goes_read_only() {
    let fs = Tmpfs::new("8m");
    let set = set(&fs.dir);
    let mut ledger = Ledger::default();
    burst(&set, &mut ledger, 30, 10, || {
        run("mount", &["-o", "remount,ro", fs.path()]).expect("remount read-only");
    });
    check(&set, &ledger, 30);
    let reason = set.mirror.status().secondary.expect("fenced").reason;
    assert!(reason.contains("Read-only"), "{reason}");
    run("mount", &["-o", "remount,rw", fs.path()]).expect("read-write again");
    rejoin_and_check(&set, &mut ledger);
}

/// MIR-01/MIR-07: the secondary's array is unmounted during the burst; its mount point is
/// then a bare directory, and nothing may be created there.
#[test]
fn secondary_is_unmounted() {
    let fs = Tmpfs::new("8m");
    let set = set(&fs.dir);
    let mut ledger = Ledger::default();
    burst(&set, &mut ledger, 30, 10, || {
        run("umount", &["-l", fs.path()]).expect("unmount");
    });
    check(&set, &ledger, 30);
    let left: Vec<_> = fs::read_dir(&fs.dir).expect("mount point").collect();
    assert!(left.is_empty(), "nothing created on the bare mount point");
    assert!(
        set.mirror.rejoin().is_err(),
        "a bare mount point is no target"
    );
    // The operator mounts a replacement array and initialises it.
    run(
        "mount",
        &["-t", "tmpfs", "-o", "size=16m", "tmpfs", fs.path()],
    )
    .expect("remount");
    Maildir::init_replica(&fs.dir).expect("init the new array");
    rejoin_and_check(&set, &mut ledger);
}

/// MIR-06: the secondary is replaced by a snapshot taken before it was fenced, while the
/// primary delivered and expunged. It comes back only as a resync target; the expunged
/// messages stay expunged and no UID is reused.
#[test]
fn a_stale_snapshot_returns() {
    let fs = Tmpfs::new("32m");
    let snapshot = tempfile::tempdir().expect("snapshot dir");
    let a_dir = tempfile::tempdir().expect("temporary directory");
    let a = replica(a_dir.path());
    let b = replica(&fs.dir);
    let mut ledger = Ledger::default();
    {
        let mirror = Mirror::open(a.clone(), b.clone(), Options::default()).expect("open");
        for n in 0..20 {
            ledger.deliver_bytes(&mirror, big(n, 1)).expect("both");
        }
        let snap = snapshot.path().to_str().expect("utf-8");
        run("cp", &["-a", &format!("{}/.", fs.path()), snap]).expect("snapshot");
        run("mount", &["-o", "remount,ro", fs.path()]).expect("read-only");
        for n in 20..50 {
            ledger
                .deliver_bytes(&mirror, big(n, 1))
                .expect("primary alone");
        }
        let old: Vec<_> = ledger.acked.drain(..15).map(|(u, _)| u).collect();
        mirror
            .expunge(
                &bob(),
                &MailboxName::inbox(),
                &maildir_store::ExpungeSelector::Uids(old),
            )
            .expect("expunge on the primary");
    }
    // Swap the array for the old snapshot and restart.
    run("umount", &["-l", fs.path()]).expect("unmount");
    run(
        "mount",
        &["-t", "tmpfs", "-o", "size=32m", "tmpfs", fs.path()],
    )
    .expect("mount");
    let snap = format!("{}/.", snapshot.path().to_str().expect("utf-8"));
    run("cp", &["-a", &snap, fs.path()]).expect("restore snapshot");
    let b = Arc::new(Maildir::open(&fs.dir, maildir::Options::default()).expect("open"));
    let mirror = Mirror::open(a.clone(), b.clone(), Options::default()).expect("reopen");
    assert!(mirror.status().secondary.is_some(), "the snapshot is stale");
    let view = mirror.open(&bob(), &MailboxName::inbox()).expect("open");
    assert_eq!(view.messages.len(), 35, "served from the primary");
    let set = Set {
        _a_dir: a_dir,
        a,
        b,
        mirror,
    };
    rejoin_and_check(&set, &mut ledger);
    let inbox = set.b.open(&bob(), &MailboxName::inbox()).expect("open");
    assert_eq!(inbox.messages.len(), 36, "no expunged message came back");
}

/// MIR-07 at start-up: the secondary's array is not mounted (its mount point is an empty
/// directory). The set starts on the primary, which its record proves current, creates
/// nothing on the bare mount point, and reports the secondary failed.
#[test]
fn start_with_the_secondary_unmounted() {
    let fs = Tmpfs::new("8m");
    let set = set(&fs.dir);
    let mut ledger = Ledger::default();
    ledger.deliver(&set.mirror, 0).expect("both");
    run("mount", &["-o", "remount,ro", fs.path()]).expect("read-only");
    ledger
        .deliver(&set.mirror, 1)
        .expect("primary alone; secondary fenced");
    drop(set.mirror);
    run("umount", &["-l", fs.path()]).expect("unmount");
    let b: Arc<dyn maildir_store::mirror::Replica> =
        match Maildir::open(&fs.dir, maildir::Options::default()) {
            Ok(_) => panic!("an empty mount point must not open as a replica"),
            Err(e) => Arc::new(maildir_store::mirror::Unavailable::new(e.to_string())),
        };
    let mirror = Mirror::open(set.a.clone(), b, Options::default()).expect("start on A");
    assert!(mirror.status().secondary.is_some());
    ledger.deliver(&mirror, 2).expect("served from A");
    ledger.assert_all_present(&mirror);
    let left: Vec<_> = fs::read_dir(&fs.dir).expect("mount point").collect();
    assert!(left.is_empty(), "nothing created on the bare mount point");
}

/// MIR-02: after an IO error the fenced replica may hold files whose contents were lost
/// (here: overwritten behind its back). A verified rejoin compares bytes and refuses; the
/// replica stays fenced and nothing acknowledged is lost.
#[test]
fn a_verified_rejoin_catches_lost_writes() {
    use maildir_store::mirror::{Fault, FaultyStore, Scope};
    let (da, db) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let a = replica(da.path());
    Maildir::init_replica(db.path()).expect("init");
    let b_store = Maildir::open(db.path(), maildir::Options::default()).expect("open");
    let b = Arc::new(FaultyStore::new(b_store));
    let mirror = Mirror::open(a.clone(), b.clone(), Options::default()).expect("open");
    let mut ledger = Ledger::default();
    for n in 0..5 {
        ledger.deliver(&mirror, n).expect("both");
    }
    b.arm(Fault::Errno(5), Scope::Writes);
    ledger.deliver(&mirror, 5).expect("primary alone");
    b.heal();
    // The page cache lost one message's contents on the fenced replica.
    let new = db.path().join("bob").join("new");
    let victim = fs::read_dir(&new)
        .expect("new/")
        .next()
        .expect("a file")
        .expect("entry");
    let len = fs::metadata(victim.path()).expect("stat").len() as usize;
    fs::write(victim.path(), vec![b'?'; len]).expect("corrupt");
    let refused = mirror.rejoin_verified();
    assert!(
        matches!(
            refused,
            Err(maildir_store::StoreError::ReplicasDiverged { .. })
        ),
        "{refused:?}"
    );
    assert!(mirror.status().secondary.is_some(), "still fenced");
    ledger.assert_all_present(&mirror);
}
