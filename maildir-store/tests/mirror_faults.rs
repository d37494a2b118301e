//! Deterministic fault injection against the mirror: every case keeps a ledger of the
//! deliveries it acknowledged and proves each is on the surviving replica exactly once.

mod mirror_support;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use maildir_store::{
    MailStore, MailboxName, MemStore, StoreError,
    mirror::{Fault, FaultyStore, Mirror, Options, Replica, Scope},
};
use mirror_support::{Ledger, bob};

const EIO: i32 = 5;
const ENOSPC: i32 = 28;
const EROFS: i32 = 30;
/// Permission loss (`chmod 000` cannot be tested for real as root, who ignores it).
const EACCES: i32 = 13;
/// A vanished mount: paths under the root are gone.
const ENOENT: i32 = 2;

type Faulty = Arc<FaultyStore<MemStore>>;

fn replicas() -> (Faulty, Faulty) {
    (
        Arc::new(FaultyStore::new(MemStore::new())),
        Arc::new(FaultyStore::new(MemStore::new())),
    )
}

fn quick() -> Options {
    let mut o = Options::default();
    o.deadline = Duration::from_millis(300);
    o
}

fn open(a: &Faulty, b: &Faulty, options: Options) -> Result<Mirror, StoreError> {
    Mirror::open(a.clone(), b.clone(), options)
}

fn record(r: &dyn Replica) -> String {
    r.read_mirror_state()
        .expect("readable")
        .expect("record present")
}

#[test]
fn a_fresh_set_records_epoch_one_on_both_sides() {
    let (a, b) = replicas();
    let m = open(&a, &b, quick()).expect("open");
    assert_eq!(m.status().epoch, 1);
    for r in [&a, &b] {
        assert_eq!(record(&**r), "gradwell-mirror v1\nepoch 1\nstale none\n");
    }
}

/// MIR-01/02/03/04 (and permission loss) with the error each produces: the secondary fails mid-burst, is fenced
/// with a record on the primary, and the burst goes on with no lost acknowledgement.
#[test]
fn secondary_errors_mid_burst_are_fenced_and_service_continues() {
    for errno in [EIO, ENOSPC, EROFS, EACCES, ENOENT] {
        let (a, b) = replicas();
        let m = open(&a, &b, quick()).expect("open");
        let mut ledger = Ledger::default();
        b.arm_after(10, Fault::Errno(errno), Scope::Writes);
        for n in 0..40 {
            ledger.deliver(&m, n).expect("the primary keeps accepting");
        }
        let st = m.status();
        assert!(st.secondary.is_some(), "errno {errno}: secondary fenced");
        assert!(st.primary.is_none());
        assert_eq!(st.epoch, 2);
        assert_eq!(record(&*a), "gradwell-mirror v1\nepoch 2\nstale 1\n");
        assert_eq!(ledger.acked.len(), 40);
        ledger.assert_all_present(&m);
        ledger.assert_all_present(a.inner());
        // The failed call was not retried: the secondary stopped at the fault.
        let on_b = b.inner().open(&bob(), &MailboxName::inbox()).expect("open");
        assert!(on_b.messages.len() < 40, "errno {errno}");
        assert_eq!(b.hits(), 1, "one failed call, then no more work for it");
    }
}

#[test]
fn primary_failure_fails_over_to_the_secondary_for_reads_and_writes() {
    let (a, b) = replicas();
    let m = open(&a, &b, quick()).expect("open");
    let mut ledger = Ledger::default();
    for n in 0..5 {
        ledger.deliver(&m, n).expect("healthy");
    }
    a.arm(Fault::Errno(EIO), Scope::Everything);
    ledger.assert_all_present(&m);
    assert!(
        m.status().primary.is_some(),
        "a failed read fences the primary"
    );
    for n in 5..10 {
        ledger.deliver(&m, n).expect("the secondary serves alone");
    }
    ledger.assert_all_present(&m);
    ledger.assert_all_present(b.inner());
    assert_eq!(record(&*b), "gradwell-mirror v1\nepoch 2\nstale 0\n");
}

/// MIR-05: a hung replica costs one deadline, then nothing: later calls do not wait for it
/// and no work piles up behind it.
#[test]
fn a_hung_secondary_is_fenced_after_the_deadline() {
    let (a, b) = replicas();
    let m = open(&a, &b, quick()).expect("open");
    let mut ledger = Ledger::default();
    ledger.deliver(&m, 0).expect("healthy");
    b.arm(Fault::Hang, Scope::Everything);
    let t = Instant::now();
    ledger.deliver(&m, 1).expect("acknowledged by the primary");
    let failover = t.elapsed();
    assert!(failover >= Duration::from_millis(300), "{failover:?}");
    assert!(failover < Duration::from_millis(300 + 500), "{failover:?}");
    assert!(m.status().secondary.is_some());
    let t = Instant::now();
    for n in 2..50 {
        ledger.deliver(&m, n).expect("primary alone");
    }
    assert!(t.elapsed() < Duration::from_millis(300), "no more waiting");
    assert_eq!(b.hits(), 1, "only the first call reached the hung replica");
    ledger.assert_all_present(a.inner());
    b.heal();
}

