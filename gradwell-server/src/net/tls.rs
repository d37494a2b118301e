//! rustls server configuration from PEM files; TLS 1.2 and 1.3 only. The certificate sits in
//! a [`CertStore`] that `gradwell reload` refills: handshakes after the reload get the new
//! certificate, established sessions keep the one they negotiated.

use std::{
    path::Path,
    sync::{Arc, RwLock},
};

use anyhow::Context;
use rustls::{
    ServerConfig,
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio_rustls::TlsAcceptor;

/// The certificate new handshakes get; replaced on reload.
#[derive(Debug)]
pub struct CertStore {
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertStore {
    /// Reads `cert` and `key` and serves them from now on; on error the old pair stays.
    pub fn reload(&self, cert: &Path, key: &Path) -> anyhow::Result<()> {
        let pair = load(cert, key)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = pair;
        Ok(())
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|e| e.into_inner()),
        ))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads a certificate chain and its key from PEM files and checks that they match.
fn load(cert: &Path, key: &Path) -> anyhow::Result<Arc<CertifiedKey>> {
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
    let pair = CertifiedKey::from_der(chain, key, &provider())
        .context("key `tls.key`: does not match the certificate")?;
    Ok(Arc::new(pair))
}

/// Builds an acceptor from a certificate chain and key in PEM files, and the store that
/// reloads them.
pub fn acceptor_with_store(
    cert: &Path,
    key: &Path,
) -> anyhow::Result<(TlsAcceptor, Arc<CertStore>)> {
    let store = Arc::new(CertStore {
        current: RwLock::new(load(cert, key)?),
    });
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS versions")?
        .with_no_client_auth()
        .with_cert_resolver(store.clone());
    Ok((TlsAcceptor::from(Arc::new(config)), store))
}

/// Builds an acceptor from a certificate chain and key in PEM files.
pub fn acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    Ok(acceptor_with_store(cert, key)?.0)
}
