//! mbox files as a migration source, and the mbox format itself (read and written): one file
//! per folder under a directory (subdirectories are hierarchy levels; a file named `inbox`,
//! any case, or the file given separately, is INBOX).
//!
//! A message starts at a `From ` line at the start of the file or after an empty line
//! (`From sender Www Mmm dd hh:mm:ss yyyy`, whose date becomes INTERNALDATE); the empty line
//! before the next `From ` line belongs to the format, not the message. Body lines that
//! looked like separators were quoted with `>`: mboxrd quotes `>*From ` (unquoted by removing
//! one `>`), mboxo only `From ` (so only `>From ` is unquoted). `Status:` (`R` seen) and
//! `X-Status:` (`A` answered, `F` flagged, `T` draft, `D` deleted) and `X-Keywords:` give
//! flags and are removed from the message, with the other headers mbox writers add
//! (`X-UID`, `X-IMAP`, `X-IMAPbase`), as Dovecot presents them.
//!
//! UIDs an IMAP server kept in the file are kept too: Dovecot's `X-IMAPbase: <uidvalidity>
//! <uidnext>` in the first message (or UW-IMAP's `X-IMAP:` folder-data pseudo message, which
//! is left out) with an ascending `X-UID:` in every message. Without them the target
//! assigns UIDs 1, 2, ... in file order.
//!
//! Errors are per mailbox: a file that does not start with a `From ` line, a separator whose
//! date does not parse (a broken `From_` line), a file that ends in the middle of a line
//! (truncated).

use std::{
    fs,
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use maildir_store::{Flags, Keyword, MailboxName, SystemFlag, Uid, UidValidity};

use super::source::{Source, SourceError, SourceMailbox, SourceMessage};

/// How body lines that look like separators are quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Quoting {
    /// `>*From ` lines carry one extra `>` (reversible; the default).
    #[default]
    Mboxrd,
    /// Only `From ` lines were quoted, as `>From ` (not reversible for `>From ` lines).
    Mboxo,
}

/// A directory of mbox files, one per folder.
#[derive(Debug)]
pub struct MboxDir {
    root: PathBuf,
    inbox: Option<PathBuf>,
    quoting: Quoting,
    files: Vec<(MailboxName, PathBuf)>,
    skipped: Vec<SourceError>,
}

impl MboxDir {
    /// The mbox files under `root` (may be absent when only `inbox` is given), with INBOX
    /// read from `inbox` when set (e.g. `/var/mail/USER`).
    pub fn new(root: impl Into<PathBuf>, inbox: Option<PathBuf>, quoting: Quoting) -> Self {
        Self {
            root: root.into(),
            inbox,
            quoting,
            files: Vec::new(),
            skipped: Vec::new(),
        }
    }

    fn walk(&mut self, dir: &Path, prefix: &str) -> Result<(), SourceError> {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .and_then(|d| d.collect::<Result<Vec<_>, _>>())
            .map_err(|e| SourceError::Io {
                context: format!("listing {}", dir.display()),
                source: e,
            })?;
        entries.sort_by_key(fs::DirEntry::file_name);
        for entry in entries {
            let raw = entry.file_name();
            let Some(file) = raw.to_str() else {
                self.skipped.push(malformed(
                    &raw.to_string_lossy(),
                    "folder name is not UTF-8",
                ));
                continue;
            };
            if file.starts_with('.') {
                continue;
            }
            // Thunderbird keeps a folder's children in `Name.sbd/` beside the file `Name`.
            let level = if entry.path().is_dir() {
                file.strip_suffix(".sbd").unwrap_or(file)
            } else {
                file
            };
            let full = if prefix.is_empty() {
                level.to_owned()
            } else {
                format!("{prefix}/{level}")
            };
            let path = entry.path();
            if path.is_dir() {
                self.walk(&path, &full)?;
                continue;
            }
            let name = if full.eq_ignore_ascii_case("inbox") {
                Ok(MailboxName::inbox())
            } else {
                MailboxName::new(&full)
            };
            match name {
                Ok(n) => self.files.push((n, path)),
                Err(e) => self.skipped.push(malformed(&full, &e.to_string())),
            }
        }
        Ok(())
    }
}

/// The start of a file: enough for the first message's header.
fn read_prefix(path: &Path) -> Result<Option<Vec<u8>>, SourceError> {
    use std::io::Read;
    let mut f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(SourceError::Io {
                context: format!("reading {}", path.display()),
                source: e,
            });
        }
    };
    let mut buf = Vec::new();
    f.by_ref()
        .take(64 * 1024)
        .read_to_end(&mut buf)
        .map_err(|e| SourceError::Io {
            context: format!("reading {}", path.display()),
            source: e,
        })?;
    Ok(Some(buf))
}

