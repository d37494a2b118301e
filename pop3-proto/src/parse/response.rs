//! [`ResponseDecoder`]: status lines, listings and challenges, as a client reads them.

use nom::{Parser, branch::alt, bytes::complete::tag, combinator::value};

use crate::{
    Options, base64,
    error::{ResponseDecodeError, ResponseError},
    parse::{Framed, frame_line, number},
    types::{
        Capability, ExpirePolicy, KNOWN_TAGS, Language, LanguageTag, Mechanism, OtherCapability,
        Param, RespCode, Response, ResponseKind, ScanListing, Stat, Status, StatusKind, Text,
        UidListing, UniqueId, same_length_utf8,
    },
};

/// Decodes responses. What a response means depends on the command it answers, so every
/// call names the expected [`ResponseKind`] (the [`Client`](crate::Client) tracks that).
#[derive(Debug, Clone)]
pub struct ResponseDecoder {
    max_line: usize,
    max_challenge_line: usize,
    max_msg_no: u32,
    max_listing_entries: usize,
    max_capability_lines: usize,
}

/// What the first line of a response says.
#[derive(Debug)]
pub(crate) enum FirstLine {
    /// A complete single-line response.
    Single(Response),
    /// `+OK` opening a multi-line listing, with its text.
    Listing(Text),
    /// `+OK` opening a message body (`RETR`, `TOP`).
    Message(Status),
}

impl ResponseDecoder {
    /// A decoder with the limits of `options`.
    pub fn new(options: &Options) -> Self {
        Self {
            max_line: options.max_response_line,
            max_challenge_line: options.max_challenge_line,
            max_msg_no: options.max_message_number,
            max_listing_entries: options.max_listing_entries,
            max_capability_lines: options.max_capability_lines,
        }
    }

    /// Decodes one complete response of `kind` from `input`: the response and the octets it
    /// used. For [`ResponseKind::Message`] only the status line is decoded; on `+OK` the body
    /// follows and is read with a [`BodyDecoder`](crate::BodyDecoder).
    ///
    /// ```
    /// use pop3_proto::{Options, Response, ResponseDecoder, ResponseKind, Stat};
    /// let decoder = ResponseDecoder::new(&Options::default());
    /// let (response, used) = decoder.decode(ResponseKind::Stat, b"+OK 2 320\r\n").unwrap();
    /// assert_eq!(response, Response::Stat(Stat { count: 2, size: 320 }));
    /// assert_eq!(used, 11);
    /// ```
    pub fn decode(
        &self,
        kind: ResponseKind,
        input: &[u8],
    ) -> Result<(Response, usize), ResponseDecodeError> {
        let (first, mut used) = self.first_line(kind, input)?;
        let text = match first {
            FirstLine::Single(response) => return Ok((response, used)),
            FirstLine::Message(status) => return Ok((Response::Status(status), used)),
            FirstLine::Listing(text) => text,
        };
        let mut listing = self.listing(kind);
        loop {
            let rest = input.get(used..).unwrap_or_default();
            let (line, n) = self.listing_line(rest)?;
            used += n;
            match line {
                None => return Ok((listing.finish(text), used)),
                Some(line) => listing.push(self, line)?,
            }
        }
    }

