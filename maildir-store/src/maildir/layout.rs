//! Maildir++ layout: where each mailbox of a user lives.
//!
//! ```text
//! <replica root>/gradwell-replica        marker written by Maildir::init_replica
//! <replica root>/<user>/                 INBOX: cur/ new/ tmp/ dovecot-uidlist ...
//! <replica root>/<user>/.Sent/           a folder; levels joined by '.', each level in
//! <replica root>/<user>/.Archive.2024/   modified UTF-7 as Dovecot stores them
//! ```
//! Names are validated before they get here ([`MailboxName`] forbids `.` inside a level), so
//! the mapping is one-to-one and a folder directory is always a single path component
//! directly under the user's directory.

use std::path::{Path, PathBuf};

use crate::{
    error::StoreError,
    mailbox_name::{MailboxName, NameError, SEPARATOR},
    maildir::mutf7,
};

/// Longest directory name most filesystems allow.
const NAME_MAX: usize = 255;

/// The directory of a folder relative to the user's directory (`None` for INBOX).
pub(crate) fn folder_dir(name: &MailboxName) -> Result<Option<String>, StoreError> {
    if name.is_inbox() {
        return Ok(None);
    }
    let mut dir = String::new();
    for level in name.levels() {
        dir.push('.');
        dir.push_str(&mutf7::encode(level));
    }
    if dir.len() > NAME_MAX {
        return Err(StoreError::InvalidMailboxName(NameError::Length));
    }
    Ok(Some(dir))
}

/// The mailbox a directory entry of the user's directory stands for, if it is one of ours.
pub(crate) fn parse_folder_dir(entry: &str) -> Option<MailboxName> {
    let rest = entry.strip_prefix('.')?;
    let mut name = String::new();
    for (i, level) in rest.split('.').enumerate() {
        if i > 0 {
            name.push(SEPARATOR);
        }
        name.push_str(&mutf7::decode(level)?);
    }
    let parsed = MailboxName::new(&name).ok()?;
    // A directory whose name is not the canonical spelling (e.g. `.inbox`) is not ours.
    (folder_dir(&parsed).ok()?? == entry).then_some(parsed)
}

/// The directory holding `name`'s `cur/`, `new/` and `tmp/`.
pub(crate) fn mailbox_path(user_dir: &Path, name: &MailboxName) -> Result<PathBuf, StoreError> {
    Ok(match folder_dir(name)? {
        None => user_dir.to_path_buf(),
        Some(d) => user_dir.join(d),
    })
}

/// A subscription-file line: levels separated by TAB, each in modified UTF-7 (Dovecot's
/// `subscriptions` version 2).
pub(crate) fn subscription_line(name: &MailboxName) -> String {
    name.levels()
        .map(mutf7::encode)
        .collect::<Vec<_>>()
        .join("\t")
}

/// Parses a subscription-file line.
pub(crate) fn parse_subscription_line(line: &str) -> Option<MailboxName> {
    let mut name = String::new();
    for (i, level) in line.split('\t').enumerate() {
        if i > 0 {
            name.push(SEPARATOR);
        }
        name.push_str(&mutf7::decode(level)?);
    }
    MailboxName::new(&name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> MailboxName {
        MailboxName::new(s).unwrap() // Unwrap: valid test names.
    }

    #[test]
    fn known_answers() {
        let table = [
            ("Sent", ".Sent"),
            ("Archive/2024", ".Archive.2024"),
            ("Bücher/x", ".B&APw-cher.x"),
            ("INBOX/child", ".INBOX.child"),
            ("a&b", ".a&-b"),
        ];
        for (n, dir) in table {
            assert_eq!(folder_dir(&name(n)).unwrap().as_deref(), Some(dir));
            assert_eq!(parse_folder_dir(dir), Some(name(n)));
        }
        assert_eq!(folder_dir(&name("INBOX")).unwrap(), None);
        for not_ours in [
            ".",
            "..",
            ".inbox",
            ".a..b",
            ".cur",
            ".&AGEAYgBj-",
            "cur",
            ".x.",
            ".DOVECOT-TRASHED",
        ] {
            assert_eq!(parse_folder_dir(not_ours), None, "{not_ours}");
        }
    }

    #[test]
    fn subscriptions_use_tabs() {
        assert_eq!(subscription_line(&name("Bücher/x")), "B&APw-cher\tx");
        assert_eq!(
            parse_subscription_line("Archive\t2024"),
            Some(name("Archive/2024"))
        );
    }
}
