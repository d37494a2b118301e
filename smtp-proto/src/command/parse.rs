//! The server side: bytes to [`Command`].

use std::borrow::Cow;

use super::{
    Argument, AuthLine, Command, Mechanism,
    params::{
        AuthParam, Body, EsmtpParam, MailParams, Notify, Orcpt, RcptParams, Ret, XText,
        split_params,
    },
};
use crate::{
    address::{Domain, ForwardPath, ReversePath, parse_path, strip_prefix_ignore_case},
    base64,
    secret::Secret,
};

/// Why bytes are not (yet) a command.
///
/// Every variant but [`CommandError::Incomplete`] and [`CommandError::LineTooLong`] carries
/// `line_len`, the octets of the offending line including its CRLF, so the caller can skip
/// the line and go on with the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// No complete line yet; read more input.
    #[error("incomplete command line")]
    Incomplete,
    /// No line end within the limit. RFC 5321 §4.5.3.1.9 gives the reply: "500 Line too
    /// long."; the caller must skip input up to and including the next LF.
    #[error("command line longer than {max} octets")]
    LineTooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The line ends with LF alone. RFC 5321 §2.3.8: "Conforming implementations MUST NOT
    /// recognize or generate any other character or character sequence as a line
    /// terminator."; a bare LF is refused so that no two parsers can frame the same
    /// bytes differently.
    #[error("line ended by a bare LF")]
    BareNewline {
        /// Octets to skip.
        line_len: usize,
    },
    /// The verb is not one this crate knows (reply 500).
    #[error("unknown command")]
    Unknown {
        /// Octets to skip.
        line_len: usize,
    },
    /// The arguments do not follow the grammar (reply 501); `expected` names the rule.
    #[error("syntax error: expected {expected}")]
    Syntax {
        /// Octets to skip.
        line_len: usize,
        /// What was expected, e.g. `"MAIL FROM:<reverse-path> [parameters]"`.
        expected: &'static str,
    },
}

impl CommandError {
    /// The octets to skip before the next command, when a whole line was seen.
    pub fn line_len(&self) -> Option<usize> {
        match *self {
            CommandError::Incomplete | CommandError::LineTooLong { .. } => None,
            CommandError::BareNewline { line_len }
            | CommandError::Unknown { line_len }
            | CommandError::Syntax { line_len, .. } => Some(line_len),
        }
    }
}

/// Frames one CRLF-terminated line of at most `max` octets (CRLF included); returns the line
/// without its CRLF and the octets consumed.
fn take_line(input: &[u8], max: usize) -> Result<(&[u8], usize), CommandError> {
    let window = &input[..input.len().min(max)];
    let Some(lf) = memchr::memchr(b'\n', window) else {
        return Err(if input.len() >= max {
            CommandError::LineTooLong { max }
        } else {
            CommandError::Incomplete
        });
    };
    let line_len = lf + 1;
    match lf.checked_sub(1).map(|cr| input[cr]) {
        Some(b'\r') => Ok((&input[..lf - 1], line_len)),
        _ => Err(CommandError::BareNewline { line_len }),
    }
}

/// Decodes one command line of at most `max_line` octets from the start of `input`.
///
/// Returns the rest of the input after the line. Every strict prefix of a valid command is
/// [`CommandError::Incomplete`], since the only LF of a command is its last octet.
pub fn decode_command(input: &[u8], max_line: usize) -> Result<(&[u8], Command<'_>), CommandError> {
    let (line, line_len) = take_line(input, max_line)?;
    let command = parse_line(line).map_err(|e| match e {
        LineError::Unknown => CommandError::Unknown { line_len },
        LineError::Syntax(expected) => CommandError::Syntax { line_len, expected },
    })?;
    Ok((&input[line_len..], command))
}

/// Decodes one line of a SASL exchange (RFC 4954 §4): base64 or `*`.
pub fn decode_auth_line(input: &[u8], max_line: usize) -> Result<(&[u8], AuthLine), CommandError> {
    let (line, line_len) = take_line(input, max_line)?;
    let value = if line == b"*" {
        AuthLine::Cancel
    } else {
        // "If the server cannot [BASE64] decode any client response, it MUST reject the AUTH
        // command with a 501 reply (and an enhanced status code of 5.5.2)." (RFC 4954 §4)
        let decoded = base64::decode(line).ok_or(CommandError::Syntax {
            line_len,
            expected: "base64 SASL response",
        })?;
        AuthLine::Response(Secret::new(decoded))
    };
    Ok((&input[line_len..], value))
}

