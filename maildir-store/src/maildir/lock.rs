//! Dotlocks: `<file>.lock` created with `O_CREAT|O_EXCL`, as Dovecot locks `dovecot-uidlist`.
//!
//! Exclusive creation is atomic on local filesystems and on NFSv3+, so the lock is safe across
//! processes and hosts. The holder writes `pid host` into it. A lock is stale when its holder
//! is a dead process on this host, or when it has not been touched for
//! [`super::Options::stale_lock_age`] (Dovecot uses 2 minutes for `dovecot-uidlist.lock`).
//! Taking over a stale lock renames it aside first and checks it was the same file, so two
//! processes breaking the same stale lock cannot both end up holding it.
//!
//! A holder that rewrites the locked file writes the new contents into the lock file and
//! renames it over the target: one atomic step that also releases the lock.

use std::{
    fs::{self, File, OpenOptions},
    io::{ErrorKind, Seek, SeekFrom, Write},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    thread,
    time::{Duration, Instant, SystemTime},
};

use crate::error::StoreError;

/// How to wait for and judge locks.
#[derive(Debug, Clone)]
pub(crate) struct LockPolicy<'a> {
    pub(crate) timeout: Duration,
    pub(crate) stale_age: Duration,
    /// The stale age of a lock file that names no owner.
    pub(crate) unowned_age: Duration,
    pub(crate) host: &'a str,
}

/// A held dotlock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct DotLock {
    lock_path: PathBuf,
    target: PathBuf,
    file: Option<File>,
    /// When the lock file's mtime was last set (its age is what makes it stale).
    touched: Instant,
}

impl DotLock {
    /// Waits for and takes the lock on `target`.
    pub(crate) fn acquire(target: &Path, policy: &LockPolicy<'_>) -> Result<Self, StoreError> {
        let mut lock_path = target.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let deadline = Instant::now() + policy.timeout;
        let mut pause = Duration::from_millis(1);
        loop {
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock_path)
            {
                Ok(mut file) => {
                    let owner = format!("{} {}\n", std::process::id(), policy.host);
                    file.write_all(owner.as_bytes())
                        .map_err(StoreError::io("writing lock file"))?;
                    return Ok(Self {
                        lock_path,
                        target: target.to_path_buf(),
                        file: Some(file),
                        touched: Instant::now(),
                    });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    break_if_stale(&lock_path, policy)?;
                }
                Err(e) => return Err(StoreError::io("creating lock file")(e)),
            }
            if Instant::now() >= deadline {
                return Err(StoreError::LockTimeout);
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Keeps a lock held through a long operation from looking stale: sets the lock file's
    /// mtime to now if it was last set at least `every` ago (callers pass a fraction of the
    /// stale age, as Dovecot refreshes its dotlocks). A failure is ignored: the worst case
    /// is the takeover the refresh tries to prevent, which the lock design already allows.
    pub(crate) fn refresh(&mut self, every: Duration) {
        if self.touched.elapsed() < every {
            return;
        }
        if let Some(file) = &self.file {
            let _ = file.set_modified(SystemTime::now());
            self.touched = Instant::now();
        }
    }

    /// Replaces the locked file with `contents` by renaming the lock file over it, which also
    /// releases the lock. `sync` (an fsync, or nothing when fsync is off) puts the new
    /// contents on disk before the rename. Returns the inode of the new file.
    pub(crate) fn replace_target(
        mut self,
        contents: &[u8],
        sync: impl FnOnce(&File) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let Some(mut file) = self.file.take() else {
            return Err(StoreError::LockTimeout);
        };
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .map_err(StoreError::io("truncating lock file"))?;
        file.write_all(contents)
            .map_err(StoreError::io("writing new contents into lock file"))?;
        sync(&file)?;
        let ino = file
            .metadata()
            .map_err(StoreError::io("stat of lock file"))?
            .ino();
        fs::rename(&self.lock_path, &self.target)
            .map_err(StoreError::io("renaming lock file over its target"))?;
        Ok(ino)
    }
}

impl Drop for DotLock {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            // Nothing useful to do if this fails: the lock then goes stale and is taken over.
            let _ = fs::remove_file(&self.lock_path);
        }
    }
}

