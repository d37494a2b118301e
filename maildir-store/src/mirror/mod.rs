//! `Mirror`: one [`MailStore`] over two replicas on independent disk arrays.
//!
//! # Writes (DESIGN.md M1)
//! Every change is queued to both replicas at once, each served by its own small pool of
//! threads with a bounded queue ([`Options::workers_per_replica`], [`Options::queue_depth`]).
//! The call returns `Ok` only when every healthy replica has made the change durable. Changes
//! of one user are applied in the same order on both sides (one user's writes are serialised
//! by the mirror), so both replicas hand out the same UIDs, UIDVALIDITY, MODSEQs and UIDLs;
//! the mirror compares what the two sides answered and fences the secondary if they ever
//! disagree, so a client never sees two identities for one message (M5). Each replica
//! creates a new mailbox (or a user's INBOX) itself; the mirror then gives the secondary the
//! primary's UIDVALIDITY ([`Restore::adopt_uid_validity`]).
//!
//! A full queue makes the writer wait, up to the deadline, for room (backpressure); only a
//! replica that stays full that long counts as hung.
//!
//! # Reads
//! From the preferred healthy replica (the primary unless it is fenced); a fault there fences
//! it and the read is answered by the other.
//!
//! # Fencing (M2)
//! A replica that answers with an IO-level error (EIO, ENOSPC, EROFS, a vanished mount or
//! marker, permission loss, a lock timeout, damage), whose queue is full, or that misses
//! [`Options::deadline`] (default 2 s) is fenced: a new epoch naming it stale is written
//! durably to the other replica's mirror-state record ([`Replica::write_mirror_state`])
//! **before** the pending call is acknowledged by the survivor alone. If that record cannot be
//! written the call fails: nothing is ever acknowledged on one replica without the record. A
//! failed call is never retried on the replica that failed it (fsyncgate: a failed fsync's
//! data may be gone). A fenced replica gets no further jobs; threads stuck in its hung IO stay
//! stuck, but no more work or memory is queued behind them.
//!
//! When both replicas fail the same call, nothing is fenced and the error is returned
//! (both full: the caller answers `452 4.3.1` / `NO [OVERQUOTA]`).
//!
//! # Start-up (M3, M4)
//! [`Mirror::open`] reads both records. A side recorded stale by the other, a blank side
//! next to a recorded one, or the side with the older epoch starts fenced: it is only ever a
//! resync target, never a source. Each side recording the other as stale (split brain,
//! THREATS.md MIR-08) is refused. One unreadable side is fenced if the other's record proves
//! it is the survivor; otherwise start-up is refused unless [`Options::trust_lone_replica`]
//! is set by an operator, because a lone replica cannot tell whether its peer moved on
//! without it. A root that cannot even be opened is passed in as [`Unavailable`].
//!
//! Two replicas without records form a new set only if the secondary is empty; an empty
//! secondary next to a populated primary starts fenced and is filled by resync.
//!
//! A writer killed between the two replicas' answers leaves them different with no fence
//! recorded. The first time a process serves a user it therefore compares the mailbox list
//! and INBOX on both sides and fences the secondary if they differ; other mailboxes are
//! checked by their next write (its UIDs or modseqs disagree).
//!
//! # Resync
//! A fenced replica is only a resync target: [`Mirror::resync_user`] and [`Mirror::rejoin`]
//! copy the survivor's state to it with the survivor's identifiers (see the `resync` module
//! notes), and `rejoin` readmits it under a new epoch. [`Mirror::rejoin_verified`] also
//! compares every message's bytes (after an IO error, MIR-02). [`Mirror::lag`] and
//! [`ResyncReport`] show how far behind it is.
//!
//! # Known limits
//! - One user's writes are serialised inside one process. Two processes (front-ends)
//!   writing the same user through their own `Mirror`s can apply changes in different orders
//!   on the two replicas; the answers then disagree and the secondary is fenced (safe, but a
//!   needless resync). A cross-process per-user lock is later work.
//! - Health is shared between processes through the records, with a delay: a fence is
//!   recorded durably on the survivor, and another process serving the same set adopts it
//!   when it next re-reads the records ([`Mirror::refresh_health`], before a write at most
//!   every [`Options::health_refresh`], default 1 s). Until then it keeps writing to both
//!   replicas, which is safe for its own acknowledgements; a double fault seen differently
//!   by two processes inside that window ends as split brain, refused at the next start
//!   and repaired with [`Mirror::merge_split`].
//! - APPEND reads the whole message into memory once (both replicas need it); the caller's
//!   message size limit bounds it.
//! - Expunge tombstones are pruned by count ([`crate::maildir::Options::max_tombstones`]).
//!   A resync whose journal pass would need pruned ones compares everything instead (a
//!   message the target has and the survivor lacks is dropped, so nothing comes back). A
//!   split-brain merge cannot tell a message one side expunged so long ago that its tombstone
//!   is pruned from one the other side never had: it keeps it (under a fresh UID), never
//!   losing mail at the price of a resurrected expunge.
//! - Resync of an INBOX whose UIDVALIDITY differs and that already holds mail, or of a
//!   mailbox where one UID names different messages on the two sides, is refused
//!   ([`StoreError::ReplicasDiverged`]); rebuilding such a mailbox is operator work for now.
//!
//! # Double fault
//! A set refused as split brain (both sides took writes) is brought back by an operator with
//! [`Mirror::merge_split`]: a merge by message identity in the manner of Cyrus (conflicting
//! messages get fresh UIDs after the last one, UIDVALIDITY is kept, expunges are honoured,
//! no message is dropped), then a resync and rejoin ([`MergeReport`]).
//!
//! # Scrub
//! [`Mirror::scrub`] is a separate verify-and-repair pass over a serving set: each replica's
//! control files against its message files, then both replicas' metadata and message
//! checksums compared; a side the evidence names damaged is fenced, its damaged mailboxes are
//! refilled from the other side, and it is readmitted once equal. Progress goes to a
//! callback; the [`ScrubReport`] lists every finding.
//!
//! # Several sets
//! A whole `Mirror` is a [`Restore`] store (restore calls go to both replicas like any
//! write), so [`crate::placement::Placement`] can spread users over several sets and move a
//! user live from one set to another with the same identifiers.

