//! CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (LIST-EXTENDED, LIST-STATUS,
//! SPECIAL-USE), LSUB, STATUS (STATUS=SIZE), NAMESPACE and QUOTA.

use imap_proto::{
    mutf7,
    types::{
        command::{ListPattern, ListReturnOption, ListSelectOption},
        core::{AString, Atom, IString, Number64},
        mailbox::Mailbox,
        non_empty::NonEmpty,
        quota::QuotaResource,
        response::{Data, ListExtendedItem, ListItem, NamespaceEntry, SimpleCode},
        status::StatusItem,
    },
};
use maildir_store::{
    MailboxAttributes, MailboxInfo, MailboxName, SEPARATOR, SpecialUse, SystemFlag, UserId,
};

use super::{Reply, Session, select::store_name};

/// Whether `name` (wire form) matches `pattern` (RFC 3501 §6.3.8): `*` matches anything,
/// `%` anything but the hierarchy delimiter. Iterative, so hostile patterns cost
/// O(pattern × name).
pub(super) fn matches(pattern: &[u8], name: &[u8]) -> bool {
    // Classic backtracking over the last wildcard, with `%` unable to cross a delimiter.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize, bool)> = None;
    let delim = SEPARATOR as u8;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n, true));
                p += 1;
            }
            Some(b'%') => {
                star = Some((p, n, false));
                p += 1;
            }
            Some(&c) if c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn, any)) if any || name[sn] != delim => {
                    star = Some((sp, sn + 1, any));
                    p = sp + 1;
                    n = sn + 1;
                }
                _ => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..]
        .iter()
        .all(|c| *c == b'*' || *c == b'%')
}

/// The wire form of a name, against which LIST patterns match: modified UTF-7, or the
/// UTF-8 name itself once UTF8=ACCEPT is enabled (RFC 6855 §3), when patterns come in UTF-8.
fn wire(name: &str, utf8_accept: bool) -> String {
    if utf8_accept {
        name.to_owned()
    } else {
        mutf7::encode(name)
    }
}

fn to_mailbox(name: &MailboxName) -> Option<Mailbox> {
    Mailbox::try_from(name.as_str()).ok()
}

fn atom(s: &str) -> Option<Atom> {
    Atom::try_from(s).ok()
}

impl Session {
    fn user_or_bad(&self) -> Result<UserId, Reply> {
        self.user()
    }

    /// The user and the store's name for `mailbox`.
    fn user_and_name(&self, mailbox: &Mailbox) -> Result<(UserId, MailboxName), Reply> {
        Ok((self.user()?, store_name(mailbox)?))
    }

    /// The same, for a mailbox that must exist.
    fn existing(&self, mailbox: &Mailbox) -> Result<(UserId, MailboxName), Reply> {
        let (user, name) = self.user_and_name(mailbox)?;
        self.app
            .store
            .open(&user, &name)
            .map_err(|e| Reply::store_error(&e))?;
        Ok((user, name))
    }

    pub(super) fn create(&mut self, mailbox: &Mailbox, special: Option<&[Atom]>) -> Reply {
        let user = match self.user_or_bad() {
            Ok(u) => u,
            Err(r) => return r,
        };
        // RFC 3501 §6.3.3: a trailing delimiter says the name will hold children.
        let raw = mailbox.name().trim_end_matches(SEPARATOR);
        let name = match MailboxName::new(raw) {
            Ok(n) => n,
            Err(e) => {
                return Reply::no(&format!("invalid mailbox name: {e}")).simple(SimpleCode::Cannot);
            }
        };
        let usage = match special {
            None | Some([]) => None,
            Some([one]) => match SpecialUse::from_imap(one.as_str()) {
                Some(u) => Some(u),
                None => {
                    return Reply::no("unknown special use").simple(SimpleCode::Cannot);
                }
            },
            Some(_) => return Reply::no("one special use per mailbox").simple(SimpleCode::Limit),
        };
        match self.app.store.create_mailbox(&user, &name, usage) {
            Ok(()) => Reply::ok("CREATE completed"),
            Err(e) => Reply::store_error(&e),
        }
    }

    pub(super) fn delete(&mut self, mailbox: &Mailbox) -> Reply {
        let (user, name) = match self.user_and_name(mailbox) {
            Ok(x) => x,
            Err(r) => return r,
        };
        match self.app.store.delete_mailbox(&user, &name) {
            Ok(()) => {
                let _ = self.app.store.set_subscribed(&user, &name, false);
                Reply::ok("DELETE completed")
            }
            Err(e) => Reply::store_error(&e),
        }
    }

