//! The selected mailbox as the client knows it: message sequence numbers, flags and
//! MODSEQs, kept in step with the store and reported as untagged responses where RFC 9051
//! allows them.

use std::{collections::HashMap, num::NonZeroU32};

use imap_proto::types::{
    core::{Atom, NzNumber64},
    flag::{Flag, FlagFetch},
    non_empty::NonEmpty,
    response::{Data, FetchData},
    sequence::{SeqNumber, Sequence, SequenceSet},
};
use maildir_store::{
    Flags, Keyword, MailboxName, MailboxView, ModSeq, SystemFlag, Uid, UidValidity, UserId,
};

use super::Session;

/// IDLE polls between full syncs.
const FULL_SYNC_EVERY: u32 = 20;

/// A message as a command names it: sequence number and UID.
pub(super) type Message = (NonZeroU32, Uid);

/// One selected mailbox.
#[derive(Debug)]
pub(super) struct Selected {
    pub(super) name: MailboxName,
    pub(super) read_only: bool,
    pub(super) uid_validity: UidValidity,
    /// Message sequence number − 1 → UID, as last told to the client.
    pub(super) uids: Vec<Uid>,
    /// Flags and MODSEQ of each message, as last told to the client.
    pub(super) known: HashMap<Uid, (Flags, ModSeq)>,
    pub(super) highest_modseq: ModSeq,
    /// The store's UIDNEXT at the last sync.
    pub(super) uid_next: Uid,
    /// Cheap checks since the last full sync.
    pub(super) quiet_polls: u32,
    /// Messages the client still sees that the store no longer has (their EXPUNGE waits for
    /// a command that may carry it).
    pub(super) ghosts: bool,
}

impl Selected {
    /// A fresh view of `view`.
    pub(super) fn new(name: MailboxName, read_only: bool, view: &MailboxView) -> Self {
        Self {
            name,
            read_only,
            uid_validity: view.uid_validity,
            uids: view.messages.iter().map(|m| m.uid).collect(),
            known: view
                .messages
                .iter()
                .map(|m| (m.uid, (m.flags.clone(), m.modseq)))
                .collect(),
            highest_modseq: view.highest_modseq,
            uid_next: view.uid_next,
            quiet_polls: 0,
            ghosts: false,
        }
    }

    /// The sequence number of `uid`, if the client knows it.
    pub(super) fn seq_of(&self, uid: Uid) -> Option<NonZeroU32> {
        let i = self.uids.binary_search(&uid).ok()?;
        NonZeroU32::new(u32::try_from(i + 1).ok()?)
    }

    /// The messages a sequence set names, as (sequence number, UID) in ascending order.
    /// `Err` when a sequence number is beyond the mailbox (RFC 9051 §9 `seq-number`).
    pub(super) fn resolve(
        &self,
        uid_mode: bool,
        set: &SequenceSet,
        saved: &[Uid],
    ) -> Result<Vec<Message>, &'static str> {
        let items = match set {
            // RFC 5182: "$" is the saved search result, as UIDs.
            SequenceSet::LastResult => {
                return Ok(saved
                    .iter()
                    .filter_map(|u| self.seq_of(*u).map(|s| (s, *u)))
                    .collect());
            }
            SequenceSet::Set(items) => items,
        };
        let count = self.uids.len();
        let mut chosen = vec![false; count];
        if uid_mode {
            let largest = self.uids.last().map_or(0, |u| u.get());
            let value = |n: &SeqNumber| match n {
                SeqNumber::Value(v) => v.get(),
                SeqNumber::Largest => largest,
            };
            for item in items.iter() {
                let (a, b) = match item {
                    Sequence::Single(n) => (value(n), value(n)),
                    Sequence::Range(a, b) => (value(a), value(b)),
                };
                let (lo, hi) = (a.min(b), a.max(b));
                let start = self.uids.partition_point(|u| u.get() < lo);
                let end = self.uids.partition_point(|u| u.get() <= hi);
                for c in chosen.iter_mut().take(end).skip(start) {
                    *c = true;
                }
            }
        } else {
            let largest = u32::try_from(count).unwrap_or(u32::MAX);
            let value = |n: &SeqNumber| -> Result<u32, &'static str> {
                match n {
                    SeqNumber::Value(v) if v.get() <= largest => Ok(v.get()),
                    SeqNumber::Largest if largest > 0 => Ok(largest),
                    _ => Err("Invalid message sequence number"),
                }
            };
            for item in items.iter() {
                let (a, b) = match item {
                    Sequence::Single(n) => (value(n)?, value(n)?),
                    Sequence::Range(a, b) => (value(a)?, value(b)?),
                };
                let (lo, hi) = (a.min(b) as usize, a.max(b) as usize);
                for c in chosen.iter_mut().take(hi).skip(lo - 1) {
                    *c = true;
                }
            }
        }
        Ok(chosen
            .iter()
            .zip(&self.uids)
            .enumerate()
            .filter(|(_, (c, _))| **c)
            .filter_map(|(i, (_, u))| NonZeroU32::new(u32::try_from(i + 1).ok()?).map(|s| (s, *u)))
            .collect())
    }
}

