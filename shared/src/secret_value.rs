//! A wrapper for secret bytes that never prints its contents.
//!
//! Every value fetched from a provider or produced by a generator travels in a [`SecretValue`], so
//! a stray `{:?}` in a log line, an error or a status message shows `<redacted>` instead of the
//! secret. Getting at the bytes is always an explicit call (`as_bytes`, `into_vec`, `expose_str`).

use std::collections::BTreeMap;
use std::fmt;

/// Key/value secret data as it flows from providers and generators to the target Secret.
pub type SecretMap = BTreeMap<String, SecretValue>;

/// Text printed instead of a secret value.
pub const REDACTED: &str = "<redacted>";

/// Owned secret bytes whose `Debug` and `Display` never reveal them.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct SecretValue(Vec<u8>);

impl SecretValue {
    /// Wraps the given bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The secret bytes. Callers take responsibility for not logging them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Unwraps into the owned bytes.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }

    /// The value as UTF-8 text, if it is valid UTF-8.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Number of bytes (not secret: Kubernetes shows sizes too).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the value contains a NUL byte (`nullBytePolicy: Fail`).
    pub fn contains_nul(&self) -> bool {
        self.0.contains(&0)
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<Vec<u8>> for SecretValue {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl From<String> for SecretValue {
    fn from(text: String) -> Self {
        Self(text.into_bytes())
    }
}

impl From<&str> for SecretValue {
    fn from(text: &str) -> Self {
        Self(text.as_bytes().to_vec())
    }
}

impl From<&[u8]> for SecretValue {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl From<SecretValue> for Vec<u8> {
    fn from(value: SecretValue) -> Self {
        value.0
    }
}

impl AsRef<[u8]> for SecretValue {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_bytes() {
        let value = SecretValue::from("hunter2");
        assert_eq!(format!("{value:?}"), "<redacted>");
        assert_eq!(format!("{value}"), "<redacted>");
        assert_eq!(format!("{value:#?}"), "<redacted>");
        assert!(!format!("{:?}", Some(&value)).contains("hunter2"));
    }

    #[test]
    fn containers_of_secret_values_stay_redacted() {
        let map = BTreeMap::from([("password".to_string(), SecretValue::from("hunter2"))]);
        let printed = format!("{map:?}");
        assert_eq!(printed, r#"{"password": <redacted>}"#);
        let bytes = SecretValue::from(vec![104u8, 117, 110]);
        assert!(!format!("{bytes:?}").contains("104"));
    }

    #[test]
    fn bytes_round_trip_unchanged() {
        let raw = vec![0u8, 255, 10, 13];
        let value = SecretValue::from(raw.clone());
        assert_eq!(value.as_bytes(), raw.as_slice());
        assert_eq!(value.len(), 4);
        assert!(value.contains_nul());
        assert_eq!(value.expose_str(), None);
        assert_eq!(value.into_vec(), raw);
        assert_eq!(SecretValue::from("é".to_string()).expose_str(), Some("é"));
        assert!(SecretValue::default().is_empty());
    }
}
