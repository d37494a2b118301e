//! One behaviour suite for every [`MailStore`] implementation.
//!
//! Each check is a public function taking a fresh, empty store; it panics with a message on
//! the first broken promise. [`conformance_suite!`](crate::conformance_suite) turns the whole
//! list into `#[test]` functions:
//!
//! ```ignore
//! maildir_store::conformance_suite!(|| ((), maildir_store::MemStore::new()));
//! ```
//!
//! The closure returns `(guard, store)`; the guard (a temporary directory, say) lives until
//! the check ends. A new implementation (the mirrored store) runs the same macro.

use std::{
    collections::BTreeSet,
    time::{Duration, SystemTime},
};

use crate::{
    AppendRequest, ExpungeSelector, FlagChange, Flags, Keyword, MAX_STRUCTURE_RECORD, MailStore,
    MailboxName, ModSeq, ReadPart, SpecialUse, StoreError, SystemFlag, Uid, UserId,
};

/// Expands to one `#[test]` per conformance check, each on a store made by `$make`.
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@each $make;
            inbox_exists_and_is_empty,
            append_then_open,
            uids_increase_and_are_never_reused,
            append_to_missing_mailbox_fails,
            create_list_and_attributes,
            delete_rules,
            rename_moves_children_and_keeps_uids,
            rename_inbox_moves_its_messages,
            subscriptions,
            names_do_not_alias,
            flag_changes_bump_modseq,
            unchanged_since_is_honoured,
            keyword_limit,
            expunge_selectors,
            read_parts,
            bare_newlines_are_presented_as_crlf,
            copy_keeps_source,
            move_is_all_or_nothing_per_message,
            change_feed,
            quota_usage,
            pop3_view_is_stable,
            concurrent_appends_get_unique_uids,
            users_are_separate,
            structure_records
        );
    };
    (@each $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let (_guard, store) = ($make)();
                $crate::conformance::$check(&store);
            }
        )*
    };
}

fn user(name: &str) -> UserId {
    UserId::new(name).expect("test user ids are valid")
}

fn mbox(name: &str) -> MailboxName {
    MailboxName::new(name).expect("test mailbox names are valid")
}

fn kw(name: &str) -> Keyword {
    Keyword::new(name).expect("test keywords are valid")
}

fn date(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn put<S: MailStore + ?Sized>(s: &S, u: &UserId, m: &MailboxName, body: &[u8], f: Flags) -> Uid {
    let req = AppendRequest::new(date(1_700_000_000)).with_flags(f);
    s.append(u, m, &mut &body[..], &req).expect("append")
}

fn msg(n: usize) -> Vec<u8> {
    format!("Subject: message {n}\r\nMessage-ID: <{n}@conformance>\r\n\r\nbody {n}\r\n")
        .into_bytes()
}

fn uids_of<S: MailStore + ?Sized>(s: &S, u: &UserId, m: &MailboxName) -> Vec<u32> {
    let view = s.open(u, m).expect("open");
    view.messages.iter().map(|x| x.uid.get()).collect()
}

/// A new user has an empty INBOX and nothing else.
pub fn inbox_exists_and_is_empty<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let view = s.open(&bob, &MailboxName::inbox()).expect("INBOX opens");
    assert!(view.messages.is_empty());
    assert_eq!(view.uid_next, Uid::MIN);
    let list = s.list_mailboxes(&bob).expect("list");
    let names: Vec<&str> = list.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["INBOX"]);
}

/// An appended message is visible with its UID, flags, size, date and a modseq.
pub fn append_then_open<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let inbox = MailboxName::inbox();
    let before = s.open(&bob, &inbox).expect("open");
    let flags = Flags::new().with(SystemFlag::Seen).with_keyword(kw("Work"));
    let body = msg(1);
    let uid = put(s, &bob, &inbox, &body, flags.clone());
    let view = s.open(&bob, &inbox).expect("open");
    assert_eq!(view.uid_validity, before.uid_validity);
    assert_eq!(view.messages.len(), 1);
    let m = view.get(uid).expect("appended message listed");
    assert_eq!(m.flags, flags);
    assert_eq!(m.size, body.len() as u64);
    assert_eq!(m.internal_date, date(1_700_000_000));
    assert!(m.modseq > before.highest_modseq);
    assert_eq!(view.highest_modseq, m.modseq);
    assert!(view.uid_next > uid);
    let read = s.read(&bob, &inbox, uid, ReadPart::Whole).expect("read");
    assert_eq!(read, body);
}