/// Store flags as IMAP flags.
pub(super) fn to_imap(flags: &Flags) -> Vec<FlagFetch> {
    let mut out: Vec<FlagFetch> = flags
        .system()
        .map(|f| {
            FlagFetch::Flag(match f {
                SystemFlag::Seen => Flag::Seen,
                SystemFlag::Answered => Flag::Answered,
                SystemFlag::Flagged => Flag::Flagged,
                SystemFlag::Deleted => Flag::Deleted,
                SystemFlag::Draft => Flag::Draft,
            })
        })
        .collect();
    out.extend(
        flags
            .keywords()
            .filter_map(|k| Atom::try_from(k.as_str()).ok())
            .map(|a| FlagFetch::Flag(Flag::Keyword(a))),
    );
    out
}

/// IMAP flags as store flags; `Err` names a flag the store cannot keep.
pub(super) fn from_imap(flags: &[Flag]) -> Result<Flags, String> {
    let mut out = Flags::new();
    for flag in flags {
        match flag {
            Flag::Seen => out.insert(SystemFlag::Seen),
            Flag::Answered => out.insert(SystemFlag::Answered),
            Flag::Flagged => out.insert(SystemFlag::Flagged),
            Flag::Deleted => out.insert(SystemFlag::Deleted),
            Flag::Draft => out.insert(SystemFlag::Draft),
            Flag::Keyword(k) => out.insert_keyword(
                Keyword::new(k.as_str()).map_err(|_| format!("invalid keyword {}", k.as_str()))?,
            ),
            Flag::Extension(e) => return Err(format!("\\{} cannot be stored", e.as_str())),
        }
    }
    Ok(out)
}

/// A UID list as a compact set, e.g. `3:5,9` (RFC 4315 `uid-set`).
pub(super) fn uid_set(uids: &[Uid]) -> Option<SequenceSet> {
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for u in uids {
        match ranges.last_mut() {
            Some((_, hi)) if hi.checked_add(1) == Some(u.get()) => *hi = u.get(),
            _ => ranges.push((u.get(), u.get())),
        }
    }
    set_of_ranges(ranges)
}

