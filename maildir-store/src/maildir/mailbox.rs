//! One mailbox directory under its `dovecot-uidlist.lock`: load, rescan, change, commit.
//!
//! Every change to UIDs, flags or the index happens while the lock is held, after reading
//! the current files, so several processes (and hosts) can work on one mailbox. Readers see
//! the directory listing race-free: if a listed UID's file is missing from `cur/` and `new/`
//! we list both again before calling it expunged, because `readdir` may skip an entry that
//! another process renames at the same moment (Dovecot's documented race).

use std::{
    collections::{BTreeMap, HashMap},
    fs::{self, OpenOptions},
    io::{ErrorKind, Write},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use crate::{
    error::StoreError,
    maildir::{
        Ctx, filename,
        index::{self, Index},
        keywords::KeywordTable,
        lock::DotLock,
        tail::{self, FileAt, Read2},
        uidlist::{self, UidList, UidRecord},
    },
    types::{Flags, Keyword, Uid},
};

/// `dovecot-uidlist`.
pub(crate) const UIDLIST: &str = "dovecot-uidlist";
/// `dovecot-keywords`.
pub(crate) const KEYWORDS: &str = "dovecot-keywords";

/// One message as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Msg {
    pub(crate) name: String,
    pub(crate) in_new: bool,
    pub(crate) base: String,
    pub(crate) flags: Flags,
    pub(crate) keyword_letters: Vec<u8>,
    pub(crate) other_letters: Vec<u8>,
    pub(crate) size: u64,
    pub(crate) internal_date: SystemTime,
    /// Bytes of the file holding the header, 0 when not known.
    pub(crate) header_len: u64,
    pub(crate) modseq: u64,
    pub(crate) pop3_uidl: Option<String>,
    pub(crate) pop3_order: Option<u32>,
}

impl Msg {
    /// Path of the file relative to the mailbox directory.
    pub(crate) fn rel_path(&self) -> PathBuf {
        Path::new(if self.in_new { "new" } else { "cur" }).join(&self.name)
    }
}

/// The state of a mailbox after a full scan.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    pub(crate) uid_validity: u32,
    pub(crate) next_uid: u32,
    pub(crate) highest: u64,
    pub(crate) msgs: BTreeMap<u32, Msg>,
    pub(crate) vanished: Vec<(u32, u64)>,
    /// Tombstones up to this modseq were pruned (0: none).
    pub(crate) pruned: u64,
}

/// A locked mailbox with its control files loaded.
#[derive(Debug)]
pub(crate) struct Locked<'a> {
    ctx: &'a Ctx,
    pub(crate) dir: PathBuf,
    lock: Option<DotLock>,
    pub(crate) uidlist: UidList,
    uidlist_at: Option<FileAt>,
    uidlist_appends: Vec<UidRecord>,
    uidlist_rewrite: bool,
    pub(crate) index: Index,
    index_at: Option<FileAt>,
    index_appends: String,
    index_rewrite: bool,
    pub(crate) keywords: KeywordTable,
    keywords_dirty: bool,
    pub(crate) msgs: BTreeMap<u32, Msg>,
    scanned: bool,
    /// The control files could not be trusted; a scan must run before anything else.
    pub(crate) needs_scan: bool,
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io("reading control file")(e)),
    }
}

