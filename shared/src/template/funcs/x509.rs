//! Certificates: ESO `filterCertChain` and `certSANs`; sprig `genCA`, `genCAWithKey`,
//! `genSelfSignedCert(WithKey)`, `genSignedCert(WithKey)` and `buildCustomCert`. Sprig's
//! `certificate` struct is a map with `Cert` and `Key` (both PEM), so `.Cert` / `.Key` work.

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};

use super::der::{self, PrivateKey};
use super::{FuncDef, def, i, s, sv};
use crate::template::value::Value;

pub(crate) static FUNCS: &[FuncDef] = &[
    def!("filterCertChain", [Str, Str], |a| filter_cert_chain(
        &s(&a[0]),
        a[1].str_bytes().unwrap_or_default()
    )),
    def!("certSANs", [Str], |a| cert_sans(
        a[0].str_bytes().unwrap_or_default()
    )),
    def!("genCA", [Str, Int], |a| gen_ca(&s(&a[0]), i(&a[1]), None)),
    def!("genCAWithKey", [Str, Int, Str], |a| {
        let key = parse_key_pem(&s(&a[2]))?;
        gen_ca(&s(&a[0]), i(&a[1]), Some(key))
    }),
    def!("genSelfSignedCert", [Str, Any, Any, Int], |a| gen_cert(
        &s(&a[0]),
        &a[1],
        &a[2],
        i(&a[3]),
        None,
        None
    )),
    def!("genSelfSignedCertWithKey", [Str, Any, Any, Int, Str], |a| {
        let key = parse_key_pem(&s(&a[4]))?;
        gen_cert(&s(&a[0]), &a[1], &a[2], i(&a[3]), None, Some(key))
    }),
    def!("genSignedCert", [Str, Any, Any, Int, Map], |a| gen_cert(
        &s(&a[0]),
        &a[1],
        &a[2],
        i(&a[3]),
        Some(&a[4]),
        None
    )),
    def!(
        "genSignedCertWithKey",
        [Str, Any, Any, Int, Map, Str],
        |a| {
            let key = parse_key_pem(&s(&a[5]))?;
            gen_cert(&s(&a[0]), &a[1], &a[2], i(&a[3]), Some(&a[4]), Some(key))
        }
    ),
    def!("buildCustomCert", [Str, Str], |a| build_custom_cert(
        &s(&a[0]),
        &s(&a[1])
    )),
];

// ---- ESO: filterCertChain, certSANs ----

struct Node<'a> {
    raw: Vec<u8>,
    aki: Option<Vec<u8>>,
    ski: Option<Vec<u8>>,
    _cert: std::marker::PhantomData<&'a ()>,
}

fn key_ids(cert: &X509Certificate<'_>) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let mut aki = None;
    let mut ski = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = a.key_identifier.as_ref().map(|k| k.0.to_vec());
            }
            ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(k.0.to_vec()),
            _ => {}
        }
    }
    (aki, ski)
}

fn parse_nodes(input: &[u8]) -> Result<Vec<Node<'static>>, String> {
    let mut nodes = Vec::new();
    for (_, der) in der::pem_blocks(input) {
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| format!("x509: malformed certificate: {e}"))?;
        let (aki, ski) = key_ids(&cert);
        nodes.push(Node {
            raw: der.clone(),
            aki,
            ski,
            _cert: std::marker::PhantomData,
        });
    }
    Ok(nodes)
}

/// Go's `bytes.Equal`: a missing identifier equals an empty one.
fn ids_equal(a: &Option<Vec<u8>>, b: &Option<Vec<u8>>) -> bool {
    a.as_deref().unwrap_or_default() == b.as_deref().unwrap_or_default()
}

/// ESO `fetchX509CertChains`: orders leaf → intermediates → root by key identifiers.
fn ordered_chain(input: &[u8]) -> Result<Vec<Node<'static>>, String> {
    let nodes = parse_nodes(input)?;
    let n = nodes.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut is_parent = vec![false; n];
    for i in 0..n {
        for j in 0..n {
            if i != j && ids_equal(&nodes[i].aki, &nodes[j].ski) {
                is_parent[j] = true;
                parent[i] = Some(j);
                break;
            }
        }
    }
    let mut leaf = None;
    for (i, p) in is_parent.iter().enumerate() {
        if !p {
            if leaf.is_some() {
                return Err("found multiple leaf or disjunct certificates".into());
            }
            leaf = Some(i);
        }
    }
    let Some(mut cur) = leaf else {
        return Err("no leaf certificate found".into());
    };
    let mut order = vec![cur];
    while let Some(p) = parent[cur] {
        if order.len() >= n {
            return Err("constructing chain resulted in cycle".into());
        }
        order.push(p);
        cur = p;
    }
    let mut slots: Vec<Option<Node<'static>>> = nodes.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// ESO `fetchCertChains` on PEM input: the certificates' DER, ordered leaf → root.
