//! The fake provider (`spec.provider.fake`): static values from the store spec plus an in-memory
//! map that PushSecret writes into. Used by tests and demos; flagged NotMaintained like ESO's.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Secret;
use shared::api::v1::{
    ConversionStrategy as ApiConversion, ExternalSecretDataRemoteRef, ExternalSecretFind,
    SecretStoreCapabilities,
};
use shared::api::v1alpha1::PushSecretData;
use shared::keys::{GoRegex, convert_keys};
use shared::secret_value::SecretValue;

use super::metrics::record;
use super::{
    Capabilities, ClientContext, Maintenance, Provider, ProviderError, SecretMap, SecretsClient,
    ValidationResult,
};

const PROVIDER: &str = "Fake";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// From `spec.provider.fake.data`; refreshed on every client build.
    Store,
    /// Written by a PushSecret.
    Pushed,
}

#[derive(Clone)]
struct Entry {
    value: String,
    version: String,
    origin: Origin,
}

/// Entries keyed by `key + version`, as ESO keys them.
type Database = Arc<Mutex<BTreeMap<String, Entry>>>;

/// The fake provider. Pushed values are kept per store UID and shared by all its clients.
#[derive(Default)]
pub struct FakeProvider {
    databases: Mutex<HashMap<String, Database>>,
}

impl FakeProvider {
    pub fn new() -> Self {
        Self::default()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[async_trait]
impl Provider for FakeProvider {
    fn capabilities(&self) -> Capabilities {
        SecretStoreCapabilities::ReadWrite
    }

    fn maintenance(&self) -> Maintenance {
        Maintenance::NotMaintained
    }

    async fn new_client(
        &self,
        ctx: &ClientContext,
    ) -> Result<Box<dyn SecretsClient>, ProviderError> {
        let cfg =
            ctx.store.spec.provider.fake.as_ref().ok_or_else(|| {
                ProviderError::InvalidConfig("missing store provider fake".into())
            })?;
        let db = lock(&self.databases)
            .entry(ctx.store.uid.clone())
            .or_default()
            .clone();
        {
            let mut entries = lock(&db);
            // Spec entries are replaced so edits to the store show up; pushed ones survive.
            entries.retain(|_, e| e.origin == Origin::Pushed);
            for d in &cfg.data {
                let version = d.version.clone().unwrap_or_default();
                entries.insert(
                    format!("{}{}", d.key, version),
                    Entry {
                        value: d.value.clone(),
                        version,
                        origin: Origin::Store,
                    },
                );
            }
        }
        Ok(Box::new(FakeClient {
            db,
            validation_result: cfg.validation_result,
        }))
    }
}

struct FakeClient {
    db: Database,
    validation_result: Option<i64>,
}

impl FakeClient {
    fn lookup(&self, r: &ExternalSecretDataRemoteRef) -> Result<String, ProviderError> {
        let version = r.version.clone().unwrap_or_default();
        let entries = lock(&self.db);
        match entries.get(&format!("{}{}", r.key, version)) {
            Some(e) if e.version == version => Ok(e.value.clone()),
            _ => Err(ProviderError::NoSecret),
        }
    }

    fn read(&self, r: &ExternalSecretDataRemoteRef) -> Result<String, ProviderError> {
        let value = self.lookup(r)?;
        match r.property.as_deref().filter(|p| !p.is_empty()) {
            None => Ok(value),
            Some(path) => shared::gjson::get_string(&value, path)
                .map_err(|e| ProviderError::InvalidConfig(e.to_string()))?
                .ok_or(ProviderError::NoSecret),
        }
    }
}

#[async_trait]
impl SecretsClient for FakeClient {
    async fn get_secret(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretValue, ProviderError> {
        let out = self.read(r).map(SecretValue::from);
        record(PROVIDER, "GetSecret", out.is_ok());
        out
    }

    async fn get_secret_map(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretMap, ProviderError> {
        let out = self.read(r).and_then(|value| {
            // Go unmarshals `null` into a nil map without error.
            if value.trim() == "null" {
                return Ok(SecretMap::new());
            }
            let fields = shared::gjson::object_fields(&value).ok_or_else(|| {
                ProviderError::Other("unable to unmarshal secret: not a JSON object".into())
            })?;
            Ok(fields
                .into_iter()
                .map(|(k, v)| (k, SecretValue::new(v.to_field_bytes())))
                .collect())
        });
        record(PROVIDER, "GetSecretMap", out.is_ok());
        out
    }

    async fn get_all_secrets(&self, find: &ExternalSecretFind) -> Result<SecretMap, ProviderError> {
        let out = (|| {
            let pattern = find
                .name
                .as_ref()
                .and_then(|n| n.regexp.as_deref())
                .ok_or_else(|| {
                    ProviderError::InvalidConfig(
                        "unsupported find operator: the fake provider supports only find.name"
                            .into(),
                    )
                })?;
            let re = GoRegex::new(pattern).map_err(|e| {
                ProviderError::InvalidConfig(format!("invalid find.name.regexp: {e}"))
            })?;
            let mut latest: BTreeMap<String, (String, String)> = BTreeMap::new();
            for (map_key, e) in lock(&self.db).iter() {
                let key = map_key.strip_suffix(e.version.as_str()).unwrap_or(map_key);
                if !re.is_match(key) {
                    continue;
                }
                // ESO compares versions as strings: "10" < "9".
                let newer = latest.get(key).is_none_or(|(v, _)| *v < e.version);
                if newer {
                    latest.insert(key.to_string(), (e.version.clone(), e.value.clone()));
                }
            }
            let map: SecretMap = latest
                .into_iter()
                .map(|(k, (_, v))| (k, SecretValue::from(v)))
                .collect();
            let strategy = match find.conversion_strategy.unwrap_or_default() {
                ApiConversion::Default => shared::keys::ConversionStrategy::Default,
                ApiConversion::Unicode => shared::keys::ConversionStrategy::Unicode,
            };
            convert_keys(strategy, map).map_err(|e| ProviderError::Other(e.to_string()))
        })();
        record(PROVIDER, "GetAllSecrets", out.is_ok());
        out
    }

    async fn push_secret(
        &self,
        secret: &Secret,
        data: &PushSecretData,
    ) -> Result<(), ProviderError> {
        let key = data.match_.secret_key.as_deref().unwrap_or_default();
        let value = secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            .unwrap_or_default();
        let remote = &data.match_.remote_ref.remote_key;
        let mut entries = lock(&self.db);
        let out = match entries.get_mut(remote) {
            None => {
                entries.insert(
                    remote.clone(),
                    Entry {
                        value,
                        version: String::new(),
                        origin: Origin::Pushed,
                    },
                );
                Ok(())
            }
            Some(e) if e.origin == Origin::Pushed => {
                e.value = value;
                Ok(())
            }
            Some(_) => Err(ProviderError::Other("key already exists".into())),
        };
        record(PROVIDER, "PushSecret", out.is_ok());
        out
    }

    async fn delete_secret(&self, _data: &PushSecretData) -> Result<(), ProviderError> {
        // ESO's fake provider keeps pushed values on delete; tests rely on reading them back.
        Ok(())
    }

    async fn secret_exists(&self, data: &PushSecretData) -> Result<bool, ProviderError> {
        Ok(lock(&self.db).contains_key(&data.match_.remote_ref.remote_key))
    }

    async fn validate(&self) -> Result<ValidationResult, ProviderError> {
        match self.validation_result {
            None | Some(0) => Ok(ValidationResult::Ready),
            Some(1) => Ok(ValidationResult::Unknown),
            Some(_) => Err(ProviderError::Other("unable to validate".into())),
        }
    }
}
