//! Mailboxes, domains and the paths of MAIL FROM and RCPT TO (RFC 5321 §4.1.2), with the
//! UTF-8 forms of RFC 6531.
//!
//! Values keep their wire form (a quoted local part keeps its quotes), so encoding gives the
//! same octets back and parsing can borrow from the input.

use std::{
    borrow::Cow,
    fmt,
    net::{Ipv4Addr, Ipv6Addr},
};

/// RFC 5321 §4.5.3.1.3: "The maximum total length of a reverse-path or forward-path is 256
/// octets (including the punctuation and element separators)."
pub const MAX_PATH_LEN: usize = 256;
/// RFC 5321 §4.5.3.1.2: "The maximum total length of a domain name or number is 255 octets."
pub const MAX_DOMAIN_LEN: usize = 255;

/// Why a mailbox, domain or path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// The text does not follow the RFC 5321 / RFC 6531 grammar; the message names the rule.
    #[error("invalid {0}")]
    Syntax(&'static str),
    /// Longer than the RFC 5321 §4.5.3.1 limits.
    #[error("{0} too long")]
    TooLong(&'static str),
}

/// The host part of EHLO/HELO/LHLO or of a mailbox: a domain name or an address literal.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Domain<'a>(Cow<'a, str>);

impl<'a> Domain<'a> {
    /// The domain as sent, e.g. `mail.example.org` or `[192.0.2.1]`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is an address literal such as `[IPv6:2001:db8::1]`.
    pub fn is_address_literal(&self) -> bool {
        self.0.starts_with('[')
    }

    /// Copies borrowed text so the value outlives the input buffer.
    pub fn into_owned(self) -> Domain<'static> {
        Domain(Cow::Owned(self.0.into_owned()))
    }

    /// Parses a domain or address literal at the start of `input`; returns it and its length.
    pub(crate) fn parse_prefix(input: &'a [u8]) -> Result<(Self, usize), AddressError> {
        let len = if input.first() == Some(&b'[') {
            address_literal_len(input)?
        } else {
            domain_name_len(input)?
        };
        if len > MAX_DOMAIN_LEN {
            return Err(AddressError::TooLong("domain"));
        }
        let text = utf8(&input[..len], "domain")?;
        Ok((Domain(Cow::Borrowed(text)), len))
    }
}

impl<'a> TryFrom<&'a str> for Domain<'a> {
    type Error = AddressError;
    fn try_from(value: &'a str) -> Result<Self, Self::Error> {
        let (domain, len) = Domain::parse_prefix(value.as_bytes())?;
        if len != value.len() {
            return Err(AddressError::Syntax("domain"));
        }
        Ok(domain)
    }
}

impl fmt::Debug for Domain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Domain({:?})", self.as_str())
    }
}

