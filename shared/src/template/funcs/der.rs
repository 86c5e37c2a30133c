//! Minimal DER and PEM codecs for the key and certificate functions: just enough ASN.1 to move
//! keys between PKCS#1, SEC1, PKCS#8 and SPKI the way Go's crypto/x509 marshals them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub(crate) const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
pub(crate) const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
pub(crate) const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
pub(crate) const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
pub(crate) const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
pub(crate) const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OID: u8 = 0x06;
pub(crate) const NULL: u8 = 0x05;

// ---- writing ----

pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let len_bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | len_bytes.len() as u8);
        out.extend(len_bytes);
    }
    out.extend_from_slice(content);
    out
}

pub(crate) fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(SEQUENCE, &parts.concat())
}

/// A non-negative INTEGER from big-endian magnitude bytes.
pub(crate) fn uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
        Some(i) => &bytes[i..],
        None => &[0],
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(INTEGER, &content)
}

pub(crate) fn small_int(v: u8) -> Vec<u8> {
    tlv(INTEGER, &[v])
}

pub(crate) fn oid(content: &[u8]) -> Vec<u8> {
    tlv(OID, content)
}

pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = vec![0u8];
    content.extend_from_slice(bytes);
    tlv(BIT_STRING, &content)
}

/// Context-specific constructed tag `[n]` (EXPLICIT).
pub(crate) fn explicit(n: u8, inner: &[u8]) -> Vec<u8> {
    tlv(0xa0 | n, inner)
}

// ---- reading ----

/// One TLV: (tag, content, rest). Only definite lengths (DER).
pub(crate) fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let mut len = 0usize;
        for b in &rest[..n] {
            len = (len << 8) | *b as usize;
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The elements of a SEQUENCE's content.
pub(crate) fn elements(mut content: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tag, c, rest) = read_tlv(content)?;
        out.push((tag, c));
        content = rest;
    }
    Some(out)
}

fn seq_elements(der: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let (tag, content, _) = read_tlv(der)?;
    if tag != SEQUENCE {
        return None;
    }
    elements(content)
}

// ---- PEM ----

/// Go's `pem.EncodeToMemory` for a block without headers.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Every PEM block in `input` (label, DER), skipping text around and between blocks and blocks
/// whose body is not valid base64, as repeated `pem.Decode` calls do.
pub(crate) fn pem_blocks(input: &[u8]) -> Vec<(String, Vec<u8>)> {
    let text = String::from_utf8_lossy(input);
    let mut out = Vec::new();
    let mut rest: &str = &text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(end_label) = after.find("-----") else {
            break;
        };
        let label = &after[..end_label];
        let body = &after[end_label + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body.find(&end_marker) else {
            rest = body;
            continue;
        };
        let b64: String = body[..end]
            .lines()
            .filter(|l| !l.contains(':'))
            .flat_map(|l| l.chars())
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Ok(der) = STANDARD.decode(b64) {
            out.push((label.to_string(), der));
        }
        rest = &body[end + end_marker.len()..];
    }
    out
}

pub(crate) fn first_pem(input: &[u8]) -> Option<(String, Vec<u8>)> {
    pem_blocks(input).into_iter().next()
}

// ---- keys ----

/// A private key as Go's `parsePrivateKey` (PKCS#1, then PKCS#8, then SEC1) would accept it.
#[derive(Clone)]
pub(crate) enum PrivateKey {
    /// PKCS#1 RSAPrivateKey DER.
    Rsa(Vec<u8>),
    /// SEC1 ECPrivateKey DER (with the curve parameters) and the curve OID.
    Ec(Vec<u8>, Vec<u8>),
    /// The 32-byte seed.
    Ed25519(Vec<u8>),
}

impl PrivateKey {
    pub(crate) fn parse(der: &[u8]) -> Option<PrivateKey> {
        if is_pkcs1(der) {
            return Some(PrivateKey::Rsa(der.to_vec()));
        }
        if let Some(k) = parse_pkcs8(der) {
            return Some(k);
        }
        let curve = sec1_curve(der)?;
        Some(PrivateKey::Ec(sec1_with_params(der, &curve)?, curve))
    }

