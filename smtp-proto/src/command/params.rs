//! MAIL FROM and RCPT TO parameters: SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8
//! (RFC 6531), RET/ENVID/NOTIFY/ORCPT (RFC 3461), AUTH= (RFC 4954), REQUIRETLS (RFC 8689).

use std::{borrow::Cow, fmt};

use crate::address::AddressError;

/// `BODY=` of MAIL FROM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    /// `BODY=7BIT` (RFC 6152).
    SevenBit,
    /// `BODY=8BITMIME` (RFC 6152).
    EightBitMime,
    /// `BODY=BINARYMIME` (RFC 3030); the message must be sent with BDAT.
    BinaryMime,
}

impl Body {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Body::SevenBit => "7BIT",
            Body::EightBitMime => "8BITMIME",
            Body::BinaryMime => "BINARYMIME",
        }
    }
}

/// `RET=` of MAIL FROM (RFC 3461 §4.3): what a delivery status notification returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// `RET=FULL`: the whole message.
    Full,
    /// `RET=HDRS`: the headers only.
    Headers,
}

/// A value in xtext (RFC 3461 §4), kept in wire form.
///
/// "xtext = *( xchar / hexchar ) ... xchar = any ASCII CHAR between "!" (33) and "~" (126)
/// inclusive, except for "+" and "=". ... hexchar = ASCII "+" immediately followed by two upper
/// case hexadecimal digits"
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct XText<'a>(Cow<'a, str>);

impl<'a> XText<'a> {
    /// Validates a value already in xtext form.
    pub fn from_wire(text: &'a str) -> Result<Self, AddressError> {
        if is_xtext(text.as_bytes()) {
            Ok(XText(Cow::Borrowed(text)))
        } else {
            Err(AddressError::Syntax("xtext"))
        }
    }

    /// Encodes arbitrary octets as xtext.
    pub fn encode(raw: &[u8]) -> XText<'static> {
        let mut out = String::with_capacity(raw.len());
        for &b in raw {
            if (33..=126).contains(&b) && b != b'+' && b != b'=' {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("+{b:02X}"));
            }
        }
        XText(Cow::Owned(out))
    }

    /// The octets this xtext stands for.
    pub fn decode(&self) -> Vec<u8> {
        let bytes = self.0.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            // Validated on construction: every '+' is followed by two hex digits.
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
                (b'+', Some(v)) => {
                    out.push(v);
                    i += 3;
                }
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        out
    }

    /// The wire form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Copies borrowed text so the value outlives the input buffer.
    pub fn into_owned(self) -> XText<'static> {
        XText(Cow::Owned(self.0.into_owned()))
    }
}

impl fmt::Debug for XText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "XText({:?})", self.as_str())
    }
}

fn is_xtext(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                let hex = bytes.get(i + 1..i + 3);
                if !hex.is_some_and(|h| h.iter().all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F'))) {
                    return false;
                }
                i += 3;
            }
            b'=' => return false,
            33..=126 => i += 1,
            _ => return false,
        }
    }
    true
}

/// `AUTH=` of MAIL FROM (RFC 4954 §5): who submitted the message, or `<>` for unknown.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuthParam<'a> {
    /// `AUTH=<>`.
    Unknown,
    /// `AUTH=xtext`, the authorized identity.
    Identity(XText<'a>),
}

/// `NOTIFY=` of RCPT TO (RFC 3461 §4.1): "NEVER" or a set of conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Notify {
    /// `SUCCESS`.
    pub success: bool,
    /// `FAILURE`.
    pub failure: bool,
    /// `DELAY`.
    pub delay: bool,
}

impl Notify {
    /// `NOTIFY=NEVER`: all three flags off.
    pub const NEVER: Notify = Notify {
        success: false,
        failure: false,
        delay: false,
    };
}

/// `ORCPT=addr-type;xtext` of RCPT TO (RFC 3461 §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Orcpt<'a> {
    addr_type: Cow<'a, str>,
    address: XText<'a>,
}

impl<'a> Orcpt<'a> {
    /// Builds the parameter; `addr_type` is an atom such as `rfc822` or `utf-8`.
    pub fn new(addr_type: &'a str, address: XText<'a>) -> Result<Self, AddressError> {
        if addr_type.is_empty() || !addr_type.bytes().all(is_esmtp_keyword_char) {
            return Err(AddressError::Syntax("ORCPT address type"));
        }
        Ok(Orcpt {
            addr_type: Cow::Borrowed(addr_type),
            address,
        })
    }

    /// The address type, e.g. `rfc822`.
    pub fn addr_type(&self) -> &str {
        &self.addr_type
    }

    /// The original recipient in xtext.
    pub fn address(&self) -> &XText<'a> {
        &self.address
    }

    /// Copies borrowed text so the value outlives the input buffer.
    pub fn into_owned(self) -> Orcpt<'static> {
        Orcpt {
            addr_type: Cow::Owned(self.addr_type.into_owned()),
            address: self.address.into_owned(),
        }
    }
}

