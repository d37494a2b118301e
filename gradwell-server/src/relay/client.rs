//! One delivery attempt to the smart host, driving smtp-proto's client session.
//!
//! Every octet read goes into the session and every octet written comes out of it: there is
//! no second buffer, so plaintext that arrives after the `220` to STARTTLS is discarded by the
//! session (RFC 3207 §4.2; Exim's CVE-2021-38371) and never read as a reply inside TLS.

use std::{io, time::Duration};

use rustls_pki_types::ServerName;
use smtp_proto::{
    Command, Domain, ForwardPath, Mailbox, Reply, ReversePath, Secret,
    client::{Client, ClientError, ClientEvent, Sent},
    command::{AuthLine, Body, MailParams, Mechanism, RcptParams},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::{TlsConnector, client::TlsStream};

use super::{RelayConfig, RelayTls, mx::Target};

/// What became of one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the next hop (its reply).
    Delivered(String),
    /// Try again later (4xx, or the attempt failed before a verdict).
    Deferred(String),
    /// Refused for good (5xx).
    Failed(String),
}

impl Outcome {
    fn from_reply(reply: &Reply<'_>) -> Outcome {
        let text = render(reply);
        match reply.code().class() {
            2 => Outcome::Delivered(text),
            5 => Outcome::Failed(text),
            _ => Outcome::Deferred(text),
        }
    }
}

/// `250 2.0.0 text` on one line.
fn render(reply: &Reply<'_>) -> String {
    let mut text = reply.code().get().to_string();
    if let Some(status) = reply.status() {
        text.push_str(&format!(
            " {}.{}.{}",
            status.class(),
            status.subject(),
            status.detail()
        ));
    }
    for line in reply.lines() {
        text.push(' ');
        text.push_str(line.trim());
    }
    text
}

/// The attempt ended before per-recipient verdicts: every recipient is deferred with this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferral(pub String);

impl From<io::Error> for Deferral {
    fn from(e: io::Error) -> Self {
        Deferral(format!("4.4.1 connection to the smart host failed: {e}"))
    }
}

impl From<ClientError> for Deferral {
    fn from(e: ClientError) -> Self {
        Deferral(format!(
            "4.4.2 SMTP session with the smart host failed: {e}"
        ))
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Upgrading,
}

/// The socket and the session; the only code here that touches the network.
struct Wire {
    stream: Stream,
    client: Client,
    out: Vec<u8>,
    timeout: Duration,
}

impl Wire {
    async fn flush(&mut self) -> io::Result<()> {
        self.client.poll_transmit(&mut self.out);
        if self.out.is_empty() {
            return Ok(());
        }
        match &mut self.stream {
            Stream::Plain(s) => s.write_all(&self.out).await?,
            Stream::Tls(s) => {
                s.write_all(&self.out).await?;
                s.flush().await?;
            }
            Stream::Upgrading => return Err(io::Error::other("connection is upgrading")),
        }
        self.out.clear();
        Ok(())
    }

