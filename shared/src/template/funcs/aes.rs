//! Sprig `encryptAES` / `decryptAES`: AES-256-CBC, key = password zero-padded or truncated to 32
//! bytes, PKCS#7 padding, random IV prepended, standard base64. Interoperates with sprig's output
//! (checked against Go's crypto/aes in `tests/template_crypto.rs`).

use aws_lc_rs::cipher::{
    AES_256, DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{FuncDef, def, sv};
use crate::template::value::Value;

pub(crate) static FUNCS: &[FuncDef] = &[
    def!("encryptAES", [Str, Str], |a| encrypt(
        str_bytes(&a[0]),
        str_bytes(&a[1])
    )),
    def!("decryptAES", [Str, Str], |a| decrypt(
        str_bytes(&a[0]),
        str_bytes(&a[1])
    )),
];

const BLOCK: usize = 16;

fn str_bytes(v: &Value) -> &[u8] {
    v.str_bytes().unwrap_or_default()
}

fn key_of(password: &[u8]) -> Result<UnboundCipherKey, String> {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password[..n]);
    UnboundCipherKey::new(&AES_256, &key).map_err(|_| "crypto/aes: invalid key".to_string())
}

fn encrypt(password: &[u8], plaintext: &[u8]) -> Result<Value, String> {
    if plaintext.is_empty() {
        return sv("");
    }
    let pad = BLOCK - plaintext.len() % BLOCK;
    let mut content = plaintext.to_vec();
    content.extend(std::iter::repeat_n(pad as u8, pad));
    let mut iv = [0u8; BLOCK];
    aws_lc_rs::rand::fill(&mut iv).map_err(|_| "crypto/rand: read failed".to_string())?;
    // Sprig pads itself; aws-lc's unpadded CBC mode then sees whole blocks only.
    let key = EncryptingKey::cbc(key_of(password)?).map_err(|_| "crypto/aes: cbc".to_string())?;
    key.less_safe_encrypt(
        &mut content,
        EncryptionContext::Iv128(FixedLength::from(iv)),
    )
    .map_err(|_| "crypto/cipher: encryption failed".to_string())?;
    let mut out = iv.to_vec();
    out.extend_from_slice(&content);
    sv(STANDARD.encode(out))
}

fn decrypt(password: &[u8], crypt64: &[u8]) -> Result<Value, String> {
    if crypt64.is_empty() {
        return sv("");
    }
    let crypt = STANDARD
        .decode(crypt64)
        .map_err(|e| super::encoding::go_b64_error(&e))?;
    // Go panics on these inputs; the template engine reports the panic as an error.
    if crypt.len() < BLOCK {
        return Err(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt.len()
        ));
    }
    let (iv, body) = crypt.split_at(BLOCK);
    if body.len() % BLOCK != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    if body.is_empty() {
        return Err("runtime error: index out of range [-1]".into());
    }
    let mut iv_arr = [0u8; BLOCK];
    iv_arr.copy_from_slice(iv);
    let mut data = body.to_vec();
    let key = DecryptingKey::cbc(key_of(password)?).map_err(|_| "crypto/aes: cbc".to_string())?;
    let plain = key
        .decrypt(
            &mut data,
            DecryptionContext::Iv128(FixedLength::from(iv_arr)),
        )
        .map_err(|_| "crypto/cipher: decryption failed".to_string())?;
    // Sprig strips as many bytes as the last byte says, without validating the padding.
    let pad = plain[plain.len() - 1] as usize;
    if pad > plain.len() {
        return Err(format!(
            "runtime error: slice bounds out of range [:{}]",
            plain.len() as i64 - pad as i64
        ));
    }
    Ok(Value::from_bytes(plain[..plain.len() - pad].to_vec()))
}