enum LineError {
    Unknown,
    Syntax(&'static str),
}

const fn verb(name: &[u8; 4]) -> u32 {
    u32::from_be_bytes(*name)
}

fn parse_line(line: &[u8]) -> Result<Command<'_>, LineError> {
    // UTF-8 is checked only where text is kept (mailboxes, arguments, parameter values).
    let (name, args) = match memchr::memchr(b' ', line) {
        Some(space) => (&line[..space], Some(&line[space + 1..])),
        None => (line, None),
    };
    if name.len() == 8 && name.eq_ignore_ascii_case(b"STARTTLS") {
        // RFC 3207 §4: "STARTTLS" CRLF; a parameter earns 501.
        return no_args(args, Command::StartTls, "STARTTLS with no parameters");
    }
    let [a, b, c, d] = name else {
        return Err(LineError::Unknown);
    };
    // `& 0xDF` upper-cases ASCII letters; only letters map onto the letter range, and every
    // verb is letters only, so no other input can match.
    match u32::from_be_bytes([a & 0xDF, b & 0xDF, c & 0xDF, d & 0xDF]) {
        x if x == verb(b"EHLO") => domain_arg(args).map(Command::Ehlo),
        x if x == verb(b"HELO") => domain_arg(args).map(Command::Helo),
        x if x == verb(b"LHLO") => domain_arg(args).map(Command::Lhlo),
        x if x == verb(b"MAIL") => parse_mail(args.unwrap_or_default()),
        x if x == verb(b"RCPT") => parse_rcpt(args.unwrap_or_default()),
        x if x == verb(b"DATA") => no_args(args, Command::Data, "DATA with no parameters"),
        x if x == verb(b"BDAT") => parse_bdat(args.unwrap_or_default()),
        x if x == verb(b"RSET") => no_args(args, Command::Rset, "RSET with no parameters"),
        x if x == verb(b"QUIT") => no_args(args, Command::Quit, "QUIT with no parameters"),
        x if x == verb(b"NOOP") => optional_argument(args).map(Command::Noop),
        x if x == verb(b"HELP") => optional_argument(args).map(Command::Help),
        x if x == verb(b"VRFY") => required_argument(args).map(Command::Vrfy),
        x if x == verb(b"EXPN") => required_argument(args).map(Command::Expn),
        x if x == verb(b"AUTH") => parse_auth(args.unwrap_or_default()),
        _ => Err(LineError::Unknown),
    }
}

fn no_args<'a>(
    args: Option<&[u8]>,
    command: Command<'a>,
    expected: &'static str,
) -> Result<Command<'a>, LineError> {
    match args {
        None => Ok(command),
        Some(_) => Err(LineError::Syntax(expected)),
    }
}

/// `"EHLO" SP ( Domain / address-literal ) CRLF` (RFC 5321 §4.1.1.1).
fn domain_arg(args: Option<&[u8]>) -> Result<Domain<'_>, LineError> {
    let syntax = LineError::Syntax("domain or address literal");
    let text = trim_spaces(args.unwrap_or_default());
    match Domain::parse_prefix(text) {
        Ok((domain, len)) if len == text.len() => Ok(domain),
        _ => Err(syntax),
    }
}

fn trim_spaces(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    &bytes[..end]
}

fn optional_argument(args: Option<&[u8]>) -> Result<Option<Argument<'_>>, LineError> {
    args.map(|bytes| {
        text(trim_spaces(bytes)).and_then(|t| {
            Argument::try_from(t).map_err(|_| LineError::Syntax("printable argument"))
        })
    })
    .transpose()
}

fn required_argument(args: Option<&[u8]>) -> Result<Argument<'_>, LineError> {
    optional_argument(args)?.ok_or(LineError::Syntax("an argument"))
}

/// Strips `FROM:` / `TO:` and the spaces some clients put after the colon.
fn after_keyword<'a>(args: &'a [u8], keyword: &[u8]) -> Option<&'a [u8]> {
    let rest = strip_prefix_ignore_case(args, keyword)?;
    let spaces = rest.iter().take_while(|&&b| b == b' ').count();
    Some(&rest[spaces..])
}