/// MIR-03 with both arrays full: an error, no fence, nothing acknowledged.
#[test]
fn both_failing_is_an_error_and_fences_nobody() {
    let (a, b) = replicas();
    let m = open(&a, &b, quick()).expect("open");
    let mut ledger = Ledger::default();
    ledger.deliver(&m, 0).expect("healthy");
    a.arm(Fault::Errno(ENOSPC), Scope::Writes);
    b.arm(Fault::Errno(ENOSPC), Scope::Writes);
    assert!(ledger.deliver(&m, 1).is_err());
    let st = m.status();
    assert!(st.primary.is_none() && st.secondary.is_none());
    a.heal();
    b.heal();
    ledger.deliver(&m, 2).expect("space again");
    ledger.assert_all_present(a.inner());
    ledger.assert_all_present(b.inner());
}

/// M2: nothing is acknowledged by the survivor alone unless the fence is recorded on it.
#[test]
fn no_lone_acknowledgement_without_a_durable_fence_record() {
    let (a, b) = replicas();
    let m = open(&a, &b, quick()).expect("open");
    let mut ledger = Ledger::default();
    b.arm(Fault::Errno(EIO), Scope::Writes);
    a.arm(Fault::Errno(EIO), Scope::StateRecord);
    assert!(
        ledger.deliver(&m, 0).is_err(),
        "the fence could not be recorded"
    );
    assert!(m.status().secondary.is_none());
    assert_eq!(
        record(a.inner()),
        "gradwell-mirror v1\nepoch 1\nstale none\n"
    );
    a.heal();
    ledger.deliver(&m, 1).expect("fence recorded this time");
    assert!(m.status().secondary.is_some());
    ledger.assert_all_present(a.inner());
}

/// M3: after a restart the fenced side stays fenced (it is a resync target, never a source),
/// even once it works again; a stale snapshot of it changes nothing.
#[test]
fn a_fenced_replica_stays_fenced_across_restarts() {
    let (a, b) = replicas();
    let mut ledger = Ledger::default();
    {
        let m = open(&a, &b, quick()).expect("open");
        ledger.deliver(&m, 0).expect("healthy");
        b.arm(Fault::Errno(EIO), Scope::Writes);
        ledger.deliver(&m, 1).expect("primary alone");
        let gone = ledger.acked[0].0;
        m.expunge(
            &bob(),
            &MailboxName::inbox(),
            &maildir_store::ExpungeSelector::Uids(vec![gone]),
        )
        .expect("expunge on the primary");
        ledger.acked.remove(0);
    }
    b.heal();
    let m = open(&a, &b, quick()).expect("reopen");
    let st = m.status();
    assert_eq!(st.epoch, 2);
    assert!(st.secondary.is_some() && st.primary.is_none());
    // The expunged message is still on the stale side, and must not come back.
    assert_eq!(
        b.inner()
            .open(&bob(), &MailboxName::inbox())
            .expect("b")
            .messages
            .len(),
        1
    );
    let view = m.open(&bob(), &MailboxName::inbox()).expect("open");
    assert_eq!(view.messages.len(), 1);
    ledger.assert_all_present(&m);
    ledger.deliver(&m, 2).expect("primary alone");
    assert_eq!(
        b.inner()
            .open(&bob(), &MailboxName::inbox())
            .expect("b")
            .messages
            .len(),
        1
    );
}

/// MIR-08: each side recorded the other as stale: refuse to serve.
#[test]
fn split_brain_is_refused() {
    let (a, b) = replicas();
    a.write_mirror_state("gradwell-mirror v1\nepoch 3\nstale 1\n")
        .expect("write");
    b.write_mirror_state("gradwell-mirror v1\nepoch 3\nstale 0\n")
        .expect("write");
    let r = open(&a, &b, quick());
    assert!(
        matches!(r, Err(StoreError::ReplicaUnavailable { .. })),
        "{r:?}"
    );
}

