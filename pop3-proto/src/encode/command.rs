//! Command encoding: `keyword *(SP argument) CRLF`, keywords in upper case.

use bytes::BufMut;

use crate::{
    base64,
    encode::put_decimal,
    types::{AuthLine, Command, LangRequest},
};

impl Command {
    /// Appends this command, CRLF included, to `out`.
    ///
    /// ```
    /// use pop3_proto::{Command, MsgNo};
    /// let mut out = Vec::new();
    /// Command::Top { msg: MsgNo::new(1).unwrap(), lines: 10 }.encode(&mut out);
    /// assert_eq!(out, b"TOP 1 10\r\n");
    /// ```
    pub fn encode(&self, out: &mut impl BufMut) {
        out.put_slice(self.kind().keyword().as_bytes());
        match self {
            Self::User(name) => arg(out, name.as_str().as_bytes()),
            Self::Pass(password) => arg(out, password.declassify()),
            Self::Apop { name, digest } => {
                arg(out, name.as_str().as_bytes());
                arg(out, digest.as_str().as_bytes());
            }
            Self::List(Some(msg)) | Self::Retr(msg) | Self::Dele(msg) | Self::Uidl(Some(msg)) => {
                number(out, u64::from(msg.get()));
            }
            Self::Top { msg, lines } => {
                number(out, u64::from(msg.get()));
                number(out, u64::from(*lines));
            }
            Self::Auth {
                mechanism,
                initial_response,
            } => {
                arg(out, mechanism.as_str().as_bytes());
                match initial_response.as_ref().map(|r| r.declassify()) {
                    None => {}
                    // RFC 5034 §4: "... or consist only of the single character "=", which
                    // represents an empty initial response."
                    Some(data) if data.is_empty() => arg(out, b"="),
                    Some(data) => {
                        out.put_u8(b' ');
                        base64::encode_into(data, out);
                    }
                }
            }
            Self::Lang(Some(LangRequest::Tag(tag))) => arg(out, tag.as_str().as_bytes()),
            Self::Lang(Some(LangRequest::Wildcard)) => arg(out, b"*"),
            Self::Quit
            | Self::Stat
            | Self::List(None)
            | Self::Noop
            | Self::Rset
            | Self::Uidl(None)
            | Self::Capa
            | Self::Stls
            | Self::Utf8
            | Self::Lang(None) => {}
        }
        out.put_slice(b"\r\n");
    }
}

impl AuthLine {
    /// Appends this SASL client line, CRLF included, to `out`.
    pub fn encode(&self, out: &mut impl BufMut) {
        match self {
            Self::Response(data) => base64::encode_into(data.declassify(), out),
            Self::Cancel => out.put_u8(b'*'),
        }
        out.put_slice(b"\r\n");
    }
}

fn arg(out: &mut impl BufMut, value: &[u8]) {
    out.put_u8(b' ');
    out.put_slice(value);
}

fn number(out: &mut impl BufMut, n: u64) {
    out.put_u8(b' ');
    put_decimal(out, n);
}
