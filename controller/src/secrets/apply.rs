//! Writing a [`Plan`](super::desired::Plan): plain create/replace under the ExternalSecret's field
//! manager (not server-side apply, so ownership of keys is recorded per Update like ESO's).

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, PostParams};

use super::desired::Plan;

/// What a write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// The Secret was created.
    Created,
    /// The Secret was replaced.
    Updated,
    /// Nothing was written.
    Nothing,
}

/// Executes `plan` in `api` (the ExternalSecret's namespace) as `manager`.
pub async fn execute(api: &Api<Secret>, plan: Plan, manager: &str) -> Result<Written, kube::Error> {
    let pp = PostParams {
        dry_run: false,
        field_manager: Some(manager.to_string()),
    };
    match plan {
        Plan::Create(secret) => {
            api.create(&pp, &secret).await?;
            Ok(Written::Created)
        }
        Plan::Update(secret) => {
            let name = secret.metadata.name.clone().unwrap_or_default();
            api.replace(&name, &pp, &secret).await?;
            Ok(Written::Updated)
        }
        Plan::Unchanged | Plan::Missing | Plan::Skip => Ok(Written::Nothing),
    }
}

/// Deletes `name`; an already-absent Secret is not an error.
pub async fn delete(api: &Api<Secret>, name: &str) -> Result<bool, kube::Error> {
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}
