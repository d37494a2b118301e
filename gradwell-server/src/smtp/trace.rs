//! The trace fields added to every delivered message: `Return-Path:` (RFC 5321 §4.4, added
//! at final delivery) and `Received:` (RFC 5321 §4.4, protocol names from RFC 3848).

use std::{net::IpAddr, time::SystemTime};

/// What one `Received:` field says.
#[derive(Debug)]
pub struct Trace<'a> {
    /// The envelope sender, empty for `<>`.
    pub sender: &'a str,
    /// The name the client gave in HELO/EHLO/LHLO.
    pub helo: &'a str,
    /// The client's address.
    pub peer: IpAddr,
    /// Our host name.
    pub hostname: &'a str,
    /// `SMTP`, `ESMTP`, `ESMTPS`, `LMTP`, … (RFC 3848).
    pub protocol: &'a str,
    /// Session or queue ID.
    pub id: &'a str,
    /// When the message arrived.
    pub date: SystemTime,
}

impl Trace<'_> {
    /// The fields, each ending in CRLF, ready to prepend.
    pub fn render(&self) -> Vec<u8> {
        let mut out = format!("Return-Path: <{}>\r\n", self.sender).into_bytes();
        out.extend_from_slice(&self.render_received());
        out
    }

    /// Only the `Received:` field: what a relay adds (`Return-Path:` belongs to final
    /// delivery, RFC 5321 §4.4).
    pub fn render_received(&self) -> Vec<u8> {
        let helo: String = self
            .helo
            .chars()
            .filter(|c| !c.is_control() && !matches!(c, '(' | ')' | ';'))
            .collect();
        format!(
            "Received: from {helo} ([{}])\r\n\tby {} (Gradwell) with {} id {};\r\n\t{}\r\n",
            self.peer,
            self.hostname,
            self.protocol,
            self.id,
            rfc5322_date(self.date)
        )
        .into_bytes()
    }
}

/// `Sun, 29 Nov 2026 01:02:03 +0000` (RFC 5322 §3.3), in UTC.
pub fn rfc5322_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(m - 1) as usize];
    format!(
        "{weekday}, {d} {month} {y} {:02}:{:02}:{:02} +0000",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month 1–12, day 1–31), proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days` algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_known_answers() {
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(rfc5322_date(at(0)), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(at(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 +0000"
        );
        assert_eq!(
            rfc5322_date(at(1_795_914_123)),
            "Sun, 29 Nov 2026 01:02:03 +0000"
        );
    }

    #[test]
    fn received_field_is_well_formed() {
        let t = Trace {
            sender: "a@example.net",
            helo: "client (evil)\r\nX: y",
            peer: "192.0.2.1".parse().unwrap(),
            hostname: "mx.example.test",
            protocol: "ESMTPS",
            id: "abc",
            date: SystemTime::UNIX_EPOCH,
        };
        let text = String::from_utf8(t.render()).unwrap();
        assert!(
            text.starts_with(
                "Return-Path: <a@example.net>\r\nReceived: from client evilX: y ([192.0.2.1])\r\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("with ESMTPS id abc;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n"));
        assert_eq!(text.matches("\r\n").count(), 4);
    }
}