/// UIDs grow strictly, and an expunged UID is never handed out again.
pub fn uids_increase_and_are_never_reused<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let inbox = MailboxName::inbox();
    let a = put(s, &bob, &inbox, &msg(1), Flags::new());
    let b = put(s, &bob, &inbox, &msg(2), Flags::new());
    let c = put(s, &bob, &inbox, &msg(3), Flags::new());
    assert!(a < b && b < c);
    s.expunge(&bob, &inbox, &ExpungeSelector::Uids(vec![c]))
        .expect("expunge");
    let d = put(s, &bob, &inbox, &msg(4), Flags::new());
    assert!(d > c, "UID {c} reused as {d}");
    assert_eq!(uids_of(s, &bob, &inbox), [a.get(), b.get(), d.get()]);
}

/// APPEND to a mailbox that does not exist fails (IMAP answers `NO [TRYCREATE]`).
pub fn append_to_missing_mailbox_fails<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let req = AppendRequest::new(date(1));
    let r = s.append(&bob, &mbox("Nope"), &mut &b"x\r\n\r\n"[..], &req);
    assert!(matches!(r, Err(StoreError::NoSuchMailbox)), "{r:?}");
    assert!(matches!(
        s.open(&bob, &mbox("Nope")),
        Err(StoreError::NoSuchMailbox)
    ));
}

/// CREATE makes parents, LIST reports children and special-use, CREATE twice fails.
pub fn create_list_and_attributes<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    s.create_mailbox(&bob, &mbox("Sent"), Some(SpecialUse::Sent))
        .expect("create Sent");
    s.create_mailbox(&bob, &mbox("Archive/2024"), None)
        .expect("create Archive/2024");
    let again = s.create_mailbox(&bob, &mbox("Sent"), None);
    assert!(matches!(again, Err(StoreError::MailboxExists)), "{again:?}");
    let list = s.list_mailboxes(&bob).expect("list");
    let names: Vec<&str> = list.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["INBOX", "Archive", "Archive/2024", "Sent"]);
    let by = |n: &str| list.iter().find(|i| i.name.as_str() == n).expect("listed");
    assert!(by("Archive").attributes.has_children);
    assert!(!by("Archive/2024").attributes.has_children);
    assert_eq!(by("Sent").attributes.special_use, Some(SpecialUse::Sent));
    assert_eq!(by("INBOX").attributes.special_use, None);
    let a = s.open(&bob, &mbox("Archive/2024")).expect("open");
    let b = s.open(&bob, &mbox("Sent")).expect("open");
    assert_ne!(
        a.uid_validity, b.uid_validity,
        "UIDVALIDITY must differ per mailbox"
    );
}

/// DELETE refuses INBOX, missing mailboxes and parents; a deleted name can be reused with a
/// new UIDVALIDITY.
pub fn delete_rules<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    assert!(matches!(
        s.delete_mailbox(&bob, &MailboxName::inbox()),
        Err(StoreError::InboxIsSpecial)
    ));
    assert!(matches!(
        s.delete_mailbox(&bob, &mbox("Nope")),
        Err(StoreError::NoSuchMailbox)
    ));
    s.create_mailbox(&bob, &mbox("P/C"), None).expect("create");
    assert!(matches!(
        s.delete_mailbox(&bob, &mbox("P")),
        Err(StoreError::HasChildren)
    ));
    let old = s.open(&bob, &mbox("P/C")).expect("open");
    put(s, &bob, &mbox("P/C"), &msg(1), Flags::new());
    s.delete_mailbox(&bob, &mbox("P/C")).expect("delete child");
    assert!(matches!(
        s.open(&bob, &mbox("P/C")),
        Err(StoreError::NoSuchMailbox)
    ));
    s.create_mailbox(&bob, &mbox("P/C"), None)
        .expect("recreate");
    let new = s.open(&bob, &mbox("P/C")).expect("open");
    assert!(new.messages.is_empty());
    assert_ne!(old.uid_validity, new.uid_validity);
}

