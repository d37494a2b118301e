//! Dates and date-times.

use nom::{
    Needed, Parser,
    branch::alt,
    bytes::streaming::{tag, take},
    sequence::delimited,
};

use super::{ErrorKind, PResult, fail, reject};
use crate::types::datetime::{Date, DateTime, MONTHS};

/// Exactly `n` ASCII digits as a number.
fn fixed_digits(input: &[u8], n: usize) -> PResult<'_, u16> {
    let (rest, digits) = take(n).parse(input)?;
    let mut value: u16 = 0;
    for d in digits {
        if !d.is_ascii_digit() {
            return reject(input, ErrorKind::Date);
        }
        value = value * 10 + u16::from(d - b'0');
    }
    Ok((rest, value))
}

/// `date-month = "Jan" / "Feb" / …`, case-insensitive like all IMAP keywords.
fn date_month(input: &[u8]) -> PResult<'_, u8> {
    let (rest, name) = take(3usize).parse(input)?;
    match MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(name))
    {
        Some(index) => Ok((rest, index as u8 + 1)),
        None => fail(input, ErrorKind::Date),
    }
}

/// `date-day = 1*2DIGIT`
fn date_day(input: &[u8]) -> PResult<'_, u8> {
    match input {
        [] | [_] => Err(nom::Err::Incomplete(Needed::new(1))),
        [a, b, ..] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Ok((&input[2..], (a - b'0') * 10 + (b - b'0')))
        }
        [a, ..] if a.is_ascii_digit() => Ok((&input[1..], a - b'0')),
        _ => reject(input, ErrorKind::Date),
    }
}

fn build_date(input: &[u8], (day, month, year): (u8, u8, u16)) -> PResult<'_, Date> {
    match Date::new(year, month, day) {
        Ok(date) => Ok((input, date)),
        Err(_) => fail(input, ErrorKind::Date),
    }
}

/// `date-text = date-day "-" date-month "-" date-year`
fn date_text(input: &[u8]) -> PResult<'_, Date> {
    let (rest, (day, _, month, _, year)) =
        (date_day, tag(&b"-"[..]), date_month, tag(&b"-"[..]), |i| {
            fixed_digits(i, 4)
        })
            .parse(input)?;
    build_date(rest, (day, month, year))
}

/// `date = date-text / DQUOTE date-text DQUOTE`
pub(crate) fn date(input: &[u8]) -> PResult<'_, Date> {
    alt((
        date_text,
        delimited(tag(&b"\""[..]), date_text, tag(&b"\""[..])),
    ))
    .parse(input)
}

/// `date-day-fixed = (SP DIGIT) / 2DIGIT`
fn date_day_fixed(input: &[u8]) -> PResult<'_, u8> {
    match input {
        [] | [_] => Err(nom::Err::Incomplete(Needed::new(1))),
        [b' ', d, ..] | [b'0'..=b'9', d, ..] if d.is_ascii_digit() => {
            let tens = input[0].saturating_sub(b'0');
            Ok((&input[2..], tens * 10 + (d - b'0')))
        }
        _ => reject(input, ErrorKind::Date),
    }
}

/// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`
pub(crate) fn date_time(input: &[u8]) -> PResult<'_, DateTime> {
    let two = |i| fixed_digits(i, 2);
    let (rest, (_, day, _, month, _, year, _, hour, _, minute, _, second, _, sign, zone, _)) = (
        tag(&b"\""[..]),
        date_day_fixed,
        tag(&b"-"[..]),
        date_month,
        tag(&b"-"[..]),
        |i| fixed_digits(i, 4),
        tag(&b" "[..]),
        two,
        tag(&b":"[..]),
        two,
        tag(&b":"[..]),
        two,
        tag(&b" "[..]),
        alt((tag(&b"+"[..]), tag(&b"-"[..]))),
        |i| fixed_digits(i, 4),
        tag(&b"\""[..]),
    )
        .parse(input)?;
    let (_, date) = build_date(rest, (day, month, year))?;
    if zone % 100 >= 60 {
        return fail(input, ErrorKind::Date);
    }
    let zone = i16::try_from((zone / 100) * 60 + zone % 100).unwrap_or(i16::MAX);
    let zone = if sign == b"-" { -zone } else { zone };
    match DateTime::new(date, (hour as u8, minute as u8, second as u8), zone) {
        Ok(dt) => Ok((rest, dt)),
        Err(_) => fail(input, ErrorKind::Date),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode::to_bytes, testing::assert_prefixes_incomplete};

    #[test]
    fn kat_date() {
        for (input, canonical) in [
            (&b"1-Feb-1994 "[..], &b"1-Feb-1994"[..]),
            (b"\"29-feb-2024\" ", b"29-Feb-2024"),
        ] {
            let (rest, d) = date(input).unwrap();
            assert_eq!(rest, b" ");
            assert_eq!(to_bytes(&d), canonical);
        }
        assert_prefixes_incomplete(b"1-Feb-1994", date);
        assert!(date(b"29-Feb-2023 ").is_err());
        assert!(date(b"31-Apr-2023 ").is_err());
        assert!(date(b"1-Foo-2023 ").is_err());
    }

    #[test]
    fn kat_date_time() {
        // RFC 3501 §6.3.11 example: APPEND saved-messages (\Seen) {310} with a date-time like
        // "17-Jul-1996 02:44:25 -0700".
        let input = b"\"17-Jul-1996 02:44:25 -0700\"";
        let (rest, dt) = date_time(input).unwrap();
        assert!(rest.is_empty());
        assert_eq!(dt.zone_minutes(), -420);
        assert_eq!(to_bytes(&dt), input);
        assert_prefixes_incomplete(input, date_time);
        let (_, dt) = date_time(b"\" 1-Jan-2000 00:00:00 +0000\"").unwrap();
        assert_eq!(dt.date().day(), 1);
        assert!(date_time(b"\"01-Jan-2000 24:00:00 +0000\"").is_err());
        assert!(date_time(b"\"01-Jan-2000 00:00:00 +0060\"").is_err());
    }
}