    pub(super) fn rename(&mut self, from: &Mailbox, to: &Mailbox) -> Reply {
        let user = match self.user_or_bad() {
            Ok(u) => u,
            Err(r) => return r,
        };
        let (from, to) = match (store_name(from), store_name(to)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(r), _) | (_, Err(r)) => return r,
        };
        match self.app.store.rename_mailbox(&user, &from, &to) {
            Ok(()) => Reply::ok("RENAME completed"),
            Err(e) => Reply::store_error(&e),
        }
    }

    pub(super) fn subscribe(&mut self, mailbox: &Mailbox, on: bool) -> Reply {
        let (user, name) = match self.user_and_name(mailbox) {
            Ok(x) => x,
            Err(r) => return r,
        };
        match self.app.store.set_subscribed(&user, &name, on) {
            Ok(()) => Reply::ok("done"),
            Err(e) => Reply::store_error(&e),
        }
    }

    pub(super) fn namespace(&mut self) -> Reply {
        // One personal namespace with an empty prefix (RFC 2342 §5).
        let personal = IString::from_bytes(b"")
            .map(|prefix| {
                vec![NamespaceEntry {
                    prefix,
                    delimiter: Some(SEPARATOR),
                }]
            })
            .unwrap_or_default();
        self.data(Data::Namespace {
            personal,
            other: Vec::new(),
            shared: Vec::new(),
        });
        Reply::ok("NAMESPACE completed")
    }

    pub(super) fn list(
        &mut self,
        selection: &[ListSelectOption],
        reference: &Mailbox,
        patterns: &NonEmpty<ListPattern>,
        returns: Option<&[ListReturnOption]>,
    ) -> Reply {
        let user = match self.user_or_bad() {
            Ok(u) => u,
            Err(r) => return r,
        };
        let utf8 = self.proto.utf8_accept();
        let reference = wire(reference.name(), utf8);
        // RFC 3501 §6.3.8: an empty pattern asks for the delimiter and the root.
        if patterns.len() == 1 && patterns.first().as_bytes().is_empty() && selection.is_empty() {
            if let Ok(root) = Mailbox::try_from("") {
                self.data(Data::List(ListItem {
                    attributes: atom("Noselect").into_iter().collect(),
                    delimiter: Some(SEPARATOR),
                    mailbox: root,
                    extended: Vec::new(),
                }));
            }
            return Reply::ok("LIST completed");
        }
        let mut all = match self.app.store.list_mailboxes(&user) {
            Ok(all) => all,
            Err(e) => return Reply::store_error(&e),
        };
        let subscribed_only = selection.contains(&ListSelectOption::Subscribed);
        // RFC 5258 §3.1: with SUBSCRIBED "the list MUST include exactly those mailbox names
        // that match the canonical list pattern and are subscribed to", existing or not.
        let existing = all.len();
        if subscribed_only {
            match self.app.store.subscriptions(&user) {
                Ok(names) => all.extend(nonexistent(names, &all)),
                Err(e) => return Reply::store_error(&e),
            }
        }
        let special_only = selection.contains(&ListSelectOption::SpecialUse);
        let returns = returns.unwrap_or_default();
        let want_subscribed = subscribed_only || returns.contains(&ListReturnOption::Subscribed);
        let status_items = returns.iter().find_map(|r| match r {
            ListReturnOption::Status(items) => Some(items.clone()),
            _ => None,
        });
        let recursive = selection.contains(&ListSelectOption::RecursiveMatch);
        let full_patterns: Vec<Vec<u8>> = patterns
            .iter()
            .map(|p| [reference.as_bytes(), p.as_bytes()].concat())
            .collect();
        let hit = |info: &MailboxInfo| {
            let name = wire(info.name.as_str(), utf8);
            full_patterns.iter().any(|p| matches_name(p, &name))
        };
        // RFC 5258 §3: the selection options pick mailboxes; the patterns then filter them.
        let selected = |info: &MailboxInfo| {
            (!subscribed_only || info.attributes.subscribed)
                && (!special_only || info.attributes.special_use.is_some())
        };
        // RFC 5258 RECURSIVEMATCH: a mailbox the patterns match is also listed, with
        // CHILDINFO naming the selection option, when a descendant meets the selection
        // criteria but the patterns do not list that descendant itself (whether or not the
        // mailbox meets them).
        let parents_of_unlisted: Vec<&MailboxName> = if recursive {
            all.iter()
                .filter(|i| selected(i) && !hit(i))
                .flat_map(|i| ancestors(&i.name, &all))
                .collect()
        } else {
            Vec::new()
        };
        let childinfo = if subscribed_only {
            "SUBSCRIBED"
        } else {
            "SPECIAL-USE"
        };
        for (index, info) in all.iter().enumerate() {
            let has_matching_child = parents_of_unlisted.contains(&&info.name);
            if !hit(info) || !(selected(info) || has_matching_child) {
                continue;
            }
            let Some(mailbox) = to_mailbox(&info.name) else {
                continue;
            };
            let extended = match IString::from_bytes(childinfo.as_bytes()) {
                Ok(criterion) if has_matching_child => {
                    vec![ListExtendedItem::ChildInfo(NonEmpty::one(criterion))]
                }
                _ => Vec::new(),
            };
            let exists = index < existing;
            let mut attributes = attributes(info, want_subscribed);
            if !exists {
                // RFC 5258 §3: "The \NonExistent attribute implies \NoSelect."
                attributes.extend(atom("NonExistent"));
            }
            self.data(Data::List(ListItem {
                attributes,
                delimiter: Some(SEPARATOR),
                mailbox: mailbox.clone(),
                extended,
            }));
            if let Some(items) = status_items.as_ref().filter(|_| exists) {
                // RFC 5819: a STATUS response follows each LIST response.
                self.status_data(&user, &info.name, &mailbox, items);
            }
        }
        Reply::ok("LIST completed")
    }

    pub(super) fn lsub(&mut self, reference: &Mailbox, pattern: &ListPattern) -> Reply {
        let user = match self.user_or_bad() {
            Ok(u) => u,
            Err(r) => return r,
        };
        // RFC 3501 §6.3.9: LSUB returns "names that the user has declared as being
        // subscribed", including those whose mailbox is gone (§6.3.6).
        let subscribed = match self.app.store.subscriptions(&user) {
            Ok(names) => names,
            Err(e) => return Reply::store_error(&e),
        };
        let utf8 = self.proto.utf8_accept();
        let full = [wire(reference.name(), utf8).as_bytes(), pattern.as_bytes()].concat();
        for name in &subscribed {
            if !matches_name(&full, &wire(name.as_str(), utf8)) {
                continue;
            }
            let Some(mailbox) = to_mailbox(name) else {
                continue;
            };
            self.data(Data::Lsub(ListItem {
                attributes: Vec::new(),
                delimiter: Some(SEPARATOR),
                mailbox,
                extended: Vec::new(),
            }));
        }
        Reply::ok("LSUB completed")
    }

    pub(super) fn status(&mut self, mailbox: &Mailbox, items: &[StatusItem]) -> Reply {
        let (user, name) = match self.existing(mailbox) {
            Ok(x) => x,
            Err(r) => return r,
        };
        self.status_data(&user, &name, mailbox, items);
        Reply::ok("STATUS completed")
    }

    fn status_data(
        &mut self,
        user: &UserId,
        name: &MailboxName,
        mailbox: &Mailbox,
        items: &[StatusItem],
    ) {
        let Ok(view) = self.app.store.open(user, name) else {
            return;
        };
        let count = |f: &dyn Fn(&maildir_store::MessageMeta) -> bool| {
            view.messages.iter().filter(|m| f(m)).count() as u64
        };
        let mut out = Vec::new();
        for item in items {
            let value = match item {
                StatusItem::Messages => view.messages.len() as u64,
                StatusItem::Recent => 0,
                StatusItem::UidNext => u64::from(view.uid_next.get()),
                StatusItem::UidValidity => u64::from(view.uid_validity.get()),
                StatusItem::Unseen => count(&|m| !m.flags.contains(SystemFlag::Seen)),
                StatusItem::Deleted => count(&|m| m.flags.contains(SystemFlag::Deleted)),
                StatusItem::Size => view.messages.iter().map(|m| m.size).sum(),
                StatusItem::HighestModSeq => view.highest_modseq.get(),
                StatusItem::AppendLimit => self.app.config.limits.imap_max_literal_size,
                StatusItem::DeletedStorage => view
                    .messages
                    .iter()
                    .filter(|m| m.flags.contains(SystemFlag::Deleted))
                    .map(|m| m.size)
                    .sum(),
            };
            if let Ok(n) = Number64::try_from(value) {
                out.push((*item, n));
            }
        }
        self.data(Data::MailboxStatus {
            mailbox: mailbox.clone(),
            items: out,
        });
    }

    /// The one quota root, `""`, with the configured limit (RFC 9208).
    fn quota_data(&mut self, user: &UserId) -> Result<(), Reply> {
        let limit_kib = self.app.config.limits.imap_quota_kib;
        if limit_kib == 0 {
            return Ok(());
        }
        let usage = self
            .app
            .store
            .quota_usage(user)
            .map_err(|e| Reply::store_error(&e))?;
        let (Some(name), Ok(used), Ok(limit), Ok(root)) = (
            atom("STORAGE"),
            Number64::try_from(usage.bytes.div_ceil(1024)),
            Number64::try_from(limit_kib),
            AString::try_from(""),
        ) else {
            return Ok(());
        };
        self.data(Data::Quota {
            root,
            resources: NonEmpty::one(QuotaResource {
                name,
                usage: used,
                limit,
            }),
        });
        Ok(())
    }

    pub(super) fn get_quota(&mut self, root: &[u8]) -> Reply {
        let user = match self.user_or_bad() {
            Ok(u) => u,
            Err(r) => return r,
        };
        if !root.is_empty() || self.app.config.limits.imap_quota_kib == 0 {
            return Reply::no("no such quota root").simple(SimpleCode::NonExistent);
        }
        match self.quota_data(&user) {
            Ok(()) => Reply::ok("GETQUOTA completed"),
            Err(r) => r,
        }
    }

    pub(super) fn get_quota_root(&mut self, mailbox: &Mailbox) -> Reply {
        let (user, _) = match self.existing(mailbox) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let roots = if self.app.config.limits.imap_quota_kib == 0 {
            Vec::new()
        } else {
            AString::try_from("").into_iter().collect()
        };
        self.data(Data::QuotaRoot {
            mailbox: mailbox.clone(),
            roots,
        });
        match self.quota_data(&user) {
            Ok(()) => Reply::ok("GETQUOTAROOT completed"),
            Err(r) => r,
        }
    }
}