/// The ranges a set names, ascending and merged (`*` as the largest UID there can be;
/// `$` as everything).
fn ranges_of(set: &SequenceSet) -> Vec<(u32, u32)> {
    let value = |n: &SeqNumber| match n {
        SeqNumber::Value(v) => v.get(),
        SeqNumber::Largest => u32::MAX,
    };
    let mut ranges: Vec<(u32, u32)> = match set {
        SequenceSet::Set(items) => items
            .iter()
            .map(|s| match s {
                Sequence::Single(n) => (value(n), value(n)),
                Sequence::Range(a, b) => (value(a).min(value(b)), value(a).max(value(b))),
            })
            .collect(),
        _ => vec![(1, u32::MAX)],
    };
    ranges.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some((_, last)) if lo <= last.saturating_add(1) => *last = (*last).max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

/// Every UID below `uid_next` that `present` (ascending) lacks and `within` names: the
/// `VANISHED (EARLIER)` answer when the store no longer remembers when messages were
/// expunged (its tombstones were pruned). RFC 7162 §3.2.6: "A server that receives a
/// mod-sequence smaller than <minmodseq>, where <minmodseq> is the value of the smallest
/// expunged mod-sequence it remembers minus one, MUST behave as if it was requested to
/// report all expunged messages from the provided UID set parameter." Worked out on ranges,
/// so it costs the message count, not the UID span.
pub(super) fn absent_uids(
    present: &[Uid],
    uid_next: Uid,
    within: Option<&SequenceSet>,
) -> Option<SequenceSet> {
    let mut gaps = Vec::new();
    let mut next_free = 1u32;
    for u in present {
        if u.get() > next_free {
            gaps.push((next_free, u.get() - 1));
        }
        next_free = u.get().saturating_add(1);
    }
    if uid_next.get() > next_free {
        gaps.push((next_free, uid_next.get() - 1));
    }
    let Some(within) = within else {
        return set_of_ranges(gaps);
    };
    let wanted = ranges_of(within);
    let (mut out, mut i, mut j) = (Vec::new(), 0, 0);
    while let (Some(&(a, b)), Some(&(c, d))) = (gaps.get(i), wanted.get(j)) {
        let (lo, hi) = (a.max(c), b.min(d));
        if lo <= hi {
            out.push((lo, hi));
        }
        if b < d {
            i += 1;
        } else {
            j += 1;
        }
    }
    set_of_ranges(out)
}

/// Ascending, disjoint ranges as a set; `None` when there are none.
fn set_of_ranges(ranges: Vec<(u32, u32)>) -> Option<SequenceSet> {
    let items: Vec<Sequence> = ranges
        .into_iter()
        .filter_map(|(lo, hi)| {
            let (a, b) = (NonZeroU32::new(lo)?, NonZeroU32::new(hi)?);
            Some(if a == b {
                Sequence::Single(SeqNumber::Value(a))
            } else {
                Sequence::Range(SeqNumber::Value(a), SeqNumber::Value(b))
            })
        })
        .collect();
    NonEmpty::try_from(items).ok().map(SequenceSet::Set)
}

pub(super) fn modseq(m: ModSeq) -> Option<NzNumber64> {
    NzNumber64::try_from(m.get()).ok()
}

impl Session {
    /// The user, the selected mailbox and the messages `set` names in it; `Err` is the BAD
    /// or NO to send.
    pub(super) fn chosen(
        &self,
        uid_mode: bool,
        set: &SequenceSet,
    ) -> Result<(UserId, &Selected, Vec<Message>), super::Reply> {
        let (Ok(user), Some(sel)) = (self.user(), self.selected.as_ref()) else {
            return Err(super::Reply::bad("no mailbox selected"));
        };
        let found = sel
            .resolve(uid_mode, set, &self.saved_search)
            .map_err(super::Reply::bad)?;
        Ok((user, sel, found))
    }

    /// A cheap look at what changed since the last sync (no per-message copies), then a full
    /// [`Session::sync`] only when something did, when expunges wait to be reported, or every
    /// [`FULL_SYNC_EVERY`] looks (a writer in another process may remove files without
    /// leaving a trace in the index). Used before each tagged response and by IDLE polls.
    pub(super) fn refresh(&mut self, expunge_ok: bool) {
        let (Some(user), Some(sel)) = (self.user.clone(), self.selected.as_mut()) else {
            return;
        };
        sel.quiet_polls += 1;
        let full = sel.quiet_polls >= FULL_SYNC_EVERY
            || (sel.ghosts && expunge_ok)
            || match self
                .app
                .store
                .changes_since(&user, &sel.name, sel.highest_modseq)
            {
                Ok(c) => {
                    !c.changed.is_empty()
                        || !c.vanished.is_empty()
                        || c.uid_next != sel.uid_next
                        || c.uid_validity != sel.uid_validity
                }
                Err(_) => true,
            };
        if full {
            self.sync(expunge_ok);
        }
    }

    /// Brings the client's view up to date: new messages (EXISTS), flag changes made by
    /// others (FETCH), and — only when `expunge_ok` — removed messages (EXPUNGE).
    pub(super) fn sync(&mut self, expunge_ok: bool) {
        let (Some(user), Some(sel)) = (self.user.clone(), self.selected.as_ref()) else {
            return;
        };
        let view = match self.app.store.open(&user, &sel.name) {
            Ok(view) => view,
            Err(e) => {
                tracing::info!(error = %e, "selected mailbox is gone");
                return;
            }
        };
        let condstore = self.condstore;
        let qresync = self.qresync;
        let mut out = Vec::new();
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        if view.uid_validity != sel.uid_validity {
            // The mailbox was recreated under the client: nothing it knows holds any more.
            out.push(Data::Bye(imap_proto::types::response::ResponseText {
                code: None,
                text: super::text("Mailbox was recreated; please reselect"),
            }));
        } else {
            if expunge_ok {
                let mut vanished = Vec::new();
                // From the highest down, so earlier numbers stay valid as each goes out.
                for i in (0..sel.uids.len()).rev() {
                    let uid = sel.uids[i];
                    if view.get(uid).is_none() {
                        sel.uids.remove(i);
                        sel.known.remove(&uid);
                        vanished.push(uid);
                        if !qresync
                            && let Some(n) =
                                NonZeroU32::new(u32::try_from(i + 1).unwrap_or(u32::MAX))
                        {
                            out.push(Data::Expunge(n));
                        }
                    }
                }
                // RFC 7162 §3.2.10: with QRESYNC, VANISHED replaces EXPUNGE.
                vanished.reverse();
                if qresync && let Some(uids) = uid_set(&vanished) {
                    out.push(Data::Vanished {
                        earlier: false,
                        uids,
                    });
                }
            }
            let last = sel.uids.last().copied();
            let before = sel.uids.len();
            for m in &view.messages {
                if last.is_none_or(|l| m.uid > l) {
                    sel.uids.push(m.uid);
                    sel.known.insert(m.uid, (m.flags.clone(), m.modseq));
                }
            }
            if sel.uids.len() != before {
                out.push(Data::Exists(
                    u32::try_from(sel.uids.len()).unwrap_or(u32::MAX),
                ));
            }
            // RFC 3501 §5.2: flag changes by others SHOULD be sent without being asked.
            for m in &view.messages {
                let Some(known) = sel.known.get_mut(&m.uid) else {
                    continue;
                };
                if known.1 != m.modseq && known.0 != m.flags {
                    *known = (m.flags.clone(), m.modseq);
                    let Some(seq) = sel
                        .uids
                        .binary_search(&m.uid)
                        .ok()
                        .and_then(|i| NonZeroU32::new(u32::try_from(i + 1).ok()?))
                    else {
                        continue;
                    };
                    let mut items = vec![FetchData::Flags(to_imap(&m.flags))];
                    if let Some(uid) = NonZeroU32::new(m.uid.get()) {
                        items.push(FetchData::Uid(uid));
                    }
                    if condstore && let Some(ms) = modseq(m.modseq) {
                        items.push(FetchData::ModSeq(ms));
                    }
                    if let Ok(items) = NonEmpty::try_from(items) {
                        out.push(Data::Fetch { seq, items });
                    }
                } else {
                    known.1 = m.modseq;
                }
            }
            sel.highest_modseq = view.highest_modseq;
            sel.uid_next = view.uid_next;
            sel.quiet_polls = 0;
            sel.ghosts = !expunge_ok && sel.uids.iter().any(|u| view.get(*u).is_none());
        }
        for data in out {
            self.data(data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(uids: &[u32]) -> Selected {
        let view = MailboxView::new(
            UidValidity::new(1).unwrap(), // Unwrap: nonzero.
            Uid::new(100).unwrap(),       // Unwrap: nonzero.
            ModSeq::new(1),
            Vec::new(),
        );
        let mut s = Selected::new(MailboxName::inbox(), false, &view);
        s.uids = uids.iter().filter_map(|u| Uid::new(*u)).collect();
        s
    }

    fn set(text: &str) -> SequenceSet {
        let items = text
            .split(',')
            .map(|p| {
                let n = |s: &str| {
                    if s == "*" {
                        SeqNumber::Largest
                    } else {
                        SeqNumber::Value(s.parse().unwrap()) // Unwrap: test input.
                    }
                };
                match p.split_once(':') {
                    Some((a, b)) => Sequence::Range(n(a), n(b)),
                    None => Sequence::Single(n(p)),
                }
            })
            .collect::<Vec<_>>();
        SequenceSet::Set(NonEmpty::try_from(items).unwrap()) // Unwrap: non-empty.
    }

    fn seqs(r: Vec<(NonZeroU32, Uid)>) -> Vec<u32> {
        r.into_iter().map(|(s, _)| s.get()).collect()
    }

    #[test]
    fn sequence_sets_resolve() {
        let s = sel(&[3, 5, 9]);
        assert_eq!(seqs(s.resolve(false, &set("*:1"), &[]).unwrap()), [1, 2, 3]);
        assert_eq!(seqs(s.resolve(false, &set("*"), &[]).unwrap()), [3]);
        assert!(s.resolve(false, &set("4"), &[]).is_err());
        assert_eq!(seqs(s.resolve(true, &set("4:9"), &[]).unwrap()), [2, 3]);
        assert_eq!(seqs(s.resolve(true, &set("10:*"), &[]).unwrap()), [3]);
        assert!(s.resolve(true, &set("100"), &[]).unwrap().is_empty());
        assert!(sel(&[]).resolve(false, &set("*"), &[]).is_err());
    }

    #[test]
    fn uid_sets_are_compact() {
        let uids: Vec<Uid> = [1, 2, 3, 7, 9, 10]
            .iter()
            .filter_map(|u| Uid::new(*u))
            .collect();
        let n = |v| SeqNumber::Value(NonZeroU32::new(v).unwrap()); // Unwrap: nonzero.
        let expected = vec![
            Sequence::Range(n(1), n(3)),
            Sequence::Single(n(7)),
            Sequence::Range(n(9), n(10)),
        ];
        assert_eq!(
            uid_set(&uids),
            Some(SequenceSet::Set(NonEmpty::try_from(expected).unwrap())) // Unwrap: non-empty.
        );
        assert_eq!(uid_set(&[]), None);
    }

    #[test]
    fn absent_uids_known_answers() {
        let uids = |v: &[u32]| -> Vec<Uid> { v.iter().filter_map(|u| Uid::new(*u)).collect() };
        let next = Uid::new(12).unwrap(); // Unwrap: nonzero.
        let present = uids(&[2, 3, 7]);
        let all = absent_uids(&present, next, None).map(|s| ranges_of(&s));
        assert_eq!(all, Some(vec![(1, 1), (4, 6), (8, 11)]));
        let within = set_of_ranges(vec![(5, 9), (11, u32::MAX)]).unwrap(); // Unwrap: non-empty.
        let some = absent_uids(&present, next, Some(&within)).map(|s| ranges_of(&s));
        assert_eq!(some, Some(vec![(5, 6), (8, 9), (11, 11)]));
        assert_eq!(
            absent_uids(&uids(&[1, 2]), Uid::new(3).unwrap(), None),
            None
        ); // Unwrap: nonzero.
    }
}
