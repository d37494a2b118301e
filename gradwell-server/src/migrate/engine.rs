//! The import engine: copies one user from a [`Source`] into a target store, keeping every
//! identifier the user's clients know (DESIGN.md M5).
//!
//! For each mailbox, parents before children:
//! 1. **Where to write.** A mailbox the target does not have yet is filled under a staging
//!    name (`Migrating-<hash of the name>`, deterministic, so a resumed run finds it) and
//!    appears under its real name only at the end, by one rename (which keeps UIDVALIDITY
//!    and UIDs): no client ever sees it half full. A mailbox the target already has (INBOX,
//!    which always exists, or a parent created for a child) is filled in place; a user is
//!    therefore imported before being enabled, and a re-run for new mail adds messages
//!    above the ones already there.
//! 2. **UIDVALIDITY** is adopted from the source while the target mailbox has never held a
//!    message. A target mailbox with history and another UIDVALIDITY is an error for that
//!    mailbox (its clients would resynchronise), never silently merged.
//! 3. **Messages** go in ascending source UID with [`Restore::restore_messages`], in batches
//!    of up to [`Options::batch_messages`] (one lock and one control-file commit per batch):
//!    exactly the source's UID, flags, keywords and INTERNALDATE. Sources without UIDs (plain mbox,
//!    POP3) give message *n* UID *n*, so a re-run maps every message to the same UID. A
//!    message whose UID is below the target's UIDNEXT is already there (checked by size;
//!    with [`Options::sync_flags`] its flags are set to the source's) or was expunged on
//!    the target since; it is skipped. That makes a re-run, or a run resumed after `kill -9`
//!    anywhere, copy exactly the missing messages: no duplicate, no loss.
//! 4. **UIDNEXT** is raised to the source's (a tombstone for UIDNEXT−1 via
//!    [`Restore::restore_expunge`]), so a UID the source handed out and expunged is never
//!    handed out again.
//! 5. **Commit**: POP3 UIDLs and order the source recorded (Dovecot's `P`/`O`) are set
//!    ([`Restore::restore_pop3`]); the mailbox is made durable ([`Restore::sync_mailbox`],
//!    with [`Options::sync_per_mailbox`]: one sync per mailbox instead of fsyncs per
//!    message); the staging mailbox is renamed into place (and its directory entry synced,
//!    [`Restore::sync_mailbox_entry`]); then the subscription is set.
//! 6. **Verify**: the target mailbox is read back and its count, bytes and checksum over
//!    `(UID, message)` compared with what the source yielded.
//!
//! An error ends that mailbox only (reported with its name); the run goes on with the next.
//! A staging copy is kept for a re-run when the source went away, and removed when the
//! source's data is bad (it would fail the same way again).
//!
//! The engine writes to a list of target stores. For a mirror set whose replicas are both
//! healthy the importer passes the two replicas themselves: each is checked and filled on
//! its own state, batch by batch, so a run killed between the two replicas' writes
//! (or between their renames) leaves a difference the re-run fills in, instead of a
//! divergence only a resync could repair. A set with a fenced replica is written through
//! its mirror (the survivor), and resynced later as usual. Sources without a UIDVALIDITY
//! get the first target's, adopted by the others.

use std::collections::{BTreeMap, BTreeSet};

use maildir_store::{
    Flags, MailboxName, MailboxView, MessageMeta, ModSeq, ReadPart, StoreError, Uid, UidValidity,
    UserId, mirror::Restore,
};
use sha2::{Digest, Sha256};

use super::{
    report::{Checksum, MailboxReport, Outcome, Totals, UidMap, UserReport},
    source::{Source, SourceError, SourceMailbox, SourceMessage},
    throttle::Throttle,
};

