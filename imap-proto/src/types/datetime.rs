//! Dates (SEARCH) and date-times (INTERNALDATE, APPEND).

use crate::{
    encode::{Encode, Encoder},
    error::ValidationError,
};

pub(crate) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `date-text = date-day "-" date-month "-" date-year`: a calendar day that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// A date; `year` has four digits on the wire (`date-year = 4DIGIT`), `month` is 1–12.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, ValidationError> {
        if year > 9999 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month)
        {
            return Err(ValidationError::InvalidDate);
        }
        Ok(Self { year, month, day })
    }

    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, 1–12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month.
    pub fn day(&self) -> u8 {
        self.day
    }

    fn month_name(&self) -> &'static str {
        MONTHS[usize::from(self.month - 1) % 12]
    }
}

impl Encode for Date {
    fn encode(&self, e: &mut Encoder) {
        let text = format!("{}-{}-{:04}", self.day, self.month_name(), self.year);
        e.bytes(text.as_bytes());
    }
}

/// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
    /// Offset from UTC in minutes, as sent in `zone = ("+" / "-") 4DIGIT`.
    zone_minutes: i16,
}

impl DateTime {
    /// A date-time. Seconds may be 60 (a leap second); the zone is at most ±99:59 as four
    /// digits allow.
    pub fn new(
        date: Date,
        (hour, minute, second): (u8, u8, u8),
        zone_minutes: i16,
    ) -> Result<Self, ValidationError> {
        if hour > 23 || minute > 59 || second > 60 || zone_minutes.unsigned_abs() > 99 * 60 + 59 {
            return Err(ValidationError::InvalidDate);
        }
        Ok(Self {
            date,
            hour,
            minute,
            second,
            zone_minutes,
        })
    }

    /// The calendar day.
    pub fn date(&self) -> Date {
        self.date
    }

    /// Hour, minute, second.
    pub fn time(&self) -> (u8, u8, u8) {
        (self.hour, self.minute, self.second)
    }

    /// Offset from UTC in minutes.
    pub fn zone_minutes(&self) -> i16 {
        self.zone_minutes
    }
}

impl Encode for DateTime {
    fn encode(&self, e: &mut Encoder) {
        let sign = if self.zone_minutes < 0 { '-' } else { '+' };
        let zone = self.zone_minutes.unsigned_abs();
        let text = format!(
            "\"{:02}-{}-{:04} {:02}:{:02}:{:02} {sign}{:02}{:02}\"",
            self.date.day,
            self.date.month_name(),
            self.date.year,
            self.hour,
            self.minute,
            self.second,
            zone / 60,
            zone % 60
        );
        e.bytes(text.as_bytes());
    }
}
