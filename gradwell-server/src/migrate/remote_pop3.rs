//! A [`Source`] that reads one user's maildrop from a remote POP3 server, on pop3-proto's
//! client session over a blocking socket ([`super::remote_conn`]).
//!
//! POP3 has one mailbox, so the source offers only INBOX, without UIDVALIDITY or UIDs (the
//! target assigns them in POP3 order). What POP3 clients already know is kept: each
//! message's `UIDL` unique-id becomes [`SourceMessage::pop3_uidl`] and its message number
//! [`SourceMessage::pop3_order`], so clients that "leave mail on the server" do not
//! download everything again. INTERNALDATE is the `Date:` header's time, or the clock
//! passed in when the header is missing or unreadable. POP3 has no flags.
//!
//! The session: greeting; `STLS` when asked (the answer is read one octet at a time, so
//! nothing after `+OK` is taken in plaintext); `USER`/`PASS` or `AUTH PLAIN`; `STAT` (for
//! [`Source::mailboxes`]) or `UIDL`, `LIST` and one `RETR` per message; `QUIT`. Nothing is
//! ever deleted (no `DELE`). Each call uses its own session, so the maildrop lock the
//! server takes is held no longer than one walk.

use std::{
    fmt,
    io::{Read, Write},
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use maildir_store::{Flags, MailboxName};
use pop3_proto::{
    AuthLine, Client, ClientEvent, Command, Mechanism, MsgNo, Options, Password, Response, Secret,
    UserName,
};

use super::{
    remote_conn::{
        Credentials, Endpoint, LoginMethod, RemoteOptions, Security, Stream, io_error, remote,
    },
    source::{Source, SourceError, SourceMailbox, SourceMessage},
    throttle::Throttle,
};

/// The clock used for messages without a usable `Date:` header.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// One user's maildrop on a remote POP3 server.
pub struct Pop3Source {
    endpoint: Endpoint,
    credentials: Credentials,
    options: RemoteOptions,
    throttle: Option<Arc<Throttle>>,
    clock: Clock,
}

impl fmt::Debug for Pop3Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pop3Source")
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials)
            .field("options", &self.options)
            .field("throttle", &self.throttle)
            .finish_non_exhaustive()
    }
}

impl Pop3Source {
    /// A source for `credentials` at `endpoint`; `clock` gives INTERNALDATE for messages
    /// without a `Date:` header (the engine passes the import time). Nothing is sent until
    /// the first call.
    pub fn new(
        endpoint: Endpoint,
        credentials: Credentials,
        options: RemoteOptions,
        clock: Clock,
    ) -> Self {
        Self {
            endpoint,
            credentials,
            options,
            throttle: None,
            clock,
        }
    }

    /// Caps the messages read per second (shared with every other source given the same
    /// throttle).
    pub fn with_throttle(mut self, throttle: Arc<Throttle>) -> Self {
        self.throttle = Some(throttle);
        self
    }
}

impl Source for Pop3Source {
    fn mailboxes(&mut self) -> Result<Vec<SourceMailbox>, SourceError> {
        let mut session = Session::open(&self.endpoint, &self.credentials, &self.options)?;
        let Response::Stat(stat) = session.command(Command::Stat, "STAT")? else {
            return Err(remote("STAT", "the answer is not a drop listing"));
        };
        session.quit();
        Ok(vec![SourceMailbox {
            name: MailboxName::inbox(),
            uid_validity: None,
            uid_next: None,
            subscribed: true,
            message_count: Some(u64::from(stat.count)),
        }])
    }

