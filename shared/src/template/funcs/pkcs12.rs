//! ESO's PKCS#12 template functions (`runtime/template/v2/pkcs12.go`) on top of go-pkcs12
//! semantics: `DecodeChain` for the readers, `Modern` (Modern2023) for the writers.
//!
//! Readers take the raw PFX bytes (a Go string holding binary data, as a Secret value or the
//! result of `b64dec`), exactly as ESO passes `[]byte(input)`; writers return standard base64 of
//! the PFX, as ESO does.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::der::{self, PrivateKey};
use super::pkcs12_pbe::{self as pbe, Der};
use super::pkcs12_pfx::{self as pfx, OID_CERT_BAG, OID_KEY_BAG, OID_SHROUDED_KEY_BAG};
use super::{FuncDef, def, s, sv};
use crate::template::value::Value;

pub(crate) static FUNCS: &[FuncDef] = &[
    def!("pkcs12key", [Str], |a| pkcs12_key("", bytes(&a[0]))),
    def!("pkcs12keyPass", [Str, Str], |a| pkcs12_key(
        &s(&a[0]),
        bytes(&a[1])
    )),
    def!("pkcs12cert", [Str], |a| pkcs12_cert("", bytes(&a[0]))),
    def!("pkcs12certPass", [Str, Str], |a| pkcs12_cert(
        &s(&a[0]),
        bytes(&a[1])
    )),
    def!("pemToPkcs12", [Str, Str], |a| pem_to_pkcs12(
        bytes(&a[0]),
        bytes(&a[1]),
        "",
        false
    )),
    def!("pemToPkcs12Pass", [Str, Str, Str], |a| pem_to_pkcs12(
        bytes(&a[0]),
        bytes(&a[1]),
        &s(&a[2]),
        false
    )),
    def!("fullPemToPkcs12", [Str, Str], |a| pem_to_pkcs12(
        bytes(&a[0]),
        bytes(&a[1]),
        "",
        true
    )),
    def!("fullPemToPkcs12Pass", [Str, Str, Str], |a| pem_to_pkcs12(
        bytes(&a[0]),
        bytes(&a[1]),
        &s(&a[2]),
        true
    )),
    def!("pemTruststoreToPKCS12", [Str], |a| truststore(
        bytes(&a[0]),
        ""
    )),
    def!("pemTruststoreToPKCS12Pass", [Str, Str], |a| truststore(
        bytes(&a[0]),
        &s(&a[1])
    )),
];

fn bytes(v: &Value) -> &[u8] {
    v.str_bytes().unwrap_or_default()
}

/// What Go's template engine reports when ESO dereferences the nil block `pem.Decode` returns
/// for input without (further) PEM data.
const NIL_DEREF: &str = "runtime error: invalid memory address or nil pointer dereference";

// ---- readers ----

struct Chain {
    key: PrivateKey,
    cert: Vec<u8>,
    ca_certs: Vec<Vec<u8>>,
}

/// go-pkcs12 `DecodeChain`: the first certificate bag is the leaf, later ones the CA chain;
/// exactly one (shrouded) key bag.
fn decode_chain(input: &[u8], password: &str) -> Result<Chain, String> {
    let bmp = pbe::bmp_zero_terminated(password)?;
    let (bags, password) = pfx::safe_contents(input, bmp, 1, 2)?;
    let mut key = None;
    let mut cert = None;
    let mut ca_certs = Vec::new();
    for bag in bags {
        if bag.id == OID_CERT_BAG {
            let data = pfx::cert_bag_certificate(&bag.value)?;
            let mut certs = parse_certificates(&data)?;
            if certs.len() != 1 {
                return Err("pkcs12: expected exactly one certificate in the certBag".into());
            }
            let c = certs.remove(0);
            if cert.is_none() {
                cert = Some(c);
            } else {
                ca_certs.push(c);
            }
        } else if bag.id == OID_KEY_BAG || bag.id == OID_SHROUDED_KEY_BAG {
            if key.is_some() {
                return Err("pkcs12: expected exactly one key bag".into());
            }
            key = Some(if bag.id == OID_KEY_BAG {
                parse_pkcs8(&bag.value)?
            } else {
                let plain = pfx::decrypt_shrouded_key(&bag.value, &password)?;
                parse_pkcs8(&plain)
                    .map_err(|e| format!("pkcs12: error parsing PKCS#8 private key: {e}"))?
            });
        }
    }
    let cert = cert.ok_or("pkcs12: certificate missing")?;
    let key = key.ok_or("pkcs12: private key missing")?;
    Ok(Chain {
        key,
        cert,
        ca_certs,
    })
}

