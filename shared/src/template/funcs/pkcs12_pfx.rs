//! The PFX container (RFC 7292): reading the safe bags out of a DER PFX the way go-pkcs12's
//! `getSafeContents` does, and writing go-pkcs12 `Modern2023` PFX files.
//!
//! Like go-pkcs12 only DER is read (no BER indefinite lengths or constructed OCTET STRINGs).

use aws_lc_rs::hmac;

use super::der::{OCTET_STRING, explicit, oid, seq, small_int, tlv, uint};
use super::pkcs12_pbe::{
    self as pbe, Der, ERR_INCORRECT_PASSWORD, KdfHash, MODERN_ITERATIONS, MODERN_SALT_LEN,
    OID_DATA, not_implemented, oid_string,
};

const OID_ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
pub(crate) const OID_KEY_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x01,
];
pub(crate) const OID_SHROUDED_KEY_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02,
];
pub(crate) const OID_CERT_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x03,
];
const OID_X509_CERT: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];
const OID_FRIENDLY_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x14];
const OID_LOCAL_KEY_ID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x15];
const OID_JAVA_TRUST_STORE: &[u8] = &[
    0x60, 0x86, 0x48, 0x01, 0x86, 0xf9, 0x66, 0xad, 0xca, 0x7b, 0x01, 0x01,
];
const OID_ANY_EKU: &[u8] = &[0x55, 0x1d, 0x25, 0x00];
const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
const OID_PBMAC1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0e];

const SET: u8 = 0x31;
const BMP_STRING: u8 = 0x1e;
/// `[0] IMPLICIT OCTET STRING` (EncryptedContentInfo.encryptedContent).
const IMPLICIT_0: u8 = 0x80;
const EXPLICIT_0: u8 = 0xa0;

/// One SafeBag: its type and the content of its `[0] EXPLICIT` value (a complete TLV).
pub(crate) struct SafeBag {
    pub id: Vec<u8>,
    pub value: Vec<u8>,
}

/// go-pkcs12 `getSafeContents`: checks the MAC, decrypts the authenticated safe's items and
/// returns their bags plus the password form that verified (`00 00` or empty for "").
pub(crate) fn safe_contents(
    pfx: &[u8],
    password: Vec<u8>,
    min_items: usize,
    max_items: usize,
) -> Result<(Vec<SafeBag>, Vec<u8>), String> {
    let (auth_safe, mac) =
        read_pfx(pfx).map_err(|e| format!("pkcs12: error reading P12 data: {e}"))?;
    let auth_safe = match auth_safe {
        AuthSafe::Data(bytes) => bytes,
        AuthSafe::Version(v) if v != 3 => {
            return Err(not_implemented("can only decode v3 PFX PDU's"));
        }
        AuthSafe::Version(_) | AuthSafe::Other => {
            return Err(not_implemented(
                "only password-protected PFX is implemented",
            ));
        }
    };
    let auth_safe = Der(auth_safe).expect(OCTET_STRING)?;
    let is_empty_password = password == [0, 0];
    let mut password = password;
    match mac {
        None if !is_empty_password => return Err("pkcs12: no MAC in data".into()),
        None => {}
        Some(mac) => {
            let mut verified = verify_mac(&mac, auth_safe, &password);
            if verified.as_ref().err().map(String::as_str) == Some(ERR_INCORRECT_PASSWORD)
                && is_empty_password
            {
                // Some writers key the MAC with an empty byte string for the empty password.
                password = Vec::new();
                verified = verify_mac(&mac, auth_safe, &password);
            }
            verified?;
        }
    }

    let mut items = Der(auth_safe).seq()?;
    let mut infos = Vec::new();
    while !items.is_empty() {
        let mut ci = items.seq()?;
        let content_type = ci.expect(super::der::OID)?;
        let content = if ci.is_empty() {
            &[][..]
        } else {
            ci.expect(EXPLICIT_0)?
        };
        infos.push((content_type, content));
    }
    if infos.len() < min_items || infos.len() > max_items {
        let msg = if min_items == max_items {
            format!(
                "expected exactly {min_items} items in the authenticated safe, but this file has {}",
                infos.len()
            )
        } else {
            format!(
                "expected between {min_items} and {max_items} items in the authenticated safe, but this file has {}",
                infos.len()
            )
        };
        return Err(not_implemented(&msg));
    }

    let mut bags = Vec::new();
    for (content_type, content) in infos {
        let data = if content_type == OID_DATA {
            Der(content).expect(OCTET_STRING)?.to_vec()
        } else if content_type == OID_ENCRYPTED_DATA {
            decrypt_encrypted_data(content, &password)?
        } else {
            return Err(not_implemented(
                "only data and encryptedData content types are supported in authenticated safe",
            ));
        };
        let mut list = Der(&data).seq()?;
        while !list.is_empty() {
            let mut bag = list.seq()?;
            let id = bag.expect(super::der::OID)?.to_vec();
            let value = bag.expect(EXPLICIT_0)?.to_vec();
            if !bag.is_empty() {
                bag.expect(SET)?;
            }
            bags.push(SafeBag { id, value });
        }
    }
    Ok((bags, password))
}