    /// The next event, reading as needed.
    async fn event(&mut self) -> Result<ClientEvent, Deferral> {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(event) = self.client.poll_event() {
                return Ok(event);
            }
            self.flush().await?;
            let read = match &mut self.stream {
                Stream::Plain(s) => tokio::time::timeout(self.timeout, s.read(&mut buf)).await,
                Stream::Tls(s) => tokio::time::timeout(self.timeout, s.read(&mut buf)).await,
                Stream::Upgrading => return Err(Deferral("4.4.2 connection lost".into())),
            };
            match read {
                Err(_) => return Err(Deferral("4.4.2 smart host timed out".into())),
                Ok(Ok(0)) => return Err(Deferral("4.4.2 smart host closed the connection".into())),
                Ok(Ok(n)) => self.client.handle_input(&buf[..n])?,
                Ok(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// The reply to `expected`; anything else ends the attempt.
    async fn reply(&mut self, expected: Sent) -> Result<Reply<'static>, Deferral> {
        match self.event().await? {
            ClientEvent::Reply { to, reply } if to == expected => Ok(reply),
            ClientEvent::Reply { reply, .. } => Err(Deferral(format!(
                "4.4.2 unexpected reply from the smart host: {}",
                render(&reply)
            ))),
            ClientEvent::Closed => Err(Deferral("4.4.2 smart host closed the session".into())),
            other => Err(Deferral(format!("4.4.2 smart host: {other:?}"))),
        }
    }

    /// Sends `command`, first draining replies while the session says it must wait
    /// (no PIPELINING, or a group-ending command outstanding); drained replies go to `early`.
    async fn send(
        &mut self,
        command: &Command<'_>,
        early: &mut Vec<(Sent, Reply<'static>)>,
    ) -> Result<(), Deferral> {
        loop {
            match self.client.send(command) {
                Ok(()) => return Ok(()),
                Err(ClientError::MustWait) => match self.event().await? {
                    ClientEvent::Reply { to, reply } => early.push((to, reply)),
                    other => return Err(Deferral(format!("4.4.2 smart host: {other:?}"))),
                },
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A positive reply to `expected`, or the attempt is deferred with what was said.
    async fn expect_positive(&mut self, expected: Sent, what: &str) -> Result<(), Deferral> {
        let reply = self.reply(expected).await?;
        if reply.code().is_positive() {
            Ok(())
        } else {
            Err(Deferral(format!(
                "4.4.2 smart host refused {what}: {}",
                render(&reply)
            )))
        }
    }

    /// AUTH PLAIN (RFC 4616) with an initial response, or LOGIN when only that is offered
    /// (common on hosted relays).
    async fn authenticate(&mut self, user: &str, password: &str) -> Result<(), Deferral> {
        let offered = |m: &str| {
            self.client
                .extensions()
                .is_some_and(|e| e.auth_mechanisms().any(|o| o.eq_ignore_ascii_case(m)))
        };
        let login = offered("LOGIN") && !offered("PLAIN");
        let (name, initial) = if login {
            ("LOGIN", None)
        } else {
            let mut response = vec![0];
            response.extend_from_slice(user.as_bytes());
            response.push(0);
            response.extend_from_slice(password.as_bytes());
            ("PLAIN", Some(Secret::new(response)))
        };
        let mechanism =
            Mechanism::try_from(name).map_err(|_| Deferral("4.3.5 mechanism name".into()))?;
        self.send(
            &Command::Auth {
                mechanism,
                initial_response: initial,
            },
            &mut Vec::new(),
        )
        .await?;
        if login {
            // RFC 4954 §4: each 334 asks for the next piece; user name, then password.
            for answer in [user, password] {
                let challenge = self.reply(Sent::Auth).await?;
                if challenge.code().get() != 334 {
                    return Err(Deferral(format!(
                        "4.4.2 smart host refused our credentials: {}",
                        render(&challenge)
                    )));
                }
                let line = AuthLine::Response(Secret::new(answer.as_bytes().to_vec()));
                self.client.send_auth_line(&line)?;
            }
        }
        self.expect_positive(Sent::Auth, "our credentials").await
    }

    async fn ehlo(&mut self, helo: &Domain<'_>) -> Result<(), Deferral> {
        self.send(&Command::Ehlo(helo.clone()), &mut Vec::new())
            .await?;
        self.expect_positive(Sent::Ehlo, "EHLO").await
    }

    async fn start_tls(&mut self, connector: &TlsConnector, name: &str) -> Result<(), Deferral> {
        let server_name = ServerName::try_from(name.to_owned())
            .map_err(|_| Deferral(format!("4.7.5 invalid TLS name {name:?}")))?;
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Upgrading) else {
            return Err(Deferral("4.7.5 TLS already active".into()));
        };
        // A certificate that does not verify defers the message: never fall back to
        // plaintext after a failed handshake.
        let tls = connector
            .connect(server_name, tcp)
            .await
            .map_err(|e| Deferral(format!("4.7.5 TLS with the smart host failed: {e}")))?;
        self.stream = Stream::Tls(Box::new(tls));
        Ok(())
    }
}

/// One message for one attempt.
#[derive(Debug)]
pub struct Attempt<'a> {
    /// Our name for EHLO.
    pub helo: &'a str,
    /// The envelope sender, empty for `<>`.
    pub sender: &'a str,
    /// The recipients still pending.
    pub recipients: &'a [String],
    /// The content as queued (CRLF or not: the encoder normalises).
    pub content: &'a Content,
}

/// Octets read from the content file at a time: what one attempt holds in memory.
const CHUNK: usize = 64 * 1024;

/// A queued message's content, streamed from its file so a large message never sits in
/// memory whole.
#[derive(Debug)]
pub struct Content {
    path: std::path::PathBuf,
    size: u64,
    eight_bit: bool,
    /// The whole content when it fits in one chunk (most mail): no second read.
    small: Option<Vec<u8>>,
}

impl Content {
    /// Looks at the file once (blocking IO): its size, and whether any octet is 8-bit
    /// (then `BODY=8BITMIME`, RFC 6152).
    pub fn inspect(path: std::path::PathBuf) -> io::Result<Content> {
        use std::io::Read;
        let mut file = std::fs::File::open(&path)?;
        let mut first = Vec::new();
        (&mut file).take(CHUNK as u64).read_to_end(&mut first)?;
        let (mut size, mut eight_bit, mut more) = (first.len() as u64, !first.is_ascii(), false);
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            more = true;
            size += n as u64;
            eight_bit |= !buf[..n].is_ascii();
        }
        let small = (!more).then_some(first);
        Ok(Content {
            path,
            size,
            eight_bit,
            small,
        })
    }

    /// Feeds the file to the session's DATA encoder chunk by chunk, flushing each.
    async fn send(&self, wire: &mut Wire) -> Result<(), Deferral> {
        use std::io::{Read, Seek};
        if let Some(bytes) = &self.small {
            wire.client.send_data(bytes)?;
            return Ok(wire.flush().await?);
        }
        let mut file = std::fs::File::open(&self.path)?;
        let mut offset = 0u64;
        loop {
            let (back, chunk) = crate::logging::spawn_blocking(move || {
                let mut buf = vec![0u8; CHUNK];
                let n = file
                    .seek(io::SeekFrom::Start(offset))
                    .and_then(|_| file.read(&mut buf));
                (
                    file,
                    n.map(|n| {
                        buf.truncate(n);
                        buf
                    }),
                )
            })
            .await
            .map_err(|_| Deferral("4.3.0 reading the queued message failed".into()))?;
            file = back;
            let chunk = chunk?;
            if chunk.is_empty() {
                return Ok(());
            }
            offset += chunk.len() as u64;
            wire.client.send_data(&chunk)?;
            wire.flush().await?;
        }
    }
}

/// Delivers `attempt` to `target` (the smart host or an MX host); one outcome per
/// recipient, in order.
pub async fn deliver(
    relay: &RelayConfig,
    connector: &TlsConnector,
    target: &Target,
    attempt: &Attempt<'_>,
) -> Result<Vec<Outcome>, Deferral> {
    let address = (target.host.as_str(), target.port);
    let tcp = tokio::time::timeout(relay.connect_timeout(), TcpStream::connect(address))
        .await
        .map_err(|_| Deferral("4.4.1 connecting to the smart host timed out".into()))??;
    let _ = tcp.set_nodelay(true);
    let mut options = smtp_proto::Options::default();
    options.reply_timeout = relay.reply_timeout();
    let mut wire = Wire {
        stream: Stream::Plain(tcp),
        client: Client::new(options),
        out: Vec::new(),
        timeout: relay.reply_timeout(),
    };
    if relay.tls == RelayTls::Implicit {
        wire.start_tls(connector, &target.tls_name).await?;
    }
    let result = transaction(relay, connector, &target.tls_name, &mut wire, attempt).await;
    if result.is_ok() {
        // A polite goodbye; its reply does not matter.
        if wire.send(&Command::Quit, &mut Vec::new()).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), wire.event()).await;
        }
    }
    result
}

async fn transaction(
    relay: &RelayConfig,
    connector: &TlsConnector,
    tls_name: &str,
    wire: &mut Wire,
    attempt: &Attempt<'_>,
) -> Result<Vec<Outcome>, Deferral> {
    let helo = Domain::try_from(attempt.helo)
        .map_err(|_| Deferral(format!("4.3.5 hostname {:?} is not a domain", attempt.helo)))?;
    wire.expect_positive(Sent::Greeting, "the connection")
        .await?;
    wire.ehlo(&helo).await?;
    let offers_tls = wire.client.extensions().is_some_and(|e| e.has("STARTTLS"));
    let tls_active = matches!(wire.stream, Stream::Tls(_));
    match relay.tls {
        RelayTls::Required | RelayTls::Opportunistic if offers_tls && !tls_active => {
            wire.send(&Command::StartTls, &mut Vec::new()).await?;
            match wire.event().await? {
                ClientEvent::StartTls => {}
                ClientEvent::Reply { reply, .. } => {
                    return Err(Deferral(format!(
                        "4.7.10 smart host refused STARTTLS: {}",
                        render(&reply)
                    )));
                }
                other => return Err(Deferral(format!("4.7.10 STARTTLS: {other:?}"))),
            }
            wire.flush().await?;
            wire.start_tls(connector, tls_name).await?;
            wire.client.tls_established()?;
            wire.ehlo(&helo).await?;
        }
        RelayTls::Required if !tls_active => {
            return Err(Deferral(
                "4.7.10 TLS is required but the smart host does not offer STARTTLS".into(),
            ));
        }
        _ => {}
    }
    if let (Some(user), Some(password)) = (&relay.username, &relay.password) {
        let tls_now = matches!(wire.stream, Stream::Tls(_));
        if !tls_now && relay.tls != RelayTls::None {
            return Err(Deferral(
                "4.7.10 not sending credentials without TLS".into(),
            ));
        }
        wire.authenticate(user, password.expose()).await?;
    }
    send_envelope(wire, attempt).await
}

async fn send_envelope(wire: &mut Wire, attempt: &Attempt<'_>) -> Result<Vec<Outcome>, Deferral> {
    let extensions = wire.client.extensions().cloned();
    let offers = |k: &str| extensions.as_ref().is_some_and(|e| e.has(k));
    let from = if attempt.sender.is_empty() {
        ReversePath::Null
    } else {
        ReversePath::Mailbox(
            Mailbox::try_from(attempt.sender)
                .map_err(|_| Deferral("5.1.7 bad sender address".into()))?,
        )
    };
    let mut params = MailParams::default();
    params.size = Some(attempt.content.size).filter(|_| offers("SIZE"));
    if attempt.content.eight_bit && offers("8BITMIME") {
        params.body = Some(Body::EightBitMime);
    }
    let ascii = attempt.sender.is_ascii() && attempt.recipients.iter().all(|r| r.is_ascii());
    params.smtputf8 = !ascii && offers("SMTPUTF8");
    let mut replies = Vec::new();
    wire.send(&Command::Mail { from, params }, &mut replies)
        .await?;
    let mut sent_rcpts = Vec::new();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; attempt.recipients.len()];
    for (i, address) in attempt.recipients.iter().enumerate() {
        match Mailbox::try_from(address.as_str()) {
            Ok(m) => {
                let to = ForwardPath::Mailbox(m);
                wire.send(
                    &Command::Rcpt {
                        to,
                        params: RcptParams::default(),
                    },
                    &mut replies,
                )
                .await?;
                sent_rcpts.push(i);
            }
            Err(_) => outcomes[i] = Some(Outcome::Failed("553 5.1.3 bad address syntax".into())),
        }
    }
    wire.send(&Command::Data, &mut replies).await?;
    // Collect MAIL, each RCPT and DATA in order (some may have arrived already).
    let expected = 2 + sent_rcpts.len();
    while replies.len() < expected {
        match wire.event().await? {
            ClientEvent::Reply { to, reply } => replies.push((to, reply)),
            other => return Err(Deferral(format!("4.4.2 smart host: {other:?}"))),
        }
    }
    let mut replies = replies.into_iter();
    let Some((Sent::Mail, mail)) = replies.next() else {
        return Err(Deferral("4.4.2 replies out of order".into()));
    };
    let mut accepted = Vec::new();
    for &i in &sent_rcpts {
        let Some((Sent::Rcpt, reply)) = replies.next() else {
            return Err(Deferral("4.4.2 replies out of order".into()));
        };
        if !mail.code().is_positive() {
            // Every RCPT fails with the MAIL's verdict.
            outcomes[i] = Some(Outcome::from_reply(&mail));
        } else if reply.code().is_positive() {
            accepted.push(i);
        } else {
            outcomes[i] = Some(Outcome::from_reply(&reply));
        }
    }
    let Some((Sent::Data, data)) = replies.next() else {
        return Err(Deferral("4.4.2 replies out of order".into()));
    };
    if !accepted.is_empty() {
        let verdict = if data.code().get() == 354 {
            attempt.content.send(wire).await?;
            wire.client.finish_data()?;
            wire.reply(Sent::MessageEnd).await?
        } else {
            data
        };
        for &i in &accepted {
            outcomes[i] = Some(Outcome::from_reply(&verdict));
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Outcome::Deferred("4.4.2 no verdict".into())))
        .collect())
}
