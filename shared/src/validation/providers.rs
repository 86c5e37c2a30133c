//! Provider-specific store rules (ESO's per-provider `ValidateStore`).

use super::Outcome;
use super::common::{at, idx};
use crate::api::meta::SecretKeySelector;
use crate::api::v1::SupportedProvider;
use crate::api::v1::providers::aws::AWSProvider;
use crate::api::v1::providers::azurekv::{AzureAuthType, AzureEnvironmentType, AzureKVProvider};
use crate::api::v1::providers::fake::FakeProvider;
use crate::api::v1::providers::gcpsm::{
    GCPSMProvider, POLICY_LATEST_OR_FAIL, POLICY_LATEST_OR_FETCH,
};
use crate::api::v1::providers::kubernetes::KubernetesProvider;
use crate::api::v1::providers::vault::{VaultKVStoreVersion, VaultProvider};

pub(crate) fn validate_provider(p: SupportedProvider<'_>, _store: &str, out: &mut Outcome) {
    match p {
        SupportedProvider::Aws(a) => aws(a, "spec.provider.aws", out),
        SupportedProvider::Vault(v) => vault(v, "spec.provider.vault", out),
        SupportedProvider::AzureKV(a) => azurekv(a, "spec.provider.azurekv", out),
        SupportedProvider::GCPSM(g) => gcpsm(g, "spec.provider.gcpsm", out),
        SupportedProvider::Kubernetes(k) => kubernetes(k, "spec.provider.kubernetes", out),
        SupportedProvider::Fake(f) => fake(f, "spec.provider.fake", out),
    }
}

/// Whether `region` is syntactically an AWS region id: lowercase words joined by `-`, the
/// first a 2..4 letter area code, the last a 1..2 digit number, at least three parts
/// (`us-east-1`, `us-gov-west-1`, `cn-northwest-1`, `eusc-de-east-1`). ESO asks the SDK's
/// endpoint resolver, which accepts any well-formed id; the set of regions grows, so the
/// shape is what we check.
pub fn aws_region_is_valid(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((last, rest)) = parts.split_last() else {
        return false;
    };
    let Some((first, middle)) = rest.split_first() else {
        return false;
    };
    let lower = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    parts.len() >= 3
        && (2..=4).contains(&first.len())
        && lower(first)
        && middle.iter().all(|m| lower(m))
        && (1..=2).contains(&last.len())
        && last.bytes().all(|b| b.is_ascii_digit())
}

const RESERVED_SESSION_TAGS: &[&str] = &["esoNamespace", "esoStoreName", "esoStoreKind"];

fn aws(a: &AWSProvider, p: &str, out: &mut Outcome) {
    if !aws_region_is_valid(&a.region) {
        out.err(
            at(p, "region"),
            format!(
                "invalid region {:?}: use an AWS region id such as \"us-east-1\" or \
                 \"eu-central-1\"",
                a.region
            ),
        );
    }
    if let Some(sm) = &a.secrets_manager {
        let days = sm.recovery_window_in_days.unwrap_or(0);
        if sm.force_delete_without_recovery == Some(true) && days != 0 {
            out.err(
                at(p, "secretsManager"),
                format!(
                    "invalid SecretsManager settings: ForceDeleteWithoutRecovery conflicts with \
                     RecoveryWindowInDays ({days}): set only one of them"
                ),
            );
        }
        if days != 0 && !(7..=30).contains(&days) {
            out.err(
                at(p, "secretsManager.recoveryWindowInDays"),
                format!(
                    "invalid SecretsManager settings: RecoveryWindowInDays must be between 7 and \
                     30 days (found {days}): use 0 for the AWS default or a value from 7 to 30"
                ),
            );
        }
    }
    for k in a.custom_session_tags.iter().flat_map(|m| m.keys()) {
        if RESERVED_SESSION_TAGS.contains(&k.as_str()) {
            out.err(
                at(&at(p, "customSessionTags"), k),
                "customSessionTags cannot contain automatically injected reserved keys: \
                 esoNamespace, esoStoreName, esoStoreKind",
            );
        }
    }
    use crate::api::v1::providers::aws::SessionTagsPolicy;
    if a.effective_session_tags_policy() != SessionTagsPolicy::None
        && a.session_tags.as_ref().is_some_and(|t| !t.is_empty())
    {
        out.warn(format!(
            "{p}.sessionTags are ignored with sessionTagsPolicy {:?}: the policy replaces them",
            a.effective_session_tags_policy()
        ));
    }
    if let Some(sr) = a.auth.as_ref().and_then(|au| au.secret_ref.as_ref()) {
        let sp = at(p, "auth.secretRef");
        require_selector(
            &sp,
            "accessKeyIDSecretRef",
            sr.access_key_id_secret_ref.as_ref(),
            out,
        );
        require_selector(
            &sp,
            "secretAccessKeySecretRef",
            sr.secret_access_key_secret_ref.as_ref(),
            out,
        );
    }
    if let Some(au) = &a.auth
        && au.secret_ref.is_some()
        && au.jwt.is_some()
    {
        out.err(at(p, "auth"), "set one of secretRef or jwt, not both");
    }
}

