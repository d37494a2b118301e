//! [`CommandDecoder`]: command lines and SASL client lines, as a server reads them.

use crate::{
    Options, base64,
    error::{CommandDecodeError, CommandError},
    parse::{
        Framed, frame_line,
        number::{self, NumberError},
    },
    types::{
        ApopDigest, AuthLine, Command, LangRequest, LanguageTag, Mechanism, Param, Password,
        UserName,
    },
};

/// Decodes commands (`USER alice\r\n` → [`Command::User`]) and SASL client lines.
///
/// Holds the limits from [`Options`] and whether UTF-8 mode (RFC 6856) is on, which decides
/// whether arguments may be non-ASCII.
#[derive(Debug, Clone)]
pub struct CommandDecoder {
    max_line: usize,
    max_auth_line: usize,
    max_msg_no: u32,
    utf8: bool,
}

impl CommandDecoder {
    /// A decoder with the limits of `options`, UTF-8 mode off.
    pub fn new(options: &Options) -> Self {
        Self {
            max_line: options.max_command_line,
            max_auth_line: options.max_auth_line,
            max_msg_no: options.max_message_number,
            utf8: false,
        }
    }

    /// Turns UTF-8 mode on or off (on after a successful `UTF8` command, RFC 6856 §2).
    pub fn set_utf8(&mut self, on: bool) {
        self.utf8 = on;
    }

    /// Decodes the first command in `input`: the command and the octets it used.
    ///
    /// ```
    /// use pop3_proto::{Command, CommandDecoder, MsgNo, Options};
    /// let decoder = CommandDecoder::new(&Options::default());
    /// let (command, used) = decoder.decode(b"retr 3\r\nQUIT\r\n").unwrap();
    /// assert_eq!(command, Command::Retr(MsgNo::new(3).unwrap()));
    /// assert_eq!(used, 8);
    /// ```
    pub fn decode(&self, input: &[u8]) -> Result<(Command, usize), CommandDecodeError> {
        let (line, consumed) = self.frame(input, self.max_line.max(self.max_auth_line))?;
        let invalid = |error| CommandDecodeError::Invalid { consumed, error };
        let (keyword, args) = match memchr::memchr(b' ', line) {
            Some(sp) => (&line[..sp], Some(&line[sp + 1..])),
            None => (line, None),
        };
        let is_auth = keyword.eq_ignore_ascii_case(b"AUTH");
        // RFC 2449 §4: "The maximum length of a command is increased from 47 characters (4
        // character command, single space, 40 character argument, CRLF) to 255 octets,
        // including the terminating CRLF." AUTH lines carry SASL data and have their own limit.
        let limit = if is_auth {
            self.max_auth_line
        } else {
            self.max_line
        };
        if consumed > limit {
            return Err(invalid(CommandError::LineTooLong));
        }
        self.command(keyword, args)
            .map(|c| (c, consumed))
            .map_err(invalid)
    }

    /// Decodes a client's line during a SASL exchange (RFC 5034 §4): base64 data, an empty
    /// line for empty data, or `*` to cancel.
    pub fn decode_auth_line(&self, input: &[u8]) -> Result<(AuthLine, usize), CommandDecodeError> {
        let (line, consumed) = self.frame(input, self.max_auth_line)?;
        // RFC 5034 §4: "If the client wishes to cancel the authentication exchange, it issues
        // a line with a single "*"."
        if line == b"*" {
            return Ok((AuthLine::Cancel, consumed));
        }
        match base64::decode(line) {
            Some(data) => Ok((AuthLine::Response(data.into()), consumed)),
            None => Err(CommandDecodeError::Invalid {
                consumed,
                error: CommandError::BadBase64,
            }),
        }
    }