fn malformed(mailbox: &str, reason: &str) -> SourceError {
    SourceError::Malformed {
        mailbox: mailbox.to_owned(),
        reason: reason.to_owned(),
    }
}

impl Source for MboxDir {
    fn mailboxes(&mut self) -> Result<Vec<SourceMailbox>, SourceError> {
        self.files.clear();
        self.skipped.clear();
        if self.root.is_dir() {
            self.walk(&self.root.clone(), "")?;
        }
        if let Some(inbox) = &self.inbox {
            self.files.retain(|(n, _)| !n.is_inbox());
            self.files.push((MailboxName::inbox(), inbox.clone()));
        }
        self.files
            .sort_by(|a, b| (!a.0.is_inbox(), &a.0).cmp(&(!b.0.is_inbox(), &b.0)));
        let mut out = Vec::new();
        for (name, path) in &self.files {
            let base = read_prefix(path)?.as_deref().and_then(first_uid_base);
            out.push(SourceMailbox {
                name: name.clone(),
                uid_validity: base.map(|b| b.0),
                uid_next: base.map(|b| b.1),
                subscribed: true,
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
        let path = self
            .files
            .iter()
            .find(|(n, _)| *n == mailbox.name)
            .map(|(_, p)| p.clone())
            .ok_or_else(|| malformed(label, "no such mailbox in the source"))?;
        let data = fs::read(&path).map_err(|e| SourceError::Io {
            context: format!("reading {}", path.display()),
            source: e,
        })?;
        let mbox = parse(&data, self.quoting).map_err(|r| malformed(label, &r))?;
        // The UIDVALIDITY announced by `mailboxes` needs every message's X-UID.
        if mailbox.uid_validity.is_some() && mbox.uid_base.map(|b| b.0) != mailbox.uid_validity {
            return Err(malformed(
                label,
                "X-IMAPbase is set but X-UID headers are missing or not ascending",
            ));
        }
        for mut message in mbox.messages {
            if mailbox.uid_validity.is_none() {
                message.uid = None;
            }
            sink(message)?;
        }
        Ok(())
    }

    fn skipped(&mut self) -> Vec<SourceError> {
        std::mem::take(&mut self.skipped)
    }
}

/// An mbox file's messages, with the UIDs the IMAP server that wrote it kept in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mbox {
    /// The messages (UW-IMAP's folder-data pseudo message left out).
    pub messages: Vec<SourceMessage>,
    /// `X-IMAPbase: <uidvalidity> <uidnext>` (Dovecot, first message) or `X-IMAP:` (UW-IMAP's
    /// pseudo message), when every message also has an ascending `X-UID:`; the messages then
    /// carry those UIDs. `None` (and no UIDs) otherwise.
    pub uid_base: Option<(UidValidity, Uid)>,
}

/// The UID base the first message's header records, read from the start of a file: what
/// [`Mbox::uid_base`] will be if the X-UIDs turn out complete.
pub fn first_uid_base(prefix: &[u8]) -> Option<(UidValidity, Uid)> {
    let mut lines = prefix.split_inclusive(|b| *b == b'\n');
    if !lines.next()?.starts_with(b"From ") {
        return None;
    }
    lines
        .take_while(|l| *l != b"\n" && *l != b"\r\n")
        .find_map(|l| header_value(l, b"x-imapbase:").or_else(|| header_value(l, b"x-imap:")))
        .and_then(parse_base)
}

/// `<uidvalidity> <uidnext> [keywords...]`.
fn parse_base(value: &str) -> Option<(UidValidity, Uid)> {
    let mut f = value.split_whitespace();
    let v = UidValidity::new(f.next()?.parse().ok()?)?;
    let next = Uid::new(f.next()?.parse().ok()?)?;
    Some((v, next))
}

/// Splits an mbox into messages; an error names the line it stopped at.
pub fn parse(data: &[u8], quoting: Quoting) -> Result<Mbox, String> {
    let raw = split(data, quoting)?;
    let base = raw.iter().take(1).find_map(|r| r.base);
    let mut messages = Vec::with_capacity(raw.len());
    let mut uids = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        // UW-IMAP keeps its folder data in a first message nobody should see.
        if i == 0 && r.pseudo {
            continue;
        }
        uids.push(r.x_uid);
        messages.push(r.message);
    }
    let ascending = uids
        .iter()
        .try_fold(0u32, |last, u| u.filter(|u| *u > last))
        .is_some();
    let uid_base = base.filter(|_| ascending).map(|(v, next)| {
        let after_last = uids
            .last()
            .copied()
            .flatten()
            .map_or(1, |u| u.saturating_add(1));
        (v, Uid::new(next.get().max(after_last)).unwrap_or(next))
    });
    if uid_base.is_some() {
        for (m, u) in messages.iter_mut().zip(uids) {
            m.uid = u.and_then(Uid::new);
        }
    }
    Ok(Mbox { messages, uid_base })
}

/// A message as split, with the UID headers it carried.
struct Raw {
    message: SourceMessage,
    x_uid: Option<u32>,
    base: Option<(UidValidity, Uid)>,
    /// Has UW-IMAP's `X-IMAP:` header: the folder-data pseudo message.
    pseudo: bool,
}

fn split(data: &[u8], quoting: Quoting) -> Result<Vec<Raw>, String> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    if !data.starts_with(b"From ") {
        return Err("line 1: not an mbox (no `From ` line)".into());
    }
    if data.last() != Some(&b'\n') {
        return Err("truncated: the file ends in the middle of a line".into());
    }
    let lines: Vec<&[u8]> = data.split_inclusive(|b| *b == b'\n').collect();
    let mut out = Vec::new();
    let mut current: Option<(SystemTime, Vec<&[u8]>)> = None;
    let mut previous_blank = true;
    for (number, line) in lines.iter().enumerate() {
        if previous_blank && line.starts_with(b"From ") {
            let date = from_line_date(line)
                .ok_or_else(|| format!("line {}: broken `From ` line", number + 1))?;
            if let Some((d, body)) = current.take() {
                out.push(finish(d, body, quoting));
            }
            current = Some((date, Vec::new()));
            previous_blank = false;
            continue;
        }
        previous_blank = *line == b"\n" || *line == b"\r\n";
        if let Some((_, body)) = current.as_mut() {
            body.push(line);
        }
    }
    if let Some((d, body)) = current {
        out.push(finish(d, body, quoting));
    }
    Ok(out)
}

