//! Server responses (RFC 3501 §7, RFC 9051 §7 and extensions).

use std::num::NonZeroU32;

use crate::{
    chars::is_text_char,
    error::ValidationError,
    types::{
        body::BodyStructure,
        command::Base64,
        core::{AString, Atom, IString, Literal8, NString, Number64, NzNumber64, Tag},
        datetime::DateTime,
        envelope::Envelope,
        fetch::Section,
        flag::{Flag, FlagFetch, FlagPerm},
        mailbox::Mailbox,
        non_empty::NonEmpty,
        quota::QuotaResource,
        sequence::SequenceSet,
        small_str::SmallStr,
        sort::Thread,
        status::StatusItem,
    },
};

/// `text = 1*TEXT-CHAR` (RFC 9051 also allows UTF-8): human-readable text after a status.
///
/// It may be empty (RFC 9051 makes it optional) and must not start with `[`, which would be
/// read back as a response code.
///
/// Held inline up to 22 bytes ("Completed", "UIDs valid"), so most status responses decode
/// without a heap allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text(SmallStr);

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Checks that `text` is valid: no NUL, CR or LF, no leading `[`, and no trailing `{n}`
    /// or `{n+}`, which a reader frames as a literal announcement.
    pub fn validate(text: &str) -> Result<(), ValidationError> {
        if crate::fragmentizer::ends_like_literal(text.as_bytes()).is_some() {
            return Err(ValidationError::InvalidByte {
                byte: b'}',
                position: text.len().saturating_sub(1),
            });
        }
        if text.starts_with('[') {
            return Err(ValidationError::InvalidByte {
                byte: b'[',
                position: 0,
            });
        }
        match text.bytes().position(|b| b.is_ascii() && !is_text_char(b)) {
            Some(position) => Err(ValidationError::InvalidByte {
                byte: text.as_bytes()[position],
                position,
            }),
            None => Ok(()),
        }
    }
}

impl TryFrom<&str> for Text {
    type Error = ValidationError;

    fn try_from(text: &str) -> Result<Self, ValidationError> {
        Self::validate(text)?;
        Ok(Self(SmallStr::new(text)))
    }
}

/// `resp-text-code`: machine-readable detail in a status response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// `ALERT`, `PARSE`, `READ-ONLY`, … and the RFC 5530 codes: codes without arguments.
    Simple(SimpleCode),
    /// `BADCHARSET [(charsets)]`
    BadCharset(Vec<AString>),
    /// `CAPABILITY …`
    Capability(NonEmpty<Atom>),
    /// `PERMANENTFLAGS (…)`
    PermanentFlags(Vec<FlagPerm>),
    /// `UIDNEXT n`
    UidNext(NonZeroU32),
    /// `UIDVALIDITY n`
    UidValidity(NonZeroU32),
    /// `UNSEEN n`
    Unseen(NonZeroU32),
    /// `APPENDUID uidvalidity uid-set` (RFC 4315)
    AppendUid {
        /// The mailbox's UIDVALIDITY.
        uid_validity: NonZeroU32,
        /// The UIDs of the appended messages.
        uids: SequenceSet,
    },
    /// `COPYUID uidvalidity source-uids destination-uids` (RFC 4315)
    CopyUid {
        /// The destination's UIDVALIDITY.
        uid_validity: NonZeroU32,
        /// UIDs in the source.
        source: SequenceSet,
        /// The matching UIDs in the destination.
        destination: SequenceSet,
    },
    /// `HIGHESTMODSEQ n` (RFC 7162)
    HighestModSeq(NzNumber64),
    /// `MODIFIED set` (RFC 7162)
    Modified(SequenceSet),
    /// Any other code: `atom [SP 1*<any TEXT-CHAR except "]">]`.
    Other(OtherCode),
}

/// A response code this crate has no variant for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OtherCode {
    name: Atom,
    arguments: Option<String>,
}

impl OtherCode {
    /// A code; refuses names that have their own [`Code`] variant (so each code has one
    /// value) and arguments holding `]`, CR, LF or NUL.
    pub fn new(name: Atom, arguments: Option<String>) -> Result<Self, ValidationError> {
        let known = [
            "BADCHARSET",
            "CAPABILITY",
            "PERMANENTFLAGS",
            "UIDNEXT",
            "UIDVALIDITY",
            "UNSEEN",
            "APPENDUID",
            "COPYUID",
            "HIGHESTMODSEQ",
            "MODIFIED",
        ];
        let upper = name.as_str().to_ascii_uppercase();
        if known.contains(&upper.as_str()) || SimpleCode::ALL.iter().any(|(_, n)| *n == upper) {
            return Err(ValidationError::Reserved);
        }
        if let Some(args) = &arguments {
            let bad = |b: u8| b == b']' || (b.is_ascii() && !is_text_char(b));
            if args.is_empty() {
                return Err(ValidationError::Empty);
            }
            if let Some(position) = args.bytes().position(bad) {
                return Err(ValidationError::InvalidByte {
                    byte: args.as_bytes()[position],
                    position,
                });
            }
        }
        Ok(Self { name, arguments })
    }

