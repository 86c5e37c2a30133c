//! The one place that maps a store's `spec.provider` key to its provider implementation.

use std::sync::Arc;

use shared::api::v1::SecretStoreSpec;

use super::{Provider, ProviderError};

/// Returns the provider configured in `spec`, or an error naming an unsupported provider key.
pub fn provider_for(spec: &SecretStoreSpec) -> Result<Arc<dyn Provider>, ProviderError> {
    let keys = spec.provider.configured_keys();
    match keys.as_slice() {
        [] => Err(ProviderError::InvalidConfig(
            "no provider configured in spec.provider".into(),
        )),
        [key] => Err(ProviderError::InvalidConfig(format!(
            "provider {key} is not supported by this operator"
        ))),
        many => Err(ProviderError::InvalidConfig(format!(
            "must only have exactly one backend specified, found {}",
            many.len()
        ))),
    }
}
