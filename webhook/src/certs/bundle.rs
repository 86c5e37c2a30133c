//! The webhook's CA and serving certificate: what a usable bundle is, and how a new one is made.
//!
//! Pure functions of (stored bundle, settings, now); reading and writing the Secret is elsewhere.
//! Keys are ECDSA P-256 (PKCS#8 PEM): fast to generate and accepted by every apiserver. A bundle
//! written by ESO's cert-controller (RSA, PKCS#1) is still honoured while it is valid, because
//! only validity, chain and names decide whether to renew.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData,
};
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{ServerName, UnixTime};
use time::OffsetDateTime;

use super::inspect::{CertInfo, inspect_cert, inspect_first_pem, pem_certs};
use crate::tls_reload::certified_key_from_pem;

/// Secret keys, as ESO's cert-controller and cert-manager name them.
pub const CA_CRT: &str = "ca.crt";
pub const CA_KEY: &str = "ca.key";
pub const TLS_CRT: &str = "tls.crt";
pub const TLS_KEY: &str = "tls.key";

/// Common name of generated CAs (ESO's value).
const CA_COMMON_NAME: &str = "external-secrets";

/// PEM private key text that never shows up in Debug output.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct KeyPem(String);

impl KeyPem {
    pub fn new(pem: impl Into<String>) -> Self {
        Self(pem.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for KeyPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The four Secret entries. `ca_crt` starts with the CA that signs `tls_crt`; during a CA
/// rotation the previous, still valid CA follows it, so replicas still serving a certificate from
/// the old CA stay trusted through the caBundle until they pick up the new one.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CertBundle {
    pub ca_crt: String,
    pub ca_key: KeyPem,
    pub tls_crt: String,
    pub tls_key: KeyPem,
}

impl CertBundle {
    /// Reads the bundle out of Secret data; missing or non-UTF-8 entries become empty strings
    /// (and the bundle then assesses as unusable).
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Self {
        let text = |key: &str| {
            data.get(key)
                .and_then(|v| String::from_utf8(v.clone()).ok())
                .unwrap_or_default()
        };
        Self {
            ca_crt: text(CA_CRT),
            ca_key: KeyPem(text(CA_KEY)),
            tls_crt: text(TLS_CRT),
            tls_key: KeyPem(text(TLS_KEY)),
        }
    }

    /// The Secret data for this bundle.
    pub fn to_secret_data(&self) -> BTreeMap<String, Vec<u8>> {
        BTreeMap::from([
            (CA_CRT.to_owned(), self.ca_crt.as_bytes().to_vec()),
            (CA_KEY.to_owned(), self.ca_key.0.as_bytes().to_vec()),
            (TLS_CRT.to_owned(), self.tls_crt.as_bytes().to_vec()),
            (TLS_KEY.to_owned(), self.tls_key.0.as_bytes().to_vec()),
        ])
    }

    /// What goes into `clientConfig.caBundle` (PEM, every CA in `ca.crt`).
    pub fn ca_bundle(&self) -> &str {
        &self.ca_crt
    }
}

/// What the certificate must satisfy.
#[derive(Clone, Debug)]
pub struct CertSettings {
    /// Every name the serving certificate must carry; the first one is its common name.
    pub dns_names: Vec<String>,
    /// Renew when the certificate (or CA) expires within this window.
    pub lookahead: Duration,
    /// Lifetime of newly generated certificates.
    pub validity: Duration,
}

/// Whether a stored bundle can be served as is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assessment {
    Valid,
    /// The CA is fine; only the serving certificate must be re-issued.
    ReissueServer(String),
    /// The CA itself is missing, broken or expiring: start over.
    RegenerateAll(String),
}

fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn lookahead_secs(settings: &CertSettings) -> i64 {
    i64::try_from(settings.lookahead.as_secs()).unwrap_or(i64::MAX)
}

/// Decides whether `bundle` is usable at `now` for `settings.lookahead` more.
pub fn assess(bundle: &CertBundle, settings: &CertSettings, now: SystemTime) -> Assessment {
    let now_s = unix(now);
    let horizon = now_s.saturating_add(lookahead_secs(settings));
    let ca = match assess_ca(bundle, now_s, horizon) {
        Ok(ca) => ca,
        Err(reason) => return Assessment::RegenerateAll(reason),
    };
    match assess_server(bundle, &ca, settings, now, horizon) {
        Ok(()) => Assessment::Valid,
        Err(reason) => Assessment::ReissueServer(reason),
    }
}

fn assess_ca(bundle: &CertBundle, now_s: i64, horizon: i64) -> Result<CertInfo, String> {
    if bundle.ca_crt.trim().is_empty() || bundle.ca_key.0.trim().is_empty() {
        return Err("no CA stored yet".to_owned());
    }
    let ca = inspect_first_pem(bundle.ca_crt.as_bytes()).map_err(|e| format!("ca.crt: {e}"))?;
    if !ca.is_ca {
        return Err("ca.crt is not a CA certificate".to_owned());
    }
    if ca.not_before > now_s {
        return Err("CA is not valid yet".to_owned());
    }
    if ca.not_after <= horizon {
        return Err("CA expires within the lookahead interval".to_owned());
    }
    let key = KeyPair::from_pem(&bundle.ca_key.0).map_err(|_| "ca.key is unreadable".to_owned())?;
    if key.subject_public_key_info() != ca.spki_der {
        return Err("ca.key does not belong to ca.crt".to_owned());
    }
    Ok(ca)
}

fn assess_server(
    bundle: &CertBundle,
    ca: &CertInfo,
    settings: &CertSettings,
    now: SystemTime,
    horizon: i64,
) -> Result<(), String> {
    if bundle.tls_crt.trim().is_empty() || bundle.tls_key.0.trim().is_empty() {
        return Err("no serving certificate stored yet".to_owned());
    }
    certified_key_from_pem(bundle.tls_crt.as_bytes(), bundle.tls_key.0.as_bytes())
        .map_err(|e| format!("tls.crt/tls.key: {e}"))?;
    let leaf_chain = pem_certs(bundle.tls_crt.as_bytes())?;
    let leaf = leaf_chain
        .first()
        .ok_or_else(|| "tls.crt holds no certificate".to_owned())?;
    let info = inspect_cert(leaf.as_ref())?;
    if info.not_after <= horizon {
        return Err("serving certificate expires within the lookahead interval".to_owned());
    }
    if info.not_after > ca.not_after {
        return Err("serving certificate outlives its CA".to_owned());
    }
    // The signing CA only (not the previous one kept for the caBundle): a certificate from a
    // rotated-out CA must be re-issued.
    let ca_certs = pem_certs(bundle.ca_crt.as_bytes())?;
    let mut roots = RootCertStore::empty();
    if let Some(ca_der) = ca_certs.into_iter().next() {
        roots
            .add(ca_der)
            .map_err(|e| format!("ca.crt cannot be a trust anchor: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| format!("cannot build verifier: {e}"))?;
    let horizon_time = UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(horizon.max(0)).unwrap_or(0),
    ));
    for name in &settings.dns_names {
        let server_name = ServerName::try_from(name.clone())
            .map_err(|_| format!("{name:?} is not a valid DNS name"))?;
        for at in [
            UnixTime::since_unix_epoch(now.duration_since(UNIX_EPOCH).unwrap_or_default()),
            horizon_time,
        ] {
            verifier
                .verify_server_cert(leaf, &leaf_chain[1..], &server_name, &[], at)
                .map_err(|e| format!("serving certificate is not valid for {name}: {e}"))?;
        }
    }
    Ok(())
}

/// Errors generating certificates.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("no DNS names to issue the serving certificate for")]
    NoNames,
}

fn offset(t: SystemTime) -> OffsetDateTime {
    OffsetDateTime::from(t)
}

/// Clock skew allowance on `notBefore` (ESO uses one hour too).
const BACKDATE: Duration = Duration::from_secs(3600);

fn new_ca(settings: &CertSettings, now: SystemTime) -> Result<(String, KeyPem), GenerateError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    dn.push(DnType::OrganizationName, CA_COMMON_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    params.not_before = offset(now - BACKDATE);
    params.not_after = offset(now + settings.validity);
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), KeyPem(key.serialize_pem())))
}

