//! Replies (RFC 5321 §4.2) with enhanced status codes (RFC 3463, RFC 2034): what a server
//! writes and a client parses.

use std::{borrow::Cow, fmt};

/// A three-digit reply code: first digit 2–5, second 0–5, third 0–9 (RFC 5321 §4.2.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplyCode(u16);

impl ReplyCode {
    /// 220 Service ready.
    pub const SERVICE_READY: ReplyCode = ReplyCode(220);
    /// 221 Closing transmission channel.
    pub const CLOSING: ReplyCode = ReplyCode(221);
    /// 235 Authentication succeeded (RFC 4954).
    pub const AUTH_SUCCEEDED: ReplyCode = ReplyCode(235);
    /// 250 Requested mail action okay, completed.
    pub const OK: ReplyCode = ReplyCode(250);
    /// 334 SASL challenge (RFC 4954).
    pub const AUTH_CHALLENGE: ReplyCode = ReplyCode(334);
    /// 354 Start mail input; end with `<CRLF>`.`<CRLF>`.
    pub const START_MAIL_INPUT: ReplyCode = ReplyCode(354);
    /// 421 Service not available, closing transmission channel.
    pub const SERVICE_NOT_AVAILABLE: ReplyCode = ReplyCode(421);
    /// 452 Requested action not taken: insufficient system storage.
    pub const INSUFFICIENT_STORAGE: ReplyCode = ReplyCode(452);
    /// 454 TLS not available due to temporary reason (RFC 3207).
    pub const TLS_NOT_AVAILABLE: ReplyCode = ReplyCode(454);
    /// 500 Syntax error, command unrecognized.
    pub const SYNTAX_ERROR: ReplyCode = ReplyCode(500);
    /// 501 Syntax error in parameters or arguments.
    pub const PARAMETER_SYNTAX_ERROR: ReplyCode = ReplyCode(501);
    /// 502 Command not implemented.
    pub const NOT_IMPLEMENTED: ReplyCode = ReplyCode(502);
    /// 503 Bad sequence of commands.
    pub const BAD_SEQUENCE: ReplyCode = ReplyCode(503);
    /// 504 Command parameter not implemented.
    pub const PARAMETER_NOT_IMPLEMENTED: ReplyCode = ReplyCode(504);
    /// 530 Must issue a STARTTLS command first / authentication required.
    pub const AUTH_REQUIRED: ReplyCode = ReplyCode(530);
    /// 535 Authentication credentials invalid (RFC 4954).
    pub const AUTH_FAILED: ReplyCode = ReplyCode(535);
    /// 550 Requested action not taken: mailbox unavailable.
    pub const MAILBOX_UNAVAILABLE: ReplyCode = ReplyCode(550);
    /// 552 Requested mail action aborted: exceeded storage allocation.
    pub const EXCEEDED_STORAGE: ReplyCode = ReplyCode(552);
    /// 553 Requested action not taken: mailbox name not allowed.
    pub const MAILBOX_NAME_NOT_ALLOWED: ReplyCode = ReplyCode(553);
    /// 554 Transaction failed.
    pub const TRANSACTION_FAILED: ReplyCode = ReplyCode(554);
    /// 555 MAIL FROM/RCPT TO parameters not recognized or not implemented.
    pub const PARAMETERS_NOT_RECOGNIZED: ReplyCode = ReplyCode(555);

    /// Validates a code: "2yz" to "5yz" with y in 0–5 (RFC 5321 §4.2.1).
    pub const fn new(code: u16) -> Option<ReplyCode> {
        let (first, second) = (code / 100, code / 10 % 10);
        if first >= 2 && first <= 5 && second <= 5 {
            Some(ReplyCode(code))
        } else {
            None
        }
    }

    /// The number.
    pub fn get(self) -> u16 {
        self.0
    }

    /// The first digit: 2 positive completion, 3 intermediate, 4 transient, 5 permanent.
    pub fn class(self) -> u8 {
        (self.0 / 100) as u8
    }

    /// 2yz.
    pub fn is_positive(self) -> bool {
        self.class() == 2
    }

    /// 3yz.
    pub fn is_intermediate(self) -> bool {
        self.class() == 3
    }
}

impl fmt::Debug for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplyCode({})", self.0)
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An enhanced mail system status code `class.subject.detail` (RFC 3463 §2): "class =
/// "2"/"4"/"5"", "subject = 1*3digit", "detail = 1*3digit".
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedStatus {
    class: u8,
    subject: u16,
    detail: u16,
}

