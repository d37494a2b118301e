//! Live-move benchmark: the cutover pause of moving a user with a 10,000-message INBOX
//! between two mirror sets (goal < 200 ms), while a writer appends to that user every 10 ms.
//!
//! - `move_cutover_10k`: the time the user's calls are held back, per move
//!   ([`maildir_store::placement::MoveReport::cutover`], summed by `iter_custom`). Each
//!   iteration moves the user to the other set (a full copy, catch-up, cutover, retire).
//! - `select_10k`: the peer in the same run, one `open` (SELECT) of the same 10,000-message
//!   mailbox through the same router, to put the pause next to a client's ordinary wait.
//!
//! Replicas live on tmpfs (`/dev/shm`): the copy of 10,000 messages per iteration would
//! otherwise be 40,000 fsyncs on this VM's one disk; the placement map (fsynced at the
//! switch) is on the ordinary temporary directory.
//!
//! `cargo bench -p maildir-store --bench placement`.

use std::{
    hint::black_box,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, SystemTime},
};

use criterion::{Criterion, criterion_group, criterion_main};
use maildir_store::{
    AppendRequest, MailStore, MailboxName, UserId,
    maildir::{self, Maildir},
    mirror::{Mirror, Options as MirrorOptions, Replica, Restore},
    placement::{Options, Placement},
};

const MESSAGES: usize = 10_000;

fn message(n: usize) -> Vec<u8> {
    let mut m = format!("From: a@example.org\r\nSubject: {n}\r\n\r\n").into_bytes();
    while m.len() < 2048 {
        m.extend_from_slice(b"0123456789 abcdefghijklmnopqrstuvwxyz\r\n");
    }
    m
}

fn set(base: &Path, name: &str, fsync: bool) -> Arc<dyn Restore> {
    let [p, s] = ["p", "s"].map(|side| {
        let root = base.join(format!("{name}-{side}"));
        if !root.exists() {
            std::fs::create_dir(&root).expect("mkdir");
            Maildir::init_replica(&root).expect("init");
        }
        let mut options = maildir::Options::default();
        options.fsync = fsync;
        Arc::new(Maildir::open(&root, options).expect("open")) as Arc<dyn Replica>
    });
    Arc::new(Mirror::open(p, s, MirrorOptions::default()).expect("mirror"))
}

fn cutover(c: &mut Criterion) {
    let replicas = tempfile::tempdir_in("/dev/shm").expect("tmpfs");
    let map_dir = tempfile::tempdir().expect("tempdir");
    let map = map_dir.path().join("placement");
    let user = UserId::new("bench").expect("user");
    let inbox = MailboxName::inbox();
    {
        // Filled without fsync (tmpfs, setup only), then reopened as the bench runs it.
        let sets = vec![
            set(replicas.path(), "a", false),
            set(replicas.path(), "b", false),
        ];
        let store = Placement::open(sets, &map, Options::default()).expect("placement");
        let req = AppendRequest::new(SystemTime::now());
        for n in 0..MESSAGES {
            store
                .append(&user, &inbox, &mut &message(n)[..], &req)
                .expect("append");
        }
    }
    let sets = vec![
        set(replicas.path(), "a", true),
        set(replicas.path(), "b", true),
    ];
    let store = Arc::new(Placement::open(sets, &map, Options::default()).expect("placement"));

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop, user) = (Arc::clone(&store), Arc::clone(&stop), user.clone());
        thread::spawn(move || {
            let req = AppendRequest::new(SystemTime::now());
            let mut n = MESSAGES;
            while !stop.load(Ordering::Relaxed) {
                let body = message(n);
                store
                    .append(&user, &MailboxName::inbox(), &mut &body[..], &req)
                    .expect("append during the move");
                n += 1;
                thread::sleep(Duration::from_millis(10));
            }
        })
    };

    let mut g = c.benchmark_group("placement");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1));
    g.bench_function("move_cutover_10k", |b| {
        b.iter_custom(|iters| {
            let mut paused = Duration::ZERO;
            for _ in 0..iters {
                let to = 1 - store.set_of(&user).expect("placed");
                let report = store.move_user(&user, to).expect("move");
                assert_eq!(report.retire_error, None);
                paused += report.cutover;
            }
            paused
        });
    });
    g.bench_function("select_10k", |b| {
        b.iter(|| black_box(store.open(&user, &inbox).expect("open")));
    });
    g.finish();
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
}

criterion_group!(benches, cutover);
criterion_main!(benches);
