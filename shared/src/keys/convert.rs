//! ConvertKeys, ReverseKeys and ValidateKeys.

use std::sync::LazyLock;

use regex::Regex;

use super::{ConversionStrategy, KeyError, PushConversionStrategy, SecretMap};

// Go's `unicode.IsLetter` is the general category L and `unicode.IsNumber` the category N; Rust's
// `char::is_alphabetic` is wider (it includes e.g. combining marks), so we ask the regex crate's
// Unicode tables instead.
static LETTER_OR_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[\p{L}\p{N}]$").unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

static UNICODE_ESCAPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"_U([0-9a-fA-F]{4,5})_").unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Go `unicode.IsLetter(c) || unicode.IsNumber(c)`.
pub(crate) fn is_go_letter_or_number(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    let mut buf = [0u8; 4];
    LETTER_OR_NUMBER.is_match(c.encode_utf8(&mut buf))
}

fn is_valid_key_char(c: char) -> bool {
    c == '-' || c == '.' || c == '_' || is_go_letter_or_number(c)
}

/// Converts one key: every character that is not a letter, number, `-`, `.` or `_` becomes `_`
/// (`Default`) or `_U<hex>_` with at least four lowercase hex digits (`Unicode`).
pub fn convert_key(strategy: ConversionStrategy, key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if is_valid_key_char(c) {
            out.push(c);
        } else {
            match strategy {
                ConversionStrategy::Default => out.push('_'),
                ConversionStrategy::Unicode => out.push_str(&format!("_U{:04x}_", c as u32)),
            }
        }
    }
    out
}

/// ESO `ConvertKeys`: converts every key; two keys converting to the same result is an error.
pub fn convert_keys(strategy: ConversionStrategy, input: SecretMap) -> Result<SecretMap, KeyError> {
    let mut out = SecretMap::new();
    for (key, value) in input {
        let converted = convert_key(strategy, &key);
        if out.contains_key(&converted) {
            return Err(KeyError::Collision(converted));
        }
        out.insert(converted, value);
    }
    Ok(out)
}

/// Replaces every `_U<4-5 hex digits>_` with that code point (surrogates become U+FFFD, as
/// Go's `%c` prints them).
pub fn reverse_unicode(key: &str) -> String {
    UNICODE_ESCAPE
        .replace_all(key, |caps: &regex::Captures<'_>| {
            let code = u32::from_str_radix(&caps[1], 16).unwrap_or(0xfffd);
            char::from_u32(code).unwrap_or('\u{fffd}').to_string()
        })
        .into_owned()
}

/// ESO `ReverseKeys` (PushSecret `conversionStrategy`); collisions are an error.
pub fn reverse_keys(
    strategy: PushConversionStrategy,
    input: SecretMap,
) -> Result<SecretMap, KeyError> {
    if strategy == PushConversionStrategy::None {
        return Ok(input);
    }
    let mut out = SecretMap::new();
    for (key, value) in input {
        let reversed = reverse_unicode(&key);
        if out.contains_key(&reversed) {
            return Err(KeyError::Collision(reversed));
        }
        out.insert(reversed, value);
    }
    Ok(out)
}

/// ESO `ValidateKeys`: drops empty keys (a provider entry without a name), then rejects keys
/// over 253 bytes or with characters outside letters, numbers, `-`, `.`, `_`.
///
/// Like ESO this accepts non-ASCII letters, which the API server will later reject; keeping the
/// same rule means the same ExternalSecrets fail in the same place.
pub fn validate_keys(map: &mut SecretMap) -> Result<(), KeyError> {
    map.remove("");
    for key in map.keys() {
        if key.len() > 253 {
            return Err(KeyError::TooLong {
                len: key.len(),
                truncated: String::from_utf8_lossy(&key.as_bytes()[..253]).into_owned(),
            });
        }
        if let Some(ch) = key.chars().find(|&c| !is_valid_key_char(c)) {
            return Err(KeyError::InvalidCharacter {
                ch,
                key: key.clone(),
            });
        }
    }
    Ok(())
}
