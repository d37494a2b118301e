//! Comparing one user's tree on two replicas: the check behind the tests' ledgers and the
//! first half of a verify-and-repair scrub.

use crate::{MailStore, MailboxName, ReadPart, StoreError, UserId};

/// Every difference between the user's mailboxes on `a` and on `b`: the mailbox list with
/// attributes, then per mailbox UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, each message's
/// metadata (UID, flags, size, INTERNALDATE, MODSEQ) and bytes, and the POP3 view (UIDLs).
/// Empty when the two replicas present the same state.
pub fn differences(
    a: &dyn MailStore,
    b: &dyn MailStore,
    user: &UserId,
) -> Result<Vec<String>, StoreError> {
    compare(a, b, user, true)
}

/// [`differences`] without reading any message's bytes: quick enough for a move's cutover.
pub(crate) fn metadata_differences(
    a: &dyn MailStore,
    b: &dyn MailStore,
    user: &UserId,
) -> Result<Vec<String>, StoreError> {
    compare(a, b, user, false)
}

fn compare(
    a: &dyn MailStore,
    b: &dyn MailStore,
    user: &UserId,
    bytes: bool,
) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let (list_a, list_b) = (a.list_mailboxes(user)?, b.list_mailboxes(user)?);
    if list_a != list_b {
        out.push(format!("mailbox lists differ: {list_a:?} / {list_b:?}"));
    }
    for info in list_a.iter().filter(|i| list_b.contains(i)) {
        out.extend(mailbox_differences(a, b, user, &info.name, bytes)?);
    }
    let (pop_a, pop_b) = (a.pop3_view(user)?, b.pop3_view(user)?);
    if pop_a != pop_b {
        out.push(format!("POP3 views differ: {pop_a:?} / {pop_b:?}"));
    }
    Ok(out)
}

fn mailbox_differences(
    a: &dyn MailStore,
    b: &dyn MailStore,
    user: &UserId,
    name: &MailboxName,
    bytes: bool,
) -> Result<Vec<String>, StoreError> {
    let (va, vb) = (a.open(user, name)?, b.open(user, name)?);
    if va == vb {
        let mut out = Vec::new();
        for m in va.messages.iter().filter(|_| bytes) {
            if a.read(user, name, m.uid, ReadPart::Whole)?
                != b.read(user, name, m.uid, ReadPart::Whole)?
            {
                out.push(format!("{name}: UID {} has different bytes", m.uid));
            }
        }
        return Ok(out);
    }
    let mut out = Vec::new();
    let head = |v: &crate::MailboxView| (v.uid_validity, v.uid_next, v.highest_modseq);
    if head(&va) != head(&vb) {
        out.push(format!(
            "{name}: (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) {:?} / {:?}",
            head(&va),
            head(&vb)
        ));
    }
    for m in &va.messages {
        match vb.get(m.uid) {
            None => out.push(format!("{name}: UID {} only on the first", m.uid)),
            Some(other) if other != m => {
                out.push(format!("{name}: UID {}: {m:?} / {other:?}", m.uid));
            }
            Some(_) => {}
        }
    }
    for m in vb.messages.iter().filter(|m| va.get(m.uid).is_none()) {
        out.push(format!("{name}: UID {} only on the second", m.uid));
    }
    Ok(out)
}