fn require_selector(base: &str, field: &str, sel: Option<&SecretKeySelector>, out: &mut Outcome) {
    let ok = sel.is_some_and(|s| {
        s.name.as_deref().is_some_and(|n| !n.is_empty())
            && s.key.as_deref().is_some_and(|k| !k.is_empty())
    });
    if !ok {
        out.err(
            at(base, field),
            "must name a Secret and a key: set name and key",
        );
    }
}

fn vault(v: &VaultProvider, p: &str, out: &mut Outcome) {
    if !(v.server.starts_with("http://") || v.server.starts_with("https://")) {
        out.err(
            at(p, "server"),
            format!(
                "{:?} is not a Vault address: use a URL such as \"https://vault.example.com:8200\"",
                v.server
            ),
        );
    }
    if let Some(tls) = &v.tls
        && tls.cert_secret_ref.is_some() != tls.key_secret_ref.is_some()
    {
        out.err(
            at(p, "tls"),
            "certSecretRef and keySecretRef must be set together (client TLS needs both the \
                 certificate and its key) or both be omitted",
        );
    }
    if v.check_and_set.as_ref().and_then(|c| c.required) == Some(true)
        && v.effective_version() == VaultKVStoreVersion::V1
    {
        out.err(
            at(p, "checkAndSet.required"),
            "checkAndSet is only supported with KV version v2: set version v2 or remove \
             checkAndSet",
        );
    }
    let Some(auth) = &v.auth else { return };
    let ap = at(p, "auth");
    let methods = [
        ("tokenSecretRef", auth.token_secret_ref.is_some()),
        ("appRole", auth.app_role.is_some()),
        ("kubernetes", auth.kubernetes.is_some()),
        ("ldap", auth.ldap.is_some()),
        ("jwt", auth.jwt.is_some()),
        ("cert", auth.cert.is_some()),
        ("iam", auth.iam.is_some()),
        ("userPass", auth.user_pass.is_some()),
        ("gcp", auth.gcp.is_some()),
    ];
    let set: Vec<&str> = methods.iter().filter(|m| m.1).map(|m| m.0).collect();
    if set.len() > 1 {
        out.err(
            ap.clone(),
            format!(
                "exactly one auth method must be set, found {}: keep one of {}",
                set.len(),
                set.join(", ")
            ),
        );
    } else if set.is_empty() {
        out.err(
            ap.clone(),
            "no auth method set: configure one of tokenSecretRef, appRole, kubernetes, ldap, jwt, \
             cert, iam, userPass or gcp",
        );
    }
    if let Some(ar) = &auth.app_role
        && ar.role_id.as_deref().is_none_or(str::is_empty)
        && ar.role_ref.is_none()
    {
        out.err(
            at(&ap, "appRole"),
            "missing AppRole role id: set roleId or roleRef",
        );
    }
    if let Some(k) = &auth.kubernetes {
        if k.role.is_empty() {
            out.err(
                at(&ap, "kubernetes.role"),
                "must not be empty: name the Vault role",
            );
        }
        if k.service_account_ref.is_some() && k.secret_ref.is_some() {
            out.err(
                at(&ap, "kubernetes"),
                "set one of serviceAccountRef or secretRef, not both",
            );
        }
    }
    if let Some(j) = &auth.jwt
        && j.secret_ref.is_none()
        && j.kubernetes_service_account_token.is_none()
    {
        out.err(
            at(&ap, "jwt"),
            "no JWT source: set secretRef or kubernetesServiceAccountToken",
        );
    }
    for (name, user) in [
        ("ldap", auth.ldap.as_ref().map(|l| &l.username)),
        ("userPass", auth.user_pass.as_ref().map(|u| &u.username)),
    ] {
        if user.is_some_and(|u| u.is_empty()) {
            out.err(at(&ap, &format!("{name}.username")), "must not be empty");
        }
    }
    if let Some(c) = &auth.cert
        && (c.client_cert.is_none() || c.secret_ref.is_none())
    {
        out.err(
            at(&ap, "cert"),
            "cert auth needs clientCert (the certificate) and secretRef (its private key)",
        );
    }
    if let Some(i) = &auth.iam {
        if i.vault_role.is_empty() {
            out.err(
                at(&ap, "iam.vaultRole"),
                "must not be empty: name the Vault role",
            );
        }
        if let Some(r) = i.region.as_deref().filter(|r| !r.is_empty())
            && !aws_region_is_valid(r)
        {
            out.err(
                at(&ap, "iam.region"),
                format!("invalid region {r:?}: use an AWS region id such as \"us-east-1\""),
            );
        }
    }
    if let Some(g) = &auth.gcp
        && g.role.is_empty()
    {
        out.err(
            at(&ap, "gcp.role"),
            "must not be empty: name the Vault role",
        );
    }
}

