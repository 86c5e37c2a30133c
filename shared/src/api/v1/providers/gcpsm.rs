//! `spec.provider.gcpsm`: Google Cloud Secret Manager.

use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::meta::{SecretKeySelector, SecretReference, ServiceAccountSelector};
use crate::api::schema;

/// Google Secret Manager backend configuration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GCPSMProvider {
    /// Credentials; ambient credentials are used when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<GCPSMAuth>,
    /// Project holding the secrets.
    #[serde(rename = "projectID", skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Location of regional secrets (uses the regional endpoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// LatestOrFail reads only the latest version; LatestOrFetch falls back to the newest enabled one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "LatestOrFail"))]
    pub secret_version_selection_policy: Option<String>,
}

/// Secret version policy that only accepts the latest version.
pub const POLICY_LATEST_OR_FAIL: &str = "LatestOrFail";
/// Secret version policy that falls back to the newest enabled version.
pub const POLICY_LATEST_OR_FETCH: &str = "LatestOrFetch";

/// Google Cloud credentials.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GCPSMAuth {
    /// Service account JSON key read from a Secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<GCPSMAuthSecretRef>,
    /// GKE workload identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload_identity: Option<GCPWorkloadIdentity>,
    /// Workload identity federation with an external token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload_identity_federation: Option<GCPWorkloadIdentityFederation>,
}

/// Service account key reference.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GCPSMAuthSecretRef {
    /// Secret key holding the service account JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key_secret_ref: Option<SecretKeySelector>,
}

/// GKE workload identity.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GCPWorkloadIdentity {
    /// Kubernetes ServiceAccount annotated with the Google service account.
    pub service_account_ref: ServiceAccountSelector,
    /// Location of the GKE cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_location: Option<String>,
    /// Name of the GKE cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// Project of the GKE cluster.
    #[serde(rename = "clusterProjectID", skip_serializing_if = "Option::is_none")]
    pub cluster_project_id: Option<String>,
}

/// Workload identity federation settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GCPWorkloadIdentityFederation {
    /// ConfigMap holding a credential configuration file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cred_config: Option<ConfigMapKeySelector>,
    /// ServiceAccount whose token is exchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
    /// AWS credentials used as the external identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_security_credentials: Option<AwsCredentialsConfig>,
    /// Audience of the exchanged token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Endpoint issuing the external token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_token_endpoint: Option<String>,
    /// Google service account to impersonate.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = gsa_email)]
    pub gcp_service_account_email: Option<String>,
}

fn gsa_email(s: &mut Schema) {
    s.insert("minLength".into(), json!(1));
    s.insert(
        "pattern".into(),
        json!(r"^.*@.*\.iam\.gserviceaccount\.com$"),
    );
    s.insert(
        "example".into(),
        json!("my-gsa@my-project.iam.gserviceaccount.com"),
    );
}

fn aws_region(s: &mut Schema) {
    s.insert("minLength".into(), json!(1));
    s.insert("maxLength".into(), json!(50));
    s.insert("pattern".into(), json!("^[a-z0-9-]+$"));
    s.insert("example".into(), json!("ap-south-1"));
}

/// A ConfigMap key (both name and key required).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapKeySelector {
    /// Name of the ConfigMap.
    #[schemars(transform = schema::dns_subdomain)]
    pub name: String,
    /// Namespace of the ConfigMap; only cluster-scoped resources may point elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = schema::dns_label)]
    pub namespace: Option<String>,
    /// Key inside the ConfigMap.
    #[schemars(transform = schema::secret_key)]
    pub key: String,
}

/// AWS credentials for federation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsCredentialsConfig {
    /// AWS region.
    #[schemars(transform = aws_region)]
    pub region: String,
    /// Secret holding aws_access_key_id, aws_secret_access_key and optionally aws_session_token.
    pub aws_credentials_secret_ref: SecretReference,
}
