//! The client side: [`Command`] to bytes.

use super::{
    AuthLine, Command,
    params::{AuthParam, EsmtpParam, MailParams, RcptParams, Ret},
};
use crate::base64;

impl Command<'_> {
    /// Appends the command line, CRLF included, to `out`.
    ///
    /// Every value is valid by construction, so encoding cannot fail; the bytes decode to an
    /// equal command.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.verb().as_bytes());
        match self {
            Command::Ehlo(d) | Command::Helo(d) | Command::Lhlo(d) => {
                out.push(b' ');
                out.extend_from_slice(d.as_str().as_bytes());
            }
            Command::Mail { from, params } => {
                out.extend_from_slice(b" FROM:");
                from.encode(out);
                encode_mail_params(params, out);
            }
            Command::Rcpt { to, params } => {
                out.extend_from_slice(b" TO:");
                to.encode(out);
                encode_rcpt_params(params, out);
            }
            Command::Bdat { size, last } => {
                out.extend_from_slice(format!(" {size}").as_bytes());
                if *last {
                    out.extend_from_slice(b" LAST");
                }
            }
            Command::Noop(arg) | Command::Help(arg) => {
                if let Some(arg) = arg {
                    out.push(b' ');
                    out.extend_from_slice(arg.as_str().as_bytes());
                }
            }
            Command::Vrfy(arg) | Command::Expn(arg) => {
                out.push(b' ');
                out.extend_from_slice(arg.as_str().as_bytes());
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => {
                out.push(b' ');
                out.extend_from_slice(mechanism.as_str().as_bytes());
                if let Some(initial) = initial_response {
                    out.push(b' ');
                    encode_sasl(initial.declassify(), true, out);
                }
            }
            Command::Data | Command::Rset | Command::Quit | Command::StartTls => {}
        }
        out.extend_from_slice(b"\r\n");
    }
}

impl AuthLine {
    /// Appends the SASL response line, CRLF included, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            AuthLine::Cancel => out.push(b'*'),
            AuthLine::Response(data) => encode_sasl(data.declassify(), false, out),
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// RFC 4954 §4: an empty initial response is sent as a single "=".
fn encode_sasl(data: &[u8], initial: bool, out: &mut Vec<u8>) {
    if data.is_empty() && initial {
        out.push(b'=');
    } else {
        base64::encode(data, out);
    }
}

fn param(out: &mut Vec<u8>, keyword: &str, value: Option<&str>) {
    out.push(b' ');
    out.extend_from_slice(keyword.as_bytes());
    if let Some(value) = value {
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
    }
}

fn encode_other(other: &[EsmtpParam<'_>], out: &mut Vec<u8>) {
    for p in other {
        param(out, p.keyword(), p.value());
    }
}

fn encode_mail_params(params: &MailParams<'_>, out: &mut Vec<u8>) {
    if let Some(size) = params.size {
        param(out, "SIZE", Some(&size.to_string()));
    }
    if let Some(body) = params.body {
        param(out, "BODY", Some(body.as_str()));
    }
    if params.smtputf8 {
        param(out, "SMTPUTF8", None);
    }
    if let Some(ret) = params.ret {
        param(
            out,
            "RET",
            Some(if ret == Ret::Full { "FULL" } else { "HDRS" }),
        );
    }
    if let Some(envid) = &params.envid {
        param(out, "ENVID", Some(envid.as_str()));
    }
    match &params.auth {
        Some(AuthParam::Unknown) => param(out, "AUTH", Some("<>")),
        Some(AuthParam::Identity(id)) => param(out, "AUTH", Some(id.as_str())),
        None => {}
    }
    if params.requiretls {
        param(out, "REQUIRETLS", None);
    }
    encode_other(&params.other, out);
}

fn encode_rcpt_params(params: &RcptParams<'_>, out: &mut Vec<u8>) {
    if let Some(notify) = params.notify {
        let names = [
            (notify.success, "SUCCESS"),
            (notify.failure, "FAILURE"),
            (notify.delay, "DELAY"),
        ];
        let list: Vec<&str> = names
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect();
        let value = if list.is_empty() {
            "NEVER".to_owned()
        } else {
            list.join(",")
        };
        param(out, "NOTIFY", Some(&value));
    }
    if let Some(orcpt) = &params.orcpt {
        let value = format!("{};{}", orcpt.addr_type(), orcpt.address().as_str());
        param(out, "ORCPT", Some(&value));
    }
    encode_other(&params.other, out);
}
