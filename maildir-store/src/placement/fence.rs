//! The user fence, across processes: every call of a user holds the user's stripe shared, a
//! move's cutover holds it exclusively, in this process (a `RwLock`) and in every process that
//! shares the placement map (an `flock` on `<map>.fence/<stripe>`, next to the map on the
//! shared storage; Linux NFS clients map it to POSIX locks the server arbitrates). So a
//! second server process cannot write a user mid-move: its calls wait for the cutover, and
//! then find the new map.
//!
//! An `flock` belongs to an open file description, not to a thread, so each stripe's file
//! is locked shared once for all of this process's holders (the first takes it, the last
//! releases it), and exclusively only while no holder of this process is left (the local
//! write lock waits for them).

use std::{
    fs::{self, File, OpenOptions},
    path::{Path, PathBuf},
    sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard},
};

use crate::error::StoreError;

/// One stripe: the local lock, its file and how many local holders share the file lock.
#[derive(Debug)]
struct Stripe {
    local: RwLock<()>,
    file: File,
    holders: Mutex<usize>,
}

/// All stripes of one placement map.
#[derive(Debug)]
pub(crate) struct Fence {
    stripes: Vec<Stripe>,
    /// Serialises map changes across processes (`<map>.fence/map`).
    map_lock: File,
}

/// The directory holding the lock files of the map at `map`.
pub(crate) fn dir_of(map: &Path) -> PathBuf {
    let mut name = map.as_os_str().to_owned();
    name.push(".fence");
    PathBuf::from(name)
}

fn lock_file(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(StoreError::io("opening a fence lock file"))
}

fn locking(e: std::io::Error) -> StoreError {
    StoreError::io("taking a fence lock")(e)
}

impl Fence {
    /// The fence of the map at `map`, with `stripes` stripes (at least one).
    pub(crate) fn open(map: &Path, stripes: usize) -> Result<Self, StoreError> {
        let dir = dir_of(map);
        fs::create_dir_all(&dir).map_err(StoreError::io("creating the fence directory"))?;
        let stripes = (0..stripes.max(1))
            .map(|i| {
                Ok(Stripe {
                    local: RwLock::new(()),
                    file: lock_file(&dir.join(i.to_string()))?,
                    holders: Mutex::new(0),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Self {
            stripes,
            map_lock: lock_file(&dir.join("map"))?,
        })
    }

    fn stripe(&self, index: usize) -> &Stripe {
        // `index` is reduced modulo the length, which is at least 1 (see `open`).
        &self.stripes[index % self.stripes.len()]
    }

    /// Holds stripe `index` shared (a user's call).
    pub(crate) fn shared(&self, index: usize) -> Result<Shared<'_>, StoreError> {
        let stripe = self.stripe(index);
        let local = stripe.local.read().unwrap_or_else(|e| e.into_inner());
        let mut holders = stripe.holders.lock().unwrap_or_else(|e| e.into_inner());
        if *holders == 0 {
            stripe.file.lock_shared().map_err(locking)?;
        }
        *holders += 1;
        Ok(Shared {
            stripe,
            _local: local,
        })
    }

    /// Holds stripe `index` exclusively (a move's cutover): waits for every call of every
    /// process on the stripe to end, and holds new ones back.
    pub(crate) fn exclusive(&self, index: usize) -> Result<Exclusive<'_>, StoreError> {
        let stripe = self.stripe(index);
        let local = stripe.local.write().unwrap_or_else(|e| e.into_inner());
        stripe.file.lock().map_err(locking)?;
        Ok(Exclusive {
            stripe,
            _local: local,
        })
    }

    /// Holds the map lock: one map change at a time across processes.
    pub(crate) fn map_change(&self) -> Result<MapChange<'_>, StoreError> {
        self.map_lock.lock().map_err(locking)?;
        Ok(MapChange(&self.map_lock))
    }
}

/// A shared hold on a stripe.
#[derive(Debug)]
pub(crate) struct Shared<'a> {
    stripe: &'a Stripe,
    _local: RwLockReadGuard<'a, ()>,
}

impl Drop for Shared<'_> {
    fn drop(&mut self) {
        let mut holders = self
            .stripe
            .holders
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *holders = holders.saturating_sub(1);
        if *holders == 0 {
            // An unlock that fails leaves the lock to be dropped with the process.
            let _ = self.stripe.file.unlock();
        }
    }
}

/// An exclusive hold on a stripe.
#[derive(Debug)]
pub(crate) struct Exclusive<'a> {
    stripe: &'a Stripe,
    _local: RwLockWriteGuard<'a, ()>,
}

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        let _ = self.stripe.file.unlock();
    }
}

/// The map lock, held.
#[derive(Debug)]
pub(crate) struct MapChange<'a>(&'a File);

impl Drop for MapChange<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_holders_share_one_file_lock_and_exclusive_waits_for_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let map = dir.path().join("placement");
        let fence = Fence::open(&map, 2).expect("open");
        let other = Fence::open(&map, 2).expect("open (another process's view)");
        let a = fence.shared(0).expect("shared");
        let b = fence.shared(0).expect("shared again");
        drop(a);
        // Still held by `b`: another holder of the files cannot lock exclusively.
        let probe = lock_file(&dir_of(&map).join("0")).expect("open");
        assert!(probe.try_lock().is_err());
        drop(b);
        assert!(probe.try_lock().is_ok());
        probe.unlock().expect("unlock");
        let moving = other.exclusive(0).expect("exclusive");
        assert!(
            probe.try_lock_shared().is_err(),
            "the cutover holds writers back"
        );
        assert!(
            lock_file(&dir_of(&map).join("1"))
                .expect("open")
                .try_lock()
                .is_ok()
        );
        drop(moving);
        assert!(probe.try_lock_shared().is_ok());
    }
}
