//! `MailStore` for [`Maildir`]: each trait call as filesystem steps.

use std::{
    collections::BTreeMap,
    fs::{self, File},
    io::{ErrorKind, Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    sync::Arc,
};

use crate::{
    error::StoreError,
    mailbox_name::MailboxName,
    maildir::{
        Maildir, REPLICA_MARKER, deliver, filename, index, layout,
        mailbox::{Locked, Msg, Snapshot, UIDLIST},
        structure,
        uidlist::UidList,
        user_files,
    },
    pop3::default_uidl,
    store::{CrlfReader, MailStore, check_rename, rename_inbox, select_part, with_crlf},
    types::{
        AppendRequest, ChangeSet, CopyResult, ExpungeSelector, FlagChange, FlagUpdate,
        MailboxAttributes, MailboxInfo, MailboxView, MessageMeta, ModSeq, Pop3Entry, QuotaUsage,
        ReadPart, SpecialUse, StoreOutcome, SystemFlag, Uid, UidValidity, UserId,
    },
};

fn uid(raw: u32) -> Result<Uid, StoreError> {
    Uid::new(raw).ok_or_else(|| StoreError::Corrupt {
        file: "dovecot-uidlist",
        detail: "UID 0".into(),
    })
}

fn validity(raw: u32) -> Result<UidValidity, StoreError> {
    UidValidity::new(raw).ok_or_else(|| StoreError::Corrupt {
        file: "dovecot-uidlist",
        detail: "UIDVALIDITY 0".into(),
    })
}

fn meta_of(u: u32, m: &Msg) -> Result<MessageMeta, StoreError> {
    Ok(MessageMeta::new(
        uid(u)?,
        m.flags.clone(),
        m.size,
        m.internal_date,
        ModSeq::new(m.modseq),
    ))
}

/// fsyncs a file or directory, whatever the store's fsync option (an explicit sync call).
fn sync_path(p: &Path) -> Result<(), StoreError> {
    File::open(p)
        .and_then(|f| f.sync_all())
        .map_err(StoreError::io("fsync for sync_mailbox"))
}

/// `syncfs(2)` of the filesystem `dir` is on: every dirty file, directory and journal entry
/// of it written back and flushed ([`super::Options::sync_by_filesystem`]).
fn sync_filesystem(dir: &Path) -> Result<(), StoreError> {
    let handle = File::open(dir).map_err(StoreError::io("opening for syncfs"))?;
    rustix::fs::syncfs(&handle).map_err(|e| StoreError::io("syncfs")(e.into()))
}

/// fsyncs every regular file directly in `dir`.
fn sync_files_in(dir: &Path) -> Result<(), StoreError> {
    for entry in fs::read_dir(dir).map_err(StoreError::io("listing for sync_mailbox"))? {
        let entry = entry.map_err(StoreError::io("listing for sync_mailbox"))?;
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        match sync_path(&entry.path()) {
            Ok(()) => {}
            // Renamed away meanwhile (a flag change): its new name is synced too.
            Err(StoreError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn below_uid_next(u: Uid, next: u32) -> StoreError {
    StoreError::ReplicasDiverged {
        detail: format!("UID {u} is below UIDNEXT {next}"),
    }
}

fn sub_dir(in_new: bool) -> &'static str {
    if in_new { "new" } else { "cur" }
}

impl Maildir {
    /// The user's directory, created (with INBOX's `cur/new/tmp`) only while the replica
    /// marker is present.
    fn user_dir(&self, user: &UserId) -> Result<PathBuf, StoreError> {
        let dir = self.ctx.root.join(user.as_str());
        if dir.join("cur").is_dir() {
            return Ok(dir);
        }
        if !self.ctx.root.join(REPLICA_MARKER).is_file() {
            return Err(StoreError::ReplicaUnavailable {
                reason: format!("{REPLICA_MARKER} marker vanished: replica unmounted?"),
            });
        }
        // `cur/` last: other threads and processes take its presence to mean "complete".
        for sub in ["", "tmp", "new", "cur"] {
            match fs::create_dir(dir.join(sub)) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StoreError::io("creating user directory")(e)),
            }
        }
        self.ctx.fsync_path(&self.ctx.root)?;
        Ok(dir)
    }

    /// The directory of an existing mailbox.
    pub(super) fn mailbox_dir(
        &self,
        user: &UserId,
        name: &MailboxName,
    ) -> Result<PathBuf, StoreError> {
        let dir = layout::mailbox_path(&self.user_dir(user)?, name)?;
        if !dir.join("cur").is_dir() {
            return Err(StoreError::NoSuchMailbox);
        }
        Ok(dir)
    }

    /// Every folder name in the user's directory, plus INBOX.
    fn names(&self, user_dir: &Path) -> Result<Vec<MailboxName>, StoreError> {
        let mut names = vec![MailboxName::inbox()];
        let entries = fs::read_dir(user_dir).map_err(StoreError::io("listing user directory"))?;
        for entry in entries {
            let entry = entry.map_err(StoreError::io("listing user directory"))?;
            let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(layout::parse_folder_dir)
            else {
                continue;
            };
            if entry.path().join("cur").is_dir() {
                names.push(name);
            }
        }
        names.sort_by_key(|n| (!n.is_inbox(), n.clone()));
        Ok(names)
    }

    /// Builds a complete, empty folder aside and renames it into place.
    /// Creates a folder (never INBOX) with a new UIDVALIDITY, or with `validity` (recorded
    /// as handed out, so the user never gets it again).
    fn create_folder(
        &self,
        user_dir: &Path,
        name: &MailboxName,
        validity: Option<UidValidity>,
    ) -> Result<(), StoreError> {
        let target = layout::mailbox_path(user_dir, name)?;
        if target.exists() {
            return Err(StoreError::MailboxExists);
        }
        let staging = user_dir.join("tmp").join(format!(
            "gradwell-create.{}",
            self.ctx.unique_base(None, 0, 0)
        ));
        let build = || -> Result<(), StoreError> {
            let io = StoreError::io("building new mailbox");
            for sub in ["", "cur", "new", "tmp"] {
                fs::create_dir(staging.join(sub))
                    .map_err(StoreError::io("building new mailbox"))?;
            }
            fs::write(staging.join("maildirfolder"), b"").map_err(io)?;
            let v = match validity {
                Some(v) => {
                    user_files::note_uid_validity(&self.ctx, user_dir, v.get())?;
                    v.get()
                }
                None => self.ctx.next_uid_validity(&target)?,
            };
            let list = UidList::new(v, self.ctx.new_guid());
            fs::write(staging.join(UIDLIST), list.to_bytes())
                .map_err(StoreError::io("writing dovecot-uidlist"))?;
            fs::write(
                staging.join(index::FILE),
                index::header(v, &self.ctx.boot_tag),
            )
            .map_err(StoreError::io("writing index"))?;
            Ok(())
        };
        let built = build();
        let placed = built.and_then(|()| {
            fs::rename(&staging, &target).map_err(|e| {
                if matches!(
                    e.kind(),
                    ErrorKind::AlreadyExists | ErrorKind::DirectoryNotEmpty
                ) {
                    StoreError::MailboxExists
                } else {
                    StoreError::io("placing new mailbox")(e)
                }
            })
        });
        if placed.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        placed?;
        self.ctx.fsync_path(user_dir)
    }

    fn create_parents(&self, user_dir: &Path, name: &MailboxName) -> Result<(), StoreError> {
        let mut parents = Vec::new();
        let mut p = name.parent();
        while let Some(parent) = p {
            p = parent.parent();
            parents.push(parent);
        }
        for parent in parents.into_iter().rev() {
            if parent.is_inbox() {
                continue;
            }
            match self.create_folder(user_dir, &parent, None) {
                Ok(()) | Err(StoreError::MailboxExists) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Opens a message file, rescanning once if it was renamed or removed meanwhile.
    fn open_message(&self, dir: &Path, u: Uid) -> Result<(File, Msg), StoreError> {
        // Any earlier scan will do to find the name; a rescan happens only if it is stale.
        let mut snapshot = match self.ctx.last_snapshot(dir) {
            Some(s) if s.msgs.contains_key(&u.get()) => s,
            _ => self.ctx.snapshot(dir)?,
        };
        for attempt in 0..2 {
            let Some(msg) = snapshot.msgs.get(&u.get()) else {
                return Err(if attempt == 0 {
                    StoreError::NoSuchMessage(u)
                } else {
                    StoreError::MessageVanished(u)
                });
            };
            match File::open(dir.join(msg.rel_path())) {
                Ok(f) => return Ok((f, msg.clone())),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    snapshot = self.ctx.rescan(dir)?;
                }
                Err(e) => return Err(StoreError::io("opening message file")(e)),
            }
        }
        Err(StoreError::MessageVanished(u))
    }

    /// APPEND; with `fixed`, the message gets exactly that UID and modseq (resync copying
    /// the peer replica), which must be at or above UIDNEXT so no UID is ever reused.
    pub(crate) fn deliver(
        &self,
        user: &UserId,
        name: &MailboxName,
        message: &mut dyn Read,
        request: &AppendRequest,
        fixed: Option<(Uid, ModSeq)>,
    ) -> Result<Uid, StoreError> {
        let dir = self.mailbox_dir(user, name)?;
        let tmp = deliver::write_tmp(&self.ctx, &dir, message, request.internal_date)?;
        let mut locked = Locked::acquire(&self.ctx, &dir)?;
        if locked.needs_scan {
            locked.scan()?;
        }
        let flags = request.flags.clone();
        locked.keywords_fit(flags.keywords())?;
        let new_uid = self.place(&mut locked, &dir, tmp, flags, fixed)?;
        locked.commit(false)?;
        self.sync_placed(&dir, &request.flags)?;
        uid(new_uid)
    }

    /// [`crate::mirror::Restore::restore_messages`]: every message of `batch` written to
    /// `tmp/` first, then all put in place under one mailbox lock and one commit of the
    /// control files (one `dovecot-uidlist` write for the batch instead of one per message).
    pub(crate) fn restore_batch(
        &self,
        user: &UserId,
        name: &MailboxName,
        batch: &[(MessageMeta, &[u8])],
    ) -> Result<(), StoreError> {
        let Some((first, _)) = batch.first() else {
            return Ok(());
        };
        crate::mirror::check_ascending(batch)?;
        let dir = self.mailbox_dir(user, name)?;
        let mut written = Vec::with_capacity(batch.len());
        for (meta, body) in batch {
            written.push(deliver::write_tmp(
                &self.ctx,
                &dir,
                &mut &body[..],
                meta.internal_date,
            )?);
        }
        let mut locked = Locked::acquire(&self.ctx, &dir)?;
        if locked.needs_scan {
            locked.scan()?;
        }
        locked.keywords_fit(batch.iter().flat_map(|(meta, _)| meta.flags.keywords()))?;
        // Fail before placing anything: the UIDs ascend, so only the first can be below
        // UIDNEXT (which would mean the replicas diverged).
        if first.uid.get() < locked.next_uid() {
            return Err(below_uid_next(first.uid, locked.next_uid()));
        }
        let (mut in_new, mut in_cur) = (false, false);
        for ((meta, _), tmp) in batch.iter().zip(written) {
            let fixed = Some((meta.uid, meta.modseq));
            self.place(&mut locked, &dir, tmp, meta.flags.clone(), fixed)?;
            in_new |= meta.flags.is_empty();
            in_cur |= !meta.flags.is_empty();
        }
        locked.commit(false)?;
        for (used, sub) in [(in_new, "new"), (in_cur, "cur")] {
            if used {
                self.ctx.fsync_path(&dir.join(sub))?;
            }
        }
        Ok(())
    }

    /// Puts a written `tmp/` file in place under the held lock: its UID (the next one, or
    /// `fixed`'s, which must not be below UIDNEXT), its name with the flags, its records.
    /// Returns the UID; the caller commits and syncs the directory.
    fn place(
        &self,
        locked: &mut Locked<'_>,
        dir: &Path,
        mut tmp: deliver::TmpMessage,
        flags: crate::types::Flags,
        fixed: Option<(Uid, ModSeq)>,
    ) -> Result<u32, StoreError> {
        let letters = locked.letters_for(&flags)?;
        locked.write_keywords()?;
        let new_uid = match fixed {
            None => locked.allocate_uid()?,
            Some((u, _)) if u.get() >= locked.next_uid() => u.get(),
            Some((u, _)) => return Err(below_uid_next(u, locked.next_uid())),
        };
        let marker = (new_uid, locked.uidlist.uid_validity);
        let base = self.ctx.unique_base(Some(marker), tmp.size, tmp.vsize);
        let in_new = flags.is_empty();
        let file = if in_new {
            base.clone()
        } else {
            filename::format(&base, &flags, &letters, &[])
        };
        fs::rename(&tmp.path, dir.join(sub_dir(in_new)).join(&file))
            .map_err(StoreError::io("renaming tmp/ file into place"))?;
        tmp.kept = true;
        let modseq = locked.modseq_or_bump(fixed.map(|(_, m)| m.get()));
        locked.record_new_at(
            new_uid,
            Msg {
                name: file,
                in_new,
                base,
                flags,
                keyword_letters: letters,
                other_letters: Vec::new(),
                size: tmp.vsize,
                internal_date: tmp.internal_date,
                header_len: tmp.header_len,
                modseq: 0,
                pop3_uidl: None,
                pop3_order: None,
            },
            modseq,
        );
        Ok(new_uid)
    }

    /// fsyncs the directory a message with `flags` was renamed into.
    fn sync_placed(&self, dir: &Path, flags: &crate::types::Flags) -> Result<(), StoreError> {
        self.ctx.fsync_path(&dir.join(sub_dir(flags.is_empty())))
    }

    /// [`crate::mirror::Restore::sync_mailbox`]: fsyncs every file directly in the mailbox
    /// directory and in `cur/` and `new/`, then those directories, the mailbox directory and
    /// the user's directory (where a folder's entry lives).
    pub(crate) fn sync_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        let user_dir = self.user_dir(user)?;
        let dir = self.mailbox_dir(user, name)?;
        if self.ctx.options.sync_by_filesystem {
            return sync_filesystem(&dir);
        }
        for d in [dir.join("cur"), dir.join("new"), dir.clone()] {
            sync_files_in(&d)?;
            sync_path(&d)?;
        }
        sync_path(&user_dir)
    }

    /// [`crate::mirror::Restore::create_restored_mailbox`]: a new folder that has `v` from
    /// the start.
    pub(crate) fn create_with_uid_validity(
        &self,
        user: &UserId,
        name: &MailboxName,
        v: UidValidity,
    ) -> Result<(), StoreError> {
        self.create_new(&self.user_dir(user)?, name, Some(v))
    }

    /// Creates a folder that does not exist yet (never INBOX), and its missing parents.
    fn create_new(
        &self,
        user_dir: &Path,
        name: &MailboxName,
        validity: Option<UidValidity>,
    ) -> Result<(), StoreError> {
        if name.is_inbox() || layout::mailbox_path(user_dir, name)?.exists() {
            return Err(StoreError::MailboxExists);
        }
        self.create_parents(user_dir, name)?;
        self.create_folder(user_dir, name, validity)
    }

    /// [`crate::mirror::Restore::sync_mailbox_entry`]: fsyncs the mailbox directory (its
    /// `..` moved if its parent changed), its parent and the user's directory (the parent of
    /// the name it was renamed from).
    pub(crate) fn sync_mailbox_entry(
        &self,
        user: &UserId,
        name: &MailboxName,
    ) -> Result<(), StoreError> {
        let user_dir = self.user_dir(user)?;
        let dir = self.mailbox_dir(user, name)?;
        if self.ctx.options.sync_by_filesystem {
            return sync_filesystem(&dir);
        }
        let mut dirs = vec![dir.clone()];
        dirs.extend(dir.parent().map(Path::to_path_buf));
        dirs.push(user_dir);
        dirs.dedup();
        dirs.iter().try_for_each(|d| sync_path(d))
    }

    /// [`crate::mirror::Restore::sync_user_files`]: fsyncs every file directly in the user's
    /// directory, then the directory.
    pub(crate) fn sync_user_files(&self, user: &UserId) -> Result<(), StoreError> {
        let user_dir = self.user_dir(user)?;
        if self.ctx.options.sync_by_filesystem {
            return sync_filesystem(&user_dir);
        }
        sync_files_in(&user_dir)?;
        sync_path(&user_dir)
    }

    /// [`crate::mirror::Restore::restore_pop3`]: records `P`/`O` in the uidlist (one
    /// rewrite, only when something changes).
    pub(crate) fn set_pop3(
        &self,
        user: &UserId,
        name: &MailboxName,
        entries: &[(Uid, Option<String>, Option<u32>)],
    ) -> Result<(), StoreError> {
        let dir = self.mailbox_dir(user, name)?;
        let mut locked = Locked::acquire(&self.ctx, &dir)?;
        if locked.set_pop3(entries) {
            locked.commit(true)?;
        }
        Ok(())
    }

    /// STORE; with `fixed`, every changed message gets that modseq (resync).
    pub(crate) fn change_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        change: &FlagChange,
        unchanged_since: Option<ModSeq>,
        fixed: Option<ModSeq>,
    ) -> Result<StoreOutcome, StoreError> {
        let dir = self.mailbox_dir(user, name)?;
        let mut locked = Locked::acquire(&self.ctx, &dir)?;
        locked.scan()?;
        let picked = Self::pick(&locked.msgs, uids);
        let mut out = StoreOutcome::default();
        let mut plan = Vec::new();
        for (u, m) in picked {
            if unchanged_since.is_some_and(|limit| m.modseq > limit.get()) {
                out.modified.push(uid(u)?);
                continue;
            }
            let new = change.apply(&m.flags);
            // Resync asks for exactly this modseq: an equal flag set at another modseq
            // still changes.
            if new == m.flags && fixed.is_none_or(|f| f.get() == m.modseq) {
                out.updated
                    .push(FlagUpdate::new(uid(u)?, new, ModSeq::new(m.modseq), false));
                continue;
            }
            plan.push((u, m, new));
        }
        locked.keywords_fit(plan.iter().flat_map(|(_, _, f)| f.keywords()))?;
        let mut lettered = Vec::with_capacity(plan.len());
        for (u, m, new) in plan {
            let mut letters = locked.letters_for(&new)?;
            // Letters with no keyword behind them are not ours to drop.
            letters.extend(
                m.keyword_letters
                    .iter()
                    .filter(|l| locked.keywords.keyword(**l).is_none()),
            );
            letters.sort_unstable();
            lettered.push((u, m, new, letters));
        }
        locked.write_keywords()?;
        let mut touched_new = false;
        for (u, m, mut new, mut letters) in lettered {
            locked.keep_alive();
            let mut file = filename::format(&m.base, &new, &letters, &m.other_letters);
            match fs::rename(dir.join(m.rel_path()), dir.join("cur").join(&file)) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    // Renamed by a writer that does not take our lock (Dovecot, an MUA):
                    // apply the change to the flags the file has now, not the ones we saw.
                    let Some(now) = find_by_base(&dir, &m.base) else {
                        continue; // expunged meanwhile: nothing to change
                    };
                    let now_name = now.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                    let Some(parsed) = filename::parse(now_name) else {
                        continue;
                    };
                    let mut current = parsed.flags.clone();
                    for l in &parsed.keyword_letters {
                        if let Some(kw) = locked.keywords.keyword(*l) {
                            current.insert_keyword(kw.clone());
                        }
                    }
                    new = change.apply(&current);
                    letters = locked.letters_for(&new)?;
                    file = filename::format(&m.base, &new, &letters, &parsed.other_letters);
                    fs::rename(&now, dir.join("cur").join(&file))
                        .map_err(StoreError::io("renaming message for new flags"))?;
                }
                Err(e) => return Err(StoreError::io("renaming message for new flags")(e)),
            }
            // Other processes only move files out of new/, so a retried file was in cur/.
            touched_new |= m.in_new;
            let modseq = locked.record_flags(u, file, new.clone(), letters, fixed.map(ModSeq::get));
            out.updated
                .push(FlagUpdate::new(uid(u)?, new, ModSeq::new(modseq), true));
        }
        out.updated.sort_by_key(|f| f.uid);
        let changed = out.updated.iter().any(|f| f.changed);
        locked.commit(changed)?;
        if changed {
            self.ctx.fsync_path(&dir.join("cur"))?;
            if touched_new {
                self.ctx.fsync_path(&dir.join("new"))?;
            }
        }
        Ok(out)
    }

    /// EXPUNGE; with `fixed`, the tombstones get that modseq (resync).
    pub(crate) fn remove_messages(
        &self,
        user: &UserId,
        name: &MailboxName,
        which: &ExpungeSelector,
        fixed: Option<ModSeq>,
    ) -> Result<Vec<Uid>, StoreError> {
        let dir = self.mailbox_dir(user, name)?;
        let mut locked = Locked::acquire(&self.ctx, &dir)?;
        locked.scan()?;
        let deleted = |m: &Msg| m.flags.contains(SystemFlag::Deleted);
        let mut chosen: Vec<u32> = match which {
            ExpungeSelector::AllDeleted => locked
                .msgs
                .iter()
                .filter(|(_, m)| deleted(m))
                .map(|(u, _)| *u)
                .collect(),
            ExpungeSelector::DeletedAmong(set) => set
                .iter()
                .map(|u| u.get())
                .filter(|u| locked.msgs.get(u).is_some_and(deleted))
                .collect(),
            ExpungeSelector::Uids(set) => set
                .iter()
                .map(|u| u.get())
                .filter(|u| locked.msgs.contains_key(u))
                .collect(),
        };
        chosen.sort_unstable();
        chosen.dedup();
        let mut removed = Vec::with_capacity(chosen.len());
        for u in chosen {
            locked.keep_alive();
            let Some(rel) = locked.msgs.get(&u).map(Msg::rel_path) else {
                continue;
            };
            match fs::remove_file(dir.join(rel)) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("removing expunged message")(e)),
            }
            locked.record_expunged_at(u, fixed.map(ModSeq::get));
            removed.push(uid(u)?);
        }
        if let (Some(m), ExpungeSelector::Uids(set)) = (fixed, which) {
            for u in set {
                locked.record_absent_expunge(u.get(), m.get());
            }
        }
        if !removed.is_empty() {
            for sub in ["new", "cur"] {
                self.ctx.fsync_path(&dir.join(sub))?;
            }
        }
        locked.commit(false)?;
        Ok(removed)
    }

    /// Gives the mailbox the UIDVALIDITY `v` if it never held a message (see
    /// [`crate::mirror::Restore::adopt_uid_validity`]).
    pub(crate) fn adopt_uid_validity(
        &self,
        user: &UserId,
        name: &MailboxName,
        v: UidValidity,
    ) -> Result<(), StoreError> {
        let user_dir = self.user_dir(user)?;
        let dir = self.mailbox_dir(user, name)?;
        let mut locked = Locked::acquire(&self.ctx, &dir)?;
        locked.scan()?;
        if locked.uidlist.uid_validity == v.get() {
            return Ok(());
        }
        if !locked.is_pristine() {
            return Err(StoreError::ReplicasDiverged {
                detail: format!(
                    "{name} has UIDVALIDITY {} and mail",
                    locked.uidlist.uid_validity
                ),
            });
        }
        user_files::note_uid_validity(&self.ctx, &user_dir, v.get())?;
        locked.set_uid_validity(v.get());
        locked.commit(true)?;
        self.ctx.forget(&dir);
        Ok(())
    }

    /// Puts copies (hard links) or moves (renames) of `picked` into the locked destination.
    fn transfer(
        &self,
        src_dir: &Path,
        picked: &[(u32, Msg)],
        dst: &mut Locked<'_>,
        mut place: impl FnMut(&Path, &Path) -> std::io::Result<()>,
    ) -> Result<Vec<(Uid, Uid)>, StoreError> {
        let mut all = crate::types::Flags::new();
        for (_, m) in picked {
            all = all.union(&m.flags);
        }
        dst.keywords_fit(all.keywords())?;
        let mut letters = Vec::with_capacity(picked.len());
        for (_, m) in picked {
            letters.push(dst.letters_for(&m.flags)?);
        }
        dst.write_keywords()?;
        let validity = dst.uidlist.uid_validity;
        let mut mapping = Vec::with_capacity(picked.len());
        for ((old, m), kw) in picked.iter().zip(letters) {
            dst.keep_alive();
            let new_uid = dst.allocate_uid()?;
            let physical = filename::field(&m.base, "S").unwrap_or(m.size);
            let base = self
                .ctx
                .unique_base(Some((new_uid, validity)), physical, m.size);
            let in_new = m.flags.is_empty() && m.other_letters.is_empty();
            let name = if in_new {
                base.clone()
            } else {
                filename::format(&base, &m.flags, &kw, &m.other_letters)
            };
            let to = dst.dir.join(sub_dir(in_new)).join(&name);
            let placed = retry_renamed(src_dir, m, |from| place(from, &to));
            match placed {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => continue, // expunged meanwhile
                Err(e) => return Err(StoreError::io("placing message in destination")(e)),
            }
            dst.record_new(
                new_uid,
                Msg {
                    name,
                    in_new,
                    base,
                    keyword_letters: kw,
                    pop3_uidl: None,
                    pop3_order: None,
                    ..m.clone()
                },
            );
            mapping.push((uid(*old)?, uid(new_uid)?));
        }
        for sub in ["new", "cur"] {
            self.ctx.fsync_path(&dst.dir.join(sub))?;
        }
        Ok(mapping)
    }

    fn pick(msgs: &BTreeMap<u32, Msg>, uids: &[Uid]) -> Vec<(u32, Msg)> {
        let mut wanted: Vec<u32> = uids.iter().map(|u| u.get()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        wanted
            .into_iter()
            .filter_map(|u| msgs.get(&u).map(|m| (u, m.clone())))
            .collect()
    }
}

