//! The rustls side: a certificate resolver that can be swapped while the server runs, and the
//! `ServerConfig` built from the ESO TLS flags.
//!
//! Every handshake asks the resolver for the current certificate, so replacing it affects the
//! next handshake without touching the listener or established connections.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, SupportedCipherSuite, version};

use crate::certs::inspect::{CertInfo, inspect_cert};

/// Errors loading a certificate or building the TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("certificate PEM contains no CERTIFICATE block")]
    NoCertificate,
    #[error("certificate PEM is unreadable: {0}")]
    CertPem(String),
    // The key error deliberately carries no detail: it could echo key material.
    #[error("private key PEM is missing or unreadable")]
    KeyPem,
    #[error("private key does not match the certificate or is unsupported: {0}")]
    KeyMismatch(String),
    #[error("certificate cannot be parsed: {0}")]
    Parse(String),
    #[error("unknown or unsupported TLS cipher suite {name:?}; supported: {supported}")]
    UnknownCipher { name: String, supported: String },
    #[error("TLS configuration rejected: {0}")]
    Config(String),
}

/// Serves whatever certificate was loaded last.
#[derive(Default)]
pub struct CertResolver {
    current: ArcSwapOption<CertifiedKey>,
    info: ArcSwapOption<CertInfo>,
}

impl std::fmt::Debug for CertResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertResolver")
            .field("current", &self.info.load_full())
            .finish()
    }
}

fn provider() -> CryptoProvider {
    aws_lc_rs::default_provider()
}

/// Parses a PEM chain (leaf first) and key into a rustls `CertifiedKey`, checking they match.
pub fn certified_key_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<(CertifiedKey, CertInfo), TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::CertPem(e.to_string()))?;
    let leaf = chain.first().ok_or(TlsError::NoCertificate)?;
    let info = inspect_cert(leaf.as_ref()).map_err(TlsError::Parse)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| TlsError::KeyPem)?;
    let certified = CertifiedKey::from_der(chain, key, &provider())
        .map_err(|e| TlsError::KeyMismatch(e.to_string()))?;
    Ok((certified, info))
}

impl CertResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses and installs a new certificate; new handshakes use it immediately. On error the
    /// previous certificate stays in service.
    pub fn load_pem(&self, cert_pem: &[u8], key_pem: &[u8]) -> Result<CertInfo, TlsError> {
        let (certified, info) = certified_key_from_pem(cert_pem, key_pem)?;
        self.current.store(Some(Arc::new(certified)));
        self.info.store(Some(Arc::new(info.clone())));
        Ok(info)
    }

    /// What is being served now.
    pub fn current(&self) -> Option<Arc<CertInfo>> {
        self.info.load_full()
    }

    pub fn has_cert(&self) -> bool {
        self.current.load().is_some()
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.load_full()
    }
}

/// TLS knobs from the command line.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// `--tls-min-version`.
    pub min_version: String,
    /// `--tls-ciphers`, comma-separated Go/IANA names.
    pub ciphers: String,
    /// `--enable-http2`.
    pub http2: bool,
}

fn suite_name(suite: &SupportedCipherSuite) -> String {
    // rustls names TLS 1.3 suites `TLS13_*`; Go and IANA spell them `TLS_*`.
    let debug = format!("{:?}", suite.suite());
    match debug.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => debug,
    }
}

fn is_tls13(suite: &SupportedCipherSuite) -> bool {
    matches!(suite, SupportedCipherSuite::Tls13(_))
}

/// The suites to offer: every TLS 1.3 suite (Go does not let them be configured either) plus
/// the listed TLS 1.2 ones, in rustls' preference order.
pub fn select_cipher_suites(list: &str) -> Result<Vec<SupportedCipherSuite>, TlsError> {
    let all = aws_lc_rs::ALL_CIPHER_SUITES;
    let wanted: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        // Go also accepts the CHACHA20 names without the hash suffix.
        .map(|n| {
            if n.ends_with("CHACHA20_POLY1305") {
                format!("{n}_SHA256")
            } else {
                n.to_owned()
            }
        })
        .collect();
    if wanted.is_empty() {
        return Ok(all.to_vec());
    }
    for name in &wanted {
        if !all.iter().any(|s| suite_name(s) == *name) {
            let supported = all.iter().map(suite_name).collect::<Vec<_>>().join(", ");
            return Err(TlsError::UnknownCipher {
                name: name.clone(),
                supported,
            });
        }
    }
    Ok(all
        .iter()
        .filter(|s| is_tls13(s) || wanted.contains(&suite_name(s)))
        .copied()
        .collect())
}

static TLS12_UP: &[&rustls::SupportedProtocolVersion] = &[&version::TLS13, &version::TLS12];
static TLS13_ONLY: &[&rustls::SupportedProtocolVersion] = &[&version::TLS13];

/// Protocol versions for `--tls-min-version`, following ESO: empty means 1.0 and an unknown
/// value means 1.3. rustls has no TLS 1.0/1.1, so those become 1.2.
pub fn protocol_versions(
    min_version: &str,
) -> &'static [&'static rustls::SupportedProtocolVersion] {
    match min_version.trim() {
        "" | "1.0" | "1.1" => {
            tracing::info!(
                requested = min_version,
                "TLS below 1.2 is not supported; using 1.2 as the minimum"
            );
            TLS12_UP
        }
        "1.2" => TLS12_UP,
        "1.3" => TLS13_ONLY,
        other => {
            tracing::warn!(
                requested = other,
                "unknown --tls-min-version; using 1.3 as ESO does"
            );
            TLS13_ONLY
        }
    }
}

/// Builds the server configuration around `resolver`.
pub fn server_config(
    options: &TlsOptions,
    resolver: Arc<CertResolver>,
) -> Result<ServerConfig, TlsError> {
    let suites = select_cipher_suites(&options.ciphers)?;
    let mut versions = protocol_versions(&options.min_version);
    if !suites.iter().any(|s| !is_tls13(s)) {
        versions = TLS13_ONLY;
    }
    let provider = CryptoProvider {
        cipher_suites: suites,
        ..provider()
    };
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = if options.http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}