/// One message from its lines: the separator's blank line dropped, quoting undone, flags
/// taken from (and removed with) the status headers, UID headers read and removed.
fn finish(date: SystemTime, mut lines: Vec<&[u8]>, quoting: Quoting) -> Raw {
    let mut x_uid = None;
    let mut base = None;
    let mut pseudo = false;
    if lines.last().is_some_and(|l| *l == b"\n" || *l == b"\r\n") {
        lines.pop();
    }
    let mut flags = Flags::new();
    let mut body = Vec::new();
    let mut in_header = true;
    for line in lines {
        if in_header {
            if line == b"\n" || line == b"\r\n" {
                in_header = false;
            } else if let Some(value) = header_value(line, b"status:") {
                for c in value.bytes() {
                    if c == b'R' {
                        flags.insert(SystemFlag::Seen);
                    }
                }
                continue;
            } else if let Some(value) = header_value(line, b"x-status:") {
                for c in value.bytes() {
                    match c {
                        b'A' => flags.insert(SystemFlag::Answered),
                        b'F' => flags.insert(SystemFlag::Flagged),
                        b'T' => flags.insert(SystemFlag::Draft),
                        b'D' => flags.insert(SystemFlag::Deleted),
                        _ => {}
                    }
                }
                continue;
            } else if let Some(value) = header_value(line, b"x-keywords:") {
                for k in value.split([' ', ',']).filter(|k| !k.is_empty()) {
                    if let Ok(k) = Keyword::new(k) {
                        flags.insert_keyword(k);
                    }
                }
                continue;
            } else if let Some(value) = header_value(line, b"x-uid:") {
                x_uid = value.parse().ok();
                continue;
            } else if let Some(value) = header_value(line, b"x-imapbase:") {
                base = parse_base(value);
                continue;
            } else if let Some(value) = header_value(line, b"x-imap:") {
                base = parse_base(value);
                pseudo = true;
                continue;
            }
        }
        body.extend_from_slice(unquote(line, quoting));
    }
    Raw {
        message: SourceMessage {
            uid: None,
            flags,
            internal_date: date,
            pop3_uidl: None,
            pop3_order: None,
            body,
        },
        x_uid,
        base,
        pseudo,
    }
}

fn header_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a str> {
    let head = line.get(..name.len())?;
    if !head.eq_ignore_ascii_case(name) {
        return None;
    }
    std::str::from_utf8(line.get(name.len()..)?)
        .ok()
        .map(str::trim)
}

