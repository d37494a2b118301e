//! Scrub: a full verify-and-repair pass over both replicas of a serving set, run as its own
//! operation (an operator's cron job, not the write path).
//!
//! Per user, holding the user's write lock, [`Mirror::scrub`] compares:
//! - each replica's own control files against its message files
//!   ([`Restore::check_mailbox`](super::Restore::check_mailbox): a uidlist that does not parse, a listed file that is gone,
//!   a file whose length is not the one its name records), read before anything opens them;
//! - the mailbox lists with attributes, each mailbox's UIDVALIDITY, UIDNEXT and
//!   HIGHESTMODSEQ, every message's metadata, and a checksum of every message's bytes
//!   (computed on the replica's own worker, so bodies do not cross between threads);
//! - the POP3 views (UIDLs).
//!
//! Each difference is a [`ScrubFinding`]. It names the damaged side when the evidence does:
//! the side whose own check failed, that could not answer, that lacks a mailbox or a message
//! the other has (files vanish; they do not appear, and no message is ever dropped to make
//! the sides agree), or whose bytes no longer have the length its metadata records. A
//! difference with no such evidence (say, equal-length bytes that differ) is reported for an
//! operator and never repaired by guesswork.
//!
//! With `repair`, a user whose findings name exactly one damaged side is repaired while every
//! write of this process waits (the rejoin barrier; a mailbox repair takes as long as copying
//! that mailbox): the damaged side is fenced durably, each damaged mailbox on it is emptied
//! ([`Restore::reset_mailbox`](super::Restore::reset_mailbox)) and refilled by a resync from the other side with the same
//! identifiers, the user is compared again, and only if it is now clean is the side readmitted
//! under a new epoch. If it is not clean the side stays fenced, further repairs stop, and the
//! report says so ([`ScrubReport::left_fenced`]).
//!
//! Progress is reported after every user through the caller's callback ([`ScrubProgress`]).

use std::{
    collections::BTreeSet,
    hash::{DefaultHasher, Hasher},
    sync::Arc,
};

use super::{Call, Mirror, Side, replica::Replica};
use crate::{
    error::StoreError,
    mailbox_name::MailboxName,
    types::{MailboxView, ReadPart, Uid, UserId},
};

/// One difference a scrub found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScrubFinding {
    /// The user.
    pub user: UserId,
    /// The mailbox, when the finding is about one.
    pub mailbox: Option<MailboxName>,
    /// The side the evidence says is damaged; `None` when it cannot tell.
    pub damaged: Option<Side>,
    /// What differs.
    pub detail: String,
    /// The repair ran and the user compared equal afterwards.
    pub repaired: bool,
}

/// How far a scrub has got, passed to the caller's callback after every user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScrubProgress {
    /// Users compared so far.
    pub users_done: usize,
    /// Users to compare (both replicas' users).
    pub users_total: usize,
    /// Mailboxes compared so far.
    pub mailboxes: usize,
    /// Messages compared so far (metadata and checksum).
    pub messages: usize,
    /// Findings so far.
    pub findings: usize,
}

/// What a scrub found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScrubReport {
    /// The final progress figures.
    pub progress: ScrubProgress,
    /// Every difference found, repaired or not.
    pub findings: Vec<ScrubFinding>,
    /// Mailboxes emptied and refilled from the other side.
    pub mailboxes_repaired: usize,
    /// A side a repair could not make equal: it stays fenced for an operator's rejoin.
    pub left_fenced: Option<Side>,
}

impl ScrubReport {
    /// True when nothing differed, or everything that differed was repaired.
    pub fn is_clean(&self) -> bool {
        self.findings.iter().all(|f| f.repaired)
    }
}

/// Counts for progress.
#[derive(Debug, Default)]
struct Tally {
    mailboxes: usize,
    messages: usize,
}

/// Builds findings for one user.
struct Findings<'u> {
    user: &'u UserId,
    out: Vec<ScrubFinding>,
}

impl Findings<'_> {
    fn push(&mut self, mailbox: Option<&MailboxName>, damaged: Option<Side>, detail: String) {
        self.out.push(ScrubFinding {
            user: self.user.clone(),
            mailbox: mailbox.cloned(),
            damaged,
            detail,
            repaired: false,
        });
    }
}