/// Pattern match where a leading `INBOX` is case-insensitive (RFC 3501 §5.1).
fn matches_name(pattern: &[u8], name: &str) -> bool {
    if matches(pattern, name.as_bytes()) {
        return true;
    }
    let upper_inbox = |p: &[u8]| -> Option<Vec<u8>> {
        let head = p.get(..5)?;
        if head.eq_ignore_ascii_case(b"INBOX") {
            let mut v = b"INBOX".to_vec();
            v.extend_from_slice(&p[5..]);
            Some(v)
        } else {
            None
        }
    };
    upper_inbox(pattern).is_some_and(|p| matches(&p, name.as_bytes()))
}

/// LIST entries for the subscribed `names` that are not among the existing mailboxes `all`:
/// subscribed, with children when an existing mailbox lies below.
fn nonexistent(names: Vec<MailboxName>, all: &[MailboxInfo]) -> Vec<MailboxInfo> {
    names
        .into_iter()
        .filter(|n| !all.iter().any(|i| &i.name == n))
        .map(|n| {
            let has_children = all.iter().any(|i| i.name.is_below(&n));
            MailboxInfo::new(n, MailboxAttributes::new(has_children, true, None))
        })
        .collect()
}

/// The mailboxes in `all` that are ancestors of `name` (`a` and `a/b` for `a/b/c`).
fn ancestors<'a>(name: &MailboxName, all: &'a [MailboxInfo]) -> Vec<&'a MailboxName> {
    let name = name.as_str();
    all.iter()
        .map(|i| &i.name)
        .filter(|parent| {
            name.strip_prefix(parent.as_str())
                .is_some_and(|rest| rest.starts_with(SEPARATOR))
        })
        .collect()
}