/// The leaf certificate (DER) of a PKCS#12 archive with its private key, as go-pkcs12's
/// `DecodeChain` finds it; for providers that must recognise a pushed archive.
pub fn pkcs12_leaf_certificate(input: &[u8], password: &str) -> Result<Vec<u8>, String> {
    decode_chain(input, password).map(|c| c.cert)
}

fn parse_pkcs8(der: &[u8]) -> Result<PrivateKey, String> {
    der::pkcs8_to_private_key(der)
        .ok_or_else(|| "x509: failed to parse PKCS#8 private key".to_string())
}

/// Go's `x509.ParseCertificates`: concatenated DER certificates.
fn parse_certificates(mut data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (rest, _) = x509_parser::parse_x509_certificate(data)
            .map_err(|_| "x509: malformed certificate".to_string())?;
        out.push(data[..data.len() - rest.len()].to_vec());
        data = rest;
    }
    Ok(out)
}

fn pkcs12_key(password: &str, input: &[u8]) -> Result<Value, String> {
    let chain = decode_chain(input, password)
        .map_err(|e| format!("unable to decode pkcs12 with password: {e}"))?;
    sv(der::pem_encode("PRIVATE KEY", &chain.key.to_pkcs8()))
}

fn pkcs12_cert(password: &str, input: &[u8]) -> Result<Value, String> {
    let chain = decode_chain(input, password)
        .map_err(|e| format!("unable to decode pkcs12 certificate with password: {e}"))?;
    let pem: String = std::iter::once(&chain.cert)
        .chain(&chain.ca_certs)
        .map(|c| der::pem_encode("CERTIFICATE", c))
        .collect();
    // ESO orders leaf → root when the key identifiers allow it, else keeps the file's order.
    match super::x509::ordered_chain_der(pem.as_bytes()) {
        Ok(ordered) => sv(ordered
            .iter()
            .map(|c| der::pem_encode("CERTIFICATE", c))
            .collect::<String>()),
        Err(_) => sv(pem),
    }
}

// ---- writers ----

fn pem_to_pkcs12(cert: &[u8], key: &[u8], password: &str, chain: bool) -> Result<Value, String> {
    let (cert_der, rest) = go_pem_decode(cert).ok_or(NIL_DEREF)?;
    let cert_der = parse_certificate(cert_der)?;
    let ca_certs = if chain {
        parse_ca_certs(rest)?
    } else {
        Vec::new()
    };
    let (key_der, _) = go_pem_decode(key).ok_or(NIL_DEREF)?;
    let key = PrivateKey::parse(&key_der).ok_or("unable to parse private key type")?;
    let pfx = pfx::encode(&key.to_pkcs8(), &cert_der, &ca_certs, password)?;
    sv(STANDARD.encode(pfx))
}

fn truststore(certs: &[u8], password: &str) -> Result<Value, String> {
    let entries = parse_ca_certs(certs)?
        .into_iter()
        .map(|c| {
            let name = go_subject_string(&c);
            (c, name)
        })
        .collect::<Vec<_>>();
    let pfx = pfx::encode_trust_store(&entries, password)?;
    sv(STANDARD.encode(pfx))
}

