//! Client commands (RFC 3501 §6, RFC 9051 §6, and the extensions in the crate docs).

use std::num::NonZeroU32;

use crate::{
    encode::{Encode, Encoded, Encoder},
    error::ValidationError,
    types::{
        core::{AString, Atom, IString, Literal, Literal8, NString, Number64, NzNumber64, Tag},
        datetime::DateTime,
        fetch::FetchItems,
        flag::Flag,
        mailbox::Mailbox,
        non_empty::NonEmpty,
        quota::QuotaLimit,
        search::{SearchKey, SearchReturnOption},
        secret::Secret,
        sequence::SequenceSet,
        sort::{SortCriterion, ThreadAlgorithm},
        status::StatusItem,
    },
};

/// `command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The client's tag; the server's completion response repeats it.
    pub tag: Tag,
    /// What the client asks for.
    pub body: CommandBody,
}

impl Command {
    /// A command.
    pub fn new(tag: Tag, body: CommandBody) -> Self {
        Self { tag, body }
    }

    /// The wire form, as fragments: wait for `+` before each synchronizing literal.
    pub fn encode(&self) -> Encoded {
        self.encode_in(false)
    }

    /// The wire form in a session where UTF8=ACCEPT (RFC 6855) is enabled (`utf8_accept`):
    /// mailbox names are sent as UTF-8 instead of modified UTF-7.
    pub fn encode_in(&self, utf8_accept: bool) -> Encoded {
        let mut e = Encoder::in_dialect(utf8_accept);
        self.tag.encode(&mut e);
        e.sp();
        self.body.encode(&mut e);
        e.crlf();
        e.finish()
    }
}

/// Whether a STORE replaces, adds or removes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreKind {
    /// `FLAGS`
    Replace,
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
}

/// `SASL-IR` initial response or AUTHENTICATE continuation data: base64 text, kept as sent
/// (the SASL mechanism decodes it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Base64(String);

impl Base64 {
    /// Checks `base64 = *(4base64-char) [base64-terminal]`.
    pub fn validate(text: &str) -> Result<(), ValidationError> {
        let bytes = text.as_bytes();
        let body = bytes
            .strip_suffix(b"==")
            .or_else(|| bytes.strip_suffix(b"="))
            .unwrap_or(bytes);
        let is_base64_char = |c: &u8| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/';
        if !bytes.len().is_multiple_of(4) || !body.iter().all(is_base64_char) {
            return Err(ValidationError::InvalidBase64);
        }
        Ok(())
    }

    /// The base64 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn unvalidated(text: &str) -> Self {
        Self(text.to_owned())
    }
}

impl TryFrom<&str> for Base64 {
    type Error = ValidationError;

    fn try_from(text: &str) -> Result<Self, Self::Error> {
        Self::validate(text)?;
        Ok(Self(text.to_owned()))
    }
}

/// A SELECT or EXAMINE parameter (RFC 7162).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SelectParameter {
    /// `CONDSTORE`
    CondStore,
    /// `QRESYNC (uidvalidity modseq [known-uids [seq-match-data]])`
    QResync {
        /// The UIDVALIDITY the client knows.
        uid_validity: NonZeroU32,
        /// The highest MODSEQ the client knows.
        mod_seq: NzNumber64,
        /// `known-uids`: UIDs the client knows.
        known_uids: Option<SequenceSet>,
        /// `seq-match-data = "(" known-sequence-set SP known-uid-set ")"`
        seq_match: Option<(SequenceSet, SequenceSet)>,
    },
}

/// `list-select-opt` (RFC 5258, RFC 6154).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListSelectOption {
    /// `SUBSCRIBED`
    Subscribed,
    /// `REMOTE`
    Remote,
    /// `RECURSIVEMATCH`
    RecursiveMatch,
    /// `SPECIAL-USE`
    SpecialUse,
}

/// `return-option` of LIST (RFC 5258, RFC 5819, RFC 6154).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListReturnOption {
    /// `SUBSCRIBED`
    Subscribed,
    /// `CHILDREN`
    Children,
    /// `SPECIAL-USE`
    SpecialUse,
    /// `STATUS (…)` (LIST-STATUS)
    Status(NonEmpty<StatusItem>),
}

/// A LIST pattern (`list-mailbox`), kept as wire bytes: `%` and `*` are wildcards, and the
/// server matches it against encoded names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListPattern(Vec<u8>);

impl ListPattern {
    /// A pattern; NUL is refused.
    pub fn new(bytes: Vec<u8>) -> Result<Self, ValidationError> {
        match bytes.iter().position(|b| *b == 0) {
            Some(position) => Err(ValidationError::InvalidByte { byte: 0, position }),
            None => Ok(Self(bytes)),
        }
    }