fn unquote(line: &[u8], quoting: Quoting) -> &[u8] {
    let quoted = match quoting {
        Quoting::Mboxrd => {
            let rest = line
                .iter()
                .position(|b| *b != b'>')
                .map_or(&[][..], |i| line.get(i..).unwrap_or_default());
            line.first() == Some(&b'>') && rest.starts_with(b"From ")
        }
        Quoting::Mboxo => line.starts_with(b">From "),
    };
    if quoted {
        line.get(1..).unwrap_or(line)
    } else {
        line
    }
}

/// Quotes a body line for writing (mboxrd: `>*From ` gets one more `>`).
pub fn quote(line: &[u8], out: &mut Vec<u8>) {
    let rest = line
        .iter()
        .position(|b| *b != b'>')
        .map_or(&[][..], |i| line.get(i..).unwrap_or_default());
    if rest.starts_with(b"From ") {
        out.push(b'>');
    }
    out.extend_from_slice(line);
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// The date of a `From sender Www Mmm dd hh:mm:ss yyyy` line (taken as UTC; a numeric zone
/// after the time or year is applied).
fn from_line_date(line: &[u8]) -> Option<SystemTime> {
    let text = std::str::from_utf8(line).ok()?;
    let tokens: Vec<&str> = text.split_whitespace().skip(2).collect();
    let month_at = tokens.iter().position(|t| MONTHS.contains(t))?;
    let month = MONTHS.iter().position(|m| *m == tokens[month_at])? as u32 + 1;
    let day: u32 = tokens.get(month_at + 1)?.parse().ok()?;
    let time = tokens.get(month_at + 2)?;
    let mut hms = time.split(':').map(|p| p.parse::<u32>().ok());
    let (h, mi) = (hms.next()??, hms.next()??);
    let s = hms.next().flatten().unwrap_or(0);
    let rest = tokens.get(month_at + 3..)?;
    let year: i64 = rest
        .iter()
        .find(|t| t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()))?
        .parse()
        .ok()?;
    let zone = rest
        .iter()
        .find(|t| t.len() == 5 && (t.starts_with('+') || t.starts_with('-')))
        .and_then(|z| {
            let v: i64 = z.get(1..)?.parse().ok()?;
            let secs = (v / 100) * 3600 + (v % 100) * 60;
            Some(if z.starts_with('-') { -secs } else { secs })
        })
        .unwrap_or(0);
    if !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + s) - zone;
    Some(if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A `From ` line for `date` (UTC, asctime form).
pub fn from_line(date: SystemTime) -> String {
    let secs = match date.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Civil from days (inverse of days_from_civil).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let weekday = WEEKDAYS[days.rem_euclid(7) as usize];
    let month = MONTHS[(m - 1) as usize];
    format!(
        "From MAILER-DAEMON {weekday} {month} {d:2} {:02}:{:02}:{:02} {y:04}\n",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    #[test]
    fn from_line_dates_known_answers() {
        // date -u -d 'Sat Jan  3 01:05:34 1996' +%s
        assert_eq!(
            secs(from_line_date(b"From a@b Sat Jan  3 01:05:34 1996\n").unwrap()),
            820_631_134
        );
        assert_eq!(
            secs(from_line_date(b"From MAILER-DAEMON Thu Feb 29 12:00:00 2024 +0100\n").unwrap()),
            1_709_204_400
        );
        assert!(from_line_date(b"From nobody at all\n").is_none());
        assert!(from_line_date(b"From x Mon Jan 44 01:00:00 2000\n").is_none());
    }

    #[test]
    fn from_line_round_trips() {
        // A year before 1000 keeps its four digits (found by fuzzing: `0021`).
        let early = from_line_date(b"From x Fri Oct  1 07:07:00 0021\n").unwrap();
        assert_eq!(from_line_date(from_line(early).as_bytes()), Some(early));
        for s in [0u64, 820_631_134, 1_709_208_000, 4_102_444_799] {
            let line = from_line(UNIX_EPOCH + Duration::from_secs(s));
            assert_eq!(secs(from_line_date(line.as_bytes()).unwrap()), s, "{line}");
        }
        assert_eq!(
            from_line(UNIX_EPOCH + Duration::from_secs(820_631_134)),
            "From MAILER-DAEMON Wed Jan  3 01:05:34 1996\n"
        );
    }

    #[test]
    fn mboxrd_known_answer() {
        let data = b"From a@b Sat Jan  3 01:05:34 1996\n\
Status: RO\nX-Status: AF\nX-Keywords: Work $Label1\nSubject: one\n\n\
>From here\n>>From there\n>not from\n\n\
From b@c Sat Jan  3 01:06:00 1996\nSubject: two\n\nbody\n";
        let m = parse(data, Quoting::Mboxrd).unwrap().messages;
        assert_eq!(m.len(), 2);
        assert_eq!(
            m[0].body,
            b"Subject: one\n\nFrom here\n>From there\n>not from\n"
        );
        assert!(m[0].flags.contains(SystemFlag::Seen));
        assert!(
            m[0].flags.contains(SystemFlag::Answered) && m[0].flags.contains(SystemFlag::Flagged)
        );
        assert!(m[0].flags.contains_keyword(&Keyword::new("Work").unwrap()));
        assert_eq!(m[1].body, b"Subject: two\n\nbody\n");
        assert!(m[1].flags.is_empty());
        let o = parse(data, Quoting::Mboxo).unwrap().messages;
        assert_eq!(
            o[0].body,
            b"Subject: one\n\nFrom here\n>>From there\n>not from\n"
        );
    }

    #[test]
    fn uids_kept_by_dovecot_and_uw_imap_known_answers() {
        let dovecot =
            b"From a Sat Jan  3 01:05:34 1996\nX-IMAPbase: 1234 40 Work\nX-UID: 7\nS: 1\n\n\
From a Sat Jan  3 01:05:34 1996\nX-UID: 9\nS: 2\n\n";
        let m = parse(dovecot, Quoting::Mboxrd).unwrap();
        let uids: Vec<Option<u32>> = m.messages.iter().map(|m| m.uid.map(Uid::get)).collect();
        assert_eq!(uids, [Some(7), Some(9)]);
        assert_eq!(
            m.uid_base,
            Some((UidValidity::new(1234).unwrap(), Uid::new(40).unwrap()))
        );
        assert_eq!(
            m.messages[0].body, b"S: 1\n",
            "UID headers are not part of the message"
        );
        assert_eq!(first_uid_base(dovecot), m.uid_base);

        let uw = b"From MAILER-DAEMON Sat Jan  3 01:05:34 1996\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\nX-IMAP: 555 3\n\nfolder data\n\n\
From a Sat Jan  3 01:05:34 1996\nX-UID: 1\nS: 1\n\n\
From a Sat Jan  3 01:05:34 1996\nX-UID: 2\nS: 2\n\n";
        let m = parse(uw, Quoting::Mboxrd).unwrap();
        assert_eq!(m.messages.len(), 2, "the pseudo message is left out");
        assert_eq!(m.uid_base.map(|b| (b.0.get(), b.1.get())), Some((555, 3)));

        // A message without X-UID: no UIDs at all (the target assigns them).
        let partial = b"From a Sat Jan  3 01:05:34 1996\nX-IMAPbase: 1 9\nX-UID: 3\n\n\
From a Sat Jan  3 01:05:34 1996\nS: 2\n\n";
        let m = parse(partial, Quoting::Mboxrd).unwrap();
        assert!(m.uid_base.is_none() && m.messages.iter().all(|m| m.uid.is_none()));
    }

    #[test]
    fn unblanked_from_in_body_is_not_a_separator() {
        let data = b"From a Sat Jan  3 01:05:34 1996\nS: x\n\nline\nFrom me, hello\n";
        let m = parse(data, Quoting::Mboxrd).unwrap().messages;
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].body, b"S: x\n\nline\nFrom me, hello\n");
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        assert!(
            parse(b"Subject: x\n", Quoting::Mboxrd)
                .unwrap_err()
                .contains("not an mbox")
        );
        assert!(
            parse(
                b"From a Sat Jan  3 01:05:34 1996\nS: x\n\nhalf a li",
                Quoting::Mboxrd
            )
            .unwrap_err()
            .contains("truncated")
        );
        let broken = b"From a Sat Jan  3 01:05:34 1996\nS: x\n\nbody\n\nFrom garbage\nS: y\n";
        assert!(
            parse(broken, Quoting::Mboxrd)
                .unwrap_err()
                .contains("line 6: broken")
        );
    }

    #[test]
    fn quote_then_unquote_is_identity() {
        for line in [
            &b"From x\n"[..],
            b">From x\n",
            b">>From\n",
            b"plain\n",
            b">\n",
        ] {
            let mut q = Vec::new();
            quote(line, &mut q);
            assert_eq!(unquote(&q, Quoting::Mboxrd), line);
        }
    }
}