    /// The code's name.
    pub fn name(&self) -> &Atom {
        &self.name
    }

    /// Its arguments, if any.
    pub fn arguments(&self) -> Option<&str> {
        self.arguments.as_deref()
    }
}

/// Response codes without arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // Each variant is the code of the same name.
pub enum SimpleCode {
    Alert,
    Parse,
    ReadOnly,
    ReadWrite,
    TryCreate,
    UidNotSticky,
    NoModSeq,
    Closed,
    Unavailable,
    AuthenticationFailed,
    AuthorizationFailed,
    Expired,
    PrivacyRequired,
    ContactAdmin,
    NoPerm,
    InUse,
    ExpungeIssued,
    Corruption,
    ServerBug,
    ClientBug,
    Cannot,
    Limit,
    OverQuota,
    AlreadyExists,
    NonExistent,
    HasChildren,
    UnknownCte,
    TooBig,
    CompressionActive,
    NotSaved,
}

impl SimpleCode {
    pub(crate) const ALL: [(SimpleCode, &'static str); 30] = [
        (SimpleCode::Alert, "ALERT"),
        (SimpleCode::Parse, "PARSE"),
        (SimpleCode::ReadOnly, "READ-ONLY"),
        (SimpleCode::ReadWrite, "READ-WRITE"),
        (SimpleCode::TryCreate, "TRYCREATE"),
        (SimpleCode::UidNotSticky, "UIDNOTSTICKY"),
        (SimpleCode::NoModSeq, "NOMODSEQ"),
        (SimpleCode::Closed, "CLOSED"),
        (SimpleCode::Unavailable, "UNAVAILABLE"),
        (SimpleCode::AuthenticationFailed, "AUTHENTICATIONFAILED"),
        (SimpleCode::AuthorizationFailed, "AUTHORIZATIONFAILED"),
        (SimpleCode::Expired, "EXPIRED"),
        (SimpleCode::PrivacyRequired, "PRIVACYREQUIRED"),
        (SimpleCode::ContactAdmin, "CONTACTADMIN"),
        (SimpleCode::NoPerm, "NOPERM"),
        (SimpleCode::InUse, "INUSE"),
        (SimpleCode::ExpungeIssued, "EXPUNGEISSUED"),
        (SimpleCode::Corruption, "CORRUPTION"),
        (SimpleCode::ServerBug, "SERVERBUG"),
        (SimpleCode::ClientBug, "CLIENTBUG"),
        (SimpleCode::Cannot, "CANNOT"),
        (SimpleCode::Limit, "LIMIT"),
        (SimpleCode::OverQuota, "OVERQUOTA"),
        (SimpleCode::AlreadyExists, "ALREADYEXISTS"),
        (SimpleCode::NonExistent, "NONEXISTENT"),
        (SimpleCode::HasChildren, "HASCHILDREN"),
        (SimpleCode::UnknownCte, "UNKNOWN-CTE"),
        (SimpleCode::TooBig, "TOOBIG"),
        (SimpleCode::CompressionActive, "COMPRESSIONACTIVE"),
        (SimpleCode::NotSaved, "NOTSAVED"),
    ];
}

/// `OK`, `NO` or `BAD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusKind {
    /// Success.
    Ok,
    /// Operational failure.
    No,
    /// Protocol error.
    Bad,
}

/// `resp-text = ["[" resp-text-code "]" SP] [text]`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResponseText {
    /// The code, if any.
    pub code: Option<Code>,
    /// The human-readable part.
    pub text: Text,
}

/// The kind of greeting (RFC 3501 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GreetingKind {
    /// Not authenticated yet.
    Ok,
    /// Already authenticated.
    PreAuth,
    /// Refused; the server closes the connection.
    Bye,
}

/// `greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Greeting {
    /// OK, PREAUTH or BYE.
    pub kind: GreetingKind,
    /// Code and text.
    pub text: ResponseText,
}