impl EnhancedStatus {
    /// Validates the three parts.
    pub const fn new(class: u8, subject: u16, detail: u16) -> Option<EnhancedStatus> {
        if (class == 2 || class == 4 || class == 5) && subject <= 999 && detail <= 999 {
            Some(EnhancedStatus {
                class,
                subject,
                detail,
            })
        } else {
            None
        }
    }

    /// 2, 4 or 5.
    pub fn class(self) -> u8 {
        self.class
    }

    /// The subject number.
    pub fn subject(self) -> u16 {
        self.subject
    }

    /// The detail number.
    pub fn detail(self) -> u16 {
        self.detail
    }

    /// Reads `c.s.d` at the start of `text`, followed by a space or the end; returns the
    /// status and the octets to skip. Leading zeros are refused so each status has one form.
    fn parse_prefix(text: &str) -> Option<(EnhancedStatus, usize)> {
        let end = text.find(' ').unwrap_or(text.len());
        let mut parts = text[..end].split('.');
        let mut number = |max_len: usize| -> Option<u16> {
            let p = parts.next()?;
            let canonical = !p.is_empty()
                && p.len() <= max_len
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p == "0" || !p.starts_with('0'));
            canonical.then(|| p.parse().ok())?
        };
        let (class, subject, detail) = (number(1)?, number(3)?, number(3)?);
        if parts.next().is_some() {
            return None;
        }
        let status = EnhancedStatus::new(u8::try_from(class).ok()?, subject, detail)?;
        Some((status, (end + 1).min(text.len())))
    }
}

impl fmt::Debug for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnhancedStatus({self})")
    }
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// Why a reply could not be built or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// No complete reply yet; read more input.
    #[error("incomplete reply")]
    Incomplete,
    /// A line longer than the text line limit.
    #[error("reply line too long")]
    LineTooLong,
    /// More lines than [`crate::Options::max_reply_lines`].
    #[error("too many reply lines")]
    TooManyLines,
    /// Not a reply: bad code, code changing between lines, bare LF, CR or LF inside text.
    #[error("malformed reply: {0}")]
    Malformed(&'static str),
}

/// A complete reply: a code, an optional enhanced status and one or more text lines.
#[derive(Clone, PartialEq, Eq)]
pub struct Reply<'a> {
    code: ReplyCode,
    status: Option<EnhancedStatus>,
    lines: Vec<Cow<'a, str>>,
}

impl<'a> Reply<'a> {
    /// Builds a reply. Lines must not contain CR or LF; there must be at least one; the
    /// status class must equal the code class (RFC 3463 §2: the class "indicates" the same
    /// outcome as the reply code); without a status, the first line must not start with
    /// something that reads as one, or decoding would differ.
    pub fn new<L: Into<Cow<'a, str>>>(
        code: ReplyCode,
        status: Option<EnhancedStatus>,
        lines: impl IntoIterator<Item = L>,
    ) -> Result<Self, ReplyError> {
        let lines: Vec<Cow<'a, str>> = lines.into_iter().map(Into::into).collect();
        let Some(first) = lines.first() else {
            return Err(ReplyError::Malformed("no text line"));
        };
        if lines.iter().any(|l| l.contains(['\r', '\n'])) {
            return Err(ReplyError::Malformed("CR or LF in text"));
        }
        match status {
            Some(s) if s.class != code.class() => {
                return Err(ReplyError::Malformed(
                    "status class differs from code class",
                ));
            }
            None if status_on(code, first).is_some() => {
                return Err(ReplyError::Malformed("text starts like an enhanced status"));
            }
            _ => {}
        }
        Ok(Reply {
            code,
            status,
            lines,
        })
    }

    /// A one-line reply from text this crate controls. Every caller passes literals; the
    /// debug assertion re-checks them whenever the tests reach that reply.
    pub(crate) fn fixed(
        code: u16,
        status: Option<(u8, u16, u16)>,
        text: &'static str,
    ) -> Reply<'static> {
        debug_assert!(
            ReplyCode::new(code).is_some()
                && status.is_none_or(|(class, s, d)| {
                    EnhancedStatus::new(class, s, d).is_some() && class == (code / 100) as u8
                })
                && !text.contains(['\r', '\n']),
            "invalid fixed reply {code} {text}"
        );
        Reply {
            code: ReplyCode(code),
            status: status.map(|(class, subject, detail)| EnhancedStatus {
                class,
                subject,
                detail,
            }),
            lines: vec![Cow::Borrowed(text)],
        }
    }

    /// The code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The enhanced status, if the reply carries one.
    pub fn status(&self) -> Option<EnhancedStatus> {
        self.status
    }

    /// The text lines, without code and status.
    pub fn lines(&self) -> &[Cow<'a, str>] {
        &self.lines
    }

    /// Copies borrowed text so the value outlives the input buffer.
    pub fn into_owned(self) -> Reply<'static> {
        Reply {
            code: self.code,
            status: self.status,
            lines: self
                .lines
                .into_iter()
                .map(|l| Cow::Owned(l.into_owned()))
                .collect(),
        }
    }

    /// Appends the reply, every line CRLF-terminated, to `out`.
    ///
    /// RFC 5321 §4.2.1: "The format for multiline replies requires that every line, except
    /// the last, begin with the reply code, followed immediately by a hyphen, "-" (also known
    /// as minus), followed by text. The last line will begin with the reply code, followed
    /// immediately by `<SP>`, optionally some text, and `<CRLF>`."
    pub fn encode(&self, out: &mut Vec<u8>) {
        let last = self.lines.len() - 1;
        for (i, line) in self.lines.iter().enumerate() {
            out.extend_from_slice(self.code.0.to_string().as_bytes());
            out.push(if i == last { b' ' } else { b'-' });
            if let Some(status) = self.status {
                out.extend_from_slice(status.to_string().as_bytes());
                out.push(b' ');
            }
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

impl fmt::Debug for Reply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("code", &self.code.0)
            .field("status", &self.status.map(|s| s.to_string()))
            .field("lines", &self.lines)
            .finish()
    }
}

