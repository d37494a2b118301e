//! SEARCH keys (RFC 3501 §6.4.4, RFC 9051 §6.4.4) and ESEARCH return options (RFC 4731).

use crate::{
    encode::{Encode, Encoder},
    types::{
        core::{AString, Atom, Number64},
        datetime::Date,
        non_empty::NonEmpty,
        sequence::SequenceSet,
    },
};

/// `search-key`. Keys that RFC 9051 dropped (`NEW`, `OLD`, `RECENT`) are kept for RFC 3501
/// clients.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // Each variant is the search key of the same name.
pub enum SearchKey {
    All,
    Answered,
    Bcc(AString),
    Before(Date),
    Body(AString),
    Cc(AString),
    Deleted,
    Draft,
    Flagged,
    From(AString),
    Header(AString, AString),
    Keyword(Atom),
    Larger(Number64),
    New,
    Not(Box<SearchKey>),
    Old,
    On(Date),
    Or(Box<SearchKey>, Box<SearchKey>),
    Recent,
    Seen,
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    Since(Date),
    Smaller(Number64),
    Subject(AString),
    Text(AString),
    To(AString),
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(Atom),
    Unseen,
    /// A bare `sequence-set`: message sequence numbers.
    SequenceSet(SequenceSet),
    /// `"(" search-key *(SP search-key) ")"`: all must match.
    And(NonEmpty<SearchKey>),
    /// `MODSEQ [entry-name entry-type-req] mod-sequence-valzer` (RFC 7162 §3.1.5)
    ModSeq {
        /// Restricts the comparison to one flag's mod-sequence.
        entry: Option<ModSeqEntry>,
        /// Messages with a mod-sequence at least this high match.
        value: Number64,
    },
}

/// `entry-type-req = "priv" / "shared" / "all"`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryType {
    /// `priv`
    Private,
    /// `shared`
    Shared,
    /// `all`
    All,
}

/// `entry-name SP entry-type-req`, with `entry-flag-name = DQUOTE "/flags/" attr-flag DQUOTE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModSeqEntry {
    /// The flag whose mod-sequence is compared.
    pub flag: crate::types::flag::Flag,
    /// Private, shared or both.
    pub kind: EntryType,
}

impl Encode for ModSeqEntry {
    fn encode(&self, e: &mut Encoder) {
        let mut name = b"/flags/".to_vec();
        let mut flag = Encoder::new();
        self.flag.encode(&mut flag);
        name.extend(flag.finish().dump());
        // A flag is ASCII without CR or LF, so it always fits a quoted string.
        if let Ok(quoted) = std::str::from_utf8(&name).map(crate::types::core::Quoted::try_from)
            && let Ok(quoted) = quoted
        {
            quoted.encode(e);
        }
        e.bytes(match self.kind {
            EntryType::Private => b" priv".as_slice(),
            EntryType::Shared => b" shared",
            EntryType::All => b" all",
        });
    }
}

impl SearchKey {
    /// Keys without arguments and their names.
    pub(crate) const FLAGS: [(SearchKey, &'static str); 14] = [
        (SearchKey::All, "ALL"),
        (SearchKey::Answered, "ANSWERED"),
        (SearchKey::Deleted, "DELETED"),
        (SearchKey::Draft, "DRAFT"),
        (SearchKey::Flagged, "FLAGGED"),
        (SearchKey::New, "NEW"),
        (SearchKey::Old, "OLD"),
        (SearchKey::Recent, "RECENT"),
        (SearchKey::Seen, "SEEN"),
        (SearchKey::Unanswered, "UNANSWERED"),
        (SearchKey::Undeleted, "UNDELETED"),
        (SearchKey::Undraft, "UNDRAFT"),
        (SearchKey::Unflagged, "UNFLAGGED"),
        (SearchKey::Unseen, "UNSEEN"),
    ];
}

impl Encode for SearchKey {
    fn encode(&self, e: &mut Encoder) {
        let mut kw_astring = |kw: &[u8], value: &AString| {
            e.bytes(kw).sp().value(value);
        };
        match self {
            SearchKey::Bcc(v) => kw_astring(b"BCC", v),
            SearchKey::Body(v) => kw_astring(b"BODY", v),
            SearchKey::Cc(v) => kw_astring(b"CC", v),
            SearchKey::From(v) => kw_astring(b"FROM", v),
            SearchKey::Subject(v) => kw_astring(b"SUBJECT", v),
            SearchKey::Text(v) => kw_astring(b"TEXT", v),
            SearchKey::To(v) => kw_astring(b"TO", v),
            SearchKey::Before(d) => date_key(e, b"BEFORE", d),
            SearchKey::On(d) => date_key(e, b"ON", d),
            SearchKey::SentBefore(d) => date_key(e, b"SENTBEFORE", d),
            SearchKey::SentOn(d) => date_key(e, b"SENTON", d),
            SearchKey::SentSince(d) => date_key(e, b"SENTSINCE", d),
            SearchKey::Since(d) => date_key(e, b"SINCE", d),
            SearchKey::Header(name, value) => {
                e.bytes(b"HEADER ").value(name).sp().value(value);
            }
            SearchKey::Keyword(k) => {
                e.bytes(b"KEYWORD ").value(k);
            }
            SearchKey::Unkeyword(k) => {
                e.bytes(b"UNKEYWORD ").value(k);
            }
            SearchKey::Larger(n) => {
                e.bytes(b"LARGER ").value(n);
            }
            SearchKey::Smaller(n) => {
                e.bytes(b"SMALLER ").value(n);
            }
            SearchKey::ModSeq { entry, value } => {
                e.bytes(b"MODSEQ ");
                if let Some(entry) = entry {
                    e.value(entry).sp();
                }
                e.value(value);
            }
            SearchKey::Not(key) => {
                e.bytes(b"NOT ").value(key.as_ref());
            }
            SearchKey::Or(a, b) => {
                e.bytes(b"OR ").value(a.as_ref()).sp().value(b.as_ref());
            }
            SearchKey::Uid(set) => {
                e.bytes(b"UID ").value(set);
            }
            SearchKey::SequenceSet(set) => set.encode(e),
            SearchKey::And(keys) => {
                e.paren_list(keys);
            }
            flag => {
                e.bytes(crate::keywords::name_of(&Self::FLAGS, flag).as_bytes());
            }
        }
    }
}

fn date_key(e: &mut Encoder, kw: &[u8], date: &Date) {
    e.bytes(kw).sp().value(date);
}

/// `search-return-opt` (RFC 4731 ESEARCH, RFC 5182 SEARCHRES).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchReturnOption {
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `ALL`
    All,
    /// `COUNT`
    Count,
    /// `SAVE`
    Save,
}

impl SearchReturnOption {
    pub(crate) const ALL: [(SearchReturnOption, &'static str); 5] = [
        (SearchReturnOption::Min, "MIN"),
        (SearchReturnOption::Max, "MAX"),
        (SearchReturnOption::All, "ALL"),
        (SearchReturnOption::Count, "COUNT"),
        (SearchReturnOption::Save, "SAVE"),
    ];
}

impl Encode for SearchReturnOption {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(crate::keywords::name_of(&Self::ALL, self).as_bytes());
    }
}
