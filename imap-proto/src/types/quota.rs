//! QUOTA (RFC 9208).

use crate::{
    encode::{Encode, Encoder},
    types::core::{Atom, Number64},
};

/// `quota-resource = resource-name SP resource-usage SP resource-limit`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuotaResource {
    /// `STORAGE` (in units of 1024 octets), `MESSAGE`, `MAILBOX`, …
    pub name: Atom,
    /// Current usage.
    pub usage: Number64,
    /// The limit.
    pub limit: Number64,
}

impl Encode for QuotaResource {
    fn encode(&self, e: &mut Encoder) {
        e.value(&self.name)
            .sp()
            .value(&self.usage)
            .sp()
            .value(&self.limit);
    }
}

/// `setquota-resource = resource-name SP resource-limit`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuotaLimit {
    /// The resource.
    pub name: Atom,
    /// The new limit.
    pub limit: Number64,
}

impl Encode for QuotaLimit {
    fn encode(&self, e: &mut Encoder) {
        e.value(&self.name).sp().value(&self.limit);
    }
}
