//! `gradwell-index`: our own per-mailbox log of modseqs and message metadata.
//!
//! Dovecot keeps modseqs in its binary index; Maildir itself has none. We keep them in a
//! text log next to `dovecot-uidlist`, appended under the same lock:
//!
//! ```text
//! gradwell-index 1 V<uidvalidity> B<boot id>@<host that last rewrote it>
//! A <modseq> <uid> <size> <date secs> <date nanos> <header bytes> <base name> <flags>
//!                                                                    new message
//! F <modseq> <uid> <flags>                                                    flags changed
//! X <modseq> <uid>                                                            expunged
//! P <modseq> <uid>          tombstones up to this modseq and UID were pruned (at most one)
//! ```
//! Tombstones (`X`) are kept for QRESYNC `VANISHED (EARLIER)` and the mirror's resync, but
//! not forever: when a mailbox holds more than [`super::Options::max_tombstones`] plus a
//! quarter, the oldest (by modseq) are dropped down to that number at the next rewrite, and
//! `P` records the highest modseq (and UID) dropped. The policy counts, never looks at clocks,
//! so two replicas that saw the same expunges prune the same tombstones. A change feed asked
//! for changes since a modseq below `P`'s is marked incomplete
//! ([`crate::ChangeSet::vanished_complete`]) and callers fall back to comparing UIDs.
//! `<flags>` is the system-flag letters (`DFRST`, or `-` for none) followed by the keywords,
//! space-separated. The `A` record doubles as the metadata cache: size, INTERNALDATE and the
//! length of the header in the file (0 when unknown) without opening or stat-ing the message. The log is rebuildable: if it is lost or corrupt the
//! mailbox is rescanned and every message gets a modseq above the highest one still readable,
//! so HIGHESTMODSEQ never goes backwards for a client that saw it. A last line without its
//! newline is a torn append and is ignored.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use crate::types::{Flags, Keyword, SystemFlag};

/// The log file name.
pub(crate) const FILE: &str = "gradwell-index";

/// One live message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) modseq: u64,
    pub(crate) size: u64,
    pub(crate) internal_date: SystemTime,
    pub(crate) header_len: u64,
    pub(crate) base: String,
    pub(crate) flags: Flags,
}

/// The replayed log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Index {
    pub(crate) uid_validity: u32,
    pub(crate) boot: String,
    pub(crate) highest: u64,
    pub(crate) live: BTreeMap<u32, Entry>,
    pub(crate) vanished: Vec<(u32, u64)>,
    /// Highest modseq of a pruned tombstone (0: none pruned).
    pub(crate) pruned: u64,
    /// Highest UID of a pruned tombstone.
    pub(crate) pruned_uid: u32,
    pub(crate) lines: usize,
}

fn flag_letter(f: SystemFlag) -> char {
    match f {
        SystemFlag::Draft => 'D',
        SystemFlag::Flagged => 'F',
        SystemFlag::Answered => 'R',
        SystemFlag::Seen => 'S',
        SystemFlag::Deleted => 'T',
    }
}

fn flags_field(flags: &Flags) -> String {
    let mut out: String = flags.system().map(flag_letter).collect();
    if out.is_empty() {
        out.push('-');
    }
    for kw in flags.keywords() {
        out.push(' ');
        out.push_str(kw.as_str());
    }
    out
}

fn parse_flags<'a>(letters: &str, keywords: impl Iterator<Item = &'a str>) -> Option<Flags> {
    let mut flags = Flags::new();
    if letters != "-" {
        for c in letters.chars() {
            let f = SystemFlag::ALL.into_iter().find(|f| flag_letter(*f) == c)?;
            flags.insert(f);
        }
    }
    for k in keywords {
        flags.insert_keyword(Keyword::new(k).ok()?);
    }
    Some(flags)
}

/// The header line.
pub(crate) fn header(uid_validity: u32, boot: &str) -> String {
    format!("gradwell-index 1 V{uid_validity} B{boot}\n")
}

/// A new-message record.
pub(crate) fn added(uid: u32, e: &Entry) -> String {
    let date = e
        .internal_date
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "A {} {uid} {} {} {} {} {} {}\n",
        e.modseq,
        e.size,
        date.as_secs(),
        date.subsec_nanos(),
        e.header_len,
        e.base,
        flags_field(&e.flags)
    )
}

