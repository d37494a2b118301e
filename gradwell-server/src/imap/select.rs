//! SELECT, EXAMINE (with CONDSTORE), CLOSE, UNSELECT, EXPUNGE and UID EXPUNGE.

use std::num::NonZeroU32;

use imap_proto::types::{
    command::SelectParameter,
    flag::{Flag, FlagPerm},
    mailbox::Mailbox,
    non_empty::NonEmpty,
    response::{Code, Data, FetchData, ResponseText, SimpleCode, StatusKind},
    sequence::SequenceSet,
};
use maildir_store::{ExpungeSelector, MailboxName, ModSeq, UserId};

use super::{
    Reply, Session, selected,
    selected::{Selected, modseq},
};

/// The store's name for a client's mailbox name; `Err` is the NO to send.
pub(super) fn store_name(mailbox: &Mailbox) -> Result<MailboxName, Reply> {
    MailboxName::new(mailbox.name())
        .map_err(|e| Reply::no(&format!("invalid mailbox name: {e}")).simple(SimpleCode::Cannot))
}

impl Session {
    fn untagged_ok(&mut self, code: Code, text: &str) {
        self.data(Data::Status {
            kind: StatusKind::Ok,
            text: ResponseText {
                code: Some(code),
                text: super::text(text),
            },
        });
    }

    pub(super) fn select(
        &mut self,
        mailbox: &Mailbox,
        parameters: &[SelectParameter],
        read_only: bool,
    ) -> Reply {
        if self.selected.take().is_some() {
            // RFC 7162 §3.2.11: the old mailbox is closed before the new one opens.
            self.untagged_ok(Code::Simple(SimpleCode::Closed), "Previous mailbox closed");
        }
        let user = match self.user() {
            Ok(u) => u,
            Err(r) => return r,
        };
        let name = match store_name(mailbox) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let view = match self.app.store.open(&user, &name) {
            Ok(v) => v,
            Err(e) => return Reply::store_error(&e),
        };
        if parameters
            .iter()
            .any(|p| matches!(p, SelectParameter::CondStore))
        {
            // RFC 7162 §3.1: SELECT (CONDSTORE) enables CONDSTORE.
            self.condstore = true;
        }
        let sel = Selected::new(name, read_only, &view);
        let mut keywords: Vec<Flag> = Vec::new();
        for m in &view.messages {
            for k in m.flags.keywords() {
                if let Ok(atom) = imap_proto::types::core::Atom::try_from(k.as_str()) {
                    let flag = Flag::Keyword(atom);
                    if !keywords.contains(&flag) {
                        keywords.push(flag);
                    }
                }
            }
        }
        let system = [
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Seen,
            Flag::Draft,
        ];
        let mut flags = system.to_vec();
        flags.extend(keywords.iter().cloned());
        self.data(Data::Flags(flags.clone()));
        self.data(Data::Exists(
            u32::try_from(sel.uids.len()).unwrap_or(u32::MAX),
        ));
        self.data(Data::Recent(0));
        let mut permanent: Vec<FlagPerm> = if read_only {
            Vec::new()
        } else {
            flags.into_iter().map(FlagPerm::Flag).collect()
        };
        if !read_only {
            permanent.push(FlagPerm::Asterisk);
        }
        self.untagged_ok(Code::PermanentFlags(permanent), "Flags permitted");
        if let Some(v) = NonZeroU32::new(view.uid_validity.get()) {
            self.untagged_ok(Code::UidValidity(v), "UIDs valid");
        }
        if let Some(n) = NonZeroU32::new(view.uid_next.get()) {
            self.untagged_ok(Code::UidNext(n), "Predicted next UID");
        }
        match modseq(view.highest_modseq) {
            Some(m) => self.untagged_ok(Code::HighestModSeq(m), "Highest"),
            None => self.untagged_ok(Code::Simple(SimpleCode::NoModSeq), "No MODSEQs yet"),
        }
        self.selected = Some(sel);
        for p in parameters {
            if let SelectParameter::QResync {
                uid_validity,
                mod_seq,
                known_uids,
                ..
            } = p
            {
                if !self.qresync {
                    // RFC 7162 §3.2.5: QRESYNC parameters need ENABLE QRESYNC first.
                    self.selected = None;
                    return Reply::bad("ENABLE QRESYNC first");
                }
                if uid_validity.get() == view.uid_validity.get() {
                    self.resync(&user, ModSeq::new(mod_seq.get()), known_uids.as_ref());
                }
            }
        }
        if read_only {
            Reply::ok("EXAMINE completed").simple(SimpleCode::ReadOnly)
        } else {
            Reply::ok("SELECT completed").simple(SimpleCode::ReadWrite)
        }
    }