fn azurekv(a: &AzureKVProvider, p: &str, out: &mut Outcome) {
    if a.vault_url.is_empty() {
        out.err(
            at(p, "vaultUrl"),
            "must not be empty: use https://<vault>.vault.azure.net",
        );
    }
    if let Some(cc) = &a.custom_cloud_config {
        if a.use_azure_sdk != Some(true) {
            out.err(
                at(p, "customCloudConfig"),
                "CustomCloudConfig requires UseAzureSDK to be set to true: set useAzureSDK: true",
            );
        }
        if cc.active_directory_endpoint.is_empty() {
            out.err(
                at(p, "customCloudConfig.activeDirectoryEndpoint"),
                "activeDirectoryEndpoint is required in CustomCloudConfig",
            );
        }
    }
    if a.effective_environment_type() == AzureEnvironmentType::AzureStackCloud
        && a.custom_cloud_config.is_none()
    {
        out.err(
            at(p, "environmentType"),
            "CustomCloudConfig must be provided when EnvironmentType is AzureStackCloud: add \
             customCloudConfig (and useAzureSDK: true)",
        );
    }
    match a.effective_auth_type() {
        AzureAuthType::ServicePrincipal => {
            let Some(auth) = &a.auth_secret_ref else {
                out.err(
                    at(p, "authSecretRef"),
                    "missing secretRef in provider config: ServicePrincipal auth needs \
                     authSecretRef.clientId and clientSecret or clientCertificate",
                );
                return;
            };
            let sp = at(p, "authSecretRef");
            if auth.client_id.is_none() {
                out.err(at(&sp, "clientId"), "missing clientID in store config");
            }
            match (&auth.client_secret, &auth.client_certificate) {
                (None, None) => out.err(
                    sp.clone(),
                    "missing clientSecret or clientCertificate in store config: set one",
                ),
                (Some(_), Some(_)) => out.err(
                    sp.clone(),
                    "at most one of clientSecret or clientCertificate can be set",
                ),
                _ => {}
            }
            if a.tenant_id.as_deref().is_none_or(str::is_empty) && auth.tenant_id.is_none() {
                out.err(
                    at(p, "tenantId"),
                    "missing tenantID in store config: set tenantId or authSecretRef.tenantId",
                );
            }
        }
        AzureAuthType::ManagedIdentity | AzureAuthType::WorkloadIdentity => {
            if a.auth_secret_ref
                .as_ref()
                .is_some_and(|s| s.client_secret.is_some())
            {
                out.err(
                    at(p, "authSecretRef.clientSecret"),
                    format!(
                        "clientSecret is only used with authType ServicePrincipal (found {:?}): \
                         remove it",
                        a.effective_auth_type()
                    ),
                );
            }
        }
    }
}

