//! STORE and UID STORE (RFC 3501 §6.4.6) with UNCHANGEDSINCE (RFC 7162 §3.1.3).

use std::num::NonZeroU32;

use imap_proto::types::{
    command::StoreKind,
    core::Number64,
    flag::Flag,
    non_empty::NonEmpty,
    response::{Code, Data, FetchData, SimpleCode},
    sequence::SequenceSet,
};
use maildir_store::{FlagChange, ModSeq};

use super::{
    Reply, Session,
    selected::{from_imap, modseq, to_imap, uid_set},
};

impl Session {
    pub(super) fn store(
        &mut self,
        uid_mode: bool,
        set: &SequenceSet,
        unchanged_since: Option<Number64>,
        kind: StoreKind,
        silent: bool,
        flags: &[Flag],
    ) -> Reply {
        let (user, sel, found) = match self.chosen(uid_mode, set) {
            Ok(x) => x,
            Err(r) => return r,
        };
        if sel.read_only {
            // RFC 3501 §6.3.2: nothing may change in a mailbox opened with EXAMINE.
            return Reply::no("mailbox is read-only").simple(SimpleCode::ReadOnly);
        }
        let flags = match from_imap(flags) {
            Ok(f) => f,
            Err(e) => return Reply::bad(&e),
        };
        let change = match kind {
            StoreKind::Add => FlagChange::Add(flags),
            StoreKind::Remove => FlagChange::Remove(flags),
            StoreKind::Replace => FlagChange::Replace(flags),
        };
        let uids: Vec<_> = found.iter().map(|(_, u)| *u).collect();
        let name = sel.name.clone();
        if unchanged_since.is_some() {
            self.condstore = true;
        }
        let outcome = match self.app.store.store_flags(
            &user,
            &name,
            &uids,
            &change,
            unchanged_since.map(|n| ModSeq::new(n.get())),
        ) {
            Ok(o) => o,
            Err(e) => return Reply::store_error(&e),
        };
        let condstore = self.condstore;
        let mut out = Vec::new();
        if let Some(sel) = self.selected.as_mut() {
            for update in &outcome.updated {
                sel.known
                    .insert(update.uid, (update.flags.clone(), update.modseq));
                // RFC 3501 §6.4.6: the new flags come back unless .SILENT; RFC 7162 §3.1.3:
                // with CONDSTORE, a silent STORE still reports MODSEQ.
                if silent && !condstore {
                    continue;
                }
                let Some(seq) = sel.seq_of(update.uid) else {
                    continue;
                };
                let mut items = Vec::new();
                if !silent {
                    items.push(FetchData::Flags(to_imap(&update.flags)));
                }
                if uid_mode {
                    items.extend(NonZeroU32::new(update.uid.get()).map(FetchData::Uid));
                }
                if condstore {
                    items.extend(modseq(update.modseq).map(FetchData::ModSeq));
                }
                if let Ok(items) = NonEmpty::try_from(items) {
                    out.push(Data::Fetch { seq, items });
                }
            }
        }
        for data in out {
            self.data(data);
        }
        if outcome.modified.is_empty() {
            return Reply::ok("STORE completed");
        }
        // RFC 7162 §3.1.3: [MODIFIED set] lists the messages UNCHANGEDSINCE kept as they were.
        let modified: Vec<_> = if uid_mode {
            outcome.modified.clone()
        } else {
            let sel = self.selected.as_ref();
            let mut seqs: Vec<_> = outcome
                .modified
                .iter()
                .filter_map(|u| sel.and_then(|s| s.seq_of(*u)))
                .filter_map(|s| maildir_store::Uid::new(s.get()))
                .collect();
            seqs.sort_unstable();
            seqs
        };
        match uid_set(&modified) {
            Some(set) => Reply::ok("Conditional STORE failed for some messages")
                .with_code(Code::Modified(set)),
            None => Reply::ok("STORE completed"),
        }
    }
}
