//! Password generator: ESO's `Password` kind, with the algorithm of `sethvargo/go-password`.
//!
//! The password has exactly `digits` digits, `symbols` symbols and the rest letters. Letters are
//! drawn first, then digits, then symbols, each uniformly from its alphabet; without
//! `allowRepeat` a character already present anywhere is redrawn; each character is inserted at
//! a uniformly random position of the string built so far.
//!
//! Deliberate differences from ESO, each turning a silent misbehaviour into an error:
//! * `symbolCharacters` must be ASCII (Go indexes it bytewise, so other characters come out as
//!   mangled Latin-1);
//! * negative `digits`/`symbols` are rejected (Go quietly adds them to the letter count);
//! * without repeats, an alphabet whose distinct characters run out (e.g. symbols that repeat
//!   or overlap letters) is an error instead of an endless redraw loop;
//! * `length` is capped at [`MAX_LENGTH`] so a manifest cannot make the controller spin.

use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use rand::Rng;

use super::{GeneratorError, base32_std};
use crate::secret_value::{SecretMap, SecretValue};

/// Length used when `length` is absent or not positive.
pub const DEFAULT_LENGTH: usize = 24;

/// Longest password we generate.
pub const MAX_LENGTH: usize = 8192;

/// Symbols used when `symbolCharacters` is absent or empty.
pub const DEFAULT_SYMBOL_CHARACTERS: &str = "~!@#$%^&*()_+`-={}|[]\\:\"<>?,./";

const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";

/// How the password bytes are written into the Secret.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PasswordEncoding {
    /// As generated.
    #[default]
    Raw,
    /// Standard base64 with padding.
    Base64,
    /// URL-safe base64 with padding.
    Base64Url,
    /// Standard base32 with padding.
    Base32,
    /// Lowercase hex.
    Hex,
}

impl FromStr for PasswordEncoding {
    type Err = GeneratorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "raw" | "" => Self::Raw,
            "base64" => Self::Base64,
            "base64url" => Self::Base64Url,
            "base32" => Self::Base32,
            "hex" => Self::Hex,
            other => {
                return Err(GeneratorError::InvalidSpec(format!(
                    "encoding {other:?} is not one of raw, base64, base64url, base32, hex"
                )));
            }
        })
    }
}

impl PasswordEncoding {
    fn encode(self, bytes: Vec<u8>) -> Vec<u8> {
        match self {
            Self::Raw => bytes,
            Self::Base64 => STANDARD.encode(bytes).into_bytes(),
            Self::Base64Url => URL_SAFE.encode(bytes).into_bytes(),
            Self::Base32 => base32_std(&bytes).into_bytes(),
            Self::Hex => hex::encode(bytes).into_bytes(),
        }
    }
}

/// The Password generator's parameters, as in the CRD (`spec` of `Password`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PasswordSpec {
    /// Total length; absent or `<= 0` means 24.
    pub length: Option<i64>,
    /// Exact number of digits; absent means `int(length * 0.25)`.
    pub digits: Option<i64>,
    /// Exact number of symbols; absent means `int(length * 0.25)`.
    pub symbols: Option<i64>,
    /// Symbol alphabet; absent or empty means [`DEFAULT_SYMBOL_CHARACTERS`].
    pub symbol_characters: Option<String>,
    /// Only lowercase letters.
    pub no_upper: bool,
    /// Allow a character to occur more than once.
    pub allow_repeat: bool,
    /// Keys to fill, each with its own password; absent means `["password"]`.
    pub secret_keys: Option<Vec<String>>,
    /// Output encoding (`raw`, `base64`, `base64url`, `base32`, `hex`); absent means raw.
    pub encoding: Option<String>,
}

/// Counts and alphabets after defaulting and validation.
struct Plan<'a> {
    length: usize,
    digits: usize,
    symbols: usize,
    symbol_chars: &'a [u8],
    no_upper: bool,
    allow_repeat: bool,
}

fn count(value: Option<i64>, default: usize, field: &str) -> Result<usize, GeneratorError> {
    match value {
        None => Ok(default),
        Some(n) => usize::try_from(n).map_err(|_| {
            GeneratorError::InvalidSpec(format!("{field} must not be negative, got {n}"))
        }),
    }
}