    fn messages(
        &mut self,
        mailbox: &SourceMailbox,
        sink: &mut dyn FnMut(SourceMessage) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        if !mailbox.name.is_inbox() {
            return Err(SourceError::Malformed {
                mailbox: mailbox.name.as_str().to_owned(),
                reason: "a POP3 source has only INBOX".into(),
            });
        }
        let mut session = Session::open(&self.endpoint, &self.credentials, &self.options)?;
        let Response::UidList { entries, .. } = session.command(Command::Uidl(None), "UIDL")?
        else {
            return Err(remote("UIDL", "the answer is not a unique-id listing"));
        };
        let Response::ScanList { entries: sizes, .. } =
            session.command(Command::List(None), "LIST")?
        else {
            return Err(remote("LIST", "the answer is not a scan listing"));
        };
        let limit = self.options.max_message_size;
        if let Some(big) = sizes.iter().find(|s| s.size > limit) {
            return Err(SourceError::Remote(format!(
                "INBOX: message {} is {} octets, over the {limit}-octet limit",
                big.msg, big.size
            )));
        }
        let mut entries = entries;
        entries.sort_by_key(|e| e.msg);
        for entry in entries {
            if let Some(throttle) = &self.throttle {
                throttle.acquire(1);
            }
            let body = session.retrieve(entry.msg, limit)?;
            let internal_date = date_header(&body).unwrap_or_else(|| (self.clock)());
            sink(SourceMessage {
                uid: None,
                flags: Flags::new(),
                internal_date,
                pop3_uidl: Some(entry.uid.as_str().to_owned()),
                pop3_order: Some(entry.msg.get()),
                body,
            })?;
        }
        session.quit();
        Ok(())
    }
}

