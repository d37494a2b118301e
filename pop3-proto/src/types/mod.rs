//! Protocol values, valid by construction: fields are private and constructors check the
//! grammar, so every value the encoders see can be written to the wire unambiguously.

/// `as_str`, `Display` and `TryFrom<&str>` for a string newtype `$name(String)` whose
/// `validate(&[u8])` checks every value.
macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<&str> for $name {
            type Error = crate::error::ValidationError;

            fn try_from(value: &str) -> Result<Self, Self::Error> {
                Self::validate(value.as_bytes())?;
                Ok(Self(value.to_owned()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

mod auth;
mod capability;
mod command;
mod language;
mod number;
mod response;
mod text;
mod unique_id;

pub use auth::{AuthLine, Mechanism, SaslData};
pub(crate) use capability::KNOWN_TAGS;
pub use capability::{Capability, ExpirePolicy, OtherCapability};
pub use command::{ApopDigest, Command, CommandKind, Password, UserName};
pub use language::{LangRequest, Language, LanguageTag};
pub use number::MsgNo;
pub use response::{
    RespCode, Response, ResponseKind, ScanListing, Stat, Status, StatusKind, UidListing,
};
pub(crate) use text::same_length_utf8;
pub use text::{Param, Text};
pub use unique_id::UniqueId;
