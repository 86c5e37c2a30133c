//! ClusterGenerator: a cluster-scoped generator usable from every namespace.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{FakeSpec, PasswordSpec, UUIDSpec};
use crate::api::v1::OpaqueConfig;

/// Generator kinds a ClusterGenerator can wrap.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ClusterGeneratorKind {
    ACRAccessToken,
    BeyondtrustWorkloadCredentialsDynamicSecret,
    CloudsmithAccessToken,
    ECRAuthorizationToken,
    Fake,
    GCRAccessToken,
    GithubAccessToken,
    GitlabDeployToken,
    QuayAccessToken,
    Password,
    SSHKey,
    STSSessionToken,
    UUID,
    VaultDynamicSecret,
    Webhook,
    Grafana,
    MFA,
}

/// Desired state of a ClusterGenerator.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "generators.external-secrets.io",
    version = "v1alpha1",
    kind = "ClusterGenerator",
    plural = "clustergenerators",
    category = "external-secrets",
    category = "external-secrets-generators",
    label("external-secrets.io/component", "controller"),
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterGeneratorSpec {
    /// Kind of the wrapped generator.
    pub kind: ClusterGeneratorKind,
    /// The wrapped generator's spec; exactly one key is set.
    pub generator: GeneratorSpec,
}

/// Declares the generator-spec union with typed and opaque keys.
macro_rules! generator_spec {
    (
        typed { $( $(#[$tdoc:meta])* $tfield:ident : $tkey:literal => $tty:ty, )* }
        opaque { $( $ofield:ident : $okey:literal => $odesc:literal, )* }
    ) => {
        /// One generator spec, keyed by `<kind>Spec`.
        #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
        #[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
        pub struct GeneratorSpec {
            $(
                $(#[$tdoc])*
                #[serde(rename = $tkey, skip_serializing_if = "Option::is_none")]
                pub $tfield: Option<$tty>,
            )*
            $(
                #[doc = $odesc]
                #[serde(default, rename = $okey, skip_serializing_if = "Option::is_none")]
                #[schemars(
                    schema_with = "crate::api::schema::opaque_object",
                    description = concat!($odesc, " Not supported by this operator.")
                )]
                pub $ofield: Option<OpaqueConfig>,
            )*
        }

        impl GeneratorSpec {
            /// Keys this operator implements.
            pub const SUPPORTED_KEYS: &'static [&'static str] = &[$($tkey),*];
            /// Every key the schema accepts.
            pub const ALL_KEYS: &'static [&'static str] = &[$($tkey,)* $($okey),*];

            /// Names of all keys that are set, supported or not.
            pub fn configured_keys(&self) -> Vec<&'static str> {
                let mut keys = Vec::new();
                $( if self.$tfield.is_some() { keys.push($tkey); } )*
                $( if self.$ofield.is_some() { keys.push($okey); } )*
                keys
            }
        }
    };
}

generator_spec! {
    typed {
        /// Password generator spec.
        password_spec: "passwordSpec" => PasswordSpec,
        /// UUID generator spec.
        uuid_spec: "uuidSpec" => UUIDSpec,
        /// Fake generator spec.
        fake_spec: "fakeSpec" => FakeSpec,
    }
    opaque {
        acr_access_token_spec: "acrAccessTokenSpec" => "Azure Container Registry token generator.",
        beyondtrust_workload_credentials_dynamic_secret_spec: "beyondtrustWorkloadCredentialsDynamicSecretSpec" => "BeyondTrust dynamic secret generator.",
        cloudsmith_access_token_spec: "cloudsmithAccessTokenSpec" => "Cloudsmith token generator.",
        ecr_authorization_token_spec: "ecrAuthorizationTokenSpec" => "Amazon ECR token generator.",
        gcr_access_token_spec: "gcrAccessTokenSpec" => "Google Container Registry token generator.",
        github_access_token_spec: "githubAccessTokenSpec" => "GitHub App token generator.",
        gitlab_deploy_token_spec: "gitlabDeployTokenSpec" => "GitLab deploy token generator.",
        grafana_spec: "grafanaSpec" => "Grafana service account token generator.",
        mfa_spec: "mfaSpec" => "TOTP code generator.",
        quay_access_token_spec: "quayAccessTokenSpec" => "Quay robot token generator.",
        ssh_key_spec: "sshKeySpec" => "SSH key pair generator.",
        sts_session_token_spec: "stsSessionTokenSpec" => "AWS STS session token generator.",
        vault_dynamic_secret_spec: "vaultDynamicSecretSpec" => "Vault dynamic secret generator.",
        webhook_spec: "webhookSpec" => "HTTP webhook generator.",
    }
}