/// The time of the message's `Date:` header, when it has a readable one.
fn date_header(message: &[u8]) -> Option<SystemTime> {
    let headers = mail_parser::MessageParser::new().parse_headers(message)?;
    let seconds = headers.date()?.to_timestamp();
    let magnitude = Duration::from_secs(seconds.unsigned_abs());
    if seconds >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// One logged-in POP3 session: the socket, the state machine and a read buffer whose
/// octets `start..end` have not been fed to the state machine yet.
struct Session {
    stream: Stream,
    client: Client,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Session {
    fn open(
        endpoint: &Endpoint,
        credentials: &Credentials,
        options: &RemoteOptions,
    ) -> Result<Self, SourceError> {
        let mut session = Self {
            stream: Stream::connect(endpoint, options)?,
            client: Client::new(Options::default()),
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
        };
        match session.next_event("greeting", usize::MAX)? {
            ClientEvent::Greeting(g) if g.is_ok() => {}
            other => return Err(remote("greeting", format!("refused: {other:?}"))),
        }
        if endpoint.security == Security::StartTls {
            session = session.start_tls(endpoint)?;
        }
        session.login(credentials)?;
        Ok(session)
    }

    /// STLS (RFC 2595 §4), reading the answer one octet at a time so that no plaintext
    /// after `+OK` is consumed (THREATS TLS-01).
    fn start_tls(mut self, endpoint: &Endpoint) -> Result<Self, SourceError> {
        self.client
            .send(Command::Stls)
            .map_err(|e| remote("STLS", e))?;
        match self.next_event("STLS", 1)? {
            ClientEvent::Response { response, .. } if !response.is_err() => {}
            other => return Err(remote("STLS", format!("refused: {other:?}"))),
        }
        if self.start != self.end {
            return Err(remote("STLS", "the server sent plaintext after +OK"));
        }
        let Self {
            stream,
            mut client,
            buf,
            ..
        } = self;
        let stream = stream.start_tls(endpoint)?;
        client.tls_established().map_err(|e| remote("STLS", e))?;
        Ok(Self {
            stream,
            client,
            buf,
            start: 0,
            end: 0,
        })
    }

    fn login(&mut self, credentials: &Credentials) -> Result<(), SourceError> {
        match credentials.method() {
            LoginMethod::Password => {
                let user = UserName::try_from(credentials.user()).map_err(|e| remote("USER", e))?;
                let pass =
                    Password::try_from(credentials.password()).map_err(|e| remote("PASS", e))?;
                self.command(Command::User(user), "USER")?;
                self.command(Command::Pass(pass), "PASS")?;
            }
            LoginMethod::SaslPlain => {
                let mechanism = Mechanism::try_from("PLAIN").map_err(|e| remote("AUTH", e))?;
                self.client
                    .send(Command::Auth {
                        mechanism,
                        initial_response: Some(Secret::new(credentials.sasl_plain())),
                    })
                    .map_err(|e| remote("AUTH", e))?;
                loop {
                    match self.next_event("AUTH PLAIN", usize::MAX)? {
                        ClientEvent::Response {
                            response: Response::Challenge(_),
                            ..
                        } => {
                            // The initial response was ignored; send the credentials again.
                            let line = AuthLine::Response(Secret::new(credentials.sasl_plain()));
                            self.client
                                .auth_respond(line)
                                .map_err(|e| remote("AUTH PLAIN", e))?;
                        }
                        ClientEvent::Response { response, .. } if !response.is_err() => break,
                        other => return Err(remote("AUTH PLAIN", format!("refused: {other:?}"))),
                    }
                }
            }
        }
        Ok(())
    }

    /// Sends a command and returns its (non-body) answer; `-ERR` is an error.
    fn command(&mut self, command: Command, context: &str) -> Result<Response, SourceError> {
        self.client.send(command).map_err(|e| remote(context, e))?;
        match self.next_event(context, usize::MAX)? {
            ClientEvent::Response { response, .. } if !response.is_err() => Ok(response),
            ClientEvent::Response { response, .. } => {
                Err(remote(context, format!("server said {response:?}")))
            }
            other => Err(remote(context, format!("unexpected {other:?}"))),
        }
    }

    /// RETR: the whole message, at most `limit` octets.
    fn retrieve(&mut self, msg: MsgNo, limit: u64) -> Result<Vec<u8>, SourceError> {
        let context = format!("INBOX: RETR {msg}");
        self.client
            .send(Command::Retr(msg))
            .map_err(|e| remote(&context, e))?;
        match self.next_event(&context, usize::MAX)? {
            ClientEvent::BodyStart { .. } => {}
            other => return Err(remote(&context, format!("refused: {other:?}"))),
        }
        let mut body = Vec::new();
        loop {
            match self.next_event(&context, usize::MAX)? {
                ClientEvent::BodyData(data) => {
                    if (body.len() + data.len()) as u64 > limit {
                        return Err(remote(&context, "message over the size limit"));
                    }
                    body.extend_from_slice(&data);
                }
                ClientEvent::BodyEnd => return Ok(body),
                other => return Err(remote(&context, format!("unexpected {other:?}"))),
            }
        }
    }

    /// Writes pending commands, then reads (at most `max_read` octets at a time) until the
    /// state machine has an event.
    fn next_event(&mut self, context: &str, max_read: usize) -> Result<ClientEvent, SourceError> {
        let mut out = Vec::new();
        self.client.poll_transmit(&mut out);
        if !out.is_empty() {
            self.stream
                .write_all(&out)
                .and_then(|()| self.stream.flush())
                .map_err(|e| io_error(context, &e))?;
        }
        loop {
            if let Some(event) = self.client.poll_event().map_err(|e| remote(context, e))? {
                return Ok(event);
            }
            if self.start == self.end {
                let window = max_read.min(self.buf.len());
                self.end = self
                    .stream
                    .read(&mut self.buf[..window])
                    .map_err(|e| io_error(context, &e))?;
                self.start = 0;
                if self.end == 0 {
                    return Err(remote(context, "connection closed by the server"));
                }
            }
            // The state machine takes what fits under its buffer limit; the rest waits in
            // `buf` until the events it makes room for have been taken.
            let taken = self.client.handle_input(&self.buf[self.start..self.end]);
            if taken == 0 {
                return Err(remote(context, "a response over the client's input limit"));
            }
            self.start += taken;
        }
    }

    /// QUIT, so the server releases its lock; its answer is not awaited.
    fn quit(mut self) {
        if self.client.send(Command::Quit).is_ok() {
            let mut out = Vec::new();
            self.client.poll_transmit(&mut out);
            let _ = self.stream.write_all(&out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_header_is_read_and_missing_ones_are_none() {
        let at = date_header(b"Date: Sun, 29 Nov 2026 07:00:00 +0100\r\nSubject: x\r\n\r\nbody")
            .expect("date");
        assert_eq!(
            at.duration_since(UNIX_EPOCH)
                .expect("after the epoch")
                .as_secs(),
            1_795_932_000
        );
        assert_eq!(date_header(b"Subject: no date\r\n\r\nbody"), None);
        assert_eq!(date_header(b"Date: not a date at all\r\n\r\n"), None);
    }
}