impl fmt::Display for Domain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )` in wire form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mailbox<'a> {
    raw: Cow<'a, str>,
    at: usize,
}

impl<'a> Mailbox<'a> {
    /// The whole mailbox as sent, `local@domain`.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The local part in wire form (quoted local parts keep their quotes and escapes).
    pub fn local_part(&self) -> &str {
        // `at` is the index of an ASCII '@' found by the parser, so both halves are in bounds
        // and on char boundaries.
        &self.raw[..self.at]
    }

    /// The domain or address literal after the `@`.
    pub fn domain(&self) -> &str {
        &self.raw[self.at + 1..]
    }

    /// Whether the mailbox is pure ASCII; a non-ASCII mailbox needs SMTPUTF8 (RFC 6531).
    pub fn is_ascii(&self) -> bool {
        self.raw.is_ascii()
    }

    /// Copies borrowed text so the value outlives the input buffer.
    pub fn into_owned(self) -> Mailbox<'static> {
        Mailbox {
            raw: Cow::Owned(self.raw.into_owned()),
            at: self.at,
        }
    }

    /// Parses a mailbox at the start of `input`; returns it and its length.
    pub(crate) fn parse_prefix(input: &'a [u8]) -> Result<(Self, usize), AddressError> {
        let local = local_part_len(input)?;
        if input.get(local) != Some(&b'@') {
            return Err(AddressError::Syntax("mailbox: expected '@'"));
        }
        let host_start = local + 1;
        let host = input.get(host_start..).unwrap_or_default();
        let host_len = if host.first() == Some(&b'[') {
            address_literal_len(host)?
        } else {
            domain_name_len(host)?
        };
        let len = host_start + host_len;
        let raw = utf8(&input[..len], "mailbox")?;
        Ok((
            Mailbox {
                raw: Cow::Borrowed(raw),
                at: local,
            },
            len,
        ))
    }
}

impl<'a> TryFrom<&'a str> for Mailbox<'a> {
    type Error = AddressError;
    fn try_from(value: &'a str) -> Result<Self, Self::Error> {
        let (mailbox, len) = Mailbox::parse_prefix(value.as_bytes())?;
        if len != value.len() {
            return Err(AddressError::Syntax("mailbox"));
        }
        if len + 2 > MAX_PATH_LEN {
            return Err(AddressError::TooLong("path"));
        }
        Ok(mailbox)
    }
}

impl fmt::Debug for Mailbox<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mailbox({:?})", self.as_str())
    }
}

impl fmt::Display for Mailbox<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The argument of MAIL FROM: `Reverse-path = Path / "<>"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReversePath<'a> {
    /// `<>`, used by bounces (RFC 5321 §4.5.5).
    Null,
    /// `<mailbox>`.
    Mailbox(Mailbox<'a>),
}

impl ReversePath<'_> {
    /// Copies borrowed text so the value outlives the input buffer.
    pub fn into_owned(self) -> ReversePath<'static> {
        match self {
            ReversePath::Null => ReversePath::Null,
            ReversePath::Mailbox(m) => ReversePath::Mailbox(m.into_owned()),
        }
    }

    /// Whether the path is pure ASCII.
    pub fn is_ascii(&self) -> bool {
        match self {
            ReversePath::Null => true,
            ReversePath::Mailbox(m) => m.is_ascii(),
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.push(b'<');
        if let ReversePath::Mailbox(m) = self {
            out.extend_from_slice(m.as_str().as_bytes());
        }
        out.push(b'>');
    }
}

/// The argument of RCPT TO: `<Postmaster>` or a forward path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ForwardPath<'a> {
    /// `<Postmaster>` without a domain, which every server must accept (RFC 5321 §4.5.1).
    Postmaster,
    /// `<mailbox>`, including `<Postmaster@domain>`.
    Mailbox(Mailbox<'a>),
}

impl ForwardPath<'_> {
    /// Copies borrowed text so the value outlives the input buffer.
    pub fn into_owned(self) -> ForwardPath<'static> {
        match self {
            ForwardPath::Postmaster => ForwardPath::Postmaster,
            ForwardPath::Mailbox(m) => ForwardPath::Mailbox(m.into_owned()),
        }
    }

    /// Whether the path is pure ASCII.
    pub fn is_ascii(&self) -> bool {
        match self {
            ForwardPath::Postmaster => true,
            ForwardPath::Mailbox(m) => m.is_ascii(),
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ForwardPath::Postmaster => out.extend_from_slice(b"<Postmaster>"),
            ForwardPath::Mailbox(m) => {
                out.push(b'<');
                out.extend_from_slice(m.as_str().as_bytes());
                out.push(b'>');
            }
        }
    }
}

/// Parses `"<" [ A-d-l ":" ] Mailbox ">"` or `<>` at the start of `input`.
///
/// RFC 5321 §3.3: "Servers MUST be prepared to encounter a list of source routes in the
/// forward-path, but they SHOULD ignore the routes or MAY decline to support the relaying
/// they imply." The route is parsed and dropped. Returns `None` for `<>`.
pub(crate) fn parse_path(input: &[u8]) -> Result<(Option<Mailbox<'_>>, usize), AddressError> {
    if input.first() != Some(&b'<') {
        return Err(AddressError::Syntax("path: expected '<'"));
    }
    let mut pos = 1;
    if input.get(pos) == Some(&b'>') {
        return Ok((None, 2));
    }
    if input.get(pos) == Some(&b'@') {
        // A-d-l = At-domain *( "," At-domain ) ; At-domain = "@" Domain
        loop {
            if input.get(pos) != Some(&b'@') {
                return Err(AddressError::Syntax("source route"));
            }
            pos += 1;
            pos += domain_name_len(&input[pos..])?;
            match input.get(pos) {
                Some(b',') => pos += 1,
                Some(b':') => {
                    pos += 1;
                    break;
                }
                _ => return Err(AddressError::Syntax("source route")),
            }
        }
    }
    let (mailbox, len) = Mailbox::parse_prefix(&input[pos..])?;
    pos += len;
    if input.get(pos) != Some(&b'>') {
        return Err(AddressError::Syntax("path: expected '>'"));
    }
    pos += 1;
    if pos > MAX_PATH_LEN {
        return Err(AddressError::TooLong("path"));
    }
    Ok((Some(mailbox), pos))
}

