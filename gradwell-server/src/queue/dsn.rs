//! The delivery status notification (RFC 3464) for recipients that failed for good: a
//! `multipart/report` (RFC 6522) with a human-readable part, the `message/delivery-status`
//! part and the original header (`text/rfc822-headers`).

use std::time::SystemTime;

use super::store::{Envelope, RcptState};
use crate::smtp::trace::rfc5322_date;

/// Octets of the original message quoted (its header only).
pub const HEADER_LIMIT: usize = 64 * 1024;

/// The enhanced status code in a reply such as `550 5.1.1 No such user` (or a note that
/// starts with one, `4.4.7 expired`), or a fallback from the basic code.
fn status_of(reply: &str) -> String {
    let enhanced = |w: &str| {
        w.split('.').count() == 3
            && w.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            && (w.starts_with('4') || w.starts_with('5'))
    };
    let words: Vec<&str> = reply.split_whitespace().take(2).collect();
    if let Some(w) = words.iter().find(|w| enhanced(w)) {
        return (*w).to_owned();
    }
    if reply.starts_with('4') {
        "4.0.0".to_owned()
    } else {
        "5.0.0".to_owned()
    }
}

/// The header of the original message: up to its first empty line.
fn header_of(original: &[u8]) -> &[u8] {
    let end = original
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 2)
        .unwrap_or(original.len());
    &original[..end]
}

/// Builds the DSN for the failed recipients of `envelope`; `original` is the start of the
/// queued content.
pub fn render(hostname: &str, envelope: &Envelope, original: &[u8], now: SystemTime) -> Vec<u8> {
    let boundary = format!("{}.dsn/{hostname}", envelope.id);
    let arrival = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(envelope.created);
    let failed: Vec<_> = envelope
        .recipients
        .iter()
        .filter(|r| r.state == RcptState::Failed)
        .collect();
    let mut out = String::new();
    out.push_str(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@{hostname}>\r\n\
         To: <{}>\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         Date: {}\r\n\
         Message-ID: <{}.dsn@{hostname}>\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status;\r\n\
         \tboundary=\"{boundary}\"\r\n\
         \r\n\
         This is a MIME-encapsulated delivery status notification.\r\n\
         \r\n--{boundary}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Your message could not be delivered to these recipients:\r\n\r\n",
        envelope.sender,
        rfc5322_date(now),
        envelope.id,
    ));
    for r in &failed {
        out.push_str(&format!(
            "  <{}>: {}\r\n",
            r.address,
            r.last_reply.as_deref().unwrap_or("failed")
        ));
    }
    // RFC 3464 §2.2: per-message fields, then a blank line and per-recipient groups.
    out.push_str(&format!(
        "\r\n--{boundary}\r\n\
         Content-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; {hostname}\r\n\
         X-Gradwell-Queue-ID: {}\r\n\
         Arrival-Date: {}\r\n",
        envelope.id,
        rfc5322_date(arrival),
    ));
    for r in &failed {
        let reply = r.last_reply.as_deref().unwrap_or("550 5.0.0 failed");
        out.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {}\r\n\
             Action: failed\r\n\
             Status: {}\r\n",
            r.address,
            status_of(reply),
        ));
        // RFC 3464 §2.3.6: the diagnostic is the remote reply, when there was one.
        if reply.starts_with(['4', '5']) && reply.as_bytes().get(3) == Some(&b' ') {
            out.push_str(&format!("Diagnostic-Code: smtp; {reply}\r\n"));
        }
    }
    out.push_str(&format!(
        "\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(header_of(original));
    bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::store::Recipient;

    #[test]
    fn report_names_each_failed_recipient_once() {
        let envelope = Envelope {
            id: "00ab".into(),
            sender: "alice@example.test".into(),
            recipients: vec![
                Recipient {
                    address: "x@far.example".into(),
                    state: RcptState::Failed,
                    last_reply: Some("550 5.1.1 No such user".into()),
                },
                Recipient {
                    address: "y@far.example".into(),
                    state: RcptState::Delivered,
                    last_reply: Some("250 2.0.0 OK".into()),
                },
                Recipient {
                    address: "z@far.example".into(),
                    state: RcptState::Failed,
                    last_reply: Some("4.4.7 message expired in the queue".into()),
                },
            ],
            created: 0,
            attempts: 3,
            next_attempt: 0,
            held: false,
            size: 10,
            version: 1,
        };
        let dsn = render(
            "mx.example.test",
            &envelope,
            b"Subject: hi\r\nFrom: alice@example.test\r\n\r\nsecret body\r\n",
            SystemTime::UNIX_EPOCH,
        );
        let text = String::from_utf8(dsn).unwrap();
        assert!(text.contains("Content-Type: multipart/report; report-type=delivery-status"));
        assert!(text.contains("Final-Recipient: rfc822; x@far.example\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 No such user"));
        assert!(text.contains(
            "Final-Recipient: rfc822; z@far.example\r\nAction: failed\r\nStatus: 4.4.7\r\n"
        ));
        assert!(!text.contains("y@far.example"));
        assert!(text.contains("Subject: hi\r\n"));
        assert!(!text.contains("secret body"), "only the header is returned");
        assert!(text.ends_with("--\r\n"));
    }
}
