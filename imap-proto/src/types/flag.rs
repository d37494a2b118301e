//! Message flags and keywords (RFC 3501 §2.3.2, RFC 9051 §2.3.2).

use crate::{
    encode::{Encode, Encoder},
    error::ValidationError,
    types::core::Atom,
};

/// `flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword /
/// flag-extension`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Flag {
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Seen`
    Seen,
    /// `\Draft`
    Draft,
    /// `flag-keyword = atom`, e.g. `$Forwarded` or `NonJunk`.
    Keyword(Atom),
    /// `flag-extension = "\" atom`, other than the system flags above.
    Extension(FlagExtension),
}

/// The atom of a `flag-extension`; never the name of a system flag, so every flag has one
/// spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlagExtension(Atom);

const SYSTEM_FLAGS: [(&str, Flag); 5] = [
    ("Answered", Flag::Answered),
    ("Flagged", Flag::Flagged),
    ("Deleted", Flag::Deleted),
    ("Seen", Flag::Seen),
    ("Draft", Flag::Draft),
];

impl FlagExtension {
    /// The name after the backslash.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<Atom> for FlagExtension {
    type Error = ValidationError;

    /// Refuses the system flags and `\Recent`, which have their own variants.
    fn try_from(atom: Atom) -> Result<Self, ValidationError> {
        let name = atom.as_str();
        if name.eq_ignore_ascii_case("Recent")
            || SYSTEM_FLAGS
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            return Err(ValidationError::Reserved);
        }
        Ok(Self(atom))
    }
}

impl Flag {
    /// Builds a flag from the atom after `\`: a system flag or an extension.
    pub(crate) fn from_backslash_atom(atom: Atom) -> Result<Self, ValidationError> {
        match Self::system(atom.as_bytes()) {
            Some(flag) => Ok(flag),
            None => FlagExtension::try_from(atom).map(Flag::Extension),
        }
    }

    /// The system flag named `name` (the atom after `\`, any case), if it is one; lets the
    /// parser skip building an atom for the most common flags.
    pub(crate) fn system(name: &[u8]) -> Option<Self> {
        SYSTEM_FLAGS
            .into_iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
            .map(|(_, flag)| flag)
    }
}

impl Encode for Flag {
    fn encode(&self, e: &mut Encoder) {
        let system = SYSTEM_FLAGS.iter().find(|(_, f)| f == self);
        match (system, self) {
            (Some((name, _)), _) => {
                e.bytes(b"\\").bytes(name.as_bytes());
            }
            (None, Flag::Keyword(atom)) => atom.encode(e),
            (None, Flag::Extension(ext)) => {
                e.bytes(b"\\").value(&ext.0);
            }
            // The five system flags are all in SYSTEM_FLAGS.
            (None, _) => {}
        }
    }
}

/// `flag-fetch = flag / "\Recent"` (the latter RFC 3501 only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FlagFetch {
    /// Any flag.
    Flag(Flag),
    /// `\Recent`
    Recent,
}

impl Encode for FlagFetch {
    fn encode(&self, e: &mut Encoder) {
        match self {
            FlagFetch::Flag(f) => f.encode(e),
            FlagFetch::Recent => {
                e.bytes(b"\\Recent");
            }
        }
    }
}

/// `flag-perm = flag / "\*"`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FlagPerm {
    /// A flag the client may change.
    Flag(Flag),
    /// `\*`: the client may create new keywords.
    Asterisk,
}

impl Encode for FlagPerm {
    fn encode(&self, e: &mut Encoder) {
        match self {
            FlagPerm::Flag(f) => f.encode(e),
            FlagPerm::Asterisk => {
                e.bytes(b"\\*");
            }
        }
    }
}
