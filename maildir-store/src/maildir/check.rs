//! The scrub's view of one replica on its own: does a mailbox's control files agree with its
//! message files, and (for a repair) emptying a mailbox so a resync can refill it.
//!
//! Both run under the mailbox's `dovecot-uidlist.lock`. The check reads the files raw, before
//! any open rebuilds them, so damage that an open would quietly repair (a uidlist that does
//! not parse) or turn into an expunge (a listed file that is gone) is still reported.

use std::{collections::HashMap, fs, io::ErrorKind, path::Path};

use super::{
    Maildir, filename, index,
    lock::DotLock,
    mailbox::{KEYWORDS, UIDLIST},
    uidlist,
};
use crate::{error::StoreError, mailbox_name::MailboxName, types::UserId};

/// Every message file in `cur/` and `new/`: base name → (file name, length on disk).
fn message_files(dir: &Path) -> Result<HashMap<String, (String, u64)>, StoreError> {
    let mut out = HashMap::new();
    for sub in ["new", "cur"] {
        let entries = fs::read_dir(dir.join(sub)).map_err(StoreError::io("listing cur/new"))?;
        for entry in entries {
            let entry = entry.map_err(StoreError::io("listing cur/new"))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Some(parsed) = filename::parse(&name) else {
                continue;
            };
            let meta = entry
                .metadata()
                .map_err(StoreError::io("reading file size"))?;
            if meta.is_file() {
                out.insert(parsed.base.to_owned(), (name.clone(), meta.len()));
            }
        }
    }
    Ok(out)
}

impl Maildir {
    /// Problems in one mailbox on this replica alone (see
    /// [`crate::mirror::Restore::check_mailbox`]).
    pub(crate) fn check_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
    ) -> Result<Vec<String>, StoreError> {
        let dir = self.mailbox_dir(user, name)?;
        let _lock = DotLock::acquire(&dir.join(UIDLIST), &self.ctx.lock_policy())?;
        let mut problems = Vec::new();
        let files = message_files(&dir)?;
        match fs::read(dir.join(UIDLIST)) {
            Ok(bytes) => match uidlist::parse(&bytes) {
                Ok((list, used)) => {
                    if used < bytes.len() {
                        problems.push(format!("{UIDLIST}: torn after byte {used}"));
                    }
                    for r in &list.records {
                        if !files.contains_key(&r.base) {
                            problems.push(format!("UID {}: listed, but its file is gone", r.uid));
                        }
                    }
                }
                Err(why) => problems.push(format!("{UIDLIST} does not parse: {why}")),
            },
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if !files.is_empty() {
                    problems.push(format!("{UIDLIST} is missing"));
                }
            }
            Err(e) => return Err(StoreError::io("reading dovecot-uidlist")(e)),
        }
        let mut sized: Vec<_> = files.values().collect();
        sized.sort();
        for (file, len) in sized {
            let recorded = filename::parse(file).and_then(|p| p.size);
            if let Some(s) = recorded.filter(|s| s != len) {
                problems.push(format!("{file}: {len} bytes, its name says {s}"));
            }
        }
        Ok(problems)
    }

    /// Empties one mailbox on this replica: messages, tombstones and control files (see
    /// [`crate::mirror::Restore::reset_mailbox`]). Folders below it and the user's own files
    /// (subscriptions, UIDVALIDITY counter) stay.
    pub(crate) fn reset_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
    ) -> Result<(), StoreError> {
        let dir = self.mailbox_dir(user, name)?;
        let _lock = DotLock::acquire(&dir.join(UIDLIST), &self.ctx.lock_policy())?;
        for sub in ["new", "cur", "tmp"] {
            let entries =
                fs::read_dir(dir.join(sub)).map_err(StoreError::io("listing for reset"))?;
            for entry in entries {
                let entry = entry.map_err(StoreError::io("listing for reset"))?;
                if entry.file_type().is_ok_and(|t| t.is_file()) {
                    fs::remove_file(entry.path()).map_err(StoreError::io("removing for reset"))?;
                }
            }
            self.ctx.fsync_path(&dir.join(sub))?;
        }
        for control in [UIDLIST, KEYWORDS, index::FILE] {
            match fs::remove_file(dir.join(control)) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("removing control file for reset")(e)),
            }
        }
        self.ctx.fsync_path(&dir)?;
        self.ctx.forget(&dir);
        drop(self.ctx.take_lists(&dir));
        Ok(())
    }
}
