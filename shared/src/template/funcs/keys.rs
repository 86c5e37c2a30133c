//! Key material: sprig `genPrivateKey` and `derivePassword`, ESO `jwkPublicKeyPem`,
//! `jwkPrivateKeyPem` and `rsaDecrypt`. Output encodings follow Go's crypto/x509 marshalling.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA512_MGF1SHA512,
    OaepPrivateDecryptingKey, PrivateDecryptingKey,
};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::der::{self, PrivateKey};
use super::{FuncDef, def, i, s, sv};
use crate::template::value::Value;

pub(crate) static FUNCS: &[FuncDef] = &[
    def!("genPrivateKey", [Str], |a| sv(gen_private_key(&s(&a[0])))),
    def!("derivePassword", [Int, Str, Str, Str, Str], |a| {
        let counter = i(&a[0]);
        let Ok(counter) = u32::try_from(counter) else {
            return Err(format!("{counter} overflows uint32"));
        };
        sv(derive_password(
            counter,
            &s(&a[1]),
            &s(&a[2]),
            &s(&a[3]),
            &s(&a[4]),
        ))
    }),
    def!("jwkPublicKeyPem", [Str], |a| {
        let jwk = Jwk::parse(&s(&a[0]))?;
        sv(der::pem_encode("PUBLIC KEY", &jwk.public_spki()?))
    }),
    def!("jwkPrivateKeyPem", [Str], |a| {
        let jwk = Jwk::parse(&s(&a[0]))?;
        sv(der::pem_encode("PRIVATE KEY", &jwk.private_pkcs8()?))
    }),
    def!("rsaDecrypt", [Str, Str, Str, Str], |a| rsa_decrypt(
        &s(&a[0]),
        &s(&a[1]),
        a[2].str_bytes().unwrap_or_default(),
        a[3].str_bytes().unwrap_or_default(),
    )),
];

// ---- genPrivateKey ----

fn gen_private_key(typ: &str) -> String {
    let key = match typ {
        "" | "rsa" => generate_rsa(KeySize::Rsa4096),
        "ecdsa" => generate_p256(),
        "ed25519" => generate_ed25519(),
        // Go's DSA support is deprecated and absent from aws-lc-rs.
        "dsa" => Err("DSA keys are not supported".to_string()),
        _ => return format!("Unknown type {typ}"),
    };
    match key {
        Ok(k) => k.to_sprig_pem(),
        Err(e) => format!("failed to generate private key: {e}"),
    }
}

pub(crate) fn generate_rsa(size: KeySize) -> Result<PrivateKey, String> {
    let kp = aws_lc_rs::rsa::KeyPair::generate(size).map_err(|e| e.to_string())?;
    let pkcs8 = kp.as_der().map_err(|e| e.to_string())?;
    der::pkcs8_to_private_key(pkcs8.as_ref()).ok_or_else(|| "unexpected key encoding".into())
}

pub(crate) fn generate_p256() -> Result<PrivateKey, String> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|e| e.to_string())?;
    PrivateKey::parse(pkcs8.as_ref()).ok_or_else(|| "unexpected key encoding".into())
}

fn generate_ed25519() -> Result<PrivateKey, String> {
    // Any 32 random bytes are a valid Ed25519 private key (seed).
    let mut seed = vec![0u8; 32];
    aws_lc_rs::rand::fill(&mut seed).map_err(|e| e.to_string())?;
    Ok(PrivateKey::Ed25519(seed))
}

// ---- derivePassword (Master Password algorithm v3, as sprig implements it) ----

const MASTER_PASSWORD_SEED: &[u8] = b"com.lyndir.masterpassword";

fn templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_characters(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        b'x' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
        _ => b"",
    }
}

fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    let Some(templates) = templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = MASTER_PASSWORD_SEED.to_vec();
    salt.extend((user.len() as u32).to_be_bytes());
    salt.extend(user.as_bytes());
    let mut key = [0u8; 64];
    let params = match scrypt::Params::new(15, 8, 2, 64) {
        Ok(p) => p,
        Err(e) => return format!("failed to derive password: {e}"),
    };
    if let Err(e) = scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key) {
        return format!("failed to derive password: {e}");
    }
    let mut msg = MASTER_PASSWORD_SEED.to_vec();
    msg.extend((site.len() as u32).to_be_bytes());
    msg.extend(site.as_bytes());
    msg.extend(counter.to_be_bytes());
    let hkey = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
    let seed = aws_lc_rs::hmac::sign(&hkey, &msg);
    let seed = seed.as_ref();
    let template = templates[seed[0] as usize % templates.len()].as_bytes();
    template
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let chars = template_characters(*c);
            chars[seed[i + 1] as usize % chars.len()] as char
        })
        .collect()
}

// ---- JWK ----

struct Jwk {
    kty: String,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl Jwk {
    fn parse(text: &str) -> Result<Jwk, String> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| format!("failed to unmarshal JSON into key hint: {e}"))?;
        let serde_json::Value::Object(fields) = v else {
            return Err("failed to unmarshal JSON into key hint: not a JSON object".into());
        };
        let kty = fields
            .get("kty")
            .and_then(|k| k.as_str())
            .ok_or("invalid key type from JSON ()")?
            .to_string();
        Ok(Jwk { kty, fields })
    }

    fn bytes(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        match self.fields.get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => URL_SAFE_NO_PAD
                .decode(s.trim_end_matches('='))
                .map(Some)
                .map_err(|_| format!("failed to decode field {name:?}")),
            Some(_) => Err(format!("field {name:?} must be a string")),
        }
    }

    fn required(&self, name: &str) -> Result<Vec<u8>, String> {
        self.bytes(name)?
            .ok_or_else(|| format!("required field {name} is missing"))
    }

    fn is_private(&self) -> bool {
        self.fields.contains_key("d")
    }

    fn curve(&self) -> Result<(&'static [u8], usize), String> {
        match self.fields.get("crv").and_then(|c| c.as_str()) {
            Some("P-256") => Ok((der::OID_P256, 32)),
            Some("P-384") => Ok((der::OID_P384, 48)),
            Some("P-521") => Ok((der::OID_P521, 66)),
            Some(other) => Err(format!("invalid curve algorithm {other:?}")),
            None => Err("required field crv is missing".into()),
        }
    }

    fn ec_point(&self, size: usize) -> Result<Vec<u8>, String> {
        let mut point = vec![4u8];
        point.extend(left_pad(&self.required("x")?, size));
        point.extend(left_pad(&self.required("y")?, size));
        Ok(point)
    }

    /// `x509.MarshalPKIXPublicKey(raw)`. Go rejects private keys here (the raw key of a private
    /// JWK is the private key), so do we, with Go's text.
    fn public_spki(&self) -> Result<Vec<u8>, String> {
        match self.kty.as_str() {
            "RSA" if self.is_private() => {
                Err("x509: unsupported public key type: *rsa.PrivateKey".into())
            }
            "RSA" => Ok(der::seq(&[
                der::seq(&[der::oid(der::OID_RSA), der::tlv(der::NULL, &[])]),
                der::bit_string(&der::seq(&[
                    der::uint(&self.required("n")?),
                    der::uint(&self.required("e")?),
                ])),
            ])),
            "EC" if self.is_private() => {
                Err("x509: unsupported public key type: *ecdsa.PrivateKey".into())
            }
            "EC" => {
                let (curve, size) = self.curve()?;
                Ok(der::seq(&[
                    der::seq(&[der::oid(der::OID_EC), der::oid(curve)]),
                    der::bit_string(&self.ec_point(size)?),
                ]))
            }
            "OKP" => {
                self.require_ed25519()?;
                if self.is_private() {
                    return Err("x509: unsupported public key type: ed25519.PrivateKey".into());
                }
                Ok(der::seq(&[
                    der::seq(&[der::oid(der::OID_ED25519)]),
                    der::bit_string(&self.required("x")?),
                ]))
            }
            other => Err(format!("invalid key type from JSON ({other})")),
        }
    }

    fn require_ed25519(&self) -> Result<(), String> {
        match self.fields.get("crv").and_then(|c| c.as_str()) {
            Some("Ed25519") => Ok(()),
            Some(other) => Err(format!("unsupported curve {other:?}")),
            None => Err("required field crv is missing".into()),
        }
    }

    /// `x509.MarshalPKCS8PrivateKey(raw)`.
    fn private_pkcs8(&self) -> Result<Vec<u8>, String> {
        let key = match self.kty.as_str() {
            "RSA" if !self.is_private() => {
                return Err(
                    "x509: unknown key type while marshaling PKCS#8: *rsa.PublicKey".into(),
                );
            }
            "RSA" => {
                let mut parts = vec![der::small_int(0)];
                for f in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
                    parts.push(der::uint(&self.required(f)?));
                }
                PrivateKey::Rsa(der::seq(&parts))
            }
            "EC" if !self.is_private() => {
                return Err(
                    "x509: unknown key type while marshaling PKCS#8: *ecdsa.PublicKey".into(),
                );
            }
            "EC" => {
                let (curve, size) = self.curve()?;
                let d = left_pad(&self.required("d")?, size);
                let sec1 = der::seq(&[
                    der::small_int(1),
                    der::tlv(der::OCTET_STRING, &d),
                    der::explicit(0, &der::oid(curve)),
                    der::explicit(1, &der::bit_string(&self.ec_point(size)?)),
                ]);
                PrivateKey::Ec(sec1, curve.to_vec())
            }
            "OKP" => {
                self.require_ed25519()?;
                if !self.is_private() {
                    return Err(
                        "x509: unknown key type while marshaling PKCS#8: ed25519.PublicKey".into(),
                    );
                }
                let d = self.required("d")?;
                if d.len() != 32 {
                    return Err("invalid Ed25519 private key size".into());
                }
                PrivateKey::Ed25519(d)
            }
            other => return Err(format!("invalid key type from JSON ({other})")),
        };
        Ok(key.to_pkcs8())
    }
}

