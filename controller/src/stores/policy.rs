//! Namespace policy (role and key annotations) as the controller re-checks it at reconcile time.
//!
//! Admission already denied what the policy forbade when an object was written, but annotations
//! change afterwards and ClusterSecretStores are shared: every store role is checked against the
//! namespace of the object that wants a client, right before the client is handed out, so a role
//! the namespace does not permit is never assumed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::core::PartialObjectMeta;
use shared::api::v1::SecretStoreSpec;
use shared::policy::{NamespacePolicy, PolicyViolation};

/// How long a namespace's annotations are reused before they are read again. Short, because
/// tightening a policy should take effect quickly; reads happen only for stores that assume roles.
pub const POLICY_TTL: Duration = Duration::from_secs(10);

/// Policies by namespace, with the time they were read.
type PolicyCache = HashMap<String, (Arc<NamespacePolicy>, Instant)>;

/// Reads namespace policies through the API (metadata only) with a short-lived cache.
/// Without a client every namespace allows everything (offline `render`, unit tests).
#[derive(Clone)]
pub struct NamespacePolicies {
    client: Option<kube::Client>,
    require: bool,
    cache: Arc<Mutex<PolicyCache>>,
}

impl NamespacePolicies {
    /// Policies read from the cluster; `require` is `--require-namespace-policy`.
    pub fn new(client: kube::Client, require: bool) -> Self {
        Self {
            client: Some(client),
            require,
            cache: Arc::default(),
        }
    }

    /// Every namespace permits everything.
    pub fn allow_all() -> Self {
        Self {
            client: None,
            require: false,
            cache: Arc::default(),
        }
    }

    /// The policy of `namespace`. A namespace that does not exist has no annotations.
    pub async fn policy(&self, namespace: &str) -> Result<Arc<NamespacePolicy>, kube::Error> {
        let Some(client) = &self.client else {
            return Ok(Arc::new(NamespacePolicy::allow_all(namespace)));
        };
        if let Some((p, at)) = self.lock().get(namespace)
            && at.elapsed() < POLICY_TTL
        {
            return Ok(p.clone());
        }
        let meta: Option<PartialObjectMeta<Namespace>> = Api::<Namespace>::all(client.clone())
            .get_metadata_opt(namespace)
            .await?;
        let annotations = meta
            .and_then(|m| m.metadata.annotations)
            .unwrap_or_default();
        let policy = Arc::new(NamespacePolicy::from_annotations(
            namespace,
            &annotations,
            self.require,
        ));
        self.lock()
            .insert(namespace.to_string(), (policy.clone(), Instant::now()));
        Ok(policy)
    }

    /// Checks every role `spec` would assume against `namespace`'s policy. Stores without roles
    /// cost no API read.
    pub async fn check_store(
        &self,
        spec: &SecretStoreSpec,
        namespace: &str,
    ) -> Result<(), PolicyCheckError> {
        if shared::validation::policy::store_roles(spec).is_empty() {
            return Ok(());
        }
        let policy = self
            .policy(namespace)
            .await
            .map_err(PolicyCheckError::Read)?;
        shared::validation::policy::check_store_roles(spec, &policy)
            .map_err(PolicyCheckError::Violation)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PolicyCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why a store could not be cleared by the namespace policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyCheckError {
    /// The namespace could not be read (fail closed: no client is handed out).
    #[error("reading namespace policy: {0}")]
    Read(#[source] kube::Error),
    /// A role is not permitted.
    #[error(transparent)]
    Violation(PolicyViolation),
}
