//! Expunge tombstones are pruned by count (`maildir::Options::max_tombstones`): the change
//! feed says when it no longer covers a modseq, the pruning survives reopening (another
//! process), UIDs are still never reused, and the mirror's resync falls back to a full
//! compare when the survivor's journal no longer reaches back to the stale replica.

mod mirror_support;

use std::{fs, path::Path, sync::Arc, time::Duration};

use maildir_store::{
    ExpungeSelector, MailStore, MailboxName, ModSeq, ReadPart,
    maildir::{self, Maildir},
    mirror::{self, Fault, FaultyStore, Mirror, Scope, differences},
};
use mirror_support::{Ledger, bob};

const KEEP: usize = 4;
const EIO: i32 = 5;

fn options() -> maildir::Options {
    let mut o = maildir::Options::default();
    o.max_tombstones = KEEP;
    o.fsync = false;
    o
}

fn replica(root: &Path) -> Maildir {
    Maildir::init_replica(root).expect("init replica");
    Maildir::open(root, options()).expect("open replica")
}

#[test]
fn the_oldest_tombstones_are_pruned_and_the_feed_says_so() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = replica(dir.path());
    let inbox = MailboxName::inbox();
    let mut ledger = Ledger::default();
    for n in 0..20 {
        ledger.deliver(&store, n).expect("deliver");
    }
    for (uid, _) in &ledger.acked {
        store
            .expunge(&bob(), &inbox, &ExpungeSelector::Uids(vec![*uid]))
            .expect("expunge");
    }
    for s in [
        &store,
        &Maildir::open(dir.path(), options()).expect("reopen"),
    ] {
        let all = s.changes_since(&bob(), &inbox, ModSeq::ZERO).expect("feed");
        assert!(
            !all.vanished_complete,
            "pruned tombstones are not silently missing"
        );
        assert!(all.vanished.len() <= KEEP + KEEP / 4, "{:?}", all.vanished);
        let last = ledger.acked.last().map(|(u, _)| *u).expect("delivered");
        assert_eq!(all.vanished.last(), Some(&last), "the newest are kept");
        let recent = ModSeq::new(all.highest_modseq.get() - 1);
        let tail = s.changes_since(&bob(), &inbox, recent).expect("feed");
        assert!(tail.vanished_complete);
        assert_eq!(tail.vanished, [last]);
    }
    // The control files lost: the rebuilt mailbox still never hands out a pruned UID.
    fs::remove_file(dir.path().join("bob/dovecot-uidlist")).expect("remove uidlist");
    let rebuilt = Maildir::open(dir.path(), options()).expect("reopen");
    let fresh = ledger.deliver(&rebuilt, 99).expect("deliver");
    let top = ledger.acked[..20]
        .iter()
        .map(|(u, _)| *u)
        .max()
        .expect("some");
    assert!(fresh > top, "UID {fresh} reused (expunged up to {top})");
}

#[test]
fn resync_falls_back_to_a_full_compare_past_pruned_tombstones() {
    let (da, db) = (
        tempfile::tempdir().expect("temporary directory"),
        tempfile::tempdir().expect("temporary directory"),
    );
    let a = Arc::new(FaultyStore::new(replica(da.path())));
    let b = Arc::new(FaultyStore::new(replica(db.path())));
    let mut o = mirror::Options::default();
    o.deadline = Duration::from_millis(500);
    let m = Mirror::open(a.clone(), b.clone(), o).expect("open mirror");
    let inbox = MailboxName::inbox();
    let mut ledger = Ledger::default();
    for n in 0..12 {
        ledger.deliver(&m, n).expect("both");
    }
    b.arm(Fault::Errno(EIO), Scope::Writes);
    ledger.deliver(&m, 12).expect("primary alone");
    assert!(m.status().secondary.is_some(), "secondary fenced");
    let gone: Vec<_> = ledger.acked.drain(..10).map(|(u, _)| u).collect();
    for uid in &gone {
        m.expunge(&bob(), &inbox, &ExpungeSelector::Uids(vec![*uid]))
            .expect("expunge on the primary alone");
    }
    let feed = a
        .inner()
        .changes_since(&bob(), &inbox, ModSeq::new(1))
        .expect("feed");
    assert!(!feed.vanished_complete, "the survivor pruned");
    b.heal();
    let report = m.rejoin().expect("resync and rejoin");
    assert!(report.full_passes >= 1, "{report:?}");
    for uid in &gone {
        let r = b.inner().read(&bob(), &inbox, *uid, ReadPart::Whole);
        assert!(r.is_err(), "expunged UID {uid} came back");
    }
    ledger.assert_all_present(a.inner());
    ledger.assert_all_present(b.inner());
    assert_eq!(
        differences(&*a, &*b, &bob()).expect("compare"),
        Vec::<String>::new()
    );
}