pub(crate) fn ordered_chain_der(input: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    Ok(ordered_chain(input)?.into_iter().map(|n| n.raw).collect())
}

fn is_root(n: &Node<'_>) -> bool {
    n.aki.is_none() || ids_equal(&n.aki, &n.ski)
}

fn filter_cert_chain(cert_type: &str, input: &[u8]) -> Result<Value, String> {
    let ordered = ordered_chain(input)?;
    let out = match cert_type {
        "leaf" => {
            let c = &ordered[0];
            if c.aki.is_some() && !ids_equal(&c.aki, &c.ski) {
                der::pem_encode("CERTIFICATE", &c.raw)
            } else {
                String::new()
            }
        }
        "intermediate" => ordered
            .iter()
            .skip(1)
            .take_while(|c| !is_root(c))
            .map(|c| der::pem_encode("CERTIFICATE", &c.raw))
            .collect(),
        "root" => match ordered.last() {
            Some(c) if is_root(c) => der::pem_encode("CERTIFICATE", &c.raw),
            _ => String::new(),
        },
        _ => String::new(),
    };
    sv(out)
}

fn cert_sans(input: &[u8]) -> Result<Value, String> {
    let (_, der) = der::first_pem(input).ok_or("failed to decode PEM block")?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| format!("x509: malformed certificate: {e}"))?;
    let (mut dns, mut ips, mut emails, mut uris) = (vec![], vec![], vec![], vec![]);
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns.push(d.to_string()),
                GeneralName::IPAddress(b) => {
                    if let Some(ip) = ip_from_bytes(b) {
                        ips.push(ip.to_string());
                    }
                }
                GeneralName::RFC822Name(e) => emails.push(e.to_string()),
                GeneralName::URI(u) => uris.push(u.to_string()),
                _ => {}
            }
        }
    }
    let all = dns.into_iter().chain(ips).chain(emails).chain(uris);
    Ok(Value::list(all.map(Value::String).collect()))
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => None,
    }
}

// ---- sprig certificate generation ----

fn certificate(cert_pem: String, key_pem: String) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Cert".to_string(), Value::String(cert_pem));
    m.insert("Key".to_string(), Value::String(key_pem));
    Value::map(m)
}

/// Sprig `parsePrivateKeyPEM`, with its error texts.
fn parse_key_pem(pem: &str) -> Result<PrivateKey, String> {
    let (label, der) =
        der::first_pem(pem.as_bytes()).ok_or("parsing private key: no PEM data in input")?;
    let parsed = if label == "PRIVATE KEY" {
        PrivateKey::parse(&der).filter(|_| !der.is_empty())
    } else if let Some(kind) = label.strip_suffix(" PRIVATE KEY") {
        match kind {
            "RSA" | "EC" => PrivateKey::parse(&der),
            _ => {
                return Err(format!(
                    "parsing private key: invalid private key type {label}"
                ));
            }
        }
    } else {
        return Err(format!(
            "parsing private key: no private key data in PEM block of type {label}"
        ));
    };
    parsed.ok_or_else(|| format!("parsing private key: cannot parse {label}"))
}

fn key_pair(key: &PrivateKey) -> Result<KeyPair, String> {
    let alg = match key {
        PrivateKey::Rsa(_) => &rcgen::PKCS_RSA_SHA256,
        PrivateKey::Ec(_, curve) if curve == der::OID_P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        PrivateKey::Ec(_, curve) if curve == der::OID_P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        PrivateKey::Ec(_, _) => &rcgen::PKCS_ECDSA_P521_SHA512,
        PrivateKey::Ed25519(_) => &rcgen::PKCS_ED25519,
    };
    let pkcs8 = rustls::pki_types::PrivatePkcs8KeyDer::from(key.to_pkcs8());
    KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, alg)
        .map_err(|e| format!("error creating certificate: {e}"))
}

fn string_list(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Nil => Ok(vec![]),
        Value::List(items) => items
            .iter()
            .map(|item| match item.as_str_lossy() {
                Some(s) => Ok(s.into_owned()),
                None => Err(format!(
                    "error {what}: {} is not a string",
                    super::sprint_v(item)
                )),
            })
            .collect(),
        other => Err(format!(
            "wrong type for value; expected []interface {{}}; got {}",
            other.go_type()
        )),
    }
}