    /// Decodes the first line of a response of `kind`.
    pub(crate) fn first_line(
        &self,
        kind: ResponseKind,
        input: &[u8],
    ) -> Result<(FirstLine, usize), ResponseDecodeError> {
        let limit = if kind == ResponseKind::Auth {
            self.max_challenge_line
        } else {
            self.max_line
        };
        let (line, used) = frame(input, limit)?;
        if kind == ResponseKind::Auth {
            // RFC 5034 §4: "In POP3, an empty server challenge is defined as a line with only
            // a "+", followed by a single space." Servers that drop the space are accepted too.
            if let Some(data) =
                line.strip_prefix(b"+ ")
                    .or(if line == b"+" { Some(b"") } else { None })
            {
                let data = base64::decode(data).ok_or(ResponseError::BadBase64)?;
                return Ok((FirstLine::Single(Response::Challenge(data.into())), used));
            }
        }
        let status = status_line(line)?;
        if !status.is_ok() {
            return Ok((FirstLine::Single(Response::Status(status)), used));
        }
        let fields = status.text().as_str().as_bytes();
        let first = match kind {
            ResponseKind::Greeting | ResponseKind::Status | ResponseKind::Auth => {
                FirstLine::Single(Response::Status(status))
            }
            ResponseKind::Message => FirstLine::Message(status),
            ResponseKind::Stat => {
                let (count, size) = self.pair(fields, "STAT")?;
                let count =
                    u32::try_from(count).map_err(|_| ResponseError::BadListing { what: "STAT" })?;
                FirstLine::Single(Response::Stat(Stat { count, size }))
            }
            ResponseKind::Scan => FirstLine::Single(Response::Scan(self.scan(fields)?)),
            ResponseKind::Uid => FirstLine::Single(Response::Uid(self.uid(fields)?)),
            ResponseKind::ScanList
            | ResponseKind::UidList
            | ResponseKind::Capabilities
            | ResponseKind::Languages => {
                // The text of a listing's first line is kept without a response code, so it
                // must not itself read as one.
                let text = Text::try_from(status.text().as_str())
                    .map_err(|_| ResponseError::BadResponseCode)?;
                FirstLine::Listing(text)
            }
        };
        Ok((first, used))
    }

    /// One line of a multi-line response, dot-unstuffed; `None` for the terminating `.`.
    ///
    /// RFC 1939 §3: "When examining a multi-line response, the client checks to see if the
    /// line begins with the termination octet. If so and if octets other than CRLF follow,
    /// the first octet of the line (the termination octet) is stripped away. If so and if
    /// CRLF immediately follows the termination character, then the response from the POP
    /// server is ended and the line containing ".CRLF" is not considered part of the
    /// multi-line response."
    pub(crate) fn listing_line<'a>(
        &self,
        input: &'a [u8],
    ) -> Result<(Option<&'a [u8]>, usize), ResponseDecodeError> {
        let (line, used) = frame(input, self.max_line)?;
        match line {
            b"." => Ok((None, used)),
            [b'.', rest @ ..] => Ok((Some(rest), used)),
            _ => Ok((Some(line), used)),
        }
    }

    /// An empty accumulator for a listing of `kind`.
    pub(crate) fn listing(&self, kind: ResponseKind) -> ListingParser {
        match kind {
            ResponseKind::UidList => ListingParser::Uid(Vec::new()),
            ResponseKind::Capabilities => ListingParser::Capabilities(Vec::new()),
            ResponseKind::Languages => ListingParser::Languages(Vec::new()),
            _ => ListingParser::Scan(Vec::new()),
        }
    }

    fn pair(&self, fields: &[u8], what: &'static str) -> Result<(u64, u64), ResponseError> {
        let bad = ResponseError::BadListing { what };
        let mut it = fields.splitn(3, |&b| b == b' ');
        let a = number::decimal(it.next().ok_or(bad)?, u64::MAX).map_err(|_| bad)?;
        let b = number::decimal(it.next().ok_or(bad)?, u64::MAX).map_err(|_| bad)?;
        // Anything after the second field is informational; RFC 1939 §5 tells clients not to
        // rely on it.
        Ok((a, b))
    }

    fn scan(&self, fields: &[u8]) -> Result<ScanListing, ResponseError> {
        let bad = ResponseError::BadListing { what: "LIST" };
        let (msg, size) = self.pair(fields, "LIST")?;
        let msg = u32::try_from(msg)
            .ok()
            .filter(|&m| m <= self.max_msg_no)
            .and_then(crate::MsgNo::new)
            .ok_or(bad)?;
        Ok(ScanListing { msg, size })
    }

    fn uid(&self, fields: &[u8]) -> Result<UidListing, ResponseError> {
        let bad = ResponseError::BadListing { what: "UIDL" };
        let mut it = fields.splitn(3, |&b| b == b' ');
        let msg = number::msg_no(it.next().ok_or(bad)?, self.max_msg_no).map_err(|_| bad)?;
        // RFC 1939 §7: one to 70 characters in the range 0x21 to 0x7E.
        let uid = UniqueId::try_from(it.next().ok_or(bad)?).map_err(|_| bad)?;
        Ok(UidListing { msg, uid })
    }
}

