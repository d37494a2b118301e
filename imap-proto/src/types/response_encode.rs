//! The wire form of responses.

use crate::{
    encode::{Encode, Encoded, Encoder},
    keywords::name_of,
    types::{
        fetch::encode_part,
        response::{
            BinaryData, Code, Continuation, Data, ESearchItem, FetchData, Greeting, GreetingKind,
            ListExtendedItem, ListItem, NamespaceEntry, Response, ResponseText, SimpleCode,
            StatusKind, Tagged, TaggedExtComp, TaggedExtSimple, TaggedExtValue,
        },
    },
};

impl Encode for Code {
    fn encode(&self, e: &mut Encoder) {
        match self {
            Code::Simple(code) => {
                e.bytes(name_of(&SimpleCode::ALL, code).as_bytes());
            }
            Code::BadCharset(charsets) => {
                e.bytes(b"BADCHARSET");
                if !charsets.is_empty() {
                    e.sp().paren_list(charsets);
                }
            }
            Code::Capability(caps) => {
                e.bytes(b"CAPABILITY");
                for cap in caps.iter() {
                    e.sp().value(cap);
                }
            }
            Code::PermanentFlags(flags) => {
                e.bytes(b"PERMANENTFLAGS ").paren_list(flags);
            }
            Code::UidNext(n) => {
                e.bytes(b"UIDNEXT ").number(n.get());
            }
            Code::UidValidity(n) => {
                e.bytes(b"UIDVALIDITY ").number(n.get());
            }
            Code::Unseen(n) => {
                e.bytes(b"UNSEEN ").number(n.get());
            }
            Code::AppendUid { uid_validity, uids } => {
                e.bytes(b"APPENDUID ")
                    .number(uid_validity.get())
                    .sp()
                    .value(uids);
            }
            Code::CopyUid {
                uid_validity,
                source,
                destination,
            } => {
                e.bytes(b"COPYUID ")
                    .number(uid_validity.get())
                    .sp()
                    .value(source)
                    .sp()
                    .value(destination);
            }
            Code::HighestModSeq(n) => {
                e.bytes(b"HIGHESTMODSEQ ").value(n);
            }
            Code::Modified(set) => {
                e.bytes(b"MODIFIED ").value(set);
            }
            Code::Other(other) => {
                e.value(other.name());
                if let Some(arguments) = other.arguments() {
                    e.sp().bytes(arguments.as_bytes());
                }
            }
        }
    }
}

impl Encode for ResponseText {
    fn encode(&self, e: &mut Encoder) {
        if let Some(code) = &self.code {
            e.bytes(b" [").value(code).bytes(b"]");
        }
        if !self.text.as_str().is_empty() {
            e.sp().bytes(self.text.as_str().as_bytes());
        }
    }
}

fn status_kind(kind: StatusKind) -> &'static [u8] {
    match kind {
        StatusKind::Ok => b"OK",
        StatusKind::No => b"NO",
        StatusKind::Bad => b"BAD",
    }
}

fn delimiter(e: &mut Encoder, delimiter: Option<char>) {
    match delimiter {
        None => {
            e.bytes(b"NIL");
        }
        Some(c @ ('"' | '\\')) => {
            e.bytes(b"\"\\").bytes(&[c as u8]).bytes(b"\"");
        }
        Some(c) => {
            let mut buf = [0; 4];
            e.bytes(b"\"")
                .bytes(c.encode_utf8(&mut buf).as_bytes())
                .bytes(b"\"");
        }
    }
}

impl Encode for ListItem {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(b"(");
        e.join(&self.attributes, b" ", |a, e| {
            e.bytes(b"\\").value(a);
        });
        e.bytes(b") ");
        delimiter(e, self.delimiter);
        e.sp().value(&self.mailbox);
        if !self.extended.is_empty() {
            e.bytes(b" (");
            e.join(&self.extended, b" ", |item, e| match item {
                ListExtendedItem::ChildInfo(infos) => {
                    e.bytes(b"\"CHILDINFO\" ").paren_list(infos);
                }
                ListExtendedItem::OldName(mailbox) => {
                    e.bytes(b"\"OLDNAME\" (").value(mailbox).bytes(b")");
                }
                ListExtendedItem::Other { tag, value } => {
                    e.value(tag).sp().value(value);
                }
            });
            e.bytes(b")");
        }
    }
}

