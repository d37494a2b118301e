//! A Dovecot Maildir tree as a migration source: one user's Maildir, read without writing.
//!
//! ```text
//! <root>/cur/ new/ tmp/ dovecot-uidlist dovecot-keywords   INBOX
//! <root>/subscriptions                                      (version 1 or 2)
//! <root>/.Archive.2024/...                                  Maildir++ (default)
//! <root>/Archive/2024/...                                   LAYOUT=fs
//! ```
//! Folder levels are modified UTF-7 on disk. `dovecot-uidlist` (version 3, or 1) gives
//! UIDVALIDITY, UIDNEXT and each message's UID, with its `P` (POP3 UIDL) and `O` (POP3 order)
//! records; the `:2,` info of each file name its flags, lowercase letters being keywords by
//! their line in `dovecot-keywords`. INTERNALDATE is the file's mtime, as Dovecot uses it.
//!
//! Disagreements are per-mailbox errors: a listed file that is gone, two files with one
//! base name. Files the uidlist does not list yet (delivered since Dovecot last looked) get
//! the next UIDs in file-name order, as Dovecot's next sync would give them.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    io::ErrorKind,
    path::{Path, PathBuf},
};

use maildir_store::{Flags, Keyword, MailboxName, SystemFlag, Uid, UidValidity, maildir::mutf7};

use super::{
    courier,
    source::{Source, SourceError, SourceMailbox, SourceMessage},
};

/// How folders are laid out under the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `.Parent.Child` directories directly under the root (Dovecot's default).
    #[default]
    MaildirPlusPlus,
    /// `Parent/Child` directories (`LAYOUT=fs`).
    Fs,
}

/// Whose control files the tree carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// `dovecot-uidlist`, `dovecot-keywords`, `subscriptions`.
    Dovecot,
    /// `courierimapuiddb`, `courierimapkeywords/`, `courierimapsubscribed` (see [`super::courier`]).
    Courier,
}

/// One user's Dovecot Maildir (or, with [`DovecotMaildir::courier`], Courier Maildir).
#[derive(Debug)]
pub struct DovecotMaildir {
    root: PathBuf,
    layout: Layout,
    flavor: Flavor,
    dirs: BTreeMap<MailboxName, PathBuf>,
    skipped: Vec<SourceError>,
}

impl DovecotMaildir {
    /// The Maildir at `root`, folders in `layout`.
    pub fn new(root: impl Into<PathBuf>, layout: Layout) -> Self {
        Self {
            root: root.into(),
            layout,
            flavor: Flavor::Dovecot,
            dirs: BTreeMap::new(),
            skipped: Vec::new(),
        }
    }

    /// A Courier-IMAP Maildir++ at `root`: the same folders and file names, Courier's
    /// control files.
    pub fn courier(root: impl Into<PathBuf>) -> Self {
        Self {
            flavor: Flavor::Courier,
            ..Self::new(root, Layout::MaildirPlusPlus)
        }
    }

    /// The mailbox's UID list, or `None` when the tree has none yet.
    fn uid_list(&self, dir: &Path, label: &str) -> Result<Option<UidList>, SourceError> {
        match self.flavor {
            Flavor::Dovecot => read_optional(&dir.join("dovecot-uidlist"))?
                .map(|t| parse_uidlist(&t, label))
                .transpose(),
            Flavor::Courier => read_optional(&dir.join("courierimapuiddb"))?
                .map(|t| courier::parse_uiddb(&t, label))
                .transpose(),
        }
    }