mod as_restore;
mod compare;
mod faulty;
mod merge;
mod replica;
mod resync;
mod scrub;
mod state;
mod unavailable;
mod worker;

use std::{
    collections::{HashMap, HashSet},
    io::Read,
    sync::{Arc, Mutex, MutexGuard, RwLock},
    time::{Duration, Instant},
};

pub(crate) use self::compare::metadata_differences;
pub(crate) use self::replica::check_ascending;
pub use self::{
    compare::differences,
    faulty::{Fault, FaultyStore, Scope},
    merge::MergeReport,
    replica::{MIRROR_STATE_FILE, Replica, Restore},
    resync::ResyncReport,
    scrub::{ScrubFinding, ScrubProgress, ScrubReport},
    unavailable::Unavailable,
};
use self::{
    state::{Plan, Record, Seen},
    worker::{NoAnswer, Worker},
};
use crate::{
    error::StoreError,
    mailbox_name::MailboxName,
    store::MailStore,
    types::{
        AppendRequest, ChangeSet, CopyResult, ExpungeSelector, FlagChange, MailboxInfo,
        MailboxView, ModSeq, Pop3Entry, QuotaUsage, ReadPart, SpecialUse, StoreOutcome, Uid,
        UidValidity, UserId,
    },
};

/// One side of a mirror set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The replica that allocates identifiers and serves reads while healthy.
    Primary,
    /// The other replica.
    Secondary,
}

impl Side {
    /// 0 for the primary, 1 for the secondary (the number in the mirror-state record).
    pub fn index(self) -> usize {
        match self {
            Self::Primary => 0,
            Self::Secondary => 1,
        }
    }

    /// The other side.
    pub fn other(self) -> Self {
        match self {
            Self::Primary => Self::Secondary,
            Self::Secondary => Self::Primary,
        }
    }

    const BOTH: [Self; 2] = [Self::Primary, Self::Secondary];
}

