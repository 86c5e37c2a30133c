//! SecretStore and ClusterSecretStore `external-secrets.io/v1beta1` (unserved, deprecated).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::v1::providers::{
    AWSProvider, AzureKVProvider, FakeProvider, GCPSMProvider, KubernetesProvider, OpaqueConfig,
    VaultProvider, secret_store_provider,
};
use crate::api::v1::{ClusterSecretStoreCondition, SecretStoreRetrySettings, SecretStoreStatus};

/// Desired state of a v1beta1 store.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1beta1",
    kind = "SecretStore",
    plural = "secretstores",
    namespaced,
    status = "SecretStoreStatus",
    shortname = "ss",
    category = "external-secrets",
    label("external-secrets.io/component", "controller"),
    served = false,
    storage = false,
    deprecated,
    printcolumn(
        name = "AGE",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Capabilities",
        type_ = "string",
        json_path = ".status.capabilities"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreSpec {
    /// Controller class handling the store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    /// The backend; exactly one key is set.
    pub provider: SecretStoreProvider,
    /// Retry behaviour of provider clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_settings: Option<SecretStoreRetrySettings>,
    /// Seconds between store re-validations.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(transform = crate::api::schema::no_format)]
    pub refresh_interval: Option<i64>,
    /// Namespaces allowed to use a ClusterSecretStore.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ClusterSecretStoreCondition>>,
}

/// Desired state of a v1beta1 ClusterSecretStore.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1beta1",
    kind = "ClusterSecretStore",
    plural = "clustersecretstores",
    status = "SecretStoreStatus",
    shortname = "css",
    category = "external-secrets",
    label("external-secrets.io/component", "controller"),
    served = false,
    storage = false,
    deprecated,
    printcolumn(
        name = "AGE",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Capabilities",
        type_ = "string",
        json_path = ".status.capabilities"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    derive = "PartialEq",
    derive = "Default"
)]
pub struct ClusterSecretStoreSpec(pub SecretStoreSpec);

secret_store_provider! {
    /// v1beta1 backends. The six implemented ones reuse the v1 shapes (a superset of v1beta1).
    pub struct SecretStoreProvider;
    typed {
        /// AWS Secrets Manager or Parameter Store.
        aws: "aws" => AWSProvider,
        /// Azure Key Vault.
        azurekv: "azurekv" => AzureKVProvider,
        /// HashiCorp Vault KV engine.
        vault: "vault" => VaultProvider,
        /// Google Cloud Secret Manager.
        gcpsm: "gcpsm" => GCPSMProvider,
        /// Secrets of a Kubernetes cluster.
        kubernetes: "kubernetes" => KubernetesProvider,
        /// Static values for tests.
        fake: "fake" => FakeProvider,
    }
    opaque {
        akeyless: "akeyless" => "Akeyless backend.",
        alibaba: "alibaba" => "Alibaba Cloud KMS backend (removed in v1).",
        beyondtrust: "beyondtrust" => "BeyondTrust Password Safe backend.",
        bitwardensecretsmanager: "bitwardensecretsmanager" => "Bitwarden Secrets Manager backend.",
        chef: "chef" => "Chef data bags backend.",
        cloudrusm: "cloudrusm" => "Cloud.ru Secret Manager backend.",
        conjur: "conjur" => "CyberArk Conjur backend.",
        delinea: "delinea" => "Delinea DevOps Secrets Vault backend.",
        device42: "device42" => "Device42 backend (removed in v1).",
        doppler: "doppler" => "Doppler backend.",
        fortanix: "fortanix" => "Fortanix DSM backend.",
        github: "github" => "GitHub Actions secrets backend.",
        gitlab: "gitlab" => "GitLab CI variables backend.",
        ibm: "ibm" => "IBM Cloud Secrets Manager backend.",
        infisical: "infisical" => "Infisical backend.",
        keepersecurity: "keepersecurity" => "Keeper Secrets Manager backend.",
        onboardbase: "onboardbase" => "Onboardbase backend.",
        onepassword: "onepassword" => "1Password Connect backend.",
        oracle: "oracle" => "Oracle Cloud Vault backend.",
        passbolt: "passbolt" => "Passbolt backend.",
        passworddepot: "passworddepot" => "Password Depot backend.",
        previder: "previder" => "Previder backend.",
        pulumi: "pulumi" => "Pulumi ESC backend.",
        scaleway: "scaleway" => "Scaleway Secret Manager backend.",
        secretserver: "secretserver" => "Delinea Secret Server backend.",
        senhasegura: "senhasegura" => "senhasegura DSM backend.",
        webhook: "webhook" => "Generic HTTP webhook backend.",
        yandexcertificatemanager: "yandexcertificatemanager" => "Yandex Certificate Manager backend.",
        yandexlockbox: "yandexlockbox" => "Yandex Lockbox backend.",
    }
}
