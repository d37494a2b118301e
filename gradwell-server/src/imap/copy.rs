//! COPY, UID COPY (RFC 3501 §6.4.7) and MOVE, UID MOVE (RFC 6851), with COPYUID
//! (RFC 4315).

use std::num::NonZeroU32;

use imap_proto::types::{
    mailbox::Mailbox,
    response::{Code, Data, ResponseText, SimpleCode, StatusKind},
    sequence::SequenceSet,
};
use maildir_store::StoreError;

use super::{Reply, Session, select::store_name, selected::uid_set};

impl Session {
    pub(super) fn copy(
        &mut self,
        uid_mode: bool,
        set: &SequenceSet,
        mailbox: &Mailbox,
        moving: bool,
    ) -> Reply {
        let (user, sel, found) = match self.chosen(uid_mode, set) {
            Ok(x) => x,
            Err(r) => return r,
        };
        if moving && sel.read_only {
            return Reply::no("mailbox is read-only").simple(SimpleCode::ReadOnly);
        }
        let target = match store_name(mailbox) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let uids: Vec<_> = found.iter().map(|(_, u)| *u).collect();
        let verb = if moving { "MOVE" } else { "COPY" };
        if uids.is_empty() {
            // RFC 3501 §6.4.8: UIDs that name nothing are not an error. The target must
            // still exist.
            return match self.app.store.open(&user, &target) {
                Ok(_) => Reply::ok(&format!("{verb} completed (nothing to do)")),
                Err(StoreError::NoSuchMailbox) => {
                    Reply::no("no such mailbox").simple(SimpleCode::TryCreate)
                }
                Err(e) => Reply::store_error(&e),
            };
        }
        let source = sel.name.clone();
        let result = if moving {
            self.app.store.move_messages(&user, &source, &uids, &target)
        } else {
            self.app.store.copy(&user, &source, &uids, &target)
        };
        let result = match result {
            Ok(r) => r,
            // RFC 3501 §6.4.7: "the server MUST send [TRYCREATE]" for a missing target.
            Err(StoreError::NoSuchMailbox) => {
                return Reply::no("no such mailbox").simple(SimpleCode::TryCreate);
            }
            Err(e) => return Reply::store_error(&e),
        };
        let (from, to): (Vec<_>, Vec<_>) = result.mapping.iter().copied().unzip();
        let code = match (
            NonZeroU32::new(result.uid_validity.get()),
            uid_set(&from),
            uid_set(&to),
        ) {
            (Some(uid_validity), Some(source), Some(destination)) => Some(Code::CopyUid {
                uid_validity,
                source,
                destination,
            }),
            _ => None,
        };
        if moving {
            // RFC 6851 §4.3: COPYUID goes in an untagged OK before the EXPUNGEs.
            if let Some(code) = code {
                self.data(Data::Status {
                    kind: StatusKind::Ok,
                    text: ResponseText {
                        code: Some(code),
                        text: super::text("Moved"),
                    },
                });
            }
            return Reply::ok("MOVE completed");
        }
        let reply = Reply::ok("COPY completed");
        match code {
            Some(code) => reply.with_code(code),
            None => reply,
        }
    }
}
