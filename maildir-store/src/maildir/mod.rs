//! The Maildir backend: Dovecot-compatible Maildir++ on a replica root.
//!
//! # On disk
//! ```text
//! <replica root>/gradwell-replica        marker written by Maildir::init_replica
//! <replica root>/<user>/                 INBOX
//! <replica root>/<user>/.Archive.2024/   folder Archive/2024 (levels in modified UTF-7)
//! ```
//! Per mailbox:
//!
//! | file | owner | what |
//! |---|---|---|
//! | `cur/`, `new/`, `tmp/` | maildir spec | one file per message; flags in the `:2,` suffix |
//! | `dovecot-uidlist` | Dovecot, v3 | UIDVALIDITY, next UID, GUID; UID → base file name |
//! | `dovecot-uidlist.lock` | Dovecot | dotlock held for every change |
//! | `dovecot-keywords` | Dovecot | keyword ↔ letter `a`–`z` |
//! | `gradwell-index` | ours | modseqs and the metadata cache (size, INTERNALDATE); rebuildable |
//! | `gradwell-structure` | ours | cached structure records (MIME offsets, envelope) from the server; rebuildable; format in `structure.rs` |
//! | `maildirfolder` | Maildir++ | marks a folder |
//!
//! Per user: `subscriptions` (Dovecot v2 format), `dovecot-uidvalidity` (last UIDVALIDITY
//! handed out, hex) and `gradwell-special-use` (ours: `\Sent Sent` lines).
//!
//! # Durability (DESIGN.md M1, M6)
//! - Delivery: stream into `tmp/<unique>`, set mtime to INTERNALDATE, **fsync the file**; take
//!   the lock, pick the UID, rename into `new/` (no flags) or `cur/` (flags) under a name that
//!   carries the UID marker `U<uid>V<uidvalidity>`, append to `dovecot-uidlist` and the index,
//!   release, **fsync the directory**, return. Two fsyncs per message. The uidlist line is not
//!   fsynced: if a crash loses it, the next scan finds the file, reads the marker, and gives
//!   the message back the same UID. After a reboot (the index records the host's boot id) the
//!   first writer rescans before allocating, so a UID is never handed out twice.
//! - Flag changes rename files within `cur/`; each STORE call fsyncs `cur/` and the index
//!   once for all messages it touched (a group commit whose window is the call itself).
//! - Expunge unlinks, fsyncs the directories, then rewrites `dovecot-uidlist`.
//! - COPY hard-links (one directory fsync per call); MOVE renames each file from one
//!   mailbox into the other, so a message is in exactly one of them at every instant.
//! - Rewrites of control files write into the lock file and rename it over the target.
//! - `tmp/` files older than [`Options::tmp_max_age`] (36 h, the maildir spec's figure) are
//!   removed whenever the mailbox is scanned.
//!
//! # Replica roots (DESIGN.md M4)
//! [`Maildir::open`] fails on a root that is missing, not a directory, unreadable or lacks the
//! `gradwell-replica` marker that only [`Maildir::init_replica`] writes. A user directory is
//! created on first use only while the marker is present, so an unmounted array never gets a
//! fresh, empty tree.
//!
//! # Caching
//! Opening a mailbox reads `dovecot-uidlist`, `gradwell-index` and the names in `cur/` and
//! `new/` — never message files. A process keeps the last scan and reuses it without even
//! listing the directories while the control files and both directories are unchanged
//! (inode, size, mtime) and their mtimes are over a second old (older than any timestamp
//! granularity that could hide a change). `dovecot-uidlist` and `gradwell-index` are read
//! incrementally: only lines appended since the last read are parsed.
//!
//! # Known limits
//! - A process that has not seen a mailbox yet (or that changed it less than a second ago)
//!   lists `cur/` and `new/` to open it: about 0.4–0.8 s for 100,000 messages on the
//!   benchmark machine. Only the warm path avoids the listing.
//! - A lock holder refreshes its lock's mtime (every quarter of
//!   [`Options::stale_lock_age`]) between messages of a long scan, copy, move, expunge or
//!   flag change; a single step that stalls longer than the stale age (a hung disk) can
//!   still have the lock taken over.
//! - Header and MIME offsets: the index caches the header length of messages we delivered;
//!   the MIME tree is parsed by the caller (mail-parser in the server) on first use and kept
//!   through [`crate::MailStore::cache_structure`] in `gradwell-structure`.

