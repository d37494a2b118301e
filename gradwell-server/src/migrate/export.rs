//! `gradwell export`: one user's mail written back out as a Dovecot Maildir tree or as mbox
//! files, so an operator can always roll a migration back.
//!
//! - **Dovecot Maildir** (Maildir++ or `LAYOUT=fs`): every message under its UID in a
//!   version 3 `dovecot-uidlist` with the mailbox's UIDVALIDITY and UIDNEXT, flags in the
//!   `:2,` info, keywords through `dovecot-keywords`, INTERNALDATE as the file's mtime,
//!   subscriptions in Dovecot's version 2 file. Dovecot opening the tree shows the same
//!   UIDVALIDITY, UIDs, flags and (default-format) POP3 UIDLs as Gradwell did.
//! - **mbox** (mboxrd): one file per mailbox, `INBOX` for INBOX, a folder with children
//!   as `Name.sbd/` beside `Name` (as Thunderbird does); flags as `Status:`/`X-Status:`/
//!   `X-Keywords:` and UIDs as Dovecot's `X-IMAPbase:`/`X-UID:` at the end of each header,
//!   INTERNALDATE in the `From ` line.
//!
//! Messages are written with LF line ends (Dovecot's own default); files are written to a
//! temporary name, fsynced and renamed, so an interrupted export never leaves a torn file.

use std::{
    collections::BTreeMap,
    fs::{self, File},
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context;
use maildir_store::{Flags, MailStore, MailboxName, ReadPart, SystemFlag, UserId, maildir::mutf7};

use super::{dovecot::Layout, mbox};

/// What an export wrote.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ExportSummary {
    /// Mailboxes written.
    pub mailboxes: u64,
    /// Messages written.
    pub messages: u64,
    /// Bytes written (message files).
    pub bytes: u64,
}

