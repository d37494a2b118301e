//! Mirror benchmarks, with the single-replica peer in the same run:
//! - `mirror_deliver_4k_fsync`: durable deliveries through a `Mirror` of two Maildir replicas
//!   against one bare `Maildir` (the goal: mirrored ≥ 0.8× single, the two fsync chains run
//!   in parallel); `mirror_deliver_4k_tmpfs` the same on tmpfs (`/dev/shm`), where fsync is
//!   free and only the mirror's own overhead (thread hand-offs, locks) remains;
//!   `mirror_deliver_4k_fsync_two_fs` (only with `MIRROR_BENCH_DISKS=<dir A>:<dir B>`, two
//!   directories on separate filesystems): the single store and the mirror's primary on A,
//!   the mirror's secondary on B, so the two replicas' fsyncs go to different devices;
//! - `mirror_failover`: time from a replica fault to the next acknowledged delivery, for an
//!   error (EIO) and for a hang with a 200 ms deadline;
//! - `mirror_resync`: rejoining a replica that missed 200 messages (time per message copied).
//!
//! `cargo bench -p maildir-store --bench mirror`.

use std::{
    hint::black_box,
    path::Path,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use criterion::{Criterion, criterion_group, criterion_main};
use maildir_store::{
    AppendRequest, MailStore, MailboxName, UserId,
    maildir::{self, Maildir},
    mirror::{self, Fault, FaultyStore, Mirror, Scope},
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

fn replica(root: &Path) -> Maildir {
    Maildir::init_replica(root).expect("init");
    Maildir::open(root, maildir::Options::default()).expect("open replica")
}

fn deliver(s: &dyn MailStore, body: &[u8]) {
    let user = UserId::new("bench").expect("user");
    let req = AppendRequest::new(SystemTime::now());
    black_box(
        s.append(&user, &MailboxName::inbox(), &mut &body[..], &req)
            .expect("append"),
    );
}

/// Single replica against a mirror of two: the single store and the primary under `base`,
/// the secondary under `second` (both under `base` when `None`; the system temporary
/// directory when `base` is `None`).
fn delivery_group(c: &mut Criterion, group: &str, base: Option<&Path>, second: Option<&Path>) {
    let body = message();
    let dir = |at: Option<&Path>| match at {
        Some(b) => tempfile::tempdir_in(b).expect("tempdir"),
        None => tempfile::tempdir().expect("tempdir"),
    };
    let (d1, d2, d3) = (dir(base), dir(base), dir(second.or(base)));
    let single = replica(d1.path());
    let mirror = Mirror::open(
        Arc::new(replica(d2.path())),
        Arc::new(replica(d3.path())),
        mirror::Options::default(),
    )
    .expect("mirror");
    let mut g = c.benchmark_group(group);
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("single_maildir", |b| b.iter(|| deliver(&single, &body)));
    g.bench_function("mirror_of_two", |b| b.iter(|| deliver(&mirror, &body)));
    g.finish();
}

fn deliveries(c: &mut Criterion) {
    delivery_group(c, "mirror_deliver_4k_fsync", None, None);
    // On tmpfs fsync costs nothing: what is left is the mirror's own overhead.
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        delivery_group(c, "mirror_deliver_4k_tmpfs", Some(shm), None);
    }
    // Two filesystems (two disks, or loop mounts), when given.
    if let Ok(disks) = std::env::var("MIRROR_BENCH_DISKS")
        && let Some((a, b)) = disks.split_once(':')
    {
        let (a, b) = (Path::new(a), Path::new(b));
        delivery_group(c, "mirror_deliver_4k_fsync_two_fs", Some(a), Some(b));
    }
}

type Faulty = Arc<FaultyStore<Maildir>>;

/// A fresh healthy mirror whose secondary can be broken on command.
fn breakable(deadline: Duration) -> (tempfile::TempDir, tempfile::TempDir, Faulty, Mirror) {
    let (da, db) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let b = Arc::new(FaultyStore::new(replica(db.path())));
    let mut options = mirror::Options::default();
    options.deadline = deadline;
    let m = Mirror::open(Arc::new(replica(da.path())), b.clone(), options).expect("mirror");
    (da, db, b, m)
}

fn failover(c: &mut Criterion) {
    let body = message();
    let mut g = c.benchmark_group("mirror_failover");
    g.sample_size(10);
    for (name, fault) in [("eio", Fault::Errno(5)), ("hang_200ms", Fault::Hang)] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (_da, _db, faulty, m) = breakable(Duration::from_millis(200));
                    deliver(&m, &body);
                    faulty.arm(fault, Scope::Writes);
                    let t = Instant::now();
                    deliver(&m, &body);
                    total += t.elapsed();
                    faulty.heal();
                }
                total
            });
        });
    }
    g.finish();
}

fn resync(c: &mut Criterion) {
    let body = message();
    let missed = 200;
    let mut g = c.benchmark_group("mirror_resync");
    g.sample_size(10);
    g.bench_function("rejoin_200_missed_per_message", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (_da, _db, faulty, m) = breakable(Duration::from_secs(2));
                faulty.arm(Fault::Errno(5), Scope::Writes);
                for _ in 0..missed {
                    deliver(&m, &body);
                }
                faulty.heal();
                let t = Instant::now();
                let report = m.rejoin().expect("rejoin");
                total += t.elapsed() / missed;
                assert_eq!(report.messages_copied, missed as usize);
            }
            total
        });
    });
    g.finish();
}

criterion_group!(benches, deliveries, failover, resync);
criterion_main!(benches);
