//! The wire form of every command body.

use crate::{
    encode::{Encode, Encoder},
    types::{
        command::{
            AppendData, AppendMessage, Base64, CommandBody, ListReturnOption, ListSelectOption,
            SelectParameter, StoreKind,
        },
        core::{AString, IString, NString},
        mailbox::Mailbox,
        secret::Secret,
    },
};

impl Encode for Base64 {
    fn encode(&self, e: &mut Encoder) {
        // RFC 4959 (SASL-IR): an empty initial response is sent as "=", which is not base64.
        e.bytes(if self.as_str().is_empty() {
            b"="
        } else {
            self.as_str().as_bytes()
        });
    }
}

impl Encode for SelectParameter {
    fn encode(&self, e: &mut Encoder) {
        match self {
            SelectParameter::CondStore => {
                e.bytes(b"CONDSTORE");
            }
            SelectParameter::QResync {
                uid_validity,
                mod_seq,
                known_uids,
                seq_match,
            } => {
                e.bytes(b"QRESYNC (")
                    .number(uid_validity.get())
                    .sp()
                    .value(mod_seq);
                if let Some(uids) = known_uids {
                    e.sp().value(uids);
                }
                if let Some((seqs, uids)) = seq_match {
                    e.bytes(b" (").value(seqs).sp().value(uids).bytes(b")");
                }
                e.bytes(b")");
            }
        }
    }
}

impl Encode for ListSelectOption {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(match self {
            ListSelectOption::Subscribed => b"SUBSCRIBED".as_slice(),
            ListSelectOption::Remote => b"REMOTE",
            ListSelectOption::RecursiveMatch => b"RECURSIVEMATCH",
            ListSelectOption::SpecialUse => b"SPECIAL-USE",
        });
    }
}

impl Encode for ListReturnOption {
    fn encode(&self, e: &mut Encoder) {
        match self {
            ListReturnOption::Subscribed => {
                e.bytes(b"SUBSCRIBED");
            }
            ListReturnOption::Children => {
                e.bytes(b"CHILDREN");
            }
            ListReturnOption::SpecialUse => {
                e.bytes(b"SPECIAL-USE");
            }
            ListReturnOption::Status(items) => {
                e.bytes(b"STATUS ").paren_list(items);
            }
        }
    }
}

impl Encode for AppendMessage {
    fn encode(&self, e: &mut Encoder) {
        if let Some(flags) = &self.flags {
            e.paren_list(flags).sp();
        }
        if let Some(date) = &self.date {
            e.value(date).sp();
        }
        match &self.data {
            AppendData::Literal(l) => l.encode(e),
            AppendData::Binary(l) => l.encode(e),
            AppendData::Utf8(l) => {
                e.bytes(b"UTF8 (").value(l).bytes(b")");
            }
        }
    }
}

/// `"ID" SP id-params-list` (RFC 2971), the same in commands and responses.
pub(crate) fn encode_id(e: &mut Encoder, fields: Option<&[(IString, NString)]>) {
    let Some(fields) = fields else {
        e.bytes(b"ID NIL");
        return;
    };
    e.bytes(b"ID (");
    e.join(fields, b" ", |(name, value), e| {
        e.value(name).sp().value(value);
    });
    e.bytes(b")");
}

fn mailbox_arg(e: &mut Encoder, name: &str, mailbox: &Mailbox) {
    e.bytes(name.as_bytes()).sp().value(mailbox);
}

fn uid_prefix(e: &mut Encoder, uid: bool) {
    if uid {
        e.bytes(b"UID ");
    }
}

fn select_like(e: &mut Encoder, name: &str, mailbox: &Mailbox, parameters: &[SelectParameter]) {
    mailbox_arg(e, name, mailbox);
    if !parameters.is_empty() {
        e.sp().paren_list(parameters);
    }
}

fn secret_astring(e: &mut Encoder, value: &Secret<AString>) {
    value.declassify().encode(e);
}

