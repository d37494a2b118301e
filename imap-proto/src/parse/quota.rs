//! QUOTA (RFC 9208): command arguments and response data.

use nom::{
    Parser,
    bytes::streaming::tag,
    combinator::map,
    multi::{separated_list0, separated_list1},
    sequence::{delimited, preceded},
};

use super::{
    PResult,
    core::{astring, atom, number64_value, sp},
    fetch::non_empty,
    mailbox::mailbox,
};
use crate::types::{
    command::CommandBody,
    quota::{QuotaLimit, QuotaResource},
    response::Data,
};

/// `setquota = "SETQUOTA" SP quota-root-name SP setquota-list`, after "SETQUOTA".
pub(crate) fn set_quota(input: &[u8]) -> PResult<'_, CommandBody> {
    let limit = map((atom, sp, number64_value), |(name, _, limit)| QuotaLimit {
        name,
        limit,
    });
    map(
        (
            sp,
            astring,
            sp,
            delimited(tag(&b"("[..]), separated_list0(sp, limit), tag(&b")"[..])),
        ),
        |(_, root, _, limits)| CommandBody::SetQuota { root, limits },
    )
    .parse(input)
}

/// `quota-response = "QUOTA" SP quota-root-name SP quota-list`, after "QUOTA".
pub(crate) fn quota_data(input: &[u8]) -> PResult<'_, Data> {
    let resource = map(
        (atom, sp, number64_value, sp, number64_value),
        |(name, _, usage, _, limit)| QuotaResource { name, usage, limit },
    );
    let (rest, (_, root, _, resources)) = (
        sp,
        astring,
        sp,
        delimited(
            tag(&b"("[..]),
            separated_list1(sp, resource),
            tag(&b")"[..]),
        ),
    )
        .parse(input)?;
    let (rest, resources) = non_empty(rest, resources)?;
    Ok((rest, Data::Quota { root, resources }))
}

/// `quotaroot-response = "QUOTAROOT" SP mailbox *(SP quota-root-name)`, after "QUOTAROOT".
pub(crate) fn quota_root_data(input: &[u8]) -> PResult<'_, Data> {
    map(
        (
            preceded(sp, mailbox),
            super::many0_lazy(preceded(sp, astring)),
        ),
        |(mailbox, roots)| Data::QuotaRoot { mailbox, roots },
    )
    .parse(input)
}
