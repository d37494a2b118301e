//! The parameter list of ID (RFC 2971), shared by the command and the response.

use nom::{
    Parser, branch::alt, bytes::streaming::tag, combinator::map, multi::separated_list0,
    sequence::delimited,
};

use super::{
    ErrorKind, PResult,
    core::{nil, nstring, sp, string},
    fail,
};
use crate::types::core::{IString, NString};

/// RFC 2971 §3.3: "Implementations MUST NOT send more than 30 field-value pairs."
pub(crate) const MAX_ID_PAIRS: usize = 30;
/// RFC 2971 §3.3: "Field strings MUST NOT be longer than 30 octets."
pub(crate) const MAX_ID_FIELD: usize = 30;
/// RFC 2971 §3.3: "Value strings MUST NOT be longer than 1024 octets."
pub(crate) const MAX_ID_VALUE: usize = 1024;

/// One `string SP nstring` pair, refused if the field or the value is over its limit.
fn id_pair(input: &[u8]) -> PResult<'_, (IString, NString)> {
    let (rest, (field, _, value)) = (string, sp, nstring).parse(input)?;
    let value_len = value.0.as_ref().map_or(0, |v| v.as_bytes().len());
    if field.as_bytes().len() > MAX_ID_FIELD || value_len > MAX_ID_VALUE {
        return fail(input, ErrorKind::Invalid);
    }
    Ok((rest, (field, value)))
}

/// `id-params-list = "(" *(string SP nstring) ")" / nil`, at most [`MAX_ID_PAIRS`] pairs.
pub(crate) fn id_params_list(input: &[u8]) -> PResult<'_, Option<Vec<(IString, NString)>>> {
    let (rest, params) = alt((
        map(nil, |()| None),
        map(
            delimited(tag(&b"("[..]), separated_list0(sp, id_pair), tag(&b")"[..])),
            Some,
        ),
    ))
    .parse(input)?;
    if params.as_ref().is_some_and(|p| p.len() > MAX_ID_PAIRS) {
        return fail(input, ErrorKind::Invalid);
    }
    Ok((rest, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(pairs: usize, field: usize, value: usize) -> Vec<u8> {
        let pair = format!("\"{}\" \"{}\"", "f".repeat(field), "v".repeat(value));
        let mut out = format!("({})", vec![pair; pairs].join(" ")).into_bytes();
        out.extend_from_slice(b"\r\n");
        out
    }

    #[test]
    fn limits_of_rfc_2971() {
        let accepted = |input: &[u8]| id_params_list(input).is_ok();
        assert!(accepted(b"NIL\r\n"));
        assert!(accepted(b"()\r\n"));
        assert!(accepted(b"(\"name\" NIL)\r\n"));
        assert!(accepted(&list(MAX_ID_PAIRS, MAX_ID_FIELD, MAX_ID_VALUE)));
        assert!(!accepted(&list(MAX_ID_PAIRS + 1, 4, 4)));
        assert!(!accepted(&list(1, MAX_ID_FIELD + 1, 4)));
        assert!(!accepted(&list(1, 4, MAX_ID_VALUE + 1)));
        // Every strict prefix of a valid list is incomplete.
        let valid = list(3, 5, 7);
        for end in 0..valid.len() - 2 {
            assert!(
                matches!(id_params_list(&valid[..end]), Err(nom::Err::Incomplete(_))),
                "{end}"
            );
        }
    }
}
