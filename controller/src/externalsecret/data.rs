//! Provider data assembly (ESO `externalsecret_controller_secret.go`, reference §4.1.2).
//!
//! `dataFrom[]` entries are applied in order (later keys overwrite earlier ones), then `data[]`
//! (which overwrites everything). Stores and generators are reached through [`Sources`], so
//! the same code runs in the reconciler, in `controller render` and in unit tests.

use std::sync::Arc;

use async_trait::async_trait;
use shared::api::v1::{
    DeletionPolicy, ExternalSecret, ExternalSecretDataRemoteRef, ExternalSecretRewrite,
    GeneratorRef, SecretStoreRef,
};
use shared::keys::{self, KeyError, MergeSpec, RewriteOp, SecretMap};
use shared::policy::{NamespacePolicy, PolicyViolation};
use shared::secret_value::SecretValue;
use shared::template::eso::render_rewrite_transform;

use super::strategies::{
    conversion, decoding, merge_conflict, merge_priority, merge_strategy, null_bytes,
};
use crate::provider::{ProviderError, SecretsClient};

/// Where a store or generator lookup failed, with ESO's message text.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The store does not exist, is unmanaged, not allowed here or not ready.
    #[error("{0}")]
    Store(String),
    /// The store's client could not be built or the provider failed.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The generator could not be read or run.
    #[error("{0}")]
    Generator(String),
}

/// Access to stores and generators for one reconcile.
#[async_trait]
pub trait Sources: Send + Sync {
    /// A client for `store` as seen from `namespace` (already past the flood gate and the
    /// ClusterSecretStore conditions).
    async fn client(
        &self,
        store: &SecretStoreRef,
        namespace: &str,
    ) -> Result<Arc<dyn SecretsClient>, SourceError>;

    /// Runs the generator `generator` from `namespace`.
    async fn generate(
        &self,
        generator: &GeneratorRef,
        namespace: &str,
    ) -> Result<SecretMap, SourceError>;
}

/// Why provider data could not be assembled. Messages never contain secret values.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The namespace policy forbids a remote key; no provider call was made for it.
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    /// An entry names no store and the ExternalSecret has no secretStoreRef.
    #[error("{0}: no secretStoreRef and no sourceRef.storeRef")]
    NoStore(String),
    /// A store, provider or generator failed.
    #[error("{what}: {source}")]
    Source {
        /// Which entry (`spec.data[0]`, `spec.dataFrom[1]`).
        what: String,
        /// The failure.
        #[source]
        source: Box<SourceError>,
    },
    /// Key conversion, rewrite, validation or decoding failed.
    #[error("{what}: {source}")]
    Keys {
        /// Which entry.
        what: String,
        /// The failure.
        #[source]
        source: KeyError,
    },
}

impl FetchError {
    /// Condition reason for this error: `PolicyViolation` for policy denials, else ESO's
    /// `SecretSyncedError`.
    pub fn reason(&self) -> &'static str {
        match self {
            FetchError::Policy(_) => shared::policy::POLICY_VIOLATION_REASON,
            FetchError::Source { source, .. }
                if matches!(**source, SourceError::Provider(ProviderError::Policy(_))) =>
            {
                shared::policy::POLICY_VIOLATION_REASON
            }
            _ => shared::api::v1::REASON_SECRET_SYNCED_ERROR,
        }
    }
}

/// The assembled data plus the `MissingProviderSecret` events to emit.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Final key/value map.
    pub data: SecretMap,
    /// One message per entry skipped because the provider had no such secret.
    pub missing: Vec<String>,
}

/// Checks every remote key the ExternalSecret names against the namespace policy, before any
/// provider is called.
pub fn check_policy(es: &ExternalSecret, policy: &NamespacePolicy) -> Result<(), PolicyViolation> {
    for item in es.spec.data_items() {
        policy.check_key(&item.remote_ref.key)?;
    }
    for item in es.spec.data_from_items() {
        if let Some(extract) = &item.extract {
            policy.check_key(&extract.key)?;
        }
    }
    Ok(())
}

fn to_ops(rewrites: &[ExternalSecretRewrite]) -> Vec<RewriteOp> {
    rewrites
        .iter()
        .filter_map(|r| {
            if let Some(re) = &r.regexp {
                Some(RewriteOp::Regexp {
                    source: re.source.clone(),
                    target: re.target.clone(),
                })
            } else if let Some(t) = &r.transform {
                Some(RewriteOp::Transform {
                    template: t.template.clone(),
                })
            } else {
                r.merge.as_ref().map(|m| {
                    RewriteOp::Merge(MergeSpec {
                        into: m.into.clone().unwrap_or_default(),
                        priority: m.priority.clone().unwrap_or_default(),
                        priority_policy: merge_priority(m.priority_policy),
                        conflict_policy: merge_conflict(m.conflict_policy),
                        strategy: merge_strategy(m.strategy),
                    })
                })
            }
        })
        .collect()
}