/// RENAME carries children, messages, UIDs and UIDVALIDITY; it refuses INBOX as a target, taken names
/// and renaming into its own subtree.
pub fn rename_moves_children_and_keeps_uids<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    s.create_mailbox(&bob, &mbox("A/B"), None).expect("create");
    let uid = put(s, &bob, &mbox("A/B"), &msg(1), Flags::new());
    let before = s.open(&bob, &mbox("A/B")).expect("open");
    s.rename_mailbox(&bob, &mbox("A"), &mbox("Z"))
        .expect("rename");
    let after = s.open(&bob, &mbox("Z/B")).expect("child moved");
    assert_eq!(after.uid_validity, before.uid_validity);
    assert_eq!(after.messages.len(), 1);
    assert_eq!(after.messages.first().map(|m| m.uid), Some(uid));
    assert!(matches!(
        s.open(&bob, &mbox("A/B")),
        Err(StoreError::NoSuchMailbox)
    ));
    assert!(matches!(
        s.open(&bob, &mbox("A")),
        Err(StoreError::NoSuchMailbox)
    ));
    s.create_mailbox(&bob, &mbox("Y"), None).expect("create");
    assert!(matches!(
        s.rename_mailbox(&bob, &mbox("Z"), &mbox("Y")),
        Err(StoreError::MailboxExists)
    ));
    assert!(matches!(
        s.rename_mailbox(&bob, &mbox("Z"), &mbox("Z/B/C")),
        Err(StoreError::RenameIntoSelf)
    ));
    assert!(matches!(
        s.rename_mailbox(&bob, &mbox("Y"), &MailboxName::inbox()),
        Err(StoreError::InboxIsSpecial)
    ));
    assert!(matches!(
        s.rename_mailbox(&bob, &mbox("Nope"), &mbox("Other")),
        Err(StoreError::NoSuchMailbox)
    ));
}

/// RFC 3501 §6.3.5: "Renaming INBOX is permitted, and has special behavior. It moves all
/// messages in INBOX to a new mailbox with the given name, leaving INBOX empty."
pub fn rename_inbox_moves_its_messages<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let inbox = MailboxName::inbox();
    put(s, &bob, &inbox, &msg(1), Flags::new());
    put(
        s,
        &bob,
        &inbox,
        &msg(2),
        Flags::new().with(SystemFlag::Seen),
    );
    let before = s.open(&bob, &inbox).expect("open");
    s.rename_mailbox(&bob, &inbox, &mbox("Old"))
        .expect("rename INBOX");
    let old = s.open(&bob, &mbox("Old")).expect("new mailbox");
    assert_eq!(old.messages.len(), 2);
    for (i, (m, was)) in old.messages.iter().zip(&before.messages).enumerate() {
        assert_eq!(m.flags, was.flags);
        let body = s.read(&bob, &mbox("Old"), m.uid, ReadPart::Whole);
        assert_eq!(body.expect("read"), msg(i + 1));
    }
    let after = s.open(&bob, &inbox).expect("INBOX stays");
    assert!(after.messages.is_empty());
    assert_eq!(after.uid_validity, before.uid_validity);
    assert!(
        after.uid_next >= before.uid_next,
        "INBOX UIDs are not reused"
    );
    // The target must not exist yet.
    put(s, &bob, &inbox, &msg(3), Flags::new());
    assert!(matches!(
        s.rename_mailbox(&bob, &inbox, &mbox("Old")),
        Err(StoreError::MailboxExists)
    ));
    assert_eq!(s.open(&bob, &inbox).expect("open").messages.len(), 1);
}