/// How to run an import.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Options<'a> {
    /// Read and check the source, write nothing.
    pub dry_run: bool,
    /// Limits on reading the source.
    pub throttle: Option<&'a Throttle>,
    /// Counts messages read, for progress display.
    pub progress: Option<&'a std::sync::atomic::AtomicU64>,
    /// Make each mailbox durable with [`Restore::sync_mailbox`] before it is renamed into
    /// place (and again after), for targets opened without per-message fsync.
    pub sync_per_mailbox: bool,
    /// A re-run also gives messages already copied the source's current flags (a final
    /// pass before cutover, the source still authoritative). Off: flags are copied once.
    pub sync_flags: bool,
    /// Messages read ahead and written to the target as one batch
    /// ([`Restore::restore_messages`]: one lock and one control-file commit per batch).
    /// The batch is written once it holds this many messages or [`Options::batch_bytes`]
    /// bytes, and at the end of the mailbox (default [`DEFAULT_BATCH_MESSAGES`]; 0 or 1
    /// writes every message on its own).
    pub batch_messages: usize,
    /// Bytes of messages a batch may hold before it is written (default
    /// [`DEFAULT_BATCH_BYTES`]): what one import worker buffers at most, plus one message.
    pub batch_bytes: usize,
}

/// Default [`Options::batch_messages`]: a typical folder goes in one batch.
pub const DEFAULT_BATCH_MESSAGES: usize = 256;
/// Default [`Options::batch_bytes`]: 8 MiB per worker.
pub const DEFAULT_BATCH_BYTES: usize = 8 << 20;

impl Default for Options<'_> {
    fn default() -> Self {
        Self::new(false, None)
    }
}

impl<'a> Options<'a> {
    /// Options for a dry run or a real one.
    pub fn new(dry_run: bool, throttle: Option<&'a Throttle>) -> Self {
        Self {
            dry_run,
            throttle,
            progress: None,
            sync_per_mailbox: false,
            sync_flags: false,
            batch_messages: DEFAULT_BATCH_MESSAGES,
            batch_bytes: DEFAULT_BATCH_BYTES,
        }
    }

    /// The same options, updating flags of messages already copied (see
    /// [`Options::sync_flags`]).
    #[must_use]
    pub fn with_sync_flags(mut self, sync: bool) -> Self {
        self.sync_flags = sync;
        self
    }

    /// The same options, writing batches of at most `messages` messages or `bytes` bytes
    /// (see [`Options::batch_messages`]).
    #[must_use]
    pub fn with_batches(mut self, messages: usize, bytes: usize) -> Self {
        self.batch_messages = messages;
        self.batch_bytes = bytes;
        self
    }

    /// The same options, syncing each mailbox at its end (see [`Options::sync_per_mailbox`]).
    #[must_use]
    pub fn with_sync_per_mailbox(mut self, sync: bool) -> Self {
        self.sync_per_mailbox = sync;
        self
    }

    /// The same options, counting messages read in `counter`.
    #[must_use]
    pub fn with_progress(mut self, counter: &'a std::sync::atomic::AtomicU64) -> Self {
        self.progress = Some(counter);
        self
    }
}

/// Why one mailbox failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Reading the source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The target store refused.
    #[error("target store: {0}")]
    Store(#[from] StoreError),
    /// The target already holds other mail under these identifiers.
    #[error("conflict: {0}")]
    Conflict(String),
}