impl Encode for ESearchItem {
    fn encode(&self, e: &mut Encoder) {
        match self {
            ESearchItem::Min(n) => e.bytes(b"MIN ").number(n.get()),
            ESearchItem::Max(n) => e.bytes(b"MAX ").number(n.get()),
            ESearchItem::All(set) => e.bytes(b"ALL ").value(set),
            ESearchItem::Count(n) => e.bytes(b"COUNT ").number(*n),
            ESearchItem::ModSeq(n) => e.bytes(b"MODSEQ ").value(n),
        };
    }
}

fn namespaces(e: &mut Encoder, entries: &[NamespaceEntry]) {
    if entries.is_empty() {
        e.bytes(b"NIL");
        return;
    }
    e.bytes(b"(");
    for entry in entries {
        e.bytes(b"(").value(&entry.prefix).sp();
        delimiter(e, entry.delimiter);
        e.bytes(b")");
    }
    e.bytes(b")");
}

impl Encode for FetchData {
    fn encode(&self, e: &mut Encoder) {
        match self {
            FetchData::Flags(flags) => {
                e.bytes(b"FLAGS ").paren_list(flags);
            }
            FetchData::Envelope(env) => {
                e.bytes(b"ENVELOPE ").value(env.as_ref());
            }
            FetchData::InternalDate(dt) => {
                e.bytes(b"INTERNALDATE ").value(dt);
            }
            FetchData::Rfc822Size(n) => {
                e.bytes(b"RFC822.SIZE ").value(n);
            }
            FetchData::Rfc822(s) => {
                e.bytes(b"RFC822 ").value(s);
            }
            FetchData::Rfc822Header(s) => {
                e.bytes(b"RFC822.HEADER ").value(s);
            }
            FetchData::Rfc822Text(s) => {
                e.bytes(b"RFC822.TEXT ").value(s);
            }
            FetchData::Body(b) => {
                e.bytes(b"BODY ").value(b.as_ref());
            }
            FetchData::BodyStructure(b) => {
                e.bytes(b"BODYSTRUCTURE ").value(b.as_ref());
            }
            FetchData::BodySection {
                section,
                origin,
                data,
            } => {
                e.bytes(b"BODY").value(section);
                if let Some(origin) = origin {
                    e.bytes(b"<").value(origin).bytes(b">");
                }
                e.sp().value(data);
            }
            FetchData::Binary { part, data } => {
                e.bytes(b"BINARY[");
                encode_part(part, e);
                e.bytes(b"] ");
                match data {
                    None => e.bytes(b"NIL"),
                    Some(BinaryData::String(s)) => e.value(s),
                    Some(BinaryData::Literal8(l)) => e.value(l),
                };
            }
            FetchData::BinarySize { part, size } => {
                e.bytes(b"BINARY.SIZE[");
                encode_part(part, e);
                e.bytes(b"] ").value(size);
            }
            FetchData::Uid(n) => {
                e.bytes(b"UID ").number(n.get());
            }
            FetchData::ModSeq(n) => {
                e.bytes(b"MODSEQ (").value(n).bytes(b")");
            }
        }
    }
}

fn atoms(e: &mut Encoder, keyword: &[u8], items: &[crate::types::core::Atom]) {
    e.bytes(keyword);
    for item in items {
        e.sp().value(item);
    }
}