/// Tuning for [`Mirror`]. Every field has a documented default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// How long a replica may take to answer one call before it is fenced (default 2 s,
    /// DESIGN.md M2).
    pub deadline: Duration,
    /// Threads serving each replica (default 4).
    pub workers_per_replica: usize,
    /// Calls that may wait for a replica's threads before it counts as hung (default 64).
    /// Together with the threads this bounds the memory a hung replica can hold.
    pub queue_depth: usize,
    /// Start with only one readable replica even when its record does not prove it was the
    /// survivor (default `false`). An operator override: the lone replica may be stale.
    pub trust_lone_replica: bool,
    /// Users whose INBOX this process has already aligned on both replicas (default 100,000;
    /// beyond it the set is cleared, and each user is aligned once more on next use).
    pub remembered_users: usize,
    /// How often a write first re-reads both mirror-state records, to learn of a fence or a
    /// rejoin another process (front-end) sharing the replicas recorded (default 1 s; zero
    /// re-reads before every write). See [`Mirror::refresh_health`].
    pub health_refresh: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(2),
            workers_per_replica: 4,
            queue_depth: 64,
            trust_lone_replica: false,
            remembered_users: 100_000,
            health_refresh: Duration::from_secs(1),
        }
    }
}

/// Why a replica was fenced, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fenced {
    /// What happened.
    pub reason: String,
    /// The epoch recorded on the survivor when it was fenced.
    pub epoch: u64,
}

/// The health of a mirror set, for monitoring and the admin CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MirrorStatus {
    /// The current epoch.
    pub epoch: u64,
    /// The primary's fence, if it is fenced.
    pub primary: Option<Fenced>,
    /// The secondary's fence, if it is fenced.
    pub secondary: Option<Fenced>,
}

#[derive(Debug)]
struct Health {
    epoch: u64,
    fenced: [Option<Fenced>; 2],
}

/// A [`MailStore`] that keeps every mailbox on two replicas (see the module docs).
#[derive(Debug)]
pub struct Mirror {
    workers: [Worker; 2],
    options: Options,
    health: Mutex<Health>,
    /// Serialises fencing decisions (one record write at a time).
    fencing: Mutex<()>,
    /// One lock per user with writes in flight, so both sides apply them in the same order.
    users: Mutex<HashMap<UserId, Arc<Mutex<()>>>>,
    /// Held shared by every write and exclusively by [`Mirror::rejoin`]'s last pass.
    barrier: RwLock<()>,
    /// Users whose INBOX has the same UIDVALIDITY on both sides (see [`Mirror::ensure_user`]).
    aligned: Mutex<HashSet<UserId>>,
    /// When the records were last re-read (see [`Mirror::refresh_health`]).
    refreshed: Mutex<Instant>,
}

/// What one replica answered to one call.
enum Outcome<R> {
    Answer(Result<R, StoreError>),
    /// A fault that fences the replica.
    Fault(String),
    /// Not asked (fenced already).
    Skipped,
}

/// True for errors that say the replica itself is unwell, not that the request was wrong.
fn is_fault(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Io { .. }
            | StoreError::ReplicaUnavailable { .. }
            | StoreError::LockTimeout
            | StoreError::Corrupt { .. }
    )
}

fn classify<R>(answer: Result<Result<R, StoreError>, NoAnswer>) -> Outcome<R> {
    match answer {
        Ok(Err(e)) if is_fault(&e) => Outcome::Fault(e.to_string()),
        Ok(r) => Outcome::Answer(r),
        Err(NoAnswer::Deadline) => Outcome::Fault("missed the deadline".into()),
        Err(NoAnswer::QueueFull) => Outcome::Fault("queue full (replica hung?)".into()),
        Err(NoAnswer::Lost) => Outcome::Fault("worker lost".into()),
    }
}

/// True when two answers to the same call agree (same value, or the same kind of error).
fn agree<R: PartialEq>(a: &Result<R, StoreError>, b: &Result<R, StoreError>) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x == y,
        (Err(x), Err(y)) => std::mem::discriminant(x) == std::mem::discriminant(y),
        _ => false,
    }
}

/// For [`crate::fuzzing`]: parses a mirror-state record and writes it back out.
pub(crate) fn fuzz_record_round_trip(text: &str) -> Option<String> {
    Record::parse(text).map(Record::to_text)
}

type Call<R> = Arc<dyn Fn(&dyn Replica) -> Result<R, StoreError> + Send + Sync>;

/// A call queued on one side: `None` when that side is fenced.
type Queued<R> = Option<Result<worker::Pending<Result<R, StoreError>>, NoAnswer>>;