/// SUBSCRIBE/UNSUBSCRIBE show up as the `\Subscribed` attribute.
pub fn subscriptions<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    s.create_mailbox(&bob, &mbox("Sent"), None).expect("create");
    s.set_subscribed(&bob, &mbox("Sent"), true).expect("sub");
    s.set_subscribed(&bob, &MailboxName::inbox(), true)
        .expect("sub");
    s.set_subscribed(&bob, &MailboxName::inbox(), false)
        .expect("unsub");
    let list = s.list_mailboxes(&bob).expect("list");
    let subscribed: Vec<&str> = list
        .iter()
        .filter(|i| i.attributes.subscribed)
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(subscribed, ["Sent"]);
    // RFC 3501 §6.3.6: "The server MUST NOT unilaterally remove an existing mailbox name
    // from the subscription list even if a mailbox by that name no longer exists."
    s.set_subscribed(&bob, &mbox("Gone/Child"), true)
        .expect("sub");
    s.create_mailbox(&bob, &mbox("Later"), None)
        .expect("create");
    s.set_subscribed(&bob, &mbox("Later"), true).expect("sub");
    s.delete_mailbox(&bob, &mbox("Later")).expect("delete");
    let names = s.subscriptions(&bob).expect("subscriptions");
    let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["Gone/Child", "Later", "Sent"]);
    let listed = s.list_mailboxes(&bob).expect("list");
    assert!(!listed.iter().any(|i| i.name.as_str() == "Gone/Child"));
}

/// One mailbox per spelling: `inbox` is INBOX, and a parent never shares a child's messages.
pub fn names_do_not_alias<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let uid = put(s, &bob, &mbox("inbox"), &msg(1), Flags::new());
    assert_eq!(uids_of(s, &bob, &MailboxName::inbox()), [uid.get()]);
    s.create_mailbox(&bob, &mbox("a/b"), None).expect("create");
    s.create_mailbox(&bob, &mbox("ab"), None).expect("create");
    put(s, &bob, &mbox("a/b"), &msg(2), Flags::new());
    assert!(uids_of(s, &bob, &mbox("a")).is_empty());
    assert!(uids_of(s, &bob, &mbox("ab")).is_empty());
    s.create_mailbox(&bob, &mbox("B&APw-cher"), None)
        .expect("create");
    s.create_mailbox(&bob, &mbox("Bücher"), None)
        .expect("distinct name");
    let list = s.list_mailboxes(&bob).expect("list");
    for n in ["B&APw-cher", "Bücher", "a", "a/b", "ab"] {
        assert!(list.iter().any(|i| i.name.as_str() == n), "{n} listed");
    }
}

/// +FLAGS, -FLAGS and FLAGS change flags and modseq; a no-op change keeps the modseq.
pub fn flag_changes_bump_modseq<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let inbox = MailboxName::inbox();
    let a = put(s, &bob, &inbox, &msg(1), Flags::new());
    let b = put(
        s,
        &bob,
        &inbox,
        &msg(2),
        Flags::new().with(SystemFlag::Seen),
    );
    let start = s.open(&bob, &inbox).expect("open").highest_modseq;
    let add = FlagChange::Add(
        Flags::new()
            .with(SystemFlag::Flagged)
            .with_keyword(kw("$Label1")),
    );
    let out = s
        .store_flags(&bob, &inbox, &[a, b], &add, None)
        .expect("store");
    assert_eq!(out.updated.len(), 2);
    assert!(out.updated.iter().all(|u| u.changed && u.modseq > start));
    assert_ne!(out.updated[0].modseq, out.updated[1].modseq);
    let view = s.open(&bob, &inbox).expect("open");
    let mb = view.get(b).expect("b");
    assert!(mb.flags.contains(SystemFlag::Seen) && mb.flags.contains(SystemFlag::Flagged));
    assert!(mb.flags.contains_keyword(&kw("$Label1")));
    assert_eq!(view.highest_modseq, out.updated[1].modseq);

    let noop = s
        .store_flags(&bob, &inbox, &[b], &add, None)
        .expect("store");
    assert!(!noop.updated[0].changed);
    assert_eq!(noop.updated[0].modseq, mb.modseq);

    let rm = FlagChange::Remove(Flags::new().with(SystemFlag::Seen));
    s.store_flags(&bob, &inbox, &[b], &rm, None).expect("store");
    let rep = FlagChange::Replace(Flags::new().with(SystemFlag::Draft));
    s.store_flags(&bob, &inbox, &[a], &rep, None)
        .expect("store");
    let view = s.open(&bob, &inbox).expect("open");
    let fb = &view.get(b).expect("b").flags;
    assert!(!fb.contains(SystemFlag::Seen) && fb.contains(SystemFlag::Flagged));
    assert_eq!(
        view.get(a).expect("a").flags,
        Flags::new().with(SystemFlag::Draft)
    );
    let missing = Uid::new(999).expect("non-zero");
    let out = s
        .store_flags(&bob, &inbox, &[missing], &rep, None)
        .expect("missing UIDs are ignored");
    assert!(out.updated.is_empty());
}

