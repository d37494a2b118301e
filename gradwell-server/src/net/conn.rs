//! The driver loop: the only code that reads and writes client sockets. Protocol sessions
//! implement [`Handler`]; this loop moves octets between them and the connection, runs the
//! TLS handshake when a session asks for it, and enforces timeouts and shutdown.

use std::{
    io,
    net::SocketAddr,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpStream, UnixStream},
    sync::watch,
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};

use super::deflate::{Deflate, Inflated};

/// Largest single read.
const READ_CHUNK: usize = 16 * 1024;

/// A compressed connection that has waited this long for input drops its compressor's state
/// (about 240 KiB) until it writes again ([`Deflate::release_compressor`]).
const RELEASE_COMPRESSOR_AFTER: Duration = Duration::from_secs(1);

/// The most written under one write timeout: a client must take at least this much every
/// `write_timeout` to stay connected.
const WRITE_PIECE: usize = 64 * 1024;

/// The write timeout until the listener sets the configured one.
const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(300);

/// A client connection, plaintext or TLS.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// A local Unix socket (LMTP from the MTA on this host).
    Unix(UnixStream),
    /// Only during the handshake, while the TCP stream is inside the acceptor.
    Upgrading,
}

/// One client connection.
pub struct Conn {
    stream: Stream,
    /// The client address (from the PROXY header when the listener uses one).
    pub peer: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    /// Raw DEFLATE on both directions, once the session started it (IMAP COMPRESS).
    deflate: Option<Box<Deflate>>,
    /// Compressed output, reused between writes.
    deflated: Vec<u8>,
    /// When the connection was accepted: the pre-auth deadline counts from here.
    pub accepted_at: Instant,
    /// How long one write may stay blocked on a client that does not read.
    pub write_timeout: Duration,
    /// A write failed or timed out part-way: the stream is out of step, nothing more is
    /// written or read.
    broken: bool,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("peer", &self.peer)
            .field("tls", &self.is_tls())
            .field("deflate", &self.deflate.is_some())
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Wraps an accepted TCP stream; `acceptor` is used for STARTTLS/STLS.
    pub fn new(tcp: TcpStream, peer: SocketAddr, acceptor: Option<TlsAcceptor>) -> Self {
        Self {
            stream: Stream::Plain(tcp),
            peer,
            acceptor,
            deflate: None,
            deflated: Vec::new(),
            accepted_at: Instant::now(),
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            broken: false,
        }
    }

    /// Wraps an accepted Unix socket connection; its peer shows as the loopback address.
    pub fn new_unix(stream: UnixStream) -> Self {
        Self {
            stream: Stream::Unix(stream),
            peer: SocketAddr::from(([127, 0, 0, 1], 0)),
            acceptor: None,
            deflate: None,
            deflated: Vec::new(),
            accepted_at: Instant::now(),
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            broken: false,
        }
    }