/// `continue-req = "+" SP (resp-text / base64) CRLF`
///
/// The grammar is ambiguous: text such as `abcd` is also base64. The decoder reads any line
/// without a code that is valid non-empty base64 as [`Continuation::Base64`], so a `Text`
/// meant to round-trip must not be such a line (a space or punctuation suffices).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Continuation {
    /// Text, e.g. `+ Ready for literal data`.
    Text(ResponseText),
    /// An AUTHENTICATE challenge.
    Base64(Base64),
}

/// `mbox-list-extended-item` (RFC 5258, RFC 9051) this crate understands.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListExtendedItem {
    /// `childinfo-extended-item = "CHILDINFO" SP "(" list-select-base-opt-quoted *(SP
    /// list-select-base-opt-quoted) ")"` (RFC 5258 §6), each option kept as a string: why a
    /// parent matched.
    ChildInfo(NonEmpty<IString>),
    /// `"OLDNAME" SP "(" mailbox ")"` (RFC 9051): the name before a RENAME.
    OldName(Mailbox),
    /// An item of an extension this crate does not know, `mbox-list-extended-item-tag SP
    /// tagged-ext-val` (RFC 5258 §6), kept so that the LIST response still decodes.
    Other {
        /// The item's tag, never `CHILDINFO` or `OLDNAME`.
        tag: AString,
        /// Its value.
        value: TaggedExtValue,
    },
}

/// `tagged-ext-val = tagged-ext-simple / "(" [tagged-ext-comp] ")"` (RFC 4466 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaggedExtValue {
    /// `tagged-ext-simple`.
    Simple(TaggedExtSimple),
    /// `"(" [tagged-ext-comp] ")"`: space-separated strings and parenthesised lists.
    Comp(Vec<TaggedExtComp>),
}

/// `tagged-ext-simple = sequence-set / number / number64` (RFC 9051 §9; RFC 4466 §3 has
/// no `number64`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaggedExtSimple {
    /// Digits alone.
    Number(Number64),
    /// A set with `:`, `,` or `*` (a set of one number reads as [`TaggedExtSimple::Number`]).
    Set(SequenceSet),
}

/// One element of `tagged-ext-comp = astring / tagged-ext-comp *(SP tagged-ext-comp) /
/// "(" tagged-ext-comp ")"` (RFC 4466 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaggedExtComp {
    /// An astring.
    String(AString),
    /// A parenthesised, non-empty list.
    List(NonEmpty<TaggedExtComp>),
}

/// `mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
/// [SP mbox-list-extended]`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListItem {
    /// Attributes without their backslash, e.g. `HasNoChildren`, `Sent`.
    pub attributes: Vec<Atom>,
    /// The hierarchy delimiter; `None` for a flat namespace.
    pub delimiter: Option<char>,
    /// The mailbox.
    pub mailbox: Mailbox,
    /// Extended data; empty when none was sent.
    pub extended: Vec<ListExtendedItem>,
}

/// One item of ESEARCH data (RFC 4731).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ESearchItem {
    /// `MIN n`
    Min(NonZeroU32),
    /// `MAX n`
    Max(NonZeroU32),
    /// `ALL set`
    All(SequenceSet),
    /// `COUNT n`
    Count(u32),
    /// `MODSEQ n` (RFC 7162)
    ModSeq(NzNumber64),
}

/// One namespace: prefix and delimiter (RFC 2342).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamespaceEntry {
    /// The prefix, e.g. `""` or `"Other Users/"`.
    pub prefix: IString,
    /// The hierarchy delimiter.
    pub delimiter: Option<char>,
}

/// `msg-att`: one item of a FETCH response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchData {
    /// `FLAGS (…)`
    Flags(Vec<FlagFetch>),
    /// `ENVELOPE (…)`
    Envelope(Box<Envelope>),
    /// `INTERNALDATE "…"`
    InternalDate(DateTime),
    /// `RFC822.SIZE n`
    Rfc822Size(Number64),
    /// `RFC822 nstring`
    Rfc822(NString),
    /// `RFC822.HEADER nstring`
    Rfc822Header(NString),
    /// `RFC822.TEXT nstring`
    Rfc822Text(NString),
    /// `BODY (…)`: structure without extension data.
    Body(Box<BodyStructure>),
    /// `BODYSTRUCTURE (…)`
    BodyStructure(Box<BodyStructure>),
    /// `BODY[section]<origin> nstring`
    BodySection {
        /// Which part.
        section: Section,
        /// The first octet's offset when a partial was asked for.
        origin: Option<Number64>,
        /// The data.
        data: NString,
    },
    /// `BINARY[part] (nstring / literal8)` (RFC 3516)
    Binary {
        /// Which part.
        part: Vec<NonZeroU32>,
        /// The decoded content; `None` for NIL.
        data: Option<BinaryData>,
    },
    /// `BINARY.SIZE[part] n`
    BinarySize {
        /// Which part.
        part: Vec<NonZeroU32>,
        /// Its decoded size.
        size: Number64,
    },
    /// `UID n`
    Uid(NonZeroU32),
    /// `MODSEQ (n)` (RFC 7162)
    ModSeq(NzNumber64),
}