impl Mirror {
    /// Opens a mirror set over two replicas, reading both mirror-state records to decide which
    /// sides may serve (see "Start-up" in the module docs).
    pub fn open(
        primary: Arc<dyn Replica>,
        secondary: Arc<dyn Replica>,
        options: Options,
    ) -> Result<Self, StoreError> {
        let mirror = Self::with_workers(primary, secondary, options)?;
        mirror.start_up()?;
        Ok(mirror)
    }

    /// A pairing that copies one store into another with the same identifiers (a move
    /// between mirror sets): `target` starts fenced, as a resync target, in memory only;
    /// nothing is recorded on either side.
    pub(crate) fn pairing(
        source: Arc<dyn Replica>,
        target: Arc<dyn Replica>,
        options: Options,
    ) -> Result<Self, StoreError> {
        let pair = Self::with_workers(source, target, options)?;
        pair.lock_health().fenced[Side::Secondary.index()] = Some(Fenced {
            reason: "copy target".into(),
            epoch: 0,
        });
        Ok(pair)
    }

    /// The set's threads and state, before either record is read.
    fn with_workers(
        primary: Arc<dyn Replica>,
        secondary: Arc<dyn Replica>,
        options: Options,
    ) -> Result<Self, StoreError> {
        let start = |name: &str, r: Arc<dyn Replica>| {
            Worker::start(name, r, options.workers_per_replica, options.queue_depth)
                .map_err(StoreError::io("starting mirror worker threads"))
        };
        let workers = [start("mirror-p", primary)?, start("mirror-s", secondary)?];
        let mirror = Self {
            workers,
            options,
            health: Mutex::new(Health {
                epoch: 0,
                fenced: [None, None],
            }),
            fencing: Mutex::new(()),
            users: Mutex::new(HashMap::new()),
            aligned: Mutex::new(HashSet::new()),
            refreshed: Mutex::new(Instant::now()),
            barrier: RwLock::new(()),
        };
        Ok(mirror)
    }

    fn start_up(&self) -> Result<(), StoreError> {
        let seen = Side::BOTH.map(|side| {
            let answer = self.ask(side, Arc::new(|r: &dyn Replica| r.read_mirror_state()));
            match classify(answer) {
                Outcome::Answer(Ok(None)) => Seen::Blank,
                Outcome::Answer(Ok(Some(text))) => match Record::parse(&text) {
                    Some(r) => Seen::Has(r),
                    None => Seen::Failed,
                },
                _ => Seen::Failed,
            }
        });
        let unavailable = |reason: &str| StoreError::ReplicaUnavailable {
            reason: format!("mirror set: {reason}"),
        };
        match state::decide(seen[0], seen[1], self.options.trust_lone_replica) {
            Plan::Refuse(why) => Err(unavailable(why)),
            Plan::InSync(epoch) => {
                self.lock_health().epoch = epoch;
                Ok(())
            }
            Plan::Fresh(epoch) => {
                // Two trees with no records are only "in sync" when the secondary is empty;
                // an empty secondary next to a populated primary is a resync target, and two
                // populated ones are an operator's call.
                let users = |side| self.on(side, Arc::new(|r: &dyn Replica| r.users()));
                let populated =
                    [users(Side::Primary)?, users(Side::Secondary)?].map(|u| !u.is_empty());
                match populated {
                    [_, false] => {}
                    [false, true] => {
                        return Err(unavailable(
                            "a new set's primary is empty but its secondary holds mail: swap them",
                        ));
                    }
                    [true, true] => {
                        return Err(unavailable(
                            "a new set needs an empty secondary (initialise one and resync)",
                        ));
                    }
                }
                if populated[0] {
                    let record = Record {
                        epoch: epoch + 1,
                        stale: Some(Side::Secondary),
                    };
                    self.write_record(Side::Primary, record)
                        .map_err(|why| unavailable(&format!("new set: {why}")))?;
                    let mut h = self.lock_health();
                    h.epoch = epoch + 1;
                    h.fenced[1] = Some(Fenced {
                        reason: "new, empty secondary: resync it".into(),
                        epoch: epoch + 1,
                    });
                    return Ok(());
                }
                let record = Record { epoch, stale: None };
                for side in Side::BOTH {
                    self.write_record(side, record)
                        .map_err(|why| unavailable(&format!("new set: {why}")))?;
                }
                self.lock_health().epoch = epoch;
                Ok(())
            }
            Plan::Degraded {
                stale,
                epoch,
                write,
            } => {
                if write {
                    let record = Record {
                        epoch,
                        stale: Some(stale),
                    };
                    self.write_record(stale.other(), record)
                        .map_err(|why| unavailable(&format!("recording fence: {why}")))?;
                }
                let mut h = self.lock_health();
                h.epoch = epoch;
                h.fenced[stale.index()] = Some(Fenced {
                    reason: "stale or unreadable at start-up".into(),
                    epoch,
                });
                Ok(())
            }
        }
    }

