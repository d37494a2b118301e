//! Protocol values, valid by construction: fields are private and constructors check the
//! grammar, so every value the encoders see can be written to the wire unambiguously.

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
pub use text::{Param, Text};
pub use unique_id::UniqueId;