enum AuthSafe<'a> {
    Version(i64),
    Data(&'a [u8]),
    Other,
}

struct MacData<'a> {
    algorithm: Vec<u8>,
    params: Vec<u8>,
    digest: &'a [u8],
    salt: &'a [u8],
    iterations: i64,
}

fn read_pfx(pfx: &[u8]) -> Result<(AuthSafe<'_>, Option<MacData<'_>>), String> {
    let mut outer = Der(pfx);
    let mut top = outer.seq()?;
    if !outer.is_empty() {
        return Err("pkcs12: trailing data found".into());
    }
    let version = top.int()?;
    let mut auth = top.seq()?;
    let content_type = auth.expect(super::der::OID)?;
    let content = if auth.is_empty() {
        &[][..]
    } else {
        auth.expect(EXPLICIT_0)?
    };
    let mac = if top.is_empty() {
        None
    } else {
        let mut m = top.seq()?;
        let mut digest_info = m.seq()?;
        let (algorithm, params) = pbe::algorithm(&mut digest_info)?;
        let digest = digest_info.expect(OCTET_STRING)?;
        let salt = m.expect(OCTET_STRING)?;
        let iterations = if m.is_empty() { 1 } else { m.int()? };
        Some(MacData {
            algorithm,
            params,
            digest,
            salt,
            iterations,
        })
    };
    if version != 3 {
        return Ok((AuthSafe::Version(version), mac));
    }
    if content_type != OID_DATA {
        return Ok((AuthSafe::Other, mac));
    }
    Ok((AuthSafe::Data(content), mac))
}

fn hmac_alg(hash_oid: &[u8]) -> Option<(hmac::Algorithm, KdfHash, usize)> {
    match hash_oid {
        o if o == OID_SHA1 => Some((hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, KdfHash::Sha1, 20)),
        o if o == OID_SHA256 => Some((hmac::HMAC_SHA256, KdfHash::Sha256, 32)),
        o if o == OID_SHA512 => Some((hmac::HMAC_SHA512, KdfHash::Sha512, 64)),
        _ => None,
    }
}

fn verify_mac(mac: &MacData<'_>, message: &[u8], password: &[u8]) -> Result<(), String> {
    let key = if mac.algorithm == OID_PBMAC1 {
        pbmac1_key(&mac.params, password)?
    } else {
        let (alg, kdf, len) = hmac_alg(&mac.algorithm).ok_or_else(|| {
            not_implemented(&format!(
                "MAC digest algorithm not supported: {}",
                oid_string(&mac.algorithm)
            ))
        })?;
        pbe::check_iterations(mac.iterations)?;
        let k = pbe::pkcs12_kdf(kdf, mac.salt, password, mac.iterations, pbe::KDF_MAC, len);
        hmac::Key::new(alg, &k)
    };
    hmac::verify(&key, message, mac.digest).map_err(|_| ERR_INCORRECT_PASSWORD.to_string())
}