/// A flag-change record.
pub(crate) fn changed(modseq: u64, uid: u32, flags: &Flags) -> String {
    format!("F {modseq} {uid} {}\n", flags_field(flags))
}

/// An expunge record.
pub(crate) fn expunged(modseq: u64, uid: u32) -> String {
    format!("X {modseq} {uid}\n")
}

impl Index {
    /// The whole log rewritten compactly: header, live messages, tombstones.
    pub(crate) fn compacted(&self) -> String {
        let mut out = header(self.uid_validity, &self.boot);
        if self.pruned > 0 {
            out.push_str(&format!("P {} {}\n", self.pruned, self.pruned_uid));
        }
        for (uid, e) in &self.live {
            out.push_str(&added(*uid, e));
        }
        for (uid, m) in &self.vanished {
            out.push_str(&expunged(*m, *uid));
        }
        out
    }

    /// Drops the oldest tombstones down to `keep` once there are more than `keep` plus a
    /// quarter (so the log is rewritten once per `keep / 4` expunges, not at every one).
    /// Returns whether any were dropped.
    pub(crate) fn prune(&mut self, keep: usize) -> bool {
        if self.vanished.len() <= keep.saturating_add(keep / 4) {
            return false;
        }
        self.vanished
            .sort_unstable_by_key(|(uid, modseq)| (*modseq, *uid));
        let cut = self.vanished.len() - keep;
        for (uid, modseq) in self.vanished.drain(..cut) {
            self.pruned = self.pruned.max(modseq);
            self.pruned_uid = self.pruned_uid.max(uid);
        }
        true
    }

    /// Highest UID ever expunged, as far as the log still knows.
    pub(crate) fn top_expunged_uid(&self) -> u32 {
        let kept = self.vanished.iter().map(|(u, _)| *u).max().unwrap_or(0);
        kept.max(self.pruned_uid)
    }

    /// Applies one record line (without its newline).
    fn apply(&mut self, line: &str) -> Result<(), String> {
        let mut t = line.split(' ');
        let kind = t.next().unwrap_or_default();
        let modseq: u64 = num(t.next())?;
        let uid: u32 = num(t.next())?;
        match kind {
            "A" => {
                // UIDs are never reused: a message added under an expunged UID is damage.
                if self.vanished.iter().any(|(u, _)| *u == uid) {
                    return Err(format!("A for expunged UID {uid}"));
                }
                let size = num(t.next())?;
                let secs = num(t.next())?;
                let nanos: u32 = num(t.next())?;
                let header_len = num(t.next())?;
                let base = t.next().ok_or("missing base")?.to_owned();
                let letters = t.next().ok_or("missing flags")?;
                let flags = parse_flags(letters, t).ok_or("bad flags")?;
                let internal_date = SystemTime::UNIX_EPOCH
                    .checked_add(Duration::new(secs, nanos.min(999_999_999)))
                    .ok_or("date out of range")?;
                self.live.insert(
                    uid,
                    Entry {
                        modseq,
                        size,
                        internal_date,
                        header_len,
                        base,
                        flags,
                    },
                );
            }
            "F" => {
                let letters = t.next().ok_or("missing flags")?;
                let flags = parse_flags(letters, t).ok_or("bad flags")?;
                if let Some(e) = self.live.get_mut(&uid) {
                    e.flags = flags;
                    e.modseq = modseq;
                }
            }
            "X" => {
                self.live.remove(&uid);
                self.vanished.push((uid, modseq));
            }
            "P" => {
                self.pruned = self.pruned.max(modseq);
                self.pruned_uid = self.pruned_uid.max(uid);
            }
            other => return Err(format!("unknown record {other:?}")),
        }
        self.highest = self.highest.max(modseq);
        self.lines += 1;
        Ok(())
    }
}

fn num<T: std::str::FromStr>(s: Option<&str>) -> Result<T, String> {
    let s = s.ok_or("missing number")?;
    s.parse().map_err(|_| format!("bad number {s:?}"))
}

