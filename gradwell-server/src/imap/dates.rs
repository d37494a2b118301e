//! Calendar arithmetic for INTERNALDATE and date search keys (proleptic Gregorian, UTC),
//! without a date library: days since 1970-01-01 to and from (year, month, day).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use imap_proto::types::datetime::{Date, DateTime};

/// Days since the epoch of a civil date (H. Hinnant's `days_from_civil`).
pub(super) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (inverse of [`days_from_civil`]).
pub(super) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Seconds since the epoch (negative before 1970).
pub(super) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// The UTC day number of a time.
pub(super) fn day_of(t: SystemTime) -> i64 {
    unix_seconds(t).div_euclid(86_400)
}

/// The day number of an IMAP date.
pub(super) fn day_of_date(d: &Date) -> i64 {
    days_from_civil(
        i64::from(d.year()),
        u32::from(d.month()),
        u32::from(d.day()),
    )
}

/// INTERNALDATE as sent: UTC.
pub(super) fn to_imap(t: SystemTime) -> Option<DateTime> {
    let secs = unix_seconds(t);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let date = Date::new(
        u16::try_from(y).ok()?,
        u8::try_from(m).ok()?,
        u8::try_from(d).ok()?,
    )
    .ok()?;
    DateTime::new(
        date,
        (
            u8::try_from(rem / 3600).ok()?,
            u8::try_from(rem % 3600 / 60).ok()?,
            u8::try_from(rem % 60).ok()?,
        ),
        0,
    )
    .ok()
}

/// The instant an IMAP date-time names.
pub(crate) fn from_imap(dt: &DateTime) -> SystemTime {
    let (h, mi, s) = dt.time();
    let secs =
        day_of_date(&dt.date()) * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)
            - i64::from(dt.zone_minutes()) * 60;
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for (y, m, d, n) in [
            (1970, 1, 1, 0),
            (2000, 3, 1, 11_017),
            (2020, 6, 15, 18_428),
            (1969, 12, 31, -1),
        ] {
            assert_eq!(days_from_civil(y, m, d), n, "{y}-{m}-{d}");
            assert_eq!(civil_from_days(n), (y, m, d));
        }
        for n in -1000..30_000 {
            let (y, m, d) = civil_from_days(n);
            assert_eq!(days_from_civil(y, m, d), n);
        }
    }

    #[test]
    fn date_time_with_zone() {
        let date = Date::new(2020, 6, 15).unwrap(); // Unwrap: a valid date.
        let dt = DateTime::new(date, (13, 45, 10), 120).unwrap(); // Unwrap: valid.
        let t = from_imap(&dt);
        assert_eq!(unix_seconds(t), 1_592_221_510);
        let back = to_imap(t).unwrap(); // Unwrap: in range.
        assert_eq!(back.time(), (11, 45, 10));
        assert_eq!(back.zone_minutes(), 0);
    }
}