    fn folder(&mut self, levels: &[&std::ffi::OsStr], dir: PathBuf) {
        let display = levels
            .iter()
            .map(|l| l.to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let mut decoded = Vec::new();
        for level in levels {
            let Some(text) = level.to_str() else {
                self.skipped
                    .push(malformed(&display, "folder name is not UTF-8"));
                return;
            };
            let Some(level) = mutf7::decode(text) else {
                self.skipped
                    .push(malformed(&display, "folder name is not modified UTF-7"));
                return;
            };
            decoded.push(level);
        }
        match MailboxName::new(&decoded.join("/")) {
            Ok(name) => {
                self.dirs.insert(name, dir);
            }
            Err(e) => self.skipped.push(malformed(&display, &e.to_string())),
        }
    }

    fn walk_fs(
        &mut self,
        dir: &Path,
        levels: &mut Vec<std::ffi::OsString>,
    ) -> Result<(), SourceError> {
        for entry in read_dir(dir)? {
            let name = entry.file_name();
            if matches!(name.to_str(), Some("cur" | "new" | "tmp")) || !entry.path().is_dir() {
                continue;
            }
            levels.push(name);
            if entry.path().join("cur").is_dir() {
                let refs: Vec<&std::ffi::OsStr> = levels.iter().map(|l| l.as_os_str()).collect();
                self.folder(&refs, entry.path());
            }
            self.walk_fs(&entry.path(), levels)?;
            levels.pop();
        }
        Ok(())
    }

    fn subscriptions(&self) -> Result<BTreeSet<String>, SourceError> {
        if self.flavor == Flavor::Courier {
            let text = read_optional(&self.root.join("courierimapsubscribed"))?;
            return Ok(courier::parse_subscriptions(&text.unwrap_or_default()));
        }
        let text = match fs::read(self.root.join("subscriptions")) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(BTreeSet::new()),
            Err(e) => return Err(io("reading subscriptions", e)),
        };
        let v2 = text.starts_with("V\t2");
        let separator = match self.layout {
            Layout::MaildirPlusPlus => '.',
            Layout::Fs => '/',
        };
        Ok(text
            .lines()
            .skip(if v2 { 2 } else { 0 })
            .filter(|l| !l.is_empty())
            .map(|l| {
                let joined = if v2 {
                    l.replace('\t', "/")
                } else {
                    l.replace(separator, "/")
                };
                joined
                    .split('/')
                    .map(|lvl| mutf7::decode(lvl).unwrap_or_else(|| lvl.to_owned()))
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect())
    }
}

pub(super) fn malformed(mailbox: &str, reason: &str) -> SourceError {
    SourceError::Malformed {
        mailbox: mailbox.to_owned(),
        reason: reason.to_owned(),
    }
}

fn io(context: impl Into<String>, source: std::io::Error) -> SourceError {
    SourceError::Io {
        context: context.into(),
        source,
    }
}

fn read_dir(dir: &Path) -> Result<Vec<fs::DirEntry>, SourceError> {
    let context = || format!("listing {}", dir.display());
    let mut entries = fs::read_dir(dir)
        .map_err(|e| io(context(), e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io(context(), e))?;
    entries.sort_by_key(fs::DirEntry::file_name);
    Ok(entries)
}

/// The parsed `dovecot-uidlist`.
#[derive(Debug, Default)]
pub(crate) struct UidList {
    pub(crate) uid_validity: u32,
    pub(crate) next_uid: u32,
    /// uid → (base, POP3 UIDL, POP3 order).
    pub(crate) records: BTreeMap<u32, (String, Option<String>, Option<u32>)>,
}

/// Parses a version 1 or 3 uidlist: header `3 V<v> N<next> ...` (or `1 <v> <next>`), then
/// `<uid> [<key><value> ...] :<base>` (version 1: `<uid> <base>`).
pub(crate) fn parse_uidlist(text: &str, mailbox: &str) -> Result<UidList, SourceError> {
    let bad = |why: &str| malformed(mailbox, &format!("dovecot-uidlist: {why}"));
    let mut lines = text.lines();
    let header = lines.next().ok_or_else(|| bad("empty"))?;
    let mut fields = header.split(' ');
    let mut list = UidList::default();
    let v1 = match fields.next() {
        Some("3") => {
            for f in fields {
                let num = || f.get(1..).and_then(|n| n.parse::<u32>().ok());
                match f.as_bytes().first() {
                    Some(b'V') => list.uid_validity = num().ok_or_else(|| bad("bad V"))?,
                    Some(b'N') => list.next_uid = num().ok_or_else(|| bad("bad N"))?,
                    _ => {}
                }
            }
            false
        }
        Some("1") => {
            let mut num = || fields.next().and_then(|n| n.parse::<u32>().ok());
            list.uid_validity = num().ok_or_else(|| bad("bad UIDVALIDITY"))?;
            list.next_uid = num().ok_or_else(|| bad("bad next UID"))?;
            true
        }
        _ => return Err(bad("unknown version")),
    };
    for line in lines.filter(|l| !l.is_empty()) {
        let (uid, rest) = line.split_once(' ').ok_or_else(|| bad("short record"))?;
        let uid: u32 = uid.parse().map_err(|_| bad("bad UID"))?;
        let (ext, base) = if v1 {
            ("", rest)
        } else {
            rest.split_once(':')
                .ok_or_else(|| bad("record without ':'"))?
        };
        let mut uidl = None;
        let mut order = None;
        for f in ext.split(' ') {
            match f.as_bytes().first() {
                Some(b'P') => uidl = f.get(1..).filter(|p| !p.is_empty()).map(str::to_owned),
                Some(b'O') => order = f.get(1..).and_then(|o| o.parse().ok()),
                _ => {}
            }
        }
        // Dovecot may record the whole file name as it was then; the base is what matches.
        let base = base.split_once(':').map_or(base, |(b, _)| b);
        if uid == 0
            || list
                .records
                .insert(uid, (base.to_owned(), uidl, order))
                .is_some()
        {
            return Err(bad(&format!("UID {uid} listed twice or zero")));
        }
    }
    let after_last = list.records.keys().next_back().map_or(1, |u| u + 1);
    list.next_uid = list.next_uid.max(after_last);
    Ok(list)
}

fn read_optional(path: &Path) -> Result<Option<String>, SourceError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(format!("reading {}", path.display()), e)),
    }
}