/// Replays the log. `Err` carries the highest modseq seen before the damage, so a rebuild can
/// continue above it. Also returns the bytes used (up to the last newline).
pub(crate) fn parse(bytes: &[u8]) -> Result<(Index, usize), u64> {
    let header_end = bytes.iter().position(|&b| b == b'\n').ok_or(0u64)?;
    let header = String::from_utf8_lossy(bytes.get(..header_end).unwrap_or_default());
    let mut index = Index::default();
    let mut h = header.split(' ');
    if h.next() != Some("gradwell-index") || h.next() != Some("1") {
        return Err(0);
    }
    for f in h {
        if let Some(v) = f.strip_prefix('V') {
            index.uid_validity = v.parse().map_err(|_| 0u64)?;
        } else if let Some(b) = f.strip_prefix('B') {
            index.boot = b.to_owned();
        }
    }
    let used = index.apply_tail(bytes.get(header_end + 1..).unwrap_or_default())?;
    Ok((index, header_end + 1 + used))
}

impl Index {
    /// Replays complete record lines appended after what was already read; returns the bytes
    /// used, or the highest modseq seen before a damaged line.
    pub(crate) fn apply_tail(&mut self, tail: &[u8]) -> Result<usize, u64> {
        let used = tail.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let text = String::from_utf8_lossy(tail.get(..used).unwrap_or_default());
        for line in text.split_terminator('\n') {
            if self.apply(line).is_err() {
                return Err(self.highest);
            }
        }
        Ok(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(modseq: u64, flags: Flags) -> Entry {
        Entry {
            modseq,
            size: 42,
            internal_date: SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 5),
            header_len: 12,
            base: "1.M2P3.h,S=42".into(),
            flags,
        }
    }

    #[test]
    fn replay_and_compact() {
        let kw = Keyword::new("$Label1").unwrap(); // Unwrap: valid keyword.
        let mut log = header(77, "boot-1");
        log.push_str(&added(1, &entry(2, Flags::new())));
        log.push_str(&added(2, &entry(3, Flags::new().with(SystemFlag::Seen))));
        let f = Flags::new().with(SystemFlag::Flagged).with_keyword(kw);
        log.push_str(&changed(4, 1, &f));
        log.push_str(&expunged(5, 2));
        log.push_str("A 6 3 1"); // torn tail
        let (idx, used) = parse(log.as_bytes()).unwrap(); // Unwrap: valid log.
        assert_eq!(used, log.len() - "A 6 3 1".len());
        assert_eq!((idx.uid_validity, idx.boot.as_str()), (77, "boot-1"));
        assert_eq!(idx.highest, 5);
        assert_eq!(idx.live.len(), 1);
        assert_eq!(idx.live[&1].flags, f);
        assert_eq!(idx.live[&1].modseq, 4);
        assert_eq!(idx.vanished, [(2, 5)]);
        let (again, _) = parse(idx.compacted().as_bytes()).unwrap(); // Unwrap: our own output.
        assert_eq!(again.live, idx.live);
        assert_eq!(again.vanished, idx.vanished);
    }

    #[test]
    fn pruning_keeps_the_newest_and_survives_a_rewrite() {
        let mut idx = Index::default();
        for (uid, modseq) in [(9, 19), (1, 11), (2, 12), (3, 13), (4, 14), (5, 15)] {
            idx.vanished.push((uid, modseq));
        }
        assert!(!idx.prune(5), "5 plus a quarter (6) is not over the limit");
        assert!(idx.prune(2));
        assert_eq!(idx.vanished, [(5, 15), (9, 19)]);
        assert_eq!((idx.pruned, idx.pruned_uid), (14, 4));
        assert_eq!(idx.top_expunged_uid(), 9);
        let (again, _) = parse(idx.compacted().as_bytes()).unwrap(); // Unwrap: our own output.
        assert_eq!((again.pruned, again.pruned_uid), (14, 4));
        assert_eq!(again.vanished, idx.vanished);
    }

    #[test]
    fn damage_reports_highest_seen() {
        let mut log = header(1, "b");
        log.push_str(&added(1, &entry(9, Flags::new())));
        log.push_str("Q nonsense\n");
        assert_eq!(parse(log.as_bytes()).map(|_| ()), Err(9));
        assert_eq!(parse(b"junk\n").map(|_| ()), Err(0));
        let far = "gradwell-index 1 V1 Bb\nA 1 1 1 18446744073709551615 0 0 b -\n";
        assert_eq!(
            parse(far.as_bytes()).map(|_| ()),
            Err(0),
            "no panic on a far date"
        );
    }
}