/// UNCHANGEDSINCE (RFC 7162 §3.1.3) skips messages changed after the given modseq.
pub fn unchanged_since_is_honoured<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let inbox = MailboxName::inbox();
    let a = put(s, &bob, &inbox, &msg(1), Flags::new());
    let b = put(s, &bob, &inbox, &msg(2), Flags::new());
    let seen = FlagChange::Add(Flags::new().with(SystemFlag::Seen));
    let view = s.open(&bob, &inbox).expect("open");
    let ma = view.get(a).expect("a").modseq;
    s.store_flags(&bob, &inbox, &[b], &seen, None)
        .expect("store");
    let del = FlagChange::Add(Flags::new().with(SystemFlag::Deleted));
    let out = s
        .store_flags(&bob, &inbox, &[a, b], &del, Some(ma))
        .expect("store");
    assert_eq!(out.modified, [b]);
    assert_eq!(out.updated.len(), 1);
    assert_eq!(out.updated[0].uid, a);
    let view = s.open(&bob, &inbox).expect("open");
    assert!(!view.get(b).expect("b").flags.contains(SystemFlag::Deleted));
    let zero = s
        .store_flags(&bob, &inbox, &[a], &seen, Some(ModSeq::ZERO))
        .expect("store");
    assert_eq!(zero.modified, [a]);
}

/// At most 26 distinct keywords per mailbox; the 27th is refused and nothing changes.
pub fn keyword_limit<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let inbox = MailboxName::inbox();
    let a = put(s, &bob, &inbox, &msg(1), Flags::new());
    let mut all = Flags::new();
    for i in 0..26 {
        all.insert_keyword(kw(&format!("k{i}")));
    }
    s.store_flags(&bob, &inbox, &[a], &FlagChange::Add(all.clone()), None)
        .expect("26 keywords fit");
    let one_more = FlagChange::Add(Flags::new().with_keyword(kw("k26")));
    let r = s.store_flags(&bob, &inbox, &[a], &one_more, None);
    assert!(
        matches!(r, Err(StoreError::TooManyKeywords { .. })),
        "{r:?}"
    );
    let view = s.open(&bob, &inbox).expect("open");
    assert_eq!(view.get(a).expect("a").flags, all);
}

/// EXPUNGE removes all `\Deleted`, `\Deleted` among a set, or exactly a set.
pub fn expunge_selectors<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let inbox = MailboxName::inbox();
    let del = Flags::new().with(SystemFlag::Deleted);
    let a = put(s, &bob, &inbox, &msg(1), del.clone());
    let b = put(s, &bob, &inbox, &msg(2), del.clone());
    let c = put(s, &bob, &inbox, &msg(3), Flags::new());
    let d = put(s, &bob, &inbox, &msg(4), del);
    let gone = s
        .expunge(&bob, &inbox, &ExpungeSelector::DeletedAmong(vec![b, c]))
        .expect("expunge");
    assert_eq!(gone, [b]);
    let gone = s
        .expunge(&bob, &inbox, &ExpungeSelector::AllDeleted)
        .expect("expunge");
    assert_eq!(gone, [a, d]);
    assert_eq!(uids_of(s, &bob, &inbox), [c.get()]);
    let gone = s
        .expunge(&bob, &inbox, &ExpungeSelector::Uids(vec![c, d]))
        .expect("expunge");
    assert_eq!(gone, [c]);
    assert!(uids_of(s, &bob, &inbox).is_empty());
    assert!(matches!(
        s.read(&bob, &inbox, c, ReadPart::Whole),
        Err(StoreError::NoSuchMessage(_))
    ));
}