/// The staging name a new mailbox is filled under before it is renamed into place.
pub fn staging_name(name: &MailboxName) -> MailboxName {
    let digest = Sha256::digest(name.as_str().as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    // Expect: one level of ASCII letters, digits and '-', not reserved, well under limits.
    MailboxName::new(&format!("Migrating-{hex}")).expect("a valid staging name")
}

/// Copies every mailbox of `source` into `user` on every store of `targets`: one store, or
/// each replica of a mirror set written directly (see the module documentation), so a run
/// killed between two replicas' writes is healed by the re-run on each replica's own state.
pub fn import_user(
    source: &mut dyn Source,
    targets: &[&dyn Restore],
    user: &UserId,
    options: Options<'_>,
) -> UserReport {
    let mut report = UserReport {
        user: user.as_str().to_owned(),
        errors: Vec::new(),
        mailboxes: Vec::new(),
    };
    let mut mailboxes = match source.mailboxes() {
        Ok(m) => m,
        Err(e) => {
            report.errors.push(e.to_string());
            return report;
        }
    };
    for skipped in source.skipped() {
        report.mailboxes.push(match &skipped {
            SourceError::Malformed { mailbox, .. } => {
                MailboxReport::failed(mailbox.clone(), &skipped)
            }
            _ => MailboxReport::failed("", &skipped),
        });
    }
    // Parents before children (so a parent is never auto-created empty first), INBOX first.
    mailboxes.sort_by(|a, b| {
        (!a.name.is_inbox(), a.name.as_str()).cmp(&(!b.name.is_inbox(), b.name.as_str()))
    });
    for mailbox in &mailboxes {
        let entry = match import_mailbox(source, targets, user, mailbox, options) {
            Ok(r) => r,
            Err(e) => MailboxReport::failed(mailbox.name.as_str(), e),
        };
        report.mailboxes.push(entry);
    }
    // The user's own files (subscriptions, the UIDVALIDITY record) live beside INBOX.
    let changed = report
        .mailboxes
        .iter()
        .any(|m| m.outcome == Outcome::Imported);
    if options.sync_per_mailbox && changed {
        for target in targets {
            if let Err(e) = target.sync_user_files(user) {
                report
                    .errors
                    .push(format!("making the user's files durable: {e}"));
            }
        }
    }
    report
}

/// What one walk over the source produced.
#[derive(Default)]
struct Walk {
    copied: u64,
    flags_updated: u64,
    totals: Totals,
    checksum: Checksum,
    map: UidMap,
    notes: Vec<String>,
}

/// One target store's state for the mailbox being imported.
struct Side<'t> {
    store: &'t dyn Restore,
    /// The staging name or the real one.
    work: MailboxName,
    /// UID → size and flags of what it already holds.
    present: BTreeMap<u32, (u64, Flags)>,
    uid_next: u32,
    modseq: u64,
    /// Whether this run changed anything besides copying messages.
    changed: bool,
    /// Whether this run copied messages into it.
    wrote: bool,
    /// Messages planned but not written yet: each record and its body's index in the
    /// shared [`Batch`].
    queued: Vec<(MessageMeta, usize)>,
}

impl<'t> Side<'t> {
    /// Finds or creates where to write, and reads what is there.
    fn open(
        store: &'t dyn Restore,
        user: &UserId,
        name: &MailboxName,
        validity: Option<UidValidity>,
    ) -> Result<(Self, MailboxView), StoreError> {
        let existing: BTreeSet<MailboxName> = store
            .list_mailboxes(user)?
            .into_iter()
            .map(|i| i.name)
            .collect();
        let staging = staging_name(name);
        let work = if existing.contains(name) {
            name.clone()
        } else {
            if !existing.contains(&staging) {
                // With the source's UIDVALIDITY from the start when it has one.
                match validity {
                    Some(v) => store.create_restored_mailbox(user, &staging, v)?,
                    None => store.create_mailbox(user, &staging, None)?,
                }
            }
            staging
        };
        let view = store.open(user, &work)?;
        let side = Side {
            store,
            changed: work != *name,
            work,
            present: view
                .messages
                .iter()
                .map(|m| (m.uid.get(), (m.size, m.flags.clone())))
                .collect(),
            uid_next: view.uid_next.get(),
            modseq: view.highest_modseq.get(),
            wrote: false,
            queued: Vec::new(),
        };
        Ok((side, view))
    }

