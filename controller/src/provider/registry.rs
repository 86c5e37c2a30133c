//! The one place that maps a store's `spec.provider` key to its provider implementation.

use std::sync::{Arc, OnceLock};

use shared::api::v1::SecretStoreSpec;

use super::{
    Provider, ProviderError, aws::AwsProvider, azure::AzureProvider, fake::FakeProvider,
    gcp::GcpProvider, kubernetes::KubernetesProvider, vault::VaultProvider,
};

/// Providers are process-wide singletons: the fake provider keeps pushed values per store across
/// client builds, as ESO's does.
fn fake() -> Arc<dyn Provider> {
    static P: OnceLock<Arc<FakeProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(FakeProvider::new())).clone()
}

fn kubernetes() -> Arc<dyn Provider> {
    static P: OnceLock<Arc<KubernetesProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(KubernetesProvider::new()))
        .clone()
}

fn azure() -> Arc<dyn Provider> {
    static P: OnceLock<Arc<AzureProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(AzureProvider::new())).clone()
}

/// Endpoints come from the environment (or `gcp::set_process_endpoints`) once per process.
fn gcpsm() -> Arc<dyn Provider> {
    static P: OnceLock<Arc<GcpProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(GcpProvider::from_process()))
        .clone()
}

/// Endpoint overrides come from the controller's environment, read once.
fn aws() -> Arc<dyn Provider> {
    static P: OnceLock<Arc<AwsProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(AwsProvider::from_env())).clone()
}

fn vault() -> Arc<dyn Provider> {
    static P: OnceLock<Arc<VaultProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(VaultProvider::new())).clone()
}

/// Returns the provider configured in `spec`, or an error naming an unsupported provider key.
pub fn provider_for(spec: &SecretStoreSpec) -> Result<Arc<dyn Provider>, ProviderError> {
    let keys = spec.provider.configured_keys();
    match keys.as_slice() {
        [] => Err(ProviderError::InvalidConfig(
            "no provider configured in spec.provider".into(),
        )),
        ["fake"] => Ok(fake()),
        ["kubernetes"] => Ok(kubernetes()),
        ["azurekv"] => Ok(azure()),
        ["gcpsm"] => Ok(gcpsm()),
        ["aws"] => Ok(aws()),
        ["vault"] => Ok(vault()),
        [key] => Err(ProviderError::InvalidConfig(format!(
            "provider {key} is not supported by this operator"
        ))),
        many => Err(ProviderError::InvalidConfig(format!(
            "must only have exactly one backend specified, found {}",
            many.len()
        ))),
    }
}
