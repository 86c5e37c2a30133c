//! SecretStore / ClusterSecretStore admission: ESO's store rules, unsupported providers,
//! provider-specific checks, cross-namespace references and maintenance warnings.

mod validationkit;

use serde_json::{Value, json};
use shared::validation::aws_region_is_valid;
use validationkit::{allowed, check, denied};

fn ss(provider: Value) -> Value {
    json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "store", "namespace": "team-a"}, "spec": {"provider": provider}})
}

fn css(provider: Value) -> Value {
    json!({"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": "shared"}, "spec": {"provider": provider}})
}

fn aws() -> Value {
    json!({"aws": {"service": "SecretsManager", "region": "eu-central-1"}})
}

fn vault(auth: Value) -> Value {
    json!({"vault": {"server": "https://vault:8200", "path": "secret", "auth": auth}})
}

fn token_auth() -> Value {
    json!({"tokenSecretRef": {"name": "vault-token", "key": "token"}})
}

#[test]
fn allows_valid_stores_of_each_provider() {
    let k8s = json!({"kubernetes": {"remoteNamespace": "x", "server": {"caProvider": {"type": "ConfigMap", "name": "kube-root-ca.crt", "key": "ca.crt"}},
        "auth": {"serviceAccount": {"name": "reader"}}}});
    let az = json!({"azurekv": {"vaultUrl": "https://v.vault.azure.net", "tenantId": "t",
        "authSecretRef": {"clientId": {"name": "az", "key": "id"}, "clientSecret": {"name": "az", "key": "secret"}}}});
    let gcp = json!({"gcpsm": {"projectID": "p", "auth": {"secretRef": {"secretAccessKeySecretRef": {"name": "g", "key": "k"}}}}});
    for p in [aws(), vault(token_auth()), k8s, az, gcp] {
        let out = check(&ss(p.clone()));
        allowed(&out);
        assert!(out.warnings.is_empty(), "{p}: {:?}", out.warnings);
        allowed(&check(&css(p)));
    }
}

#[test]
fn rejects_provider_block_with_more_than_one_backend() {
    let mut p = aws();
    p["fake"] = json!({"data": []});
    let out = check(&ss(p));
    denied(
        &out,
        "spec.provider",
        &[
            "store error for store: secret stores must only have exactly one backend specified, found 2",
        ],
    );
    let out = check(&ss(json!({})));
    denied(
        &out,
        "spec.provider",
        &["must only have exactly one backend specified, found 0"],
    );
}

#[test]
fn rejects_unsupported_provider() {
    let out = check(&ss(
        json!({"doppler": {"auth": {"secretRef": {"dopplerToken": {"name": "t"}}}}}),
    ));
    denied(
        &out,
        "spec.provider.doppler",
        &["provider doppler is not supported by this operator"],
    );
}

#[test]
fn rejects_uncompilable_namespace_regex_naming_both_indexes() {
    let mut obj = css(aws());
    obj["spec"]["conditions"] =
        json!([{"namespaces": ["a"]}, {"namespaceRegexes": ["^ok$", "\\1"]}]);
    let out = check(&obj);
    denied(
        &out,
        "spec.conditions[1].namespaceRegexes[1]",
        &["failed to compile 1th namespace regex in 1th condition: error parsing regexp"],
    );
    assert_eq!(out.errors.len(), 1);
}

#[test]
fn rejects_negative_or_unparsable_store_refresh_interval() {
    for (v, frag) in [
        (json!(-5), "must not be negative"),
        (json!("5 minutes"), "not a valid duration"),
        (json!("-1m"), "must not be negative"),
    ] {
        let mut obj = ss(aws());
        obj["spec"]["refreshInterval"] = v;
        denied(&check(&obj), "spec.refreshInterval", &[frag]);
    }
    for v in [json!(300), json!("5m"), json!(0)] {
        let mut obj = ss(aws());
        obj["spec"]["refreshInterval"] = v;
        allowed(&check(&obj));
    }
}

#[test]
fn fake_provider_rules_and_unmaintained_warning() {
    let out = check(&ss(
        json!({"fake": {"data": [{"key": "a", "value": "1"}, {"key": "", "value": ""}]}}),
    ));
    denied(
        &out,
        "spec.provider.fake.data[1].key",
        &["key must be set in data 1"],
    );
    denied(
        &out,
        "spec.provider.fake.data[1].value",
        &["at least one value must be set in data 1"],
    );
    let out = check(&ss(json!({"fake": {"data": [{"key": "a", "value": "1"}]}})));
    allowed(&out);
    assert_eq!(out.warnings.len(), 1);
    assert!(
        out.warnings[0].contains("store store isn't currently maintained"),
        "{:?}",
        out.warnings
    );
}