/// Whole message, a byte range, and the header.
pub fn read_parts<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let inbox = MailboxName::inbox();
    let body = b"Subject: x\r\nFrom: a@b\r\n\r\nline1\r\nline2\r\n".to_vec();
    let uid = put(s, &bob, &inbox, &body, Flags::new());
    let whole = s.read(&bob, &inbox, uid, ReadPart::Whole).expect("read");
    assert_eq!(whole, body);
    let header = s.read(&bob, &inbox, uid, ReadPart::Header).expect("read");
    assert_eq!(header, b"Subject: x\r\nFrom: a@b\r\n\r\n");
    let part = ReadPart::Range { start: 8, len: 2 };
    assert_eq!(s.read(&bob, &inbox, uid, part).expect("read"), b" x");
    let tail = ReadPart::Range {
        start: 30,
        len: 1000,
    };
    assert_eq!(s.read(&bob, &inbox, uid, tail).expect("read"), &body[30..]);
    let past = ReadPart::Range {
        start: 1000,
        len: 1,
    };
    assert!(matches!(
        s.read(&bob, &inbox, uid, past),
        Err(StoreError::RangeOutOfBounds)
    ));
}

/// A message appended with bare LF line ends reads back with CRLF, and its size counts the
/// CRLF form (RFC 3501 §6.4.5: RFC822.SIZE is "The \[RFC-2822\] size of the message").
pub fn bare_newlines_are_presented_as_crlf<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let inbox = MailboxName::inbox();
    let uid = put(
        s,
        &bob,
        &inbox,
        b"Subject: lf\nX: y\n\nbody\n",
        Flags::new(),
    );
    let want = b"Subject: lf\r\nX: y\r\n\r\nbody\r\n";
    assert_eq!(
        s.read(&bob, &inbox, uid, ReadPart::Whole).expect("read"),
        want
    );
    let view = s.open(&bob, &inbox).expect("open");
    assert_eq!(view.get(uid).expect("listed").size, want.len() as u64);
    let header = s.read(&bob, &inbox, uid, ReadPart::Header).expect("read");
    assert_eq!(header, b"Subject: lf\r\nX: y\r\n\r\n");
}

/// COPY gives new UIDs in the destination (COPYUID), keeps flags, leaves the source alone.
pub fn copy_keeps_source<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let inbox = MailboxName::inbox();
    s.create_mailbox(&bob, &mbox("Archive"), None)
        .expect("create");
    let flags = Flags::new().with(SystemFlag::Seen).with_keyword(kw("Work"));
    let a = put(s, &bob, &inbox, &msg(1), flags.clone());
    let b = put(s, &bob, &inbox, &msg(2), Flags::new());
    let missing = Uid::new(77).expect("non-zero");
    let res = s
        .copy(&bob, &inbox, &[b, a, missing], &mbox("Archive"))
        .expect("copy");
    let dst = s.open(&bob, &mbox("Archive")).expect("open");
    assert_eq!(res.uid_validity, dst.uid_validity);
    assert_eq!(res.mapping.len(), 2);
    assert_eq!(res.mapping[0].0, a);
    assert_eq!(res.mapping[1].0, b);
    let (_, new_a) = res.mapping[0];
    assert_eq!(dst.get(new_a).expect("copied").flags, flags);
    let copied = s
        .read(&bob, &mbox("Archive"), new_a, ReadPart::Whole)
        .expect("read");
    assert_eq!(copied, msg(1));
    assert_eq!(uids_of(s, &bob, &inbox), [a.get(), b.get()]);
    let r = s.copy(&bob, &inbox, &[a], &mbox("Nope"));
    assert!(matches!(r, Err(StoreError::NoSuchMailbox)), "{r:?}");
}

