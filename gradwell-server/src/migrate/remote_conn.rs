//! The connection to a remote migration source (IMAP or POP3 server): a blocking TCP stream
//! with a timeout on every read and write, in plaintext, in implicit TLS, or upgraded after
//! STARTTLS/STLS. Certificates are checked against the Mozilla roots or a given CA file;
//! checking is skipped only when the operator sets [`Trust::InsecureSkipVerify`] explicitly.

use std::{
    fmt,
    io::{self, Read, Write},
    net::{TcpStream, ToSocketAddrs},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
    StreamOwned,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature},
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject};

use super::source::SourceError;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Security {
    /// No TLS (loopback, or a trusted network only).
    Plain,
    /// TLS from the first byte (IMAPS 993, POP3S 995).
    Implicit,
    /// Plaintext greeting, then STARTTLS (IMAP) or STLS (POP3) before logging in.
    StartTls,
}

/// Which server certificates are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trust {
    /// Certificates that chain to the Mozilla root programme (webpki-roots) and name the
    /// host.
    WebPki,
    /// Certificates that chain to one in this PEM file and name the host.
    CaFile(PathBuf),
    /// Any certificate (the handshake signature is still checked). Only for a source the
    /// operator reaches over a network they trust, and only when they ask for it.
    InsecureSkipVerify,
}

/// Where a remote source is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or address; also the name the certificate must carry.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Plain, implicit TLS or STARTTLS.
    pub security: Security,
    /// Which certificates are accepted when TLS is used.
    pub trust: Trust,
}

/// How to log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LoginMethod {
    /// IMAP `LOGIN`, POP3 `USER`/`PASS` (the default: every server has it).
    #[default]
    Password,
    /// SASL `PLAIN` (IMAP `AUTHENTICATE PLAIN`, POP3 `AUTH PLAIN`).
    SaslPlain,
}

/// A user's login at the source. `Debug` does not show the password.
#[derive(Clone)]
pub struct Credentials {
    user: String,
    password: String,
    method: LoginMethod,
}

impl Credentials {
    /// `user` and `password`, logged in with `method`.
    pub fn new(user: impl Into<String>, password: impl Into<String>, method: LoginMethod) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
            method,
        }
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    pub(crate) fn password(&self) -> &str {
        &self.password
    }

    /// How to log in.
    pub fn method(&self) -> LoginMethod {
        self.method
    }

    /// The SASL PLAIN message (RFC 4616: `[authzid] UTF8NUL authcid UTF8NUL passwd`),
    /// without an authorization identity.
    pub(crate) fn sasl_plain(&self) -> Vec<u8> {
        let mut message = Vec::with_capacity(self.user.len() + self.password.len() + 2);
        message.push(0);
        message.extend_from_slice(self.user.as_bytes());
        message.push(0);
        message.extend_from_slice(self.password.as_bytes());
        message
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("method", &self.method)
            .finish()
    }
}

/// Limits of a remote source. Defaults are in the field docs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteOptions {
    /// How long to wait for the TCP connection. Default 30 s.
    pub connect_timeout: Duration,
    /// How long any one read or write may wait; a server silent for longer is treated as
    /// gone. Default 120 s.
    pub io_timeout: Duration,
    /// Largest message accepted, in octets; a larger one is an error for its mailbox, so
    /// memory stays bounded. Default 64 MiB.
    pub max_message_size: u64,
    /// IMAP: messages asked for per `UID FETCH`, so a mailbox is streamed in bounded
    /// batches. Default 100.
    pub fetch_batch: u32,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(30),
            io_timeout: Duration::from_secs(120),
            max_message_size: 64 * 1024 * 1024,
            fetch_batch: 100,
        }
    }
}

/// An open connection, plaintext or TLS.
#[derive(Debug)]
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

/// A failure talking to the source, as the error the engine reports.
pub(crate) fn remote(context: &str, e: impl fmt::Display) -> SourceError {
    SourceError::Remote(format!("{context}: {e}"))
}

/// Maps IO errors: a timeout says so, so the report tells a slow server from a closed one.
pub(crate) fn io_error(context: &str, e: &io::Error) -> SourceError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            remote(context, "timed out waiting for the server")
        }
        _ => remote(context, e),
    }
}