/// Sprig `getBaseCertTemplate`: random 128-bit serial, CN only, validity now..now+days,
/// KeyEncipherment|DigitalSignature, ServerAuth+ClientAuth, basic constraints present.
fn base_params(
    cn: &str,
    ips: &[IpAddr],
    dns: &[String],
    days: i64,
) -> Result<CertificateParams, String> {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|e| e.to_string())?;
    serial[0] &= 0x7f;
    p.serial_number = Some(SerialNumber::from(serial.to_vec()));
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now;
    p.not_after = now + time::Duration::hours(24 * days);
    p.key_usages = vec![
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    p.is_ca = IsCa::ExplicitNoCa;
    for ip in ips {
        p.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    for d in dns {
        let name = d
            .clone()
            .try_into()
            .map_err(|e| format!("error processing alternate dns name: {e}"))?;
        p.subject_alt_names.push(SanType::DnsName(name));
    }
    Ok(p)
}

fn default_key(key: Option<PrivateKey>) -> Result<PrivateKey, String> {
    match key {
        Some(k) => Ok(k),
        None => super::keys::generate_rsa(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|e| format!("error generating rsa key: {e}")),
    }
}

fn gen_ca(cn: &str, days: i64, key: Option<PrivateKey>) -> Result<Value, String> {
    let key = default_key(key)?;
    let mut p = base_params(cn, &[], &[], days)?;
    p.key_usages.push(KeyUsagePurpose::KeyCertSign);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let kp = key_pair(&key)?;
    let cert = p
        .self_signed(&kp)
        .map_err(|e| format!("error creating certificate: {e}"))?;
    Ok(certificate(cert.pem(), key.to_sprig_pem()))
}

fn gen_cert(
    cn: &str,
    ips: &Value,
    dns: &Value,
    days: i64,
    ca: Option<&Value>,
    key: Option<PrivateKey>,
) -> Result<Value, String> {
    let ips = string_list(ips, "parsing ip")?
        .into_iter()
        .map(|s| {
            s.parse::<IpAddr>()
                .map_err(|_| format!("error parsing ip: {s}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let dns = string_list(dns, "processing alternate dns name")?;
    let signer = match ca {
        Some(ca) => Some(signer_of(ca)?),
        None => None,
    };
    let key = default_key(key)?;
    let mut p = base_params(cn, &ips, &dns, days)?;
    // Go copies the issuer's SubjectKeyId into AuthorityKeyId; filterCertChain relies on it.
    p.use_authority_key_identifier_extension = signer.is_some();
    let kp = key_pair(&key)?;
    let cert = match signer {
        None => p.self_signed(&kp),
        Some((ca_der, ca_key)) => {
            let issuer = Issuer::from_ca_cert_der(&ca_der.into(), ca_key)
                .map_err(|e| format!("error parsing certificate: {e}"))?;
            p.signed_by(&kp, &issuer)
        }
    }
    .map_err(|e| format!("error creating certificate: {e}"))?;
    Ok(certificate(cert.pem(), key.to_sprig_pem()))
}

fn map_field(ca: &Value, field: &str) -> String {
    match ca {
        Value::Map(m) => m.get(field).map(super::strval).unwrap_or_default(),
        _ => String::new(),
    }
}

fn signer_of(ca: &Value) -> Result<(Vec<u8>, KeyPair), String> {
    let cert_pem = map_field(ca, "Cert");
    let (_, cert_der) =
        der::first_pem(cert_pem.as_bytes()).ok_or("unable to decode certificate")?;
    x509_parser::parse_x509_certificate(&cert_der)
        .map_err(|e| format!("error parsing certificate: decodedSignerCert.Bytes: {e}"))?;
    let key = parse_key_pem(&map_field(ca, "Key"))
        .map_err(|e| format!("error parsing private key: {e}"))?;
    Ok((cert_der, key_pair(&key)?))
}

fn build_custom_cert(b64cert: &str, b64key: &str) -> Result<Value, String> {
    let cert = STANDARD
        .decode(b64cert)
        .map_err(|_| "unable to decode base64 certificate")?;
    let key = STANDARD
        .decode(b64key)
        .map_err(|_| "unable to decode base64 private key")?;
    let (_, cert_der) = der::first_pem(&cert).ok_or("unable to decode certificate")?;
    x509_parser::parse_x509_certificate(&cert_der)
        .map_err(|e| format!("error parsing certificate: decodedCert.Bytes: {e}"))?;
    let (_, key_der) = der::first_pem(&key).ok_or("unable to decode key")?;
    // Sprig accepts PKCS#1 RSA keys only here.
    if !matches!(PrivateKey::parse(&key_der), Some(PrivateKey::Rsa(ref k)) if *k == key_der) {
        return Err(
            "error parsing prive key: decodedKey.Bytes: x509: failed to parse private key".into(),
        );
    }
    Ok(certificate(
        String::from_utf8_lossy(&cert).into_owned(),
        String::from_utf8_lossy(&key).into_owned(),
    ))
}