/// RFC 9579 PBMAC1: PBKDF2 (explicit key length of at least 20 bytes) keys an HMAC.
fn pbmac1_key(params: &[u8], bmp_password: &[u8]) -> Result<hmac::Key, String> {
    let mut p = Der(params).seq()?;
    let (kdf, kdf_params) = pbe::algorithm(&mut p)?;
    let (mac_alg, _) = pbe::algorithm(&mut p)?;
    if kdf != pbe::OID_PBKDF2 {
        return Err(not_implemented(&format!(
            "PBMAC1 KDF algorithm {} is not supported",
            oid_string(&kdf)
        )));
    }
    let alg = match mac_alg.as_slice() {
        o if o == pbe::OID_HMAC_SHA1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        o if o == pbe::OID_HMAC_SHA256 => hmac::HMAC_SHA256,
        o if o == pbe::OID_HMAC_SHA512 => hmac::HMAC_SHA512,
        other => {
            return Err(not_implemented(&format!(
                "PBMAC1 MAC algorithm {} is not supported",
                oid_string(other)
            )));
        }
    };
    // Key length 0 = "not given": PBMAC1 requires it explicitly.
    let key = pbe::pbkdf2(&kdf_params, &pbe::utf8_password(bmp_password)?, 0).map_err(|e| {
        if e == "pkcs12: invalid PBKDF2 key length" {
            "pkcs12: PBMAC1 requires explicit KeyLength parameter in PBKDF2 parameters".into()
        } else {
            e
        }
    })?;
    if key.len() < 20 {
        return Err("pkcs12: PBMAC1 key length is too short".into());
    }
    Ok(hmac::Key::new(alg, &key))
}

fn decrypt_encrypted_data(content: &[u8], password: &[u8]) -> Result<Vec<u8>, String> {
    let mut ed = Der(content).seq()?;
    if ed.int()? != 0 {
        return Err(not_implemented(
            "only version 0 of EncryptedData is supported",
        ));
    }
    let mut eci = ed.seq()?;
    eci.expect(super::der::OID)?;
    let (alg, params) = pbe::algorithm(&mut eci)?;
    let data = if eci.is_empty() {
        &[][..]
    } else {
        eci.expect(IMPLICIT_0)?
    };
    pbe::decrypt(&alg, &params, data, password)
}

/// go-pkcs12 `decodePkcs8ShroudedKeyBag`: the decrypted PKCS#8 DER.
pub(crate) fn decrypt_shrouded_key(value: &[u8], password: &[u8]) -> Result<Vec<u8>, String> {
    let parsed = (|| {
        let mut info = Der(value).seq()?;
        let (alg, params) = pbe::algorithm(&mut info)?;
        let data = info.expect(OCTET_STRING)?;
        Ok::<_, String>((alg, params, data))
    })()
    .map_err(|e| format!("pkcs12: error decoding PKCS#8 shrouded key bag: {e}"))?;
    let (alg, params, data) = parsed;
    pbe::decrypt(&alg, &params, data, password)
        .map_err(|e| format!("pkcs12: error decrypting PKCS#8 shrouded key bag: {e}"))
}

/// go-pkcs12 `decodeCertBag`: the certificate DER of an X.509 cert bag.
pub(crate) fn cert_bag_certificate(value: &[u8]) -> Result<Vec<u8>, String> {
    let (id, data) = (|| {
        let mut bag = Der(value).seq()?;
        let id = bag.expect(super::der::OID)?;
        let data = Der(bag.expect(EXPLICIT_0)?).expect(OCTET_STRING)?;
        Ok::<_, String>((id, data))
    })()
    .map_err(|e| format!("pkcs12: error decoding cert bag: {e}"))?;
    if id != OID_X509_CERT {
        return Err(not_implemented("only X509 certificates are supported"));
    }
    Ok(data.to_vec())
}

// ---- writing (go-pkcs12 Modern2023) ----

/// `SET OF` in DER order (sorted encodings), as Go's encoding/asn1 writes it.
fn set_of(mut elements: Vec<Vec<u8>>) -> Vec<u8> {
    elements.sort();
    tlv(SET, &elements.concat())
}

fn attribute(id: &[u8], value: Vec<u8>) -> Vec<u8> {
    seq(&[oid(id), set_of(vec![value])])
}

/// A cert bag; `attributes` None omits the SET, Some(empty) writes an empty SET (go-pkcs12 does
/// so for CA certificates).
fn cert_bag(cert: &[u8], attributes: Option<Vec<Vec<u8>>>) -> Vec<u8> {
    let inner = seq(&[oid(OID_X509_CERT), explicit(0, &tlv(OCTET_STRING, cert))]);
    let mut parts = vec![oid(OID_CERT_BAG), explicit(0, &inner)];
    if let Some(attrs) = attributes {
        parts.push(set_of(attrs));
    }
    seq(&parts)
}