    /// The set's health now.
    pub fn status(&self) -> MirrorStatus {
        let h = self.lock_health();
        MirrorStatus {
            epoch: h.epoch,
            primary: h.fenced[0].clone(),
            secondary: h.fenced[1].clone(),
        }
    }

    fn lock_health(&self) -> MutexGuard<'_, Health> {
        // Plain values only; a poisoned lock is still consistent.
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_fenced(&self, side: Side) -> bool {
        self.lock_health().fenced[side.index()].is_some()
    }

    /// Runs `call` on one replica and waits at most the deadline.
    fn ask<R: Send + 'static>(
        &self,
        side: Side,
        call: Call<R>,
    ) -> Result<Result<R, StoreError>, NoAnswer> {
        let deadline = Instant::now() + self.options.deadline;
        let worker = &self.workers[side.index()];
        worker.submit(move |r| call(r), deadline)?.wait(deadline)
    }

    fn write_record(&self, side: Side, record: Record) -> Result<(), String> {
        let text = record.to_text();
        let call: Call<()> = Arc::new(move |r| r.write_mirror_state(&text));
        match classify(self.ask(side, call)) {
            Outcome::Answer(Ok(())) => Ok(()),
            Outcome::Answer(Err(e)) => Err(e.to_string()),
            Outcome::Fault(why) => Err(why),
            Outcome::Skipped => Err("not asked".into()),
        }
    }

    /// Fences `side`: records it stale on the other side durably, then stops using it.
    /// Fails when the record cannot be written (the other side is unwell too).
    fn fence(&self, side: Side, reason: &str) -> Result<(), StoreError> {
        let _one_at_a_time = self.fencing.lock().unwrap_or_else(|e| e.into_inner());
        let epoch = {
            let h = self.lock_health();
            if h.fenced[side.index()].is_some() {
                return Ok(());
            }
            if h.fenced[side.other().index()].is_some() {
                return Err(StoreError::ReplicaUnavailable {
                    reason: format!("{side:?} failed ({reason}) and its peer is fenced"),
                });
            }
            h.epoch + 1
        };
        let record = Record {
            epoch,
            stale: Some(side),
        };
        self.write_record(side.other(), record)
            .map_err(|why| StoreError::ReplicaUnavailable {
                reason: format!(
                    "{side:?} failed ({reason}); recording that on its peer failed too: {why}"
                ),
            })?;
        let mut h = self.lock_health();
        h.epoch = epoch;
        h.fenced[side.index()] = Some(Fenced {
            reason: reason.to_owned(),
            epoch,
        });
        Ok(())
    }

    fn user_lock(&self, user: &UserId) -> Arc<Mutex<()>> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(users.entry(user.clone()).or_default())
    }

    fn release_user(&self, user: &UserId, lock: Arc<Mutex<()>>) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        // Two references left (the map's and ours): nobody else is waiting for this user.
        if Arc::strong_count(&lock) == 2 {
            users.remove(user);
        }
    }

    /// Runs `f` holding the user's write lock.
    fn with_user<R>(&self, user: &UserId, f: impl FnOnce() -> R) -> R {
        let _not_rejoining = self.barrier.read().unwrap_or_else(|e| e.into_inner());
        let lock = self.user_lock(user);
        let result = {
            let _in_order = lock.lock().unwrap_or_else(|e| e.into_inner());
            f()
        };
        self.release_user(user, lock);
        result
    }

    /// A change: both healthy replicas at once, acknowledged when every healthy one answered.
    fn write<R: PartialEq + Send + 'static>(
        &self,
        user: &UserId,
        call: Call<R>,
    ) -> Result<R, StoreError> {
        self.ensure_user(user)?;
        self.refresh_if_due();
        self.with_user(user, || self.write_locked(call))
    }

    fn refresh_if_due(&self) {
        {
            let mut at = self.refreshed.lock().unwrap_or_else(|e| e.into_inner());
            if at.elapsed() < self.options.health_refresh {
                return;
            }
            *at = Instant::now();
        }
        // A record that cannot be read now is the next write's business: that write fences.
        let _ = self.refresh_health();
    }

    /// Re-reads the mirror-state record of each serving replica and adopts what another
    /// process sharing these replicas recorded there since (an epoch newer than ours): a side
    /// it fenced stops getting writes here too; a rejoin (recorded on the survivor last, so
    /// seeing it there means both sides have it) readmits a side this process had fenced.
    /// A fenced replica's record is not read (it may be hung). Writes call this every
    /// [`Options::health_refresh`]; it never writes a record, so it cannot fence anything.
    pub fn refresh_health(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self.fencing.lock().unwrap_or_else(|e| e.into_inner());
        for side in Side::BOTH {
            if self.is_fenced(side) {
                continue;
            }
            let text = self.on(side, Arc::new(|r: &dyn Replica| r.read_mirror_state()))?;
            let Some(record) = text.and_then(|t| Record::parse(&t)) else {
                continue;
            };
            let mut h = self.lock_health();
            if record.epoch <= h.epoch {
                continue;
            }
            h.epoch = record.epoch;
            match record.stale {
                Some(stale) => {
                    h.fenced[stale.index()] = Some(Fenced {
                        reason: "fenced by another process sharing the replicas".into(),
                        epoch: record.epoch,
                    });
                }
                None => h.fenced = [None, None],
            }
        }
        Ok(())
    }

    /// Makes sure the user's INBOX has one UIDVALIDITY on both sides before anything else
    /// touches it: each replica creates a missing INBOX itself, at slightly different times.
    fn ensure_user(&self, user: &UserId) -> Result<(), StoreError> {
        let known = |aligned: &HashSet<UserId>| aligned.contains(user);
        if known(&self.aligned.lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok(());
        }
        self.with_user(user, || {
            self.align_locked(user, &MailboxName::inbox())?;
            self.check_in_sync_locked(user)
        })?;
        let mut aligned = self.aligned.lock().unwrap_or_else(|e| e.into_inner());
        if aligned.len() >= self.options.remembered_users {
            aligned.clear();
        }
        aligned.insert(user.clone());
        Ok(())
    }

    /// A writer killed between the two replicas' answers leaves them different with no
    /// fence recorded. So the first time this process serves a user, both sides must show
    /// the same mailbox list and the same INBOX (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ);
    /// otherwise the secondary is fenced for resync. (Other mailboxes are checked by their
    /// next write, whose UIDs or modseqs then disagree.)
    fn check_in_sync_locked(&self, user: &UserId) -> Result<(), StoreError> {
        let u = user.clone();
        let call: Call<(Vec<MailboxName>, MailboxView)> = Arc::new(move |r| {
            let names = r.list_mailboxes(&u)?.into_iter().map(|i| i.name).collect();
            let mut inbox = r.open(&u, &MailboxName::inbox())?;
            inbox.messages.clear();
            Ok((names, inbox))
        });
        self.write_locked(call).map(|_| ())
    }

    /// Gives a just-created mailbox the primary's UIDVALIDITY on the secondary too. The
    /// caller holds the user's lock.
    fn align_locked(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        let (u, n) = (user.clone(), name.clone());
        let call: Call<UidValidity> = Arc::new(move |r| Ok(r.open(&u, &n)?.uid_validity));
        let deadline = Instant::now() + self.options.deadline;
        let [p, s] = self
            .submit_both(&call, deadline)
            .map(|p| Self::collect(p, deadline));
        let want = match (&p, &s) {
            (Outcome::Answer(Ok(vp)), Outcome::Answer(Ok(vs))) if vp != vs => *vp,
            _ => return self.settle(p, s).map(|_| ()),
        };
        let (u, n) = (user.clone(), name.clone());
        let adopt: Call<()> = Arc::new(move |r| r.adopt_uid_validity(&u, &n, want));
        match classify(self.ask(Side::Secondary, adopt)) {
            Outcome::Answer(Ok(())) => Ok(()),
            Outcome::Answer(Err(e)) => self.fence(Side::Secondary, &e.to_string()),
            Outcome::Fault(why) => self.fence(Side::Secondary, &why),
            Outcome::Skipped => Ok(()),
        }
    }

    /// Queues `call` on every healthy side.
    fn submit_both<R: Send + 'static>(&self, call: &Call<R>, deadline: Instant) -> [Queued<R>; 2] {
        Side::BOTH.map(|side| {
            if self.is_fenced(side) {
                return None;
            }
            let call = Arc::clone(call);
            Some(self.workers[side.index()].submit(move |r| call(r), deadline))
        })
    }

    fn collect<R>(pending: Queued<R>, deadline: Instant) -> Outcome<R> {
        match pending {
            None => Outcome::Skipped,
            Some(Err(no)) => classify(Err(no)),
            Some(Ok(pending)) => classify(pending.wait(deadline)),
        }
    }

    fn write_locked<R: PartialEq + Send + 'static>(&self, call: Call<R>) -> Result<R, StoreError> {
        let deadline = Instant::now() + self.options.deadline;
        let [p, s] = self
            .submit_both(&call, deadline)
            .map(|p| Self::collect(p, deadline));
        self.settle(p, s)
    }

    /// Turns the two outcomes of one write into its result, fencing as needed.
    fn settle<R: PartialEq>(&self, p: Outcome<R>, s: Outcome<R>) -> Result<R, StoreError> {
        use Outcome::{Answer, Fault, Skipped};
        match (p, s) {
            (Answer(a), Answer(b)) => {
                if !agree(&a, &b) {
                    self.fence(Side::Secondary, "answered differently from the primary")?;
                }
                a
            }
            (Answer(a), Skipped) | (Skipped, Answer(a)) => a,
            (Answer(a), Fault(why)) => {
                self.fence(Side::Secondary, &why)?;
                a
            }
            (Fault(why), Answer(b)) => {
                self.fence(Side::Primary, &why)?;
                b
            }
            (Fault(p), Fault(s)) => Err(StoreError::ReplicaUnavailable {
                reason: format!("both replicas failed: primary: {p}; secondary: {s}"),
            }),
            (Fault(why), Skipped) | (Skipped, Fault(why)) => Err(StoreError::ReplicaUnavailable {
                reason: format!("the only healthy replica failed: {why}"),
            }),
            (Skipped, Skipped) => Err(StoreError::ReplicaUnavailable {
                reason: "no healthy replica".into(),
            }),
        }
    }

    /// A read: the preferred healthy replica, then the other if that one faults.
    fn read_any<R: Send + 'static>(&self, user: &UserId, call: Call<R>) -> Result<R, StoreError> {
        self.ensure_user(user)?;
        let mut last = String::from("no healthy replica");
        for side in Side::BOTH {
            if self.is_fenced(side) {
                continue;
            }
            match classify(self.ask(side, Arc::clone(&call))) {
                Outcome::Answer(r) => return r,
                Outcome::Fault(why) => {
                    // Fenced before the other side answers alone; if that fails, so do we.
                    self.fence(side, &why)?;
                    last = why;
                }
                Outcome::Skipped => {}
            }
        }
        Err(StoreError::ReplicaUnavailable { reason: last })
    }
}