/// MOVE puts each message in the destination and removes it from the source.
pub fn move_is_all_or_nothing_per_message<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let inbox = MailboxName::inbox();
    s.create_mailbox(&bob, &mbox("Archive"), None)
        .expect("create");
    let a = put(
        s,
        &bob,
        &inbox,
        &msg(1),
        Flags::new().with(SystemFlag::Flagged),
    );
    let b = put(s, &bob, &inbox, &msg(2), Flags::new());
    let before = s.open(&bob, &inbox).expect("open").highest_modseq;
    let res = s
        .move_messages(&bob, &inbox, &[a], &mbox("Archive"))
        .expect("move");
    assert_eq!(res.mapping.len(), 1);
    assert_eq!(uids_of(s, &bob, &inbox), [b.get()]);
    let dst = s.open(&bob, &mbox("Archive")).expect("open");
    let moved = dst.get(res.mapping[0].1).expect("moved");
    assert!(moved.flags.contains(SystemFlag::Flagged));
    let changes = s.changes_since(&bob, &inbox, before).expect("changes");
    assert_eq!(changes.vanished, [a]);
}

/// The change feed reports new, changed and vanished messages after a modseq.
pub fn change_feed<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let inbox = MailboxName::inbox();
    let a = put(s, &bob, &inbox, &msg(1), Flags::new());
    let b = put(s, &bob, &inbox, &msg(2), Flags::new());
    let c = put(s, &bob, &inbox, &msg(3), Flags::new());
    let mark = s.open(&bob, &inbox).expect("open").highest_modseq;
    let none = s.changes_since(&bob, &inbox, mark).expect("changes");
    assert!(none.changed.is_empty() && none.vanished.is_empty());
    assert_eq!(none.highest_modseq, mark);
    let seen = FlagChange::Add(Flags::new().with(SystemFlag::Seen));
    s.store_flags(&bob, &inbox, &[a], &seen, None)
        .expect("store");
    s.expunge(&bob, &inbox, &ExpungeSelector::Uids(vec![b]))
        .expect("expunge");
    let d = put(s, &bob, &inbox, &msg(4), Flags::new());
    let ch = s.changes_since(&bob, &inbox, mark).expect("changes");
    let changed: Vec<Uid> = ch.changed.iter().map(|m| m.uid).collect();
    assert_eq!(changed, [a, d]);
    assert_eq!(ch.vanished, [b]);
    assert!(ch.highest_modseq > mark);
    let all = s
        .changes_since(&bob, &inbox, ModSeq::ZERO)
        .expect("changes");
    let all_uids: Vec<Uid> = all.changed.iter().map(|m| m.uid).collect();
    assert_eq!(all_uids, [a, c, d]);
}

/// Quota usage counts every mailbox of the user and nobody else's.
pub fn quota_usage<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    s.create_mailbox(&bob, &mbox("Sent"), None).expect("create");
    put(s, &bob, &MailboxName::inbox(), &msg(1), Flags::new());
    put(s, &bob, &mbox("Sent"), &msg(22), Flags::new());
    put(
        s,
        &user("alice"),
        &MailboxName::inbox(),
        &msg(3),
        Flags::new(),
    );
    let q = s.quota_usage(&bob).expect("quota");
    assert_eq!(q.messages, 2);
    assert_eq!(q.bytes, (msg(1).len() + msg(22).len()) as u64);
}

