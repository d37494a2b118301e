//! Merge after a double fault: both replicas took writes while split (each fenced the other,
//! or an operator forced one up alone), so neither is a plain resync source.
//!
//! [`Mirror::merge_split`] merges by message identity, in the manner of Cyrus replication:
//! the primary is brought to hold every message either side holds, then the secondary is
//! resynced from it and readmitted. Per mailbox:
//!
//! - A message is the same on both sides when one UID names the same bytes, size and
//!   INTERNALDATE on both. Its flags are taken from the side that changed them last (the
//!   larger modseq).
//! - One UID naming two different messages is a conflict: both messages get fresh UIDs after
//!   the last one either side handed out, and the old UID is retired (an expunge tombstone,
//!   so QRESYNC clients drop what they cached under it).
//! - A message only one side holds keeps its UID if the other side never handed that UID
//!   out; if the other side expunged it, the expunge is honoured; otherwise (the other side
//!   gave the UID to something that is gone without a tombstone) it gets a fresh UID.
//! - UIDVALIDITY is never bumped. A mailbox whose two sides have different UIDVALIDITYs
//!   (created separately while split) keeps the primary's; the secondary's messages all get
//!   fresh UIDs in it. A mailbox or user only one side has is created on the other.
//!   Subscriptions are the union.
//! - Every change the merge makes on the primary gets a modseq above both sides' HIGHESTMODSEQ,
//!   so CONDSTORE clients of either side see it; if the primary made no change but the
//!   secondary's HIGHESTMODSEQ is larger, one unused UID is retired at a fresh modseq so the
//!   primary's is larger (the secondary is then levelled from it).
//!
//! No message is dropped: only UIDs are retired. The records are rewritten only by the final
//! rejoin, so a merge interrupted by a crash leaves the set refused at start-up as before
//! and can be run again; a rerun after such a crash may hold a renumbered message twice
//! (under its old and its new UID), never lose one.
//!
//! Known limit: an INBOX with different UIDVALIDITYs on the two sides that both hold mail
//! (the user was created separately on each side while split) is refused
//! ([`StoreError::ReplicasDiverged`]): the secondary's INBOX cannot take the primary's
//! UIDVALIDITY without being rebuilt.

use std::{collections::BTreeSet, sync::Arc};

use super::{Call, Fenced, Mirror, Options, Side, replica::Replica, resync::ResyncReport};
use crate::{
    error::StoreError,
    mailbox_name::MailboxName,
    types::{MailboxView, MessageMeta, ModSeq, ReadPart, Uid, UserId},
};

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MergeReport {
    /// Users merged.
    pub users: usize,
    /// Mailboxes whose two sides differed and were merged.
    pub mailboxes_merged: usize,
    /// Mailboxes (or users' INBOXes) only the secondary had, created on the primary.
    pub mailboxes_created: usize,
    /// Messages only the secondary had, copied to the primary under their own UIDs.
    pub messages_copied: usize,
    /// Messages given a fresh UID (conflicts, and UIDs the other side had used).
    pub messages_renumbered: usize,
    /// Expunges made on one side while split and carried to the other.
    pub expunges_honoured: usize,
    /// Messages whose flags were taken from the secondary (or given a fresh modseq).
    pub flags_merged: usize,
    /// The final resync of the secondary from the merged primary.
    pub resync: ResyncReport,
}

/// The plan for one mailbox, every step made on the primary.
#[derive(Debug, Default)]
struct Plan {
    /// Messages the secondary holds under UIDs the primary never used: copied as they are.
    copy: Vec<MessageMeta>,
    /// Messages both hold whose flags the secondary changed last, and messages only the
    /// primary holds above the secondary's UIDs (given a fresh modseq with the same flags,
    /// so the resync's journal pass copies them in UID order with the rest).
    flags: Vec<MessageMeta>,
    /// Messages that need a fresh UID, with the side to read them from.
    renumber: Vec<(Side, MessageMeta)>,
    /// UIDs to retire on the primary (renumbered, or expunged by the secondary).
    retire: BTreeSet<Uid>,
    honoured: usize,
}

