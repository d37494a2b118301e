//! `Placement`: one [`MailStore`] over several mirror sets, each user placed on one of them
//! (as the original platform spread users over nine file servers), with live moves.
//!
//! # Use
//! ```
//! use std::sync::Arc;
//! use maildir_store::{MailStore, MailboxName, MemStore, UserId};
//! use maildir_store::mirror::Restore;
//! use maildir_store::placement::{Options, Placement};
//!
//! # let dir = tempfile::tempdir().unwrap();
//! // In production each set is a `Mirror` of two Maildir replicas.
//! let sets: Vec<Arc<dyn Restore>> = vec![Arc::new(MemStore::new()), Arc::new(MemStore::new())];
//! let store = Placement::open(sets, &dir.path().join("placement"), Options::default()).unwrap();
//! let bob = UserId::new("bob").unwrap();
//! store.open(&bob, &MailboxName::inbox()).unwrap(); // bob is placed on the default set, 0
//! store.move_user(&bob, 1).unwrap();                // and now lives on set 1
//! assert_eq!(store.set_of(&bob), Some(1));
//! ```
//!
//! [`Placement::open`] takes the sets (any [`Restore`] store: a
//! [`Mirror`](crate::mirror::Mirror), or a single Maildir or MemStore) in a fixed order — a
//! set's number is its position — and the path of the placement map file (format in the
//! `map` module notes: a default set for new users, one line per user). A user not yet in
//! the map is placed on the default set at first use, and that placement is written to the
//! map before the call is served, so changing the default later never moves anyone.
//!
//! # Live moves
//! [`Placement::move_user`] moves one user's mailboxes from their set to another while the
//! user's sessions keep reading and writing:
//! 1. the move is recorded in the map (`moving`), and any leftover copy on the target from an
//!    earlier, failed move of this user is cleared;
//! 2. copy: the user is copied with the source's identifiers (UIDVALIDITY, UIDs, flags,
//!    MODSEQs, expunge tombstones, POP3 UIDLs) by the mirror's resync, while writers go on
//!    writing to the source;
//! 3. catch up: more resync passes from the source's change journal, until the copy is
//!    at most [`Options::cutover_lag`] behind ([`Options::catch_up_passes`] at most); every
//!    copied message's bytes are compared; then quick journal-only passes (new messages read
//!    back) until one has next to nothing left;
//! 4. fence: the user's calls are held back (waiting for the ones in flight), and one last
//!    journal pass per mailbox copies what arrived meanwhile; the copy is proved level by the mailbox list, every mailbox's
//!    UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ, and the user's message and byte counts. If
//!    the mailbox list changed since step 3, a full resync and a full comparison (every
//!    message's metadata, the POP3 view, bytes) run instead, still fenced;
//! 5. switch: the map names the target and drops the `moving` line (written durably while
//!    still fenced); the fence lifts and calls go to the target;
//! 6. retire: the old copy is removed from the source (other mailboxes deleted, INBOX
//!    emptied).
//!
//! The pause a client can see is step 4 and 5 only ([`MoveReport::cutover`]). A failure
//! before step 5 leaves the user on the source, untouched; a rerun clears the partial copy
//! and starts again. A failure in step 6 leaves an old copy that is never read; a later move
//! back to that set clears it.
//!
//! # Several processes
//! The fence is cross-process (see `fence.rs`): every call holds the user's stripe shared
//! through an `flock` on `<map>.fence/<stripe>` next to the map, the cutover holds it
//! exclusively, so another process's writes for the moving user wait for the switch. After
//! taking its hold, a call re-reads the map if the file changed (one `stat`), so it then goes
//! to the new set. Map changes take `<map>.fence/map` and re-read the file first, so two
//! processes placing new users do not overwrite each other. Stripes are chosen by a fixed
//! hash of the user name (FNV-1a), the same in every process and build.
//!
//! # Known limits
//! - The fence is striped ([`Options::fence_stripes`]): users that share the moving user's
//!   stripe pause with it.