/// MIR-07: with one side unreadable at start-up, the other serves only if its record proves
/// it is current, or an operator says so; then the fence is recorded first.
#[test]
fn a_lone_replica_needs_proof_or_an_override() {
    let (a, b) = replicas();
    drop(open(&a, &b, quick()).expect("fresh set"));
    a.arm(Fault::Errno(EIO), Scope::Everything);
    assert!(
        open(&a, &b, quick()).is_err(),
        "B cannot prove it is current"
    );
    let mut forced = quick();
    forced.trust_lone_replica = true;
    let m = open(&a, &b, forced).expect("operator override");
    assert!(m.status().primary.is_some());
    assert_eq!(record(&*b), "gradwell-mirror v1\nepoch 2\nstale 0\n");
    let mut ledger = Ledger::default();
    ledger.deliver(&m, 0).expect("served from B");
    ledger.assert_all_present(b.inner());
    // A comes back: it stays fenced (B's record names it), without any override.
    a.heal();
    let m = open(&a, &b, quick()).expect("B is the proven survivor");
    assert_eq!(m.status().primary.map(|f| f.epoch), Some(2));
}

/// M3/M5 and MIR-06: while the secondary is fenced the primary takes deliveries, expunges,
/// flag changes and mailbox changes; after resync the secondary equals the primary (same
/// UIDs, UIDVALIDITY, MODSEQs, UIDLs), nothing expunged came back, and after the rejoin
/// both take every write again.
#[test]
fn resync_brings_a_fenced_replica_level_and_rejoins_it() {
    use maildir_store::{
        ExpungeSelector, FlagChange, Flags, SystemFlag,
        mirror::{Restore, differences},
    };
    let (a, b) = replicas();
    let m = open(&a, &b, quick()).expect("open");
    let mut ledger = Ledger::default();
    let inbox = MailboxName::inbox();
    let old = MailboxName::new("Old").expect("name");
    let archive = MailboxName::new("Archive/2026").expect("name");
    m.create_mailbox(&bob(), &old, None).expect("create");
    for n in 0..10 {
        ledger.deliver(&m, n).expect("healthy");
    }
    b.arm(Fault::Errno(EIO), Scope::Writes);
    for n in 10..30 {
        ledger.deliver(&m, n).expect("primary alone");
    }
    assert!(m.status().secondary.is_some());
    let expunged: Vec<_> = ledger.acked.drain(..5).map(|(u, _)| u).collect();
    m.expunge(&bob(), &inbox, &ExpungeSelector::Uids(expunged.clone()))
        .expect("expunge");
    let seen = FlagChange::Add(Flags::new().with(SystemFlag::Seen));
    let some: Vec<_> = ledger.acked.iter().take(8).map(|(u, _)| *u).collect();
    m.store_flags(&bob(), &inbox, &some, &seen, None)
        .expect("store");
    m.create_mailbox(&bob(), &archive, None).expect("create");
    m.copy(&bob(), &inbox, &some[..3], &archive).expect("copy");
    m.delete_mailbox(&bob(), &old).expect("delete");
    m.set_subscribed(&bob(), &archive, true).expect("subscribe");
    // A migration recorded a POP3 UIDL and order while the secondary was out.
    let kept = ledger.acked[0].0;
    m.restore_pop3(
        &bob(),
        &inbox,
        &[(kept, Some("legacy-uidl".into()), Some(1))],
    )
    .expect("restore_pop3");
    assert!(!differences(&*a, &*b, &bob()).expect("compare").is_empty());

    b.heal();
    let behind = m.lag(&bob()).expect("lag");
    assert!(behind > 0);
    let report = m.rejoin().expect("resync and rejoin");
    assert_eq!(
        report.lag, behind,
        "the lag the resync closed is the lag reported"
    );
    assert_eq!(report.messages_copied, 20 + 3);
    assert_eq!(report.mailboxes_deleted, 1);
    assert_eq!(report.mailboxes_created, 2, "Archive and Archive/2026");
    assert_eq!(report.full_passes, 0, "the journal was enough");
    assert!(report.lag > 0);
    let st = m.status();
    assert!(st.primary.is_none() && st.secondary.is_none());
    assert_eq!(st.epoch, 3);
    for r in [&a, &b] {
        assert_eq!(record(&**r), "gradwell-mirror v1\nepoch 3\nstale none\n");
    }
    assert_eq!(
        differences(&*a, &*b, &bob()).expect("compare"),
        Vec::<String>::new()
    );
    for uid in &expunged {
        let r = b
            .inner()
            .read(&bob(), &inbox, *uid, maildir_store::ReadPart::Whole);
        assert!(r.is_err(), "expunged UID {uid} did not come back");
    }
    let changes = b
        .inner()
        .changes_since(&bob(), &inbox, maildir_store::ModSeq::ZERO)
        .expect("changes");
    assert_eq!(changes.vanished, expunged, "tombstones copied for QRESYNC");
    for n in 30..35 {
        ledger.deliver(&m, n).expect("both again");
    }
    ledger.assert_all_present(a.inner());
    ledger.assert_all_present(b.inner());
    assert_eq!(
        differences(&*a, &*b, &bob()).expect("compare"),
        Vec::<String>::new()
    );
}