impl MailStore for Mirror {
    fn list_mailboxes(&self, user: &UserId) -> Result<Vec<MailboxInfo>, StoreError> {
        let u = user.clone();
        self.read_any(user, Arc::new(move |r| r.list_mailboxes(&u)))
    }

    fn subscriptions(&self, user: &UserId) -> Result<Vec<MailboxName>, StoreError> {
        let u = user.clone();
        self.read_any(user, Arc::new(move |r| r.subscriptions(&u)))
    }

    fn create_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreError> {
        self.ensure_user(user)?;
        let (u, n) = (user.clone(), name.clone());
        let call: Call<()> = Arc::new(move |r| r.create_mailbox(&u, &n, special_use));
        self.with_user(user, || {
            self.write_locked(call)?;
            // The new mailbox and any parents it brought along, each on both sides.
            let mut next = Some(name.clone());
            while let Some(n) = next {
                if !n.is_inbox() {
                    self.align_locked(user, &n)?;
                }
                next = n.parent();
            }
            Ok(())
        })
    }

    fn delete_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.write(user, Arc::new(move |r| r.delete_mailbox(&u, &n)))
    }

    fn rename_mailbox(
        &self,
        user: &UserId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<(), StoreError> {
        if from.is_inbox() {
            // Through the mirror's own calls, so the new mailbox gets one UIDVALIDITY.
            return crate::store::rename_inbox(self, user, to);
        }
        let (u, f, t) = (user.clone(), from.clone(), to.clone());
        self.write(user, Arc::new(move |r| r.rename_mailbox(&u, &f, &t)))
    }

    fn set_subscribed(
        &self,
        user: &UserId,
        name: &MailboxName,
        subscribed: bool,
    ) -> Result<(), StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.write(
            user,
            Arc::new(move |r| r.set_subscribed(&u, &n, subscribed)),
        )
    }

    fn open(&self, user: &UserId, name: &MailboxName) -> Result<MailboxView, StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.read_any(user, Arc::new(move |r| r.open(&u, &n)))
    }

    /// Reads the whole message into memory once (both replicas need it; the caller's message
    /// size limit bounds it), then delivers it to both.
    fn append(
        &self,
        user: &UserId,
        name: &MailboxName,
        message: &mut dyn Read,
        request: &AppendRequest,
    ) -> Result<Uid, StoreError> {
        let mut body = Vec::new();
        message
            .read_to_end(&mut body)
            .map_err(StoreError::io("reading message to append"))?;
        let body: Arc<[u8]> = body.into();
        let (u, n, req) = (user.clone(), name.clone(), request.clone());
        self.write(
            user,
            Arc::new(move |r| r.append(&u, &n, &mut &body[..], &req)),
        )
    }

    fn copy(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        let (u, f, t, ids) = (user.clone(), from.clone(), to.clone(), uids.to_vec());
        self.write(user, Arc::new(move |r| r.copy(&u, &f, &ids, &t)))
    }

    fn move_messages(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        let (u, f, t, ids) = (user.clone(), from.clone(), to.clone(), uids.to_vec());
        self.write(user, Arc::new(move |r| r.move_messages(&u, &f, &ids, &t)))
    }

    fn store_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        change: &FlagChange,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreOutcome, StoreError> {
        let (u, n, ids, c) = (user.clone(), name.clone(), uids.to_vec(), change.clone());
        self.write(
            user,
            Arc::new(move |r| r.store_flags(&u, &n, &ids, &c, unchanged_since)),
        )
    }

    fn expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        which: &ExpungeSelector,
    ) -> Result<Vec<Uid>, StoreError> {
        let (u, n, w) = (user.clone(), name.clone(), which.clone());
        self.write(user, Arc::new(move |r| r.expunge(&u, &n, &w)))
    }

    fn read(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        part: ReadPart,
    ) -> Result<Vec<u8>, StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.read_any(user, Arc::new(move |r| r.read(&u, &n, uid, part)))
    }

    fn cached_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.read_any(user, Arc::new(move |r| r.cached_structure(&u, &n, uid)))
    }

    fn cache_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        record: &[u8],
    ) -> Result<(), StoreError> {
        // Kept where reads come from (the preferred healthy replica), like a read: one
        // call, bounded by the deadline, and a replica that faults on it is fenced as on a
        // read. After a failover the other replica builds its own records as it is read.
        let (u, n, record) = (user.clone(), name.clone(), record.to_vec());
        self.read_any(
            user,
            Arc::new(move |r| r.cache_structure(&u, &n, uid, &record)),
        )
    }

    fn changes_since(
        &self,
        user: &UserId,
        name: &MailboxName,
        since: ModSeq,
    ) -> Result<ChangeSet, StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.read_any(user, Arc::new(move |r| r.changes_since(&u, &n, since)))
    }

    fn quota_usage(&self, user: &UserId) -> Result<QuotaUsage, StoreError> {
        let u = user.clone();
        self.read_any(user, Arc::new(move |r| r.quota_usage(&u)))
    }

    fn pop3_view(&self, user: &UserId) -> Result<Vec<Pop3Entry>, StoreError> {
        let u = user.clone();
        self.read_any(user, Arc::new(move |r| r.pop3_view(&u)))
    }

    /// Opens the stream on the preferred replica within the deadline (falling back as any
    /// read does); the reads that follow run on the caller's thread, so a large message is
    /// never held whole. A replica that hangs mid-message stalls only that reader.
    fn read_stream(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
    ) -> Result<Box<dyn Read + Send>, StoreError> {
        let (u, n) = (user.clone(), name.clone());
        self.read_any(user, Arc::new(move |r| r.read_stream(&u, &n, uid)))
    }
}
