//! Value decoding strategies and the null-byte policy.
//!
//! ESO decodes with Go's `base64.StdEncoding` / `URLEncoding`: padding is required, trailing
//! bits need not be zero, and `\r`/`\n` anywhere in the input are ignored. We reproduce exactly
//! that acceptance set (checked against Go in `keys_oracle`).

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::{DecodingStrategy, KeyError, NullBytePolicy, SecretMap};
use crate::secret_value::SecretValue;

const GO_CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(true)
    .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
    .with_decode_allow_trailing_bits(true);

const GO_STD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, GO_CONFIG);
const GO_URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, GO_CONFIG);

fn go_base64_decode(engine: &GeneralPurpose, input: &[u8]) -> Result<Vec<u8>, String> {
    // Go's decoder skips newlines wherever they occur, including inside the padding.
    let cleaned: Vec<u8> = input
        .iter()
        .copied()
        .filter(|&b| b != b'\n' && b != b'\r')
        .collect();
    // Only the error *kind* is reported; base64 errors may quote an input byte, which could be
    // part of a secret.
    engine.decode(&cleaned).map_err(|e| match e {
        base64::DecodeError::InvalidByte(offset, _) => {
            format!("illegal base64 data at input byte {offset}")
        }
        base64::DecodeError::InvalidLength(_) => "illegal base64 data: invalid length".to_string(),
        base64::DecodeError::InvalidLastSymbol(offset, _) => {
            format!("illegal base64 data at input byte {offset}")
        }
        base64::DecodeError::InvalidPadding => "illegal base64 data: invalid padding".to_string(),
    })
}

/// ESO `Decode`: applies one decoding strategy to a value. `Auto` tries standard base64, then
/// URL-safe base64, and otherwise keeps the value unchanged.
pub fn decode(strategy: DecodingStrategy, value: &[u8]) -> Result<Vec<u8>, String> {
    match strategy {
        DecodingStrategy::None => Ok(value.to_vec()),
        DecodingStrategy::Base64 => go_base64_decode(&GO_STD, value),
        DecodingStrategy::Base64Url => go_base64_decode(&GO_URL, value),
        DecodingStrategy::Auto => Ok(go_base64_decode(&GO_STD, value)
            .or_else(|_| go_base64_decode(&GO_URL, value))
            .unwrap_or_else(|_| value.to_vec())),
    }
}

/// ESO `DecodeMap`: decodes every value; the first failure (in key order) names its key.
pub fn decode_map(strategy: DecodingStrategy, input: SecretMap) -> Result<SecretMap, KeyError> {
    if strategy == DecodingStrategy::None {
        return Ok(input);
    }
    input
        .into_iter()
        .map(|(key, value)| match decode(strategy, value.as_bytes()) {
            Ok(decoded) => Ok((key, SecretValue::from(decoded))),
            Err(message) => Err(KeyError::Decode { key, message }),
        })
        .collect()
}

/// `nullBytePolicy: Fail` check over a map, in sorted key order.
pub fn check_null_bytes(policy: NullBytePolicy, map: &SecretMap) -> Result<(), KeyError> {
    if policy == NullBytePolicy::Ignore {
        return Ok(());
    }
    match map.iter().find(|(_, value)| value.contains_nul()) {
        Some((key, _)) => Err(KeyError::NullByte { key: key.clone() }),
        None => Ok(()),
    }
}
