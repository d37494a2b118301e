//! POP3 UIDLs shared by every store.

use crate::types::{Uid, UidValidity};

/// The UIDL of a message that has none recorded: Dovecot's default `pop3_uidl_format`
/// (`%08Xu%08Xv`), so mailboxes moved from Dovecot keep the UIDLs clients already know.
pub(crate) fn default_uidl(uid: Uid, uid_validity: UidValidity) -> String {
    format!("{:08X}{:08X}", uid.get(), uid_validity.get())
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