/// `dovecot-keywords`: line `<index> <keyword>`, index 0 being letter `a`.
pub(crate) fn parse_keywords(text: &str) -> BTreeMap<u8, Keyword> {
    text.lines()
        .filter_map(|l| {
            let (i, k) = l.split_once(' ')?;
            let i: u8 = i.parse().ok().filter(|i| *i < 26)?;
            Some((b'a' + i, Keyword::new(k).ok()?))
        })
        .collect()
}

/// Flags from a file name's `:2,` info.
fn flags_of(name: &str, keywords: &BTreeMap<u8, Keyword>) -> Flags {
    let mut flags = Flags::new();
    let Some((_, info)) = name.rsplit_once(":2,") else {
        return flags;
    };
    for c in info.bytes() {
        match c {
            b'D' => flags.insert(SystemFlag::Draft),
            b'F' => flags.insert(SystemFlag::Flagged),
            b'R' => flags.insert(SystemFlag::Answered),
            b'S' => flags.insert(SystemFlag::Seen),
            b'T' => flags.insert(SystemFlag::Deleted),
            b'a'..=b'z' => {
                if let Some(k) = keywords.get(&c) {
                    flags.insert_keyword(k.clone());
                }
            }
            _ => {}
        }
    }
    flags
}

/// Every message file of a Maildir, by base name (before `:`).
fn files(dir: &Path, mailbox: &str) -> Result<BTreeMap<String, PathBuf>, SourceError> {
    let mut out = BTreeMap::new();
    for sub in ["new", "cur"] {
        let path = dir.join(sub);
        if !path.is_dir() {
            continue;
        }
        for entry in read_dir(&path)? {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                return Err(malformed(mailbox, "a message file name is not UTF-8"));
            };
            if name.starts_with('.') {
                continue;
            }
            let base = name
                .split_once(':')
                .map_or(name.as_str(), |(b, _)| b)
                .to_owned();
            if out.insert(base.clone(), entry.path()).is_some() {
                return Err(malformed(mailbox, &format!("two files for message {base}")));
            }
        }
    }
    Ok(out)
}

impl Source for DovecotMaildir {
    fn mailboxes(&mut self) -> Result<Vec<SourceMailbox>, SourceError> {
        if !self.root.join("cur").is_dir() {
            return Err(malformed(
                "",
                &format!("{} is not a Maildir", self.root.display()),
            ));
        }
        self.dirs.clear();
        self.skipped.clear();
        self.dirs.insert(MailboxName::inbox(), self.root.clone());
        match self.layout {
            Layout::MaildirPlusPlus => {
                for entry in read_dir(&self.root.clone())? {
                    let name = entry.file_name();
                    if name.as_encoded_bytes().first() != Some(&b'.')
                        || name.len() < 2
                        || !entry.path().join("cur").is_dir()
                    {
                        continue;
                    }
                    let Some(text) = name.to_str() else {
                        let lossy = name.to_string_lossy();
                        let shown = lossy.strip_prefix('.').unwrap_or(&lossy).to_owned();
                        self.skipped
                            .push(malformed(&shown, "folder name is not UTF-8"));
                        continue;
                    };
                    let levels: Vec<&std::ffi::OsStr> = text
                        .strip_prefix('.')
                        .unwrap_or(text)
                        .split('.')
                        .map(std::ffi::OsStr::new)
                        .collect();
                    self.folder(&levels, entry.path());
                }
            }
            Layout::Fs => self.walk_fs(&self.root.clone(), &mut Vec::new())?,
        }
        let subscribed = self.subscriptions()?;
        let mut out = Vec::new();
        for (name, dir) in &self.dirs {
            let (uid_validity, uid_next) = match self.uid_list(dir, name.as_str()) {
                Ok(Some(l)) => (UidValidity::new(l.uid_validity), Uid::new(l.next_uid)),
                // Missing: the target assigns. Broken: reported when the messages are read.
                Ok(None) | Err(_) => (None, None),
            };
            out.push(SourceMailbox {
                name: name.clone(),
                uid_validity,
                uid_next,
                subscribed: subscribed.contains(name.as_str()),
                message_count: None,
            });
        }
        Ok(out)
    }