impl<'a> Plan<'a> {
    fn new(spec: &'a PasswordSpec) -> Result<Self, GeneratorError> {
        let length = match spec.length {
            Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => DEFAULT_LENGTH,
        };
        if length > MAX_LENGTH {
            return Err(GeneratorError::InvalidSpec(format!(
                "length {length} exceeds the maximum of {MAX_LENGTH}"
            )));
        }
        // ESO computes the default in float32 and truncates.
        let quarter = (length as f32 * 0.25) as usize;
        let symbol_chars = match spec.symbol_characters.as_deref() {
            None | Some("") => DEFAULT_SYMBOL_CHARACTERS,
            Some(s) => s,
        };
        if !symbol_chars.is_ascii() {
            return Err(GeneratorError::InvalidSpec(
                "symbolCharacters must contain only ASCII characters".to_string(),
            ));
        }
        Ok(Self {
            length,
            digits: count(spec.digits, quarter, "digits")?,
            symbols: count(spec.symbols, quarter, "symbols")?,
            symbol_chars: symbol_chars.as_bytes(),
            no_upper: spec.no_upper,
            allow_repeat: spec.allow_repeat,
        })
    }
}

/// go-password's `Generate(length, digits, symbols, noUpper, allowRepeat)` with a given symbol
/// alphabet. Returns the raw (unencoded) password.
pub fn password_bytes<R: Rng + ?Sized>(
    spec: &PasswordSpec,
    rng: &mut R,
) -> Result<Vec<u8>, GeneratorError> {
    generate_one(&Plan::new(spec)?, rng)
}

fn generate_one<R: Rng + ?Sized>(plan: &Plan<'_>, rng: &mut R) -> Result<Vec<u8>, GeneratorError> {
    let letters: Vec<u8> = if plan.no_upper {
        LOWER.to_vec()
    } else {
        [LOWER, UPPER].concat()
    };
    let Some(chars) = plan
        .digits
        .checked_add(plan.symbols)
        .and_then(|n| plan.length.checked_sub(n))
    else {
        return Err(GeneratorError::Impossible(
            "number of digits and symbols must be less than total length".to_string(),
        ));
    };
    if !plan.allow_repeat {
        let checks = [
            (chars, letters.len(), "letters"),
            (plan.digits, DIGITS.len(), "digits"),
            (plan.symbols, plan.symbol_chars.len(), "symbols"),
        ];
        for (wanted, available, what) in checks {
            if wanted > available {
                return Err(GeneratorError::Impossible(format!(
                    "number of {what} exceeds available {what} and repeats are not allowed"
                )));
            }
        }
    }

    let mut result: Vec<u8> = Vec::with_capacity(plan.length);
    for (n, alphabet, what) in [
        (chars, letters.as_slice(), "letters"),
        (plan.digits, DIGITS, "digits"),
        (plan.symbols, plan.symbol_chars, "symbols"),
    ] {
        for _ in 0..n {
            if !plan.allow_repeat && alphabet.iter().all(|c| result.contains(c)) {
                // go-password would redraw forever here (duplicate or overlapping alphabets).
                return Err(GeneratorError::Impossible(format!(
                    "not enough distinct {what} left and repeats are not allowed"
                )));
            }
            let ch = loop {
                let candidate = alphabet[rng.random_range(0..alphabet.len())];
                if plan.allow_repeat || !result.contains(&candidate) {
                    break candidate;
                }
            };
            let position = if result.is_empty() {
                0
            } else {
                rng.random_range(0..=result.len())
            };
            result.insert(position, ch);
        }
    }
    Ok(result)
}

/// The Password generator: one independent password per secret key, encoded as requested.
pub fn generate_password<R: Rng + ?Sized>(
    spec: &PasswordSpec,
    rng: &mut R,
) -> Result<SecretMap, GeneratorError> {
    let plan = Plan::new(spec)?;
    let encoding: PasswordEncoding = spec.encoding.as_deref().unwrap_or("raw").parse()?;
    let default_keys = ["password".to_string()];
    let keys: &[String] = match &spec.secret_keys {
        None => &default_keys,
        Some(keys) if keys.is_empty() => {
            return Err(GeneratorError::InvalidSpec(
                "secretKeys must list at least one key".to_string(),
            ));
        }
        Some(keys) => keys,
    };
    let mut out = SecretMap::new();
    for (i, key) in keys.iter().enumerate() {
        if key.is_empty() {
            return Err(GeneratorError::InvalidSpec(format!(
                "secretKeys[{i}] must not be empty"
            )));
        }
        if out.contains_key(key) {
            return Err(GeneratorError::InvalidSpec(format!(
                "secretKeys[{i}] duplicates the key {key:?}"
            )));
        }
        let password = generate_one(&plan, rng)?;
        out.insert(key.clone(), SecretValue::from(encoding.encode(password)));
    }
    Ok(out)
}