fn encrypted_safe(bags: &[Vec<u8>], bmp_password: &[u8]) -> Result<Vec<u8>, String> {
    let (alg, data) = pbe::encrypt_pbes2(&seq(bags), bmp_password)?;
    let encrypted_data = seq(&[
        small_int(0),
        seq(&[oid(OID_DATA), alg, tlv(IMPLICIT_0, &data)]),
    ]);
    Ok(seq(&[
        oid(OID_ENCRYPTED_DATA),
        explicit(0, &encrypted_data),
    ]))
}

fn plain_safe(bags: &[Vec<u8>]) -> Vec<u8> {
    seq(&[oid(OID_DATA), explicit(0, &tlv(OCTET_STRING, &seq(bags)))])
}

/// Wraps the authenticated safe items with an HMAC-SHA-256 MAC (PKCS#12 KDF, 2048 iterations,
/// 16-byte salt; the digest AlgorithmIdentifier has no parameters, as Go writes it).
fn pfx(items: &[Vec<u8>], bmp_password: &[u8]) -> Result<Vec<u8>, String> {
    let auth_safe = seq(items);
    let salt = pbe::random(MODERN_SALT_LEN)?;
    let key = pbe::pkcs12_kdf(
        KdfHash::Sha256,
        &salt,
        bmp_password,
        MODERN_ITERATIONS as i64,
        pbe::KDF_MAC,
        32,
    );
    let digest = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), &auth_safe);
    let mac_data = seq(&[
        seq(&[seq(&[oid(OID_SHA256)]), tlv(OCTET_STRING, digest.as_ref())]),
        tlv(OCTET_STRING, &salt),
        uint(&MODERN_ITERATIONS.to_be_bytes()),
    ]);
    Ok(seq(&[
        small_int(3),
        seq(&[oid(OID_DATA), explicit(0, &tlv(OCTET_STRING, &auth_safe))]),
        mac_data,
    ]))
}

/// go-pkcs12 `Modern.Encode`: an encrypted SafeContents with the cert bags (the leaf carries
/// localKeyId = SHA-1 of its DER) and a plain SafeContents with the PBES2-shrouded key bag
/// (same localKeyId).
pub(crate) fn encode(
    key_pkcs8: &[u8],
    cert: &[u8],
    ca_certs: &[Vec<u8>],
    password: &str,
) -> Result<Vec<u8>, String> {
    use sha1::Digest;
    let bmp = pbe::bmp_zero_terminated(password)?;
    let fingerprint = sha1::Sha1::digest(cert);
    let local_key_id = attribute(OID_LOCAL_KEY_ID, tlv(OCTET_STRING, &fingerprint));
    let mut cert_bags = vec![cert_bag(cert, Some(vec![local_key_id.clone()]))];
    for ca in ca_certs {
        cert_bags.push(cert_bag(ca, Some(Vec::new())));
    }
    let (alg, encrypted) = pbe::encrypt_pbes2(key_pkcs8, &bmp)?;
    let shrouded = seq(&[alg, tlv(OCTET_STRING, &encrypted)]);
    let key_bag = seq(&[
        oid(OID_SHROUDED_KEY_BAG),
        explicit(0, &shrouded),
        set_of(vec![local_key_id]),
    ]);
    let items = [encrypted_safe(&cert_bags, &bmp)?, plain_safe(&[key_bag])];
    pfx(&items, &bmp)
}

/// go-pkcs12 `Modern.EncodeTrustStoreEntries`: one encrypted SafeContents of cert bags, each
/// marked as a Java trust anchor for any extended key usage and named by `friendly_name`.
pub(crate) fn encode_trust_store(
    entries: &[(Vec<u8>, String)],
    password: &str,
) -> Result<Vec<u8>, String> {
    let bmp = pbe::bmp_zero_terminated(password)?;
    let trusted = attribute(OID_JAVA_TRUST_STORE, oid(OID_ANY_EKU));
    let mut bags = Vec::new();
    for (cert, name) in entries {
        let name = attribute(OID_FRIENDLY_NAME, tlv(BMP_STRING, &pbe::bmp_string(name)?));
        bags.push(cert_bag(cert, Some(vec![trusted.clone(), name])));
    }
    pfx(&[encrypted_safe(&bags, &bmp)?], &bmp)
}
