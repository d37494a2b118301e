//! Random histories against a mirror one of whose replicas fails at a random step: after healing
//! and a rejoin the two replicas must compare equal (UIDs, flags, MODSEQs, UIDVALIDITY,
//! bytes, UIDLs), and no UID is ever handed out twice.

use std::{sync::Arc, time::SystemTime};

use maildir_store::{
    AppendRequest, ExpungeSelector, FlagChange, Flags, MailStore, MailboxName, MemStore,
    SystemFlag, UserId,
    maildir::{self, Maildir},
    mirror::{Fault, FaultyStore, Mirror, Options, Replica, Scope, differences},
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append(usize),
    Flag(usize, bool),
    ExpungeDeleted(usize),
    Create(usize),
    Delete(usize),
    Copy(usize, usize),
    Move(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize).prop_map(Op::Append),
        2 => (0..8usize, any::<bool>()).prop_map(|(i, d)| Op::Flag(i, d)),
        1 => (0..3usize).prop_map(Op::ExpungeDeleted),
        1 => (1..3usize).prop_map(Op::Create),
        1 => (1..3usize).prop_map(Op::Delete),
        1 => (0..8usize, 0..3usize).prop_map(|(i, m)| Op::Copy(i, m)),
        1 => (0..8usize, 0..3usize).prop_map(|(i, m)| Op::Move(i, m)),
    ]
}

fn mailbox(i: usize) -> MailboxName {
    match i {
        0 => MailboxName::inbox(),
        n => MailboxName::new(&format!("Box{n}")).expect("valid name"),
    }
}

fn apply(m: &Mirror, user: &UserId, op: &Op, serial: usize, last_uid: &mut [u32; 3]) {
    let inbox = MailboxName::inbox();
    let pick = |i: usize| {
        let v = m.open(user, &inbox).ok()?;
        v.messages.get(i % v.messages.len().max(1)).map(|x| x.uid)
    };
    // Refusals (no such mailbox, both replicas failing) are fine; what succeeded must hold.
    match op {
        Op::Append(b) => {
            let body = format!("Subject: {serial}\r\n\r\nbody {serial}\r\n");
            let req = AppendRequest::new(SystemTime::UNIX_EPOCH);
            if let Ok(uid) = m.append(user, &mailbox(*b), &mut body.as_bytes(), &req) {
                assert!(uid.get() > last_uid[*b], "UID {uid} handed out again");
                last_uid[*b] = uid.get();
            }
        }
        Op::Flag(i, deleted) => {
            if let Some(uid) = pick(*i) {
                let f = if *deleted {
                    SystemFlag::Deleted
                } else {
                    SystemFlag::Seen
                };
                let change = FlagChange::Add(Flags::new().with(f));
                let _ = m.store_flags(user, &inbox, &[uid], &change, None);
            }
        }
        Op::ExpungeDeleted(b) => {
            let _ = m.expunge(user, &mailbox(*b), &ExpungeSelector::AllDeleted);
        }
        Op::Create(b) => {
            let _ = m.create_mailbox(user, &mailbox(*b), None);
        }
        Op::Delete(b) => {
            if m.delete_mailbox(user, &mailbox(*b)).is_ok() {
                // A re-created mailbox has a new UIDVALIDITY and starts again at UID 1.
                last_uid[*b] = 0;
            }
        }
        Op::Copy(i, b) | Op::Move(i, b) => {
            if let Some(uid) = pick(*i) {
                let copied = if matches!(op, Op::Copy(..)) {
                    m.copy(user, &inbox, &[uid], &mailbox(*b))
                } else {
                    m.move_messages(user, &inbox, &[uid], &mailbox(*b))
                };
                if let Ok(res) = copied {
                    for (_, new) in res.mapping {
                        assert!(new.get() > last_uid[*b], "UID {new} handed out again");
                        last_uid[*b] = new.get();
                    }
                }
            }
        }
    }
}

/// Runs `ops`, failing one replica (the primary if `primary`) with `errno` before step
/// `fail_at`, heals it, rejoins, and checks the replicas are equal before and after one more
/// delivery.
fn run<S: Replica + 'static>(
    a: Arc<FaultyStore<S>>,
    b: Arc<FaultyStore<S>>,
    ops: &[Op],
    (fail_at, errno, primary): (usize, i32, bool),
) -> Result<(), TestCaseError> {
    let victim = if primary { a.clone() } else { b.clone() };
    let m = Mirror::open(a.clone(), b.clone(), Options::default()).expect("open");
    let user = UserId::new("bob").expect("user");
    let mut last_uid = [0u32; 3];
    for (i, op) in ops.iter().enumerate() {
        if i == fail_at {
            victim.arm(Fault::Errno(errno), Scope::Writes);
        }
        apply(&m, &user, op, i, &mut last_uid);
    }
    victim.heal();
    let st = m.status();
    if st.primary.is_some() || st.secondary.is_some() {
        m.rejoin().expect("rejoin");
    }
    let diff = differences(&*a, &*b, &user).expect("compare");
    prop_assert!(diff.is_empty(), "{:#?}", diff);
    // And the set keeps working on both.
    apply(&m, &user, &Op::Append(0), 1000, &mut last_uid);
    let diff = differences(&*a, &*b, &user).expect("compare");
    prop_assert!(diff.is_empty(), "{:#?}", diff);
    Ok(())
}

fn maildir_replica(dir: &tempfile::TempDir) -> Arc<FaultyStore<Maildir>> {
    Maildir::init_replica(dir.path()).expect("init");
    // fsync off: these throwaway trees test logic, not durability (other tests do that).
    let mut options = maildir::Options::default();
    options.fsync = false;
    Arc::new(FaultyStore::new(
        Maildir::open(dir.path(), options).expect("open"),
    ))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn fail_anywhere_then_rejoin_leaves_equal_replicas(
        ops in proptest::collection::vec(op(), 1..40),
        fail_at in 0..40usize,
        errno in prop_oneof![Just(5), Just(28), Just(30)],
        primary in any::<bool>(),
    ) {
        let a = Arc::new(FaultyStore::new(MemStore::new()));
        let b = Arc::new(FaultyStore::new(MemStore::new()));
        run(a, b, &ops, (fail_at, errno, primary))?;
    }

    #[test]
    fn the_same_on_maildir_replicas(
        ops in proptest::collection::vec(op(), 1..30),
        fail_at in 0..30usize,
        primary in any::<bool>(),
    ) {
        let (da, db) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
        run(maildir_replica(&da), maildir_replica(&db), &ops, (fail_at, 5, primary))?;
    }
}