/// `message` with CRLF line ends turned into LF.
pub(crate) fn to_lf(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len());
    let mut i = 0;
    while let Some(&b) = message.get(i) {
        if b == b'\r' && message.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Writes `data` to `path` through a temporary file, fsynced, renamed into place.
fn write_file(
    path: &Path,
    data: &[u8],
    mtime: Option<std::time::SystemTime>,
) -> anyhow::Result<()> {
    let tmp = path.with_extension("gradwell-export-tmp");
    let mut f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(data)?;
    if let Some(t) = mtime {
        f.set_modified(t)?;
    }
    f.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

fn levels(name: &MailboxName) -> Vec<String> {
    name.levels().map(mutf7::encode).collect()
}

/// The directory of `name` in a Dovecot tree rooted at `root`.
fn maildir_dir(root: &Path, name: &MailboxName, layout: Layout) -> PathBuf {
    if name.is_inbox() {
        return root.to_path_buf();
    }
    match layout {
        Layout::MaildirPlusPlus => root.join(format!(".{}", levels(name).join("."))),
        Layout::Fs => levels(name)
            .iter()
            .fold(root.to_path_buf(), |p, l| p.join(l)),
    }
}

/// The `:2,` info of `flags`, keywords through `table` (letters handed out as met).
fn info(flags: &Flags, table: &mut Vec<String>) -> String {
    let mut letters = String::new();
    for (flag, c) in [
        (SystemFlag::Draft, 'D'),
        (SystemFlag::Flagged, 'F'),
        (SystemFlag::Answered, 'R'),
        (SystemFlag::Seen, 'S'),
        (SystemFlag::Deleted, 'T'),
    ] {
        if flags.contains(flag) {
            letters.push(c);
        }
    }
    let mut kw: Vec<char> = Vec::new();
    for k in flags.keywords() {
        let idx = match table.iter().position(|t| t == k.as_str()) {
            Some(i) => i,
            None => {
                table.push(k.as_str().to_owned());
                table.len() - 1
            }
        };
        if let Some(c) = u8::try_from(idx).ok().filter(|i| *i < 26) {
            kw.push(char::from(b'a' + c));
        }
    }
    kw.sort_unstable();
    letters.extend(kw);
    letters
}

/// The `P` (UIDL) and `O` (order) uidlist fields INBOX needs so Dovecot shows the same POP3
/// view: `P` where the UIDL is not Dovecot's default, `O` on every message when the order is
/// not by UID. Keyed by UID; each value starts with a space.
fn pop3_records(
    store: &dyn MailStore,
    user: &UserId,
    v: maildir_store::UidValidity,
) -> anyhow::Result<BTreeMap<u32, String>> {
    let view = store.pop3_view(user)?;
    let by_uid = view.windows(2).all(|w| w[0].uid < w[1].uid);
    let mut out = BTreeMap::new();
    for (position, e) in view.iter().enumerate() {
        let mut ext = String::new();
        if e.uidl != maildir_store::default_pop3_uidl(e.uid, v) {
            ext.push_str(&format!(" P{}", e.uidl));
        }
        if !by_uid {
            ext.push_str(&format!(" O{}", position + 1));
        }
        if !ext.is_empty() {
            out.insert(e.uid.get(), ext);
        }
    }
    Ok(out)
}

/// Exports `user` to a Dovecot Maildir tree at `root` (created; must not hold a Maildir).
pub fn to_dovecot(
    store: &dyn MailStore,
    user: &UserId,
    root: &Path,
    layout: Layout,
) -> anyhow::Result<ExportSummary> {
    if root.join("cur").exists() {
        anyhow::bail!(
            "{} already holds a Maildir; export into an empty directory",
            root.display()
        );
    }
    let mut summary = ExportSummary::default();
    let mut subscriptions = String::from("V\t2\n\n");
    for info_entry in store.list_mailboxes(user)? {
        let name = info_entry.name;
        if info_entry.attributes.subscribed {
            subscriptions.push_str(&name.levels().collect::<Vec<_>>().join("\t"));
            subscriptions.push('\n');
        }
        let dir = maildir_dir(root, &name, layout);
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("creating {}", dir.display()))?;
        }
        if !name.is_inbox() {
            File::create(dir.join("maildirfolder"))?;
        }
        let view = store.open(user, &name)?;
        let v = view.uid_validity.get();
        let mut uidlist = format!("3 V{v} N{}\n", view.uid_next.get());
        let pop3 = if name.is_inbox() {
            pop3_records(store, user, view.uid_validity)?
        } else {
            BTreeMap::new()
        };
        let mut keywords = Vec::new();
        for m in &view.messages {
            let body = to_lf(&store.read(user, &name, m.uid, ReadPart::Whole)?);
            let base = format!(
                "{}.G{v}U{}.gradwell,S={}",
                m.uid.get(),
                m.uid.get(),
                body.len()
            );
            let file = format!("{base}:2,{}", info(&m.flags, &mut keywords));
            write_file(&dir.join("cur").join(&file), &body, Some(m.internal_date))?;
            let ext = pop3.get(&m.uid.get()).map_or("", String::as_str);
            uidlist.push_str(&format!("{}{ext} :{base}\n", m.uid.get()));
            summary.messages += 1;
            summary.bytes += body.len() as u64;
        }
        if !keywords.is_empty() {
            let text: String = keywords
                .iter()
                .enumerate()
                .map(|(i, k)| format!("{i} {k}\n"))
                .collect();
            write_file(&dir.join("dovecot-keywords"), text.as_bytes(), None)?;
        }
        write_file(&dir.join("dovecot-uidlist"), uidlist.as_bytes(), None)?;
        summary.mailboxes += 1;
    }
    write_file(&root.join("subscriptions"), subscriptions.as_bytes(), None)?;
    Ok(summary)
}