    /// The pattern bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Encode for ListPattern {
    fn encode(&self, e: &mut Encoder) {
        if !self.0.is_empty() && self.0.iter().all(|b| crate::chars::is_list_char(*b)) {
            e.bytes(&self.0);
        } else {
            // Without NUL the bytes fit a quoted string or a literal.
            if let Ok(s) = IString::from_bytes(&self.0) {
                s.encode(e);
            }
        }
    }
}

/// The message of an APPEND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendData {
    /// `literal`
    Literal(Literal),
    /// `literal8` (RFC 3516 BINARY)
    Binary(Literal8),
    /// `"UTF8" SP "(" literal8 ")"` (RFC 6855 UTF8=ACCEPT): a message with UTF-8 headers.
    Utf8(Literal8),
}

/// `append-message = append-opts SP append-data` (RFC 3502 MULTIAPPEND).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    /// Flags to set on the new message.
    pub flags: Option<Vec<Flag>>,
    /// The internal date to give it.
    pub date: Option<DateTime>,
    /// The message itself.
    pub data: AppendData,
}

/// The command name and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandBody {
    /// `CAPABILITY`
    Capability,
    /// `NOOP`
    Noop,
    /// `LOGOUT`
    Logout,
    /// `STARTTLS`
    StartTls,
    /// `AUTHENTICATE mechanism [initial-response]` (RFC 4959 SASL-IR)
    Authenticate {
        /// The SASL mechanism, e.g. `PLAIN`.
        mechanism: Atom,
        /// `Some(empty)` is sent as `=`.
        initial_response: Option<Secret<Base64>>,
    },
    /// `LOGIN userid password`
    Login {
        /// The user name.
        username: AString,
        /// The password.
        password: Secret<AString>,
    },
    /// `ENABLE capability…` (RFC 5161)
    Enable(NonEmpty<Atom>),
    /// `SELECT mailbox [(params)]`
    Select {
        /// The mailbox.
        mailbox: Mailbox,
        /// RFC 7162 parameters.
        parameters: Vec<SelectParameter>,
    },
    /// `EXAMINE mailbox [(params)]`
    Examine {
        /// The mailbox.
        mailbox: Mailbox,
        /// RFC 7162 parameters.
        parameters: Vec<SelectParameter>,
    },
    /// `CREATE mailbox [(USE (…))]` (RFC 6154 CREATE-SPECIAL-USE)
    Create {
        /// The mailbox.
        mailbox: Mailbox,
        /// Special-use attributes, without the backslash.
        special_use: Option<Vec<Atom>>,
    },
    /// `DELETE mailbox`
    Delete(Mailbox),
    /// `RENAME from to`
    Rename {
        /// The existing name.
        from: Mailbox,
        /// The new name.
        to: Mailbox,
    },
    /// `SUBSCRIBE mailbox`
    Subscribe(Mailbox),
    /// `UNSUBSCRIBE mailbox`
    Unsubscribe(Mailbox),
    /// `LIST [(select-opts)] reference patterns [RETURN (return-opts)]`
    List {
        /// RFC 5258 selection options; empty for a basic LIST.
        selection: Vec<ListSelectOption>,
        /// The reference name.
        reference: Mailbox,
        /// One pattern, or several in parentheses (RFC 5258).
        patterns: NonEmpty<ListPattern>,
        /// RFC 5258 return options; `None` when no `RETURN` was sent.
        return_options: Option<Vec<ListReturnOption>>,
    },
    /// `LSUB reference pattern` (RFC 3501)
    Lsub {
        /// The reference name.
        reference: Mailbox,
        /// The pattern.
        pattern: ListPattern,
    },
    /// `NAMESPACE` (RFC 2342)
    Namespace,
    /// `STATUS mailbox (items)`
    Status {
        /// The mailbox.
        mailbox: Mailbox,
        /// What to report.
        items: NonEmpty<StatusItem>,
    },
    /// `APPEND mailbox message…` (RFC 3502 allows several messages)
    Append {
        /// The mailbox.
        mailbox: Mailbox,
        /// The messages.
        messages: NonEmpty<AppendMessage>,
    },
    /// `IDLE` (RFC 2177); the client ends it with `DONE`.
    Idle,
    /// `CHECK` (RFC 3501)
    Check,
    /// `CLOSE`
    Close,
    /// `UNSELECT` (RFC 3691)
    Unselect,
    /// `EXPUNGE`
    Expunge,
    /// `UID EXPUNGE set` (RFC 4315)
    UidExpunge(SequenceSet),
    /// `[UID] SEARCH [RETURN (…)] [CHARSET x] key…`
    Search {
        /// UID SEARCH.
        uid: bool,
        /// RFC 4731 return options; `None` when no `RETURN` was sent.
        return_options: Option<Vec<SearchReturnOption>>,
        /// The charset of string arguments.
        charset: Option<AString>,
        /// All must match.
        criteria: NonEmpty<SearchKey>,
    },
    /// `[UID] FETCH set items [(CHANGEDSINCE n [VANISHED])]`
    Fetch {
        /// UID FETCH.
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// Which data.
        items: FetchItems,
        /// RFC 7162 `CHANGEDSINCE`.
        changed_since: Option<NzNumber64>,
        /// RFC 7162 `VANISHED` (UID FETCH with CHANGEDSINCE only).
        vanished: bool,
    },
    /// `[UID] STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags`
    Store {
        /// UID STORE.
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// RFC 7162 `UNCHANGEDSINCE`.
        unchanged_since: Option<Number64>,
        /// Replace, add or remove.
        kind: StoreKind,
        /// `.SILENT`: no untagged FETCH in reply.
        silent: bool,
        /// The flags.
        flags: Vec<Flag>,
    },
    /// `[UID] COPY set mailbox`
    Copy {
        /// UID COPY.
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// Where to.
        mailbox: Mailbox,
    },
    /// `[UID] MOVE set mailbox` (RFC 6851)
    Move {
        /// UID MOVE.
        uid: bool,
        /// Which messages.
        set: SequenceSet,
        /// Where to.
        mailbox: Mailbox,
    },
    /// `ID (field value …)` or `ID NIL` (RFC 2971)
    Id(Option<Vec<(IString, NString)>>),
    /// `UNAUTHENTICATE` (RFC 8437)
    Unauthenticate,
    /// `COMPRESS algorithm` (RFC 4978); the deflate stream itself belongs to the IO layer.
    Compress(Atom),
    /// `[UID] SORT (criteria) charset key…` (RFC 5256)
    Sort {
        /// UID SORT.
        uid: bool,
        /// Sort order, most significant first.
        criteria: NonEmpty<SortCriterion>,
        /// The charset of string arguments (required by SORT).
        charset: AString,
        /// All must match.
        search: NonEmpty<SearchKey>,
    },
    /// `[UID] THREAD algorithm charset key…` (RFC 5256)
    Thread {
        /// UID THREAD.
        uid: bool,
        /// How to build threads.
        algorithm: ThreadAlgorithm,
        /// The charset of string arguments.
        charset: AString,
        /// All must match.
        search: NonEmpty<SearchKey>,
    },
    /// `GETQUOTA quota-root` (RFC 9208)
    GetQuota(AString),
    /// `GETQUOTAROOT mailbox` (RFC 9208)
    GetQuotaRoot(Mailbox),
    /// `SETQUOTA quota-root (resource limit …)` (RFC 9208)
    SetQuota {
        /// The quota root.
        root: AString,
        /// New limits.
        limits: Vec<QuotaLimit>,
    },
}