fn gcpsm(g: &GCPSMProvider, p: &str, out: &mut Outcome) {
    if let Some(sr) = g.auth.as_ref().and_then(|a| a.secret_ref.as_ref())
        && sr.secret_access_key_secret_ref.is_none()
    {
        out.err(
            at(p, "auth.secretRef.secretAccessKeySecretRef"),
            "must be set: name the Secret key holding the service account JSON key",
        );
    }
    if let Some(pol) = g.secret_version_selection_policy.as_deref()
        && pol != POLICY_LATEST_OR_FAIL
        && pol != POLICY_LATEST_OR_FETCH
    {
        out.err(
            at(p, "secretVersionSelectionPolicy"),
            format!("{pol:?} is not a policy: use LatestOrFail or LatestOrFetch"),
        );
    }
    if let Some(a) = &g.auth {
        let n = [
            a.secret_ref.is_some(),
            a.workload_identity.is_some(),
            a.workload_identity_federation.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        if n > 1 {
            out.err(
                at(p, "auth"),
                "set one of secretRef, workloadIdentity or workloadIdentityFederation",
            );
        }
    }
}

fn kubernetes(k: &KubernetesProvider, p: &str, out: &mut Outcome) {
    match (&k.auth, &k.auth_ref) {
        (None, None) => out.err(
            p,
            "no credentials: set auth (cert, token or serviceAccount) or authRef (a kubeconfig)",
        ),
        (Some(_), Some(_)) => out.err(p, "set one of auth or authRef, not both"),
        _ => {}
    }
    if let Some(a) = &k.auth {
        let n = [
            a.cert.is_some(),
            a.token.is_some(),
            a.service_account.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        if n != 1 {
            out.err(
                at(p, "auth"),
                format!("exactly one of cert, token or serviceAccount must be set, found {n}"),
            );
        }
    }
    if k.auth_ref.is_none() {
        let server = k.server.as_ref();
        let has_ca = server.is_some_and(|s| s.ca_bundle.is_some() || s.ca_provider.is_some());
        if !has_ca {
            out.err(
                at(p, "server"),
                "a CABundle or CAProvider is required: set server.caBundle or server.caProvider \
                 (for the local cluster: a ConfigMap kube-root-ca.crt, key ca.crt)",
            );
        }
    }
}

fn fake(f: &FakeProvider, p: &str, out: &mut Outcome) {
    for (i, d) in f.data.iter().enumerate() {
        let dp = idx(&at(p, "data"), i);
        if d.key.is_empty() {
            out.err(at(&dp, "key"), format!("key must be set in data {i}"));
        }
        if d.value.is_empty() {
            out.err(
                at(&dp, "value"),
                format!("at least one value must be set in data {i}"),
            );
        }
    }
    if let Some(r) = f.validation_result
        && !(0..=2).contains(&r)
    {
        out.err(
            at(p, "validationResult"),
            format!("{r} is not a validation result: use 0 (Ready), 1 (Unknown) or 2 (Error)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::aws_region_is_valid;

    #[test]
    fn region_shapes() {
        for ok in [
            "us-east-1",
            "eu-central-1",
            "us-gov-west-1",
            "cn-northwest-1",
            "ap-southeast-4",
            "eusc-de-east-1",
            "us-isob-east-1",
        ] {
            assert!(aws_region_is_valid(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us_east_1",
            "useast1",
            "us-east-100",
            "us--east-1",
            "u-east-1",
        ] {
            assert!(!aws_region_is_valid(bad), "{bad}");
        }
    }
}