/// One message in mbox form: `From ` line, header with the status headers and `extra`
/// header lines (the UID headers) appended, mboxrd-quoted body, and the empty line that
/// ends it.
pub fn mbox_entry(
    message: &[u8],
    flags: &Flags,
    date: std::time::SystemTime,
    extra: &str,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(mbox::from_line(date).as_bytes());
    let message = to_lf(message);
    // The header ends where its first empty line starts (which may be the very first line).
    // A line of a lone CR counts as empty, as the mbox reader takes it: `\r\r\n` in the
    // message is `\r\n` after the line-end conversion (found by fuzzing).
    let mut header_end = message.len();
    let mut at = 0;
    for line in message.split_inclusive(|b| *b == b'\n') {
        if line == b"\n" || line == b"\r\n" {
            header_end = at;
            break;
        }
        at += line.len();
    }
    let (header, body) = message.split_at(header_end);
    for line in header.split_inclusive(|b| *b == b'\n') {
        mbox::quote(line, out);
    }
    if header.last().is_some_and(|b| *b != b'\n') {
        out.push(b'\n');
    }
    out.extend_from_slice(if flags.contains(SystemFlag::Seen) {
        b"Status: RO\n"
    } else {
        b"Status: O\n"
    });
    let x: String = [
        (SystemFlag::Answered, 'A'),
        (SystemFlag::Flagged, 'F'),
        (SystemFlag::Draft, 'T'),
        (SystemFlag::Deleted, 'D'),
    ]
    .iter()
    .filter(|(f, _)| flags.contains(*f))
    .map(|(_, c)| *c)
    .collect();
    if !x.is_empty() {
        out.extend_from_slice(format!("X-Status: {x}\n").as_bytes());
    }
    let kw: Vec<&str> = flags.keywords().map(|k| k.as_str()).collect();
    if !kw.is_empty() {
        out.extend_from_slice(format!("X-Keywords: {}\n", kw.join(" ")).as_bytes());
    }
    out.extend_from_slice(extra.as_bytes());
    for line in body.split_inclusive(|b| *b == b'\n') {
        mbox::quote(line, out);
    }
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// Exports `user` as mbox files under `dir` (created).
pub fn to_mbox(store: &dyn MailStore, user: &UserId, dir: &Path) -> anyhow::Result<ExportSummary> {
    let mut summary = ExportSummary::default();
    let names: Vec<MailboxName> = store
        .list_mailboxes(user)?
        .into_iter()
        .map(|i| i.name)
        .collect();
    let mut files: BTreeMap<PathBuf, MailboxName> = BTreeMap::new();
    for name in &names {
        let path = if name.is_inbox() {
            dir.join("INBOX")
        } else {
            let levels: Vec<&str> = name.levels().collect();
            let (last, parents) = levels.split_last().map_or(("", &[][..]), |(l, p)| (*l, p));
            parents
                .iter()
                .fold(dir.to_path_buf(), |p, l| p.join(format!("{l}.sbd")))
                .join(last)
        };
        files.insert(path, name.clone());
    }
    for (path, name) in files {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let mut out = Vec::new();
        let view = store.open(user, &name)?;
        for (i, m) in view.messages.iter().enumerate() {
            let body = store.read(user, &name, m.uid, ReadPart::Whole)?;
            // Dovecot's own UID headers, so the file keeps UIDVALIDITY and UIDs when a
            // Dovecot (or this importer) opens it again.
            let mut uid_headers = String::new();
            if i == 0 {
                uid_headers = format!(
                    "X-IMAPbase: {} {}\n",
                    view.uid_validity.get(),
                    view.uid_next.get()
                );
            }
            uid_headers.push_str(&format!("X-UID: {}\n", m.uid.get()));
            mbox_entry(&body, &m.flags, m.internal_date, &uid_headers, &mut out);
            summary.messages += 1;
        }
        summary.bytes += out.len() as u64;
        write_file(&path, &out, None)?;
        summary.mailboxes += 1;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::mbox::{Quoting, parse};

    #[test]
    fn mbox_entry_parses_back() {
        let flags = Flags::new()
            .with(SystemFlag::Seen)
            .with(SystemFlag::Flagged)
            .with_keyword(maildir_store::Keyword::new("Work").unwrap());
        let date = std::time::UNIX_EPOCH + std::time::Duration::from_secs(820_631_134);
        let msg = b"Subject: x\r\n\r\nFrom the start\r\n>From quoted\r\nend\r\n";
        let mut out = Vec::new();
        mbox_entry(msg, &flags, date, "X-IMAPbase: 9 3\nX-UID: 1\n", &mut out);
        mbox_entry(
            b"Subject: y\r\n\r\nno newline",
            &Flags::new(),
            date,
            "X-UID: 2\n",
            &mut out,
        );
        let parsed = parse(&out, Quoting::Mboxrd).unwrap();
        assert_eq!(
            parsed.uid_base.map(|b| (b.0.get(), b.1.get())),
            Some((9, 3))
        );
        let back = parsed.messages;
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].uid.map(|u| u.get()), Some(2));
        assert_eq!(back[0].body, to_lf(msg));
        assert_eq!(back[0].flags, flags);
        assert_eq!(back[0].internal_date, date);
        assert_eq!(back[1].body, b"Subject: y\n\nno newline\n");
    }

    #[test]
    fn info_letters_and_keyword_slots() {
        let mut table = vec!["Old".to_owned()];
        let f = Flags::new()
            .with(SystemFlag::Seen)
            .with(SystemFlag::Answered)
            .with_keyword(maildir_store::Keyword::new("Work").unwrap())
            .with_keyword(maildir_store::Keyword::new("Old").unwrap());
        assert_eq!(info(&f, &mut table), "RSab");
        assert_eq!(table, ["Old", "Work"]);
    }
}
