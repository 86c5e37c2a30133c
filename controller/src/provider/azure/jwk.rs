//! PEM private keys (PKCS#1, PKCS#8, SEC1) as JSON Web Keys for Key Vault's Import Key, the
//! conversion ESO does with `jwk.FromRaw`. A value that is not PEM is a symmetric (`oct`) key.
//! Only the DER structure is walked here; no cryptography is needed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls::pki_types::pem::{PemObject, SectionKind};
use serde_json::{Value, json};

use crate::provider::ProviderError;

const OID_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
const CURVES: &[(&[u8], &str, usize)] = &[
    (
        &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07],
        "P-256",
        32,
    ),
    (&[0x2B, 0x81, 0x04, 0x00, 0x22], "P-384", 48),
    (&[0x2B, 0x81, 0x04, 0x00, 0x23], "P-521", 66),
];

fn invalid(what: &str) -> ProviderError {
    ProviderError::InvalidConfig(format!("could not load private key: {what}"))
}

/// One DER element: (tag, content), advancing `input`.
fn tlv<'a>(input: &mut &'a [u8]) -> Result<(u8, &'a [u8]), ProviderError> {
    let bad = || invalid("malformed DER");
    let (&tag, rest) = input.split_first().ok_or_else(bad)?;
    let (&first, mut rest) = rest.split_first().ok_or_else(bad)?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad());
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, b| (a << 8) | usize::from(*b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err(bad());
    }
    let (content, after) = rest.split_at(len);
    *input = after;
    Ok((tag, content))
}

fn expect<'a>(input: &mut &'a [u8], tag: u8) -> Result<&'a [u8], ProviderError> {
    match tlv(input)? {
        (t, c) if t == tag => Ok(c),
        _ => Err(invalid("unexpected DER structure")),
    }
}

/// An unsigned big-endian INTEGER as base64url, without leading zeros.
fn int(input: &mut &[u8]) -> Result<String, ProviderError> {
    let v = expect(input, 0x02)?;
    let start = v
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(v.len().saturating_sub(1));
    Ok(URL_SAFE_NO_PAD.encode(&v[start..]))
}

fn rsa_pkcs1(der: &[u8]) -> Result<Value, ProviderError> {
    let mut outer = der;
    let mut s = expect(&mut outer, 0x30)?;
    int(&mut s)?; // version
    let mut f = Vec::new();
    for _ in 0..8 {
        f.push(int(&mut s)?);
    }
    Ok(
        json!({"kty": "RSA", "n": f[0], "e": f[1], "d": f[2], "p": f[3], "q": f[4],
        "dp": f[5], "dq": f[6], "qi": f[7]}),
    )
}

fn left_pad(v: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0; len.saturating_sub(v.len())];
    out.extend_from_slice(v);
    out
}

fn ec_sec1(der: &[u8], curve_oid: Option<&[u8]>) -> Result<Value, ProviderError> {
    let mut outer = der;
    let mut s = expect(&mut outer, 0x30)?;
    expect(&mut s, 0x02)?; // version
    let d = expect(&mut s, 0x04)?;
    let mut oid = curve_oid;
    let mut point = None;
    while !s.is_empty() {
        match tlv(&mut s)? {
            (0xA0, mut c) => oid = Some(expect(&mut c, 0x06)?),
            (0xA1, mut c) => point = Some(expect(&mut c, 0x03)?),
            _ => {}
        }
    }
    let oid = oid.ok_or_else(|| invalid("EC key without a named curve"))?;
    let (_, crv, size) = CURVES
        .iter()
        .find(|(o, _, _)| *o == oid)
        .ok_or_else(|| invalid("EC curve is not P-256, P-384 or P-521"))?;
    // BIT STRING: unused-bits byte, then 0x04 || X || Y.
    let point = point.ok_or_else(|| invalid("EC key without its public key"))?;
    match point {
        [0, 4, xy @ ..] if xy.len() == 2 * size => {
            let (x, y) = xy.split_at(*size);
            Ok(
                json!({"kty": "EC", "crv": crv, "x": URL_SAFE_NO_PAD.encode(x),
                "y": URL_SAFE_NO_PAD.encode(y), "d": URL_SAFE_NO_PAD.encode(left_pad(d, *size))}),
            )
        }
        _ => Err(invalid("EC public key is not an uncompressed point")),
    }
}

fn pkcs8(der: &[u8]) -> Result<Value, ProviderError> {
    let mut outer = der;
    let mut s = expect(&mut outer, 0x30)?;
    expect(&mut s, 0x02)?; // version
    let mut alg = expect(&mut s, 0x30)?;
    let oid = expect(&mut alg, 0x06)?;
    let key = expect(&mut s, 0x04)?;
    if oid == OID_RSA {
        rsa_pkcs1(key)
    } else if oid == OID_EC {
        let curve = expect(&mut alg, 0x06)?;
        ec_sec1(key, Some(curve))
    } else {
        Err(invalid("PKCS#8 key is neither RSA nor EC"))
    }
}

/// The JWK (with private parts) for a pushed value.
pub fn from_value(value: &[u8]) -> Result<Value, ProviderError> {
    let Some(first) = <(SectionKind, Vec<u8>)>::pem_slice_iter(value).next() else {
        return Ok(json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(value)}));
    };
    let (kind, der) = first.map_err(|_| invalid("invalid PEM"))?;
    match kind {
        SectionKind::PrivateKey => pkcs8(&der),
        SectionKind::RsaPrivateKey => rsa_pkcs1(&der),
        SectionKind::EcPrivateKey => ec_sec1(&der, None),
        other => Err(invalid(&format!("key type {other:?} is not supported"))),
    }
}

/// ESO's `equalKeys`: same type and the same public parts.
pub fn same_public_key(new: &Value, old: &Value) -> bool {
    let eq = |f: &str| new.get(f).is_some() && new.get(f) == old.get(f);
    let kty = |v: &Value| {
        v["kty"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches("-HSM")
            .to_string()
    };
    kty(new) == kty(old) && ((eq("n") && eq("e")) || (eq("crv") && eq("x") && eq("y")))
}