fn utf8<'a>(bytes: &'a [u8], what: &'static str) -> Result<&'a str, AddressError> {
    std::str::from_utf8(bytes).map_err(|_| AddressError::Syntax(what))
}

/// Builds a 256-entry membership table at compile time.
const fn table(ascii: &[u8], non_ascii: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphanumeric() || (non_ascii && i >= 0x80);
        i += 1;
    }
    let mut j = 0;
    while j < ascii.len() {
        t[ascii[j] as usize] = true;
        j += 1;
    }
    t
}

/// RFC 5321 atext plus, per RFC 6531 §3.3, `UTF8-non-ascii` (checked as UTF-8 later).
static ATEXT: [bool; 256] = table(b"!#$%&'*+-/=?^_`{|}~", true);
/// Letters, digits and hyphen of `sub-domain`, plus U-label octets (RFC 6531 §3.3).
static LDH: [bool; 256] = table(b"-", true);

fn is_atext(b: u8) -> bool {
    ATEXT[usize::from(b)]
}

/// `Local-part = Dot-string / Quoted-string`; returns its length.
fn local_part_len(input: &[u8]) -> Result<usize, AddressError> {
    if input.first() == Some(&b'"') {
        // Quoted-string = DQUOTE *QcontentSMTP DQUOTE
        let mut pos = 1;
        loop {
            match input.get(pos) {
                Some(b'"') => return Ok(pos + 1),
                // quoted-pairSMTP = %d92 %d32-126
                Some(b'\\') => match input.get(pos + 1) {
                    Some(32..=126) => pos += 2,
                    _ => return Err(AddressError::Syntax("quoted local part")),
                },
                // qtextSMTP = %d32-33 / %d35-91 / %d93-126, plus UTF8-non-ascii (RFC 6531)
                Some(32..=126 | 0x80..=0xff) => pos += 1,
                _ => return Err(AddressError::Syntax("quoted local part")),
            }
        }
    }
    // Dot-string = Atom *("."  Atom)
    let mut pos = 0;
    loop {
        let atom = input[pos..].iter().take_while(|&&b| is_atext(b)).count();
        if atom == 0 {
            return Err(AddressError::Syntax("local part"));
        }
        pos += atom;
        if input.get(pos) == Some(&b'.') {
            pos += 1;
        } else {
            return Ok(pos);
        }
    }
}

/// `Domain = sub-domain *("." sub-domain)`, `sub-domain = Let-dig [Ldh-str]`, or a U-label
/// (RFC 6531 §3.3). Returns the length.
fn domain_name_len(input: &[u8]) -> Result<usize, AddressError> {
    let mut pos = 0;
    loop {
        let label = input[pos..]
            .iter()
            .take_while(|&&b| LDH[usize::from(b)])
            .count();
        let bytes = &input[pos..pos + label];
        if label == 0 || bytes.first() == Some(&b'-') || bytes.last() == Some(&b'-') {
            return Err(AddressError::Syntax("domain"));
        }
        pos += label;
        if input.get(pos) == Some(&b'.') {
            pos += 1;
        } else if pos > MAX_DOMAIN_LEN {
            return Err(AddressError::TooLong("domain"));
        } else {
            return Ok(pos);
        }
    }
}