fn rewrite(rewrites: &[ExternalSecretRewrite], map: SecretMap) -> Result<SecretMap, KeyError> {
    let ops = to_ops(rewrites);
    keys::rewrite_map(&ops, render_rewrite_transform, map)
}

fn store_for<'a>(
    es: &'a ExternalSecret,
    own: Option<&'a SecretStoreRef>,
    what: &str,
) -> Result<&'a SecretStoreRef, FetchError> {
    own.or(es.spec.secret_store_ref.as_ref())
        .ok_or_else(|| FetchError::NoStore(what.to_string()))
}

fn missing_message(what: &str, key: &str) -> String {
    format!("secret does not exist at provider using {what} (key={key})")
}

/// Fetches and assembles all data of `es`.
pub async fn fetch(
    es: &ExternalSecret,
    sources: &dyn Sources,
    policy: &NamespacePolicy,
) -> Result<Fetched, FetchError> {
    check_policy(es, policy)?;
    let ns = es.metadata.namespace.as_deref().unwrap_or_default();
    let retain = es.spec.effective_deletion_policy() == DeletionPolicy::Retain;
    let mut out = Fetched::default();
    let keys_err = |what: &str| {
        let what = what.to_string();
        move |source| FetchError::Keys { what, source }
    };

    for (i, item) in es.spec.data_from_items().iter().enumerate() {
        let what = format!("spec.dataFrom[{i}]");
        let source_err = |source: SourceError| FetchError::Source {
            what: what.clone(),
            source: Box::new(source),
        };
        let rewrites = item.rewrite.as_deref().unwrap_or_default();
        if let Some(generator) = item
            .source_ref
            .as_ref()
            .and_then(|s| s.generator_ref.as_ref())
        {
            let generated = sources.generate(generator, ns).await.map_err(source_err)?;
            let mut map = rewrite(rewrites, generated).map_err(keys_err(&what))?;
            keys::validate_keys(&mut map).map_err(keys_err(&what))?;
            out.data.extend(map);
            continue;
        }
        let store = store_for(
            es,
            item.source_ref.as_ref().and_then(|s| s.store_ref.as_ref()),
            &what,
        )?;
        let client = sources.client(store, ns).await.map_err(source_err)?;
        let (result, conv, dec, nul, key) = if let Some(extract) = &item.extract {
            (
                client.get_secret_map(extract).await,
                extract.conversion_strategy,
                extract.decoding_strategy,
                extract.null_byte_policy,
                extract.key.clone(),
            )
        } else if let Some(find) = &item.find {
            (
                client.get_all_secrets(find).await,
                find.conversion_strategy,
                find.decoding_strategy,
                find.null_byte_policy,
                String::new(),
            )
        } else {
            continue;
        };
        let map = match result {
            Ok(map) => map,
            Err(ProviderError::NoSecret) if !retain => {
                out.missing.push(missing_message(&what, &key));
                continue;
            }
            Err(e) => return Err(source_err(SourceError::Provider(e))),
        };
        if item.find.is_some() {
            for name in map.keys() {
                policy.check_key(name)?;
            }
        }
        let mut map = if rewrites.is_empty() {
            keys::convert_keys(conversion(conv), map).map_err(keys_err(&what))?
        } else {
            rewrite(rewrites, map).map_err(keys_err(&what))?
        };
        keys::validate_keys(&mut map).map_err(keys_err(&what))?;
        let map = keys::decode_map(decoding(dec), map).map_err(keys_err(&what))?;
        keys::check_null_bytes(null_bytes(nul), &map).map_err(keys_err(&what))?;
        out.data.extend(map);
    }

    for (i, item) in es.spec.data_items().iter().enumerate() {
        let what = format!("spec.data[{i}]");
        let store = store_for(
            es,
            item.source_ref.as_ref().and_then(|s| s.store_ref.as_ref()),
            &what,
        )?;
        let client = sources
            .client(store, ns)
            .await
            .map_err(|source| FetchError::Source {
                what: what.clone(),
                source: Box::new(source),
            })?;
        let value = match client.get_secret(&item.remote_ref).await {
            Ok(v) => v,
            Err(ProviderError::NoSecret) if !retain => {
                // ESO's wording names dataFrom here too; we name the entry that was skipped.
                out.missing
                    .push(missing_message(&what, &item.remote_ref.key));
                continue;
            }
            Err(e) => {
                return Err(FetchError::Source {
                    what,
                    source: Box::new(SourceError::Provider(e)),
                });
            }
        };
        let single =
            decode_one(&item.remote_ref, &item.secret_key, value).map_err(keys_err(&what))?;
        out.data.extend(single);
    }
    Ok(out)
}

fn decode_one(
    r: &ExternalSecretDataRemoteRef,
    secret_key: &str,
    value: SecretValue,
) -> Result<SecretMap, KeyError> {
    let map = SecretMap::from([(secret_key.to_string(), value)]);
    let map = keys::decode_map(decoding(r.decoding_strategy), map)?;
    keys::check_null_bytes(null_bytes(r.null_byte_policy), &map)?;
    Ok(map)
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
