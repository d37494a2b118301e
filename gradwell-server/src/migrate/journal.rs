//! The durable progress journal of a bulk run: one JSON line per user finished and
//! verified, appended and fsynced before the next user's line.
//!
//! A re-run skips the users the journal lists. A user interrupted anywhere (even by
//! `kill -9` half way through a message or through a journal line) is simply imported
//! again: the engine copies only what the target lacks, and a torn last line is ignored.

use std::{
    collections::BTreeSet,
    fs::{File, OpenOptions},
    io::{ErrorKind, Write},
    path::{Path, PathBuf},
    sync::Mutex,
};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// One finished user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// The target user.
    pub user: String,
    /// Messages in the user's mailboxes after the import.
    pub messages: u64,
    /// Bytes after the import.
    pub bytes: u64,
}

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    done: BTreeSet<String>,
    file: Mutex<File>,
}

impl Journal {
    /// Opens (creating) the journal at `path` and reads which users are done.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let text = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("reading journal {}", path.display())),
        };
        let done = text
            .split(|b| *b == b'\n')
            .filter_map(|line| serde_json::from_slice::<Entry>(line).ok())
            .map(|e| e.user)
            .collect();
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening journal {}", path.display()))?;
        // A torn last line (killed mid-write) is ended, so the next entry starts clean.
        if text.last().is_some_and(|b| *b != b'\n') {
            file.write_all(b"\n")?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            done,
            file: Mutex::new(file),
        })
    }

    /// Whether a previous run finished `user`.
    pub fn is_done(&self, user: &str) -> bool {
        self.done.contains(user)
    }

    /// Records `entry` durably.
    pub fn record(&self, entry: &Entry) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        f.write_all(&line)
            .and_then(|()| f.sync_data())
            .with_context(|| format!("writing journal {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopen_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let j = Journal::open(&path).unwrap();
        j.record(&Entry {
            user: "a".into(),
            messages: 1,
            bytes: 2,
        })
        .unwrap();
        drop(j);
        // A kill mid-write leaves half a line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"user\":\"b\",\"mess").unwrap();
        drop(f);
        let j = Journal::open(&path).unwrap();
        assert!(j.is_done("a") && !j.is_done("b"));
        j.record(&Entry {
            user: "c".into(),
            messages: 0,
            bytes: 0,
        })
        .unwrap();
        let j = Journal::open(&path).unwrap();
        assert!(j.is_done("c") && !j.is_done("b"));
    }
}