    /// Runs the TLS handshake (implicit TLS at connect, or after STARTTLS/STLS). Nothing
    /// read before it survives: the protocol state machines drop buffered plaintext too.
    pub async fn start_tls(&mut self) -> io::Result<()> {
        let Some(acceptor) = self.acceptor.clone() else {
            return Err(io::Error::other("TLS is not configured"));
        };
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Upgrading) else {
            return Err(io::Error::other("TLS is already active"));
        };
        let tls = acceptor.accept(tcp).await?;
        self.stream = Stream::Tls(Box::new(tls));
        Ok(())
    }

    /// Whether TLS is active.
    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// Whether STARTTLS can be offered.
    pub fn can_start_tls(&self) -> bool {
        self.acceptor.is_some() && !self.is_tls()
    }

    /// Starts raw DEFLATE on both directions; everything read and written from now on
    /// is compressed. Input read before this call was plain.
    pub fn start_deflate(&mut self) -> io::Result<()> {
        if self.deflate.is_some() {
            return Err(io::Error::other("DEFLATE is already active"));
        }
        self.deflate = Some(Box::new(Deflate::new()));
        Ok(())
    }

    /// Reads plain octets into `buf`, inflating when DEFLATE is active; `Ok(0)` is the end.
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.broken {
            return Err(broken());
        }
        let Some(deflate) = self.deflate.as_mut() else {
            return read_raw(&mut self.stream, buf).await;
        };
        loop {
            match deflate.inflate(buf)? {
                Inflated::Data(n) => return Ok(n),
                Inflated::End => return Ok(0),
                Inflated::NeedInput => {
                    // A connection quiet for a while (an IDLE session) gives back its
                    // compressor's memory. The driver may drop this read to run a timer
                    // (IDLE polls its mailbox), so the quiet time is measured from the last
                    // write, not from the start of this read; reads are cancel-safe.
                    let quiet = std::time::Instant::now();
                    let n = match deflate.release_if_quiet(quiet, RELEASE_COMPRESSOR_AFTER) {
                        Some(left) => match tokio::time::timeout(
                            left,
                            read_raw(&mut self.stream, deflate.raw_space()),
                        )
                        .await
                        {
                            Ok(read) => read?,
                            Err(_) => {
                                deflate.release_compressor();
                                read_raw(&mut self.stream, deflate.raw_space()).await?
                            }
                        },
                        None => read_raw(&mut self.stream, deflate.raw_space()).await?,
                    };
                    if n == 0 {
                        return Ok(0);
                    }
                    deflate.raw_filled(n);
                }
            }
        }
    }

    /// Writes all of `data` (compressed and sync-flushed when DEFLATE is active), under
    /// the socket's backpressure. A client that stops reading blocks this call; when one
    /// [`WRITE_PIECE`] makes no progress for the write timeout it fails with `TimedOut`, so a
    /// slow reader never makes the server hold more than the response in hand, while a
    /// client reading slowly but steadily gets a large body however long it takes.
    pub async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if self.broken {
            return Err(broken());
        }
        let written = self.write_pieces(data).await;
        self.broken = written.is_err();
        written
    }

    /// Whether a write failed: the session should end without writing more.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    async fn write_pieces(&mut self, data: &[u8]) -> io::Result<()> {
        let out = match self.deflate.as_mut() {
            None => data,
            Some(deflate) => {
                self.deflated.clear();
                deflate.compress(data, &mut self.deflated)?;
                &self.deflated
            }
        };
        let mut written = Ok(());
        for piece in out.chunks(WRITE_PIECE) {
            written =
                match tokio::time::timeout(self.write_timeout, write_raw(&mut self.stream, piece))
                    .await
                {
                    Ok(result) => result,
                    Err(_) => Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "client stopped reading",
                    )),
                };
            if written.is_err() {
                break;
            }
        }
        // A large response must not keep its compressed copy for the rest of the session.
        if self.deflated.capacity() > READ_CHUNK {
            self.deflated = Vec::new();
        }
        written
    }

    async fn shutdown(&mut self) {
        let _ = match &mut self.stream {
            Stream::Plain(s) => s.shutdown().await,
            Stream::Tls(s) => s.shutdown().await,
            Stream::Unix(s) => s.shutdown().await,
            Stream::Upgrading => Ok(()),
        };
    }
}

fn broken() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "an earlier write to the client failed",
    )
}

async fn read_raw(stream: &mut Stream, buf: &mut [u8]) -> io::Result<usize> {
    match stream {
        Stream::Plain(s) => s.read(buf).await,
        Stream::Tls(s) => s.read(buf).await,
        Stream::Unix(s) => s.read(buf).await,
        Stream::Upgrading => Ok(0),
    }
}

async fn write_raw(stream: &mut Stream, data: &[u8]) -> io::Result<()> {
    match stream {
        Stream::Plain(s) => s.write_all(data).await,
        Stream::Tls(s) => {
            s.write_all(data).await?;
            s.flush().await
        }
        Stream::Unix(s) => s.write_all(data).await,
        Stream::Upgrading => Err(io::Error::other("connection is upgrading")),
    }
}

/// What a session wants after processing its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Send pending output, then read more input.
    Read,
    /// Send pending output, then run the TLS handshake and call
    /// [`Handler::tls_established`].
    StartTls,
    /// Send pending output, then compress both directions with raw DEFLATE
    /// ([`Conn::start_deflate`]; IMAP COMPRESS, RFC 4978).
    Deflate,
    /// Send pending output, then close.
    Close,
}