/// The parameters after a path: nothing, or SP and parameters.
fn param_text<'a>(rest: &'a [u8], expected: &'static str) -> Result<&'a [u8], LineError> {
    match rest.first() {
        None => Ok(rest),
        Some(b' ') => Ok(&rest[1..]),
        Some(_) => Err(LineError::Syntax(expected)),
    }
}

fn text(bytes: &[u8]) -> Result<&str, LineError> {
    std::str::from_utf8(bytes).map_err(|_| LineError::Syntax("UTF-8 text"))
}

const MAIL_SYNTAX: &str = "MAIL FROM:<reverse-path> [parameters]";
const RCPT_SYNTAX: &str = "RCPT TO:<forward-path> [parameters]";

/// `"MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF` (RFC 5321 §4.1.1.2).
fn parse_mail(args: &[u8]) -> Result<Command<'_>, LineError> {
    let rest = after_keyword(args, b"FROM:").ok_or(LineError::Syntax(MAIL_SYNTAX))?;
    let (mailbox, len) = parse_path(rest).map_err(|_| LineError::Syntax(MAIL_SYNTAX))?;
    let from = mailbox.map_or(ReversePath::Null, ReversePath::Mailbox);
    let mut params = MailParams::default();
    let syntax = |what| LineError::Syntax(what);
    for (keyword, value) in split_params(param_text(&rest[len..], MAIL_SYNTAX)?) {
        let is = |name: &str| keyword.eq_ignore_ascii_case(name.as_bytes());
        match value {
            // RFC 1870 §3: "size-value ::= 1*20DIGIT"
            Some(v) if is("SIZE") && params.size.is_none() => {
                params.size = Some(parse_number(v, 20).ok_or(syntax("SIZE=1*20DIGIT"))?);
            }
            Some(v) if is("BODY") && params.body.is_none() => {
                params.body = Some(match v {
                    v if v.eq_ignore_ascii_case(b"7BIT") => Body::SevenBit,
                    v if v.eq_ignore_ascii_case(b"8BITMIME") => Body::EightBitMime,
                    v if v.eq_ignore_ascii_case(b"BINARYMIME") => Body::BinaryMime,
                    _ => return Err(syntax("BODY=7BIT/8BITMIME/BINARYMIME")),
                });
            }
            Some(v) if is("RET") && params.ret.is_none() => {
                params.ret = Some(match v {
                    v if v.eq_ignore_ascii_case(b"FULL") => Ret::Full,
                    v if v.eq_ignore_ascii_case(b"HDRS") => Ret::Headers,
                    _ => return Err(syntax("RET=FULL/HDRS")),
                });
            }
            // RFC 3461 §4.4: "ENVID=" xtext; "The ENVID parameter MAY be up to 100 characters in
            // length."
            Some(v) if is("ENVID") && params.envid.is_none() && v.len() <= 100 => {
                params.envid = Some(XText::from_wire(text(v)?).map_err(|_| syntax("ENVID=xtext"))?);
            }
            // RFC 4954 §5: "AUTH=" (xtext / "<>")
            Some(v) if is("AUTH") && params.auth.is_none() => {
                params.auth = Some(if v == b"<>" {
                    AuthParam::Unknown
                } else {
                    AuthParam::Identity(
                        XText::from_wire(text(v)?).map_err(|_| syntax("AUTH=xtext"))?,
                    )
                });
            }
            None if is("SMTPUTF8") && !params.smtputf8 => params.smtputf8 = true,
            None if is("REQUIRETLS") && !params.requiretls => params.requiretls = true,
            _ => params.other.push(
                EsmtpParam::new(text(keyword)?, value.map(text).transpose()?)
                    .map_err(|_| syntax("esmtp-keyword[=esmtp-value]"))?,
            ),
        }
    }
    Ok(Command::Mail { from, params })
}

