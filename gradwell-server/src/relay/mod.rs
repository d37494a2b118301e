//! The outbound relay: hands queued mail to the configured smart host over smtp-proto's
//! client session.
//!
//! - [`client`]: one delivery attempt (connect, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA),
//!   pipelined when the next hop offers PIPELINING; content goes through smtp-proto's DATA
//!   encoder, so it is dot-stuffed and CRLF-normalised and no bare LF or CR reaches the wire.
//! - [`mx`]: direct delivery by MX lookup (hickory-resolver) when no smart host is set.
//! - [`tls`]: the rustls connector that verifies the next hop's certificate against the
//!   Mozilla roots (webpki-roots) or a configured CA file.

pub mod client;
pub mod mx;
pub mod tls;

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// How the relay uses TLS with the smart host.
#[derive(
    Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RelayTls {
    /// STARTTLS with a verified certificate, or no delivery (the message is deferred).
    #[default]
    Required,
    /// STARTTLS when offered (the certificate is still verified: a bad one defers); plain
    /// SMTP when not offered.
    Opportunistic,
    /// TLS from the first byte (port 465 style), verified.
    Implicit,
    /// Never TLS (a smart host on loopback or a trusted private network only).
    None,
}

/// A password from the configuration; `Debug` never shows it (nor does it implement
/// `Serialize`, so no printed configuration can carry it).
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// The password itself, for the SASL exchange.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// `[relay]` in the configuration.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// The smart host as `host:port`, e.g. `relay.example.net:587`. Without it, mail goes
    /// straight to each recipient domain's MX hosts (RFC 5321 §5.1; domains with a null MX
    /// or none at all fail at once).
    #[serde(default)]
    #[schemars(example = &"relay.example.net:587")]
    pub smart_host: Option<String>,
    /// TLS policy (default `required`).
    #[serde(default)]
    pub tls: RelayTls,
    /// The name the certificate must carry (default: the host part of `smart_host`, or the
    /// MX host's name).
    #[serde(default)]
    #[schemars(example = &"relay.example.net")]
    pub tls_name: Option<String>,
    /// PEM file with the CA certificates to trust instead of the Mozilla roots (default: the
    /// Mozilla roots, from webpki-roots).
    #[serde(default)]
    #[schemars(example = &"relay-ca.pem")]
    pub ca_file: Option<PathBuf>,
    /// AUTH PLAIN user name (optional; sent only under TLS unless `tls = "none"`).
    #[serde(default)]
    #[schemars(example = &"gradwell")]
    pub username: Option<String>,
    /// AUTH PLAIN password (with `username`; keep the file readable by the server only).
    #[serde(default)]
    #[schemars(example = &"secret")]
    pub password: Option<Password>,
    /// Seconds to connect (default 30).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Seconds to wait for each reply (default 300, RFC 5321 §4.5.3.2's largest
    /// client timeout is 10 minutes for the end of data).
    #[serde(default = "default_reply_timeout")]
    pub reply_timeout_secs: u64,
    /// MX delivery: DNS servers as `ip:port` (default: the system's, `/etc/resolv.conf`).
    #[serde(default)]
    #[schemars(example = ["127.0.0.1:53"])]
    pub dns_servers: Vec<SocketAddr>,
    /// MX delivery: the port on the MX hosts (default 25).
    #[serde(default = "default_mx_port")]
    pub mx_port: u16,
}

fn default_mx_port() -> u16 {
    25
}

fn default_connect_timeout() -> u64 {
    30
}

fn default_reply_timeout() -> u64 {
    300
}

impl RelayConfig {
    pub(crate) fn check(&self) -> anyhow::Result<()> {
        if let Some(host) = &self.smart_host
            && self.host_port().is_none()
        {
            bail!("key `relay.smart_host`: {host:?} is not host:port");
        }
        if self.username.is_some() != self.password.is_some() {
            bail!("key `relay.username`: give both username and password, or neither");
        }
        Ok(())
    }

    /// The host and port of the smart host.
    pub fn host_port(&self) -> Option<(&str, u16)> {
        let (host, port) = self.smart_host.as_deref()?.rsplit_once(':')?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = port.parse().ok()?;
        (!host.is_empty()).then_some((host, port))
    }

    /// The smart host as a delivery target, when one is configured.
    pub fn smart_host_target(&self) -> Option<mx::Target> {
        let (host, port) = self.host_port()?;
        Some(mx::Target {
            host: host.to_owned(),
            port,
            tls_name: self.tls_name.clone().unwrap_or_else(|| host.to_owned()),
        })
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }

    /// The per-reply timeout.
    pub fn reply_timeout(&self) -> Duration {
        Duration::from_secs(self.reply_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_host_forms() {
        let parse = |s: &str| -> RelayConfig {
            toml::from_str(&format!(
                "smart_host = {s:?}\nusername = \"u\"\npassword = \"p\""
            ))
            .unwrap()
        };
        let r = parse("relay.example.net:587");
        assert_eq!(r.host_port(), Some(("relay.example.net", 587)));
        assert_eq!(r.tls, RelayTls::Required);
        assert_eq!(r.smart_host_target().unwrap().tls_name, "relay.example.net");
        assert_eq!(r.mx_port, 25);
        assert!(!format!("{r:?}").contains("\"p\""), "password redacted");
        assert_eq!(parse("[::1]:25").host_port(), Some(("::1", 25)));
        assert!(parse("relay.example.net").check().is_err());
        let mx: RelayConfig = toml::from_str("dns_servers = [\"127.0.0.1:5353\"]").unwrap();
        assert!(mx.check().is_ok() && mx.smart_host_target().is_none());
    }
}
