//! The manifest fields of a remote source (`kind = "imap"` or `kind = "pop3"`): where the
//! server is, how to reach it and whose login to use. Credentials come from the manifest
//! file only, never from the command line, where every user of the machine could read
//! them.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime},
};

use anyhow::{Context, bail};
use serde::Deserialize;

use super::{
    remote_conn::{Credentials, Endpoint, LoginMethod, RemoteOptions, Security, Trust},
    remote_imap::ImapSource,
    remote_pop3::Pop3Source,
    source::Source,
};

/// How the connection to the source is protected (manifest `security`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecurityName {
    /// TLS from the first byte (the default; ports 993 and 995).
    #[default]
    Implicit,
    /// STARTTLS / STLS before logging in (ports 143 and 110).
    Starttls,
    /// No TLS: only for a source on a network the operator trusts.
    Plain,
}

/// How to log in (manifest `auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthName {
    /// IMAP LOGIN, POP3 USER/PASS (the default).
    #[default]
    Password,
    /// SASL PLAIN.
    SaslPlain,
}

/// A remote source as a manifest line describes it (its `remote` table). `Debug` does not
/// show the password.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteJob {
    /// The server's host name (also the name its certificate must carry).
    pub host: Option<String>,
    /// The port; default by protocol and `security` (993/143, 995/110).
    pub port: Option<u16>,
    /// `implicit` (default), `starttls` or `plain`.
    #[serde(default)]
    pub security: SecurityName,
    /// Trust certificates chaining to this PEM file instead of the web PKI roots.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate (the handshake is still verified). Only on request.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// The login name at the source; default: the target user.
    pub login: Option<String>,
    /// The password, or
    pub password: Option<String>,
    /// a file holding it (first line).
    pub password_file: Option<PathBuf>,
    /// `password` (default) or `sasl-plain`.
    #[serde(default)]
    pub auth: AuthName,
    /// Seconds to wait for the TCP connection (default 30).
    pub connect_timeout_secs: Option<u64>,
    /// Seconds any one read or write may wait before the source counts as gone (default
    /// 120).
    pub io_timeout_secs: Option<u64>,
    /// Largest message accepted, in octets (default 64 MiB); a larger one fails its mailbox.
    pub max_message_size: Option<u64>,
    /// IMAP: messages asked for per `UID FETCH` (default 100).
    pub fetch_batch: Option<u32>,
}

impl std::fmt::Debug for RemoteJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJob")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("ca_file", &self.ca_file)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .field("login", &self.login)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_file", &self.password_file)
            .field("auth", &self.auth)
            .field("connect_timeout_secs", &self.connect_timeout_secs)
            .field("io_timeout_secs", &self.io_timeout_secs)
            .field("max_message_size", &self.max_message_size)
            .field("fetch_batch", &self.fetch_batch)
            .finish()
    }
}

/// Which protocol a remote job speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// IMAP: every folder, UIDs and UIDVALIDITY kept.
    Imap,
    /// POP3: the INBOX, UIDLs kept.
    Pop3,
}

impl RemoteJob {
    /// The source this job reads, for target user `user`.
    pub fn open(&self, protocol: Protocol, user: &str) -> anyhow::Result<Box<dyn Source + Send>> {
        let host = self.host.clone().context("a remote source needs `host`")?;
        let (security, default_port) = match (self.security, protocol) {
            (SecurityName::Implicit, Protocol::Imap) => (Security::Implicit, 993),
            (SecurityName::Implicit, Protocol::Pop3) => (Security::Implicit, 995),
            (SecurityName::Starttls, Protocol::Imap) => (Security::StartTls, 143),
            (SecurityName::Starttls, Protocol::Pop3) => (Security::StartTls, 110),
            (SecurityName::Plain, Protocol::Imap) => (Security::Plain, 143),
            (SecurityName::Plain, Protocol::Pop3) => (Security::Plain, 110),
        };
        let trust = match (&self.ca_file, self.insecure_skip_verify) {
            (Some(_), true) => bail!("give `ca_file` or `insecure_skip_verify`, not both"),
            (Some(file), false) => Trust::CaFile(file.clone()),
            (None, true) => Trust::InsecureSkipVerify,
            (None, false) => Trust::WebPki,
        };
        let endpoint = Endpoint {
            host,
            port: self.port.unwrap_or(default_port),
            security,
            trust,
        };
        let method = match self.auth {
            AuthName::Password => LoginMethod::Password,
            AuthName::SaslPlain => LoginMethod::SaslPlain,
        };
        let credentials = Credentials::new(
            self.login.clone().unwrap_or_else(|| user.to_owned()),
            self.password()?,
            method,
        );
        let mut options = RemoteOptions::default();
        if let Some(secs) = self.connect_timeout_secs {
            options.connect_timeout = Duration::from_secs(secs);
        }
        if let Some(secs) = self.io_timeout_secs {
            options.io_timeout = Duration::from_secs(secs);
        }
        if let Some(size) = self.max_message_size {
            options.max_message_size = size;
        }
        if let Some(batch) = self.fetch_batch {
            options.fetch_batch = batch.max(1);
        }
        Ok(match protocol {
            Protocol::Imap => Box::new(ImapSource::new(endpoint, credentials, options)),
            Protocol::Pop3 => Box::new(Pop3Source::new(
                endpoint,
                credentials,
                options,
                Arc::new(SystemTime::now),
            )),
        })
    }

    fn password(&self) -> anyhow::Result<String> {
        match (&self.password, &self.password_file) {
            (Some(p), None) => Ok(p.clone()),
            (None, Some(file)) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?;
                Ok(text.lines().next().unwrap_or_default().to_owned())
            }
            (Some(_), Some(_)) => bail!("give `password` or `password_file`, not both"),
            (None, None) => bail!("a remote source needs `password` or `password_file`"),
        }
    }
}