    fn frame<'a>(
        &self,
        input: &'a [u8],
        limit: usize,
    ) -> Result<(&'a [u8], usize), CommandDecodeError> {
        match frame_line(input, limit) {
            Framed::Line(line, consumed) => {
                // RFC 1939 §3: "All commands are terminated by a CRLF pair." A CR or NUL inside
                // the line would let two parsers disagree on where it ends.
                if line.iter().any(|&b| b == b'\r' || b == 0) {
                    return Err(CommandDecodeError::Invalid {
                        consumed,
                        error: CommandError::BadCharacter,
                    });
                }
                Ok((line, consumed))
            }
            Framed::BareLf(consumed) => Err(CommandDecodeError::Invalid {
                consumed,
                error: CommandError::BareLineFeed,
            }),
            Framed::Incomplete => Err(CommandDecodeError::Incomplete),
            Framed::TooLong => Err(CommandDecodeError::LineTooLong),
        }
    }

    fn command(&self, keyword: &[u8], args: Option<&[u8]>) -> Result<Command, CommandError> {
        // RFC 1939 §3: "Commands in the POP3 consist of a case-insensitive keyword, possibly
        // followed by one or more arguments." ... "Keywords are three or four characters long."
        let mut upper = [0u8; 4];
        let Some(slot) = upper.get_mut(..keyword.len()) else {
            return Err(CommandError::UnknownCommand);
        };
        slot.copy_from_slice(keyword);
        upper.make_ascii_uppercase();
        if upper == *b"PASS" {
            return self.pass(args);
        }
        self.check_characters(keyword)?;
        if let Some(args) = args {
            self.check_characters(args)?;
        }
        let command = match &upper {
            b"USER" => Command::User(self.one(args, "USER name").map(user_name)?),
            b"APOP" => {
                let [name, digest] = self.exact(args, "APOP name digest")?;
                Command::Apop {
                    name: user_name(name),
                    digest: apop_digest(digest)?,
                }
            }
            b"QUIT" => self.none(args, "QUIT", Command::Quit)?,
            b"STAT" => self.none(args, "STAT", Command::Stat)?,
            b"LIST" => Command::List(self.optional_msg(args, "LIST [msg]")?),
            b"RETR" => Command::Retr(self.msg(self.one(args, "RETR msg")?)?),
            b"DELE" => Command::Dele(self.msg(self.one(args, "DELE msg")?)?),
            b"NOOP" => self.none(args, "NOOP", Command::Noop)?,
            b"RSET" => self.none(args, "RSET", Command::Rset)?,
            b"TOP\0" => {
                let [msg, lines] = self.exact(args, "TOP msg n")?;
                // RFC 1939 §7: "a non-negative number of lines (required)".
                let lines = number::decimal(lines, u64::from(u32::MAX))
                    .ok()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or(CommandError::BadLineCount)?;
                Command::Top {
                    msg: self.msg(msg)?,
                    lines,
                }
            }
            b"UIDL" => Command::Uidl(self.optional_msg(args, "UIDL [msg]")?),
            b"CAPA" => self.none(args, "CAPA", Command::Capa)?,
            b"STLS" => self.none(args, "STLS", Command::Stls)?,
            b"AUTH" => self.auth(args)?,
            b"UTF8" => self.none(args, "UTF8", Command::Utf8)?,
            b"LANG" => Command::Lang(match self.optional(args, "LANG [lang-or-wild]")? {
                None => None,
                Some(b"*") => Some(LangRequest::Wildcard),
                Some(tag) => Some(LangRequest::Tag(language_tag(tag)?)),
            }),
            _ => return Err(CommandError::UnknownCommand),
        };
        Ok(command)
    }

    /// RFC 1939 §3: "Keywords and arguments consist of printable ASCII characters." In UTF-8
    /// mode, RFC 6856 §2 allows UTF-8 arguments.
    fn check_characters(&self, field: &[u8]) -> Result<(), CommandError> {
        if field.is_ascii() {
            if field.iter().all(|&b| (0x20..0x7f).contains(&b)) {
                return Ok(());
            }
            return Err(CommandError::BadCharacter);
        }
        match std::str::from_utf8(field) {
            Ok(text) if self.utf8 && !text.chars().any(char::is_control) => Ok(()),
            _ => Err(CommandError::BadCharacter),
        }
    }

    fn pass(&self, args: Option<&[u8]>) -> Result<Command, CommandError> {
        // RFC 1939 §7: "Since the PASS command has exactly one argument, a POP3 server may
        // treat spaces in the argument as part of the password, instead of as argument
        // separators." Octets other than NUL, CR and LF are kept: legacy clients send 8-bit
        // passwords, and truncating at NUL would check a different password.
        let password = args.filter(|a| !a.is_empty()).ok_or(CommandError::Syntax {
            usage: "PASS string",
        })?;
        Password::try_from(password)
            .map(Command::Pass)
            .map_err(|_| CommandError::BadCharacter)
    }

    fn auth(&self, args: Option<&[u8]>) -> Result<Command, CommandError> {
        const USAGE: &str = "AUTH mechanism [initial-response]";
        let mut fields = split_args(args.ok_or(CommandError::Syntax { usage: USAGE })?, USAGE)?;
        let mechanism = fields.next().ok_or(CommandError::Syntax { usage: USAGE })?;
        let initial = fields.next();
        if fields.next().is_some() {
            return Err(CommandError::Syntax { usage: USAGE });
        }
        let mechanism = mechanism.to_ascii_uppercase();
        Mechanism::validate(&mechanism).map_err(|_| CommandError::BadMechanism)?;
        let mechanism = Mechanism::try_from(String::from_utf8_lossy(&mechanism).as_ref())
            .map_err(|_| CommandError::BadMechanism)?;
        // RFC 5034 §4: "If present, this response MUST be encoded as Base64 (specified in
        // Section 4 of [RFC4648]), or consist only of the single character "=", which
        // represents an empty initial response."
        let initial_response = match initial {
            None => None,
            Some(b"=") => Some(Vec::new().into()),
            Some(data) => Some(base64::decode(data).ok_or(CommandError::BadBase64)?.into()),
        };
        Ok(Command::Auth {
            mechanism,
            initial_response,
        })
    }

    fn none(
        &self,
        args: Option<&[u8]>,
        usage: &'static str,
        command: Command,
    ) -> Result<Command, CommandError> {
        match args {
            None => Ok(command),
            Some(_) => Err(CommandError::Syntax { usage }),
        }
    }

    fn optional<'a>(
        &self,
        args: Option<&'a [u8]>,
        usage: &'static str,
    ) -> Result<Option<&'a [u8]>, CommandError> {
        args.map(|a| self.one(Some(a), usage)).transpose()
    }

    fn one<'a>(
        &self,
        args: Option<&'a [u8]>,
        usage: &'static str,
    ) -> Result<&'a [u8], CommandError> {
        let [only] = self.exact(args, usage)?;
        Ok(only)
    }

    /// Exactly `N` arguments. RFC 1939 §3: "Keywords and arguments are each separated by a
    /// single SPACE character."
    fn exact<'a, const N: usize>(
        &self,
        args: Option<&'a [u8]>,
        usage: &'static str,
    ) -> Result<[&'a [u8]; N], CommandError> {
        let syntax = CommandError::Syntax { usage };
        let mut fields = split_args(args.ok_or(syntax)?, usage)?;
        let mut out = [&b""[..]; N];
        for slot in &mut out {
            *slot = fields.next().ok_or(syntax)?;
        }
        match fields.next() {
            None => Ok(out),
            Some(_) => Err(syntax),
        }
    }

    fn optional_msg(
        &self,
        args: Option<&[u8]>,
        usage: &'static str,
    ) -> Result<Option<crate::MsgNo>, CommandError> {
        self.optional(args, usage)?.map(|m| self.msg(m)).transpose()
    }

    fn msg(&self, field: &[u8]) -> Result<crate::MsgNo, CommandError> {
        number::msg_no(field, self.max_msg_no).map_err(|e| match e {
            NumberError::NotANumber => CommandError::NotANumber,
            NumberError::Zero => CommandError::ZeroMessageNumber,
            NumberError::TooLarge => CommandError::MessageNumberTooLarge,
        })
    }
}

