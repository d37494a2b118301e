//! Resync: bringing a fenced replica level with the survivor, then readmitting it.
//!
//! Each mailbox is brought level from the survivor's change feed since the target's own
//! HIGHESTMODSEQ (the per-mailbox journal: messages added or changed, and expunge
//! tombstones), so a replica that missed a few minutes costs a few minutes of changes, not a
//! tree scan. Every mailbox is then compared (metadata of every message, UIDVALIDITY,
//! UIDNEXT, HIGHESTMODSEQ); if the journal did not make them equal, one full pass from
//! modseq zero follows, and if that fails too the mailbox is reported diverged and the
//! replica stays fenced.
//!
//! Everything is copied with the survivor's identifiers ([`Restore::restore_message`] and
//! friends): same UIDs, flags, INTERNALDATEs and MODSEQs, and tombstones for every UID the
//! survivor expunged, so an expunged message never comes back and no UID is handed out twice.
//! Data only ever flows from the survivor to the fenced side; nothing on the survivor is
//! deleted or changed by a resync (M3, M4). The one thing a survivor may gain is a
//! tombstone: a message only the target holds, from a write that was never acknowledged
//! (the writer was killed between the two replicas' answers), has its UID retired on both
//! sides rather than reused.
//!
//! UIDLs and POP3 order recorded by a migration (not the default `%08Xu%08Xv`) are copied
//! too. Known limits: expunge tombstones copied by a resync carry the survivor's HIGHESTMODSEQ at the time
//! (QRESYNC may then report a UID as vanished to a client that already knew, which RFC 7162
//! allows); users that exist only on the fenced side are left alone.

use std::sync::Arc;

use super::{Call, Mirror, Record, Side, replica::Replica};
use crate::{
    error::StoreError,
    mailbox_name::MailboxName,
    types::{MailboxView, ModSeq, ReadPart, Uid, UserId},
};

/// What a resync did: progress for the operator, and how far behind the target was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResyncReport {
    /// Users brought level.
    pub users: usize,
    /// Mailboxes created on the target.
    pub mailboxes_created: usize,
    /// Mailboxes deleted from the target (gone from the survivor).
    pub mailboxes_deleted: usize,
    /// Messages copied to the target.
    pub messages_copied: usize,
    /// Messages whose flags were brought level.
    pub flags_restored: usize,
    /// UIDs recorded as expunged on the target.
    pub expunges_applied: usize,
    /// Mailboxes the journal alone did not make equal, compared in full.
    pub full_passes: usize,
    /// The lag: modseqs the target was behind, summed over the mailboxes.
    pub lag: u64,
}

impl ResyncReport {
    fn add(&mut self, o: &Self) {
        self.users += o.users;
        self.mailboxes_created += o.mailboxes_created;
        self.mailboxes_deleted += o.mailboxes_deleted;
        self.messages_copied += o.messages_copied;
        self.flags_restored += o.flags_restored;
        self.expunges_applied += o.expunges_applied;
        self.full_passes += o.full_passes;
        self.lag += o.lag;
    }
}

fn diverged(detail: String) -> StoreError {
    StoreError::ReplicasDiverged { detail }
}

impl Mirror {
    /// `(fenced, survivor)`, or an error when the set is not degraded.
    fn resync_sides(&self) -> Result<(Side, Side), StoreError> {
        let h = self.lock_health();
        match (&h.fenced[0], &h.fenced[1]) {
            (Some(_), None) => Ok((Side::Primary, Side::Secondary)),
            (None, Some(_)) => Ok((Side::Secondary, Side::Primary)),
            _ => Err(StoreError::ReplicaUnavailable {
                reason: "resync needs exactly one fenced replica".into(),
            }),
        }
    }