impl Mirror {
    /// Compares both replicas of every user and, with `repair`, repairs what the evidence
    /// allows (see the module notes). Needs both replicas serving. `progress` is called after
    /// every user.
    pub fn scrub(
        &self,
        repair: bool,
        progress: &mut dyn FnMut(&ScrubProgress),
    ) -> Result<ScrubReport, StoreError> {
        if self.lock_health().fenced.iter().any(Option::is_some) {
            return Err(StoreError::ReplicaUnavailable {
                reason: "a scrub needs both replicas serving: resync the fenced one first".into(),
            });
        }
        let mut users = Vec::new();
        for side in Side::BOTH {
            users.extend(self.on(side, Arc::new(|r: &dyn Replica| r.users()))?);
        }
        users.sort();
        users.dedup();
        let mut report = ScrubReport {
            progress: ScrubProgress {
                users_total: users.len(),
                ..ScrubProgress::default()
            },
            ..ScrubReport::default()
        };
        for user in &users {
            let mut tally = Tally::default();
            let mut found = self.with_user(user, || self.inspect_user(user, &mut tally))?;
            if repair && report.left_fenced.is_none() {
                found = self.repair_user(user, found, &mut report)?;
            }
            let p = &mut report.progress;
            p.users_done += 1;
            p.mailboxes += tally.mailboxes;
            p.messages += tally.messages;
            p.findings += found.len();
            report.findings.extend(found);
            progress(&report.progress);
        }
        Ok(report)
    }

    fn inspect_user(
        &self,
        user: &UserId,
        tally: &mut Tally,
    ) -> Result<Vec<ScrubFinding>, StoreError> {
        let mut f = Findings {
            user,
            out: Vec::new(),
        };
        let u = user.clone();
        let list: Call<_> = Arc::new(move |r| r.list_mailboxes(&u));
        let lists = match (
            self.on(Side::Primary, list.clone()),
            self.on(Side::Secondary, list),
        ) {
            (Ok(a), Ok(b)) => [a, b],
            (Err(e), Err(_)) => return Err(e),
            (Err(e), Ok(_)) => {
                f.push(None, Some(Side::Primary), format!("listing mailboxes: {e}"));
                return Ok(f.out);
            }
            (Ok(_), Err(e)) => {
                f.push(
                    None,
                    Some(Side::Secondary),
                    format!("listing mailboxes: {e}"),
                );
                return Ok(f.out);
            }
        };
        for side in Side::BOTH {
            let [mine, other] = [&lists[side.index()], &lists[side.other().index()]];
            for info in other
                .iter()
                .filter(|o| !mine.iter().any(|m| m.name == o.name))
            {
                f.push(Some(&info.name), Some(side), "mailbox missing".into());
            }
        }
        for a in &lists[0] {
            let Some(b) = lists[1].iter().find(|b| b.name == a.name) else {
                continue;
            };
            if a.attributes != b.attributes {
                let detail = format!("attributes {:?} / {:?}", a.attributes, b.attributes);
                f.push(Some(&a.name), None, detail);
            }
            self.inspect_mailbox(user, &a.name, &mut f, tally)?;
        }
        if f.out.is_empty() {
            let u = user.clone();
            let pop: Call<_> = Arc::new(move |r| r.pop3_view(&u));
            let (a, b) = (
                self.on(Side::Primary, pop.clone())?,
                self.on(Side::Secondary, pop)?,
            );
            if a != b {
                f.push(
                    Some(&MailboxName::inbox()),
                    None,
                    "POP3 views (UIDLs) differ".into(),
                );
            }
        }
        Ok(f.out)
    }

