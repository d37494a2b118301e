//! POP3 UIDLs shared by every store.

use crate::types::{Uid, UidValidity};

/// The UIDL of a message that has none recorded: Dovecot's default `pop3_uidl_format`
/// (`%08Xu%08Xv`), so mailboxes moved from Dovecot keep the UIDLs clients already know.
pub(crate) fn default_uidl(uid: Uid, uid_validity: UidValidity) -> String {
    format!("{:08X}{:08X}", uid.get(), uid_validity.get())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_dovecot_default() {
        let uid = Uid::new(26).unwrap(); // Unwrap: non-zero literal.
        let v = UidValidity::new(1_795_911_969).unwrap(); // Unwrap: non-zero literal.
        assert_eq!(default_uidl(uid, v), "0000001A6B0B7121");
    }
}
