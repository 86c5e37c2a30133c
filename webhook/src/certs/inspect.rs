//! Reading what a certificate says: serial, validity window, DNS names, CA flag, public key.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

/// The facts about one certificate the webhook cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Serial number as lowercase hex without separators.
    pub serial_hex: String,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// DNS subject alternative names.
    pub dns_names: Vec<String>,
    pub is_ca: bool,
    /// DER SubjectPublicKeyInfo, to match a private key against.
    pub spki_der: Vec<u8>,
}

/// Parses one DER certificate.
pub fn inspect_cert(der: &[u8]) -> Result<CertInfo, String> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| format!("invalid X.509 certificate: {e}"))?;
    let dns_names = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some((*d).to_owned()),
                _ => None,
            })
            .collect(),
        Ok(None) => Vec::new(),
        Err(e) => return Err(format!("invalid subjectAltName: {e}")),
    };
    Ok(CertInfo {
        serial_hex: cert
            .raw_serial()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        dns_names,
        is_ca: cert.is_ca(),
        spki_der: cert.public_key().raw.to_vec(),
    })
}

/// Every CERTIFICATE block of a PEM bundle, in order.
pub fn pem_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("invalid PEM: {e}"))
}

/// The first certificate of a PEM bundle, parsed.
pub fn inspect_first_pem(pem: &[u8]) -> Result<CertInfo, String> {
    let certs = pem_certs(pem)?;
    let first = certs
        .first()
        .ok_or_else(|| "no CERTIFICATE block".to_owned())?;
    inspect_cert(first.as_ref())
}