mod check;
mod deliver;
pub(crate) mod filename;
pub(crate) mod index;
pub(crate) mod keywords;
pub(crate) mod layout;
pub(crate) mod lock;
mod mailbox;
pub mod mutf7;
mod ops;
pub(crate) mod structure;
mod tail;
pub(crate) mod uidlist;
mod user_files;

use std::{
    collections::{HashMap, hash_map::RandomState},
    fs::{self, File},
    hash::{BuildHasher, Hasher},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use crate::error::StoreError;

use self::{
    lock::LockPolicy,
    mailbox::{Lists, Snapshot},
};

/// The marker file that makes a directory a replica root.
pub const REPLICA_MARKER: &str = "gradwell-replica";

/// Tuning for [`Maildir`]. Every field has a documented default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// fsync files and directories before acknowledging (default `true`). Turn off only for
    /// throwaway test trees.
    pub fsync: bool,
    /// How long to wait for a mailbox lock before failing (default 30 s).
    pub lock_timeout: Duration,
    /// A lock untouched for this long is stale and taken over (default 120 s, as Dovecot).
    pub stale_lock_age: Duration,
    /// A lock file that names no owner is stale once untouched this long (default 10 s):
    /// its holder died between creating it and writing its owner, or while writing the
    /// replacement file into it (`kill -9` mid-rewrite). A live holder writing into it
    /// keeps its mtime fresh. Without this, a crashed writer's lock blocked the mailbox
    /// for the full stale age, and a mirror fenced the replica for missing its deadline.
    pub unowned_lock_age: Duration,
    /// `tmp/` files older than this are deleted (default 36 h, the maildir spec's figure).
    pub tmp_max_age: Duration,
    /// Host name used in unique file names and lock owners (default: the kernel host name).
    pub hostname: Option<String>,
    /// Mailboxes whose parsed control files and last scan a process keeps in memory
    /// (default 256; the least recently used are dropped beyond it). Each costs roughly
    /// one kilobyte per message (parsed uidlist, index and scan): size it to the memory a
    /// front-end can spare.
    pub cached_mailboxes: usize,
    /// Expunge tombstones kept per mailbox for QRESYNC and resync (default 10,000, about
    /// 150 KB of index). Past this plus a quarter, the oldest are pruned; a change feed from
    /// before the pruned ones is marked incomplete (see the `gradwell-index` format).
    pub max_tombstones: usize,
    /// [`Restore::sync_mailbox`](crate::mirror::Restore::sync_mailbox) and the other
    /// explicit sync calls of a bulk import make the mailbox durable with one `syncfs(2)` of
    /// the replica's filesystem instead of an fsync per file (default `false`). Just as
    /// durable on a local filesystem (ext4, XFS: the journal is committed and the device
    /// flushed once), and far fewer device flushes for a mailbox of many files, but it also
    /// writes back whatever else is dirty on that filesystem: meant for an import onto
    /// arrays that are not busy with other writes. Linux only (elsewhere the calls fail).
    pub sync_by_filesystem: bool,
    /// Called with the duration of every fsync this store makes (files and directories), for
    /// a latency metric per replica (default none).
    pub fsync_observer: Option<FsyncObserver>,
}

/// A callback told how long each fsync took: how a server turns the real writes of one
/// replica into an fsync-latency histogram without the store knowing about metrics.
#[derive(Clone)]
pub struct FsyncObserver(Arc<dyn Fn(Duration) + Send + Sync>);

impl FsyncObserver {
    /// Wraps `observe`, which must be cheap: it runs on the write path after every fsync.
    pub fn new(observe: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        Self(Arc::new(observe))
    }
}

impl std::fmt::Debug for FsyncObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FsyncObserver")
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            fsync: true,
            lock_timeout: Duration::from_secs(30),
            stale_lock_age: Duration::from_secs(120),
            unowned_lock_age: Duration::from_secs(10),
            tmp_max_age: Duration::from_secs(36 * 3600),
            hostname: None,
            cached_mailboxes: 256,
            max_tombstones: 10_000,
            sync_by_filesystem: false,
            fsync_observer: None,
        }
    }
}

/// A Maildir store on one replica root.
#[derive(Debug)]
pub struct Maildir {
    pub(crate) ctx: Ctx,
}