/// A resync never runs on a healthy set, and a second fault during resync leaves the
/// replica fenced.
#[test]
fn resync_needs_a_fenced_replica_and_stops_on_faults() {
    let (a, b) = replicas();
    let m = open(&a, &b, quick()).expect("open");
    let mut ledger = Ledger::default();
    ledger.deliver(&m, 0).expect("healthy");
    assert!(m.rejoin().is_err(), "nothing to rejoin");
    b.arm(Fault::Errno(EIO), Scope::Writes);
    ledger.deliver(&m, 1).expect("primary alone");
    assert!(m.rejoin().is_err(), "still failing");
    assert!(m.status().secondary.is_some());
    b.heal();
    m.rejoin().expect("healed");
    ledger.assert_all_present(b.inner());
}

/// A full queue in front of a healthy replica is backpressure, not a fault: more concurrent
/// writers than queue slots wait their turn and nobody is fenced.
#[test]
fn a_busy_replica_is_not_fenced() {
    let (a, b) = replicas();
    let mut options = quick();
    options.workers_per_replica = 1;
    options.queue_depth = 1;
    let m = open(&a, &b, options).expect("open");
    std::thread::scope(|s| {
        for t in 0..8 {
            let m = &m;
            s.spawn(move || {
                let user = maildir_store::UserId::new(&format!("u{t}")).expect("user");
                for n in 0..10 {
                    let body = mirror_support::body(n);
                    let req = maildir_store::AppendRequest::new(std::time::SystemTime::UNIX_EPOCH);
                    m.append(&user, &MailboxName::inbox(), &mut &body[..], &req)
                        .expect("acknowledged");
                }
            });
        }
    });
    let st = m.status();
    assert!(st.primary.is_none() && st.secondary.is_none(), "{st:?}");
    for t in 0..8 {
        let user = maildir_store::UserId::new(&format!("u{t}")).expect("user");
        let diff = maildir_store::mirror::differences(&*a, &*b, &user).expect("compare");
        assert!(diff.is_empty(), "{diff:?}");
        assert_eq!(
            m.open(&user, &MailboxName::inbox())
                .expect("open")
                .messages
                .len(),
            10
        );
    }
}

/// A new set over a populated primary and an empty secondary starts degraded and the
/// secondary is filled by resync; two populated trees with no records are refused.
#[test]
fn a_new_set_over_existing_mail() {
    let (a, b) = replicas();
    let mut ledger = Ledger::default();
    for n in 0..5 {
        ledger.deliver(a.inner(), n).expect("plain store");
    }
    let m = open(&a, &b, quick()).expect("open");
    assert!(
        m.status().secondary.is_some(),
        "empty secondary is a resync target"
    );
    m.rejoin().expect("fill the secondary");
    ledger.assert_all_present(b.inner());
    let (c, d) = replicas();
    Ledger::default()
        .deliver(c.inner(), 0)
        .expect("plain store");
    Ledger::default()
        .deliver(d.inner(), 0)
        .expect("plain store");
    assert!(open(&c, &d, quick()).is_err(), "two populated trees");
}

/// A writer killed after the secondary stored a message but before the primary did leaves an
/// orphan on the secondary. The first use of the user notices, fences the secondary, and the
/// resync retires the orphan's UID on both sides instead of reusing it.
#[test]
fn an_orphan_on_the_secondary_is_retired_not_reused() {
    use maildir_store::{ModSeq, mirror::differences};
    let (a, b) = replicas();
    let mut ledger = Ledger::default();
    {
        let m = open(&a, &b, quick()).expect("open");
        for n in 0..3 {
            ledger.deliver(&m, n).expect("both");
        }
    }
    let orphan = Ledger::default()
        .deliver(b.inner(), 99)
        .expect("the secondary alone, never acknowledged");
    let m = open(&a, &b, quick()).expect("restart");
    ledger.assert_all_present(&m);
    assert!(m.status().secondary.is_some(), "the difference was noticed");
    m.rejoin().expect("resync");
    assert_eq!(
        differences(&*a, &*b, &bob()).expect("compare"),
        Vec::<String>::new()
    );
    for r in [a.inner(), b.inner()] {
        let gone = r
            .changes_since(&bob(), &MailboxName::inbox(), ModSeq::ZERO)
            .expect("changes")
            .vanished;
        assert_eq!(gone, [orphan], "retired on both sides");
    }
    let next = ledger.deliver(&m, 3).expect("both");
    assert!(next > orphan, "the orphan's UID is never reused");
    ledger.assert_all_present(b.inner());
}
