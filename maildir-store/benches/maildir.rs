//! Maildir benchmarks: durable deliveries per second and opening a 100,000-message mailbox
//! warm and cold, with the peers in the same run: the bare syscall floor of a durable Maildir
//! delivery, and Dovecot (IMAP APPEND with `mail_fsync = always`, and SELECT of the same
//! 100,000-message tree) when `/usr/sbin/dovecot` is installed.
//!
//! `cargo bench -p maildir-store --bench maildir`. Under `cargo test` (no `--bench`
//! argument) the big mailbox has 1,000 messages so the smoke run stays quick.

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/support/dovecot.rs"]
mod dovecot;

use std::{
    fs::{self, File},
    hint::black_box,
    io::Write,
    path::Path,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime},
};

use criterion::{Criterion, criterion_group, criterion_main};
use maildir_store::{
    AppendRequest, MailStore, MailboxName, UserId,
    maildir::{Maildir, Options},
};

fn message() -> Vec<u8> {
    let mut m = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: bench\r\n\r\n".to_vec();
    while m.len() < 4096 {
        m.extend_from_slice(
            b"0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n",
        );
    }
    m
}

fn store(root: &Path, fsync: bool) -> Maildir {
    let mut options = Options::default();
    options.fsync = fsync;
    Maildir::open(root, options).expect("open replica")
}

/// The least any durable Maildir delivery can do: write, fsync, rename, fsync the directory.
fn floor_delivery(dir: &Path, body: &[u8], n: u64) {
    let tmp = dir.join("tmp").join(format!("{n}.floor"));
    let mut f = File::create(&tmp).expect("create");
    f.write_all(body).expect("write");
    f.sync_all().expect("fsync file");
    fs::rename(&tmp, dir.join("new").join(format!("{n}.floor"))).expect("rename");
    File::open(dir.join("new"))
        .and_then(|d| d.sync_all())
        .expect("fsync dir");
}

fn deliveries(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    Maildir::init_replica(tmp.path()).expect("init");
    let s = store(tmp.path(), true);
    let user = UserId::new("bench").expect("user");
    let inbox = MailboxName::inbox();
    let body = message();
    let req = AppendRequest::new(SystemTime::now());
    s.open(&user, &inbox).expect("create INBOX");
    let floor_dir = tmp.path().join("floor");
    for sub in ["", "tmp", "new"] {
        fs::create_dir_all(floor_dir.join(sub)).expect("mkdir");
    }
    let counter = AtomicU64::new(0);
    let mut g = c.benchmark_group("deliver_4k_fsync");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("maildir_store_append", |b| {
        b.iter(|| {
            s.append(&user, &inbox, &mut &body[..], &req)
                .expect("append")
        })
    });
    g.bench_function("syscall_floor", |b| {
        b.iter(|| floor_delivery(&floor_dir, &body, counter.fetch_add(1, Ordering::Relaxed)))
    });
    if let Some((server, _state)) = start_dovecot(tmp.path()) {
        let mut imap = dovecot::Imap::login(server.port, "peer");
        g.bench_function("dovecot_imap_append", |b| {
            b.iter(|| {
                let a = imap.command("APPEND INBOX", Some(&body));
                assert!(a.status.contains(" OK"), "{}", a.status);
            })
        });
        server.stop();
    }
    g.finish();
}

/// Dovecot serving users under `root`, or `None` (said loudly) when it is not installed.
fn start_dovecot(root: &Path) -> Option<(dovecot::Dovecot, tempfile::TempDir)> {
    if !Path::new(dovecot::DOVECOT).exists() {
        eprintln!(
            "!! dovecot not installed: peer benchmarks skipped (apt-get install dovecot-imapd)"
        );
        return None;
    }
    let state = tempfile::tempdir().expect("tempdir");
    dovecot::hand_over(root);
    let server = dovecot::Dovecot::start(root, state.path());
    Some((server, state))
}

fn open_big(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let count = if full { 100_000 } else { 1_000 };
    let tmp = tempfile::tempdir().expect("tempdir");
    Maildir::init_replica(tmp.path()).expect("init");
    let user = UserId::new("big").expect("user");
    let inbox = MailboxName::inbox();
    {
        // Built without fsync: only the open is measured.
        let writer = store(tmp.path(), false);
        let body = b"Subject: x\r\n\r\nsmall body\r\n";
        let req = AppendRequest::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        for _ in 0..count {
            writer
                .append(&user, &inbox, &mut &body[..], &req)
                .expect("append");
        }
        writer.open(&user, &inbox).expect("first scan");
    }
    // Let directory mtimes age past the cache's one-second settling rule.
    std::thread::sleep(Duration::from_millis(1100));
    let warm = store(tmp.path(), true);
    assert_eq!(
        warm.open(&user, &inbox).expect("open").messages.len(),
        count
    );
    let mut g = c.benchmark_group(format!("open_{count}"));
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("warm", |b| {
        b.iter(|| black_box(warm.open(&user, &inbox).expect("open").messages.len()))
    });
    g.bench_function("cold_process", |b| {
        b.iter(|| {
            let fresh = store(tmp.path(), true);
            black_box(fresh.open(&user, &inbox).expect("open").messages.len())
        })
    });
    if let Some((server, _state)) = start_dovecot(tmp.path()) {
        let mut imap = dovecot::Imap::login(server.port, "big");
        // The first SELECT builds Dovecot's own index of the tree; measure the ones after.
        imap.ok("SELECT INBOX");
        g.bench_function("dovecot_select_warm", |b| {
            b.iter(|| {
                let a = imap.ok("SELECT INBOX");
                black_box(a.untagged.len())
            })
        });
        server.stop();
    }
    g.finish();
}

criterion_group!(benches, deliveries, open_big);
criterion_main!(benches);
