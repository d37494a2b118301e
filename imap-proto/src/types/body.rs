//! BODY and BODYSTRUCTURE (RFC 3501 §7.4.2, RFC 9051 §7.5.2): a message's MIME tree, so a
//! server can build it from a parsed message and a client can read it.

use crate::{
    encode::{Encode, Encoder},
    error::ValidationError,
    types::{
        core::{IString, NString, Number64},
        envelope::Envelope,
        non_empty::NonEmpty,
    },
};

/// `body-fld-param`: attribute/value pairs; empty is sent as `NIL`.
pub type Parameters = Vec<(IString, IString)>;

/// `body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP
/// body-fld-octets`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BodyFields {
    /// Content-Type parameters.
    pub parameters: Parameters,
    /// Content-ID.
    pub id: NString,
    /// Content-Description.
    pub description: NString,
    /// Content-Transfer-Encoding.
    pub encoding: IString,
    /// Size in octets.
    pub octets: u32,
}

/// What follows the common fields, by media type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BodyKind {
    /// `body-type-basic`
    Basic,
    /// `body-type-text`: also the number of lines.
    Text {
        /// `body-fld-lines`
        lines: Number64,
    },
    /// `body-type-msg`: an attached message.
    Message {
        /// Its envelope.
        envelope: Box<Envelope>,
        /// Its structure.
        body: Box<BodyStructure>,
        /// `body-fld-lines`
        lines: Number64,
    },
}

/// A non-multipart body: media type, fields and the kind-specific tail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Body {
    media_type: IString,
    subtype: IString,
    fields: BodyFields,
    kind: BodyKind,
}

impl Body {
    /// A body part. The kind must match the media type as the grammar decides it: `TEXT/*` is
    /// [`BodyKind::Text`], `MESSAGE/RFC822` and `MESSAGE/GLOBAL` are [`BodyKind::Message`],
    /// everything else is [`BodyKind::Basic`].
    pub fn new(
        media_type: IString,
        subtype: IString,
        fields: BodyFields,
        kind: BodyKind,
    ) -> Result<Self, ValidationError> {
        if kind_for(media_type.as_bytes(), subtype.as_bytes()) != kind.tag() {
            return Err(ValidationError::Reserved);
        }
        Ok(Self {
            media_type,
            subtype,
            fields,
            kind,
        })
    }

    /// The media type, e.g. `TEXT`.
    pub fn media_type(&self) -> &IString {
        &self.media_type
    }

    /// The media subtype, e.g. `PLAIN`.
    pub fn subtype(&self) -> &IString {
        &self.subtype
    }

    /// The common fields.
    pub fn fields(&self) -> &BodyFields {
        &self.fields
    }

    /// The kind-specific tail.
    pub fn kind(&self) -> &BodyKind {
        &self.kind
    }
}

/// The three shapes of a non-multipart body in the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KindTag {
    Basic,
    Text,
    Message,
}

impl BodyKind {
    pub(crate) fn tag(&self) -> KindTag {
        match self {
            BodyKind::Basic => KindTag::Basic,
            BodyKind::Text { .. } => KindTag::Text,
            BodyKind::Message { .. } => KindTag::Message,
        }
    }
}

/// Which shape the grammar gives a media type: `media-text = DQUOTE "TEXT" DQUOTE SP
/// media-subtype`, `media-message = DQUOTE "MESSAGE" DQUOTE SP DQUOTE ("RFC822" / "GLOBAL")
/// DQUOTE`, anything else `media-basic`.
pub(crate) fn kind_for(media_type: &[u8], subtype: &[u8]) -> KindTag {
    if media_type.eq_ignore_ascii_case(b"TEXT") {
        KindTag::Text
    } else if media_type.eq_ignore_ascii_case(b"MESSAGE")
        && (subtype.eq_ignore_ascii_case(b"RFC822") || subtype.eq_ignore_ascii_case(b"GLOBAL"))
    {
        KindTag::Message
    } else {
        KindTag::Basic
    }
}

/// `body-extension = nstring / number / number64 / "(" body-extension *(SP body-extension) ")"`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BodyExtension {
    /// A string or NIL.
    NString(NString),
    /// A number.
    Number(Number64),
    /// A parenthesised list.
    List(NonEmpty<BodyExtension>),
}

/// `body-fld-dsp = "(" string SP body-fld-param ")" / nil`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Disposition {
    /// e.g. `attachment`.
    pub kind: IString,
    /// e.g. `filename`.
    pub parameters: Parameters,
}

/// The optional tail shared by both extension kinds: `[SP body-fld-dsp [SP body-fld-lang
/// [SP body-fld-loc *(SP body-extension)]]]`, each level present only if the one before is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ExtensionTail {
    /// Content-Disposition, `None` for NIL.
    pub disposition: Option<Disposition>,
    /// Content-Language and what follows it.
    pub language: Option<LanguageTail>,
}