    /// Queues one message for writing unless it is there already; whether it queued.
    fn put(
        &mut self,
        user: &UserId,
        incoming: &Incoming<'_>,
        walk: &mut Walk,
        sync_flags: bool,
    ) -> Result<bool, ImportError> {
        let &Incoming {
            uid,
            size,
            message: m,
            body_index,
        } = incoming;
        let notes = &mut walk.notes;
        if uid < self.uid_next {
            return match self.present.get(&uid) {
                Some((s, flags)) if *s == size => {
                    if sync_flags && *flags != m.flags {
                        self.modseq += 1;
                        let typed =
                            Uid::new(uid).ok_or_else(|| ImportError::Conflict("UID 0".into()))?;
                        self.store.restore_flags(
                            user,
                            &self.work,
                            typed,
                            &m.flags,
                            ModSeq::new(self.modseq),
                        )?;
                        self.changed = true;
                        walk.flags_updated += 1;
                    }
                    Ok(false)
                }
                Some(&(s, _)) => Err(ImportError::Conflict(format!(
                    "target UID {uid} holds a message of {s} bytes, the source's has {size}"
                ))),
                None => {
                    notes.push(format!("UID {uid} was expunged on the target; not copied"));
                    Ok(false)
                }
            };
        }
        self.modseq += 1;
        let typed = Uid::new(uid).ok_or_else(|| ImportError::Conflict("UID 0".into()))?;
        let meta = MessageMeta::new(
            typed,
            m.flags.clone(),
            size,
            m.internal_date,
            ModSeq::new(self.modseq),
        );
        self.queued.push((meta, body_index));
        self.uid_next = uid + 1;
        self.wrote = true;
        Ok(true)
    }

    /// Writes the queued messages as one batch.
    fn flush(&mut self, user: &UserId, bodies: &[Vec<u8>]) -> Result<(), StoreError> {
        let batch = self
            .queued
            .drain(..)
            .map(|(meta, i)| (meta, bodies.get(i).map_or(&[][..], Vec::as_slice)))
            .collect::<Vec<_>>();
        self.store.restore_messages(user, &self.work, &batch)
    }

    /// Raises UIDNEXT, makes the mailbox durable (with `sync`), renames it into place,
    /// subscribes.
    fn commit(
        &mut self,
        user: &UserId,
        name: &MailboxName,
        mailbox: &SourceMailbox,
        sync: bool,
    ) -> Result<(), StoreError> {
        if let Some(next) = mailbox.uid_next
            && next.get() > self.uid_next
            && let Some(top) = Uid::new(next.get() - 1)
        {
            self.modseq += 1;
            self.store
                .restore_expunge(user, &self.work, &[top], ModSeq::new(self.modseq))?;
            self.changed = true;
        }
        let sync = sync && (self.changed || self.wrote);
        if sync {
            self.store.sync_mailbox(user, &self.work)?;
        }
        if self.work != *name {
            self.store.rename_mailbox(user, &self.work, name)?;
            if sync {
                // The rename's directory entries (the messages are durable already).
                self.store.sync_mailbox_entry(user, name)?;
            }
        }
        if mailbox.subscribed {
            self.store.set_subscribed(user, name, true)?;
        }
        Ok(())
    }
}