/// The content of a BINARY item: a string or a `literal8`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BinaryData {
    /// A quoted string or literal.
    String(IString),
    /// A `literal8`, which may hold NUL.
    Literal8(Literal8),
}

/// Untagged data (`* …`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Data {
    /// `* OK/NO/BAD [code] text`
    Status {
        /// OK, NO or BAD.
        kind: StatusKind,
        /// Code and text.
        text: ResponseText,
    },
    /// `* BYE [code] text`
    Bye(ResponseText),
    /// `* CAPABILITY …`
    Capability(NonEmpty<Atom>),
    /// `* ENABLED …` (RFC 5161)
    Enabled(Vec<Atom>),
    /// `* LIST …`
    List(ListItem),
    /// `* LSUB …`
    Lsub(ListItem),
    /// `* STATUS mailbox (item value …)`
    MailboxStatus {
        /// The mailbox.
        mailbox: Mailbox,
        /// Items and their values.
        items: Vec<(StatusItem, Number64)>,
    },
    /// `* SEARCH n… [(MODSEQ n)]`
    Search {
        /// Matching numbers.
        numbers: Vec<NonZeroU32>,
        /// RFC 7162: the highest mod-sequence of the matches.
        mod_seq: Option<NzNumber64>,
    },
    /// `* ESEARCH [(TAG "x")] [UID] item…` (RFC 4731)
    ESearch {
        /// The tag of the SEARCH this answers.
        tag: Option<Tag>,
        /// Whether the numbers are UIDs.
        uid: bool,
        /// The results.
        items: Vec<ESearchItem>,
    },
    /// `* FLAGS (…)`
    Flags(Vec<Flag>),
    /// `* n EXISTS`
    Exists(u32),
    /// `* n RECENT` (RFC 3501)
    Recent(u32),
    /// `* n EXPUNGE`
    Expunge(NonZeroU32),
    /// `* n FETCH (…)`
    Fetch {
        /// The message sequence number.
        seq: NonZeroU32,
        /// The data items.
        items: NonEmpty<FetchData>,
    },
    /// `* VANISHED [(EARLIER)] uids` (RFC 7162)
    Vanished {
        /// Whether this reports older expunges.
        earlier: bool,
        /// The expunged UIDs.
        uids: SequenceSet,
    },
    /// `* NAMESPACE personal other shared` (RFC 2342); empty lists are NIL.
    Namespace {
        /// Personal namespaces.
        personal: Vec<NamespaceEntry>,
        /// Other users' namespaces.
        other: Vec<NamespaceEntry>,
        /// Shared namespaces.
        shared: Vec<NamespaceEntry>,
    },
    /// `* ID (…)` or `* ID NIL` (RFC 2971)
    Id(Option<Vec<(IString, NString)>>),
    /// `* SORT n…` (RFC 5256)
    Sort(Vec<NonZeroU32>),
    /// `* THREAD (…)…` (RFC 5256)
    Thread(Vec<Thread>),
    /// `* QUOTA root (resource usage limit …)` (RFC 9208)
    Quota {
        /// The quota root.
        root: AString,
        /// Its resources.
        resources: NonEmpty<QuotaResource>,
    },
    /// `* QUOTAROOT mailbox root…` (RFC 9208)
    QuotaRoot {
        /// The mailbox asked about.
        mailbox: Mailbox,
        /// Its quota roots.
        roots: Vec<AString>,
    },
}

/// `response-tagged = tag SP resp-cond-state CRLF`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tagged {
    /// The command's tag.
    pub tag: Tag,
    /// OK, NO or BAD.
    pub kind: StatusKind,
    /// Code and text.
    pub text: ResponseText,
}

/// Anything the server sends after the greeting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Response {
    /// The completion of a command.
    Tagged(Tagged),
    /// Untagged data or status.
    Data(Data),
    /// A continuation request.
    Continuation(Continuation),
}