fn attributes(info: &MailboxInfo, subscribed: bool) -> Vec<Atom> {
    let mut out = Vec::new();
    // RFC 3348 / RFC 5258 §4: \HasChildren or \HasNoChildren.
    // imap-proto writes the backslash of each attribute itself.
    out.push(if info.attributes.has_children {
        "HasChildren"
    } else {
        "HasNoChildren"
    });
    if subscribed && info.attributes.subscribed {
        out.push("Subscribed");
    }
    if let Some(usage) = info.attributes.special_use {
        out.push(usage.as_imap().trim_start_matches('\\'));
    }
    out.into_iter().filter_map(atom).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_wildcards() {
        assert!(matches(b"*", b"a/b/c"));
        assert!(matches(b"a/%", b"a/b"));
        assert!(!matches(b"a/%", b"a/b/c"));
        assert!(matches(b"a*", b"a"));
        assert!(matches(b"%", b"INBOX"));
        assert!(!matches(b"%", b"x/y"));
        assert!(matches(b"x/%/z", b"x/y/z"));
        assert!(!matches(b"abc", b"abd"));
        assert!(matches(b"a%c*", b"abc/d"));
        assert!(matches_name(b"inbox", "INBOX"));
        // A hostile pattern stays cheap.
        let pattern = b"*%".repeat(500);
        assert!(!matches(
            &[pattern.as_slice(), b"q"].concat(),
            &b"a".repeat(1000)
        ));
    }
}