/// Copies one mailbox (see the module documentation for the steps).
pub fn import_mailbox(
    source: &mut dyn Source,
    targets: &[&dyn Restore],
    user: &UserId,
    mailbox: &SourceMailbox,
    options: Options<'_>,
) -> Result<MailboxReport, ImportError> {
    let name = &mailbox.name;
    if options.dry_run || targets.is_empty() {
        let mut walk = Walk::default();
        let mut position = 0u32;
        walk_source(source, mailbox, options, &mut |m| {
            position += 1;
            let uid = m.uid.map_or(position, Uid::get);
            let body = crlf(&m.body);
            walk.checksum.add(uid, &body);
            walk.totals.messages += 1;
            walk.totals.bytes += body.len() as u64;
            walk.map.push(uid, uid);
            Ok(())
        })?;
        return Ok(finish_report(name, Outcome::Checked, walk, None));
    }
    let mut sides = Vec::new();
    let mut views = Vec::new();
    for store in targets {
        let (side, view) = Side::open(*store, user, name, mailbox.uid_validity)?;
        sides.push(side);
        views.push(view);
    }
    // The source's UIDVALIDITY; without one, that of a target copy with history (a resumed
    // run), else the first target's: every target ends up with the same.
    let wanted = mailbox
        .uid_validity
        .or_else(|| {
            views
                .iter()
                .find(|v| v.uid_next.get() > 1)
                .map(|v| v.uid_validity)
        })
        .or_else(|| views.first().map(|v| v.uid_validity))
        .ok_or_else(|| ImportError::Conflict("no target store".into()))?;
    for (side, view) in sides.iter_mut().zip(&views) {
        if view.uid_validity == wanted {
            continue;
        }
        if view.uid_next.get() == 1 && view.messages.is_empty() {
            side.store.adopt_uid_validity(user, &side.work, wanted)?;
            side.changed = true;
        } else {
            return Err(ImportError::Conflict(format!(
                "target mailbox has UIDVALIDITY {} and history; the import needs {wanted}",
                view.uid_validity
            )));
        }
    }
    let mut walk = Walk::default();
    let mut position = 0u32;
    let mut last_uid = 0u32;
    let mut failure = None;
    let mut pop3 = Vec::new();
    let mut batch = Batch::default();
    let walked = walk_source(source, mailbox, options, &mut |m: SourceMessage| {
        position += 1;
        let uid = m.uid.map_or(position, Uid::get);
        if uid <= last_uid {
            return Err(SourceError::Malformed {
                mailbox: name.as_str().to_owned(),
                reason: format!("UID {uid} after UID {last_uid}: UIDs must ascend"),
            });
        }
        last_uid = uid;
        let body = crlf(&m.body);
        let size = body.len() as u64;
        walk.checksum.add(uid, &body);
        walk.totals.messages += 1;
        walk.totals.bytes += size;
        walk.map.push(position_or_uid(&m, position), uid);
        if (m.pop3_uidl.is_some() || m.pop3_order.is_some())
            && let Some(typed) = Uid::new(uid)
        {
            pop3.push((typed, m.pop3_uidl.clone(), m.pop3_order));
        }
        let mut wrote = false;
        let incoming = Incoming {
            uid,
            size,
            message: &m,
            body_index: batch.bodies.len(),
        };
        let planned = sides.iter_mut().try_for_each(|side| {
            let queued = side.put(user, &incoming, &mut walk, options.sync_flags)?;
            wrote |= queued;
            Ok(())
        });
        let written = planned.and_then(|()| {
            if wrote {
                batch.push(m.body);
            }
            if batch.full(options) {
                batch.flush(&mut sides, user)?;
            }
            Ok(())
        });
        if let Err(e) = written {
            failure = Some(e);
            // Stops the walk; the real error is `failure`.
            return Err(SourceError::Remote("target store failed".into()));
        }
        walk.copied += u64::from(wrote);
        Ok(())
    });
    if let Some(e) = failure {
        return Err(e);
    }
    // What was read before the source failed is kept too, for a resumed run to go on from.
    batch.flush(&mut sides, user)?;
    if let Err(e) = walked {
        // Bad source data fails again on every re-run: drop our staging copy rather than
        // leave it in the user's folder list. A source that went away keeps it, to resume.
        if matches!(e, SourceError::Malformed { .. }) {
            for side in sides.iter().filter(|s| s.work != *name) {
                let _ = side.store.delete_mailbox(user, &side.work);
            }
        }
        return Err(e.into());
    }
    for side in &mut sides {
        if !pop3.is_empty() {
            side.store.restore_pop3(user, &side.work, &pop3)?;
        }
        side.commit(user, name, mailbox, options.sync_per_mailbox)?;
    }
    let changed = sides.iter().any(|s| s.changed);
    let outcome = if walk.copied > 0 || changed {
        Outcome::Imported
    } else {
        Outcome::Unchanged
    };
    // Every target must hold the same; the report shows the first that does not.
    let mut after = None;
    for (i, side) in sides.iter().enumerate() {
        let back = read_back(side.store, user, name)?;
        match &after {
            None => after = Some(back),
            Some(first) if first.totals != back.totals || first.uid_next != back.uid_next => {
                walk.notes.push(format!(
                    "target replica {i} differs from replica 0 ({} messages, UIDNEXT {})",
                    back.totals.messages, back.uid_next
                ));
                after = Some(back);
                break;
            }
            Some(_) => {}
        }
    }
    Ok(finish_report(name, outcome, walk, after))
}

