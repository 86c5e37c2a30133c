//! Facts from the GCE/GKE metadata server: the project, and the cluster attributes GKE nodes
//! carry (`cluster-name`, `cluster-location`). An unreachable server or a missing fact is
//! `None`, so callers can say which store field to set instead.

use std::time::Duration;

use super::PROVIDER;
use crate::provider::ProviderError;
use crate::provider::metrics::record;

async fn get(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    call: &'static str,
) -> Result<Option<String>, ProviderError> {
    let resp = http
        .get(format!("{base}/computeMetadata/v1/{path}"))
        .header("Metadata-Flavor", "Google")
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    record(
        PROVIDER,
        call,
        matches!(&resp, Ok(r) if r.status().is_success()),
    );
    let Ok(resp) = resp else {
        return Ok(None);
    };
    if !resp.status().is_success() {
        return Ok(None);
    }
    Ok(resp
        .text()
        .await
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty()))
}

/// The project the metadata server runs in.
pub(super) async fn project(
    http: &reqwest::Client,
    base: &str,
) -> Result<Option<String>, ProviderError> {
    get(http, base, "project/project-id", "GetMetadataProject").await
}

/// An instance attribute (`instance/attributes/NAME`).
pub(super) async fn attribute(
    http: &reqwest::Client,
    base: &str,
    name: &str,
) -> Result<Option<String>, ProviderError> {
    get(
        http,
        base,
        &format!("instance/attributes/{name}"),
        "GetMetadataAttribute",
    )
    .await
}
