//! v1 ⇄ v1beta1 conversion is lossless, and KES manifests become a SecretStore plus an
//! ExternalSecret that validate.

mod yamlfiles;

use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use shared::api::v1beta1;
use shared::conversion::{
    ConversionError, KesOptions, PRESERVED_ANNOTATION, convert, from_kes, from_kes_with,
};
use shared::validation::{ValidationContext, validate};
use yamlfiles::yaml_files;

const V1: &str = "external-secrets.io/v1";
const V1BETA1: &str = "external-secrets.io/v1beta1";

/// The down-converted object is something the v1beta1 types hold without loss.
fn fits<T: DeserializeOwned + Serialize>(obj: &Value) {
    let typed: T = serde_json::from_value(obj.clone())
        .unwrap_or_else(|e| panic!("v1beta1 decode: {e}\n{obj:#}"));
    assert_eq!(
        &serde_json::to_value(typed).expect("encode"),
        obj,
        "v1beta1 types drop something"
    );
}

fn fits_v1beta1(obj: &Value) {
    match obj["kind"].as_str() {
        Some("ExternalSecret") => fits::<v1beta1::ExternalSecret>(obj),
        Some("ClusterExternalSecret") => fits::<v1beta1::ClusterExternalSecret>(obj),
        Some("SecretStore") => fits::<v1beta1::SecretStore>(obj),
        Some("ClusterSecretStore") => fits::<v1beta1::ClusterSecretStore>(obj),
        other => panic!("unexpected kind {other:?}"),
    }
}

fn round_trip(obj: &Value) -> Value {
    let down = convert(obj.clone(), V1BETA1).expect("down");
    assert_eq!(down["apiVersion"], V1BETA1);
    fits_v1beta1(&down);
    let up = convert(down.clone(), V1).expect("up");
    assert_eq!(
        &up, obj,
        "round trip changed the object; v1beta1 form was {down:#}"
    );
    down
}

#[test]
fn every_example_round_trips() {
    let mut files = Vec::new();
    yaml_files(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples"),
        &mut files,
    );
    let mut n = 0;
    for f in files {
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&std::fs::read_to_string(&f).expect("read")).expect("yaml");
        for d in docs {
            if d["apiVersion"] == V1
                && matches!(
                    d["kind"].as_str(),
                    Some(
                        "ExternalSecret"
                            | "ClusterExternalSecret"
                            | "SecretStore"
                            | "ClusterSecretStore"
                    )
                )
            {
                round_trip(&d);
                n += 1;
            }
        }
    }
    assert!(n >= 15, "only {n} convertible examples");
}

#[test]
fn v1_only_fields_survive_in_an_annotation() {
    let es = json!({"apiVersion": V1, "kind": "ExternalSecret",
    "metadata": {"name": "x", "namespace": "n", "labels": {"a": "b"}},
    "spec": {
        "secretStoreRef": {"name": "s"},
        "syncWindows": {"kind": "deny", "windows": [{"schedule": "@daily", "duration": "1h"}]},
        "target": {"name": "t", "creationPolicy": "CreateOrMerge",
            "manifest": {"apiVersion": "v1", "kind": "ConfigMap"},
            "template": {"metadata": {"finalizers": ["a/b"], "labels": {"x": "y"}},
                "templateFrom": [{"literal": "a: b", "valuesDecodingStrategy": "Base64", "target": "spec.x"}]}},
        "data": [{"secretKey": "k", "remoteRef": {"key": "r", "nullBytePolicy": "Fail"}}],
        "dataFrom": [{"extract": {"key": "e"}, "rewrite": [{"merge": {"into": "all", "strategy": "JSON"}}, {"regexp": {"source": "a", "target": "b"}}]}]
    }});
    let down = round_trip(&es);
    assert!(down["spec"].get("syncWindows").is_none());
    assert!(
        down["spec"]["target"].get("creationPolicy").is_none(),
        "CreateOrMerge is not a v1beta1 value"
    );
    assert!(
        down["spec"]["data"][0]["remoteRef"]
            .get("nullBytePolicy")
            .is_none()
    );
    assert_eq!(
        down["spec"]["dataFrom"][0]["rewrite"][1],
        json!({"regexp": {"source": "a", "target": "b"}})
    );
    let saved: Value = serde_json::from_str(
        down["metadata"]["annotations"][PRESERVED_ANNOTATION]
            .as_str()
            .expect("annotation"),
    )
    .expect("json");
    assert_eq!(saved["apiVersion"], V1);
    assert_eq!(down["metadata"]["labels"], json!({"a": "b"}));
}

