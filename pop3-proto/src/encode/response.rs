//! Response encoding: status lines, listings terminated by `.`, SASL challenges.

use bytes::BufMut;

use crate::{
    base64,
    encode::put_decimal,
    types::{
        Capability, ExpirePolicy, Param, Response, ScanListing, Status, StatusKind, Text,
        UidListing,
    },
};

impl Status {
    /// Appends `+OK`/`-ERR`, the response code and the text, CRLF included.
    ///
    /// ```
    /// use pop3_proto::{RespCode, Status, Text};
    /// let mut out = Vec::new();
    /// Status::err(Text::try_from("locked").unwrap()).with_code(RespCode::InUse).encode(&mut out);
    /// assert_eq!(out, b"-ERR [IN-USE] locked\r\n");
    /// ```
    pub fn encode(&self, out: &mut impl BufMut) {
        out.put_slice(match self.kind() {
            StatusKind::Ok => b"+OK",
            StatusKind::Err => b"-ERR",
        });
        if let Some(code) = self.code() {
            out.put_slice(b" [");
            out.put_slice(code.as_str().as_bytes());
            out.put_u8(b']');
        }
        text(out, self.text());
        out.put_slice(b"\r\n");
    }
}

impl Response {
    /// Appends the whole response: one line, or for listings the first line, one line per
    /// entry and the terminating `.` line.
    ///
    /// Listing lines never start with `.` (they start with a digit, a capability tag or a
    /// language tag, and the types refuse a leading `.`), so no dot-stuffing is needed here.
    pub fn encode(&self, out: &mut impl BufMut) {
        match self {
            Self::Status(status) => status.encode(out),
            Self::Stat(stat) => {
                out.put_slice(b"+OK ");
                put_decimal(out, u64::from(stat.count));
                out.put_u8(b' ');
                put_decimal(out, stat.size);
                out.put_slice(b"\r\n");
            }
            Self::Scan(scan) => {
                out.put_slice(b"+OK ");
                scan_line(out, scan);
            }
            Self::Uid(uid) => {
                out.put_slice(b"+OK ");
                uid_line(out, uid);
            }
            Self::ScanList { text: t, entries } => listing(out, t, entries, scan_line),
            Self::UidList { text: t, entries } => listing(out, t, entries, uid_line),
            Self::Capabilities {
                text: t,
                capabilities,
            } => listing(out, t, capabilities, capability_line),
            Self::Languages { text: t, languages } => {
                listing(out, t, languages, |out, language| {
                    out.put_slice(language.tag().as_str().as_bytes());
                    text(out, language.description());
                    out.put_slice(b"\r\n");
                })
            }
            Self::Challenge(data) => {
                // RFC 5034 §4: a challenge is "+", a space and the Base64 data; "In POP3, an
                // empty server challenge is defined as a line with only a "+", followed by a
                // single space."
                out.put_slice(b"+ ");
                base64::encode_into(data.declassify(), out);
                out.put_slice(b"\r\n");
            }
        }
    }
}

/// ` text` unless the text is empty.
fn text(out: &mut impl BufMut, text: &Text) {
    if !text.is_empty() {
        out.put_u8(b' ');
        out.put_slice(text.as_str().as_bytes());
    }
}

/// `+OK text CRLF`, the entries, `.CRLF` (RFC 1939 §3).
fn listing<B: BufMut, T>(out: &mut B, first: &Text, entries: &[T], line: impl Fn(&mut B, &T)) {
    out.put_slice(b"+OK");
    text(out, first);
    out.put_slice(b"\r\n");
    for entry in entries {
        line(out, entry);
    }
    out.put_slice(b".\r\n");
}

fn scan_line(out: &mut impl BufMut, scan: &ScanListing) {
    put_decimal(out, u64::from(scan.msg.get()));
    out.put_u8(b' ');
    put_decimal(out, scan.size);
    out.put_slice(b"\r\n");
}

fn uid_line(out: &mut impl BufMut, uid: &UidListing) {
    put_decimal(out, u64::from(uid.msg.get()));
    out.put_u8(b' ');
    out.put_slice(uid.uid.as_str().as_bytes());
    out.put_slice(b"\r\n");
}

fn params<'a>(out: &mut impl BufMut, params: impl IntoIterator<Item = &'a str>) {
    for p in params {
        out.put_u8(b' ');
        out.put_slice(p.as_bytes());
    }
}

fn capability_line(out: &mut impl BufMut, capability: &Capability) {
    let user = |per_user: bool| if per_user { Some("USER") } else { None };
    match capability {
        Capability::Top => out.put_slice(b"TOP"),
        Capability::User => out.put_slice(b"USER"),
        Capability::Sasl(mechanisms) => {
            out.put_slice(b"SASL");
            params(out, mechanisms.iter().map(|m| m.as_str()));
        }
        Capability::RespCodes => out.put_slice(b"RESP-CODES"),
        Capability::LoginDelay { seconds, per_user } => {
            out.put_slice(b"LOGIN-DELAY ");
            put_decimal(out, u64::from(*seconds));
            params(out, user(*per_user));
        }
        Capability::Pipelining => out.put_slice(b"PIPELINING"),
        Capability::Expire { policy, per_user } => {
            out.put_slice(b"EXPIRE ");
            match policy {
                ExpirePolicy::Days(days) => put_decimal(out, u64::from(*days)),
                ExpirePolicy::Never => out.put_slice(b"NEVER"),
            }
            params(out, user(*per_user));
        }
        Capability::Uidl => out.put_slice(b"UIDL"),
        Capability::Implementation(words) => {
            out.put_slice(b"IMPLEMENTATION");
            params(out, words.iter().map(Param::as_str));
        }
        Capability::Stls => out.put_slice(b"STLS"),
        Capability::AuthRespCode => out.put_slice(b"AUTH-RESP-CODE"),
        Capability::Utf8 { user: per_user } => {
            out.put_slice(b"UTF8");
            params(out, user(*per_user));
        }
        Capability::Lang => out.put_slice(b"LANG"),
        Capability::Other(other) => {
            out.put_slice(other.tag().as_str().as_bytes());
            params(out, other.params().iter().map(Param::as_str));
        }
    }
    out.put_slice(b"\r\n");
}