/// Collects the lines of a multi-line listing, bounded by the limits in [`Options`].
#[derive(Debug)]
pub(crate) enum ListingParser {
    Scan(Vec<ScanListing>),
    Uid(Vec<UidListing>),
    Capabilities(Vec<Capability>),
    Languages(Vec<Language>),
}

impl ListingParser {
    /// Adds one (unstuffed) line.
    pub(crate) fn push(
        &mut self,
        decoder: &ResponseDecoder,
        line: &[u8],
    ) -> Result<(), ResponseError> {
        let (len, limit) = match self {
            Self::Scan(v) => (v.len(), decoder.max_listing_entries),
            Self::Uid(v) => (v.len(), decoder.max_listing_entries),
            Self::Capabilities(v) => (v.len(), decoder.max_capability_lines),
            Self::Languages(v) => (v.len(), decoder.max_capability_lines),
        };
        if len >= limit {
            return Err(ResponseError::TooManyLines);
        }
        match self {
            Self::Scan(v) => v.push(decoder.scan(line)?),
            Self::Uid(v) => v.push(decoder.uid(line)?),
            Self::Capabilities(v) => v.push(capability(line)?),
            Self::Languages(v) => v.push(language(line)?),
        }
        Ok(())
    }

    /// The complete response.
    pub(crate) fn finish(self, text: Text) -> Response {
        match self {
            Self::Scan(entries) => Response::ScanList { text, entries },
            Self::Uid(entries) => Response::UidList { text, entries },
            Self::Capabilities(capabilities) => Response::Capabilities { text, capabilities },
            Self::Languages(languages) => Response::Languages { text, languages },
        }
    }
}

/// Frames a response line; a bare LF, or a CR or NUL inside the line, is an error.
fn frame(input: &[u8], limit: usize) -> Result<(&[u8], usize), ResponseDecodeError> {
    match frame_line(input, limit) {
        Framed::Line(line, used) if !line.iter().any(|&b| b == b'\r' || b == 0) => Ok((line, used)),
        Framed::Line(..) | Framed::BareLf(_) => Err(ResponseError::BadCharacter.into()),
        Framed::Incomplete => Err(ResponseDecodeError::Incomplete),
        Framed::TooLong => Err(ResponseError::LineTooLong.into()),
    }
}

/// `status [SP [resp-code SP] text]` (RFC 2449 §3; status indicators in upper case, RFC 1939 §3).
fn status_line(line: &[u8]) -> Result<Status, ResponseError> {
    let parsed: nom::IResult<&[u8], StatusKind> = alt((
        value(StatusKind::Ok, tag(&b"+OK"[..])),
        value(StatusKind::Err, tag(&b"-ERR"[..])),
    ))
    .parse(line);
    let (rest, kind) = parsed.map_err(|_| ResponseError::BadStatus)?;
    let payload = match rest {
        [] => &b""[..],
        [b' ', payload @ ..] => payload,
        _ => return Err(ResponseError::BadStatus),
    };
    let (code, text) = match payload {
        [b'[', inner @ ..] => {
            let close = memchr::memchr(b']', inner).ok_or(ResponseError::BadResponseCode)?;
            let code =
                std::str::from_utf8(&inner[..close]).map_err(|_| ResponseError::BadResponseCode)?;
            let code = RespCode::from_text(code).map_err(|_| ResponseError::BadResponseCode)?;
            let after = &inner[close + 1..];
            let text = after.strip_prefix(b" ").unwrap_or(after);
            (Some(code), text)
        }
        _ => (None, payload),
    };
    let status = match kind {
        StatusKind::Ok => Status::ok(Text::from_wire(text)),
        StatusKind::Err => Status::err(Text::from_wire(text)),
    };
    Ok(match code {
        Some(code) => status.with_code(code),
        None => status,
    })
}

fn params(fields: &[u8]) -> Result<Vec<Param>, ResponseError> {
    fields
        .split(|&b| b == b' ')
        .map(|p| {
            Param::try_from(same_length_utf8(p).as_str()).map_err(|_| ResponseError::BadCapability)
        })
        .collect()
}