/// POP3 UIDLs and order do not change when other messages come and go.
pub fn pop3_view_is_stable<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let inbox = MailboxName::inbox();
    let a = put(s, &bob, &inbox, &msg(1), Flags::new());
    let b = put(s, &bob, &inbox, &msg(2), Flags::new());
    let first = s.pop3_view(&bob).expect("pop3");
    assert_eq!(first.iter().map(|e| e.uid).collect::<Vec<_>>(), [a, b]);
    assert_eq!(first[1].size, msg(2).len() as u64);
    let distinct: BTreeSet<&str> = first.iter().map(|e| e.uidl.as_str()).collect();
    assert_eq!(distinct.len(), 2);
    for e in &first {
        assert!(
            !e.uidl.is_empty()
                && e.uidl.len() <= 70
                && e.uidl.bytes().all(|c| (0x21..=0x7e).contains(&c)),
            "RFC 1939: a UIDL is 1 to 70 characters in the range 0x21 to 0x7E"
        );
    }
    s.expunge(&bob, &inbox, &ExpungeSelector::Uids(vec![a]))
        .expect("expunge");
    put(s, &bob, &inbox, &msg(3), Flags::new());
    let second = s.pop3_view(&bob).expect("pop3");
    assert_eq!(second[0].uid, b);
    assert_eq!(second[0].uidl, first[1].uidl);
}

/// Appends from several threads at once each get their own UID.
pub fn concurrent_appends_get_unique_uids<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let inbox = MailboxName::inbox();
    let per_thread = 10;
    let mut all: Vec<u32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (bob, inbox) = (&bob, &inbox);
                scope.spawn(move || {
                    (0..per_thread)
                        .map(|i| put(s, bob, inbox, &msg(t * 100 + i), Flags::new()).get())
                        .collect::<Vec<u32>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("appender thread"))
            .collect()
    });
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!(all.len(), before, "a UID was handed out twice");
    assert_eq!(uids_of(s, &bob, &inbox), all);
}

/// Two users never see each other's mailboxes, even with similar names.
pub fn users_are_separate<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let bob2 = user("bob2");
    put(s, &bob, &MailboxName::inbox(), &msg(1), Flags::new());
    s.create_mailbox(&bob, &mbox("Private"), None)
        .expect("create");
    assert!(uids_of(s, &bob2, &MailboxName::inbox()).is_empty());
    let list = s.list_mailboxes(&bob2).expect("list");
    assert_eq!(list.len(), 1);
}

/// Structure records: kept per message, the latest one wins, never returned for another
/// message (after an expunge, or for the same UID in a re-created mailbox), and a record over
/// the limit is not kept.
pub fn structure_records<S: MailStore + ?Sized>(s: &S) {
    let bob = user("bob");
    let work = mbox("Work");
    s.create_mailbox(&bob, &work, None).expect("create");
    let a = put(s, &bob, &work, &msg(1), Flags::new());
    let b = put(s, &bob, &work, &msg(2), Flags::new());
    let get = |uid| s.cached_structure(&bob, &work, uid);
    assert_eq!(get(a).expect("get"), None, "nothing cached yet");
    s.cache_structure(&bob, &work, a, b"first").expect("put");
    s.cache_structure(&bob, &work, b, b"second").expect("put");
    assert_eq!(get(a).expect("get").as_deref(), Some(&b"first"[..]));
    assert_eq!(get(b).expect("get").as_deref(), Some(&b"second"[..]));
    s.cache_structure(&bob, &work, a, b"newer").expect("put");
    assert_eq!(get(a).expect("get").as_deref(), Some(&b"newer"[..]));
    let huge = vec![b'x'; MAX_STRUCTURE_RECORD + 1];
    s.cache_structure(&bob, &work, a, &huge)
        .expect("an oversized record is not an error");
    assert_ne!(get(a).expect("get").as_deref(), Some(&huge[..]));
    s.expunge(&bob, &work, &ExpungeSelector::Uids(vec![a]))
        .expect("expunge");
    assert!(matches!(
        get(a),
        Ok(None) | Err(StoreError::NoSuchMessage(_))
    ));
    assert_eq!(get(b).expect("get").as_deref(), Some(&b"second"[..]));
    s.delete_mailbox(&bob, &work).expect("delete");
    s.create_mailbox(&bob, &work, None).expect("re-create");
    let again = put(s, &bob, &work, &msg(3), Flags::new());
    assert_eq!(
        get(again).expect("get"),
        None,
        "the old mailbox's record is gone"
    );
}
