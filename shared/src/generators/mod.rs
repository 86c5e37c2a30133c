//! Stateless generators (ESO reference §6.1/§6.2): Password, UUID and Fake.
//!
//! Each takes a plain spec struct (the controller maps the CRD types onto it) and a random number
//! generator, and returns the generated key/value map. Production code passes [`secure_rng`];
//! tests pass a seeded generator so results are reproducible.

mod encoding;
mod password;

use std::collections::BTreeMap;

use rand::TryRngCore as _;
use rand::rngs::OsRng;

use crate::secret_value::{SecretMap, SecretValue};

pub use encoding::base32_std;
pub use password::{
    DEFAULT_LENGTH, DEFAULT_SYMBOL_CHARACTERS, MAX_LENGTH, PasswordEncoding, PasswordSpec,
    generate_password, password_bytes,
};

/// A generator spec that cannot produce a value. Messages never include generated values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GeneratorError {
    /// A field has a value the generator does not accept.
    #[error("invalid generator spec: {0}")]
    InvalidSpec(String),
    /// The requested counts cannot be satisfied (go-password's wording).
    #[error("{0}")]
    Impossible(String),
}

/// The operating system's CSPRNG, for production use.
///
/// The OS generator only fails if the kernel's random source is unavailable, which no supported
/// platform allows after boot; `rand` turns that into a panic, which is the right outcome for a
/// process asked to mint secrets without entropy.
pub fn secure_rng() -> impl rand::CryptoRng {
    OsRng.unwrap_err()
}

/// UUID generator: one random (version 4) UUID under the key `uuid`.
pub fn generate_uuid<R: rand::Rng + ?Sized>(rng: &mut R) -> SecretMap {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    SecretMap::from([(
        "uuid".to_string(),
        SecretValue::from(id.hyphenated().to_string()),
    )])
}

/// Fake generator spec: the output is exactly `data`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FakeSpec {
    /// Key/value pairs to return.
    pub data: BTreeMap<String, String>,
}

/// Fake generator: returns its configured data unchanged.
pub fn generate_fake(spec: &FakeSpec) -> SecretMap {
    spec.data
        .iter()
        .map(|(k, v)| (k.clone(), SecretValue::from(v.as_str())))
        .collect()
}