/// One message read from the source, as each side plans it.
struct Incoming<'m> {
    /// The UID it gets.
    uid: u32,
    /// Its size with CRLF line ends.
    size: u64,
    message: &'m SourceMessage,
    /// Where its body will be in the [`Batch`].
    body_index: usize,
}

/// Message bodies read from the source and not yet written; each side queues its records.
#[derive(Default)]
struct Batch {
    bodies: Vec<Vec<u8>>,
    bytes: usize,
}

impl Batch {
    fn push(&mut self, body: Vec<u8>) {
        self.bytes += body.len();
        self.bodies.push(body);
    }

    fn full(&self, options: Options<'_>) -> bool {
        self.bodies.len() >= options.batch_messages.max(1) || self.bytes >= options.batch_bytes
    }

    /// Writes every side's queue, then forgets the bodies.
    fn flush(&mut self, sides: &mut [Side<'_>], user: &UserId) -> Result<(), ImportError> {
        for side in sides.iter_mut() {
            side.flush(user, &self.bodies)?;
        }
        self.bodies.clear();
        self.bytes = 0;
        Ok(())
    }
}

/// Where a message stood in the source: its UID, or its 1-based position.
fn position_or_uid(m: &SourceMessage, position: u32) -> u32 {
    m.uid.map_or(position, Uid::get)
}

fn walk_source(
    source: &mut dyn Source,
    mailbox: &SourceMailbox,
    options: Options<'_>,
    sink: &mut dyn FnMut(SourceMessage) -> Result<(), SourceError>,
) -> Result<(), SourceError> {
    source.messages(mailbox, &mut |m| {
        if let Some(t) = options.throttle {
            t.acquire(1);
        }
        if let Some(p) = options.progress {
            p.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        sink(m)
    })
}

/// The target's view of a committed mailbox: totals and checksum, plus UIDVALIDITY/UIDNEXT.
struct ReadBack {
    totals: Totals,
    uid_validity: u32,
    uid_next: u32,
}

fn read_back(
    target: &dyn Restore,
    user: &UserId,
    name: &MailboxName,
) -> Result<ReadBack, StoreError> {
    let view = target.open(user, name)?;
    let mut sum = Checksum::default();
    let mut totals = Totals::default();
    for m in &view.messages {
        let body = target.read(user, name, m.uid, ReadPart::Whole)?;
        sum.add(m.uid.get(), &body);
        totals.messages += 1;
        totals.bytes += body.len() as u64;
    }
    totals.checksum = sum.hex();
    Ok(ReadBack {
        totals,
        uid_validity: view.uid_validity.get(),
        uid_next: view.uid_next.get(),
    })
}

fn finish_report(
    name: &MailboxName,
    outcome: Outcome,
    walk: Walk,
    after: Option<ReadBack>,
) -> MailboxReport {
    let mut source = walk.totals;
    source.checksum = walk.checksum.hex();
    let (uid_validity, uid_next, target) = after
        .map(|a| (a.uid_validity, a.uid_next, a.totals))
        .unwrap_or_default();
    MailboxReport {
        mailbox: name.as_str().to_owned(),
        outcome,
        uid_validity,
        uid_next,
        copied: walk.copied,
        flags_updated: walk.flags_updated,
        source,
        target,
        uid_map: walk.map.into_runs(),
        notes: walk.notes,
    }
}

/// `body` with every bare LF as CRLF: the form the store presents and sizes messages in.
pub fn crlf(body: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let bare = |i: usize| body.get(i) == Some(&b'\n') && (i == 0 || body[i - 1] != b'\r');
    if !(0..body.len()).any(bare) {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len() + body.len() / 32);
    for (i, &b) in body.iter().enumerate() {
        if bare(i) {
            out.push(b'\r');
        }
        out.push(b);
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use maildir_store::{Flags, MailStore, MemStore, SystemFlag, UidValidity};

    use super::*;
    use crate::migrate::report::Outcome;

    /// A scripted source: one mailbox "Work" (UIDVALIDITY 77, UIDNEXT 20) with UIDs 3, 5, 9,
    /// two of them the same message (same Message-ID); it can drop the connection after
    /// `fail_after` messages, as a remote server going away mid-folder.
    struct Scripted {
        fail_after: Option<usize>,
    }

    fn work() -> MailboxName {
        MailboxName::new("Work").unwrap()
    }

    impl Source for Scripted {
        fn mailboxes(&mut self) -> Result<Vec<SourceMailbox>, SourceError> {
            Ok(vec![SourceMailbox {
                name: work(),
                uid_validity: UidValidity::new(77),
                uid_next: Uid::new(20),
                subscribed: true,
                message_count: Some(3),
            }])
        }

        fn messages(
            &mut self,
            _: &SourceMailbox,
            sink: &mut dyn FnMut(SourceMessage) -> Result<(), SourceError>,
        ) -> Result<(), SourceError> {
            for (i, uid) in [3u32, 5, 9].into_iter().enumerate() {
                if self.fail_after == Some(i) {
                    return Err(SourceError::Remote("connection reset mid-folder".into()));
                }
                let body = if uid == 9 { 3 } else { uid };
                sink(SourceMessage {
                    uid: Uid::new(uid),
                    flags: Flags::new().with(SystemFlag::Seen),
                    internal_date: UNIX_EPOCH + Duration::from_secs(u64::from(uid)),
                    pop3_uidl: None,
                    pop3_order: None,
                    body: format!("Message-ID: <{body}@x>\r\n\r\nbody {body}\r\n").into_bytes(),
                })?;
            }
            Ok(())
        }
    }

    fn names(store: &MemStore, user: &UserId) -> Vec<String> {
        store
            .list_mailboxes(user)
            .unwrap()
            .into_iter()
            .map(|i| i.name.as_str().to_owned())
            .collect()
    }

    #[test]
    fn a_source_gone_mid_folder_leaves_nothing_visible_and_a_rerun_finishes() {
        let store = MemStore::new();
        let user = UserId::new("ann").unwrap();
        let targets: [&dyn Restore; 1] = [&store];
        let options = Options::new(false, None);
        let report = import_user(
            &mut Scripted {
                fail_after: Some(2),
            },
            &targets,
            &user,
            options,
        );
        assert_eq!(report.mailboxes[0].outcome, Outcome::Failed);
        assert!(report.mailboxes[0].notes[0].contains("connection reset"));
        assert!(
            !names(&store, &user).contains(&"Work".to_owned()),
            "not visible half done"
        );

        let report = import_user(&mut Scripted { fail_after: None }, &targets, &user, options);
        assert!(report.ok(), "{report}");
        assert_eq!(
            report.mailboxes[0].copied, 1,
            "only the message still missing"
        );
        let view = store.open(&user, &work()).unwrap();
        assert_eq!(view.uid_validity.get(), 77);
        assert_eq!(view.uid_next.get(), 20);
        let uids: Vec<u32> = view.messages.iter().map(|m| m.uid.get()).collect();
        assert_eq!(
            uids,
            [3, 5, 9],
            "the duplicate Message-ID is kept: nothing is lost"
        );
        assert_eq!(names(&store, &user), ["INBOX", "Work"]);

        let again = import_user(&mut Scripted { fail_after: None }, &targets, &user, options);
        assert_eq!(again.mailboxes[0].outcome, Outcome::Unchanged);
    }

    #[test]
    fn sync_flags_brings_copied_messages_to_the_source_flags() {
        let store = MemStore::new();
        let user = UserId::new("ann").unwrap();
        let targets: [&dyn Restore; 1] = [&store];
        let plain = Options::new(false, None);
        assert!(import_user(&mut Scripted { fail_after: None }, &targets, &user, plain).ok());
        // Someone changed flags on the target copy (or the source changed since).
        let uids: Vec<Uid> = [3, 5, 9].into_iter().filter_map(Uid::new).collect();
        let flagged = maildir_store::FlagChange::Replace(Flags::new().with(SystemFlag::Flagged));
        store
            .store_flags(&user, &work(), &uids, &flagged, None)
            .unwrap();
        let again = import_user(&mut Scripted { fail_after: None }, &targets, &user, plain);
        assert_eq!(
            again.mailboxes[0].outcome,
            Outcome::Unchanged,
            "flags copied once"
        );
        let sync = plain.with_sync_flags(true);
        let synced = import_user(&mut Scripted { fail_after: None }, &targets, &user, sync);
        assert_eq!(synced.mailboxes[0].flags_updated, 3);
        assert_eq!(synced.mailboxes[0].outcome, Outcome::Imported);
        let view = store.open(&user, &work()).unwrap();
        assert!(
            view.messages
                .iter()
                .all(|m| m.flags == Flags::new().with(SystemFlag::Seen))
        );
        let idle = import_user(&mut Scripted { fail_after: None }, &targets, &user, sync);
        assert_eq!(idle.mailboxes[0].outcome, Outcome::Unchanged);
    }

    #[test]
    fn a_target_with_other_history_is_a_conflict_not_a_merge() {
        let store = MemStore::new();
        let user = UserId::new("ann").unwrap();
        store.create_mailbox(&user, &work(), None).unwrap();
        let msg = b"Subject: local\r\n\r\nx\r\n";
        store
            .append(
                &user,
                &work(),
                &mut &msg[..],
                &maildir_store::AppendRequest::new(UNIX_EPOCH),
            )
            .unwrap();
        let targets: [&dyn Restore; 1] = [&store];
        let report = import_user(
            &mut Scripted { fail_after: None },
            &targets,
            &user,
            Options::new(false, None),
        );
        assert_eq!(report.mailboxes[0].outcome, Outcome::Failed);
        assert!(
            report.mailboxes[0].notes[0].contains("UIDVALIDITY"),
            "{report}"
        );
        assert_eq!(store.open(&user, &work()).unwrap().messages.len(), 1);
    }

    #[test]
    fn two_targets_end_identical_after_one_was_interrupted() {
        let (a, b) = (MemStore::new(), MemStore::new());
        let user = UserId::new("ann").unwrap();
        // Only `a` got the first attempt (a kill between the replicas' writes).
        let _ = import_user(
            &mut Scripted {
                fail_after: Some(2),
            },
            &[&a as &dyn Restore],
            &user,
            Options::new(false, None),
        );
        let targets: [&dyn Restore; 2] = [&a, &b];
        let report = import_user(
            &mut Scripted { fail_after: None },
            &targets,
            &user,
            Options::new(false, None),
        );
        assert!(report.ok(), "{report}");
        let diff = maildir_store::mirror::differences(&a, &b, &user).unwrap();
        assert!(diff.is_empty(), "{diff:?}");
    }

    #[test]
    fn crlf_expands_bare_lf_only() {
        assert_eq!(&*crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert_eq!(&*crlf(b"\n"), b"\r\n");
        assert_eq!(&*crlf(b"x\r\n"), b"x\r\n");
        assert!(matches!(crlf(b"x\r\n"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn staging_names_are_valid_and_distinct() {
        let a = staging_name(&MailboxName::new("Sent").unwrap());
        let b = staging_name(&MailboxName::new("Archive/2024").unwrap());
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("Migrating-"));
        assert_eq!(a, staging_name(&MailboxName::new("Sent").unwrap()));
    }
}