/// Go's `x509.ParseCertificate` (one certificate, no trailing data).
fn parse_certificate(der: Vec<u8>) -> Result<Vec<u8>, String> {
    match x509_parser::parse_x509_certificate(&der) {
        Ok(([], _)) => Ok(der),
        Ok(_) => Err("x509: trailing data".into()),
        Err(_) => Err("x509: malformed certificate".into()),
    }
}

/// ESO `parseCaCerts`: PEM blocks until the input is used up. Like ESO, leftover text that holds
/// no further block (even a blank line) is a nil-block dereference.
fn parse_ca_certs(mut rest: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (der, next) = go_pem_decode(rest).ok_or(NIL_DEREF)?;
        out.push(parse_certificate(der)?);
        rest = next;
    }
    Ok(out)
}

/// Go's `bytes` line splitting as `pem.getLine` does it: the line without its trailing
/// spaces/tabs/CR, and the rest after the newline.
fn get_line(data: &[u8]) -> (&[u8], &[u8]) {
    let (line, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    let end = line
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r'))
        .map_or(0, |i| i + 1);
    (&line[..end], rest)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Go's `pem.Decode`: the first well-formed block's bytes and the input after its END line.
fn go_pem_decode(data: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    const BEGIN: &[u8] = b"\n-----BEGIN ";
    const END: &[u8] = b"\n-----END ";
    const EOL: &[u8] = b"-----";
    let mut rest = data;
    loop {
        if rest.starts_with(&BEGIN[1..]) {
            rest = &rest[BEGIN.len() - 1..];
        } else if let Some(i) = find(rest, BEGIN) {
            rest = &rest[i + BEGIN.len()..];
        } else {
            return None;
        }
        let (type_line, after) = get_line(rest);
        rest = after;
        let Some(typ) = type_line.strip_suffix(EOL) else {
            continue;
        };
        let mut has_headers = false;
        loop {
            if rest.is_empty() {
                return None;
            }
            let (line, next) = get_line(rest);
            if !line.contains(&b':') {
                break;
            }
            has_headers = true;
            rest = next;
        }
        let (end_index, trailer_index) = if !has_headers && rest.starts_with(&END[1..]) {
            (0, END.len() - 1)
        } else {
            match find(rest, END) {
                Some(i) => (i, i + END.len()),
                None => continue,
            }
        };
        let trailer = &rest[trailer_index..];
        let trailer_len = typ.len() + EOL.len();
        if trailer.len() < trailer_len {
            continue;
        }
        let (end_trailer, rest_of_line) = trailer.split_at(trailer_len);
        if !end_trailer.starts_with(typ) || !end_trailer.ends_with(EOL) {
            continue;
        }
        if !get_line(rest_of_line).0.is_empty() {
            continue;
        }
        let b64: Vec<u8> = rest[..end_index]
            .iter()
            .copied()
            .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .collect();
        let Ok(der) = STANDARD.decode(&b64) else {
            continue;
        };
        let (_, after_end) = get_line(&rest[end_index + END.len() - 1..]);
        return Some((der, after_end));
    }
}

// ---- Go's pkix.Name.String() for trust store aliases ----

/// `cert.Subject.String()` as go-pkcs12's `EncodeTrustStore` uses it for the friendlyName:
/// non-standard attributes first (printed last), then C, ST, L, STREET, POSTALCODE, O, OU, CN,
/// SERIALNUMBER, the sequence printed in reverse, RFC 2253 escaping.
pub(crate) fn go_subject_string(cert: &[u8]) -> String {
    subject_atvs(cert)
        .map(|atvs| name_string(&atvs))
        .unwrap_or_default()
}

fn subject_atvs(cert: &[u8]) -> Result<Vec<(Vec<u8>, String)>, String> {
    let mut c = Der(cert).seq()?;
    let mut tbs = c.seq()?;
    if tbs.peek() == Some(0xa0) {
        tbs.any()?;
    }
    tbs.expect(der::INTEGER)?;
    tbs.seq()?; // signature algorithm
    tbs.seq()?; // issuer
    tbs.seq()?; // validity
    let mut subject = tbs.seq()?;
    let mut out = Vec::new();
    while !subject.is_empty() {
        let mut rdn = Der(subject.expect(0x31)?);
        while !rdn.is_empty() {
            let mut atv = rdn.seq()?;
            let oid = atv.expect(der::OID)?.to_vec();
            let (tag, value) = atv.any()?;
            out.push((oid, asn1_string(tag, value)));
        }
    }
    Ok(out)
}

fn asn1_string(tag: u8, value: &[u8]) -> String {
    if tag == 0x1e {
        let units: Vec<u16> = value
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    String::from_utf8_lossy(value).into_owned()
}

/// The 2.5.4.x attribute number when `oid` is one Go parses into a named field, with its label.
fn standard_attribute(oid: &[u8]) -> Option<(u8, &'static str)> {
    match oid {
        [0x55, 0x04, n] => match n {
            3 => Some((*n, "CN")),
            5 => Some((*n, "SERIALNUMBER")),
            6 => Some((*n, "C")),
            7 => Some((*n, "L")),
            8 => Some((*n, "ST")),
            9 => Some((*n, "STREET")),
            10 => Some((*n, "O")),
            11 => Some((*n, "OU")),
            17 => Some((*n, "POSTALCODE")),
            _ => None,
        },
        _ => None,
    }
}

fn name_string(atvs: &[(Vec<u8>, String)]) -> String {
    // Each RDN: (label or None for unknown OIDs, oid, values).
    let mut rdns: Vec<Vec<(&[u8], &str)>> = atvs
        .iter()
        .filter(|(oid, _)| standard_attribute(oid).is_none())
        .map(|(oid, v)| vec![(oid.as_slice(), v.as_str())])
        .collect();
    let multi = |n: u8| -> Vec<(&[u8], &str)> {
        atvs.iter()
            .filter(|(oid, _)| standard_attribute(oid).map(|s| s.0) == Some(n))
            .map(|(oid, v)| (oid.as_slice(), v.as_str()))
            .collect()
    };
    for n in [6u8, 8, 7, 9, 17, 10, 11] {
        let values = multi(n);
        if !values.is_empty() {
            rdns.push(values);
        }
    }
    // CommonName and SerialNumber keep the last value seen, and only when non-empty.
    for n in [3u8, 5] {
        if let Some(last) = multi(n).pop().filter(|(_, v)| !v.is_empty()) {
            rdns.push(vec![last]);
        }
    }
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, (oid, value)) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            match standard_attribute(oid) {
                Some((_, label)) => {
                    out.push_str(label);
                    out.push('=');
                    out.push_str(&escape_rdn_value(value));
                }
                None => {
                    out.push_str(&pbe::oid_string(oid));
                    out.push_str("=#");
                    out.push_str(&hex::encode(go_marshal_string(value)));
                }
            }
        }
    }
    out
}

fn escape_rdn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.len().saturating_sub(1);
    for (k, c) in value.char_indices() {
        let escape = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => k == 0 || k == last,
            '#' => k == 0,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Go's `asn1.Marshal` of a string: PrintableString when every character allows it, else
/// UTF8String.
fn go_marshal_string(value: &str) -> Vec<u8> {
    let printable = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b));
    der::tlv(if printable { 0x13 } else { 0x0c }, value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_decode_reports_rest_like_go() {
        let pem = der::pem_encode("CERTIFICATE", b"abc");
        let (d, rest) = go_pem_decode(pem.as_bytes()).unwrap();
        assert_eq!(d, b"abc");
        assert!(rest.is_empty());
        let two = format!("junk\n{pem}\n");
        let (_, rest) = go_pem_decode(two.as_bytes()).unwrap();
        assert_eq!(rest, b"\n");
        assert!(go_pem_decode(rest).is_none());
    }

    #[test]
    fn rdn_escaping() {
        assert_eq!(escape_rdn_value(" a,b "), "\\ a\\,b\\ ");
        assert_eq!(escape_rdn_value("#x#"), "\\#x#");
    }
}