/// `"RCPT TO:" ( "<Postmaster@" Domain ">" / "`<Postmaster>`" / Forward-path ) [SP
/// Rcpt-parameters] CRLF` (RFC 5321 §4.1.1.3).
fn parse_rcpt(args: &[u8]) -> Result<Command<'_>, LineError> {
    let rest = after_keyword(args, b"TO:").ok_or(LineError::Syntax(RCPT_SYNTAX))?;
    let (to, len) = if strip_prefix_ignore_case(rest, b"<Postmaster>").is_some() {
        (ForwardPath::Postmaster, "<Postmaster>".len())
    } else {
        match parse_path(rest) {
            Ok((Some(mailbox), len)) => (ForwardPath::Mailbox(mailbox), len),
            _ => return Err(LineError::Syntax(RCPT_SYNTAX)),
        }
    };
    let mut params = RcptParams::default();
    let syntax = |what| LineError::Syntax(what);
    for (keyword, value) in split_params(param_text(&rest[len..], RCPT_SYNTAX)?) {
        let is = |name: &str| keyword.eq_ignore_ascii_case(name.as_bytes());
        match value {
            // RFC 3461 §4.1: notify-esmtp-value = "NEVER" / 1#notify-list-element
            Some(v) if is("NOTIFY") && params.notify.is_none() => {
                params.notify =
                    Some(parse_notify(v).ok_or(syntax("NOTIFY=NEVER/SUCCESS,FAILURE,DELAY"))?);
            }
            // RFC 3461 §4.2: orcpt-value = addr-type ";" xtext
            Some(v) if is("ORCPT") && params.orcpt.is_none() => {
                let orcpt = text(v)?
                    .split_once(';')
                    .and_then(|(kind, addr)| Orcpt::new(kind, XText::from_wire(addr).ok()?).ok());
                params.orcpt = Some(orcpt.ok_or(syntax("ORCPT=addr-type;xtext"))?);
            }
            _ => params.other.push(
                EsmtpParam::new(text(keyword)?, value.map(text).transpose()?)
                    .map_err(|_| syntax("esmtp-keyword[=esmtp-value]"))?,
            ),
        }
    }
    Ok(Command::Rcpt { to, params })
}

fn parse_notify(value: &[u8]) -> Option<Notify> {
    if value.eq_ignore_ascii_case(b"NEVER") {
        return Some(Notify::NEVER);
    }
    let mut notify = Notify::default();
    for item in value.split(|&b| b == b',') {
        let flag = match item {
            i if i.eq_ignore_ascii_case(b"SUCCESS") => &mut notify.success,
            i if i.eq_ignore_ascii_case(b"FAILURE") => &mut notify.failure,
            i if i.eq_ignore_ascii_case(b"DELAY") => &mut notify.delay,
            _ => return None,
        };
        if *flag {
            return None;
        }
        *flag = true;
    }
    Some(notify)
}

