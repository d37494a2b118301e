//! SASL PLAIN (RFC 4616), shared by POP3 and SMTP submission.

/// Decodes RFC 4616 PLAIN: `[authzid] NUL authcid NUL passwd`. An authorization identity
/// naming anyone but the authenticating user makes it fail: logging in as someone else is
/// not offered.
pub fn parse_plain(data: &[u8]) -> Option<(String, Vec<u8>)> {
    let mut parts = data.splitn(3, |&b| b == 0);
    let authzid = parts.next()?;
    let authcid = std::str::from_utf8(parts.next()?).ok()?;
    let password = parts.next()?;
    if !authzid.is_empty() && authzid != authcid.as_bytes() {
        return None;
    }
    Some((authcid.to_owned(), password.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::parse_plain;

    #[test]
    fn plain_known_answers() {
        assert_eq!(
            parse_plain(b"\0alice\0pw"),
            Some(("alice".into(), b"pw".to_vec()))
        );
        assert_eq!(
            parse_plain(b"alice\0alice\0pw"),
            Some(("alice".into(), b"pw".to_vec()))
        );
        assert_eq!(parse_plain(b"bob\0alice\0pw"), None);
        assert_eq!(parse_plain(b"alice\0pw"), None);
        assert_eq!(
            parse_plain(b"\0alice\0p\0w"),
            Some(("alice".into(), b"p\0w".to_vec()))
        );
    }
}