/// `address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
/// General-address-literal ) "]"`; returns the length including brackets.
fn address_literal_len(input: &[u8]) -> Result<usize, AddressError> {
    let close = memchr::memchr(b']', input).ok_or(AddressError::Syntax("address literal"))?;
    let inner = &input[1..close];
    let valid = if let Some(v6) = strip_prefix_ignore_case(inner, b"IPv6:") {
        std::str::from_utf8(v6).is_ok_and(|s| s.parse::<Ipv6Addr>().is_ok())
    } else if inner.first().is_some_and(u8::is_ascii_digit) {
        std::str::from_utf8(inner).is_ok_and(|s| s.parse::<Ipv4Addr>().is_ok())
    } else {
        // General-address-literal = Standardized-tag ":" 1*dcontent
        match memchr::memchr(b':', inner) {
            Some(colon) => {
                let (tag, content) = (&inner[..colon], &inner[colon + 1..]);
                domain_name_len(tag).is_ok_and(|n| n == tag.len())
                    && !content.is_empty()
                    && content.iter().all(|&b| matches!(b, 33..=90 | 94..=126))
            }
            None => false,
        }
    };
    if valid {
        Ok(close + 1)
    } else {
        Err(AddressError::Syntax("address literal"))
    }
}

#[inline]
pub(crate) fn strip_prefix_ignore_case<'a>(input: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = input.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &input[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    type Expected = Result<(Option<&'static str>, usize), AddressError>;

    #[test]
    fn known_paths() {
        let table: &[(&[u8], Expected)] = &[
            (b"<>", Ok((None, 2))),
            (b"<a@b.c>", Ok((Some("a@b.c"), 7))),
            (
                b"<a.b@example.org> SIZE=1",
                Ok((Some("a.b@example.org"), 17)),
            ),
            (b"<@r1,@r2.x:u@x.y>", Ok((Some("u@x.y"), 17))),
            (b"<\"a b\\\"c\"@x>", Ok((Some("\"a b\\\"c\"@x"), 12))),
            (b"<u@[192.0.2.1]>", Ok((Some("u@[192.0.2.1]"), 15))),
            (
                b"<u@[IPv6:2001:db8::1]>",
                Ok((Some("u@[IPv6:2001:db8::1]"), 22)),
            ),
            (b"<u@[x-tag:abc]>", Ok((Some("u@[x-tag:abc]"), 15))),
            (
                "<δοκιμή@παράδειγμα.δοκιμή>".as_bytes(),
                Ok((Some("δοκιμή@παράδειγμα.δοκιμή"), 48)),
            ),
            (b"<u@LOCAL.>", Err(AddressError::Syntax("domain"))),
            (b"<u@-x>", Err(AddressError::Syntax("domain"))),
            (
                b"<u@[300.1.1.1]>",
                Err(AddressError::Syntax("address literal")),
            ),
            (b"<u..v@x>", Err(AddressError::Syntax("local part"))),
            (b"<u@x", Err(AddressError::Syntax("path: expected '>'"))),
            (b"u@x", Err(AddressError::Syntax("path: expected '<'"))),
            (
                b"<u@ext.test@local>",
                Err(AddressError::Syntax("path: expected '>'")),
            ),
            (b"<\xff@x>", Err(AddressError::Syntax("mailbox"))),
        ];
        for (input, expected) in table {
            let got = parse_path(input).map(|(m, n)| (m.map(|m| m.as_str().to_owned()), n));
            let expected = expected.map(|(m, n)| (m.map(str::to_owned), n));
            assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn path_length_limit() {
        let long = format!("<{}@x.y>", "a".repeat(251));
        assert_eq!(
            parse_path(long.as_bytes()).map(|_| ()),
            Err(AddressError::TooLong("path"))
        );
    }

    #[test]
    fn mailbox_parts() {
        let m = Mailbox::try_from("\"a@b\"@[IPv6:::1]").expect("valid mailbox");
        assert_eq!(m.local_part(), "\"a@b\"");
        assert_eq!(m.domain(), "[IPv6:::1]");
        assert!(Mailbox::try_from("a@b c").is_err());
        assert!(Domain::try_from("[127.0.0.1]").is_ok_and(|d| d.is_address_literal()));
    }
}
