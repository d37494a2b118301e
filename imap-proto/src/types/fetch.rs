//! FETCH attributes, sections and partials (RFC 3501 §6.4.5, RFC 9051 §6.4.5, RFC 3516).

use std::num::NonZeroU32;

use crate::{
    encode::{Encode, Encoder},
    error::ValidationError,
    types::{
        core::{AString, Number64, NzNumber64},
        non_empty::NonEmpty,
    },
};

/// `section-msgtext` / `"MIME"`: which text of a part.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionText {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (…)`
    HeaderFields(NonEmpty<AString>),
    /// `HEADER.FIELDS.NOT (…)`
    HeaderFieldsNot(NonEmpty<AString>),
    /// `TEXT`
    Text,
    /// `MIME`, only after a part number.
    Mime,
}

/// `section-spec = section-msgtext / (section-part ["." section-text])`
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Section {
    part: Vec<NonZeroU32>,
    text: Option<SectionText>,
}

impl Section {
    /// A section: part numbers (empty for the whole message) and the text wanted.
    ///
    /// RFC 3501 §6.4.5: "The MIME part specifier MUST be prefixed by one or more numeric part
    /// specifiers."
    pub fn new(part: Vec<NonZeroU32>, text: Option<SectionText>) -> Result<Self, ValidationError> {
        if part.is_empty() && text == Some(SectionText::Mime) {
            return Err(ValidationError::Reserved);
        }
        Ok(Self { part, text })
    }

    /// The part numbers, outermost first.
    pub fn part(&self) -> &[NonZeroU32] {
        &self.part
    }

    /// The text of the part wanted, if not the whole part.
    pub fn text(&self) -> Option<&SectionText> {
        self.text.as_ref()
    }
}

pub(crate) fn encode_part(part: &[NonZeroU32], e: &mut Encoder) {
    e.join(part, b".", |n, e| {
        e.number(n.get());
    });
}

impl Encode for Section {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(b"[");
        encode_part(&self.part, e);
        if let Some(text) = &self.text {
            if !self.part.is_empty() {
                e.bytes(b".");
            }
            match text {
                SectionText::Header => {
                    e.bytes(b"HEADER");
                }
                SectionText::HeaderFields(fields) => {
                    e.bytes(b"HEADER.FIELDS ").paren_list(fields);
                }
                SectionText::HeaderFieldsNot(fields) => {
                    e.bytes(b"HEADER.FIELDS.NOT ").paren_list(fields);
                }
                SectionText::Text => {
                    e.bytes(b"TEXT");
                }
                SectionText::Mime => {
                    e.bytes(b"MIME");
                }
            }
        }
        e.bytes(b"]");
    }
}

/// `partial = "<" number64 "." nz-number64 ">"`: the first octet and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Partial {
    /// Offset of the first octet.
    pub offset: Number64,
    /// Number of octets, at least one.
    pub length: NzNumber64,
}

impl Encode for Partial {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(b"<")
            .value(&self.offset)
            .bytes(b".")
            .value(&self.length)
            .bytes(b">");
    }
}

/// `fetch-att`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchAttribute {
    /// `ENVELOPE`
    Envelope,
    /// `FLAGS`
    Flags,
    /// `INTERNALDATE`
    InternalDate,
    /// `RFC822` (RFC 3501 only)
    Rfc822,
    /// `RFC822.HEADER`
    Rfc822Header,
    /// `RFC822.SIZE`
    Rfc822Size,
    /// `RFC822.TEXT`
    Rfc822Text,
    /// `BODY` (the non-extensible body structure)
    Body,
    /// `BODYSTRUCTURE`
    BodyStructure,
    /// `UID`
    Uid,
    /// `BODY[section]<partial>` or `BODY.PEEK[…]`
    BodySection {
        /// `BODY.PEEK` does not set `\Seen`.
        peek: bool,
        /// Which part.
        section: Section,
        /// Which octets.
        partial: Option<Partial>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[…]` (RFC 3516)
    Binary {
        /// `BINARY.PEEK` does not set `\Seen`.
        peek: bool,
        /// `section-binary = "[" [section-part] "]"`
        part: Vec<NonZeroU32>,
        /// Which octets.
        partial: Option<Partial>,
    },
    /// `BINARY.SIZE[part]` (RFC 3516)
    BinarySize {
        /// The part.
        part: Vec<NonZeroU32>,
    },
    /// `MODSEQ` (RFC 7162)
    ModSeq,
}

impl FetchAttribute {
    pub(crate) const SIMPLE: [(FetchAttribute, &'static str); 11] = [
        (FetchAttribute::Envelope, "ENVELOPE"),
        (FetchAttribute::Flags, "FLAGS"),
        (FetchAttribute::InternalDate, "INTERNALDATE"),
        (FetchAttribute::Rfc822, "RFC822"),
        (FetchAttribute::Rfc822Header, "RFC822.HEADER"),
        (FetchAttribute::Rfc822Size, "RFC822.SIZE"),
        (FetchAttribute::Rfc822Text, "RFC822.TEXT"),
        (FetchAttribute::Body, "BODY"),
        (FetchAttribute::BodyStructure, "BODYSTRUCTURE"),
        (FetchAttribute::Uid, "UID"),
        (FetchAttribute::ModSeq, "MODSEQ"),
    ];
}

impl Encode for FetchAttribute {
    fn encode(&self, e: &mut Encoder) {
        match self {
            FetchAttribute::BodySection {
                peek,
                section,
                partial,
            } => {
                e.bytes(if *peek { b"BODY.PEEK" } else { b"BODY" })
                    .value(section);
                if let Some(p) = partial {
                    p.encode(e);
                }
            }
            FetchAttribute::Binary {
                peek,
                part,
                partial,
            } => {
                e.bytes(if *peek { b"BINARY.PEEK[" } else { b"BINARY[" });
                encode_part(part, e);
                e.bytes(b"]");
                if let Some(p) = partial {
                    p.encode(e);
                }
            }
            FetchAttribute::BinarySize { part } => {
                e.bytes(b"BINARY.SIZE[");
                encode_part(part, e);
                e.bytes(b"]");
            }
            simple => {
                e.bytes(crate::keywords::name_of(&Self::SIMPLE, simple).as_bytes());
            }
        }
    }
}

/// What a FETCH asks for: a macro or a list of attributes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FetchItems {
    /// `ALL` = `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`
    All,
    /// `FAST` = `(FLAGS INTERNALDATE RFC822.SIZE)`
    Fast,
    /// `FULL` = `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)`
    Full,
    /// Explicit attributes.
    Attributes(NonEmpty<FetchAttribute>),
}

impl Encode for FetchItems {
    fn encode(&self, e: &mut Encoder) {
        match self {
            FetchItems::All => {
                e.bytes(b"ALL");
            }
            FetchItems::Fast => {
                e.bytes(b"FAST");
            }
            FetchItems::Full => {
                e.bytes(b"FULL");
            }
            FetchItems::Attributes(items) => {
                e.paren_list(items);
            }
        }
    }
}