/// An enhanced status at the start of `text` that fits `code` (RFC 2034 §4: "All status codes
/// returned by the server must agree with the primary response code").
fn status_on(code: ReplyCode, text: &str) -> Option<(EnhancedStatus, usize)> {
    EnhancedStatus::parse_prefix(text).filter(|(s, _)| s.class == code.class())
}

/// Decodes one complete, possibly multi-line, reply from the start of `input`.
///
/// `max_line` bounds each line (CRLF included), `max_lines` the number of lines. Every strict
/// prefix of a valid reply is [`ReplyError::Incomplete`].
pub fn decode_reply(
    input: &[u8],
    max_line: usize,
    max_lines: usize,
) -> Result<(&[u8], Reply<'_>), ReplyError> {
    let mut pos = 0;
    let mut code = None;
    let mut status = None;
    let mut lines = Vec::new();
    loop {
        let rest = &input[pos..];
        let window = &rest[..rest.len().min(max_line)];
        let Some(lf) = memchr::memchr(b'\n', window) else {
            return Err(if rest.len() >= max_line {
                ReplyError::LineTooLong
            } else {
                // Even a partial line must start like a reply line, so garbage is reported
                // at once rather than after the limit.
                check_partial(rest, code)?;
                ReplyError::Incomplete
            });
        };
        let Some(line) = lf
            .checked_sub(1)
            .filter(|&cr| rest[cr] == b'\r')
            .map(|cr| &rest[..cr])
        else {
            return Err(ReplyError::Malformed("line not ended by CRLF"));
        };
        let (this_code, more, text) = split_reply_line(line)?;
        if code.is_some_and(|c| c != this_code) {
            return Err(ReplyError::Malformed("reply code changes between lines"));
        }
        if lines.len() == max_lines {
            return Err(ReplyError::TooManyLines);
        }
        let text = match String::from_utf8_lossy(text) {
            Cow::Borrowed(t) => t,
            Cow::Owned(_) => return Err(ReplyError::Malformed("text is not UTF-8")),
        };
        if text.contains('\r') {
            return Err(ReplyError::Malformed("CR in text"));
        }
        let text = if lines.is_empty() {
            match status_on(this_code, text) {
                Some((s, skip)) => {
                    status = Some(s);
                    &text[skip..]
                }
                None => text,
            }
        } else {
            match (status, status_on(this_code, text)) {
                (Some(s), Some((found, skip))) if s == found => &text[skip..],
                _ => text,
            }
        };
        code = Some(this_code);
        lines.push(Cow::Borrowed(text));
        pos += lf + 1;
        if !more {
            return Ok((
                &input[pos..],
                Reply {
                    code: this_code,
                    status,
                    lines,
                },
            ));
        }
    }
}

/// `Reply-code [ ( "-" / SP ) textstring ]`: the code, whether more lines follow, the text.
fn split_reply_line(line: &[u8]) -> Result<(ReplyCode, bool, &[u8]), ReplyError> {
    let code = line
        .get(..3)
        .filter(|d| d.iter().all(u8::is_ascii_digit))
        .and_then(|d| ReplyCode::new(d.iter().fold(0, |n, &b| n * 10 + u16::from(b - b'0'))))
        .ok_or(ReplyError::Malformed("reply code"))?;
    match line.get(3) {
        None => Ok((code, false, b"")),
        Some(b' ') => Ok((code, false, &line[4..])),
        Some(b'-') => Ok((code, true, &line[4..])),
        Some(_) => Err(ReplyError::Malformed("separator after reply code")),
    }
}