    /// One call on one side, any missing answer as an error (a resync never fences).
    pub(super) fn on<R: Send + 'static>(&self, side: Side, call: Call<R>) -> Result<R, StoreError> {
        self.ask(side, call).unwrap_or_else(|no| {
            Err(StoreError::ReplicaUnavailable {
                reason: format!("{side:?} during resync: {no:?}"),
            })
        })
    }

    /// How far the fenced replica's copy of `user` is behind: the survivor's HIGHESTMODSEQ
    /// minus the target's, summed over the survivor's mailboxes (a missing mailbox counts in
    /// full). Zero when level. For monitoring while a replica is out and during a resync.
    pub fn lag(&self, user: &UserId) -> Result<u64, StoreError> {
        let (stale, good) = self.resync_sides()?;
        let u = user.clone();
        let names = self.on(good, Arc::new(move |r| r.list_mailboxes(&u)))?;
        let mut lag = 0u64;
        for info in names {
            lag = lag.saturating_add(self.mailbox_lag(stale, good, user, &info.name)?);
        }
        Ok(lag)
    }

    fn mailbox_lag(
        &self,
        stale: Side,
        good: Side,
        user: &UserId,
        name: &MailboxName,
    ) -> Result<u64, StoreError> {
        let want = self.view(good, user, name)?.highest_modseq.get();
        let have = match self.view(stale, user, name) {
            Ok(v) => v.highest_modseq.get(),
            Err(StoreError::NoSuchMailbox) => 0,
            Err(e) => return Err(e),
        };
        Ok(want.saturating_sub(have))
    }

    /// Brings the fenced replica's copy of `user` level with the survivor. May run while
    /// serving: the user's writes wait for it. The replica stays fenced (see
    /// [`Mirror::rejoin`]).
    pub fn resync_user(&self, user: &UserId) -> Result<ResyncReport, StoreError> {
        let (stale, good) = self.resync_sides()?;
        self.with_user(user, || self.resync_locked(user, stale, good))
    }

    /// Resyncs every user of the survivor, then holds all writes back for a last
    /// (incremental, short) pass and readmits the fenced replica: a new epoch with no stale
    /// side is recorded on it first and then on the survivor, so a crash in between still
    /// leaves the survivor's record naming it stale.
    pub fn rejoin(&self) -> Result<ResyncReport, StoreError> {
        self.rejoin_checked(false)
    }

    /// [`Mirror::rejoin`], but before readmitting the replica every message's bytes are
    /// compared on both sides, not only the metadata. Use it for a replica fenced after an
    /// IO error (THREATS.md MIR-02: a failed fsync may have dropped writes the replica
    /// believes it has). Any difference refuses the rejoin with
    /// [`StoreError::ReplicasDiverged`] and the replica stays fenced.
    pub fn rejoin_verified(&self) -> Result<ResyncReport, StoreError> {
        self.rejoin_checked(true)
    }

    fn rejoin_checked(&self, verify: bool) -> Result<ResyncReport, StoreError> {
        let (stale, good) = self.resync_sides()?;
        let mut report = ResyncReport::default();
        let users = self.on(good, Arc::new(|r: &dyn Replica| r.users()))?;
        for user in &users {
            report.add(&self.resync_user(user)?);
        }
        let _no_writes = self.barrier.write().unwrap_or_else(|e| e.into_inner());
        let users = self.on(good, Arc::new(|r: &dyn Replica| r.users()))?;
        for user in &users {
            let last = self.resync_locked(user, stale, good)?;
            report.lag += last.lag;
            report.messages_copied += last.messages_copied;
            if verify {
                self.verify_bytes(user, stale, good)?;
            }
        }
        self.readmit(stale, good)?;
        Ok(report)
    }

    /// Readmits a levelled replica: a new epoch with no stale side is recorded on it first
    /// and then on the survivor, so a crash in between still leaves the survivor's record
    /// naming it stale. The caller holds the write barrier.
    pub(super) fn readmit(&self, stale: Side, good: Side) -> Result<(), StoreError> {
        let epoch = self.lock_health().epoch + 1;
        let record = Record { epoch, stale: None };
        for side in [stale, good] {
            self.write_record(side, record)
                .map_err(|why| StoreError::ReplicaUnavailable {
                    reason: format!("recording the rejoin on {side:?}: {why}"),
                })?;
        }
        let mut h = self.lock_health();
        h.epoch = epoch;
        h.fenced = [None, None];
        Ok(())
    }

    pub(super) fn resync_locked(
        &self,
        user: &UserId,
        stale: Side,
        good: Side,
    ) -> Result<ResyncReport, StoreError> {
        let mut report = ResyncReport {
            users: 1,
            ..ResyncReport::default()
        };
        let u = user.clone();
        let list: Call<_> = Arc::new(move |r| r.list_mailboxes(&u));
        let (want, have) = (self.on(good, list.clone())?, self.on(stale, list)?);
        // Children sort after their parents: delete in reverse, create in order.
        for extra in have
            .iter()
            .rev()
            .filter(|i| !want.iter().any(|w| w.name == i.name))
        {
            self.t_delete(stale, user, &extra.name)?;
            report.mailboxes_deleted += 1;
        }
        for info in &want {
            report.lag += self.mailbox_lag(stale, good, user, &info.name)?;
            let target = self.target_mailbox(stale, good, user, &info.name, &mut report)?;
            let subscribed = have
                .iter()
                .find(|h| h.name == info.name)
                .is_some_and(|h| h.attributes.subscribed);
            if subscribed != info.attributes.subscribed || target.is_none() {
                let (u, n, s) = (user.clone(), info.name.clone(), info.attributes.subscribed);
                self.on(stale, Arc::new(move |r| r.set_subscribed(&u, &n, s)))?;
            }
            self.level_mailbox(stale, good, user, &info.name, &mut report)?;
        }
        // POP3 UIDLs and order recorded by a migration go along (DESIGN.md M5).
        let u = user.clone();
        let view = self.on(good, Arc::new(move |r| r.pop3_view(&u)))?;
        let v = self.view(good, user, &MailboxName::inbox())?.uid_validity;
        let entries = crate::pop3::recorded_entries(&view, v);
        if !entries.is_empty() {
            let u = user.clone();
            self.on(
                stale,
                Arc::new(move |r| r.restore_pop3(&u, &MailboxName::inbox(), &entries)),
            )?;
        }
        Ok(report)
    }

    /// Every message of the user reads back the same on both sides.
    fn verify_bytes(&self, user: &UserId, stale: Side, good: Side) -> Result<(), StoreError> {
        let u = user.clone();
        let names = self.on(good, Arc::new(move |r| r.list_mailboxes(&u)))?;
        for info in names {
            let name = info.name;
            for meta in self.view(good, user, &name)?.messages {
                let read = |side| {
                    let (u, n, uid) = (user.clone(), name.clone(), meta.uid);
                    self.on(
                        side,
                        Arc::new(move |r| r.read(&u, &n, uid, ReadPart::Whole)),
                    )
                };
                if read(good)? != read(stale)? {
                    return Err(diverged(format!(
                        "{user} {name}: UID {} has different bytes on the replica being rejoined",
                        meta.uid
                    )));
                }
            }
        }
        Ok(())
    }

    fn t_delete(&self, stale: Side, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.on(stale, Arc::new(move |r| r.delete_mailbox(&u, &n)))
    }

    pub(super) fn view(
        &self,
        side: Side,
        user: &UserId,
        name: &MailboxName,
    ) -> Result<MailboxView, StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.on(side, Arc::new(move |r| r.open(&u, &n)))
    }

    /// Makes sure the target has the mailbox under the survivor's UIDVALIDITY; `None` when
    /// it had to be created.
    fn target_mailbox(
        &self,
        stale: Side,
        good: Side,
        user: &UserId,
        name: &MailboxName,
        report: &mut ResyncReport,
    ) -> Result<Option<()>, StoreError> {
        let want = self.view(good, user, name)?.uid_validity;
        let existed = match self.view(stale, user, name) {
            Ok(v) if v.uid_validity == want => return Ok(Some(())),
            Ok(_) if name.is_inbox() => true,
            Ok(_) => {
                // Deleted and re-created on the survivor meanwhile: replace ours.
                self.t_delete(stale, user, name)?;
                report.mailboxes_deleted += 1;
                false
            }
            Err(StoreError::NoSuchMailbox) => false,
            Err(e) => return Err(e),
        };
        if !existed {
            let (u, n) = (user.clone(), name.clone());
            self.on(stale, Arc::new(move |r| r.create_mailbox(&u, &n, None)))?;
            report.mailboxes_created += 1;
        }
        let (u, n) = (user.clone(), name.clone());
        self.on(stale, Arc::new(move |r| r.adopt_uid_validity(&u, &n, want)))?;
        Ok(existed.then_some(()))
    }

    /// Journal pass, then (only if needed) one full pass, then the comparison.
    fn level_mailbox(
        &self,
        stale: Side,
        good: Side,
        user: &UserId,
        name: &MailboxName,
        report: &mut ResyncReport,
    ) -> Result<(), StoreError> {
        self.retire_orphans(stale, good, user, name, report)?;
        let first = self.view(stale, user, name)?;
        for since in [first.highest_modseq, ModSeq::ZERO] {
            let (sv, tv) = (self.view(good, user, name)?, self.view(stale, user, name)?);
            if sv == tv {
                return Ok(());
            }
            if since == ModSeq::ZERO {
                report.full_passes += 1;
            }
            self.apply_changes(stale, good, user, name, since, &sv, &tv, report)?;
        }
        let (sv, tv) = (self.view(good, user, name)?, self.view(stale, user, name)?);
        if sv == tv {
            return Ok(());
        }
        Err(diverged(format!(
            "{user} {name}: still differs after a full pass"
        )))
    }

    /// Messages only the target has and the survivor never expunged are orphans of a write
    /// that was never acknowledged (a writer killed between the two replicas' answers). They
    /// cannot simply be dropped: a reader may have seen the UID. So the UID is retired on
    /// both sides — a tombstone above both HIGHESTMODSEQs, UIDNEXT past it — and never
    /// names anything again. The survivor gains only those tombstones.
    fn retire_orphans(
        &self,
        stale: Side,
        good: Side,
        user: &UserId,
        name: &MailboxName,
        report: &mut ResyncReport,
    ) -> Result<(), StoreError> {
        let (sv, tv) = (self.view(good, user, name)?, self.view(stale, user, name)?);
        let (u, n) = (user.clone(), name.clone());
        let all = self.on(
            good,
            Arc::new(move |r| r.changes_since(&u, &n, ModSeq::ZERO)),
        )?;
        let orphans: Vec<Uid> = tv
            .messages
            .iter()
            .map(|m| m.uid)
            .filter(|u| sv.get(*u).is_none() && !all.vanished.contains(u))
            .collect();
        if orphans.is_empty() {
            return Ok(());
        }
        report.expunges_applied += orphans.len();
        let at = tv.highest_modseq.max(sv.highest_modseq).next();
        for side in [good, stale] {
            let (u, n, o) = (user.clone(), name.clone(), orphans.clone());
            self.on(side, Arc::new(move |r| r.restore_expunge(&u, &n, &o, at)))?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)] // one step of one mailbox; splitting it hides the flow
    fn apply_changes(
        &self,
        stale: Side,
        good: Side,
        user: &UserId,
        name: &MailboxName,
        since: ModSeq,
        sv: &MailboxView,
        tv: &MailboxView,
        report: &mut ResyncReport,
    ) -> Result<(), StoreError> {
        let (u, n) = (user.clone(), name.clone());
        let mut cs = self.on(good, Arc::new(move |r| r.changes_since(&u, &n, since)))?;
        if !cs.vanished_complete && since != ModSeq::ZERO {
            // The survivor pruned tombstones the journal pass would need: compare everything
            // instead (a message the target has and the survivor does not is dropped below,
            // so nothing expunged comes back).
            report.full_passes += 1;
            let (u, n) = (user.clone(), name.clone());
            cs = self.on(
                good,
                Arc::new(move |r| r.changes_since(&u, &n, ModSeq::ZERO)),
            )?;
        }
        for meta in cs.changed {
            let (u, n) = (user.clone(), name.clone());
            match tv.get(meta.uid) {
                Some(have) if *have == meta => {}
                Some(have)
                    if have.size == meta.size && have.internal_date == meta.internal_date =>
                {
                    let (uid, flags, modseq) = (meta.uid, meta.flags.clone(), meta.modseq);
                    self.on(
                        stale,
                        Arc::new(move |r| r.restore_flags(&u, &n, uid, &flags, modseq)),
                    )?;
                    report.flags_restored += 1;
                }
                Some(_) => {
                    return Err(diverged(format!(
                        "{user} {name}: UID {} names different messages",
                        meta.uid
                    )));
                }
                None => {
                    let uid = meta.uid;
                    let body = self.on(
                        good,
                        Arc::new(move |r| r.read(&u, &n, uid, ReadPart::Whole)),
                    )?;
                    let (u, n) = (user.clone(), name.clone());
                    self.on(
                        stale,
                        Arc::new(move |r| r.restore_message(&u, &n, &meta, &body)),
                    )?;
                    report.messages_copied += 1;
                }
            }
        }
        // Tombstones last: they raise UIDNEXT, and the copies above need the UIDs below it.
        let mut gone: Vec<Uid> = cs.vanished.clone();
        gone.extend(
            tv.messages
                .iter()
                .map(|m| m.uid)
                .filter(|u| sv.get(*u).is_none()),
        );
        gone.sort_unstable();
        gone.dedup();
        if !gone.is_empty() {
            report.expunges_applied += gone.len();
            let (u, n, at) = (user.clone(), name.clone(), cs.highest_modseq);
            self.on(
                stale,
                Arc::new(move |r| r.restore_expunge(&u, &n, &gone, at)),
            )?;
        }
        Ok(())
    }
}