impl Mirror {
    /// Merges two replicas that both advanced while split (see the module notes), then
    /// resyncs the secondary from the merged primary and readmits it under a new epoch.
    /// An operator action: use it when [`Mirror::open`] refuses the set as split brain, or
    /// when both sides are known to hold acknowledged mail the other lacks. Returns the
    /// serving set.
    pub fn merge_split(
        primary: Arc<dyn Replica>,
        secondary: Arc<dyn Replica>,
        options: Options,
    ) -> Result<(Self, MergeReport), StoreError> {
        let mirror = Self::with_workers(primary, secondary, options)?;
        let mut epoch = 0;
        for side in Side::BOTH {
            let text = mirror.on(side, Arc::new(|r: &dyn Replica| r.read_mirror_state()))?;
            if let Some(text) = text {
                let record = super::Record::parse(&text).ok_or(StoreError::Corrupt {
                    file: super::MIRROR_STATE_FILE,
                    detail: format!("{side:?}: not a mirror-state record"),
                })?;
                epoch = epoch.max(record.epoch);
            }
        }
        {
            // Fenced in memory only: the records change when the rejoin succeeds.
            let mut h = mirror.lock_health();
            h.epoch = epoch;
            h.fenced[Side::Secondary.index()] = Some(Fenced {
                reason: "merging after a split".into(),
                epoch,
            });
        }
        let mut report = MergeReport::default();
        let mut users = Vec::new();
        for side in Side::BOTH {
            users.extend(mirror.on(side, Arc::new(|r: &dyn Replica| r.users()))?);
        }
        users.sort();
        users.dedup();
        for user in &users {
            mirror.merge_user(user, &mut report)?;
        }
        report.resync = mirror.rejoin()?;
        Ok((mirror, report))
    }

    fn merge_user(&self, user: &UserId, report: &mut MergeReport) -> Result<(), StoreError> {
        report.users += 1;
        let u = user.clone();
        let list: Call<_> = Arc::new(move |r| r.list_mailboxes(&u));
        let (ours, theirs) = (
            self.on(Side::Primary, list.clone())?,
            self.on(Side::Secondary, list)?,
        );
        for info in &theirs {
            let mine = ours.iter().find(|o| o.name == info.name);
            let (u, n) = (user.clone(), info.name.clone());
            if mine.is_none() {
                let special = info.attributes.special_use;
                self.on(
                    Side::Primary,
                    Arc::new(move |r| r.create_mailbox(&u, &n, special)),
                )?;
                report.mailboxes_created += 1;
            }
            let (u, n) = (user.clone(), info.name.clone());
            if info.attributes.subscribed && !mine.is_some_and(|m| m.attributes.subscribed) {
                self.on(
                    Side::Primary,
                    Arc::new(move |r| r.set_subscribed(&u, &n, true)),
                )?;
            }
            self.merge_mailbox(user, &info.name, report)?;
        }
        Ok(())
    }

    fn vanished(
        &self,
        side: Side,
        user: &UserId,
        name: &MailboxName,
    ) -> Result<Vec<Uid>, StoreError> {
        let (u, n) = (user.clone(), name.clone());
        let all = self.on(
            side,
            Arc::new(move |r| r.changes_since(&u, &n, ModSeq::ZERO)),
        )?;
        Ok(all.vanished)
    }