/// Digits only, at most `max_digits`, no overflow.
fn parse_number(digits: &[u8], max_digits: usize) -> Option<u64> {
    if digits.is_empty() || digits.len() > max_digits {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        let digit = d.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// `"BDAT" SP chunk-size [ SP end-marker ] CRLF` (RFC 3030 §3).
fn parse_bdat(args: &[u8]) -> Result<Command<'_>, LineError> {
    const SYNTAX: &str = "BDAT chunk-size [LAST]";
    let (size, last) = match memchr::memchr(b' ', args) {
        Some(space) if args[space + 1..].eq_ignore_ascii_case(b"LAST") => (&args[..space], true),
        Some(_) => return Err(LineError::Syntax(SYNTAX)),
        None => (args, false),
    };
    // chunk-size = 1*DIGIT; 20 digits cover u64, and an overflow is a syntax error.
    let size = parse_number(size, 20).ok_or(LineError::Syntax(SYNTAX))?;
    Ok(Command::Bdat { size, last })
}

/// `"AUTH" SP sasl-mech [SP initial-response] CRLF` (RFC 4954 §4).
fn parse_auth(args: &[u8]) -> Result<Command<'_>, LineError> {
    const SYNTAX: &str = "AUTH mechanism [initial-response]";
    let args = text(args).map_err(|_| LineError::Syntax(SYNTAX))?;
    let (name, initial) = match args.split_once(' ') {
        Some((name, initial)) => (name, Some(initial)),
        None => (args, None),
    };
    let mechanism = if name.bytes().any(|b| b.is_ascii_lowercase()) {
        let upper = name.to_ascii_uppercase();
        Mechanism::try_from(upper.as_str()).map(|m| Mechanism(Cow::Owned(m.as_str().to_owned())))
    } else {
        Mechanism::try_from(name)
    }
    .map_err(|_| LineError::Syntax(SYNTAX))?;
    // initial-response = base64 / "=" ; "=" stands for an empty response.
    let initial_response = match initial {
        None => None,
        Some("=") => Some(Secret::new(Vec::new())),
        Some(text) => Some(Secret::new(
            base64::decode(text.as_bytes())
                .filter(|d| !d.is_empty())
                .ok_or(LineError::Syntax(SYNTAX))?,
        )),
    };
    Ok(Command::Auth {
        mechanism,
        initial_response,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        address::{Domain, Mailbox},
        testing::assert_prefixes_incomplete,
    };

    fn mailbox(text: &str) -> Mailbox<'_> {
        Mailbox::try_from(text).expect("valid mailbox")
    }

    fn kat() -> Vec<(&'static [u8], Command<'static>)> {
        let full_mail = MailParams {
            size: Some(1000),
            body: Some(Body::EightBitMime),
            smtputf8: true,
            ret: Some(Ret::Headers),
            envid: Some(XText::from_wire("QQ+2B1").expect("valid xtext")),
            auth: Some(AuthParam::Unknown),
            requiretls: true,
            other: vec![EsmtpParam::new("X-TAG", Some("v")).expect("valid")],
        };
        let full_rcpt = RcptParams {
            notify: Some(Notify {
                success: true,
                failure: false,
                delay: true,
            }),
            orcpt: Some(
                Orcpt::new("rfc822", XText::from_wire("a+40b").expect("xtext")).expect("orcpt"),
            ),
            other: Vec::new(),
        };
        let never = RcptParams {
            notify: Some(Notify::NEVER),
            ..RcptParams::default()
        };
        let domain = |d| Domain::try_from(d).expect("valid domain");
        vec![
            (b"EHLO client.example\r\n", Command::Ehlo(domain("client.example"))),
            (b"HELO [192.0.2.7]\r\n", Command::Helo(domain("[192.0.2.7]"))),
            (b"LHLO [IPv6:2001:db8::7]\r\n", Command::Lhlo(domain("[IPv6:2001:db8::7]"))),
            (
                b"MAIL FROM:<a@b.example>\r\n",
                Command::Mail {
                    from: ReversePath::Mailbox(mailbox("a@b.example")),
                    params: MailParams::default(),
                },
            ),
            (
                b"MAIL FROM:<>\r\n",
                Command::Mail {
                    from: ReversePath::Null,
                    params: MailParams::default(),
                },
            ),
            (
                b"MAIL FROM:<\"x y\"@[10.0.0.1]> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+2B1 AUTH=<> REQUIRETLS X-TAG=v\r\n",
                Command::Mail {
                    from: ReversePath::Mailbox(mailbox("\"x y\"@[10.0.0.1]")),
                    params: full_mail,
                },
            ),
            (
                b"RCPT TO:<Postmaster>\r\n",
                Command::Rcpt {
                    to: ForwardPath::Postmaster,
                    params: RcptParams::default(),
                },
            ),
            (
                b"RCPT TO:<u@x.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+40b\r\n",
                Command::Rcpt {
                    to: ForwardPath::Mailbox(mailbox("u@x.example")),
                    params: full_rcpt,
                },
            ),
            (
                b"RCPT TO:<u@x.example> NOTIFY=NEVER\r\n",
                Command::Rcpt {
                    to: ForwardPath::Mailbox(mailbox("u@x.example")),
                    params: never,
                },
            ),
            (b"DATA\r\n", Command::Data),
            (b"BDAT 1000\r\n", Command::Bdat { size: 1000, last: false }),
            (b"BDAT 0 LAST\r\n", Command::Bdat { size: 0, last: true }),
            (b"RSET\r\n", Command::Rset),
            (b"NOOP\r\n", Command::Noop(None)),
            (b"NOOP hello there\r\n", Command::Noop(Some(Argument::try_from("hello there").expect("valid")))),
            (b"QUIT\r\n", Command::Quit),
            (b"VRFY Smith\r\n", Command::Vrfy(Argument::try_from("Smith").expect("valid"))),
            (b"EXPN staff\r\n", Command::Expn(Argument::try_from("staff").expect("valid"))),
            (b"HELP\r\n", Command::Help(None)),
            (b"STARTTLS\r\n", Command::StartTls),
            (
                b"AUTH PLAIN\r\n",
                Command::Auth {
                    mechanism: Mechanism::try_from("PLAIN").expect("valid"),
                    initial_response: None,
                },
            ),
            (
                b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
                Command::Auth {
                    mechanism: Mechanism::try_from("PLAIN").expect("valid"),
                    initial_response: Some(Secret::new(b"\0alice\0secret".to_vec())),
                },
            ),
            (
                b"AUTH EXTERNAL =\r\n",
                Command::Auth {
                    mechanism: Mechanism::try_from("EXTERNAL").expect("valid"),
                    initial_response: Some(Secret::new(Vec::new())),
                },
            ),
        ]
    }

    #[test]
    fn known_commands_decode_encode_and_prefixes_are_incomplete() {
        for (input, expected) in kat() {
            let (rest, got) = decode_command(input, 512).expect("valid command");
            assert_eq!(got, expected, "{}", String::from_utf8_lossy(input));
            assert!(rest.is_empty());
            let mut out = Vec::new();
            got.encode(&mut out);
            assert_eq!(out, input, "canonical encoding");
            assert_prefixes_incomplete(
                input,
                |p| decode_command(p, 512).map(|_| ()),
                CommandError::Incomplete,
            );
        }
    }

    #[test]
    fn lenient_forms() {
        let table: &[(&[u8], &[u8])] = &[
            (b"mail from: <A@B>\r\n", b"MAIL FROM:<A@B>\r\n"),
            (
                b"MAIL FROM:<@r.example:a@b>  size=5 \r\n",
                b"MAIL FROM:<a@b> SIZE=5\r\n",
            ),
            (b"rcpt to:<postmaster>\r\n", b"RCPT TO:<Postmaster>\r\n"),
            (b"auth plain\r\n", b"AUTH PLAIN\r\n"),
            (b"helo x\r\n", b"HELO x\r\n"),
            (b"EHLO x \r\n", b"EHLO x\r\n"),
            (
                "MAIL FROM:<ü@ü.example> SMTPUTF8\r\n".as_bytes(),
                "MAIL FROM:<ü@ü.example> SMTPUTF8\r\n".as_bytes(),
            ),
        ];
        for (input, canonical) in table {
            let (_, command) = decode_command(input, 512).expect("accepted");
            let mut out = Vec::new();
            command.encode(&mut out);
            assert_eq!(&out, canonical);
        }
    }

    #[test]
    fn bad_commands() {
        let syntax = |line_len, expected| CommandError::Syntax { line_len, expected };
        let table: &[(&[u8], CommandError)] = &[
            (b"FOO\r\n", CommandError::Unknown { line_len: 5 }),
            (b"\r\n", CommandError::Unknown { line_len: 2 }),
            (b"DATA\n", CommandError::BareNewline { line_len: 5 }),
            (
                b"STARTTLS now\r\n",
                syntax(14, "STARTTLS with no parameters"),
            ),
            (b"DATA x\r\n", syntax(8, "DATA with no parameters")),
            (b"MAIL TO:<a@b>\r\n", syntax(15, MAIL_SYNTAX)),
            (b"MAIL FROM:a@b\r\n", syntax(15, MAIL_SYNTAX)),
            (b"MAIL FROM:<a@b>SIZE=1\r\n", syntax(23, MAIL_SYNTAX)),
            (
                b"MAIL FROM:<a@b> SIZE=1 SIZE=2\r\n",
                syntax(31, "esmtp-keyword[=esmtp-value]"),
            ),
            (
                b"MAIL FROM:<a@b> SIZE=123456789012345678901\r\n",
                syntax(44, "SIZE=1*20DIGIT"),
            ),
            (
                b"MAIL FROM:<a@b> BODY=9BIT\r\n",
                syntax(27, "BODY=7BIT/8BITMIME/BINARYMIME"),
            ),
            (
                b"MAIL FROM:<a@b> NOTIFY=NEVER\r\n",
                syntax(30, "esmtp-keyword[=esmtp-value]"),
            ),
            (b"MAIL FROM:<a@b> ENVID=a=b\r\n", syntax(27, "ENVID=xtext")),
            (b"RCPT TO:<>\r\n", syntax(12, RCPT_SYNTAX)),
            (
                b"RCPT TO:<a@b> NOTIFY=NEVER,SUCCESS\r\n",
                syntax(36, "NOTIFY=NEVER/SUCCESS,FAILURE,DELAY"),
            ),
            (
                b"RCPT TO:<a@b> NOTIFY=DELAY,DELAY\r\n",
                syntax(34, "NOTIFY=NEVER/SUCCESS,FAILURE,DELAY"),
            ),
            (
                b"RCPT TO:<a@b> ORCPT=rfc822\r\n",
                syntax(28, "ORCPT=addr-type;xtext"),
            ),
            (
                b"BDAT 18446744073709551616\r\n",
                syntax(27, "BDAT chunk-size [LAST]"),
            ),
            (b"BDAT\r\n", syntax(6, "BDAT chunk-size [LAST]")),
            (b"BDAT 10 FIRST\r\n", syntax(15, "BDAT chunk-size [LAST]")),
            (
                b"AUTH PLAIN !!\r\n",
                syntax(15, "AUTH mechanism [initial-response]"),
            ),
            (
                b"AUTH A23456789012345678901\r\n",
                syntax(28, "AUTH mechanism [initial-response]"),
            ),
            (b"EHLO\r\n", syntax(6, "domain or address literal")),
            (b"VRFY\r\n", syntax(6, "an argument")),
            (b"NOOP a\x01\r\n", syntax(9, "printable argument")),
            (b"EHLO \xff\r\n", syntax(8, "domain or address literal")),
            (b"VRFY \xff\r\n", syntax(8, "UTF-8 text")),
            (b"RCPT TO:<a@b>\rX\r\n", syntax(17, RCPT_SYNTAX)),
        ];
        for (input, expected) in table {
            let got = decode_command(input, 512).map(|_| ());
            assert_eq!(got, Err(*expected), "{}", String::from_utf8_lossy(input));
            assert_eq!(expected.line_len(), Some(input.len()));
        }
    }

    #[test]
    fn line_limit() {
        let mut line = b"NOOP ".to_vec();
        line.resize(510, b'a');
        line.extend_from_slice(b"\r\n");
        assert!(decode_command(&line, 512).is_ok());
        line.insert(5, b'a');
        assert_eq!(
            decode_command(&line, 512).map(|_| ()),
            Err(CommandError::LineTooLong { max: 512 })
        );
        assert_eq!(
            decode_command(&line[..511], 512).map(|_| ()),
            Err(CommandError::Incomplete)
        );
    }

    #[test]
    fn pipelined_commands_leave_the_rest() {
        let input = b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n";
        let (rest, _) = decode_command(input, 512).expect("mail");
        let (rest, _) = decode_command(rest, 512).expect("rcpt");
        assert_eq!(rest, b"DATA\r\n");
    }

    #[test]
    fn auth_lines() {
        assert_eq!(
            decode_auth_line(b"*\r\n", 100),
            Ok((&b""[..], AuthLine::Cancel))
        );
        assert_eq!(
            decode_auth_line(b"Zm9v\r\nx", 100),
            Ok((&b"x"[..], AuthLine::Response(Secret::new(b"foo".to_vec()))))
        );
        assert_eq!(
            decode_auth_line(b"\r\n", 100),
            Ok((&b""[..], AuthLine::Response(Secret::new(Vec::new()))))
        );
        assert!(matches!(
            decode_auth_line(b"Zm9\r\n", 100),
            Err(CommandError::Syntax { .. })
        ));
        assert_prefixes_incomplete(
            b"Zm9v\r\n",
            |p| decode_auth_line(p, 100).map(|_| ()),
            CommandError::Incomplete,
        );
        for line in [
            AuthLine::Cancel,
            AuthLine::Response(Secret::new(b"\0u\0p".to_vec())),
        ] {
            let mut out = Vec::new();
            line.encode(&mut out);
            assert_eq!(decode_auth_line(&out, 100), Ok((&b""[..], line)));
        }
    }
}