/// Runs `op` on the message's file; if the file was renamed by a process that does not take
/// our lock (Dovecot changing flags, an MUA), finds it by its base name and tries once more.
fn retry_renamed(
    dir: &Path,
    m: &Msg,
    mut op: impl FnMut(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    match op(&dir.join(m.rel_path())) {
        Err(e) if e.kind() == ErrorKind::NotFound => match find_by_base(dir, &m.base) {
            Some(now) => op(&now),
            None => Err(e),
        },
        other => other,
    }
}

/// Where the message with this base name is now, if anywhere.
fn find_by_base(dir: &Path, base: &str) -> Option<PathBuf> {
    for sub in ["cur", "new"] {
        let Ok(entries) = fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let same = name == base
                || name
                    .strip_prefix(base)
                    .is_some_and(|rest| rest.starts_with(':'));
            if same {
                return Some(entry.path());
            }
        }
    }
    None
}

impl MailStore for Maildir {
    fn list_mailboxes(&self, user: &UserId) -> Result<Vec<MailboxInfo>, StoreError> {
        let user_dir = self.user_dir(user)?;
        let names = self.names(&user_dir)?;
        let subs = user_files::subscriptions(&user_dir)?;
        let special = user_files::special_uses(&user_dir)?;
        Ok(names
            .iter()
            .map(|n| {
                let has_children = names.iter().any(|c| c.is_below(n));
                MailboxInfo::new(
                    n.clone(),
                    MailboxAttributes::new(has_children, subs.contains(n), special.get(n).copied()),
                )
            })
            .collect())
    }

