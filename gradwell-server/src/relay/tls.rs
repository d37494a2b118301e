//! The client TLS configuration for the next hop: rustls, TLS 1.2+, the certificate checked
//! against the Mozilla roots (webpki-roots) or the configured CA file.

use std::sync::Arc;

use anyhow::Context;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::{CertificateDer, pem::PemObject};
use tokio_rustls::TlsConnector;

use super::RelayConfig;

/// A connector for `relay`.
pub fn connector(relay: &RelayConfig) -> anyhow::Result<TlsConnector> {
    let mut roots = RootCertStore::empty();
    match &relay.ca_file {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .with_context(|| format!("key `relay.ca_file`: reading {}", path.display()))?
                .collect::<Result<_, _>>()
                .with_context(|| format!("key `relay.ca_file`: parsing {}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                anyhow::bail!("key `relay.ca_file`: no certificate in {}", path.display());
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}