/// `capa-tag *(SP param)` (RFC 2449 §3), tags matched case-insensitively.
fn capability(line: &[u8]) -> Result<Capability, ResponseError> {
    let bad = ResponseError::BadCapability;
    let (tag, args) = match memchr::memchr(b' ', line) {
        Some(sp) => (&line[..sp], params(&line[sp + 1..])?),
        None => (line, Vec::new()),
    };
    let upper = same_length_utf8(tag).to_ascii_uppercase();
    let per_user = |args: &[Param]| match args {
        [] => Ok(false),
        [user] if user.as_str().eq_ignore_ascii_case("USER") => Ok(true),
        _ => Err(bad),
    };
    let seconds = |p: &Param| {
        number::decimal(p.as_str().as_bytes(), u64::from(u32::MAX))
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(bad)
    };
    Ok(match upper.as_str() {
        "TOP" => Capability::Top,
        "USER" => Capability::User,
        "RESP-CODES" => Capability::RespCodes,
        "PIPELINING" => Capability::Pipelining,
        "UIDL" => Capability::Uidl,
        "STLS" => Capability::Stls,
        "AUTH-RESP-CODE" => Capability::AuthRespCode,
        "LANG" => Capability::Lang,
        "SASL" => Capability::Sasl(
            args.iter()
                .map(|m| {
                    Mechanism::try_from(m.as_str().to_ascii_uppercase().as_str()).map_err(|_| bad)
                })
                .collect::<Result<_, _>>()?,
        ),
        "LOGIN-DELAY" => {
            let (first, rest) = args.split_first().ok_or(bad)?;
            Capability::LoginDelay {
                seconds: seconds(first)?,
                per_user: per_user(rest)?,
            }
        }
        "EXPIRE" => {
            let (first, rest) = args.split_first().ok_or(bad)?;
            let policy = if first.as_str().eq_ignore_ascii_case("NEVER") {
                ExpirePolicy::Never
            } else {
                ExpirePolicy::Days(seconds(first)?)
            };
            Capability::Expire {
                policy,
                per_user: per_user(rest)?,
            }
        }
        "IMPLEMENTATION" => Capability::Implementation(args),
        "UTF8" => Capability::Utf8 {
            user: per_user(&args)?,
        },
        _ => {
            debug_assert!(!KNOWN_TAGS.contains(&upper.as_str()));
            let tag = Param::try_from(same_length_utf8(tag).as_str()).map_err(|_| bad)?;
            Capability::Other(OtherCapability::new(tag, args).map_err(|_| bad)?)
        }
    })
}

/// `lang-tag [SP description]` (RFC 6856 §3).
fn language(line: &[u8]) -> Result<Language, ResponseError> {
    let bad = ResponseError::BadListing { what: "LANG" };
    let (tag, description) = match memchr::memchr(b' ', line) {
        Some(sp) => (&line[..sp], &line[sp + 1..]),
        None => (line, &b""[..]),
    };
    let tag = LanguageTag::try_from(same_length_utf8(tag).as_str()).map_err(|_| bad)?;
    let description = Text::try_from(same_length_utf8(description)).map_err(|_| bad)?;
    Ok(Language::new(tag, description))
}

#[cfg(test)]
mod tests {
    use super::ResponseDecoder;
    use crate::{
        Options,
        error::{ResponseDecodeError, ResponseError},
        testing::assert_prefixes_incomplete,
        types::{
            Capability, ExpirePolicy, Language, MsgNo, Param, RespCode, Response, ResponseKind,
            ScanListing, Stat, Status, Text, UidListing,
        },
    };

    fn text(t: &str) -> Text {
        Text::try_from(t).expect("test texts are valid")
    }

    fn msg(n: u32) -> MsgNo {
        MsgNo::new(n).expect("test numbers are non-zero")
    }

    fn decoder() -> ResponseDecoder {
        ResponseDecoder::new(&Options::default())
    }