mod fence;
mod map;
mod moving;

use std::{
    io::Read,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, RwLock},
};

pub use self::moving::MoveReport;
use self::{
    fence::Fence,
    map::{MapStamp, PlacementMap, map_stamp},
};
use crate::{
    error::StoreError,
    mailbox_name::MailboxName,
    mirror::{self, Restore},
    store::MailStore,
    types::{
        AppendRequest, ChangeSet, CopyResult, ExpungeSelector, FlagChange, MailboxInfo,
        MailboxView, ModSeq, Pop3Entry, QuotaUsage, ReadPart, SpecialUse, StoreOutcome, Uid,
        UserId,
    },
};

/// For [`crate::fuzzing`]: parses a placement map and writes it back out.
pub(crate) fn fuzz_map_round_trip(text: &str) -> Option<(String, Option<String>)> {
    let map = PlacementMap::parse(text)?;
    let again = map.to_text();
    Some((
        again.clone(),
        PlacementMap::parse(&again).map(|m| m.to_text()),
    ))
}

/// Tuning for [`Placement`]. Every field has a documented default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The set new users are placed on when the map file does not exist yet (default 0).
    /// An existing map keeps its own default ([`Placement::set_default`] changes it).
    pub default_set: usize,
    /// Locks the user fence is striped over (default 64).
    pub fence_stripes: usize,
    /// Resync passes a move makes while writers are active before it fences anyway
    /// (default 5).
    pub catch_up_passes: usize,
    /// A move fences once the copy is at most this many modseqs behind, summed over the
    /// user's mailboxes (default 64): what is left is copied during the cutover pause.
    pub cutover_lag: u64,
    /// Tuning of the pairing that copies a moving user (its deadline bounds each copy call).
    pub copy: mirror::Options,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            default_set: 0,
            fence_stripes: 64,
            catch_up_passes: 5,
            cutover_lag: 64,
            copy: mirror::Options::default(),
        }
    }
}

/// A [`MailStore`] over several mirror sets, each user on one (see the module docs).
pub struct Placement {
    sets: Vec<Arc<dyn Restore>>,
    path: PathBuf,
    map: RwLock<PlacementMap>,
    /// One map change at a time (each is written to the file before it takes effect).
    saving: Mutex<()>,
    /// Held shared by every call, exclusively by a move's cutover, across processes.
    fence: Fence,
    /// The map file as last read: (inode, length, mtime seconds, mtime nanoseconds).
    map_stamp: Mutex<Option<MapStamp>>,
    options: Options,
}

impl std::fmt::Debug for Placement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Placement")
            .field("sets", &self.sets.len())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn placement_error(detail: String) -> StoreError {
    StoreError::Placement { detail }
}

impl Placement {
    /// Serves users placed on `sets` (numbered by position) according to the placement map
    /// at `map_path`, created on the first placement if missing.
    pub fn open(
        sets: Vec<Arc<dyn Restore>>,
        map_path: &Path,
        options: Options,
    ) -> Result<Self, StoreError> {
        if options.default_set >= sets.len() {
            return Err(placement_error(format!(
                "default set {} of {} sets",
                options.default_set,
                sets.len()
            )));
        }
        let map = PlacementMap::load(map_path, options.default_set)?;
        Self::check_map(&map, sets.len())?;
        Ok(Self {
            fence: Fence::open(map_path, options.fence_stripes)?,
            map_stamp: Mutex::new(map_stamp(map_path)),
            sets,
            path: map_path.to_path_buf(),
            map: RwLock::new(map),
            saving: Mutex::new(()),
            options,
        })
    }

    fn check_map(map: &PlacementMap, sets: usize) -> Result<(), StoreError> {
        let highest = map
            .users
            .values()
            .chain(map.moving.values())
            .chain([&map.default])
            .max()
            .copied()
            .unwrap_or(0);
        if highest >= sets {
            return Err(placement_error(format!(
                "the map names set {highest}, but only {sets} sets were given"
            )));
        }
        Ok(())
    }