    fn inspect_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
        f: &mut Findings<'_>,
        tally: &mut Tally,
    ) -> Result<(), StoreError> {
        // Control files first, before an open rebuilds them.
        for side in Side::BOTH {
            let (u, n) = (user.clone(), name.clone());
            match self.on(side, Arc::new(move |r| r.check_mailbox(&u, &n))) {
                Ok(problems) => {
                    for p in problems {
                        f.push(Some(name), Some(side), p);
                    }
                }
                Err(e) => f.push(Some(name), Some(side), format!("checking: {e}")),
            }
        }
        let mut views: [Option<MailboxView>; 2] = [None, None];
        for side in Side::BOTH {
            match self.view(side, user, name) {
                Ok(v) => views[side.index()] = Some(v),
                Err(e) => f.push(Some(name), Some(side), format!("opening: {e}")),
            }
        }
        let [Some(a), Some(b)] = views else {
            return Ok(());
        };
        tally.mailboxes += 1;
        tally.messages += a.messages.len().max(b.messages.len());
        if a.uid_validity != b.uid_validity {
            let detail = format!("UIDVALIDITY {} / {}", a.uid_validity, b.uid_validity);
            f.push(Some(name), None, detail);
            return Ok(());
        }
        let before = f.out.len();
        for (side, mine, other) in [(Side::Primary, &a, &b), (Side::Secondary, &b, &a)] {
            for m in other.messages.iter().filter(|m| mine.get(m.uid).is_none()) {
                f.push(Some(name), Some(side), format!("UID {} missing", m.uid));
            }
        }
        for ma in &a.messages {
            let Some(mb) = b.get(ma.uid) else { continue };
            if ma != mb {
                f.push(Some(name), None, format!("UID {}: {ma:?} / {mb:?}", ma.uid));
                continue;
            }
            let sums = Side::BOTH.map(|side| self.checksum(side, user, name, ma.uid));
            match sums {
                [Ok(x), Ok(y)] if x == y => {}
                [Ok(x), Ok(y)] => {
                    // The side whose bytes no longer have the recorded length is damaged.
                    let damaged = match (x.0 == ma.size, y.0 == mb.size) {
                        (true, false) => Some(Side::Secondary),
                        (false, true) => Some(Side::Primary),
                        _ => None,
                    };
                    let detail = format!(
                        "UID {}: bytes differ (length {} / {}, recorded {})",
                        ma.uid, x.0, y.0, ma.size
                    );
                    f.push(Some(name), damaged, detail);
                }
                [x, y] => {
                    for (side, r) in [(Side::Primary, x), (Side::Secondary, y)] {
                        if let Err(e) = r {
                            f.push(Some(name), Some(side), format!("UID {}: {e}", ma.uid));
                        }
                    }
                }
            }
        }
        let head = |v: &MailboxView| (v.uid_next, v.highest_modseq);
        if f.out.len() == before && head(&a) != head(&b) {
            let detail = format!("(UIDNEXT, HIGHESTMODSEQ) {:?} / {:?}", head(&a), head(&b));
            f.push(Some(name), None, detail);
        }
        Ok(())
    }

    /// `(length, checksum)` of a message's bytes, computed by the replica's own worker. The
    /// checksum (SipHash) finds accidental damage; it is no defence against a forger.
    fn checksum(
        &self,
        side: Side,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
    ) -> Result<(u64, u64), StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.on(
            side,
            Arc::new(move |r| {
                let bytes = r.read(&u, &n, uid, ReadPart::Whole)?;
                let mut h = DefaultHasher::new();
                h.write(&bytes);
                Ok((bytes.len() as u64, h.finish()))
            }),
        )
    }

    /// Repairs one user when the findings name exactly one damaged side (module notes).
    fn repair_user(
        &self,
        user: &UserId,
        mut found: Vec<ScrubFinding>,
        report: &mut ScrubReport,
    ) -> Result<Vec<ScrubFinding>, StoreError> {
        let named: BTreeSet<usize> = found
            .iter()
            .filter_map(|f| f.damaged.map(Side::index))
            .collect();
        let bad = match named.into_iter().collect::<Vec<_>>()[..] {
            [0] => Side::Primary,
            [1] => Side::Secondary,
            _ => return Ok(found), // nothing named, or both sides damaged: report only
        };
        let good = bad.other();
        let _no_writes = self.barrier.write().unwrap_or_else(|e| e.into_inner());
        let why = format!("scrub found {user}'s copy damaged: {}", found[0].detail);
        self.fence(bad, &why)?;
        let damaged: BTreeSet<MailboxName> = found
            .iter()
            .filter(|f| f.damaged == Some(bad))
            .filter_map(|f| f.mailbox.clone())
            .collect();
        for name in &damaged {
            let (u, n) = (user.clone(), name.clone());
            match self.on(bad, Arc::new(move |r| r.reset_mailbox(&u, &n))) {
                Ok(()) => report.mailboxes_repaired += 1,
                Err(StoreError::NoSuchMailbox) => {} // the resync creates it
                Err(e) => return self.give_up(bad, found, report, &e.to_string()),
            }
        }
        if let Err(e) = self.resync_locked(user, bad, good) {
            return self.give_up(bad, found, report, &e.to_string());
        }
        let after = self.inspect_user(user, &mut Tally::default())?;
        if let Some(still) = after.first() {
            let detail = format!("still differs after repair: {}", still.detail);
            return self.give_up(bad, found, report, &detail);
        }
        self.readmit(bad, good)?;
        for f in &mut found {
            f.repaired = true;
        }
        Ok(found)
    }

    /// A repair that did not make the user equal: the side stays fenced, and no further
    /// repair may readmit it.
    fn give_up(
        &self,
        bad: Side,
        mut found: Vec<ScrubFinding>,
        report: &mut ScrubReport,
        why: &str,
    ) -> Result<Vec<ScrubFinding>, StoreError> {
        report.left_fenced = Some(bad);
        if let Some(first) = found.first_mut() {
            first.detail = format!(
                "{} (repair failed: {why}; {bad:?} left fenced)",
                first.detail
            );
        }
        Ok(found)
    }
}