    fn table() -> Vec<(ResponseKind, &'static [u8], Response)> {
        use ResponseKind as K;
        vec![
            (
                K::Greeting,
                b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n",
                Response::Status(Status::ok(text("POP3 server ready <1896.697170952@dbc.mtview.ca.us>"))),
            ),
            (K::Status, b"+OK\r\n", Response::Status(Status::ok(Text::empty()))),
            (K::Status, b"-ERR [IN-USE] Do you have another POP session running?\r\n",
                Response::Status(Status::err(text("Do you have another POP session running?")).with_code(RespCode::InUse))),
            (K::Status, b"-ERR [LOGIN-DELAY] wait\r\n", Response::Status(Status::err(text("wait")).with_code(RespCode::LoginDelay))),
            (K::Status, b"-ERR [sys/temp] later\r\n", Response::Status(Status::err(text("later")).with_code(RespCode::SysTemp))),
            (K::Status, b"-ERR [SYS/PERM]\r\n", Response::Status(Status::err(Text::empty()).with_code(RespCode::SysPerm))),
            (K::Status, b"-ERR [AUTH] bad\r\n", Response::Status(Status::err(text("bad")).with_code(RespCode::Auth))),
            (K::Status, b"-ERR [UTF8] needs UTF8\r\n", Response::Status(Status::err(text("needs UTF8")).with_code(RespCode::Utf8))),
            (K::Status, b"-ERR [X-FOO/BAR] x\r\n", Response::Status(Status::err(text("x")).with_code(RespCode::Other("X-FOO/BAR".into())))),
            (K::Stat, b"+OK 2 320\r\n", Response::Stat(Stat { count: 2, size: 320 })),
            (K::Stat, b"+OK 0 0 maildrop empty\r\n", Response::Stat(Stat { count: 0, size: 0 })),
            (K::Stat, b"-ERR no\r\n", Response::Status(Status::err(text("no")))),
            (K::Scan, b"+OK 2 200\r\n", Response::Scan(ScanListing { msg: msg(2), size: 200 })),
            (
                K::ScanList,
                b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n",
                Response::ScanList {
                    text: text("2 messages (320 octets)"),
                    entries: vec![ScanListing { msg: msg(1), size: 120 }, ScanListing { msg: msg(2), size: 200 }],
                },
            ),
            (K::ScanList, b"+OK\r\n.\r\n", Response::ScanList { text: Text::empty(), entries: vec![] }),
            (K::Uid, b"+OK 2 QhdPYR:00WBw1Ph7x7\r\n",
                Response::Uid(UidListing { msg: msg(2), uid: "QhdPYR:00WBw1Ph7x7".try_into().unwrap() })),
            (
                K::UidList,
                b"+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n",
                Response::UidList {
                    text: Text::empty(),
                    entries: vec![
                        UidListing { msg: msg(1), uid: "whqtswO00WBw418f9t5JxYwZ".try_into().unwrap() },
                        UidListing { msg: msg(2), uid: "QhdPYR:00WBw1Ph7x7".try_into().unwrap() },
                    ],
                },
            ),
            (
                K::Capabilities,
                b"+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL CRAM-MD5 KERBEROS_V4\r\nRESP-CODES\r\n\
                  LOGIN-DELAY 900\r\nPIPELINING\r\nEXPIRE 60\r\nUIDL\r\nIMPLEMENTATION Shlemazle-Plotz-v302\r\n\
                  STLS\r\nAUTH-RESP-CODE\r\nUTF8 USER\r\nLANG\r\nEXPIRE NEVER USER\r\nX-FOO bar\r\n.\r\n",
                Response::Capabilities {
                    text: text("Capability list follows"),
                    capabilities: vec![
                        Capability::Top,
                        Capability::User,
                        Capability::Sasl(vec!["CRAM-MD5".try_into().unwrap(), "KERBEROS_V4".try_into().unwrap()]),
                        Capability::RespCodes,
                        Capability::LoginDelay { seconds: 900, per_user: false },
                        Capability::Pipelining,
                        Capability::Expire { policy: ExpirePolicy::Days(60), per_user: false },
                        Capability::Uidl,
                        Capability::Implementation(vec![Param::try_from("Shlemazle-Plotz-v302").unwrap()]),
                        Capability::Stls,
                        Capability::AuthRespCode,
                        Capability::Utf8 { user: true },
                        Capability::Lang,
                        Capability::Expire { policy: ExpirePolicy::Never, per_user: true },
                        Capability::Other(
                            crate::types::OtherCapability::new("X-FOO".try_into().unwrap(), vec!["bar".try_into().unwrap()]).unwrap(),
                        ),
                    ],
                },
            ),
            (
                K::Languages,
                b"+OK Language listing follows\r\nen English\r\nes Espa\xc3\xb1ol\r\n.\r\n",
                Response::Languages {
                    text: text("Language listing follows"),
                    languages: vec![
                        Language::new("en".try_into().unwrap(), text("English")),
                        Language::new("es".try_into().unwrap(), text("Español")),
                    ],
                },
            ),
            (K::Auth, b"+ \r\n", Response::Challenge(Vec::new().into())),
            (K::Auth, b"+\r\n", Response::Challenge(Vec::new().into())),
            (K::Auth, b"+ Zm9v\r\n", Response::Challenge(b"foo".to_vec().into())),
            (K::Auth, b"+OK logged in\r\n", Response::Status(Status::ok(text("logged in")))),
            (K::Message, b"+OK 120 octets\r\n", Response::Status(Status::ok(text("120 octets")))),
        ]
    }

