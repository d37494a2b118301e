//! Sequence sets.

use nom::{
    Parser,
    branch::alt,
    bytes::streaming::tag,
    combinator::{cut, map, opt, value},
    multi::separated_list1,
    sequence::preceded,
};

use super::{PResult, core::nz_number};
use crate::types::{
    non_empty::NonEmpty,
    sequence::{SeqNumber, Sequence, SequenceSet},
};

/// `seq-number = nz-number / "*"`
pub(crate) fn seq_number(input: &[u8]) -> PResult<'_, SeqNumber> {
    alt((
        map(nz_number, SeqNumber::Value),
        value(SeqNumber::Largest, tag(&b"*"[..])),
    ))
    .parse(input)
}

/// `seq-number [":" seq-number]`
fn sequence(input: &[u8]) -> PResult<'_, Sequence> {
    let (rest, (first, second)) =
        (seq_number, opt(preceded(tag(&b":"[..]), cut(seq_number)))).parse(input)?;
    Ok((
        rest,
        match second {
            Some(second) => Sequence::Range(first, second),
            None => Sequence::Single(first),
        },
    ))
}

/// `sequence-set = (seq-number / seq-range) ["," sequence-set]` / `seq-last-command`
pub(crate) fn sequence_set(input: &[u8]) -> PResult<'_, SequenceSet> {
    alt((
        value(SequenceSet::LastResult, tag(&b"$"[..])),
        map(separated_list1(tag(&b","[..]), sequence), |items| {
            // separated_list1 never yields an empty list.
            SequenceSet::Set(NonEmpty::try_from(items).unwrap_or_else(|_| unreachable!()))
        }),
    ))
    .parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode::to_bytes, testing::assert_prefixes_incomplete};

    fn n(v: u32) -> SeqNumber {
        SeqNumber::Value(std::num::NonZeroU32::new(v).unwrap())
    }

    #[test]
    fn kat() {
        let table: &[(&[u8], SequenceSet)] = &[
            (
                b"1 ",
                SequenceSet::Set(NonEmpty::one(Sequence::Single(n(1)))),
            ),
            (
                b"2:4,*,7:* ",
                SequenceSet::Set(
                    vec![
                        Sequence::Range(n(2), n(4)),
                        Sequence::Single(SeqNumber::Largest),
                        Sequence::Range(n(7), SeqNumber::Largest),
                    ]
                    .try_into()
                    .unwrap(),
                ),
            ),
            (b"$ ", SequenceSet::LastResult),
        ];
        for (input, expected) in table {
            assert_eq!(sequence_set(input).unwrap(), (&b" "[..], expected.clone()));
            assert_eq!(to_bytes(expected), input[..input.len() - 1]);
            assert_prefixes_incomplete(&input[..input.len() - 1], sequence_set);
        }
        // RFC 3501 §9: seq-number is nz-number; 0 is not a message.
        assert!(sequence_set(b"0 ").is_err());
        assert!(sequence_set(b"1:0 ").is_err());
        assert!(sequence_set(b", ").is_err());
    }

    #[test]
    fn contains() {
        let (_, set) = sequence_set(b"4:2,9:* ").unwrap();
        assert!(set.contains(3, 10) && set.contains(10, 10) && !set.contains(5, 10));
    }
}