    /// Reads the map file again (another process moved users or changed the default).
    /// Calls do this by themselves when the file changed.
    pub fn reload(&self) -> Result<(), StoreError> {
        let _one = self.saving.lock().unwrap_or_else(|e| e.into_inner());
        self.reload_locked()
    }

    fn reload_locked(&self) -> Result<(), StoreError> {
        let stamp = map_stamp(&self.path);
        let map = PlacementMap::load(&self.path, self.options.default_set)?;
        Self::check_map(&map, self.sets.len())?;
        *self.map.write().unwrap_or_else(|e| e.into_inner()) = map;
        *self.map_stamp.lock().unwrap_or_else(|e| e.into_inner()) = stamp;
        Ok(())
    }

    /// Re-reads the map if another process replaced the file since this one read it.
    fn refresh_map(&self) -> Result<(), StoreError> {
        let _one = self.saving.lock().unwrap_or_else(|e| e.into_inner());
        let now = map_stamp(&self.path);
        if *self.map_stamp.lock().unwrap_or_else(|e| e.into_inner()) != now {
            self.reload_locked()?;
        }
        Ok(())
    }

    /// The set `user` is placed on, if placed yet.
    pub fn set_of(&self, user: &UserId) -> Option<usize> {
        self.read_map().users.get(user).copied()
    }

    /// The set new users are placed on.
    pub fn default_set(&self) -> usize {
        self.read_map().default
    }

    /// Changes the set new users are placed on (users already placed stay).
    pub fn set_default(&self, set: usize) -> Result<(), StoreError> {
        self.check_set(set)?;
        self.update_map(|m| m.default = set)
    }

    /// The number of sets.
    pub fn sets(&self) -> usize {
        self.sets.len()
    }

    fn check_set(&self, set: usize) -> Result<(), StoreError> {
        if set >= self.sets.len() {
            return Err(placement_error(format!(
                "no set {set} (there are {})",
                self.sets.len()
            )));
        }
        Ok(())
    }

    fn read_map(&self) -> std::sync::RwLockReadGuard<'_, PlacementMap> {
        // Replaced whole under the lock: a poisoned lock still holds a consistent map.
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `change` to a copy of the map as it is on disk now, writes it durably, then
    /// makes it current; one change at a time across processes.
    fn update_map(&self, change: impl FnOnce(&mut PlacementMap)) -> Result<(), StoreError> {
        let _one = self.saving.lock().unwrap_or_else(|e| e.into_inner());
        let _everywhere = self.fence.map_change()?;
        if *self.map_stamp.lock().unwrap_or_else(|e| e.into_inner()) != map_stamp(&self.path) {
            self.reload_locked()?;
        }
        let mut next = self.read_map().clone();
        change(&mut next);
        next.save(&self.path)?;
        *self.map.write().unwrap_or_else(|e| e.into_inner()) = next;
        *self.map_stamp.lock().unwrap_or_else(|e| e.into_inner()) = map_stamp(&self.path);
        Ok(())
    }

    /// The user's fence stripe: a fixed hash, so every process picks the same one.
    fn stripe(&self, user: &UserId) -> usize {
        let hash = user
            .as_str()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
            });
        usize::try_from(hash % self.options.fence_stripes.max(1) as u64).unwrap_or(0)
    }

    /// Holds the user's fence shared and brings the map up to date.
    fn fence_shared(&self, user: &UserId) -> Result<fence::Shared<'_>, StoreError> {
        let held = self.fence.shared(self.stripe(user))?;
        self.refresh_map()?;
        Ok(held)
    }

    /// The user's set, placing a new user on the default set first.
    fn place(&self, user: &UserId) -> Result<usize, StoreError> {
        if let Some(set) = self.set_of(user) {
            return Ok(set);
        }
        let mut placed = 0;
        self.update_map(|m| {
            placed = *m.users.entry(user.clone()).or_insert(m.default);
        })?;
        Ok(placed)
    }

    /// Runs `f` on the user's set, holding the user's fence shared.
    fn with_set<R>(
        &self,
        user: &UserId,
        f: impl FnOnce(&dyn MailStore) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let _fence = self.fence_shared(user)?;
        let set = self.place(user)?;
        let store: &dyn MailStore = &*self.sets[set];
        f(store)
    }
}