    fn subscriptions(&self, user: &UserId) -> Result<Vec<MailboxName>, StoreError> {
        let user_dir = self.user_dir(user)?;
        Ok(user_files::subscriptions(&user_dir)?.into_iter().collect())
    }

    fn create_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreError> {
        let user_dir = self.user_dir(user)?;
        self.create_new(&user_dir, name, None)?;
        if let Some(attr) = special_use {
            user_files::set_special_uses(&self.ctx, &user_dir, |t| {
                t.insert(name.clone(), attr);
            })?;
        }
        Ok(())
    }

    fn delete_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        if name.is_inbox() {
            return Err(StoreError::InboxIsSpecial);
        }
        let user_dir = self.user_dir(user)?;
        let dir = self.mailbox_dir(user, name)?;
        if self.names(&user_dir)?.iter().any(|n| n.is_below(name)) {
            return Err(StoreError::HasChildren);
        }
        // Rename away first so the mailbox disappears in one step, then remove at leisure.
        let trash = user_dir.join(format!(
            "gradwell-trash.{}",
            self.ctx.unique_base(None, 0, 0)
        ));
        fs::rename(&dir, &trash).map_err(StoreError::io("moving mailbox to trash"))?;
        self.ctx.fsync_path(&user_dir)?;
        self.ctx.forget(&dir);
        fs::remove_dir_all(&trash).map_err(StoreError::io("removing deleted mailbox"))?;
        user_files::set_special_uses(&self.ctx, &user_dir, |t| {
            t.remove(name);
        })
    }

    fn rename_mailbox(
        &self,
        user: &UserId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<(), StoreError> {
        if from.is_inbox() {
            return rename_inbox(self, user, to);
        }
        check_rename(from, to)?;
        let user_dir = self.user_dir(user)?;
        self.mailbox_dir(user, from)?;
        let names = self.names(&user_dir)?;
        let mut moves = Vec::new();
        for n in names.iter().filter(|n| *n == from || n.is_below(from)) {
            let new = n
                .rebase(from, to)
                .ok_or(StoreError::InvalidMailboxName(crate::NameError::Length))?;
            let new_dir = layout::mailbox_path(&user_dir, &new)?;
            if new_dir.exists() {
                return Err(StoreError::MailboxExists);
            }
            moves.push((layout::mailbox_path(&user_dir, n)?, new_dir, n.clone(), new));
        }
        for (old_dir, new_dir, _, _) in &moves {
            fs::rename(old_dir, new_dir).map_err(StoreError::io("renaming mailbox"))?;
            self.ctx.forget(old_dir);
        }
        self.create_parents(&user_dir, to)?;
        self.ctx.fsync_path(&user_dir)?;
        user_files::set_special_uses(&self.ctx, &user_dir, |t| {
            for (_, _, old, new) in &moves {
                if let Some(attr) = t.remove(old) {
                    t.insert(new.clone(), attr);
                }
            }
        })
    }

    fn set_subscribed(
        &self,
        user: &UserId,
        name: &MailboxName,
        subscribed: bool,
    ) -> Result<(), StoreError> {
        let user_dir = self.user_dir(user)?;
        user_files::set_subscriptions(&self.ctx, &user_dir, |subs| {
            if subscribed {
                subs.insert(name.clone());
            } else {
                subs.remove(name);
            }
        })
    }

    fn open(&self, user: &UserId, name: &MailboxName) -> Result<MailboxView, StoreError> {
        let dir = self.mailbox_dir(user, name)?;
        let s = self.ctx.snapshot(&dir)?;
        let messages = s
            .msgs
            .iter()
            .map(|(u, m)| meta_of(*u, m))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MailboxView::new(
            validity(s.uid_validity)?,
            uid(s.next_uid)?,
            ModSeq::new(s.highest),
            messages,
        ))
    }

    fn append(
        &self,
        user: &UserId,
        name: &MailboxName,
        message: &mut dyn Read,
        request: &AppendRequest,
    ) -> Result<Uid, StoreError> {
        self.deliver(user, name, message, request, None)
    }

    fn copy(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        let src_dir = self.mailbox_dir(user, from)?;
        let dst_dir = self.mailbox_dir(user, to)?;
        let picked = Self::pick(&self.ctx.snapshot(&src_dir)?.msgs, uids);
        let mut dst = Locked::acquire(&self.ctx, &dst_dir)?;
        if dst.needs_scan {
            dst.scan()?;
        }
        let mapping = self.transfer(&src_dir, &picked, &mut dst, |a, b| fs::hard_link(a, b))?;
        let v = validity(dst.uidlist.uid_validity)?;
        dst.commit(false)?;
        Ok(CopyResult::new(v, mapping))
    }

    fn move_messages(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        let src_dir = self.mailbox_dir(user, from)?;
        let dst_dir = self.mailbox_dir(user, to)?;
        if src_dir == dst_dir {
            let res = self.copy(user, from, uids, to)?;
            let moved = res.mapping.iter().map(|(o, _)| *o).collect();
            self.expunge(user, from, &ExpungeSelector::Uids(moved))?;
            return Ok(res);
        }
        // Lock both in path order so two opposite MOVEs cannot deadlock.
        let (mut src, mut dst) = if src_dir < dst_dir {
            let s = Locked::acquire(&self.ctx, &src_dir)?;
            (s, Locked::acquire(&self.ctx, &dst_dir)?)
        } else {
            let d = Locked::acquire(&self.ctx, &dst_dir)?;
            (Locked::acquire(&self.ctx, &src_dir)?, d)
        };
        src.scan()?;
        if dst.needs_scan {
            dst.scan()?;
        }
        let picked = Self::pick(&src.msgs, uids);
        let mapping = self.transfer(&src_dir, &picked, &mut dst, |a, b| fs::rename(a, b))?;
        for (old, _) in &mapping {
            src.record_expunged(old.get());
        }
        for sub in ["new", "cur"] {
            self.ctx.fsync_path(&src_dir.join(sub))?;
        }
        let v = validity(dst.uidlist.uid_validity)?;
        dst.commit(false)?;
        src.commit(false)?;
        Ok(CopyResult::new(v, mapping))
    }

    fn store_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        change: &FlagChange,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreOutcome, StoreError> {
        self.change_flags(user, name, uids, change, unchanged_since, None)
    }

    fn expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        which: &ExpungeSelector,
    ) -> Result<Vec<Uid>, StoreError> {
        self.remove_messages(user, name, which, None)
    }

    fn read(
        &self,
        user: &UserId,
        name: &MailboxName,
        u: Uid,
        part: ReadPart,
    ) -> Result<Vec<u8>, StoreError> {
        let dir = self.mailbox_dir(user, name)?;
        let (mut file, msg) = self.open_message(&dir, u)?;
        if let ReadPart::Range { start, len } = part
            && file.metadata().is_ok_and(|m| m.len() == msg.size)
        {
            // The file is already in CRLF form (its length is the presented size): a range
            // (a FETCH of one MIME part) reads just those bytes.
            if start > msg.size {
                return Err(StoreError::RangeOutOfBounds);
            }
            let mut out = Vec::new();
            file.seek(SeekFrom::Start(start))
                .and_then(|_| file.take(len).read_to_end(&mut out))
                .map_err(StoreError::io("reading message file"))?;
            return Ok(out);
        }
        let mut raw = Vec::new();
        // The header alone needs only the bytes the metadata cache says it spans.
        let limit = match part {
            ReadPart::Header if msg.header_len > 0 => msg.header_len,
            _ => u64::MAX,
        };
        file.take(limit)
            .read_to_end(&mut raw)
            .map_err(StoreError::io("reading message file"))?;
        select_part(with_crlf(raw), part)
    }

    fn read_stream(
        &self,
        user: &UserId,
        name: &MailboxName,
        u: Uid,
    ) -> Result<Box<dyn Read + Send>, StoreError> {
        let dir = self.mailbox_dir(user, name)?;
        let (file, _) = self.open_message(&dir, u)?;
        Ok(Box::new(CrlfReader::new(std::io::BufReader::new(file))))
    }

    fn cached_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        u: Uid,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let dir = self.mailbox_dir(user, name)?;
        let snapshot = self.ctx.snapshot(&dir)?;
        match snapshot.msgs.get(&u.get()) {
            Some(msg) => structure::get(&self.ctx, &dir, u.get(), msg),
            None => Ok(None),
        }
    }

    fn cache_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        u: Uid,
        record: &[u8],
    ) -> Result<(), StoreError> {
        let dir = self.mailbox_dir(user, name)?;
        let snapshot = self.ctx.snapshot(&dir)?;
        match snapshot.msgs.get(&u.get()) {
            Some(msg) => structure::put(&self.ctx, &dir, u.get(), msg, record, &snapshot.msgs),
            None => Ok(()),
        }
    }

    fn changes_since(
        &self,
        user: &UserId,
        name: &MailboxName,
        since: ModSeq,
    ) -> Result<ChangeSet, StoreError> {
        let dir = self.mailbox_dir(user, name)?;
        let s = self.ctx.snapshot(&dir)?;
        let changed = s
            .msgs
            .iter()
            .filter(|(_, m)| m.modseq > since.get())
            .map(|(u, m)| meta_of(*u, m))
            .collect::<Result<Vec<_>, _>>()?;
        let mut vanished = s
            .vanished
            .iter()
            .filter(|(_, m)| *m > since.get())
            .map(|(u, _)| uid(*u))
            .collect::<Result<Vec<_>, _>>()?;
        vanished.sort_unstable();
        vanished.dedup();
        Ok(ChangeSet::new(
            validity(s.uid_validity)?,
            uid(s.next_uid)?,
            ModSeq::new(s.highest),
            changed,
            vanished,
        )
        .with_vanished_complete(since.get() >= s.pruned))
    }

    fn quota_usage(&self, user: &UserId) -> Result<QuotaUsage, StoreError> {
        let user_dir = self.user_dir(user)?;
        let mut usage = QuotaUsage::default();
        for name in self.names(&user_dir)? {
            let dir = layout::mailbox_path(&user_dir, &name)?;
            let s: Arc<Snapshot> = self.ctx.snapshot(&dir)?;
            usage.messages = usage.messages.saturating_add(s.msgs.len() as u64);
            for m in s.msgs.values() {
                usage.bytes = usage.bytes.saturating_add(m.size);
            }
        }
        Ok(usage)
    }

    fn pop3_view(&self, user: &UserId) -> Result<Vec<Pop3Entry>, StoreError> {
        let dir = self.mailbox_dir(user, &MailboxName::inbox())?;
        let s = self.ctx.snapshot(&dir)?;
        let v = validity(s.uid_validity)?;
        let mut entries: Vec<(u32, u32, &Msg)> = s
            .msgs
            .iter()
            .map(|(u, m)| (m.pop3_order.unwrap_or(u32::MAX), *u, m))
            .collect();
        // Migrated messages keep their recorded POP3 order (`O`); the rest follow by UID.
        entries.sort_by_key(|(order, u, _)| (*order, *u));
        entries
            .into_iter()
            .map(|(_, u, m)| {
                let u = uid(u)?;
                let uidl = m.pop3_uidl.clone().unwrap_or_else(|| default_uidl(u, v));
                Ok(Pop3Entry::new(u, uidl, m.size))
            })
            .collect()
    }
}
