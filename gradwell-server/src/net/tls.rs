//! rustls server configuration from PEM files; TLS 1.2 and 1.3 only.

use std::{path::Path, sync::Arc};

use anyhow::Context;
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio_rustls::TlsAcceptor;

/// Builds an acceptor from a certificate chain and key in PEM files.
pub fn acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let chain = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("key `tls.cert`: reading {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("key `tls.cert`: parsing {}", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("key `tls.cert`: no certificate in {}", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| {
        format!(
            "key `tls.key`: reading a private key from {}",
            key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("key `tls.key`: does not match the certificate")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