impl MailStore for Placement {
    fn list_mailboxes(&self, user: &UserId) -> Result<Vec<MailboxInfo>, StoreError> {
        self.with_set(user, |s| s.list_mailboxes(user))
    }

    fn subscriptions(&self, user: &UserId) -> Result<Vec<MailboxName>, StoreError> {
        self.with_set(user, |s| s.subscriptions(user))
    }

    fn create_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreError> {
        self.with_set(user, |s| s.create_mailbox(user, name, special_use))
    }

    fn delete_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        self.with_set(user, |s| s.delete_mailbox(user, name))
    }

    fn rename_mailbox(
        &self,
        user: &UserId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<(), StoreError> {
        self.with_set(user, |s| s.rename_mailbox(user, from, to))
    }

    fn set_subscribed(
        &self,
        user: &UserId,
        name: &MailboxName,
        subscribed: bool,
    ) -> Result<(), StoreError> {
        self.with_set(user, |s| s.set_subscribed(user, name, subscribed))
    }

    fn open(&self, user: &UserId, name: &MailboxName) -> Result<MailboxView, StoreError> {
        self.with_set(user, |s| s.open(user, name))
    }

    fn append(
        &self,
        user: &UserId,
        name: &MailboxName,
        message: &mut dyn Read,
        request: &AppendRequest,
    ) -> Result<Uid, StoreError> {
        self.with_set(user, |s| s.append(user, name, message, request))
    }

    fn copy(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        self.with_set(user, |s| s.copy(user, from, uids, to))
    }

    fn move_messages(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        self.with_set(user, |s| s.move_messages(user, from, uids, to))
    }

    fn store_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        change: &FlagChange,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreOutcome, StoreError> {
        self.with_set(user, |s| {
            s.store_flags(user, name, uids, change, unchanged_since)
        })
    }

    fn expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        which: &ExpungeSelector,
    ) -> Result<Vec<Uid>, StoreError> {
        self.with_set(user, |s| s.expunge(user, name, which))
    }

    fn read(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        part: ReadPart,
    ) -> Result<Vec<u8>, StoreError> {
        self.with_set(user, |s| s.read(user, name, uid, part))
    }

    fn cached_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_set(user, |s| s.cached_structure(user, name, uid))
    }

    fn cache_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        record: &[u8],
    ) -> Result<(), StoreError> {
        self.with_set(user, |s| s.cache_structure(user, name, uid, record))
    }

    fn changes_since(
        &self,
        user: &UserId,
        name: &MailboxName,
        since: ModSeq,
    ) -> Result<ChangeSet, StoreError> {
        self.with_set(user, |s| s.changes_since(user, name, since))
    }

    fn quota_usage(&self, user: &UserId) -> Result<QuotaUsage, StoreError> {
        self.with_set(user, |s| s.quota_usage(user))
    }

    fn pop3_view(&self, user: &UserId) -> Result<Vec<Pop3Entry>, StoreError> {
        self.with_set(user, |s| s.pop3_view(user))
    }

    /// The stream is opened under the fence; reading it afterwards is not fenced. A move
    /// retires the old copy only after its cutover, so a stream opened just before may find
    /// its file gone (an error, as for a message expunged under a reader).
    fn read_stream(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
    ) -> Result<Box<dyn Read + Send>, StoreError> {
        self.with_set(user, |s| s.read_stream(user, name, uid))
    }
}