#[test]
fn aws_region_must_be_a_region_id() {
    let out = check(&ss(
        json!({"aws": {"service": "ParameterStore", "region": "Frankfurt"}}),
    ));
    denied(
        &out,
        "spec.provider.aws.region",
        &["invalid region \"Frankfurt\""],
    );
    assert!(aws_region_is_valid("us-gov-west-1"));
    assert!(!aws_region_is_valid("eu-central"));
}

#[test]
fn aws_secrets_manager_delete_options() {
    let sm = |v: Value| json!({"aws": {"service": "SecretsManager", "region": "us-east-1", "secretsManager": v}});
    let out = check(&ss(sm(
        json!({"forceDeleteWithoutRecovery": true, "recoveryWindowInDays": 7}),
    )));
    denied(
        &out,
        "spec.provider.aws.secretsManager",
        &["ForceDeleteWithoutRecovery conflicts with RecoveryWindowInDays"],
    );
    let out = check(&ss(sm(json!({"recoveryWindowInDays": 3}))));
    denied(
        &out,
        "spec.provider.aws.secretsManager.recoveryWindowInDays",
        &["RecoveryWindowInDays must be between 7 and 30 days"],
    );
    for ok in [
        json!({"recoveryWindowInDays": 30}),
        json!({"forceDeleteWithoutRecovery": true}),
        json!({"recoveryWindowInDays": 0}),
    ] {
        allowed(&check(&ss(sm(ok))));
    }
}

#[test]
fn aws_reserved_custom_session_tags() {
    let out = check(&ss(
        json!({"aws": {"service": "SecretsManager", "region": "us-east-1", "sessionTagsPolicy": "Custom",
        "customSessionTags": {"esoNamespace": "x", "team": "a"}}}),
    ));
    denied(
        &out,
        "spec.provider.aws.customSessionTags.esoNamespace",
        &["reserved keys"],
    );
}

#[test]
fn vault_tls_needs_cert_and_key_together() {
    let mut p = vault(token_auth());
    p["vault"]["tls"] = json!({"certSecretRef": {"name": "c", "key": "tls.crt"}});
    denied(
        &check(&ss(p.clone())),
        "spec.provider.vault.tls",
        &["certSecretRef and keySecretRef must be set together"],
    );
    p["vault"]["tls"]["keySecretRef"] = json!({"name": "c", "key": "tls.key"});
    allowed(&check(&ss(p)));
}

#[test]
fn vault_check_and_set_not_with_v1() {
    let mut p = vault(token_auth());
    p["vault"]["version"] = json!("v1");
    p["vault"]["checkAndSet"] = json!({"required": true});
    denied(
        &check(&ss(p.clone())),
        "spec.provider.vault.checkAndSet.required",
        &["only supported with KV version v2"],
    );
    p["vault"]["version"] = json!("v2");
    allowed(&check(&ss(p)));
}

#[test]
fn vault_exactly_one_auth_method() {
    let mut auth = token_auth();
    auth["kubernetes"] = json!({"role": "r"});
    denied(
        &check(&ss(vault(auth))),
        "spec.provider.vault.auth",
        &["exactly one auth method must be set, found 2"],
    );
    denied(
        &check(&ss(vault(json!({"namespace": "ns1"})))),
        "spec.provider.vault.auth",
        &["no auth method set"],
    );
}

#[test]
fn vault_auth_method_details() {
    let out = check(&ss(vault(
        json!({"appRole": {"secretRef": {"name": "s", "key": "k"}}}),
    )));
    denied(
        &out,
        "spec.provider.vault.auth.appRole",
        &["set roleId or roleRef"],
    );
    allowed(&check(&ss(vault(
        json!({"appRole": {"roleId": "id", "secretRef": {"name": "s", "key": "k"}}}),
    ))));
    let out = check(&ss(vault(json!({"jwt": {"role": "r"}}))));
    denied(
        &out,
        "spec.provider.vault.auth.jwt",
        &["set secretRef or kubernetesServiceAccountToken"],
    );
    allowed(&check(&ss(vault(
        json!({"jwt": {"role": "r", "kubernetesServiceAccountToken": {"serviceAccountRef": {"name": "sa"}}}}),
    ))));
    let out = check(&ss(vault(
        json!({"cert": {"clientCert": {"name": "c", "key": "k"}}}),
    )));
    denied(
        &out,
        "spec.provider.vault.auth.cert",
        &["clientCert", "secretRef"],
    );
    let out = check(&ss(
        json!({"vault": {"server": "vault:8200", "auth": token_auth()}}),
    ));
    denied(&out, "spec.provider.vault.server", &["not a Vault address"]);
}

