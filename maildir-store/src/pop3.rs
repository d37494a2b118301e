//! POP3 UIDLs shared by every store.

use crate::types::{Uid, UidValidity};

/// The UIDL of a message that has none recorded: Dovecot's default `pop3_uidl_format`
/// (`%08Xu%08Xv`), so mailboxes moved from Dovecot keep the UIDLs clients already know.
/// Dovecot's `%X` prints *lowercase* hex (Dovecot 2.3.19 answers `UIDL` with
/// `000000046553f100` for UID 4, UIDVALIDITY 1700000000; gradwell-server's
/// `tests/migrate_dovecot.rs` checks against a real Dovecot).
pub fn default_uidl(uid: Uid, uid_validity: UidValidity) -> String {
    format!("{:08x}{:08x}", uid.get(), uid_validity.get())
}

/// Checks recorded UIDLs: RFC 1939 §7, "The unique-id of a message is an arbitrary server-
/// determined string, consisting of one to 70 characters in the range 0x21 to 0x7E".
pub(crate) fn check_uidls(
    entries: &[(Uid, Option<String>, Option<u32>)],
) -> Result<(), crate::StoreError> {
    for (uid, uidl, _) in entries {
        if let Some(u) = uidl
            && (u.is_empty() || u.len() > 70 || !u.bytes().all(|b| (0x21..=0x7e).contains(&b)))
        {
            return Err(crate::StoreError::Corrupt {
                file: "POP3 UIDL",
                detail: format!("UID {uid}: {u:?} is not a valid UIDL"),
            });
        }
    }
    Ok(())
}

/// What [`crate::mirror::Restore::restore_pop3`] needs to give another copy of INBOX the
/// POP3 view `view`: the UIDLs that are not the defaults, and every position when the order
/// is not by UID.
pub(crate) fn recorded_entries(
    view: &[crate::Pop3Entry],
    v: UidValidity,
) -> Vec<(Uid, Option<String>, Option<u32>)> {
    let by_uid = view.windows(2).all(|w| w[0].uid < w[1].uid);
    view.iter()
        .zip(1u32..)
        .filter(|(e, _)| !by_uid || e.uidl != default_uidl(e.uid, v))
        .map(|(e, position)| {
            let uidl = (e.uidl != default_uidl(e.uid, v)).then(|| e.uidl.clone());
            (e.uid, uidl, (!by_uid).then_some(position))
        })
        .collect()
}

/// Gives `target`'s INBOX the POP3 UIDLs and order `source` shows where they are not the
/// defaults (recorded by a migration), then checks both POP3 views are the same.
pub(crate) fn carry_pop3(
    source: &dyn crate::MailStore,
    target: &dyn crate::mirror::Restore,
    user: &crate::UserId,
) -> Result<(), crate::StoreError> {
    let inbox = crate::MailboxName::inbox();
    let want = source.pop3_view(user)?;
    let v = source.open(user, &inbox)?.uid_validity;
    let entries = recorded_entries(&want, v);
    if !entries.is_empty() {
        target.restore_pop3(user, &inbox, &entries)?;
    }
    let have = target.pop3_view(user)?;
    if have != want {
        return Err(crate::StoreError::ReplicasDiverged {
            detail: format!("moving {user}: the POP3 view differs after the copy"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_dovecot_default() {
        let uid = Uid::new(26).unwrap(); // Unwrap: non-zero literal.
        let v = UidValidity::new(1_795_911_969).unwrap(); // Unwrap: non-zero literal.
        assert_eq!(default_uidl(uid, v), "0000001a6b0b7121");
    }
}
