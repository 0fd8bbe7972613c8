//! TLS for the module's own server (`use_ssl 1`): rustls with the ring provider, the server's
//! certificate chain and key from PEM files, and, with `ca_cert`, client certificates required
//! and verified against that CA.
//!
//! Any problem stops the start, naming the file: a server told to use TLS never falls back to
//! plain HTTP (the original did, silently).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    // `key` is the module parameter that names the file.
    #[error("{key} {}: {reason}", path.display())]
    File {
        key: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("server_cert {} and server_key {}: {source}", cert.display(), key.display())]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

impl TlsError {
    /// The module parameter to blame.
    pub fn key(&self) -> &'static str {
        match self {
            TlsError::File { key, .. } => key,
            TlsError::Pair { .. } => "server_key",
            TlsError::Rustls(_) => "use_ssl",
        }
    }

    /// What is wrong, without the parameter's name (for a `file:line: key: reason` report).
    pub fn reason(&self) -> String {
        match self {
            TlsError::File { path, reason, .. } => format!("{}: {reason}", path.display()),
            other => other.to_string(),
        }
    }
}

fn file_error(key: &'static str, path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        key,
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| file_error(key, path, format!("cannot read it: {e}")))
}

fn certificates(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(key, path)?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(key, path, format!("not a PEM certificate file: {e}")))?;
    if certificates.is_empty() {
        return Err(file_error(
            key,
            path,
            "no certificate in it (PEM: -----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(certificates)
}

/// The acceptor for `use_ssl 1`.
pub fn acceptor(
    server_cert: &Path,
    server_key: &Path,
    ca_cert: Option<&Path>,
) -> Result<TlsAcceptor, TlsError> {
    let chain = certificates("server_cert", server_cert)?;
    let key = PrivateKeyDer::from_pem_slice(&read("server_key", server_key)?).map_err(|e| {
        file_error(
            "server_key",
            server_key,
            format!("no usable private key in it (PEM: -----BEGIN PRIVATE KEY-----): {e}"),
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?;
    let builder = match ca_cert {
        None => builder.with_no_client_auth(),
        Some(ca_path) => {
            let mut roots = RootCertStore::empty();
            for ca in certificates("ca_cert", ca_path)? {
                roots
                    .add(ca)
                    .map_err(|e| file_error("ca_cert", ca_path, e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| file_error("ca_cert", ca_path, e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|source| TlsError::Pair {
            cert: server_cert.to_path_buf(),
            key: server_key.to_path_buf(),
            source,
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The acceptor new connections use; SIGHUP replaces it with one built from the files as they
/// are then (a renewed certificate), while connections already open keep theirs.
pub struct ReloadableAcceptor {
    current: std::sync::RwLock<TlsAcceptor>,
}

impl ReloadableAcceptor {
    pub fn new(acceptor: TlsAcceptor) -> ReloadableAcceptor {
        ReloadableAcceptor {
            current: std::sync::RwLock::new(acceptor),
        }
    }

    /// The acceptor for a new connection.
    pub fn current(&self) -> TlsAcceptor {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn replace(&self, acceptor: TlsAcceptor) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = acceptor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_files_are_named_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.crt");
        let err = acceptor(&missing, &missing, None)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "server_cert {}: cannot read it: ",
                missing.display()
            )),
            "{err}"
        );
        let empty = dir.path().join("empty.crt");
        std::fs::write(&empty, "").unwrap();
        let err = acceptor(&empty, &missing, None).err().unwrap().to_string();
        assert!(err.contains("no certificate in it"), "{err}");
    }
}