    fn messages(
        &mut self,
        mailbox: &SourceMailbox,
        sink: &mut dyn FnMut(SourceMessage) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let label = mailbox.name.as_str();
        let dir = self
            .dirs
            .get(&mailbox.name)
            .ok_or_else(|| malformed(label, "no such mailbox in the source"))?
            .clone();
        let list = self.uid_list(&dir, label)?.unwrap_or(UidList {
            next_uid: 1,
            ..UidList::default()
        });
        let (keywords, courier_keywords) = match self.flavor {
            Flavor::Dovecot => (
                parse_keywords(&read_optional(&dir.join("dovecot-keywords"))?.unwrap_or_default()),
                BTreeMap::new(),
            ),
            Flavor::Courier => (
                BTreeMap::new(),
                courier::parse_keywords(
                    &read_optional(&dir.join("courierimapkeywords").join(":list"))?
                        .unwrap_or_default(),
                ),
            ),
        };
        let mut files = files(&dir, label)?;
        let mut plan: Vec<(u32, PathBuf, Option<String>, Option<u32>)> = Vec::new();
        for (uid, (base, uidl, order)) in &list.records {
            let path = files.remove(base).ok_or_else(|| {
                malformed(
                    label,
                    &format!("the UID list has UID {uid} ({base}) but no file has it"),
                )
            })?;
            plan.push((*uid, path, uidl.clone(), *order));
        }
        // Unlisted files: the next UIDs in base-name order (the map is sorted).
        let mut next = list.next_uid;
        for (_, path) in files {
            plan.push((next, path, None, None));
            next = next
                .checked_add(1)
                .ok_or_else(|| malformed(label, "UID space exhausted"))?;
        }
        for (uid, path, pop3_uidl, pop3_order) in plan {
            let body = fs::read(&path).map_err(|e| io(format!("reading {}", path.display()), e))?;
            let meta =
                fs::metadata(&path).map_err(|e| io(format!("reading {}", path.display()), e))?;
            let file_name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let mut flags = flags_of(file_name, &keywords);
            let base = file_name.split_once(':').map_or(file_name, |(b, _)| b);
            for k in courier_keywords.get(base).into_iter().flatten() {
                flags.insert_keyword(k.clone());
            }
            sink(SourceMessage {
                uid: Uid::new(uid),
                flags,
                internal_date: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                pop3_uidl,
                pop3_order,
                body,
            })?;
        }
        Ok(())
    }

    fn skipped(&mut self) -> Vec<SourceError> {
        std::mem::take(&mut self.skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uidlist_v3_known_answer() {
        let l = parse_uidlist(
            "3 V1795911969 N27 G3085f01b7f11094c501100008c4a11c1\n\
             25 P0000001A6B0B7121 O3 :1.m1,S=10:2,S\n26 W99 :1.m2,S=12\n",
            "INBOX",
        )
        .unwrap();
        assert_eq!((l.uid_validity, l.next_uid), (1_795_911_969, 27));
        assert_eq!(
            l.records[&25],
            (
                "1.m1,S=10".to_owned(),
                Some("0000001A6B0B7121".into()),
                Some(3)
            )
        );
        assert_eq!(l.records[&26], ("1.m2,S=12".to_owned(), None, None));
    }

    #[test]
    fn uidlist_v1_and_lagging_header() {
        let l = parse_uidlist("1 7 2\n1 a\n5 b\n", "INBOX").unwrap();
        assert_eq!((l.uid_validity, l.next_uid), (7, 6));
        assert_eq!(l.records[&5].0, "b");
    }

    #[test]
    fn uidlist_errors_name_the_mailbox() {
        for bad in ["", "9 x", "3 V1 N2\nx y :z", "3 V1 N2\n1 :a\n1 :b"] {
            let e = parse_uidlist(bad, "Sent").unwrap_err().to_string();
            assert!(e.starts_with("Sent: dovecot-uidlist"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn flags_known_answers() {
        let kw = parse_keywords("0 $Forwarded\n1 Work\nx bad\n");
        let f = flags_of("1.m:2,FRSab", &kw);
        assert!(f.contains(SystemFlag::Flagged) && f.contains(SystemFlag::Answered));
        assert!(f.contains(SystemFlag::Seen) && !f.contains(SystemFlag::Deleted));
        assert!(f.contains_keyword(&Keyword::new("Work").unwrap()));
        assert!(f.contains_keyword(&Keyword::new("$Forwarded").unwrap()));
        assert!(flags_of("1.m", &kw).is_empty());
    }
}
