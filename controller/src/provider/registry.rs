//! The one place that maps a store's `spec.provider` key to its provider implementation.

use std::sync::{Arc, OnceLock};

use shared::api::v1::SecretStoreSpec;

use super::{
    Provider, ProviderError, fake::FakeProvider, kubernetes::KubernetesProvider,
    vault::VaultProvider,
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
