//! Key conversion, rewrite and decoding rules (ESO reference §7).
//!
//! These run on the map a provider returns for `dataFrom[].find`/`extract` (and on generator
//! output) before it lands in the target Secret, in ESO's order: rewrite, else key conversion;
//! then key validation, decoding and the null-byte check. Everything here is pure and
//! deterministic: where Go iterates a map in random order (and the outcome could depend on it, as
//! with colliding rewritten keys) we iterate in sorted key order.

mod convert;
mod decode;
mod go_json;
mod go_regex;
mod merge;
mod rewrite;
mod strategy;

pub use convert::{convert_key, convert_keys, reverse_keys, reverse_unicode, validate_keys};
pub use decode::{check_null_bytes, decode, decode_map};
pub use go_json::{GoJsonValue, parse_go_json_object};
pub use go_regex::{GoRegex, GoRegexError, go_expand};
pub use merge::{MergeSpec, rewrite_merge};
pub use rewrite::{RewriteOp, rewrite_map, rewrite_regexp, rewrite_transform};
pub use strategy::{
    ConversionStrategy, DecodingStrategy, MergeConflictPolicy, MergePriorityPolicy, MergeStrategy,
    NullBytePolicy, PushConversionStrategy, UnknownStrategy,
};

pub use crate::secret_value::SecretMap;

/// Failures of the key rules. Messages follow ESO's wording where ESO has one and never contain
/// secret values (keys are not secret).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Two source keys became the same key after conversion.
    #[error("secret name collision during conversion: {0}")]
    Collision(String),
    /// A key is longer than the 253 bytes Kubernetes allows.
    #[error("key has length {len} but max is 253: (following is truncated): {truncated}")]
    TooLong {
        /// Length in bytes.
        len: usize,
        /// The first 253 bytes of the key.
        truncated: String,
    },
    /// A key contains a character Kubernetes does not allow in Secret keys.
    #[error(
        "key has invalid character {ch}, only alphanumeric, '-', '.' and '_' are allowed: {key} \
         (use dataFrom[].rewrite or conversionStrategy to map it to a valid key)"
    )]
    InvalidCharacter {
        /// The offending character.
        ch: char,
        /// The whole key.
        key: String,
    },
    /// A regexp rewrite source does not compile.
    #[error("regexp failed with failed to compile: {0}")]
    Regex(String),
    /// A transform template failed for one key.
    #[error("transform failed with failed to execute template for key {key:?}: {message}")]
    Transform {
        /// The key being transformed.
        key: String,
        /// The template engine's error.
        message: String,
    },
    /// A merge rewrite failed.
    #[error("merge failed with {0}")]
    Merge(String),
    /// A rewrite operation (by index) failed.
    #[error("failed rewrite operation[{index}]: {source}")]
    Rewrite {
        /// Position in `dataFrom[].rewrite`.
        index: usize,
        /// What went wrong.
        #[source]
        source: Box<KeyError>,
    },
    /// A value could not be decoded with the requested strategy.
    #[error("failure decoding key {key}: {message}")]
    Decode {
        /// The key whose value failed.
        key: String,
        /// Why decoding failed (no value bytes included).
        message: String,
    },
    /// A value contains a NUL byte and `nullBytePolicy` is `Fail`.
    #[error("value of key {key:?} contains a null byte and nullBytePolicy is Fail")]
    NullByte {
        /// The key whose value contains the NUL byte.
        key: String,
    },
}
