//! The maildrop lock behind RFC 2449's `[IN-USE]`, shared by every server process and host
//! that serves the same replica roots.
//!
//! Each replica root holds `.gradwell-pop3-locks/<user>.lock` (a leading dot is never a user
//! name, so the directory is never taken for a user's tree; Dovecot ignores it). A session
//! holds an exclusive `flock` on that file on every healthy root until it ends. The kernel
//! drops the lock when the holder's file is closed, so a crashed process leaves nothing to
//! clean up; on NFS the client maps `flock` to a byte-range lock that the server's lease
//! releases when a dead host stops renewing it. The file also names the holder (host and
//! pid) for an operator. Locking every healthy root, not only the preferred one, makes two
//! processes that disagree about which replica is healthy still meet on a common root.

use std::{
    fs::{self, File, OpenOptions, TryLockError},
    io::{ErrorKind, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use maildir_store::UserId;

/// The directory in each replica root that holds the lock files.
pub const LOCK_DIR: &str = ".gradwell-pop3-locks";

/// A held maildrop lock; dropping it releases it.
#[derive(Debug)]
pub struct MaildropLock {
    _files: Vec<File>,
}

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another session (in any process sharing the roots) holds it.
    #[error("maildrop in use by another session")]
    InUse,
    /// No root could hold a lock.
    #[error("no replica root can hold the maildrop lock: {0}")]
    Unavailable(String),
}

fn lock_path(root: &Path, user: &UserId) -> PathBuf {
    root.join(LOCK_DIR).join(format!("{}.lock", user.as_str()))
}

/// Opens the lock file on one root. The directory is created without its parents, so a
/// vanished root (an unmounted array) is an error, never recreated on the mount point.
fn open(root: &Path, user: &UserId) -> std::io::Result<File> {
    let path = lock_path(root, user);
    let options = {
        let mut o = OpenOptions::new();
        o.read(true).write(true).create(true).mode(0o600);
        o
    };
    match options.open(&path) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            match fs::create_dir(root.join(LOCK_DIR)) {
                Err(e) if e.kind() != ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
            options.open(&path)
        }
        other => other,
    }
}

/// Records who holds the lock; best effort, it is only for an operator reading the file.
fn name_holder(mut file: &File, host: &str) {
    let _ = file
        .set_len(0)
        .and_then(|()| writeln!(file, "{host} {}", std::process::id()));
}

/// Takes `user`'s lock on each of `roots` (the healthy replica roots). Blocking.
pub fn lock(roots: &[&Path], user: &UserId, host: &str) -> Result<MaildropLock, LockError> {
    let mut files = Vec::with_capacity(roots.len());
    let mut errors = Vec::new();
    for root in roots {
        let file = match open(root, user) {
            Ok(f) => f,
            Err(e) => {
                errors.push(format!("{}: {e}", root.display()));
                continue;
            }
        };
        match file.try_lock() {
            Ok(()) => {
                name_holder(&file, host);
                files.push(file);
            }
            // Dropping `files` releases what was taken on the roots before.
            Err(TryLockError::WouldBlock) => return Err(LockError::InUse),
            Err(TryLockError::Error(e)) => errors.push(format!("{}: {e}", root.display())),
        }
    }
    if files.is_empty() {
        return Err(LockError::Unavailable(errors.join("; ")));
    }
    for e in &errors {
        tracing::warn!(error = %e, "maildrop lock skipped a replica root");
    }
    Ok(MaildropLock { _files: files })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> UserId {
        UserId::new(name).expect("valid name")
    }

    #[test]
    fn second_lock_is_in_use_until_the_first_is_dropped() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let roots = [a.path(), b.path()];
        let held = lock(&roots, &user("alice"), "host-1").unwrap();
        assert!(matches!(
            lock(&roots, &user("alice"), "host-2"),
            Err(LockError::InUse)
        ));
        // Only one root in common is enough to see the holder.
        assert!(matches!(
            lock(&[b.path()], &user("alice"), "host-2"),
            Err(LockError::InUse)
        ));
        assert!(lock(&roots, &user("bob"), "host-2").is_ok(), "per user");
        let text = fs::read_to_string(lock_path(a.path(), &user("alice"))).unwrap();
        assert_eq!(text, format!("host-1 {}\n", std::process::id()));
        drop(held);
        assert!(lock(&roots, &user("alice"), "host-2").is_ok());
    }

    #[test]
    fn a_vanished_root_is_skipped_and_never_recreated() {
        let a = tempfile::tempdir().unwrap();
        let gone = a.path().join("unmounted");
        let held = lock(&[gone.as_path(), a.path()], &user("alice"), "h").unwrap();
        assert!(!gone.exists(), "nothing created where the array should be");
        drop(held);
        assert!(matches!(
            lock(&[gone.as_path()], &user("alice"), "h"),
            Err(LockError::Unavailable(_))
        ));
    }

    #[test]
    fn a_crashed_holder_leaves_a_file_but_no_lock() {
        let a = tempfile::tempdir().unwrap();
        fs::create_dir(a.path().join(LOCK_DIR)).unwrap();
        // What a process that died holding the lock leaves behind.
        fs::write(lock_path(a.path(), &user("alice")), "other-host 99999\n").unwrap();
        assert!(lock(&[a.path()], &user("alice"), "h").is_ok());
    }
}