/// Rejects a partial line that can no longer become a reply line.
fn check_partial(rest: &[u8], code: Option<ReplyCode>) -> Result<(), ReplyError> {
    let head = &rest[..rest.len().min(3)];
    if !head.iter().all(u8::is_ascii_digit) {
        return Err(ReplyError::Malformed("reply code"));
    }
    if let Some(code) = code {
        let expected = code.0.to_string();
        if !expected.as_bytes().starts_with(head) {
            return Err(ReplyError::Malformed("reply code changes between lines"));
        }
    }
    match rest.get(3) {
        None | Some(b' ' | b'-') => Ok(()),
        Some(b'\r') if rest.len() == 4 => Ok(()),
        Some(_) => Err(ReplyError::Malformed("separator after reply code")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_prefixes_incomplete;

    fn reply(code: u16, status: Option<(u8, u16, u16)>, lines: &[&'static str]) -> Reply<'static> {
        Reply::new(
            ReplyCode::new(code).expect("valid code"),
            status.map(|(c, s, d)| EnhancedStatus::new(c, s, d).expect("valid status")),
            lines.iter().copied(),
        )
        .expect("valid reply")
    }

    #[test]
    fn known_replies() {
        let table: &[(&[u8], Reply<'static>)] = &[
            (
                b"220 mx.example ESMTP\r\n",
                reply(220, None, &["mx.example ESMTP"]),
            ),
            (b"250\r\n", reply(250, None, &[""])),
            (b"250 2.1.0 Ok\r\n", reply(250, Some((2, 1, 0)), &["Ok"])),
            (
                b"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
                reply(250, None, &["mx.example", "PIPELINING", "SIZE 1000"]),
            ),
            (
                b"550-5.1.1 No such user\r\n550 5.1.1 here\r\n",
                reply(550, Some((5, 1, 1)), &["No such user", "here"]),
            ),
            (
                b"354 End data with <CR><LF>.<CR><LF>\r\n",
                reply(354, None, &["End data with <CR><LF>.<CR><LF>"]),
            ),
            // A status whose class differs from the code is text.
            (b"250 5.1.1 x\r\n", reply(250, None, &["5.1.1 x"])),
        ];
        for (input, expected) in table {
            let (rest, got) = decode_reply(input, 1000, 100).expect("valid reply");
            assert_eq!(&got, expected);
            assert!(rest.is_empty());
            let mut out = Vec::new();
            got.encode(&mut out);
            let (_, again) = decode_reply(&out, 1000, 100).expect("re-encoded reply");
            assert_eq!(&again, expected);
            assert_prefixes_incomplete(
                input,
                |p| decode_reply(p, 1000, 100).map(|_| ()),
                ReplyError::Incomplete,
            );
        }
    }

    #[test]
    fn bad_replies() {
        let table: &[(&[u8], ReplyError)] = &[
            (b"25", ReplyError::Incomplete),
            (b"2x0 x\r\n", ReplyError::Malformed("reply code")),
            (b"x", ReplyError::Malformed("reply code")),
            (
                b"250-a\r\n251 b\r\n",
                ReplyError::Malformed("reply code changes between lines"),
            ),
            (
                b"250-a\r\n251",
                ReplyError::Malformed("reply code changes between lines"),
            ),
            (b"250 a\n", ReplyError::Malformed("line not ended by CRLF")),
            (
                b"250xa\r\n",
                ReplyError::Malformed("separator after reply code"),
            ),
            (b"650 a\r\n", ReplyError::Malformed("reply code")),
            (b"250 a\rb\r\n", ReplyError::Malformed("CR in text")),
        ];
        for (input, expected) in table {
            assert_eq!(
                decode_reply(input, 1000, 100).map(|_| ()),
                Err(*expected),
                "{input:?}"
            );
        }
        assert_eq!(
            decode_reply(&[b'2'; 20], 10, 100).map(|_| ()),
            Err(ReplyError::LineTooLong)
        );
        assert_eq!(
            decode_reply(b"250-a\r\n250-a\r\n250 a\r\n", 1000, 2).map(|_| ()),
            Err(ReplyError::TooManyLines)
        );
    }

    #[test]
    fn ambiguous_replies_are_refused() {
        let code = ReplyCode::OK;
        assert!(Reply::new(code, None, ["2.0.0 looks like a status"]).is_err());
        assert!(Reply::new(code, EnhancedStatus::new(5, 0, 0), ["x"]).is_err());
        assert!(Reply::new(code, None, Vec::<&str>::new()).is_err());
        assert!(Reply::new(code, None, ["a\r\nb"]).is_err());
    }
}