    /// RFC 7162 §3.2.5.1: what changed since the client's MODSEQ, as VANISHED (EARLIER) and
    /// FETCH responses.
    fn resync(&mut self, user: &UserId, since: ModSeq, known: Option<&SequenceSet>) {
        let Some(sel) = self.selected.as_ref() else {
            return;
        };
        let Ok(changes) = self.app.store.changes_since(user, &sel.name, since) else {
            return;
        };
        let vanished = if changes.vanished_complete {
            let listed: Vec<_> = changes
                .vanished
                .iter()
                .copied()
                .filter(|u| known.is_none_or(|k| k.contains(u.get(), u32::MAX)))
                .collect();
            selected::uid_set(&listed)
        } else {
            // Tombstones from before `since` were pruned: every UID the client may know that
            // is not here now is reported.
            selected::absent_uids(&sel.uids, changes.uid_next, known)
        };
        let mut out = Vec::new();
        if let Some(uids) = vanished {
            out.push(Data::Vanished {
                earlier: true,
                uids,
            });
        }
        for m in &changes.changed {
            let Some(seq) = sel.seq_of(m.uid) else {
                continue;
            };
            let mut items = vec![FetchData::Flags(selected::to_imap(&m.flags))];
            items.extend(NonZeroU32::new(m.uid.get()).map(FetchData::Uid));
            items.extend(modseq(m.modseq).map(FetchData::ModSeq));
            if let Ok(items) = NonEmpty::try_from(items) {
                out.push(Data::Fetch { seq, items });
            }
        }
        for data in out {
            self.data(data);
        }
    }

    /// CLOSE (`expunge`: removes \Deleted messages silently, RFC 3501 §6.4.2) or UNSELECT
    /// (RFC 3691).
    pub(super) fn close(&mut self, expunge: bool) -> Reply {
        let Some(sel) = self.selected.take() else {
            return Reply::bad("no mailbox selected");
        };
        if expunge
            && !sel.read_only
            && let Ok(user) = self.user()
            && let Err(e) = self
                .app
                .store
                .expunge(&user, &sel.name, &ExpungeSelector::AllDeleted)
        {
            return Reply::store_error(&e);
        }
        Reply::ok(if expunge {
            "CLOSE completed"
        } else {
            "UNSELECT completed"
        })
    }

    /// EXPUNGE, or UID EXPUNGE (RFC 4315 §2.1) when `set` is given. The EXPUNGE responses
    /// come from the sync before the tagged OK.
    pub(super) fn expunge(&mut self, set: Option<&SequenceSet>) -> Reply {
        let (user, sel) = match (self.user(), self.selected.as_ref()) {
            (Ok(u), Some(s)) => (u, s),
            _ => return Reply::bad("no mailbox selected"),
        };
        if sel.read_only {
            return Reply::no("mailbox is read-only").simple(SimpleCode::ReadOnly);
        }
        let which = match set {
            None => ExpungeSelector::AllDeleted,
            Some(set) => match sel.resolve(true, set, &self.saved_search) {
                Ok(found) => {
                    ExpungeSelector::DeletedAmong(found.into_iter().map(|(_, u)| u).collect())
                }
                Err(e) => return Reply::bad(e),
            },
        };
        match self.app.store.expunge(&user, &sel.name, &which) {
            Ok(_) => Reply::ok("EXPUNGE completed"),
            Err(e) => Reply::store_error(&e),
        }
    }
}