fn break_if_stale(lock_path: &Path, policy: &LockPolicy<'_>) -> Result<(), StoreError> {
    let Ok(meta) = fs::metadata(lock_path) else {
        return Ok(()); // released meanwhile: just retry
    };
    let age = SystemTime::now()
        .duration_since(meta.modified().unwrap_or(SystemTime::now()))
        .unwrap_or_default();
    let content = fs::read_to_string(lock_path).unwrap_or_default();
    // An owner is one line `pid host`; anything else (empty, or the replacement file's
    // content) means the holder never wrote its owner or was writing the new file.
    let owner = content
        .strip_suffix('\n')
        .filter(|line| !line.contains('\n'))
        .and_then(|line| line.split_once(' '))
        .filter(|(pid, host)| !host.is_empty() && !host.contains(' ') && *pid != "0")
        .and_then(|(pid, host)| Some((pid.parse::<u32>().ok()?, host)));
    let dead_local_owner = owner.is_some_and(|(pid, host)| {
        host == policy.host && !Path::new(&format!("/proc/{pid}")).exists()
    });
    let limit = if owner.is_some() {
        policy.stale_age
    } else {
        policy.unowned_age.min(policy.stale_age)
    };
    if age < limit && !dead_local_owner {
        return Ok(());
    }
    let aside =
        lock_path.with_extension(format!("lock.stale.{}.{}", std::process::id(), meta.ino()));
    if fs::rename(lock_path, &aside).is_err() {
        return Ok(()); // someone else broke it first
    }
    let same = fs::metadata(&aside).is_ok_and(|m| m.ino() == meta.ino());
    if !same {
        // We moved a fresh lock taken after our check: put it back unless another exists.
        let _ = fs::hard_link(&aside, lock_path);
    }
    let _ = fs::remove_file(&aside);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(stale: Duration) -> LockPolicy<'static> {
        LockPolicy {
            timeout: Duration::from_millis(200),
            stale_age: stale,
            unowned_age: stale,
            host: "testhost",
        }
    }

    #[test]
    fn excludes_then_releases() {
        let dir = tempfile::tempdir().unwrap(); // Unwrap: test setup.
        let target = dir.path().join("f");
        let held = DotLock::acquire(&target, &policy(Duration::from_secs(60))).unwrap();
        let second = DotLock::acquire(&target, &policy(Duration::from_secs(60)));
        assert!(matches!(second, Err(StoreError::LockTimeout)));
        drop(held);
        assert!(DotLock::acquire(&target, &policy(Duration::from_secs(60))).is_ok());
    }

    #[test]
    fn takes_over_dead_or_old_locks() {
        let dir = tempfile::tempdir().unwrap(); // Unwrap: test setup.
        let target = dir.path().join("f");
        let lock = dir.path().join("f.lock");
        // A dead local process (pid far above pid_max on Linux).
        fs::write(&lock, "999999999 testhost\n").unwrap();
        assert!(DotLock::acquire(&target, &policy(Duration::from_secs(60))).is_ok());
        // A live but silent holder on another host: stale only by age.
        fs::write(&lock, "1 otherhost\n").unwrap();
        let young = DotLock::acquire(&target, &policy(Duration::from_secs(60)));
        assert!(matches!(young, Err(StoreError::LockTimeout)));
        assert!(DotLock::acquire(&target, &policy(Duration::ZERO)).is_ok());
    }

    #[test]
    fn an_unowned_lock_goes_stale_sooner() {
        let dir = tempfile::tempdir().unwrap(); // Unwrap: test setup.
        let target = dir.path().join("f");
        let lock = dir.path().join("f.lock");
        let quick = LockPolicy {
            unowned_age: Duration::from_millis(50),
            ..policy(Duration::from_secs(60))
        };
        // Killed between creating the lock and writing its owner, or while writing the
        // replacement uidlist into it: no owner to ask, so a short age decides.
        for content in ["", "3 V1004 N1 G2bbd1f7b\n", "0 Work\n", "3 V1 N2\n1 :a\n"] {
            fs::write(&lock, content).unwrap();
            let fresh = DotLock::acquire(&target, &policy(Duration::from_secs(60)));
            assert!(matches!(fresh, Err(StoreError::LockTimeout)), "{content:?}");
            std::thread::sleep(Duration::from_millis(60));
            let held = DotLock::acquire(&target, &quick);
            assert!(held.is_ok(), "{content:?}");
        }
        // An owned lock of a live holder elsewhere keeps the long stale age.
        fs::write(&lock, "1 otherhost\n").unwrap();
        std::thread::sleep(Duration::from_millis(60));
        assert!(matches!(
            DotLock::acquire(&target, &quick),
            Err(StoreError::LockTimeout)
        ));
    }

    #[test]
    fn a_refreshed_lock_is_not_taken_over() {
        let dir = tempfile::tempdir().unwrap(); // Unwrap: test setup.
        let target = dir.path().join("f");
        let lock = dir.path().join("f.lock");
        let mut held = DotLock::acquire(&target, &policy(Duration::from_secs(60))).unwrap();
        // A long operation: the lock file now looks ten minutes old to everyone else.
        let age = || {
            let old = SystemTime::now() - Duration::from_secs(600);
            let file = File::options().write(true).open(&lock).unwrap(); // Unwrap: test.
            file.set_modified(old).unwrap(); // Unwrap: test setup.
        };
        age();
        held.refresh(Duration::ZERO);
        let other = DotLock::acquire(&target, &policy(Duration::from_secs(60)));
        assert!(
            matches!(other, Err(StoreError::LockTimeout)),
            "refreshed: still held"
        );
        // Without the refresh the same age makes it stale (a hung holder on this host).
        age();
        assert!(DotLock::acquire(&target, &policy(Duration::from_secs(60))).is_ok());
    }

    #[test]
    fn replace_renames_over_target() {
        let dir = tempfile::tempdir().unwrap(); // Unwrap: test setup.
        let target = dir.path().join("f");
        fs::write(&target, "old").unwrap();
        let held = DotLock::acquire(&target, &policy(Duration::from_secs(60))).unwrap();
        held.replace_target(b"new", |f| f.sync_data().map_err(StoreError::io("fsync")))
            .unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert!(!dir.path().join("f.lock").exists());
    }
}