impl Encode for CommandBody {
    fn encode(&self, e: &mut Encoder) {
        match self {
            CommandBody::Capability
            | CommandBody::Noop
            | CommandBody::Logout
            | CommandBody::StartTls
            | CommandBody::Namespace
            | CommandBody::Idle
            | CommandBody::Check
            | CommandBody::Close
            | CommandBody::Unselect
            | CommandBody::Expunge
            | CommandBody::Unauthenticate => {
                e.bytes(self.name().as_bytes());
            }
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            } => {
                e.bytes(b"AUTHENTICATE ").value(mechanism);
                if let Some(ir) = initial_response {
                    e.sp().value(ir.declassify());
                }
            }
            CommandBody::Login { username, password } => {
                e.bytes(b"LOGIN ").value(username).sp();
                secret_astring(e, password);
            }
            CommandBody::Enable(caps) => {
                e.bytes(b"ENABLE");
                for cap in caps.iter() {
                    e.sp().value(cap);
                }
            }
            CommandBody::Select {
                mailbox,
                parameters,
            } => select_like(e, "SELECT", mailbox, parameters),
            CommandBody::Examine {
                mailbox,
                parameters,
            } => select_like(e, "EXAMINE", mailbox, parameters),
            CommandBody::Create {
                mailbox,
                special_use,
            } => {
                mailbox_arg(e, "CREATE", mailbox);
                if let Some(uses) = special_use {
                    e.bytes(b" (USE (");
                    e.join(uses, b" ", |atom, e| {
                        e.bytes(b"\\").value(atom);
                    });
                    e.bytes(b"))");
                }
            }
            CommandBody::Delete(m) => mailbox_arg(e, "DELETE", m),
            CommandBody::Subscribe(m) => mailbox_arg(e, "SUBSCRIBE", m),
            CommandBody::Unsubscribe(m) => mailbox_arg(e, "UNSUBSCRIBE", m),
            CommandBody::Rename { from, to } => {
                mailbox_arg(e, "RENAME", from);
                e.sp().value(to);
            }
            CommandBody::List {
                selection,
                reference,
                patterns,
                return_options,
            } => {
                e.bytes(b"LIST ");
                if !selection.is_empty() {
                    e.paren_list(selection).sp();
                }
                e.value(reference).sp();
                if patterns.len() == 1 {
                    e.value(patterns.first());
                } else {
                    e.paren_list(patterns);
                }
                if let Some(options) = return_options {
                    e.bytes(b" RETURN ").paren_list(options);
                }
            }
            CommandBody::Lsub { reference, pattern } => {
                mailbox_arg(e, "LSUB", reference);
                e.sp().value(pattern);
            }
            CommandBody::Status { mailbox, items } => {
                mailbox_arg(e, "STATUS", mailbox);
                e.sp().paren_list(items);
            }
            CommandBody::Append { mailbox, messages } => {
                mailbox_arg(e, "APPEND", mailbox);
                for message in messages.iter() {
                    e.sp().value(message);
                }
            }
            CommandBody::UidExpunge(set) => {
                e.bytes(b"UID EXPUNGE ").value(set);
            }
            CommandBody::Search {
                uid,
                return_options,
                charset,
                criteria,
            } => {
                uid_prefix(e, *uid);
                e.bytes(b"SEARCH");
                if let Some(options) = return_options {
                    e.bytes(b" RETURN ").paren_list(options);
                }
                if let Some(charset) = charset {
                    e.bytes(b" CHARSET ").value(charset);
                }
                for key in criteria.iter() {
                    e.sp().value(key);
                }
            }
            CommandBody::Fetch {
                uid,
                set,
                items,
                changed_since,
                vanished,
            } => {
                uid_prefix(e, *uid);
                e.bytes(b"FETCH ").value(set).sp().value(items);
                if let Some(modseq) = changed_since {
                    e.bytes(b" (CHANGEDSINCE ").value(modseq);
                    if *vanished {
                        e.bytes(b" VANISHED");
                    }
                    e.bytes(b")");
                }
            }
            CommandBody::Store {
                uid,
                set,
                unchanged_since,
                kind,
                silent,
                flags,
            } => {
                uid_prefix(e, *uid);
                e.bytes(b"STORE ").value(set);
                if let Some(modseq) = unchanged_since {
                    e.bytes(b" (UNCHANGEDSINCE ").value(modseq).bytes(b")");
                }
                e.bytes(match kind {
                    StoreKind::Replace => b" FLAGS".as_slice(),
                    StoreKind::Add => b" +FLAGS",
                    StoreKind::Remove => b" -FLAGS",
                });
                if *silent {
                    e.bytes(b".SILENT");
                }
                e.sp().paren_list(flags);
            }
            CommandBody::Copy { uid, set, mailbox } => {
                uid_prefix(e, *uid);
                e.bytes(b"COPY ").value(set).sp().value(mailbox);
            }
            CommandBody::Move { uid, set, mailbox } => {
                uid_prefix(e, *uid);
                e.bytes(b"MOVE ").value(set).sp().value(mailbox);
            }
            CommandBody::Id(fields) => encode_id(e, fields.as_deref()),
            CommandBody::Compress(algorithm) => {
                e.bytes(b"COMPRESS ").value(algorithm);
            }
            CommandBody::Sort {
                uid,
                criteria,
                charset,
                search,
            } => {
                uid_prefix(e, *uid);
                e.bytes(b"SORT ").paren_list(criteria).sp().value(charset);
                for key in search.iter() {
                    e.sp().value(key);
                }
            }
            CommandBody::Thread {
                uid,
                algorithm,
                charset,
                search,
            } => {
                uid_prefix(e, *uid);
                e.bytes(b"THREAD ").value(algorithm).sp().value(charset);
                for key in search.iter() {
                    e.sp().value(key);
                }
            }
            CommandBody::GetQuota(root) => {
                e.bytes(b"GETQUOTA ").value(root);
            }
            CommandBody::GetQuotaRoot(mailbox) => mailbox_arg(e, "GETQUOTAROOT", mailbox),
            CommandBody::SetQuota { root, limits } => {
                e.bytes(b"SETQUOTA ").value(root).sp().paren_list(limits);
            }
        }
    }
}