impl Encode for Data {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(b"* ");
        match self {
            Data::Status { kind, text } => {
                e.bytes(status_kind(*kind)).value(text);
            }
            Data::Bye(text) => {
                e.bytes(b"BYE").value(text);
            }
            Data::Capability(caps) => atoms(e, b"CAPABILITY", caps),
            Data::Enabled(caps) => atoms(e, b"ENABLED", caps),
            Data::List(item) => {
                e.bytes(b"LIST ").value(item);
            }
            Data::Lsub(item) => {
                e.bytes(b"LSUB ").value(item);
            }
            Data::MailboxStatus { mailbox, items } => {
                e.bytes(b"STATUS ").value(mailbox).bytes(b" (");
                e.join(items, b" ", |(item, value), e| {
                    e.value(item).sp().value(value);
                });
                e.bytes(b")");
            }
            Data::Search { numbers, mod_seq } => {
                e.bytes(b"SEARCH");
                for n in numbers {
                    e.sp().number(n.get());
                }
                if let Some(m) = mod_seq {
                    e.bytes(b" (MODSEQ ").value(m).bytes(b")");
                }
            }
            Data::ESearch { tag, uid, items } => {
                e.bytes(b"ESEARCH");
                if let Some(tag) = tag {
                    // `search-correlator = SP "(" "TAG" SP tag-string ")"`; a tag is always
                    // a valid quoted string.
                    e.bytes(b" (TAG \"").value(tag).bytes(b"\")");
                }
                if *uid {
                    e.bytes(b" UID");
                }
                for item in items {
                    e.sp().value(item);
                }
            }
            Data::Flags(flags) => {
                e.bytes(b"FLAGS ").paren_list(flags);
            }
            Data::Exists(n) => {
                e.number(*n).bytes(b" EXISTS");
            }
            Data::Recent(n) => {
                e.number(*n).bytes(b" RECENT");
            }
            Data::Expunge(n) => {
                e.number(n.get()).bytes(b" EXPUNGE");
            }
            Data::Fetch { seq, items } => {
                e.number(seq.get()).bytes(b" FETCH ").paren_list(items);
            }
            Data::Vanished { earlier, uids } => {
                e.bytes(if *earlier {
                    b"VANISHED (EARLIER) ".as_slice()
                } else {
                    b"VANISHED "
                })
                .value(uids);
            }
            Data::Namespace {
                personal,
                other,
                shared,
            } => {
                e.bytes(b"NAMESPACE ");
                namespaces(e, personal);
                e.sp();
                namespaces(e, other);
                e.sp();
                namespaces(e, shared);
            }
            Data::Id(fields) => super::command_encode::encode_id(e, fields.as_deref()),
            Data::Sort(numbers) => {
                e.bytes(b"SORT");
                for n in numbers {
                    e.sp().number(n.get());
                }
            }
            Data::Thread(threads) => {
                e.bytes(b"THREAD");
                if !threads.is_empty() {
                    e.sp();
                    for thread in threads {
                        thread.encode(e);
                    }
                }
            }
            Data::Quota { root, resources } => {
                e.bytes(b"QUOTA ").value(root).sp().paren_list(resources);
            }
            Data::QuotaRoot { mailbox, roots } => {
                e.bytes(b"QUOTAROOT ").value(mailbox);
                for root in roots {
                    e.sp().value(root);
                }
            }
        }
    }
}

impl Encode for Continuation {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(b"+");
        match self {
            Continuation::Text(text) => {
                // RFC 3501 requires "+" SP; with neither code nor text the space still goes.
                if text.code.is_none() && text.text.as_str().is_empty() {
                    e.sp();
                }
                text.encode(e);
            }
            Continuation::Base64(data) => {
                e.sp().bytes(data.as_str().as_bytes());
            }
        }
    }
}

impl Greeting {
    /// The wire form.
    pub fn encode(&self) -> Encoded {
        let mut e = Encoder::new();
        e.bytes(match self.kind {
            GreetingKind::Ok => b"* OK".as_slice(),
            GreetingKind::PreAuth => b"* PREAUTH",
            GreetingKind::Bye => b"* BYE",
        })
        .value(&self.text)
        .crlf();
        e.finish()
    }
}

impl Response {
    /// The wire form. Literals in responses need no continuation, so the fragments only
    /// mark where literal data lies (useful for streaming large bodies).
    pub fn encode(&self) -> Encoded {
        self.encode_in(false)
    }

    /// The wire form in a session where UTF8=ACCEPT (RFC 6855) is enabled (`utf8_accept`):
    /// mailbox names are sent as UTF-8 instead of modified UTF-7.
    pub fn encode_in(&self, utf8_accept: bool) -> Encoded {
        let mut e = Encoder::in_dialect(utf8_accept);
        match self {
            Response::Tagged(Tagged { tag, kind, text }) => {
                e.value(tag).sp().bytes(status_kind(*kind)).value(text);
            }
            Response::Data(data) => data.encode(&mut e),
            Response::Continuation(c) => c.encode(&mut e),
        }
        e.crlf();
        e.finish()
    }
}

impl Encode for TaggedExtValue {
    fn encode(&self, e: &mut Encoder) {
        match self {
            TaggedExtValue::Simple(TaggedExtSimple::Number(n)) => {
                e.value(n);
            }
            TaggedExtValue::Simple(TaggedExtSimple::Set(set)) => {
                e.value(set);
            }
            TaggedExtValue::Comp(items) => {
                e.paren_list(items);
            }
        }
    }
}

impl Encode for TaggedExtComp {
    fn encode(&self, e: &mut Encoder) {
        match self {
            TaggedExtComp::String(s) => {
                e.value(s);
            }
            TaggedExtComp::List(items) => {
                e.paren_list(items);
            }
        }
    }
}