/// Splits arguments at single spaces; an empty field means two spaces in a row, or a space
/// at the start or end, which RFC 1939 §3 does not allow.
fn split_args<'a>(
    args: &'a [u8],
    usage: &'static str,
) -> Result<impl Iterator<Item = &'a [u8]>, CommandError> {
    if args.is_empty()
        || args.starts_with(b" ")
        || args.ends_with(b" ")
        || memchr::memmem::find(args, b"  ").is_some()
    {
        return Err(CommandError::Syntax { usage });
    }
    Ok(args.split(|&b| b == b' '))
}

/// A field already checked by `check_characters`: printable, no spaces, UTF-8.
fn user_name(field: &[u8]) -> UserName {
    UserName::from(Param::from_checked(&String::from_utf8_lossy(field)))
}

fn apop_digest(field: &[u8]) -> Result<ApopDigest, CommandError> {
    let lower = String::from_utf8_lossy(field).to_ascii_lowercase();
    ApopDigest::try_from(lower.as_str()).map_err(|_| CommandError::BadDigest)
}

fn language_tag(field: &[u8]) -> Result<LanguageTag, CommandError> {
    LanguageTag::try_from(String::from_utf8_lossy(field).as_ref())
        .map_err(|_| CommandError::BadLanguage)
}

#[cfg(test)]
mod tests {
    use super::CommandDecoder;
    use crate::{
        Options,
        error::{CommandDecodeError, CommandError},
        testing::assert_prefixes_incomplete,
        types::{AuthLine, Command, LangRequest, MsgNo, Password},
    };