/// State shared by every operation of one [`Maildir`].
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) root: PathBuf,
    pub(crate) options: Options,
    pub(crate) host: String,
    /// `<boot id>@<host>`: recorded in each index this host rewrites.
    pub(crate) boot_tag: String,
    counter: AtomicU64,
    fsyncs: AtomicU64,
    rebuilds: AtomicU64,
    cache: Mutex<HashMap<PathBuf, CacheEntry>>,
    lists: Mutex<HashMap<PathBuf, (u64, Lists)>>,
    /// Offsets of structure records per mailbox (see `structure.rs`).
    structures: Mutex<HashMap<PathBuf, structure::Known>>,
    clock: AtomicU64,
}

#[derive(Debug, Clone)]
struct CacheEntry {
    used: u64,
    /// The stamps are old enough to prove nothing changed since (see "Caching").
    settled: bool,
    stamps: Vec<Option<Stamp>>,
    snapshot: Arc<Snapshot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    ino: u64,
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
}

fn read_host() -> String {
    let raw = fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .unwrap_or_else(|_| "localhost".into());
    let host: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != ' ')
        .collect();
    if host.is_empty() {
        "localhost".into()
    } else {
        host
    }
}

fn read_boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty() && !s.contains(' '))
        // Unknown boot id: never equal to a recorded one, so every writer rescans first.
        .unwrap_or_else(|| format!("unknown-{}", std::process::id()))
}

impl Maildir {
    /// Makes an existing, empty-or-not directory a replica root by writing its marker. This
    /// is the only call that may bless a directory; do it when provisioning an array, never
    /// automatically at start-up.
    pub fn init_replica(root: &Path) -> Result<(), StoreError> {
        let meta = fs::metadata(root).map_err(|e| StoreError::ReplicaUnavailable {
            reason: format!("root {}: {e}", root.display()),
        })?;
        if !meta.is_dir() {
            return Err(StoreError::ReplicaUnavailable {
                reason: format!("root {} is not a directory", root.display()),
            });
        }
        let marker = root.join(REPLICA_MARKER);
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&marker)
        {
            Ok(f) => {
                use std::io::Write;
                let mut f = f;
                f.write_all(b"gradwell replica root v1\n")
                    .and_then(|()| f.sync_all())
                    .map_err(StoreError::io("writing replica marker"))?;
                File::open(root)
                    .and_then(|d| d.sync_all())
                    .map_err(StoreError::io("fsync of replica root"))?;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(StoreError::io("creating replica marker")(e)),
        }
    }

    /// Opens the store on `root`, which must be an initialised replica root.
    pub fn open(root: &Path, options: Options) -> Result<Self, StoreError> {
        check_root(root)?;
        let host = options.hostname.clone().unwrap_or_else(read_host);
        Ok(Self {
            ctx: Ctx {
                root: root.to_path_buf(),
                options,
                boot_tag: format!("{}@{host}", read_boot_id()),
                host,
                counter: AtomicU64::new(0),
                fsyncs: AtomicU64::new(0),
                rebuilds: AtomicU64::new(0),
                cache: Mutex::new(HashMap::new()),
                lists: Mutex::new(HashMap::new()),
                structures: Mutex::new(HashMap::new()),
                clock: AtomicU64::new(0),
            },
        })
    }

    /// fsync calls made so far (files and directories), for tests and benchmarks.
    pub fn fsync_count(&self) -> u64 {
        self.ctx.fsyncs.load(Ordering::Relaxed)
    }

    /// How many times a corrupt control file had to be rebuilt, for monitoring.
    pub fn rebuild_count(&self) -> u64 {
        self.ctx.rebuilds.load(Ordering::Relaxed)
    }

    /// Fails unless the replica root is still a mounted, initialised root (DESIGN.md M4).
    pub(crate) fn check_replica_root(&self) -> Result<(), StoreError> {
        check_root(&self.ctx.root)
    }

