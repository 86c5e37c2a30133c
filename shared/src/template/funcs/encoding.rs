//! Sprig encodings, checksums and random identifiers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::{FuncDef, def, i, sv};
use crate::template::value::Value;

pub(crate) static FUNCS: &[FuncDef] = &[
    def!("b64enc", [Str], |a| sv(STANDARD.encode(bytes(&a[0])))),
    def!("b64dec", [Str], |a| Ok(
        match STANDARD.decode(bytes(&a[0])) {
            Ok(b) => Value::from_bytes(b),
            Err(e) => Value::String(go_b64_error(&e)),
        }
    )),
    def!("b32enc", [Str], |a| sv(
        data_encoding::BASE32.encode(&bytes(&a[0]))
    )),
    def!("b32dec", [Str], |a| Ok(
        match data_encoding::BASE32.decode(&bytes(&a[0])) {
            Ok(b) => Value::from_bytes(b),
            Err(e) => Value::String(format!("illegal base32 data at input byte {}", e.position)),
        }
    )),
    def!("hexdec", [Str], |a| Ok(match hex::decode(bytes(&a[0])) {
        Ok(b) => Value::from_bytes(b),
        Err(e) => Value::String(go_hex_error(&e)),
    })),
    def!("sha1sum", [Str], |a| sv(hex::encode(Sha1::digest(bytes(
        &a[0]
    ))))),
    def!("sha256sum", [Str], |a| sv(hex::encode(Sha256::digest(
        bytes(&a[0])
    )))),
    def!("sha512sum", [Str], |a| sv(hex::encode(Sha512::digest(
        bytes(&a[0])
    )))),
    def!("adler32sum", [Str], |a| sv(
        adler32(&bytes(&a[0])).to_string()
    )),
    def!("uuidv4", [], |_| sv(uuid::Uuid::new_v4().to_string())),
    def!("randBytes", [Int], |a| {
        let n = i(&a[0]);
        if n < 0 {
            return Err("len out of range".into());
        }
        let mut buf = vec![0u8; n as usize];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut buf);
        sv(STANDARD.encode(buf))
    }),
];

pub(crate) fn bytes(v: &Value) -> Vec<u8> {
    v.str_bytes().map(<[u8]>::to_vec).unwrap_or_default()
}

pub(crate) fn go_b64_error(e: &base64::DecodeError) -> String {
    let pos = match e {
        base64::DecodeError::InvalidByte(p, _) => *p,
        base64::DecodeError::InvalidLength(p) => *p,
        base64::DecodeError::InvalidLastSymbol(p, _) => *p,
        base64::DecodeError::InvalidPadding => 0,
    };
    format!("illegal base64 data at input byte {pos}")
}

fn go_hex_error(e: &hex::FromHexError) -> String {
    match e {
        hex::FromHexError::InvalidHexCharacter { c, .. } => {
            format!(
                "encoding/hex: invalid byte: {}",
                crate::template::fmt::sharp_u(*c)
            )
        }
        _ => "encoding/hex: odd length hex string".into(),
    }
}

fn adler32(b: &[u8]) -> u32 {
    let (mut a, mut s) = (1u32, 0u32);
    for &c in b {
        a = (a + c as u32) % 65521;
        s = (s + a) % 65521;
    }
    (s << 16) | a
}