#[test]
fn store_refresh_interval_string_and_v1_only_provider_survive() {
    let ss = json!({"apiVersion": V1, "kind": "SecretStore", "metadata": {"name": "s", "namespace": "n", "annotations": {"keep": "me"}},
        "spec": {"refreshInterval": "5m", "provider": {"openBao": {"server": "https://bao"}}}});
    let down = round_trip(&ss);
    assert!(down["spec"].get("refreshInterval").is_none());
    assert_eq!(down["metadata"]["annotations"]["keep"], "me");
    let css = json!({"apiVersion": V1, "kind": "ClusterSecretStore", "metadata": {"name": "c"},
        "spec": {"refreshInterval": 60, "provider": {"fake": {"data": [{"key": "a", "value": "b"}]}}}});
    let down = round_trip(&css);
    assert_eq!(down["spec"]["refreshInterval"], 60);
    assert!(
        down["metadata"].get("annotations").is_none(),
        "nothing to preserve, no annotation"
    );
}

#[test]
fn v1beta1_round_trips_through_v1() {
    let beta = json!({"apiVersion": V1BETA1, "kind": "ExternalSecret", "metadata": {"name": "x", "namespace": "n"},
        "spec": {"secretStoreRef": {"name": "s"}, "target": {"creationPolicy": "Merge"},
            "data": [{"secretKey": "k", "remoteRef": {"key": "r"}}]}});
    let up = convert(beta.clone(), V1).expect("up");
    assert_eq!(up["apiVersion"], V1);
    assert_eq!(convert(up, V1BETA1).expect("down"), beta);
}

#[test]
fn unsupported_conversions_are_errors() {
    let ps = json!({"apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret", "metadata": {"name": "p"}, "spec": {}});
    assert!(matches!(
        convert(ps.clone(), V1),
        Err(ConversionError::Unsupported { .. })
    ));
    assert_eq!(
        convert(ps.clone(), "external-secrets.io/v1alpha1").expect("same version"),
        ps
    );
    let es =
        json!({"apiVersion": V1, "kind": "ExternalSecret", "metadata": {"name": "e"}, "spec": {}});
    assert!(convert(es, "external-secrets.io/v1alpha1").is_err());
    assert!(matches!(
        convert(json!({"kind": "X"}), V1),
        Err(ConversionError::Missing("apiVersion"))
    ));
}