    /// PKCS#8 DER, as Go's `MarshalPKCS8PrivateKey` writes it (EC: SEC1 without parameters).
    pub(crate) fn to_pkcs8(&self) -> Vec<u8> {
        match self {
            PrivateKey::Rsa(pkcs1) => seq(&[
                small_int(0),
                seq(&[oid(OID_RSA), tlv(NULL, &[])]),
                tlv(OCTET_STRING, pkcs1),
            ]),
            PrivateKey::Ec(sec1, curve) => seq(&[
                small_int(0),
                seq(&[oid(OID_EC), oid(curve)]),
                tlv(OCTET_STRING, &sec1_without_params(sec1)),
            ]),
            PrivateKey::Ed25519(seed) => seq(&[
                small_int(0),
                seq(&[oid(OID_ED25519)]),
                tlv(OCTET_STRING, &tlv(OCTET_STRING, seed)),
            ]),
        }
    }

    /// Sprig's `pemBlockForKey`: RSA → PKCS#1, EC → SEC1, Ed25519 → PKCS#8.
    pub(crate) fn to_sprig_pem(&self) -> String {
        match self {
            PrivateKey::Rsa(pkcs1) => pem_encode("RSA PRIVATE KEY", pkcs1),
            PrivateKey::Ec(sec1, _) => pem_encode("EC PRIVATE KEY", sec1),
            PrivateKey::Ed25519(_) => pem_encode("PRIVATE KEY", &self.to_pkcs8()),
        }
    }
}

fn is_pkcs1(der: &[u8]) -> bool {
    // RSAPrivateKey: version, n, e, d, p, q, dp, dq, qinv (all INTEGERs).
    seq_elements(der).is_some_and(|e| e.len() >= 9 && e.iter().all(|(t, _)| *t == INTEGER))
}

fn parse_pkcs8(der: &[u8]) -> Option<PrivateKey> {
    let e = seq_elements(der)?;
    if e.len() < 3 || e[0].0 != INTEGER || e[1].0 != SEQUENCE || e[2].0 != OCTET_STRING {
        return None;
    }
    let alg = elements(e[1].1)?;
    let alg_oid = alg.first().filter(|(t, _)| *t == OID)?.1;
    let inner = e[2].1;
    if alg_oid == OID_RSA {
        return is_pkcs1(inner).then(|| PrivateKey::Rsa(inner.to_vec()));
    }
    if alg_oid == OID_EC {
        let curve = alg.get(1).filter(|(t, _)| *t == OID)?.1.to_vec();
        return Some(PrivateKey::Ec(sec1_with_params(inner, &curve)?, curve));
    }
    if alg_oid == OID_ED25519 {
        let (tag, seed, _) = read_tlv(inner)?;
        return (tag == OCTET_STRING && seed.len() == 32)
            .then(|| PrivateKey::Ed25519(seed.to_vec()));
    }
    None
}

fn sec1_curve(der: &[u8]) -> Option<Vec<u8>> {
    let e = seq_elements(der)?;
    let params = e.iter().find(|(t, _)| *t == 0xa0)?;
    let (tag, c, _) = read_tlv(params.1)?;
    (tag == OID).then(|| c.to_vec())
}

/// Rebuilds an ECPrivateKey with `[0]` parameters, as Go's `MarshalECPrivateKey` writes it.
fn sec1_with_params(der: &[u8], curve: &[u8]) -> Option<Vec<u8>> {
    let e = seq_elements(der)?;
    if e.len() < 2 || e[0].0 != INTEGER || e[1].0 != OCTET_STRING {
        return None;
    }
    let mut parts = vec![
        small_int(1),
        tlv(OCTET_STRING, e[1].1),
        explicit(0, &oid(curve)),
    ];
    if let Some(pk) = e.iter().find(|(t, _)| *t == 0xa1) {
        parts.push(tlv(0xa1, pk.1));
    }
    Some(seq(&parts))
}

fn sec1_without_params(der: &[u8]) -> Vec<u8> {
    match seq_elements(der) {
        Some(e) => seq(&e
            .iter()
            .filter(|(t, _)| *t != 0xa0)
            .map(|(t, c)| tlv(*t, c))
            .collect::<Vec<_>>()),
        None => der.to_vec(),
    }
}

/// PKCS#1 RSAPrivateKey out of a PKCS#8 document (aws-lc-rs generates PKCS#8).
pub(crate) fn pkcs8_to_private_key(der: &[u8]) -> Option<PrivateKey> {
    parse_pkcs8(der)
}