/// An ESMTP parameter this crate has no type for: `esmtp-keyword ["=" esmtp-value]`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EsmtpParam<'a> {
    keyword: Cow<'a, str>,
    value: Option<Cow<'a, str>>,
}

impl<'a> EsmtpParam<'a> {
    /// Validates `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")` and
    /// `esmtp-value = 1*(%d33-60 / %d62-126)` (plus UTF-8 per RFC 6531). Keywords that have
    /// a typed field in [`MailParams`] or [`RcptParams`] are refused, so the same parameter
    /// cannot be written twice.
    pub fn new(keyword: &'a str, value: Option<&'a str>) -> Result<Self, AddressError> {
        let valid_keyword = keyword
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphanumeric)
            && keyword.bytes().all(is_esmtp_keyword_char);
        if !valid_keyword
            || KNOWN_KEYWORDS
                .iter()
                .any(|k| k.eq_ignore_ascii_case(keyword))
        {
            return Err(AddressError::Syntax("esmtp-keyword"));
        }
        if let Some(v) = value
            && (v.is_empty() || !v.bytes().all(is_esmtp_value_char))
        {
            return Err(AddressError::Syntax("esmtp-value"));
        }
        Ok(EsmtpParam {
            keyword: Cow::Borrowed(keyword),
            value: value.map(Cow::Borrowed),
        })
    }

    /// The keyword as sent.
    pub fn keyword(&self) -> &str {
        &self.keyword
    }

    /// The value, if any.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// Copies borrowed text so the value outlives the input buffer.
    pub fn into_owned(self) -> EsmtpParam<'static> {
        EsmtpParam {
            keyword: Cow::Owned(self.keyword.into_owned()),
            value: self.value.map(|v| Cow::Owned(v.into_owned())),
        }
    }
}

impl fmt::Debug for EsmtpParam<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "EsmtpParam({}={v})", self.keyword),
            None => write!(f, "EsmtpParam({})", self.keyword),
        }
    }
}

/// Keywords with a typed field; [`EsmtpParam`] refuses them.
pub(crate) const KNOWN_KEYWORDS: &[&str] = &[
    "SIZE",
    "BODY",
    "SMTPUTF8",
    "RET",
    "ENVID",
    "AUTH",
    "REQUIRETLS",
    "NOTIFY",
    "ORCPT",
];

pub(crate) fn is_esmtp_keyword_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

pub(crate) fn is_esmtp_value_char(b: u8) -> bool {
    matches!(b, 33..=60 | 62..=126 | 0x80..=0xff)
}

/// Parameters of MAIL FROM.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MailParams<'a> {
    /// `SIZE=n`, the declared message size (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=`.
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `RET=` (RFC 3461).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461).
    pub envid: Option<XText<'a>>,
    /// `AUTH=` (RFC 4954).
    pub auth: Option<AuthParam<'a>>,
    /// `REQUIRETLS` (RFC 8689).
    pub requiretls: bool,
    /// Any other parameter, in order.
    pub other: Vec<EsmtpParam<'a>>,
}

impl MailParams<'_> {
    /// Copies borrowed text so the value outlives the input buffer.
    pub fn into_owned(self) -> MailParams<'static> {
        MailParams {
            size: self.size,
            body: self.body,
            smtputf8: self.smtputf8,
            ret: self.ret,
            envid: self.envid.map(XText::into_owned),
            auth: self.auth.map(|a| match a {
                AuthParam::Unknown => AuthParam::Unknown,
                AuthParam::Identity(x) => AuthParam::Identity(x.into_owned()),
            }),
            requiretls: self.requiretls,
            other: self.other.into_iter().map(EsmtpParam::into_owned).collect(),
        }
    }
}

/// Parameters of RCPT TO.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RcptParams<'a> {
    /// `NOTIFY=` (RFC 3461).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461).
    pub orcpt: Option<Orcpt<'a>>,
    /// Any other parameter, in order.
    pub other: Vec<EsmtpParam<'a>>,
}

impl RcptParams<'_> {
    /// Copies borrowed text so the value outlives the input buffer.
    pub fn into_owned(self) -> RcptParams<'static> {
        RcptParams {
            notify: self.notify,
            orcpt: self.orcpt.map(Orcpt::into_owned),
            other: self.other.into_iter().map(EsmtpParam::into_owned).collect(),
        }
    }
}

/// Splits `keyword=value` parameters; shared by the MAIL and RCPT parsers.
pub(crate) fn split_params(text: &[u8]) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
    text.split(|&b| b == b' ')
        .filter(|t| !t.is_empty())
        .map(|token| match memchr::memchr(b'=', token) {
            Some(eq) => (&token[..eq], Some(&token[eq + 1..])),
            None => (token, None),
        })
}