impl<'a> Locked<'a> {
    /// Sets `P` (UIDL) and `O` (order) on listed messages; whether anything changed.
    pub(crate) fn set_pop3(&mut self, entries: &[(Uid, Option<String>, Option<u32>)]) -> bool {
        let mut changed = false;
        for (uid, uidl, order) in entries {
            let Ok(at) = self
                .uidlist
                .records
                .binary_search_by_key(&uid.get(), |r| r.uid)
            else {
                continue;
            };
            let Some(record) = self.uidlist.records.get_mut(at) else {
                continue;
            };
            for (key, value) in [('P', uidl.clone()), ('O', order.map(|o| o.to_string()))] {
                let Some(value) = value else { continue };
                match record.ext.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, v)) if *v == value => {}
                    Some((_, v)) => {
                        *v = value;
                        changed = true;
                    }
                    None => {
                        record.ext.push((key, value));
                        changed = true;
                    }
                }
            }
            if let Some(m) = self.msgs.get_mut(&uid.get()) {
                if uidl.is_some() {
                    m.pop3_uidl.clone_from(uidl);
                }
                if order.is_some() {
                    m.pop3_order = *order;
                }
            }
        }
        self.uidlist_rewrite |= changed;
        changed
    }

    /// Locks `dir` (which must exist) and loads its control files, rebuilding what is
    /// missing or corrupt.
    pub(crate) fn acquire(ctx: &'a Ctx, dir: &Path) -> Result<Self, StoreError> {
        if !dir.join("cur").is_dir() {
            return Err(StoreError::NoSuchMailbox);
        }
        let lock = DotLock::acquire(&dir.join(UIDLIST), &ctx.lock_policy())?;
        let (cached_list, cached_index) = match ctx.take_lists(dir) {
            Some(l) => (Some((l.uidlist, l.uidlist_at)), Some((l.index, l.index_at))),
            None => (None, None),
        };
        let loaded_index = load_index(&dir.join(index::FILE), cached_index)?;
        let loaded_list = load_uidlist(&dir.join(UIDLIST), cached_list)?;
        let keywords = read_optional(&dir.join(KEYWORDS))?
            .map(|b| KeywordTable::parse(&String::from_utf8_lossy(&b)))
            .unwrap_or_default();
        let mut needs_scan = false;
        let (index, index_at, index_rewrite) = match loaded_index {
            Load::Fine { value, at, torn } => (value, Some(at), torn),
            Load::Corrupt(highest) => {
                needs_scan = true;
                (rebuilt_index(highest, ctx), None, true)
            }
            Load::Missing => {
                needs_scan = true;
                (rebuilt_index(0, ctx), None, true)
            }
        };
        let (uidlist, uidlist_at, uidlist_rewrite) = match loaded_list {
            Load::Fine { value, at, torn } => {
                // A torn last line or a version 1 file cannot be appended to: rewrite it.
                let rewrite = torn || value.v1;
                (value, Some(at), rewrite)
            }
            other => {
                // Missing or corrupt: rebuild from our index when it knows the mailbox,
                // else start a new UIDVALIDITY (every client resyncs, nobody sees wrong UIDs).
                needs_scan = true;
                if matches!(other, Load::Corrupt(_)) {
                    ctx.note_rebuild();
                }
                let list = if index.uid_validity != 0 {
                    let mut l = UidList::new(index.uid_validity, ctx.new_guid());
                    l.records = index
                        .live
                        .iter()
                        .map(|(uid, e)| UidRecord::new(*uid, e.base.clone()))
                        .collect();
                    let top = index.top_expunged_uid();
                    l.header_next_uid = l.next_uid().max(top.saturating_add(1));
                    l
                } else {
                    UidList::new(ctx.next_uid_validity(dir)?, ctx.new_guid())
                };
                (list, None, true)
            }
        };
        let mut me = Self {
            ctx,
            dir: dir.to_path_buf(),
            lock: Some(lock),
            uidlist,
            uidlist_at,
            uidlist_appends: Vec::new(),
            uidlist_rewrite,
            index,
            index_at,
            index_appends: String::new(),
            index_rewrite,
            keywords,
            keywords_dirty: false,
            msgs: BTreeMap::new(),
            scanned: false,
            needs_scan,
        };
        if me.index.uid_validity != me.uidlist.uid_validity {
            // The index belongs to another generation of this mailbox: start it afresh.
            let highest = me.index.highest;
            me.index = rebuilt_index(highest, ctx);
            me.index_rewrite = true;
            me.needs_scan = true;
        }
        me.index.uid_validity = me.uidlist.uid_validity;
        if ctx.written_before_reboot(&me.index.boot) {
            // Written before this host's last reboot: appended lines may have been lost with
            // the page cache, so rediscover UIDs from the file names before allocating more.
            me.needs_scan = true;
        }
        Ok(me)
    }

    /// Keeps the mailbox lock fresh during a long operation (call it once per message).
    pub(crate) fn keep_alive(&mut self) {
        let every = self.ctx.options.stale_lock_age / 4;
        if let Some(lock) = &mut self.lock {
            lock.refresh(every);
        }
    }

    /// The next UID this lock will hand out.
    pub(crate) fn next_uid(&self) -> u32 {
        let after_appends = self
            .uidlist_appends
            .last()
            .map_or(0, |r| r.uid.saturating_add(1));
        self.uidlist.next_uid().max(after_appends)
    }

    /// The next UID, or an error once the 32-bit UID space is used up (RFC 3501 then asks
    /// for a new UIDVALIDITY, which is an operator's decision).
    pub(crate) fn allocate_uid(&self) -> Result<u32, StoreError> {
        let next = self.next_uid();
        let last = self
            .uidlist_appends
            .last()
            .or(self.uidlist.records.last())
            .map_or(0, |r| r.uid);
        if next <= last {
            return Err(StoreError::Corrupt {
                file: "dovecot-uidlist",
                detail: "UID space exhausted".into(),
            });
        }
        Ok(next)
    }

    /// True when the mailbox never held a message: no UID handed out, nothing expunged.
    pub(crate) fn is_pristine(&self) -> bool {
        self.scanned
            && self.msgs.is_empty()
            && self.next_uid() == 1
            && self.index.vanished.is_empty()
            && self.index.pruned == 0
    }

    /// Gives a pristine mailbox another UIDVALIDITY (the control files are rewritten at
    /// commit). Nothing refers to the old value yet, so no client can be misled.
    pub(crate) fn set_uid_validity(&mut self, v: u32) {
        self.uidlist.uid_validity = v;
        self.index.uid_validity = v;
        self.uidlist_rewrite = true;
        self.index_rewrite = true;
    }

    /// Takes a fresh modseq.
    pub(crate) fn bump(&mut self) -> u64 {
        // Saturates rather than panics on a damaged index claiming modseq 2^64 - 1.
        self.index.highest = self.index.highest.saturating_add(1);
        self.index.highest
    }

    /// Lists `cur/` and `new/` and reconciles them with the control files.
    pub(crate) fn scan(&mut self) -> Result<(), StoreError> {
        if !self.needs_scan
            && let Some(cached) = self
                .ctx
                .cached_snapshot(&self.dir, &super::stamps(&self.dir))
        {
            // Nothing changed since a scan this process made: no need to list the directories.
            self.msgs = cached.msgs.clone();
            self.scanned = true;
            return Ok(());
        }
        self.clean_tmp();
        let mut files = self.list_files()?;
        // Expunged UIDs are never reused: remember the next UID before dropping records.
        let header_next = self.uidlist.next_uid();
        let records = std::mem::take(&mut self.uidlist.records);
        // One hash lookup per record: matched files leave `files`, the rest are new.
        let Joined {
            mut matched,
            mut missing,
            mut rest,
        } = join(records, files);
        if !missing.is_empty() {
            // readdir may have skipped a file being renamed: list again before believing it.
            let mut all: Vec<(UidRecord, Option<(String, bool)>)> = matched
                .into_iter()
                .map(|(r, f)| (r, Some(f)))
                .chain(missing.into_iter().map(|r| (r, None)))
                .collect();
            all.sort_by_key(|(r, _)| r.uid);
            files = self.list_files()?;
            Joined {
                matched,
                missing,
                rest,
            } = join(all.into_iter().map(|(r, _)| r).collect(), files);
        }
        if !missing.is_empty() {
            self.uidlist_rewrite = true;
        }
        self.uidlist.header_next_uid = header_next;
        for r in missing {
            if self.index.live.contains_key(&r.uid) {
                let m = self.bump();
                self.expunge_in_index(r.uid, m);
            }
        }
        let mut new_files: Vec<(u32, String, (String, bool))> = rest
            .into_iter()
            .map(|(b, f)| {
                let marked = filename::marker(&b)
                    .filter(|(_, v)| *v == self.uidlist.uid_validity)
                    .map_or(u32::MAX, |(u, _)| u);
                (marked, b, f)
            })
            .collect();
        new_files.sort();
        let mut next = header_next.max(matched.last().map_or(1, |(r, _)| r.uid.saturating_add(1)));
        for (marked, base, f) in new_files {
            let uid = if marked != u32::MAX && marked >= next {
                marked
            } else {
                next
            };
            if matched.last().is_some_and(|(r, _)| r.uid >= uid) {
                break; // UID space exhausted: leave the rest without UIDs
            }
            next = uid.saturating_add(1);
            matched.push((UidRecord::new(uid, base), f));
            self.uidlist.header_next_uid = next;
            self.uidlist_rewrite = true;
        }
        let mut msgs = BTreeMap::new();
        let mut kept = Vec::with_capacity(matched.len());
        for (r, (name, in_new)) in matched {
            self.keep_alive();
            let msg = self.describe(&r, name, in_new)?;
            msgs.insert(r.uid, msg);
            kept.push(r);
        }
        self.uidlist.records = kept;
        let stale: Vec<u32> = self
            .index
            .live
            .keys()
            .filter(|u| !msgs.contains_key(u))
            .copied()
            .collect();
        for uid in stale {
            let m = self.bump();
            self.expunge_in_index(uid, m);
        }
        self.msgs = msgs;
        self.scanned = true;
        self.needs_scan = false;
        if self.ctx.written_before_reboot(&self.index.boot) {
            // Record that this boot has checked the names, so the next writer need not.
            self.index.boot = self.ctx.boot_tag.clone();
            self.index_rewrite = true;
        }
        Ok(())
    }

    /// Builds the record of one message and brings the index up to date with it.
    fn describe(&mut self, r: &UidRecord, name: String, in_new: bool) -> Result<Msg, StoreError> {
        let parsed = filename::parse(&name).ok_or_else(|| StoreError::Corrupt {
            file: "message file name",
            detail: name.clone(),
        })?;
        let mut flags = parsed.flags.clone();
        for &l in &parsed.keyword_letters {
            if let Some(kw) = self.keywords.keyword(l) {
                flags.insert_keyword(kw.clone());
            }
        }
        let known = self
            .index
            .live
            .get(&r.uid)
            .filter(|e| e.base == r.base)
            .map(|e| {
                (
                    e.size,
                    e.internal_date,
                    e.modseq,
                    e.flags == flags,
                    e.header_len,
                )
            });
        let header_len = known.map_or(0, |k| k.4);
        let (size, internal_date, modseq) = match known {
            Some((size, date, modseq, true, _)) => (size, date, modseq),
            Some((size, date, _, false, _)) => {
                let m = self.bump();
                self.index_appends
                    .push_str(&index::changed(m, r.uid, &flags));
                if let Some(live) = self.index.live.get_mut(&r.uid) {
                    live.flags = flags.clone();
                    live.modseq = m;
                }
                (size, date, m)
            }
            None => {
                let rel = Path::new(if in_new { "new" } else { "cur" }).join(&name);
                let meta = fs::metadata(self.dir.join(rel)).ok();
                // Presented size: Dovecot's virtual size (CRLF) when the name has it.
                let size = filename::field(parsed.base, "W")
                    .or(parsed.size)
                    .or_else(|| meta.as_ref().map(|m| m.len()))
                    .unwrap_or(0);
                let date = meta
                    .and_then(|m| m.modified().ok())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                let m = self.bump();
                let entry = index::Entry {
                    modseq: m,
                    size,
                    internal_date: date,
                    header_len: 0,
                    base: r.base.clone(),
                    flags: flags.clone(),
                };
                self.index_appends.push_str(&index::added(r.uid, &entry));
                self.index.live.insert(r.uid, entry);
                (size, date, m)
            }
        };
        let keyword_letters = parsed.keyword_letters;
        let other_letters = parsed.other_letters;
        Ok(Msg {
            name,
            in_new,
            base: r.base.clone(),
            flags,
            keyword_letters,
            other_letters,
            size,
            internal_date,
            header_len,
            modseq,
            pop3_uidl: r.ext('P').filter(|p| !p.is_empty()).map(str::to_owned),
            pop3_order: r.ext('O').and_then(|o| o.parse().ok()),
        })
    }

    fn list_files(&self) -> Result<HashMap<String, (String, bool)>, StoreError> {
        let mut files = HashMap::new();
        for (sub, in_new) in [("new", true), ("cur", false)] {
            let entries =
                fs::read_dir(self.dir.join(sub)).map_err(StoreError::io("listing cur/new"))?;
            for entry in entries {
                let entry = entry.map_err(StoreError::io("listing cur/new"))?;
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue; // stray directories are not messages
                }
                let Ok(name) = entry.file_name().into_string() else {
                    continue; // not UTF-8: not a Maildir name we can record
                };
                let Some(parsed) = filename::parse(&name) else {
                    continue; // dot files and the like are not messages
                };
                let base = parsed.base.to_owned();
                // The same message in new/ and cur/ happens only mid-rename; cur/ wins.
                if in_new && files.contains_key(&base) {
                    continue;
                }
                files.insert(base, (name, in_new));
            }
        }
        Ok(files)
    }

    fn clean_tmp(&self) {
        let Ok(entries) = fs::read_dir(self.dir.join("tmp")) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            let touched = meta.accessed().or_else(|_| meta.modified()).unwrap_or(now);
            let age = now.duration_since(touched).unwrap_or(Duration::ZERO);
            if meta.is_file() && age > self.ctx.options.tmp_max_age {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn expunge_in_index(&mut self, uid: u32, modseq: u64) {
        self.index.live.remove(&uid);
        self.index.vanished.push((uid, modseq));
        self.index_appends.push_str(&index::expunged(modseq, uid));
        if self.index.prune(self.ctx.options.max_tombstones) {
            self.index_rewrite = true;
        }
    }

    /// Letters for `flags`' keywords, adding new keywords to `dovecot-keywords`.
    pub(crate) fn letters_for(&mut self, flags: &Flags) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        for kw in flags.keywords() {
            let before = self.keywords.letter_of(kw);
            let letter = self
                .keywords
                .letter_or_insert(kw)
                .ok_or(StoreError::TooManyKeywords {
                    limit: super::keywords::SLOTS,
                })?;
            if before.is_none() {
                self.keywords_dirty = true;
            }
            out.push(letter);
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Writes `dovecot-keywords` if keywords were added: before any file name uses the new
    /// letters.
    pub(crate) fn write_keywords(&mut self) -> Result<(), StoreError> {
        if self.keywords_dirty {
            let kw_lock = DotLock::acquire(&self.dir.join(KEYWORDS), &self.ctx.lock_policy())?;
            kw_lock.replace_target(self.keywords.to_text().as_bytes(), |f| {
                self.ctx.fsync_data(f)
            })?;
            self.keywords_dirty = false;
        }
        Ok(())
    }

    /// Checks that these keywords fit without changing anything.
    pub(crate) fn keywords_fit<'k>(
        &self,
        kws: impl Iterator<Item = &'k Keyword>,
    ) -> Result<(), StoreError> {
        let mut table = self.keywords.clone();
        for kw in kws {
            table
                .letter_or_insert(kw)
                .ok_or(StoreError::TooManyKeywords {
                    limit: super::keywords::SLOTS,
                })?;
        }
        Ok(())
    }

    /// Records a message that was just put in place under `uid`.
    pub(crate) fn record_new(&mut self, uid: u32, msg: Msg) {
        let modseq = self.bump();
        self.record_new_at(uid, msg, modseq);
    }

    /// Takes `modseq` if given (resync copies the peer's), else a fresh one.
    pub(crate) fn modseq_or_bump(&mut self, given: Option<u64>) -> u64 {
        match given {
            Some(m) => {
                self.index.highest = self.index.highest.max(m);
                m
            }
            None => self.bump(),
        }
    }

    /// Records a message that was just put in place under `uid`, with this modseq.
    pub(crate) fn record_new_at(&mut self, uid: u32, msg: Msg, modseq: u64) {
        self.index.highest = self.index.highest.max(modseq);
        self.uidlist_appends
            .push(UidRecord::new(uid, msg.base.clone()));
        let entry = index::Entry {
            modseq,
            size: msg.size,
            internal_date: msg.internal_date,
            header_len: msg.header_len,
            base: msg.base.clone(),
            flags: msg.flags.clone(),
        };
        self.index_appends.push_str(&index::added(uid, &entry));
        self.index.live.insert(uid, entry);
        if self.scanned {
            self.msgs.insert(uid, Msg { modseq, ..msg });
        }
    }

    /// Records new flags (the file was already renamed); returns the new modseq.
    pub(crate) fn record_flags(
        &mut self,
        uid: u32,
        name: String,
        flags: Flags,
        letters: Vec<u8>,
        given: Option<u64>,
    ) -> u64 {
        let modseq = self.modseq_or_bump(given);
        self.index_appends
            .push_str(&index::changed(modseq, uid, &flags));
        if let Some(e) = self.index.live.get_mut(&uid) {
            e.flags = flags.clone();
            e.modseq = modseq;
        }
        if let Some(m) = self.msgs.get_mut(&uid) {
            m.name = name;
            m.in_new = false;
            m.flags = flags;
            m.keyword_letters = letters;
            m.modseq = modseq;
        }
        modseq
    }

    /// Records that a message's file is gone.
    pub(crate) fn record_expunged(&mut self, uid: u32) {
        self.record_expunged_at(uid, None);
    }

    /// Records that a message's file is gone, at `given` modseq or a fresh one.
    pub(crate) fn record_expunged_at(&mut self, uid: u32, given: Option<u64>) {
        self.uidlist.header_next_uid = self.next_uid();
        self.msgs.remove(&uid);
        self.uidlist.records.retain(|r| r.uid != uid);
        self.uidlist_appends.retain(|r| r.uid != uid);
        self.uidlist_rewrite = true;
        let modseq = self.modseq_or_bump(given);
        self.expunge_in_index(uid, modseq);
    }

    /// Resync: the peer expunged `uid` (which this replica never had or already dropped)
    /// at `modseq`: keep the tombstone for QRESYNC and never hand the UID out.
    pub(crate) fn record_absent_expunge(&mut self, uid: u32, modseq: u64) {
        if self.index.vanished.iter().any(|(u, _)| *u == uid) || self.msgs.contains_key(&uid) {
            return;
        }
        self.uidlist.header_next_uid = self.next_uid().max(uid.saturating_add(1));
        self.uidlist_rewrite = true;
        self.index.highest = self.index.highest.max(modseq);
        self.expunge_in_index(uid, modseq);
    }

    /// The scanned state.
    /// Moves the scanned state out (the lock is only committed afterwards).
    pub(crate) fn take_snapshot(&mut self) -> Snapshot {
        Snapshot {
            uid_validity: self.uidlist.uid_validity,
            next_uid: self.next_uid(),
            highest: self.index.highest,
            msgs: std::mem::take(&mut self.msgs),
            vanished: self.index.vanished.clone(),
            pruned: self.index.pruned,
        }
    }

    /// Writes the control files and releases the lock. With `durable`, the index is fsynced
    /// (flag changes); otherwise it is rebuildable and left to the page cache.
    pub(crate) fn commit(mut self, durable: bool) -> Result<(), StoreError> {
        self.write_keywords()?;
        let compact = self.index.lines > 2 * self.index.live.len() + 10_000;
        let index_path = self.dir.join(index::FILE);
        let index_at = match self.index_at.take() {
            Some(at) if !self.index_rewrite && !compact => {
                if self.index_appends.is_empty() {
                    at
                } else {
                    let mut f = OpenOptions::new()
                        .append(true)
                        .open(&index_path)
                        .map_err(StoreError::io("opening index"))?;
                    f.write_all(self.index_appends.as_bytes())
                        .map_err(StoreError::io("appending to index"))?;
                    if durable {
                        self.ctx.fsync_file(&f)?;
                    }
                    self.index.lines += self.index_appends.lines().count();
                    tail::advanced(&at, at.ino, self.index_appends.as_bytes())
                }
            }
            _ => {
                if self.ctx.written_before_reboot(&self.index.boot) {
                    self.index.boot = self.ctx.boot_tag.clone();
                }
                let text = self.index.compacted();
                self.index.lines = text.lines().count().saturating_sub(1);
                let tmp = self.dir.join(format!("{}.tmp", index::FILE));
                fs::write(&tmp, &text).map_err(StoreError::io("writing index"))?;
                if durable {
                    self.ctx.fsync_path(&tmp)?;
                }
                let ino = fs::metadata(&tmp)
                    .map_err(StoreError::io("stat of new index"))?
                    .ino();
                fs::rename(&tmp, &index_path).map_err(StoreError::io("replacing index"))?;
                FileAt::after(ino, text.as_bytes())
            }
        };
        let lock = self.lock.take();
        let mut list = std::mem::replace(&mut self.uidlist, UidList::new(1, String::new()));
        let uidlist_at = match self.uidlist_at.take() {
            Some(at) if !self.uidlist_rewrite => {
                if self.uidlist_appends.is_empty() {
                    at
                } else {
                    let mut text = String::new();
                    for r in &self.uidlist_appends {
                        text.push_str(&uidlist::record_line(r));
                    }
                    let mut f = OpenOptions::new()
                        .append(true)
                        .open(self.dir.join(UIDLIST))
                        .map_err(StoreError::io("opening dovecot-uidlist"))?;
                    f.write_all(text.as_bytes())
                        .map_err(StoreError::io("appending to dovecot-uidlist"))?;
                    list.records.append(&mut self.uidlist_appends);
                    tail::advanced(&at, at.ino, text.as_bytes())
                }
            }
            _ => {
                list.records.append(&mut self.uidlist_appends);
                list.v1 = false;
                let bytes = list.to_bytes();
                list.header_next_uid = list.next_uid();
                let Some(lock) = lock else {
                    return Err(StoreError::LockTimeout);
                };
                let ino = lock.replace_target(&bytes, |f| self.ctx.fsync_data(f))?;
                FileAt::after(ino, &bytes)
            }
        };
        // Keep what we know for the next lock holder in this process.
        self.ctx.put_lists(
            &self.dir,
            Lists {
                uidlist: list,
                uidlist_at,
                index: std::mem::take(&mut self.index),
                index_at,
            },
        );
        Ok(())
    }
}

/// Parsed control files and how far they were read, kept between locks.
#[derive(Debug)]
pub(crate) struct Lists {
    pub(crate) uidlist: UidList,
    pub(crate) uidlist_at: FileAt,
    pub(crate) index: Index,
    pub(crate) index_at: FileAt,
}

enum Load<T> {
    Fine { value: T, at: FileAt, torn: bool },
    Missing,
    Corrupt(u64),
}

fn load_uidlist(
    path: &Path,
    cached: Option<(UidList, FileAt)>,
) -> Result<Load<UidList>, StoreError> {
    let read = tail::read(path, cached.as_ref().map(|(_, at)| at))?;
    match (read, cached) {
        (Read2::Missing, _) => Ok(Load::Missing),
        (Read2::Tail { bytes, ino, len }, Some((mut list, at))) => {
            let v1 = list.v1;
            match list.append_tail(&bytes, v1) {
                Ok(used) => {
                    let at = tail::advanced(&at, ino, bytes.get(..used).unwrap_or_default());
                    let torn = at.used < len;
                    Ok(Load::Fine {
                        value: list,
                        at,
                        torn,
                    })
                }
                Err(_) => load_uidlist(path, None),
            }
        }
        (Read2::Tail { .. }, None) => load_uidlist(path, None),
        (Read2::Whole { bytes, ino }, _) => match uidlist::parse(&bytes) {
            Ok((list, used)) => Ok(Load::Fine {
                value: list,
                at: FileAt::after(ino, bytes.get(..used).unwrap_or_default()),
                torn: used < bytes.len(),
            }),
            Err(_) => Ok(Load::Corrupt(0)),
        },
    }
}

fn load_index(path: &Path, cached: Option<(Index, FileAt)>) -> Result<Load<Index>, StoreError> {
    let read = tail::read(path, cached.as_ref().map(|(_, at)| at))?;
    match (read, cached) {
        (Read2::Missing, _) => Ok(Load::Missing),
        (Read2::Tail { bytes, ino, len }, Some((mut index, at))) => {
            match index.apply_tail(&bytes) {
                Ok(used) => {
                    let at = tail::advanced(&at, ino, bytes.get(..used).unwrap_or_default());
                    let torn = at.used < len;
                    Ok(Load::Fine {
                        value: index,
                        at,
                        torn,
                    })
                }
                Err(_) => load_index(path, None),
            }
        }
        (Read2::Tail { .. }, None) => load_index(path, None),
        (Read2::Whole { bytes, ino }, _) => match index::parse(&bytes) {
            Ok((index, used)) => Ok(Load::Fine {
                value: index,
                at: FileAt::after(ino, bytes.get(..used).unwrap_or_default()),
                torn: used < bytes.len(),
            }),
            Err(highest) => Ok(Load::Corrupt(highest)),
        },
    }
}

type Found = (String, bool);

/// Result of [`join`].
struct Joined {
    matched: Vec<(UidRecord, Found)>,
    missing: Vec<UidRecord>,
    rest: HashMap<String, Found>,
}

/// Pairs uidlist records with listed files by base name: (matched, records without a file,
/// files without a record).
fn join(records: Vec<UidRecord>, mut files: HashMap<String, Found>) -> Joined {
    let mut matched = Vec::with_capacity(records.len());
    let mut missing = Vec::new();
    for r in records {
        match files.remove(&r.base) {
            Some(f) => matched.push((r, f)),
            None => missing.push(r),
        }
    }
    Joined {
        matched,
        missing,
        rest: files,
    }
}

fn rebuilt_index(highest: u64, ctx: &Ctx) -> Index {
    Index {
        highest,
        boot: ctx.boot_tag.clone(),
        ..Index::default()
    }
}