    fn msg(n: u32) -> MsgNo {
        MsgNo::new(n).expect("test numbers are non-zero")
    }

    fn decoder() -> CommandDecoder {
        CommandDecoder::new(&Options::default())
    }

    fn ok_table() -> Vec<(&'static [u8], Command)> {
        vec![
            (
                b"USER mrose\r\n",
                Command::User("mrose".try_into().unwrap()),
            ),
            (
                b"user mrose\r\n",
                Command::User("mrose".try_into().unwrap()),
            ),
            (
                b"PASS secret\r\n",
                Command::Pass(Password::try_from("secret").unwrap()),
            ),
            (
                b"PASS two words \r\n",
                Command::Pass(Password::try_from("two words ").unwrap()),
            ),
            (
                b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
                Command::Apop {
                    name: "mrose".try_into().unwrap(),
                    digest: "c4c9334bac560ecc979e58001b3e22fb".try_into().unwrap(),
                },
            ),
            (
                b"APOP mrose C4C9334BAC560ECC979E58001B3E22FB\r\n",
                Command::Apop {
                    name: "mrose".try_into().unwrap(),
                    digest: "c4c9334bac560ecc979e58001b3e22fb".try_into().unwrap(),
                },
            ),
            (b"QUIT\r\n", Command::Quit),
            (b"STAT\r\n", Command::Stat),
            (b"LIST\r\n", Command::List(None)),
            (b"LIST 2\r\n", Command::List(Some(msg(2)))),
            (b"RETR 1\r\n", Command::Retr(msg(1))),
            (b"DELE 10000000\r\n", Command::Dele(msg(10_000_000))),
            (b"NOOP\r\n", Command::Noop),
            (b"RSET\r\n", Command::Rset),
            (
                b"TOP 1 10\r\n",
                Command::Top {
                    msg: msg(1),
                    lines: 10,
                },
            ),
            (
                b"TOP 1 0\r\n",
                Command::Top {
                    msg: msg(1),
                    lines: 0,
                },
            ),
            (b"UIDL\r\n", Command::Uidl(None)),
            (b"UIDL 2\r\n", Command::Uidl(Some(msg(2)))),
            (b"CAPA\r\n", Command::Capa),
            (b"STLS\r\n", Command::Stls),
            (
                b"AUTH plain\r\n",
                Command::Auth {
                    mechanism: "PLAIN".try_into().unwrap(),
                    initial_response: None,
                },
            ),
            (
                b"AUTH PLAIN AGFsaWNlAHB3\r\n",
                Command::Auth {
                    mechanism: "PLAIN".try_into().unwrap(),
                    initial_response: Some(b"\0alice\0pw".to_vec().into()),
                },
            ),
            (
                b"AUTH EXTERNAL =\r\n",
                Command::Auth {
                    mechanism: "EXTERNAL".try_into().unwrap(),
                    initial_response: Some(Vec::new().into()),
                },
            ),
            (b"UTF8\r\n", Command::Utf8),
            (b"LANG\r\n", Command::Lang(None)),
            (b"LANG *\r\n", Command::Lang(Some(LangRequest::Wildcard))),
            (
                b"LANG en-GB\r\n",
                Command::Lang(Some(LangRequest::Tag("en-GB".try_into().unwrap()))),
            ),
        ]
    }

    #[test]
    fn known_answers() {
        for (input, expected) in ok_table() {
            let mut with_rest = input.to_vec();
            with_rest.extend_from_slice(b"NOOP\r\n");
            assert_eq!(
                decoder().decode(&with_rest),
                Ok((expected, input.len())),
                "{:?}",
                String::from_utf8_lossy(input)
            );
            assert_prefixes_incomplete(input, |p| {
                decoder().decode(p) == Err(CommandDecodeError::Incomplete)
            });
        }
    }

