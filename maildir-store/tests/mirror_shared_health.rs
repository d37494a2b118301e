//! Two front-ends (two `Mirror`s over the same two Maildir roots, as two server processes
//! would have) share health through the mirror-state records: a fence one of them records is
//! adopted by the other at its next health refresh, so the other stops writing to the fenced
//! replica; a rejoin one of them records readmits the replica in the other.

mod mirror_support;

use std::{path::Path, sync::Arc, time::Duration};

use maildir_store::{
    MailStore, MailboxName,
    maildir::{self, Maildir},
    mirror::{Fault, FaultyStore, Mirror, Options, Replica, Scope, differences},
};
use mirror_support::{Ledger, bob};

fn maildir(root: &Path) -> Maildir {
    Maildir::open(root, maildir::Options::default()).expect("open replica")
}

#[test]
fn a_fence_and_a_rejoin_recorded_by_one_front_end_reach_the_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let roots = ["a", "b"].map(|n| dir.path().join(n));
    for root in &roots {
        std::fs::create_dir(root).expect("mkdir");
        Maildir::init_replica(root).expect("init");
    }
    let mut options = Options::default();
    options.health_refresh = Duration::ZERO;
    // Front-end one reaches the secondary through a fault injector.
    let faulty = Arc::new(FaultyStore::new(maildir(&roots[1])));
    let one = Mirror::open(
        Arc::new(maildir(&roots[0])),
        faulty.clone() as Arc<dyn Replica>,
        options.clone(),
    )
    .expect("open one");
    let two = Mirror::open(
        Arc::new(maildir(&roots[0])),
        Arc::new(maildir(&roots[1])),
        options,
    )
    .expect("open two");
    let mut ledger = Ledger::default();
    ledger.deliver(&one, 1).expect("deliver");
    ledger.deliver(&two, 2).expect("deliver");

    // One sees its secondary fail and fences it (recorded on the primary).
    faulty.arm(Fault::Errno(5), Scope::Writes);
    ledger
        .deliver(&one, 3)
        .expect("acknowledged by the survivor");
    assert!(one.status().secondary.is_some());
    assert!(two.status().secondary.is_none(), "not known to two yet");
    // Two's next write adopts the fence: it writes the primary only, though its own path to
    // the secondary works (a write there would make the secondary look current).
    ledger.deliver(&two, 4).expect("deliver");
    assert!(two.status().secondary.is_some());
    let secondary = maildir(&roots[1]);
    let on_secondary = secondary
        .open(&bob(), &MailboxName::inbox())
        .expect("open")
        .messages
        .len();
    assert_eq!(on_secondary, 2, "only the messages from before the fence");

    // One heals and rejoins; two learns of it and writes both sides again.
    faulty.heal();
    one.rejoin().expect("rejoin");
    ledger.deliver(&two, 5).expect("deliver");
    assert!(two.status().secondary.is_none());
    let primary = maildir(&roots[0]);
    ledger.assert_all_present(&primary);
    ledger.assert_all_present(&secondary);
    assert_eq!(
        differences(&primary, &secondary, &bob()).expect("compare"),
        Vec::<String>::new()
    );
}
