//! Courier-IMAP's control files, for reading a Courier Maildir++ as a migration source
//! (the folders, file names and `:2,` flags are the same as Dovecot's; see
//! [`super::dovecot::DovecotMaildir::courier`]).
//!
//! ```text
//! courierimapuiddb               1 <uidvalidity> <nextuid>
//!                                <uid> <file name>
//! courierimapkeywords/:list      <keyword>            one per line, then an empty line,
//!                                <file base>:<i> <j>  keyword indexes of each message
//! courierimapsubscribed          INBOX.Sent           one folder per line, `.` separated
//! ```
//! Keyword updates Courier has not folded into `:list` yet (the `.<n>.<file>` files beside it)
//! are not read: run Courier once (or `courier-imapd` on the mailbox) before migrating.

use std::collections::{BTreeMap, BTreeSet};

use maildir_store::{Keyword, maildir::mutf7};

use super::{
    dovecot::{UidList, malformed},
    source::SourceError,
};

/// Parses `courierimapuiddb` (version 1).
pub(crate) fn parse_uiddb(text: &str, mailbox: &str) -> Result<UidList, SourceError> {
    let bad = |why: &str| malformed(mailbox, &format!("courierimapuiddb: {why}"));
    let mut lines = text.lines();
    let header = lines.next().ok_or_else(|| bad("empty"))?;
    let mut fields = header.split(' ');
    if fields.next() != Some("1") {
        return Err(bad("unknown version"));
    }
    let mut num = || fields.next().and_then(|n| n.parse::<u32>().ok());
    let mut list = UidList {
        uid_validity: num().ok_or_else(|| bad("bad UIDVALIDITY"))?,
        next_uid: num().ok_or_else(|| bad("bad next UID"))?,
        records: BTreeMap::new(),
    };
    for line in lines.filter(|l| !l.is_empty()) {
        let (uid, file) = line.split_once(' ').ok_or_else(|| bad("short record"))?;
        let uid: u32 = uid.parse().map_err(|_| bad("bad UID"))?;
        let base = file.split_once(':').map_or(file, |(b, _)| b);
        if uid == 0
            || list
                .records
                .insert(uid, (base.to_owned(), None, None))
                .is_some()
        {
            return Err(bad(&format!("UID {uid} listed twice or zero")));
        }
    }
    let after_last = list.records.keys().next_back().map_or(1, |u| u + 1);
    list.next_uid = list.next_uid.max(after_last);
    Ok(list)
}

/// Parses `courierimapkeywords/:list` into each message's keywords, by file base name.
/// Lines it cannot use are skipped, as Courier does.
pub(crate) fn parse_keywords(text: &str) -> BTreeMap<String, Vec<Keyword>> {
    let mut lines = text.lines();
    let names: Vec<Option<Keyword>> = lines
        .by_ref()
        .take_while(|l| !l.is_empty())
        .map(|l| Keyword::new(l).ok())
        .collect();
    let mut out = BTreeMap::new();
    for line in lines {
        let Some((base, indexes)) = line.rsplit_once(':') else {
            continue;
        };
        let keywords: Vec<Keyword> = indexes
            .split(' ')
            .filter_map(|i| i.parse::<usize>().ok())
            .filter_map(|i| names.get(i).cloned().flatten())
            .collect();
        if !keywords.is_empty() {
            out.insert(base.to_owned(), keywords);
        }
    }
    out
}

/// Parses `courierimapsubscribed` into Gradwell names (`INBOX.Sent.2024` → `Sent/2024`).
pub(crate) fn parse_subscriptions(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            if l.eq_ignore_ascii_case("INBOX") {
                return "INBOX".to_owned();
            }
            let path = l.strip_prefix("INBOX.").unwrap_or(l);
            path.split('.')
                .map(|lvl| mutf7::decode(lvl).unwrap_or_else(|| lvl.to_owned()))
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uiddb_known_answer() {
        let l = parse_uiddb(
            "1 1234567 9\n3 1100000000.M1.host:2,S\n7 1100000001.M2.host\n",
            "INBOX",
        )
        .unwrap();
        assert_eq!((l.uid_validity, l.next_uid), (1_234_567, 9));
        assert_eq!(l.records[&3].0, "1100000000.M1.host");
        assert_eq!(l.records[&7].0, "1100000001.M2.host");
        for bad in ["", "2 1 2", "1 x 2", "1 1 2\n0 a", "1 1 2\n5 a\n5 b"] {
            let e = parse_uiddb(bad, "Sent").unwrap_err().to_string();
            assert!(e.starts_with("Sent: courierimapuiddb"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn keywords_known_answer() {
        let k = parse_keywords("$Label1\nWork\nbad keyword(\n\nm1:0 1\nm2:1 2 9\nnonsense\n");
        let names = |b: &str| -> Vec<String> {
            k.get(b)
                .map(|v| v.iter().map(|k| k.as_str().to_owned()).collect())
                .unwrap_or_default()
        };
        assert_eq!(names("m1"), ["$Label1", "Work"]);
        assert_eq!(names("m2"), ["Work"]);
        assert!(names("nonsense").is_empty());
    }

    #[test]
    fn subscriptions_known_answer() {
        let s = parse_subscriptions("INBOX\nINBOX.Sent\nINBOX.Archive.2024\nINBOX.Entw&APw-rfe\n");
        let want: BTreeSet<String> = ["INBOX", "Sent", "Archive/2024", "Entwürfe"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(s, want);
    }
}