#[test]
fn azure_custom_cloud_rules() {
    let base = |extra: Value| {
        let mut p = json!({"azurekv": {"vaultUrl": "https://v", "authType": "ManagedIdentity"}});
        if let (Value::Object(a), Value::Object(b)) = (&mut p["azurekv"], extra) {
            a.extend(b);
        }
        p
    };
    let out = check(&ss(base(
        json!({"customCloudConfig": {"activeDirectoryEndpoint": ""}}),
    )));
    denied(
        &out,
        "spec.provider.azurekv.customCloudConfig",
        &["CustomCloudConfig requires UseAzureSDK"],
    );
    denied(
        &out,
        "spec.provider.azurekv.customCloudConfig.activeDirectoryEndpoint",
        &["activeDirectoryEndpoint is required"],
    );
    let out = check(&ss(base(json!({"environmentType": "AzureStackCloud"}))));
    denied(
        &out,
        "spec.provider.azurekv.environmentType",
        &["CustomCloudConfig must be provided when EnvironmentType is AzureStackCloud"],
    );
    allowed(&check(&ss(base(
        json!({"environmentType": "AzureStackCloud", "useAzureSDK": true,
        "customCloudConfig": {"activeDirectoryEndpoint": "https://login.stack/"}}),
    ))));
}

#[test]
fn azure_service_principal_needs_credentials() {
    let out = check(&ss(json!({"azurekv": {"vaultUrl": "https://v"}})));
    denied(
        &out,
        "spec.provider.azurekv.authSecretRef",
        &["ServicePrincipal auth needs"],
    );
    let out = check(&ss(
        json!({"azurekv": {"vaultUrl": "https://v", "tenantId": "t", "authSecretRef": {"clientId": {"name": "a", "key": "b"}}}}),
    ));
    denied(
        &out,
        "spec.provider.azurekv.authSecretRef",
        &["missing clientSecret or clientCertificate"],
    );
}

#[test]
fn gcp_rules() {
    let out = check(&ss(
        json!({"gcpsm": {"projectID": "p", "auth": {"secretRef": {}}, "secretVersionSelectionPolicy": "Newest"}}),
    ));
    denied(
        &out,
        "spec.provider.gcpsm.auth.secretRef.secretAccessKeySecretRef",
        &["must be set"],
    );
    denied(
        &out,
        "spec.provider.gcpsm.secretVersionSelectionPolicy",
        &["LatestOrFail or LatestOrFetch"],
    );
}

#[test]
fn kubernetes_provider_auth_and_ca() {
    let out = check(&ss(json!({"kubernetes": {"server": {"caBundle": "Y2E="}}})));
    denied(&out, "spec.provider.kubernetes", &["no credentials"]);
    let out = check(&ss(
        json!({"kubernetes": {"auth": {"token": {"bearerToken": {"name": "t", "key": "k"}}}}}),
    ));
    denied(
        &out,
        "spec.provider.kubernetes.server",
        &["a CABundle or CAProvider is required"],
    );
    let out = check(&ss(
        json!({"kubernetes": {"server": {"caBundle": "Y2E="}, "auth": {
        "token": {"bearerToken": {"name": "t", "key": "k"}}, "serviceAccount": {"name": "sa"}}}}),
    ));
    denied(
        &out,
        "spec.provider.kubernetes.auth",
        &["exactly one of cert, token or serviceAccount must be set, found 2"],
    );
    allowed(&check(&ss(
        json!({"kubernetes": {"authRef": {"name": "kubeconfig", "key": "config"}}}),
    )));
}

#[test]
fn namespaced_store_may_not_reference_other_namespaces() {
    let p = json!({"aws": {"service": "SecretsManager", "region": "us-east-1", "auth": {"secretRef": {
        "accessKeyIDSecretRef": {"name": "aws", "key": "id", "namespace": "other"},
        "secretAccessKeySecretRef": {"name": "aws", "key": "secret", "namespace": "team-a"}}}}});
    let out = check(&ss(p.clone()));
    denied(
        &out,
        "spec.provider.aws.auth.secretRef.accessKeyIDSecretRef.namespace",
        &["cross-namespace reference to \"other\""],
    );
    assert_eq!(
        out.errors.len(),
        1,
        "same-namespace reference is fine: {:#?}",
        out.errors
    );
    allowed(&check(&css(p)));
}

#[test]
fn ca_provider_namespace_only_in_cluster_stores() {
    let p = json!({"kubernetes": {"server": {"caProvider": {"type": "ConfigMap", "name": "ca", "key": "ca.crt", "namespace": "team-a"}},
        "auth": {"serviceAccount": {"name": "sa"}}}});
    denied(
        &check(&ss(p.clone())),
        "spec.provider.kubernetes.server.caProvider.namespace",
        &["only allowed in a ClusterSecretStore"],
    );
    allowed(&check(&css(p)));
}

#[test]
fn conditions_on_a_namespaced_store_warn() {
    let mut obj = ss(aws());
    obj["spec"]["conditions"] = json!([{"namespaces": ["x"]}]);
    let out = check(&obj);
    allowed(&out);
    assert!(out.warnings[0].contains("only apply to ClusterSecretStores"));
}
