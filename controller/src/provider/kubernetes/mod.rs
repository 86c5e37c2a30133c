//! The Kubernetes provider (`spec.provider.kubernetes`): Secrets in `remoteNamespace` of this or
//! another cluster, reached with a bearer token, a ServiceAccount token, a client certificate or
//! a kubeconfig from a Secret.
//!
//! Differences from ESO, on purpose: a missing Secret is `NoSecret` for every read (ESO returns
//! the raw NotFound from `data[]` reads); `extract` with a `property` unquotes string fields like
//! the fake provider instead of keeping them JSON-quoted; a push with `secretKey` and no
//! `property` writes the same key name (ESO refuses); pushed Secrets carry
//! [`MANAGED_LABEL`] and pushes/deletes never touch a Secret without it.

mod connect;
mod push;
mod read;

use async_trait::async_trait;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    SelfSubjectRulesReview, SelfSubjectRulesReviewSpec,
};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::PostParams;
use shared::api::v1::{
    ExternalSecretDataRemoteRef, ExternalSecretFind, SecretStoreCapabilities, SecretStoreKind,
};
use shared::api::v1alpha1::PushSecretData;
use shared::secret_value::SecretValue;

use super::metrics::observe;
use super::{
    Capabilities, ClientContext, Provider, ProviderError, SecretMap, SecretsClient,
    ValidationResult,
};

/// Label value pair stamped on Secrets this provider creates through PushSecret.
pub const MANAGED_LABEL: (&str, &str) = (
    "reconcile.external-secrets.io/managed-by",
    "external-secrets",
);

const PROVIDER: &str = "Kubernetes";

/// Secrets of a (possibly remote) Kubernetes cluster.
#[derive(Default)]
pub struct KubernetesProvider;

impl KubernetesProvider {
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Provider for KubernetesProvider {
    fn capabilities(&self) -> Capabilities {
        SecretStoreCapabilities::ReadWrite
    }

    async fn new_client(
        &self,
        ctx: &ClientContext,
    ) -> Result<Box<dyn SecretsClient>, ProviderError> {
        let cfg = ctx.store.spec.provider.kubernetes.as_ref().ok_or_else(|| {
            ProviderError::InvalidConfig("missing store provider kubernetes".into())
        })?;
        let remote_namespace = cfg.effective_remote_namespace().to_string();
        // A ClusterSecretStore whose credentials live "in the namespace of the object" cannot be
        // checked by the store controller, which has no object: ESO reports ValidationUnknown.
        if ctx.store.kind == SecretStoreKind::ClusterSecretStore
            && ctx.object_namespace.is_empty()
            && connect::is_referent(ctx, cfg)
        {
            return Ok(Box::new(super::ReferentClient));
        }
        let client = connect::client(ctx, cfg).await?;
        Ok(Box::new(KubernetesClient {
            client,
            remote_namespace,
            store_kind: ctx.store.kind,
        }))
    }
}

/// A client for one store, bound to its remote namespace.
pub(crate) struct KubernetesClient {
    client: kube::Client,
    remote_namespace: String,
    store_kind: SecretStoreKind,
}

impl KubernetesClient {
    fn secrets(&self, namespace: &str) -> Api<Secret> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// GET a Secret in `namespace`; `None` when it does not exist. A NotFound is counted as an
    /// `error` call, as ESO observes the client error before mapping it to NoSecret.
    async fn get_in(&self, namespace: &str, name: &str) -> Result<Option<Secret>, ProviderError> {
        match observe(
            PROVIDER,
            "GetSecret",
            self.secrets(namespace).get(name).await,
        ) {
            Ok(s) => Ok(Some(s)),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
            Err(e) => Err(api_error(e)),
        }
    }
}

/// The API server's message, which never contains Secret data.
fn api_error(e: kube::Error) -> ProviderError {
    match e {
        kube::Error::Api(s) => ProviderError::Other(s.message),
        other => ProviderError::Other(other.to_string()),
    }
}

#[async_trait]
impl SecretsClient for KubernetesClient {
    async fn get_secret(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretValue, ProviderError> {
        let secret = self
            .get_in(&self.remote_namespace, &r.key)
            .await?
            .ok_or(ProviderError::NoSecret)?;
        read::secret_value(&secret, r)
    }

    async fn get_secret_map(
        &self,
        r: &ExternalSecretDataRemoteRef,
    ) -> Result<SecretMap, ProviderError> {
        let secret = self
            .get_in(&self.remote_namespace, &r.key)
            .await?
            .ok_or(ProviderError::NoSecret)?;
        read::secret_map(&secret, r)
    }

    async fn get_all_secrets(&self, find: &ExternalSecretFind) -> Result<SecretMap, ProviderError> {
        read::find(self, find).await
    }

    async fn push_secret(
        &self,
        secret: &Secret,
        data: &PushSecretData,
    ) -> Result<(), ProviderError> {
        push::push(self, secret, data).await
    }

    async fn delete_secret(&self, data: &PushSecretData) -> Result<(), ProviderError> {
        push::delete(self, data).await
    }

    async fn secret_exists(&self, data: &PushSecretData) -> Result<bool, ProviderError> {
        push::exists(self, data).await
    }

    async fn validate(&self) -> Result<ValidationResult, ProviderError> {
        // ESO's order: the rules review (counted as CreateSelfSubjectRulesReview), then an
        // access review for `get secrets`, which ESO does not count. A failing review makes
        // the result Unknown, not an error.
        let rules = SelfSubjectRulesReview {
            spec: SelfSubjectRulesReviewSpec {
                namespace: Some(self.remote_namespace.clone()),
            },
            ..Default::default()
        };
        let Ok(rules) = observe(
            PROVIDER,
            "CreateSelfSubjectRulesReview",
            Api::<SelfSubjectRulesReview>::all(self.client.clone())
                .create(&PostParams::default(), &rules)
                .await,
        ) else {
            return Ok(ValidationResult::Unknown);
        };
        let has = |list: &[String], want: &str| list.iter().any(|x| x == want || x == "*");
        let grants_get_secrets = rules
            .status
            .iter()
            .flat_map(|s| &s.resource_rules)
            .any(|r| {
                has(r.resources.as_deref().unwrap_or_default(), "secrets")
                    && has(&r.verbs, "get")
                    && r.api_groups
                        .as_ref()
                        .is_none_or(|g| g.is_empty() || has(g, ""))
            });
        if grants_get_secrets {
            return Ok(ValidationResult::Ready);
        }
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(self.remote_namespace.clone()),
                    verb: Some("get".into()),
                    resource: Some("secrets".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let Ok(out) = Api::<SelfSubjectAccessReview>::all(self.client.clone())
            .create(&PostParams::default(), &review)
            .await
        else {
            return Ok(ValidationResult::Unknown);
        };
        if out.status.is_some_and(|s| s.allowed) {
            Ok(ValidationResult::Ready)
        } else {
            Err(ProviderError::Other(format!(
                "client is not allowed to get secrets in namespace {:?}",
                self.remote_namespace
            )))
        }
    }
}