impl Stream {
    /// Connects to `endpoint`, with TLS at once when it asks for implicit TLS.
    pub(crate) fn connect(
        endpoint: &Endpoint,
        options: &RemoteOptions,
    ) -> Result<Self, SourceError> {
        let context = format!("connecting to {}:{}", endpoint.host, endpoint.port);
        let addresses = (endpoint.host.as_str(), endpoint.port)
            .to_socket_addrs()
            .map_err(|e| io_error(&context, &e))?;
        let mut last = None;
        let mut tcp = None;
        for address in addresses {
            match TcpStream::connect_timeout(&address, options.connect_timeout) {
                Ok(stream) => {
                    tcp = Some(stream);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let tcp = match (tcp, last) {
            (Some(tcp), _) => tcp,
            (None, Some(e)) => return Err(io_error(&context, &e)),
            (None, None) => return Err(remote(&context, "no address")),
        };
        let timeout = Some(options.io_timeout.max(Duration::from_millis(1)));
        tcp.set_read_timeout(timeout)
            .and_then(|()| tcp.set_write_timeout(timeout))
            .and_then(|()| tcp.set_nodelay(true))
            .map_err(|e| io_error(&context, &e))?;
        let plain = Stream::Plain(tcp);
        match endpoint.security {
            Security::Implicit => plain.start_tls(endpoint),
            Security::Plain | Security::StartTls => Ok(plain),
        }
    }

    /// Runs the TLS handshake on a plaintext stream (after the server's `OK` to STARTTLS,
    /// or at once for implicit TLS). The caller must not have read past that `OK`, so no
    /// plaintext an attacker injected can be taken as protected data.
    pub(crate) fn start_tls(self, endpoint: &Endpoint) -> Result<Self, SourceError> {
        let Stream::Plain(mut tcp) = self else {
            return Err(remote("STARTTLS", "TLS is already active"));
        };
        let context = format!("TLS with {}", endpoint.host);
        let config = client_config(&endpoint.trust)?;
        let name = ServerName::try_from(endpoint.host.clone())
            .map_err(|e| remote(&context, format!("not a valid server name: {e}")))?;
        let mut connection =
            ClientConnection::new(config, name).map_err(|e| remote(&context, e))?;
        while connection.is_handshaking() {
            connection
                .complete_io(&mut tcp)
                .map_err(|e| io_error(&context, &e))?;
        }
        Ok(Stream::Tls(Box::new(StreamOwned::new(connection, tcp))))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls client configuration for `trust`.
fn client_config(trust: &Trust) -> Result<Arc<ClientConfig>, SourceError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| remote("TLS protocol versions", e))?;
    let config = match trust {
        Trust::InsecureSkipVerify => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider())))
            .with_no_client_auth(),
        Trust::WebPki | Trust::CaFile(_) => {
            let mut roots = RootCertStore::empty();
            match trust {
                Trust::CaFile(path) => {
                    let context = format!("CA file {}", path.display());
                    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                        .map_err(|e| remote(&context, e))?
                        .collect::<Result<_, _>>()
                        .map_err(|e| remote(&context, e))?;
                    let (added, _) = roots.add_parsable_certificates(certs);
                    if added == 0 {
                        return Err(remote(&context, "no certificate in it"));
                    }
                }
                _ => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// [`Trust::InsecureSkipVerify`]: accepts any certificate chain and name, but still checks
/// that the server holds the key of the certificate it sent.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show_the_password() {
        let c = Credentials::new("alice", "hunter2", LoginMethod::SaslPlain);
        let shown = format!("{c:?}");
        assert!(
            shown.contains("alice") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn sasl_plain_has_an_empty_authzid() {
        // RFC 4616: message = [authzid] UTF8NUL authcid UTF8NUL passwd
        let c = Credentials::new("alice", "pw", LoginMethod::SaslPlain);
        assert_eq!(c.sasl_plain(), b"\0alice\0pw");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let err = client_config(&Trust::CaFile(empty)).expect_err("no certificate");
        assert!(
            matches!(err, SourceError::Remote(ref t) if t.contains("no certificate")),
            "{err:?}"
        );
        let missing = client_config(&Trust::CaFile(dir.path().join("missing.pem")));
        assert!(missing.is_err());
        assert!(client_config(&Trust::WebPki).is_ok());
        assert!(client_config(&Trust::InsecureSkipVerify).is_ok());
    }

    #[test]
    fn a_refused_connection_is_a_remote_error() {
        // A port nobody listens on: bind, note it, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let endpoint = Endpoint {
            host: "127.0.0.1".into(),
            port,
            security: Security::Plain,
            trust: Trust::WebPki,
        };
        let err = Stream::connect(&endpoint, &RemoteOptions::default()).expect_err("refused");
        assert!(
            matches!(err, SourceError::Remote(ref t) if t.contains("connecting")),
            "{err:?}"
        );
    }
}