    #[test]
    fn known_answers() {
        for (kind, input, expected) in table() {
            let mut with_rest = input.to_vec();
            with_rest.extend_from_slice(b"+OK next\r\n");
            assert_eq!(
                decoder().decode(kind, &with_rest),
                Ok((expected, input.len())),
                "{}",
                String::from_utf8_lossy(input)
            );
            assert_prefixes_incomplete(input, |p| {
                decoder().decode(kind, p) == Err(ResponseDecodeError::Incomplete)
            });
        }
    }

    #[test]
    fn apop_timestamp() {
        let (Response::Status(greeting), _) = decoder()
            .decode(
                ResponseKind::Greeting,
                b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n",
            )
            .unwrap()
        else {
            panic!("greeting is a status")
        };
        assert_eq!(
            greeting.apop_timestamp(),
            Some("<1896.697170952@dbc.mtview.ca.us>")
        );
        assert_eq!(Status::ok(text("hello <x")).apop_timestamp(), None);
    }

    #[test]
    fn refused_responses() {
        use ResponseError::*;
        use ResponseKind as K;
        let table: &[(ResponseKind, &[u8], ResponseError)] = &[
            (K::Status, b"+ok\r\n", BadStatus),
            (K::Status, b"+OKAY\r\n", BadStatus),
            (K::Status, b"OK\r\n", BadStatus),
            (K::Status, b"+OK\n", BadCharacter),
            (K::Status, b"+OK a\0b\r\n", BadCharacter),
            (K::Status, b"-ERR [IN-USE\r\n", BadResponseCode),
            (K::Status, b"-ERR [] x\r\n", BadResponseCode),
            (K::Stat, b"+OK two 320\r\n", BadListing { what: "STAT" }),
            (K::Stat, b"+OK 2\r\n", BadListing { what: "STAT" }),
            (K::Scan, b"+OK 0 200\r\n", BadListing { what: "LIST" }),
            (K::Uid, b"+OK 1 \r\n", BadListing { what: "UIDL" }),
            (
                K::UidList,
                b"+OK\r\n1 has\x01ctl\r\n.\r\n",
                BadListing { what: "UIDL" },
            ),
            (
                K::ScanList,
                b"+OK\r\n1\r\n.\r\n",
                BadListing { what: "LIST" },
            ),
            (
                K::Capabilities,
                b"+OK\r\nLOGIN-DELAY soon\r\n.\r\n",
                BadCapability,
            ),
            (K::Capabilities, b"+OK\r\n..X\r\n.\r\n", BadCapability),
            (K::Auth, b"+ Zm9\r\n", BadBase64),
        ];
        for (kind, input, error) in table {
            assert_eq!(
                decoder().decode(*kind, input),
                Err(ResponseDecodeError::Invalid(*error)),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        let long = [b'+'; 600];
        assert_eq!(
            decoder().decode(K::Status, &long),
            Err(ResponseDecodeError::Invalid(LineTooLong))
        );
        let options = Options {
            max_listing_entries: 1,
            ..Options::default()
        };
        assert_eq!(
            ResponseDecoder::new(&options).decode(K::ScanList, b"+OK\r\n1 1\r\n2 2\r\n.\r\n"),
            Err(ResponseDecodeError::Invalid(TooManyLines))
        );
    }
}