fn kes(spec: Value) -> Value {
    json!({"apiVersion": "kubernetes-client.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "hello-service", "namespace": "iam-example"}, "spec": spec})
}

fn assert_valid(objs: &[Value]) {
    for o in objs {
        let out = validate(o, &ValidationContext::default());
        assert!(out.allowed(), "{o:#}: {:#?}", out.errors);
    }
}

#[test]
fn kes_secrets_manager_with_role_and_properties() {
    // The README's hello-service example with roleArn, property and versionStage.
    let objs = from_kes(&kes(json!({"backendType": "secretsManager", "region": "us-west-2",
        "roleArn": "arn:aws:iam::123456789012:role/test-role",
        "data": [
            {"key": "hello-service/credentials", "name": "password", "property": "password"},
            {"key": "hello-service/credentials", "name": "username", "property": "username"},
            {"key": "hello-service/credentials", "name": "password_previous", "versionStage": "AWSPREVIOUS", "property": "password"}
        ]}))).expect("converts");
    assert_valid(&objs);
    let (store, es) = (&objs[0], &objs[1]);
    assert_eq!(
        store["spec"]["provider"]["aws"],
        json!({"service": "SecretsManager", "region": "us-west-2", "role": "arn:aws:iam::123456789012:role/test-role"})
    );
    assert_eq!(
        store["metadata"],
        json!({"name": "hello-service-secretsmanager", "namespace": "iam-example"})
    );
    assert_eq!(
        es["spec"]["secretStoreRef"],
        json!({"name": "hello-service-secretsmanager", "kind": "SecretStore"})
    );
    assert_eq!(es["spec"]["target"]["name"], "hello-service");
    assert_eq!(
        es["spec"]["data"][2],
        json!({"secretKey": "password_previous", "remoteRef": {"key": "hello-service/credentials", "property": "password", "version": "AWSPREVIOUS"}})
    );
}

#[test]
fn kes_data_from_template_and_parameter_store() {
    let objs = from_kes(&kes(json!({"backendType": "systemManager", "region": "eu-west-1",
        "dataFrom": ["hello-service/credentials"],
        "data": [{"key": "/hello-service/password", "name": "password"}],
        "template": {"type": "kubernetes.io/basic-auth", "metadata": {"labels": {"cat": "cheese"}, "annotations": {"dog": "farfel"}}}}))).expect("converts");
    assert_valid(&objs);
    assert_eq!(
        objs[0]["spec"]["provider"]["aws"]["service"],
        "ParameterStore"
    );
    let es = &objs[1]["spec"];
    assert_eq!(
        es["dataFrom"],
        json!([{"extract": {"key": "hello-service/credentials"}}])
    );
    assert_eq!(
        es["target"]["template"],
        json!({"engineVersion": "v2", "mergePolicy": "Merge", "type": "kubernetes.io/basic-auth",
        "metadata": {"labels": {"cat": "cheese"}, "annotations": {"dog": "farfel"}}})
    );
}

#[test]
fn kes_vault_needs_the_server_address() {
    let spec = kes(
        json!({"backendType": "vault", "vaultMountPoint": "my-kubernetes-vault-mount-point", "vaultRole": "my-vault-role",
        "data": [{"name": "password", "key": "secret/data/hello-service/credentials", "property": "password"}]}),
    );
    let e = from_kes(&spec).expect_err("no VAULT_ADDR");
    assert!(e.to_string().contains("VAULT_ADDR"), "{e}");
    let objs = from_kes_with(
        &spec,
        &KesOptions {
            vault_addr: Some("https://vault.domain.tld".into()),
            ..KesOptions::default()
        },
    )
    .expect("converts");
    assert_valid(&objs);
    assert_eq!(
        objs[0]["spec"]["provider"]["vault"],
        json!({"server": "https://vault.domain.tld", "version": "v2",
        "auth": {"kubernetes": {"mountPath": "my-kubernetes-vault-mount-point", "role": "my-vault-role"}}})
    );
}

#[test]
fn kes_azure_gcp_and_errors() {
    let az = from_kes(&kes(json!({"backendType": "azureKeyVault", "keyVaultName": "hello", "data": [{"key": "pw", "name": "pw"}]}))).expect("az");
    assert_eq!(
        az[0]["spec"]["provider"]["azurekv"]["vaultUrl"],
        "https://hello.vault.azure.net"
    );
    assert_valid(&az);
    let gcp = from_kes(&kes(json!({"backendType": "gcpSecretsManager", "projectId": "proj", "data": [{"key": "pw", "name": "pw", "version": "3"}]}))).expect("gcp");
    assert_eq!(gcp[0]["spec"]["provider"]["gcpsm"]["projectID"], "proj");
    assert_valid(&gcp);
    assert!(
        from_kes(&kes(
            json!({"backendType": "alicloudSecretsManager", "data": [{"key": "a", "name": "b"}]})
        ))
        .is_err()
    );
    assert!(
        from_kes(&kes(
            json!({"backendType": "secretsManager", "data": [{"key": "a", "name": "b"}]})
        ))
        .expect_err("region")
        .to_string()
        .contains("spec.region")
    );
    assert!(
        from_kes(&kes(
            json!({"backendType": "secretsManager", "region": "us-east-1",
        "template": {"stringData": {"x": "<%= data.a %>"}}, "data": [{"key": "a", "name": "b"}]})
        ))
        .is_err()
    );
    assert!(from_kes(&json!({"apiVersion": V1, "kind": "ExternalSecret"})).is_err());
}
