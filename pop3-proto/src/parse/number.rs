//! Decimal numbers in commands and listings.

use nom::{Parser, character::complete::digit1, combinator::all_consuming};

use crate::types::MsgNo;

/// Why a field is not a usable number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberError {
    /// Not `1*DIGIT` (signs, spaces and letters included).
    NotANumber,
    /// Zero where a message number was wanted.
    Zero,
    /// Above the bound.
    TooLarge,
}

/// `1*DIGIT` as a `u64`, refusing anything above `max`.
pub(crate) fn decimal(field: &[u8], max: u64) -> Result<u64, NumberError> {
    let parsed: nom::IResult<&[u8], &[u8]> = all_consuming(digit1).parse(field);
    let (_, digits) = parsed.map_err(|_| NumberError::NotANumber)?;
    let mut n: u64 = 0;
    for d in digits {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .filter(|&n| n <= max)
            .ok_or(NumberError::TooLarge)?;
    }
    Ok(n)
}

/// A message number: non-zero and at most `max`.
pub(crate) fn msg_no(field: &[u8], max: u32) -> Result<MsgNo, NumberError> {
    let n = decimal(field, u64::from(max))?;
    // `decimal` bounded `n` by a `u32`, so the conversion cannot fail.
    let n = u32::try_from(n).map_err(|_| NumberError::TooLarge)?;
    MsgNo::new(n).ok_or(NumberError::Zero)
}

#[cfg(test)]
mod tests {
    use super::{NumberError, decimal, msg_no};

    #[test]
    fn known_answers() {
        assert_eq!(decimal(b"0", 10), Ok(0));
        assert_eq!(decimal(b"007", 10), Ok(7));
        assert_eq!(decimal(b"11", 10), Err(NumberError::TooLarge));
        assert_eq!(
            decimal(b"18446744073709551616", u64::MAX),
            Err(NumberError::TooLarge)
        );
        assert_eq!(decimal(b"18446744073709551615", u64::MAX), Ok(u64::MAX));
        for bad in [&b""[..], b"-1", b"+1", b"1 ", b" 1", b"1a", b"x"] {
            assert_eq!(decimal(bad, 10), Err(NumberError::NotANumber));
        }
        assert_eq!(msg_no(b"0", 5), Err(NumberError::Zero));
        assert_eq!(msg_no(b"4294967296", u32::MAX), Err(NumberError::TooLarge));
        assert_eq!(msg_no(b"5", 5).map(|m| m.get()), Ok(5));
    }
}