fn left_pad(b: &[u8], size: usize) -> Vec<u8> {
    if b.len() >= size {
        return b.to_vec();
    }
    let mut out = vec![0u8; size - b.len()];
    out.extend_from_slice(b);
    out
}

// ---- rsaDecrypt ----

fn rsa_decrypt(
    scheme: &str,
    hash: &str,
    input: &[u8],
    private_key: &[u8],
) -> Result<Value, String> {
    match scheme {
        "None" => Ok(Value::from_bytes(input.to_vec())),
        "RSA-OAEP" => {
            let (_, block) = der::first_pem(private_key).ok_or("failed to decode PEM block")?;
            let key = PrivateKey::parse(&block)
                .ok_or("could not parse private key: unable to parse private key type")?;
            if !matches!(key, PrivateKey::Rsa(_)) {
                return Err("could not parse RSA private key".into());
            }
            let dk = PrivateDecryptingKey::from_pkcs8(&key.to_pkcs8())
                .map_err(|_| "could not parse RSA private key")?;
            let oaep =
                OaepPrivateDecryptingKey::new(dk).map_err(|_| "could not parse RSA private key")?;
            let alg = match hash {
                "SHA1" => &OAEP_SHA1_MGF1SHA1,
                "SHA512" => &OAEP_SHA512_MGF1SHA512,
                _ => &OAEP_SHA256_MGF1SHA256,
            };
            let mut out = vec![0u8; oaep.min_output_size()];
            let plain = oaep
                .decrypt(alg, input, &mut out, None)
                .map_err(|_| "error decrypting data with RSA: crypto/rsa: decryption error")?;
            Ok(Value::from_bytes(plain.to_vec()))
        }
        other => Err(format!("decryption scheme {other} is not supported")),
    }
}