    fn body(
        &self,
        side: Side,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
    ) -> Result<Vec<u8>, StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.on(
            side,
            Arc::new(move |r| r.read(&u, &n, uid, ReadPart::Whole)),
        )
    }

    /// One UID names the same message on both sides.
    fn same_message(
        &self,
        user: &UserId,
        name: &MailboxName,
        a: &MessageMeta,
        b: &MessageMeta,
    ) -> Result<bool, StoreError> {
        if a.size != b.size || a.internal_date != b.internal_date {
            return Ok(false);
        }
        Ok(self.body(Side::Primary, user, name, a.uid)?
            == self.body(Side::Secondary, user, name, b.uid)?)
    }

    fn merge_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
        report: &mut MergeReport,
    ) -> Result<(), StoreError> {
        let mut ours = self.view(Side::Primary, user, name)?;
        let theirs = self.view(Side::Secondary, user, name)?;
        if ours == theirs
            && self.vanished(Side::Primary, user, name)?
                == self.vanished(Side::Secondary, user, name)?
        {
            // Same metadata; bytes are still compared UID by UID below only when it differs.
            if ours
                .messages
                .iter()
                .map(|m| self.same_message(user, name, m, m))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .all(|same| same)
            {
                return Ok(());
            }
        }
        let mut renumber_all = false;
        if ours.uid_validity != theirs.uid_validity {
            let pristine =
                ours.uid_next == Uid::MIN && self.vanished(Side::Primary, user, name)?.is_empty();
            if pristine {
                let (u, n, v) = (user.clone(), name.clone(), theirs.uid_validity);
                self.on(
                    Side::Primary,
                    Arc::new(move |r| r.adopt_uid_validity(&u, &n, v)),
                )?;
                ours = self.view(Side::Primary, user, name)?;
            } else if name.is_inbox() {
                return Err(StoreError::ReplicasDiverged {
                    detail: format!(
                        "{user} INBOX: UIDVALIDITY {} / {} and mail on both sides",
                        ours.uid_validity, theirs.uid_validity
                    ),
                });
            } else {
                renumber_all = true;
            }
        }
        report.mailboxes_merged += 1;
        let plan = if renumber_all {
            Plan {
                renumber: theirs
                    .messages
                    .iter()
                    .map(|m| (Side::Secondary, m.clone()))
                    .collect(),
                ..Plan::default()
            }
        } else {
            self.plan(user, name, &ours, &theirs)?
        };
        self.carry_out(user, name, &ours, &theirs, plan, report)
    }

    fn plan(
        &self,
        user: &UserId,
        name: &MailboxName,
        ours: &MailboxView,
        theirs: &MailboxView,
    ) -> Result<Plan, StoreError> {
        let our_gone: BTreeSet<Uid> = self
            .vanished(Side::Primary, user, name)?
            .into_iter()
            .collect();
        let their_gone: BTreeSet<Uid> = self
            .vanished(Side::Secondary, user, name)?
            .into_iter()
            .collect();
        let mut plan = Plan::default();
        for m in &ours.messages {
            match theirs.get(m.uid) {
                Some(t) if self.same_message(user, name, m, t)? => {
                    if t.modseq > m.modseq && t.flags != m.flags {
                        plan.flags.push(t.clone());
                    }
                }
                Some(t) => {
                    plan.renumber.push((Side::Primary, m.clone()));
                    plan.renumber.push((Side::Secondary, t.clone()));
                    plan.retire.insert(m.uid);
                }
                None if their_gone.contains(&m.uid) => {
                    plan.retire.insert(m.uid);
                    plan.honoured += 1;
                }
                None if m.uid < theirs.uid_next => {
                    plan.renumber.push((Side::Primary, m.clone()));
                    plan.retire.insert(m.uid);
                }
                // Above everything the secondary handed out: the resync copies it as it is.
                None => plan.flags.push(m.clone()),
            }
        }
        for t in theirs.messages.iter().filter(|t| ours.get(t.uid).is_none()) {
            if our_gone.contains(&t.uid) {
                // Expunged on the primary: the resync expunges it on the secondary too.
                plan.honoured += 1;
            } else if t.uid < ours.uid_next {
                plan.renumber.push((Side::Secondary, t.clone()));
                plan.retire.insert(t.uid);
            } else {
                plan.copy.push(t.clone());
            }
        }
        // The secondary's tombstones hold on the primary too (UIDs it must never reuse).
        plan.retire
            .extend(their_gone.difference(&our_gone).copied());
        Ok(plan)
    }

    fn carry_out(
        &self,
        user: &UserId,
        name: &MailboxName,
        ours: &MailboxView,
        theirs: &MailboxView,
        plan: Plan,
        report: &mut MergeReport,
    ) -> Result<(), StoreError> {
        let mut modseq = ours.highest_modseq.max(theirs.highest_modseq);
        let mut fresh = || {
            modseq = modseq.next();
            modseq
        };
        let restore = |meta: MessageMeta, body: Vec<u8>| {
            let (u, n) = (user.clone(), name.clone());
            self.on(
                Side::Primary,
                Arc::new(move |r| r.restore_message(&u, &n, &meta, &body)),
            )
        };
        // Ascending, so each is at or above the primary's UIDNEXT when it is stored.
        for t in plan.copy {
            let body = self.body(Side::Secondary, user, name, t.uid)?;
            let meta = MessageMeta::new(t.uid, t.flags, t.size, t.internal_date, fresh());
            restore(meta, body)?;
            report.messages_copied += 1;
        }
        for t in plan.flags {
            let (u, n, at) = (user.clone(), name.clone(), fresh());
            self.on(
                Side::Primary,
                Arc::new(move |r| r.restore_flags(&u, &n, t.uid, &t.flags, at)),
            )?;
            report.flags_merged += 1;
        }
        let mut next = self
            .view(Side::Primary, user, name)?
            .uid_next
            .max(theirs.uid_next);
        for (side, m) in plan.renumber {
            let body = self.body(side, user, name, m.uid)?;
            let meta = MessageMeta::new(next, m.flags, m.size, m.internal_date, fresh());
            restore(meta, body)?;
            report.messages_renumbered += 1;
            next = next.next().ok_or(StoreError::Corrupt {
                file: "mailbox",
                detail: "UID space exhausted".into(),
            })?;
        }
        report.expunges_honoured += plan.honoured;
        if !plan.retire.is_empty() {
            let (u, n, at) = (user.clone(), name.clone(), fresh());
            let uids: Vec<Uid> = plan.retire.into_iter().collect();
            self.on(
                Side::Primary,
                Arc::new(move |r| r.restore_expunge(&u, &n, &uids, at)),
            )?;
        }
        let now = self.view(Side::Primary, user, name)?;
        if now.highest_modseq <= theirs.highest_modseq {
            // Nothing changed here, but the secondary counted further: retire one unused UID
            // so the primary's HIGHESTMODSEQ passes it and the resync can level the secondary.
            let (u, n, at, spare) = (user.clone(), name.clone(), fresh(), now.uid_next.max(next));
            self.on(
                Side::Primary,
                Arc::new(move |r| r.restore_expunge(&u, &n, &[spare], at)),
            )?;
        }
        Ok(())
    }
}