/// Why the driver ends a session on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goodbye {
    /// The client was silent too long.
    Timeout,
    /// The server is shutting down.
    Shutdown,
}

/// A protocol session driven by [`drive`].
pub trait Handler {
    /// Moves pending output into `out`.
    fn take_output(&mut self, out: &mut Vec<u8>);
    /// How many octets [`Handler::feed`] takes now.
    fn input_room(&self) -> usize;
    /// Passes octets read from the client (at most `input_room`).
    fn feed(&mut self, bytes: &[u8]);
    /// Handles everything the input allows; may write to `conn` directly (large bodies).
    fn work(&mut self, conn: &mut Conn) -> impl Future<Output = Next> + Send;
    /// Called after the handshake that [`Next::StartTls`] asked for.
    fn tls_established(&mut self);
    /// Whether the client logged in or started a mail transaction (idle timeout applies
    /// instead of the pre-auth one).
    fn past_greeting(&self) -> bool;
    /// Queues a last message before the driver closes the connection.
    fn goodbye(&mut self, why: Goodbye);
    /// How long the driver may wait for input before calling [`Handler::work`] anyway (an
    /// IMAP session in IDLE looks for new mail); `None` (the default) waits for input only.
    fn wake_after(&self) -> Option<Duration> {
        None
    }
    /// A channel whose next change makes the driver call [`Handler::work`] (an IMAP session
    /// in IDLE waits on its mailbox's watcher); `None` (the default) waits for nothing.
    fn wake_on(&self) -> Option<watch::Receiver<u64>> {
        None
    }
}

/// Timeouts for [`drive`].
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Before login / before the first transaction.
    pub pre_auth: Duration,
    /// After that.
    pub idle: Duration,
}

/// Resolves when `signal` changes; never when it is `None` or its sender is gone.
async fn changed(signal: &mut Option<watch::Receiver<u64>>) {
    if let Some(rx) = signal
        && rx.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

/// Runs a session to its end.
pub async fn drive<H: Handler + Send>(
    conn: &mut Conn,
    handler: &mut H,
    timeouts: Timeouts,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut tracer = crate::trace::Tracer::default();
    let pre_auth_deadline = conn.accepted_at + timeouts.pre_auth;
    loop {
        let next = handler.work(conn).await;
        if conn.is_broken() {
            return Err(broken());
        }
        handler.take_output(&mut out);
        if crate::trace::enabled() {
            tracer.server(&out);
        }
        conn.write_all(&out).await?;
        out.clear();
        match next {
            Next::Read => {}
            Next::Close => break,
            Next::Deflate => conn.start_deflate()?,
            Next::StartTls => {
                conn.start_tls().await?;
                handler.tls_established();
                continue;
            }
        }
        let room = handler.input_room().min(READ_CHUNK);
        if room == 0 {
            // The session holds a full buffer it cannot process: a bug, not a client's doing.
            return Err(io::Error::other("session stalled with a full input buffer"));
        }
        // Before login the deadline is fixed at accept: a client dripping a byte at a time
        // cannot extend it (Postfix's per-record deadline). After it, silence is timed.
        let deadline = if handler.past_greeting() {
            Instant::now() + timeouts.idle
        } else {
            pre_auth_deadline
        };
        let wake = handler.wake_after();
        let mut signal = handler.wake_on();
        let goodbye = tokio::select! {
            _ = tokio::time::sleep(wake.unwrap_or(Duration::ZERO)), if wake.is_some() => None,
            _ = changed(&mut signal), if signal.is_some() => None,
            read = tokio::time::timeout_at(deadline.into(), conn.read(&mut buf[..room])) => match read {
                Ok(Ok(0)) => break,
                Ok(Ok(n)) => {
                    if crate::trace::enabled() {
                        tracer.client(&buf[..n]);
                    }
                    handler.feed(&buf[..n]);
                    None
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => Some(Goodbye::Timeout),
            },
            _ = shutdown.wait_for(|stop| *stop) => Some(Goodbye::Shutdown),
        };
        if let Some(why) = goodbye {
            handler.goodbye(why);
            handler.take_output(&mut out);
            if crate::trace::enabled() {
                tracer.server(&out);
            }
            conn.write_all(&out).await?;
            break;
        }
    }
    conn.shutdown().await;
    Ok(())
}