    /// Forgets this process's cached scans (the next open lists the directories again).
    pub fn drop_caches(&self) {
        self.ctx.lock_cache().clear();
        self.ctx
            .lists
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

fn check_root(root: &Path) -> Result<(), StoreError> {
    let unavailable = |reason: String| StoreError::ReplicaUnavailable { reason };
    let meta = fs::metadata(root).map_err(|e| unavailable(format!("{}: {e}", root.display())))?;
    if !meta.is_dir() {
        return Err(unavailable(format!(
            "{} is not a directory",
            root.display()
        )));
    }
    fs::read_dir(root).map_err(|e| unavailable(format!("{}: {e}", root.display())))?;
    if !root.join(REPLICA_MARKER).is_file() {
        return Err(unavailable(format!(
            "{} has no {REPLICA_MARKER} marker: unmounted or never initialised",
            root.display()
        )));
    }
    Ok(())
}

/// Drops the least recently used entries until at most `limit` remain.
fn evict<V>(map: &mut HashMap<PathBuf, V>, limit: usize, used: impl Fn(&V) -> u64) {
    while map.len() > limit.max(1) {
        let Some(oldest) = map
            .iter()
            .min_by_key(|(_, v)| used(v))
            .map(|(k, _)| k.clone())
        else {
            return;
        };
        map.remove(&oldest);
    }
}

fn stamp(path: &Path) -> Option<Stamp> {
    fs::metadata(path).ok().map(|m| Stamp {
        ino: m.ino(),
        len: m.len(),
        mtime: m.mtime(),
        mtime_nsec: m.mtime_nsec(),
    })
}

pub(crate) fn stamps(dir: &Path) -> Vec<Option<Stamp>> {
    [
        mailbox::UIDLIST,
        index::FILE,
        mailbox::KEYWORDS,
        "cur",
        "new",
    ]
    .iter()
    .map(|f| stamp(&dir.join(f)))
    .collect()
}

impl Ctx {
    /// True when `tag` was written by this host in an earlier boot: appends made then may
    /// have been lost with the page cache. (Other hosts reach the file over a network
    /// filesystem, whose close-to-open semantics made their closed appends durable.)
    pub(crate) fn written_before_reboot(&self, tag: &str) -> bool {
        let same_host = tag.rsplit_once('@').is_none_or(|(_, h)| h == self.host);
        same_host && tag != self.boot_tag
    }

    pub(crate) fn lock_policy(&self) -> LockPolicy<'_> {
        LockPolicy {
            timeout: self.options.lock_timeout,
            stale_age: self.options.stale_lock_age,
            unowned_age: self.options.unowned_lock_age,
            host: &self.host,
        }
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, CacheEntry>> {
        // The cache only ever holds complete entries; a poisoned lock is still consistent.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn note_rebuild(&self) {
        self.rebuilds.fetch_add(1, Ordering::Relaxed);
    }

    /// fsyncs an open file (when fsync is on).
    pub(crate) fn fsync_file(&self, file: &File) -> Result<(), StoreError> {
        self.timed_fsync(|| file.sync_all())
            .map_err(StoreError::io("fsync"))
    }

    /// fsyncs the data of a file whose size is all the metadata that matters (when fsync
    /// is on).
    pub(crate) fn fsync_data(&self, file: &File) -> Result<(), StoreError> {
        self.timed_fsync(|| file.sync_data())
            .map_err(StoreError::io("fsync of new file"))
    }

    /// Runs `sync` when fsync is on, counting it and telling the observer how long it took.
    /// Never retried: after a failed fsync the data may already be gone (fsyncgate).
    fn timed_fsync(&self, sync: impl FnOnce() -> std::io::Result<()>) -> std::io::Result<()> {
        if !self.options.fsync {
            return Ok(());
        }
        let started = std::time::Instant::now();
        sync()?;
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        if let Some(observer) = &self.options.fsync_observer {
            (observer.0)(started.elapsed());
        }
        Ok(())
    }

    /// fsyncs a file or directory by path (when fsync is on).
    pub(crate) fn fsync_path(&self, path: &Path) -> Result<(), StoreError> {
        if self.options.fsync {
            let f = File::open(path).map_err(StoreError::io("opening for fsync"))?;
            self.fsync_file(&f)?;
        }
        Ok(())
    }

    /// A new unique base name, optionally carrying a UID marker.
    pub(crate) fn unique_base(&self, marker: Option<(u32, u32)>, size: u64, vsize: u64) -> String {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        filename::unique_base(&filename::UniqueParts {
            secs: now.as_secs(),
            micros: now.subsec_micros(),
            pid: std::process::id(),
            counter: self.counter.fetch_add(1, Ordering::Relaxed),
            marker,
            host: &self.host,
            size,
            vsize,
        })
    }

    /// 128 bits, hex: a mailbox GUID. Seeded by the standard library's per-process random
    /// keys plus time and a counter; uniqueness, not secrecy, is what matters here.
    pub(crate) fn new_guid(&self) -> String {
        let mut out = String::with_capacity(32);
        for round in 0..2u64 {
            let mut h = RandomState::new().build_hasher();
            h.write_u64(round);
            h.write_u64(self.counter.fetch_add(1, Ordering::Relaxed));
            h.write_u128(
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos(),
            );
            out.push_str(&format!("{:016x}", h.finish()));
        }
        out
    }

    /// The next UIDVALIDITY for a new mailbox of the user owning `mailbox_dir`.
    pub(crate) fn next_uid_validity(&self, mailbox_dir: &Path) -> Result<u32, StoreError> {
        let is_folder = mailbox_dir
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        let user_dir = if is_folder {
            mailbox_dir.parent().unwrap_or(mailbox_dir)
        } else {
            mailbox_dir
        };
        user_files::next_uid_validity(self, user_dir)
    }

    /// The current state of the mailbox in `dir`, scanning only when something changed.
    pub(crate) fn snapshot(&self, dir: &Path) -> Result<Arc<Snapshot>, StoreError> {
        if let Some(hit) = self.cached_snapshot(dir, &stamps(dir)) {
            return Ok(hit);
        }
        self.rescan(dir)
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// The cached scan of `dir` if it was taken with exactly these stamps.
    pub(crate) fn cached_snapshot(
        &self,
        dir: &Path,
        now: &[Option<Stamp>],
    ) -> Option<Arc<Snapshot>> {
        let tick = self.tick();
        let mut cache = self.lock_cache();
        let hit = cache
            .get_mut(dir)
            .filter(|h| h.settled && h.stamps == now)?;
        hit.used = tick;
        Some(Arc::clone(&hit.snapshot))
    }

    /// Runs `f` on what this process knows of `dir`'s structure cache file.
    pub(crate) fn with_structures<R>(
        &self,
        dir: &Path,
        f: impl FnOnce(&mut structure::Known) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let tick = self.tick();
        let mut all = self.structures.lock().unwrap_or_else(|e| e.into_inner());
        let known = all.entry(dir.to_path_buf()).or_default();
        known.used = tick;
        let result = f(known);
        evict(&mut all, self.options.cached_mailboxes, |k| k.used);
        result
    }

    /// The last scan of `dir` this process made, however old: good enough to find a file
    /// name (a stale name fails to open, and the caller rescans).
    pub(crate) fn last_snapshot(&self, dir: &Path) -> Option<Arc<Snapshot>> {
        self.lock_cache().get(dir).map(|h| Arc::clone(&h.snapshot))
    }

    /// Takes the parsed control files of `dir` out of the cache (the caller holds the lock).
    pub(crate) fn take_lists(&self, dir: &Path) -> Option<Lists> {
        let mut lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        lists.remove(dir).map(|(_, l)| l)
    }

    /// Returns parsed control files to the cache, dropping the least recently used beyond the
    /// configured number of mailboxes.
    pub(crate) fn put_lists(&self, dir: &Path, value: Lists) {
        let tick = self.tick();
        let mut lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        lists.insert(dir.to_path_buf(), (tick, value));
        evict(&mut lists, self.options.cached_mailboxes, |(t, _)| *t);
    }

    /// Scans `dir` under its lock and refreshes the cache.
    pub(crate) fn rescan(&self, dir: &Path) -> Result<Arc<Snapshot>, StoreError> {
        let mut locked = mailbox::Locked::acquire(self, dir)?;
        let before = stamps(dir);
        locked.scan()?;
        let snapshot = Arc::new(locked.take_snapshot());
        locked.commit(false)?;
        self.remember(dir, before, &snapshot);
        Ok(snapshot)
    }

    /// Caches a scan made under the lock; `before` are the stamps taken before listing, so any
    /// later change (ours included) makes the next open rescan.
    fn remember(&self, dir: &Path, before: Vec<Option<Stamp>>, snapshot: &Arc<Snapshot>) {
        let settle = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            .saturating_sub(1);
        let settled = before
            .iter()
            .flatten()
            .all(|s| u64::try_from(s.mtime).is_ok_and(|m| m < settle));
        let tick = self.tick();
        let mut cache = self.lock_cache();
        cache.insert(
            dir.to_path_buf(),
            CacheEntry {
                used: tick,
                settled,
                stamps: before,
                snapshot: Arc::clone(snapshot),
            },
        );
        evict(&mut cache, self.options.cached_mailboxes, |e| e.used);
    }

    /// Drops the cached scan of `dir`.
    pub(crate) fn forget(&self, dir: &Path) {
        self.lock_cache().remove(dir);
    }
}