fn issue_server(
    ca_pem: &str,
    ca_key: &KeyPem,
    ca_not_after: i64,
    settings: &CertSettings,
    now: SystemTime,
) -> Result<(String, KeyPem), GenerateError> {
    let first = settings.dns_names.first().ok_or(GenerateError::NoNames)?;
    let ca_signing_key = KeyPair::from_pem(&ca_key.0)?;
    let issuer = Issuer::from_ca_cert_pem(ca_pem, ca_signing_key)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(settings.dns_names.clone())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, first.as_str());
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = offset(now - BACKDATE);
    // Never outlive the CA: clients would reject the chain after the CA expires anyway.
    let wanted = unix(now + settings.validity);
    let not_after = wanted.min(ca_not_after);
    params.not_after = OffsetDateTime::from_unix_timestamp(not_after)
        .unwrap_or_else(|_| offset(now + settings.validity));
    let cert = params.signed_by(&key, &issuer)?;
    Ok((cert.pem(), KeyPem(key.serialize_pem())))
}

/// Produces the bundle to store after `assessment` of `existing`.
pub fn renew(
    existing: &CertBundle,
    assessment: &Assessment,
    settings: &CertSettings,
    now: SystemTime,
) -> Result<CertBundle, GenerateError> {
    match assessment {
        Assessment::Valid => Ok(existing.clone()),
        Assessment::ReissueServer(_) => {
            let certs = pem_certs(existing.ca_crt.as_bytes()).unwrap_or_default();
            let ca_not_after = certs
                .first()
                .and_then(|c| inspect_cert(c.as_ref()).ok())
                .map_or(i64::MAX, |info| info.not_after);
            let signing_ca = first_pem_block(&existing.ca_crt);
            let (tls_crt, tls_key) =
                issue_server(&signing_ca, &existing.ca_key, ca_not_after, settings, now)?;
            Ok(CertBundle {
                ca_crt: existing.ca_crt.clone(),
                ca_key: existing.ca_key.clone(),
                tls_crt,
                tls_key,
            })
        }
        Assessment::RegenerateAll(_) => {
            let (ca_pem, ca_key) = new_ca(settings, now)?;
            let ca_not_after = unix(now + settings.validity);
            let (tls_crt, tls_key) = issue_server(&ca_pem, &ca_key, ca_not_after, settings, now)?;
            let mut ca_crt = ca_pem;
            if let Some(previous) = still_valid_previous_ca(existing, now) {
                ca_crt.push_str(&previous);
            }
            Ok(CertBundle {
                ca_crt,
                ca_key,
                tls_crt,
                tls_key,
            })
        }
    }
}

/// The old signing CA, kept in the bundle while it can still verify certificates in service.
fn still_valid_previous_ca(existing: &CertBundle, now: SystemTime) -> Option<String> {
    let info = inspect_first_pem(existing.ca_crt.as_bytes()).ok()?;
    (info.is_ca && info.not_after > unix(now)).then(|| first_pem_block(&existing.ca_crt))
}

/// The first `-----BEGIN CERTIFICATE-----` ... `-----END CERTIFICATE-----` block, newline-terminated.
fn first_pem_block(pem: &str) -> String {
    const END: &str = "-----END CERTIFICATE-----";
    match (pem.find("-----BEGIN CERTIFICATE-----"), pem.find(END)) {
        (Some(start), Some(end)) if end > start => format!("{}\n", &pem[start..end + END.len()]),
        _ => pem.to_owned(),
    }
}

/// Assesses and, when needed, renews: the bundle to serve and whether it differs from `existing`.
pub fn ensure_bundle(
    existing: &CertBundle,
    settings: &CertSettings,
    now: SystemTime,
) -> Result<(CertBundle, Assessment), GenerateError> {
    let assessment = assess(existing, settings, now);
    let bundle = renew(existing, &assessment, settings, now)?;
    Ok((bundle, assessment))
}