/// `body-fld-lang [SP body-fld-loc *(SP body-extension)]`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageTail {
    /// Languages; empty for NIL.
    pub languages: Vec<IString>,
    /// Content-Location and future extensions.
    pub location: Option<LocationTail>,
}

/// `body-fld-loc *(SP body-extension)`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocationTail {
    /// Content-Location.
    pub location: NString,
    /// Extension data a later RFC may define.
    pub extensions: Vec<BodyExtension>,
}

/// `body-ext-1part = body-fld-md5 [SP body-fld-dsp …]`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SinglePartExtension {
    /// Content-MD5.
    pub md5: NString,
    /// The rest, if sent.
    pub tail: Option<ExtensionTail>,
}

/// `body-ext-mpart = body-fld-param [SP body-fld-dsp …]`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MultiPartExtension {
    /// Content-Type parameters of the multipart.
    pub parameters: Parameters,
    /// The rest, if sent.
    pub tail: Option<ExtensionTail>,
}

/// `body = "(" (body-type-1part / body-type-mpart) ")"`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BodyStructure {
    /// A leaf part.
    Single {
        /// The part.
        body: Box<Body>,
        /// BODYSTRUCTURE's extension data; `None` for BODY.
        extension: Option<SinglePartExtension>,
    },
    /// A multipart: its parts and subtype.
    Multi {
        /// The parts, in order.
        parts: NonEmpty<BodyStructure>,
        /// e.g. `MIXED`.
        subtype: IString,
        /// BODYSTRUCTURE's extension data; `None` for BODY.
        extension: Option<MultiPartExtension>,
    },
}

pub(crate) fn encode_parameters(e: &mut Encoder, parameters: &Parameters) {
    if parameters.is_empty() {
        e.bytes(b"NIL");
    } else {
        e.bytes(b"(");
        e.join(parameters, b" ", |(name, value), e| {
            e.value(name).sp().value(value);
        });
        e.bytes(b")");
    }
}

impl Encode for BodyExtension {
    fn encode(&self, e: &mut Encoder) {
        match self {
            BodyExtension::NString(s) => s.encode(e),
            BodyExtension::Number(n) => n.encode(e),
            BodyExtension::List(items) => {
                e.paren_list(items);
            }
        }
    }
}

impl Encode for ExtensionTail {
    fn encode(&self, e: &mut Encoder) {
        e.sp();
        match &self.disposition {
            None => {
                e.bytes(b"NIL");
            }
            Some(d) => {
                e.bytes(b"(").value(&d.kind).sp();
                encode_parameters(e, &d.parameters);
                e.bytes(b")");
            }
        }
        let Some(language) = &self.language else {
            return;
        };
        e.sp();
        match language.languages.as_slice() {
            [] => {
                e.bytes(b"NIL");
            }
            [one] => one.encode(e),
            many => {
                e.paren_list(many);
            }
        }
        if let Some(location) = &language.location {
            e.sp().value(&location.location);
            for extension in &location.extensions {
                e.sp().value(extension);
            }
        }
    }
}

impl Encode for BodyStructure {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(b"(");
        match self {
            BodyStructure::Single { body, extension } => {
                e.value(&body.media_type).sp().value(&body.subtype).sp();
                let fields = &body.fields;
                encode_parameters(e, &fields.parameters);
                e.sp()
                    .value(&fields.id)
                    .sp()
                    .value(&fields.description)
                    .sp()
                    .value(&fields.encoding)
                    .sp()
                    .number(fields.octets);
                match &body.kind {
                    BodyKind::Basic => {}
                    BodyKind::Text { lines } => {
                        e.sp().value(lines);
                    }
                    BodyKind::Message {
                        envelope,
                        body,
                        lines,
                    } => {
                        e.sp()
                            .value(envelope.as_ref())
                            .sp()
                            .value(body.as_ref())
                            .sp()
                            .value(lines);
                    }
                }
                if let Some(ext) = extension {
                    e.sp().value(&ext.md5);
                    if let Some(tail) = &ext.tail {
                        tail.encode(e);
                    }
                }
            }
            BodyStructure::Multi {
                parts,
                subtype,
                extension,
            } => {
                for part in parts.iter() {
                    part.encode(e);
                }
                e.sp().value(subtype);
                if let Some(ext) = extension {
                    e.sp();
                    encode_parameters(e, &ext.parameters);
                    if let Some(tail) = &ext.tail {
                        tail.encode(e);
                    }
                }
            }
        }
        e.bytes(b")");
    }
}