impl CommandBody {
    /// The command's name as sent, for logs and for BAD responses.
    pub fn name(&self) -> &'static str {
        match self {
            CommandBody::Capability => "CAPABILITY",
            CommandBody::Noop => "NOOP",
            CommandBody::Logout => "LOGOUT",
            CommandBody::StartTls => "STARTTLS",
            CommandBody::Authenticate { .. } => "AUTHENTICATE",
            CommandBody::Login { .. } => "LOGIN",
            CommandBody::Enable(_) => "ENABLE",
            CommandBody::Select { .. } => "SELECT",
            CommandBody::Examine { .. } => "EXAMINE",
            CommandBody::Create { .. } => "CREATE",
            CommandBody::Delete(_) => "DELETE",
            CommandBody::Rename { .. } => "RENAME",
            CommandBody::Subscribe(_) => "SUBSCRIBE",
            CommandBody::Unsubscribe(_) => "UNSUBSCRIBE",
            CommandBody::List { .. } => "LIST",
            CommandBody::Lsub { .. } => "LSUB",
            CommandBody::Namespace => "NAMESPACE",
            CommandBody::Status { .. } => "STATUS",
            CommandBody::Append { .. } => "APPEND",
            CommandBody::Idle => "IDLE",
            CommandBody::Check => "CHECK",
            CommandBody::Close => "CLOSE",
            CommandBody::Unselect => "UNSELECT",
            CommandBody::Expunge => "EXPUNGE",
            CommandBody::UidExpunge(_) => "UID EXPUNGE",
            CommandBody::Search { .. } => "SEARCH",
            CommandBody::Fetch { .. } => "FETCH",
            CommandBody::Store { .. } => "STORE",
            CommandBody::Copy { .. } => "COPY",
            CommandBody::Move { .. } => "MOVE",
            CommandBody::Id(_) => "ID",
            CommandBody::Unauthenticate => "UNAUTHENTICATE",
            CommandBody::Compress(_) => "COMPRESS",
            CommandBody::Sort { .. } => "SORT",
            CommandBody::Thread { .. } => "THREAD",
            CommandBody::GetQuota(_) => "GETQUOTA",
            CommandBody::GetQuotaRoot(_) => "GETQUOTAROOT",
            CommandBody::SetQuota { .. } => "SETQUOTA",
        }
    }
}
