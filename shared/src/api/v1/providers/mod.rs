//! `spec.provider` of SecretStore/ClusterSecretStore: six backends in full detail, every other
//! ESO backend as an opaque object so such stores still decode (and the webhook can name them).

pub mod aws;
pub mod azurekv;
pub mod fake;
pub mod gcpsm;
pub mod kubernetes;
pub mod vault;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use aws::AWSProvider;
pub use azurekv::AzureKVProvider;
pub use fake::FakeProvider;
pub use gcpsm::GCPSMProvider;
pub use kubernetes::KubernetesProvider;
pub use vault::VaultProvider;

/// Configuration of a backend this operator does not implement, kept verbatim.
pub type OpaqueConfig = serde_json::Map<String, serde_json::Value>;

/// Declares a provider struct with typed and opaque keys plus the key-listing helpers.
macro_rules! secret_store_provider {
    (
        $(#[$meta:meta])*
        pub struct $name:ident;
        typed { $( $(#[$tdoc:meta])* $tfield:ident : $tkey:literal => $tty:ty, )* }
        opaque { $( $ofield:ident : $okey:literal => $odesc:literal, )* }
    ) => {
        $(#[$meta])*
        #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
        #[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
        pub struct $name {
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

        impl $name {
            /// Keys this operator implements.
            pub const SUPPORTED_KEYS: &'static [&'static str] = &[$($tkey),*];
            /// Every key the schema accepts (supported first, then opaque ones).
            pub const ALL_KEYS: &'static [&'static str] = &[$($tkey,)* $($okey),*];

            /// Names of all keys that are set, supported or not.
            pub fn configured_keys(&self) -> Vec<&'static str> {
                let mut keys = Vec::new();
                $( if self.$tfield.is_some() { keys.push($tkey); } )*
                $( if self.$ofield.is_some() { keys.push($okey); } )*
                keys
            }

            /// Set keys that this operator does not implement.
            pub fn unsupported_keys(&self) -> Vec<&'static str> {
                self.configured_keys()
                    .into_iter()
                    .filter(|k| !Self::SUPPORTED_KEYS.contains(k))
                    .collect()
            }
        }
    };
}
pub(crate) use secret_store_provider;

secret_store_provider! {
    /// The backend of a store. Exactly one key may be set.
    pub struct SecretStoreProvider;
    typed {
        /// AWS Secrets Manager, Parameter Store or Certificate Manager.
        aws: "aws" => AWSProvider,
        /// Azure Key Vault.
        azurekv: "azurekv" => AzureKVProvider,
        /// HashiCorp Vault or OpenBao KV engine.
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
        bitwardensecretsmanager: "bitwardensecretsmanager" => "Bitwarden Secrets Manager backend.",
        ovh: "ovh" => "OVHcloud Secret Manager backend.",
        oracle: "oracle" => "Oracle Cloud Vault backend.",
        ibm: "ibm" => "IBM Cloud Secrets Manager backend.",
        yandexcertificatemanager: "yandexcertificatemanager" => "Yandex Certificate Manager backend.",
        yandexlockbox: "yandexlockbox" => "Yandex Lockbox backend.",
        github: "github" => "GitHub Actions secrets backend.",
        gitlab: "gitlab" => "GitLab CI variables backend.",
        onepassword: "onepassword" => "1Password Connect backend.",
        onepassword_sdk: "onepasswordSDK" => "1Password SDK backend.",
        webhook: "webhook" => "Generic HTTP webhook backend.",
        crd: "crd" => "Custom resources backend.",
        senhasegura: "senhasegura" => "senhasegura DSM backend.",
        scaleway: "scaleway" => "Scaleway Secret Manager backend.",
        doppler: "doppler" => "Doppler backend.",
        previder: "previder" => "Previder backend.",
        onboardbase: "onboardbase" => "Onboardbase backend.",
        keepersecurity: "keepersecurity" => "Keeper Secrets Manager backend.",
        conjur: "conjur" => "CyberArk Conjur backend.",
        delinea: "delinea" => "Delinea DevOps Secrets Vault backend.",
        secretserver: "secretserver" => "Delinea Secret Server backend.",
        chef: "chef" => "Chef data bags backend.",
        pulumi: "pulumi" => "Pulumi ESC backend.",
        fortanix: "fortanix" => "Fortanix DSM backend.",
        passworddepot: "passworddepot" => "Password Depot backend.",
        passbolt: "passbolt" => "Passbolt backend.",
        dvls: "dvls" => "Devolutions Server backend.",
        infisical: "infisical" => "Infisical backend.",
        beyondtrust: "beyondtrust" => "BeyondTrust Password Safe backend.",
        beyondtrustworkloadcredentials: "beyondtrustworkloadcredentials" => "BeyondTrust workload credentials backend.",
        cloudrusm: "cloudrusm" => "Cloud.ru Secret Manager backend.",
        volcengine: "volcengine" => "Volcengine KMS secrets backend.",
        ngrok: "ngrok" => "ngrok secrets backend.",
        barbican: "barbican" => "OpenStack Barbican backend.",
        nebiusmysterybox: "nebiusmysterybox" => "Nebius MysteryBox backend.",
        open_bao: "openBao" => "OpenBao native backend.",
    }
}

/// A borrowed view of the one implemented backend a store configures.
#[derive(Clone, Copy, Debug)]
pub enum SupportedProvider<'a> {
    Aws(&'a AWSProvider),
    AzureKV(&'a AzureKVProvider),
    Vault(&'a VaultProvider),
    GCPSM(&'a GCPSMProvider),
    Kubernetes(&'a KubernetesProvider),
    Fake(&'a FakeProvider),
}

impl SecretStoreProvider {
    /// The implemented backend, if exactly one key is set and it is one we support.
    pub fn supported(&self) -> Option<SupportedProvider<'_>> {
        if self.configured_keys().len() != 1 {
            return None;
        }
        if let Some(p) = &self.aws {
            Some(SupportedProvider::Aws(p))
        } else if let Some(p) = &self.azurekv {
            Some(SupportedProvider::AzureKV(p))
        } else if let Some(p) = &self.vault {
            Some(SupportedProvider::Vault(p))
        } else if let Some(p) = &self.gcpsm {
            Some(SupportedProvider::GCPSM(p))
        } else if let Some(p) = &self.kubernetes {
            Some(SupportedProvider::Kubernetes(p))
        } else {
            self.fake.as_ref().map(SupportedProvider::Fake)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(json: serde_json::Value) -> SecretStoreProvider {
        serde_json::from_value(json).expect("provider decodes")
    }

    #[test]
    fn lists_every_key_eso_v1_has() {
        assert_eq!(SecretStoreProvider::ALL_KEYS.len(), 43);
        let unique: std::collections::BTreeSet<_> = SecretStoreProvider::ALL_KEYS.iter().collect();
        assert_eq!(unique.len(), 43, "keys are unique");
        assert_eq!(
            SecretStoreProvider::SUPPORTED_KEYS,
            &["aws", "azurekv", "vault", "gcpsm", "kubernetes", "fake"]
        );
    }

    #[test]
    fn unsupported_backends_decode_and_are_named() {
        let p = provider(
            serde_json::json!({"doppler": {"auth": {"secretRef": {"dopplerToken": {"name": "t"}}}}}),
        );
        assert_eq!(p.configured_keys(), vec!["doppler"]);
        assert_eq!(p.unsupported_keys(), vec!["doppler"]);
        assert!(p.supported().is_none());
        let back = serde_json::to_value(&p).expect("encodes");
        assert_eq!(
            back["doppler"]["auth"]["secretRef"]["dopplerToken"]["name"],
            "t"
        );
    }

    #[test]
    fn two_backends_are_reported_and_not_dispatched() {
        let p = provider(serde_json::json!({
            "fake": {"data": []},
            "onepasswordSDK": {"vault": "v"}
        }));
        assert_eq!(p.configured_keys(), vec!["fake", "onepasswordSDK"]);
        assert_eq!(p.unsupported_keys(), vec!["onepasswordSDK"]);
        assert!(p.supported().is_none());
    }

    #[test]
    fn single_supported_backend_is_dispatched() {
        let p = provider(serde_json::json!({"vault": {"server": "http://v:8200"}}));
        assert!(
            matches!(p.supported(), Some(SupportedProvider::Vault(v)) if v.server == "http://v:8200")
        );
        assert_eq!(
            p.vault.as_ref().map(VaultProvider::effective_version),
            Some(vault::VaultKVStoreVersion::V2)
        );
        assert!(provider(serde_json::json!({})).configured_keys().is_empty());
    }
}
