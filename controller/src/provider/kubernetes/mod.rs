//! The Kubernetes provider (`spec.provider.kubernetes`). Work in progress: client construction
//! is not implemented yet.

use async_trait::async_trait;
use shared::api::v1::SecretStoreCapabilities;

use super::{Capabilities, ClientContext, Provider, ProviderError, SecretsClient};

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
        _ctx: &ClientContext,
    ) -> Result<Box<dyn SecretsClient>, ProviderError> {
        Err(ProviderError::InvalidConfig(
            "the kubernetes provider is not implemented yet".into(),
        ))
    }
}
