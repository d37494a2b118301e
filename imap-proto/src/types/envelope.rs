//! ENVELOPE (RFC 3501 §7.4.2, RFC 9051 §7.5.2).

use crate::{
    encode::{Encode, Encoder},
    types::core::NString,
};

/// `address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// The display name.
    pub name: NString,
    /// The source route (obsolete; NIL in practice).
    pub adl: NString,
    /// The local part, or a group name / NIL for group syntax.
    pub mailbox: NString,
    /// The domain, or NIL for group syntax.
    pub host: NString,
}

impl Encode for Address {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(b"(")
            .value(&self.name)
            .sp()
            .value(&self.adl)
            .sp()
            .value(&self.mailbox)
            .sp()
            .value(&self.host)
            .bytes(b")");
    }
}

/// `envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP env-to
/// SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"`
///
/// Address lists are `"(" 1*address ")" / nil`, so an empty list is sent as `NIL`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // Each field is the header of the same name.
pub struct Envelope {
    pub date: NString,
    pub subject: NString,
    pub from: Vec<Address>,
    pub sender: Vec<Address>,
    pub reply_to: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub in_reply_to: NString,
    pub message_id: NString,
}

fn address_list(e: &mut Encoder, list: &[Address]) {
    if list.is_empty() {
        e.bytes(b"NIL");
    } else {
        e.bytes(b"(");
        for address in list {
            address.encode(e);
        }
        e.bytes(b")");
    }
}

impl Encode for Envelope {
    fn encode(&self, e: &mut Encoder) {
        e.bytes(b"(").value(&self.date).sp().value(&self.subject);
        for list in [
            &self.from,
            &self.sender,
            &self.reply_to,
            &self.to,
            &self.cc,
            &self.bcc,
        ] {
            e.sp();
            address_list(e, list);
        }
        e.sp()
            .value(&self.in_reply_to)
            .sp()
            .value(&self.message_id)
            .bytes(b")");
    }
}