    /// THREATS POP-01 and RFC 1939 argument rules: each of these gets `-ERR` and the session
    /// goes on with the next line.
    #[test]
    fn refused_lines() {
        use CommandError::*;
        let table: &[(&[u8], CommandError)] = &[
            (b"RETR 0\r\n", ZeroMessageNumber),
            (b"RETR 4294967296\r\n", MessageNumberTooLarge),
            (b"RETR 10000001\r\n", MessageNumberTooLarge),
            (b"RETR -1\r\n", NotANumber),
            (b"LIST x\r\n", NotANumber),
            (b"TOP 1 -1\r\n", BadLineCount),
            (b"TOP 1 99999999999\r\n", BadLineCount),
            (b"TOP 1\r\n", Syntax { usage: "TOP msg n" }),
            (b"RETR\r\n", Syntax { usage: "RETR msg" }),
            (b"RETR 1 2\r\n", Syntax { usage: "RETR msg" }),
            (b"RETR  1\r\n", Syntax { usage: "RETR msg" }),
            (
                b"LIST \r\n",
                Syntax {
                    usage: "LIST [msg]",
                },
            ),
            (b"STAT now\r\n", Syntax { usage: "STAT" }),
            (
                b"PASS\r\n",
                Syntax {
                    usage: "PASS string",
                },
            ),
            (
                b"PASS \r\n",
                Syntax {
                    usage: "PASS string",
                },
            ),
            (b"PASS a\0b\r\n", BadCharacter),
            (b"USER a\0b\r\n", BadCharacter),
            (b"USER a\rb\r\n", BadCharacter),
            (b"USER \xc3\xa9\r\n", BadCharacter),
            (b"USER a\tb\r\n", BadCharacter),
            (b"APOP mrose c4c9\r\n", BadDigest),
            (
                b"AUTH\r\n",
                Syntax {
                    usage: "AUTH mechanism [initial-response]",
                },
            ),
            (b"AUTH PL@IN\r\n", BadMechanism),
            (b"AUTH PLAIN abc\r\n", BadBase64),
            (b"LANG e_n\r\n", BadLanguage),
            (b"XTND\r\n", UnknownCommand),
            (b"RETRIEVE 1\r\n", UnknownCommand),
            (b"\r\n", UnknownCommand),
            (b"NOOP\n", BareLineFeed),
        ];
        for (input, error) in table {
            assert_eq!(
                decoder().decode(input),
                Err(CommandDecodeError::Invalid {
                    consumed: input.len(),
                    error: *error
                }),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn line_limits() {
        // RFC 2449 §4: 255 octets including CRLF is the longest command.
        let mut at_limit = b"USER ".to_vec();
        at_limit.resize(253, b'a');
        at_limit.extend_from_slice(b"\r\n");
        assert!(decoder().decode(&at_limit).is_ok());
        let mut over = b"USER ".to_vec();
        over.resize(254, b'a');
        over.extend_from_slice(b"\r\n");
        assert_eq!(
            decoder().decode(&over),
            Err(CommandDecodeError::Invalid {
                consumed: 256,
                error: CommandError::LineTooLong
            })
        );
        assert_eq!(
            decoder().decode(&[b'a'; 9000]),
            Err(CommandDecodeError::LineTooLong)
        );
        let mut auth = b"AUTH PLAIN ".to_vec();
        auth.extend(std::iter::repeat_n(b'A', 400));
        auth.extend_from_slice(b"\r\n");
        assert!(matches!(
            decoder().decode(&auth),
            Ok((Command::Auth { .. }, 413))
        ));
    }

    #[test]
    fn utf8_mode_allows_utf8_arguments() {
        let mut decoder = decoder();
        assert!(decoder.decode("USER José\r\n".as_bytes()).is_err());
        decoder.set_utf8(true);
        assert_eq!(
            decoder.decode("USER José\r\n".as_bytes()),
            Ok((Command::User("José".try_into().unwrap()), 12))
        );
    }

    #[test]
    fn auth_lines() {
        let d = decoder();
        assert_eq!(d.decode_auth_line(b"*\r\n"), Ok((AuthLine::Cancel, 3)));
        assert_eq!(
            d.decode_auth_line(b"\r\n"),
            Ok((AuthLine::Response(Vec::new().into()), 2))
        );
        assert_eq!(
            d.decode_auth_line(b"Zm9v\r\n"),
            Ok((AuthLine::Response(b"foo".to_vec().into()), 6))
        );
        assert_eq!(
            d.decode_auth_line(b"Zm9\r\n"),
            Err(CommandDecodeError::Invalid {
                consumed: 5,
                error: CommandError::BadBase64
            })
        );
        assert_prefixes_incomplete(b"Zm9v\r\n", |p| {
            d.decode_auth_line(p) == Err(CommandDecodeError::Incomplete)
        });
    }
}
