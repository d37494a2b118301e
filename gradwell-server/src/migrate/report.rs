//! The verification report: per mailbox, what the source had and what the target holds
//! afterwards (counts, sizes, a checksum over UIDs and bodies, the UID map), in human and
//! JSON form.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// A running checksum over `(UID, message)` pairs. Bodies are taken in CRLF form (as the
/// store presents them), so a source with LF line ends and the target agree.
#[derive(Debug, Clone, Default)]
pub struct Checksum(Sha256);

impl Checksum {
    /// Adds one message under `uid`.
    pub fn add(&mut self, uid: u32, crlf_body: &[u8]) {
        self.0.update(uid.to_be_bytes());
        self.0.update((crlf_body.len() as u64).to_be_bytes());
        self.0.update(crlf_body);
    }

    /// The hex digest.
    pub fn hex(self) -> String {
        self.0
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// What happened to one mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Copied (some or all messages) and committed.
    Imported,
    /// The target already held every message: nothing changed.
    Unchanged,
    /// `--dry-run`: read and checked, nothing written.
    Checked,
    /// An error stopped this mailbox; nothing of it is visible under its name.
    Failed,
}

/// A run of source UIDs (or positions) mapped to target UIDs by one offset. The run covers
/// `messages` messages between `source_first` and `source_last`; UIDs the source does not
/// have (gaps, expunged) are not in it. A UID-keeping import is one run with offset 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UidRun {
    /// The source's first UID of the run (`None` sources: 1-based position).
    pub source_first: u32,
    /// The source's last UID of the run.
    pub source_last: u32,
    /// Target UID minus source UID.
    pub offset: i64,
    /// How many messages.
    pub messages: u32,
}

/// Builds the UID map as runs.
#[derive(Debug, Clone, Default)]
pub struct UidMap(Vec<UidRun>);

impl UidMap {
    /// Records that source `from` became target `to` (`from` ascending).
    pub fn push(&mut self, from: u32, to: u32) {
        let offset = i64::from(to) - i64::from(from);
        if let Some(last) = self.0.last_mut()
            && last.offset == offset
            && from > last.source_last
        {
            last.source_last = from;
            last.messages += 1;
            return;
        }
        self.0.push(UidRun {
            source_first: from,
            source_last: from,
            offset,
            messages: 1,
        });
    }

    /// The runs.
    pub fn into_runs(self) -> Vec<UidRun> {
        self.0
    }
}

/// One side's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Messages.
    pub messages: u64,
    /// Bytes, in CRLF form.
    pub bytes: u64,
    /// [`Checksum`] over every message, hex.
    pub checksum: String,
}

/// The report for one mailbox.
#[derive(Debug, Clone, Serialize)]
pub struct MailboxReport {
    /// The mailbox name in the target.
    pub mailbox: String,
    /// What happened.
    pub outcome: Outcome,
    /// UIDVALIDITY in the target (0 when nothing was created).
    pub uid_validity: u32,
    /// UIDNEXT in the target afterwards (0 when nothing was created).
    pub uid_next: u32,
    /// Messages written by this run.
    pub copied: u64,
    /// Messages already there whose flags this run set to the source's (`--sync-flags`).
    pub flags_updated: u64,
    /// What the source had.
    pub source: Totals,
    /// What the target holds afterwards (empty for a dry run or a failure).
    pub target: Totals,
    /// Source UID (or position) → target UID.
    pub uid_map: Vec<UidRun>,
    /// Warnings (a kept-as-default POP3 UIDL, an expunged-on-target message) and, for a
    /// failure, the error.
    pub notes: Vec<String>,
}

impl MailboxReport {
    /// A failed mailbox with one error.
    pub fn failed(mailbox: impl Into<String>, error: impl fmt::Display) -> Self {
        Self {
            mailbox: mailbox.into(),
            outcome: Outcome::Failed,
            uid_validity: 0,
            uid_next: 0,
            copied: 0,
            flags_updated: 0,
            source: Totals::default(),
            target: Totals::default(),
            uid_map: Vec::new(),
            notes: vec![error.to_string()],
        }
    }

    /// Whether source and target agree (always true for a dry run; false for a failure).
    pub fn verified(&self) -> bool {
        match self.outcome {
            Outcome::Failed => false,
            Outcome::Checked => true,
            Outcome::Imported | Outcome::Unchanged => self.source == self.target,
        }
    }
}

/// The report for one user.
#[derive(Debug, Clone, Serialize)]
pub struct UserReport {
    /// The target user.
    pub user: String,
    /// Errors not about one mailbox (the source could not be opened or listed).
    pub errors: Vec<String>,
    /// One entry per mailbox.
    pub mailboxes: Vec<MailboxReport>,
}

impl UserReport {
    /// Whether every mailbox was copied and verified.
    pub fn ok(&self) -> bool {
        self.errors.is_empty() && self.mailboxes.iter().all(MailboxReport::verified)
    }
}

impl fmt::Display for UserReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = if self.ok() { "ok" } else { "FAILED" };
        writeln!(f, "user {}: {status}", self.user)?;
        for e in &self.errors {
            writeln!(f, "  error: {e}")?;
        }
        for m in &self.mailboxes {
            let check = if m.verified() { "verified" } else { "MISMATCH" };
            writeln!(
                f,
                "  {:<24} {:?} uidvalidity={} uidnext={} copied={} source={}/{}B target={}/{}B {check} sha256={}",
                m.mailbox,
                m.outcome,
                m.uid_validity,
                m.uid_next,
                m.copied,
                m.source.messages,
                m.source.bytes,
                m.target.messages,
                m.target.bytes,
                m.target.checksum.get(..16).unwrap_or(&m.source.checksum),
            )?;
            for run in &m.uid_map {
                writeln!(
                    f,
                    "    uid {}..{} ({} messages) -> UID {:+}",
                    run.source_first, run.source_last, run.messages, run.offset
                )?;
            }
            for n in &m.notes {
                writeln!(f, "    note: {n}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_map_collapses_runs() {
        let mut map = UidMap::default();
        for (s, t) in [(1, 1), (2, 2), (5, 5), (7, 7), (8, 9), (9, 10), (3, 3)] {
            map.push(s, t);
        }
        let run = |source_first, source_last, offset, messages| UidRun {
            source_first,
            source_last,
            offset,
            messages,
        };
        assert_eq!(
            map.into_runs(),
            vec![run(1, 7, 0, 4), run(8, 9, 1, 2), run(3, 3, 0, 1)]
        );
    }

    #[test]
    fn checksum_depends_on_uid_and_body() {
        let sum = |uid, body: &[u8]| {
            let mut c = Checksum::default();
            c.add(uid, body);
            c.hex()
        };
        assert_eq!(sum(1, b"a"), sum(1, b"a"));
        assert_ne!(sum(1, b"a"), sum(2, b"a"));
        assert_ne!(sum(1, b"a"), sum(1, b"b"));
        assert_eq!(sum(1, b"a").len(), 64);
    }
}
