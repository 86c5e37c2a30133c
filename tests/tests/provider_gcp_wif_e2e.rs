//! gcpsm federation end to end: the controller with SecretStores authenticating through a
//! `credConfig` ConfigMap (URL and AWS instance metadata sources), `awsSecurityCredentials`,
//! and GKE Workload Identity whose cluster comes from the metadata server; stores become Ready
//! (or say why not) and ExternalSecrets sync.

#[path = "controller_es_support.rs"]
mod support;

#[path = "provider_gcp_support/e2e.rs"]
mod gcp_e2e;

use gcp_e2e::{Gcp, create_store, gcp, store_ready};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};
use support::*;
use tests::fakes::gcp::{Access, gke_principal, service_account_principal, wif_principal};
use tests::sim::ISSUER;

const STS: &str = "https://sts.googleapis.com/v1/token";

async fn config_map(env: &Env, ns: &str, name: &str, value: &str) {
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns},
        "data": {"credential-configuration.json": value}
    }))
    .unwrap();
    Api::<ConfigMap>::namespaced(env.client.clone(), ns)
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();
}

fn pool(g: &Gcp, name: &str) -> String {
    format!(
        "projects/{}/locations/global/workloadIdentityPools/{name}",
        g.number
    )
}

/// An ExternalSecret `STORE-sync` reading `db` through `store`; waits until it synced
/// `expected`.
async fn syncs(env: &Env, ns: &str, store: &str, expected: &str) {
    let name = format!("{store}-sync");
    env.create_es(
        ns,
        &name,
        json!({
            "secretStoreRef": {"name": store},
            "refreshInterval": "1h",
            "data": [{"secretKey": "k", "remoteRef": {"key": "db"}}]
        }),
    )
    .await;
    env.wait_ready(ns, &name, "True", "SecretSynced").await;
    assert_eq!(
        data_of(&env.secret(ns, &name).await.unwrap()),
        kv(&[("k", expected)])
    );
}

fn wif_store(g: &Gcp, wif: Value) -> Value {
    json!({"gcpsm": {"projectID": g.project, "auth": {"workloadIdentityFederation": wif}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cred_config_from_a_token_url_syncs_and_refused_configs_say_why() {
    let g = gcp();
    let env = Env::start().await;
    env.namespace("apps").await;
    g.fake
        .put_secret(&g.project, None, "db", &[], &[], &[b"via-url"]);
    let spki = env.sim.shared().tokens_issuer.public_key_der().to_vec();
    let audience = g
        .fake
        .add_wif_provider(g.number, "ext", "oidc", ISSUER, &spki, &["idp-aud"]);
    let (jwt, _) = env
        .sim
        .shared()
        .tokens_issuer
        .issue("ci", "runner", "uid", &["idp-aud".to_string()], 3600, None)
        .unwrap();
    let url = g.fake.serve_external_token(
        &g.project,
        Some(("Metadata", "True")),
        &json!({"access_token": jwt}).to_string(),
    );
    g.fake.allow_impersonation(
        &wif_principal(&pool(&g, "ext"), "system:serviceaccount:ci:runner"),
        &g.email,
    );
    g.fake.grant(
        &service_account_principal(&g.email),
        &g.project,
        Access::Read,
    );
    // The configuration `gcloud iam workload-identity-pools create-cred-config` writes for a
    // URL-sourced token.
    let cfg = json!({
        "universe_domain": "googleapis.com",
        "type": "external_account",
        "audience": audience,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": STS,
        "service_account_impersonation_url": format!(
            "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{}:generateAccessToken",
            g.email
        ),
        "credential_source": {
            "url": url,
            "headers": {"Metadata": "True"},
            "format": {"type": "json", "subject_token_field_name": "access_token"}
        }
    });
    config_map(&env, "apps", "gcp-wif", &cfg.to_string()).await;
    let cred_config = json!({"name": "gcp-wif", "key": "credential-configuration.json"});
    create_store(
        &env,
        "apps",
        "wif",
        wif_store(
            &g,
            json!({"credConfig": cred_config, "externalTokenEndpoint": url}),
        ),
    )
    .await;
    store_ready(&env, "apps", "wif", "True").await;
    syncs(&env, "apps", "wif", "via-url").await;

    // An executable source, and a URL that is not the declared endpoint.
    let mut exec = cfg.clone();
    exec["credential_source"] = json!({"executable": {"command": "/bin/sh -c id"}});
    config_map(&env, "apps", "gcp-exec", &exec.to_string()).await;
    create_store(
        &env,
        "apps",
        "exec",
        wif_store(
            &g,
            json!({"credConfig": {"name": "gcp-exec", "key": "credential-configuration.json"}}),
        ),
    )
    .await;
    let (_, reason, message) = store_ready(&env, "apps", "exec", "False").await;
    assert_eq!(reason, "InvalidProviderConfig", "{message}");
    assert!(message.contains("executable"), "{message}");
    create_store(
        &env,
        "apps",
        "moved",
        wif_store(
            &g,
            json!({"credConfig": cred_config, "externalTokenEndpoint": "https://idp.example.com/token"}),
        ),
    )
    .await;
    let (_, reason, message) = store_ready(&env, "apps", "moved", "False").await;
    assert_eq!(reason, "InvalidProviderConfig", "{message}");
    assert!(message.contains("externalTokenEndpoint"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_keys_from_a_secret_sync_and_a_wrong_key_is_not_ready() {
    let g = gcp();
    let env = Env::start().await;
    env.namespace("apps").await;
    g.fake
        .put_secret(&g.project, None, "db", &[], &[], &[b"via-aws"]);
    let account = format!("{:012}", g.number % 1_000_000_000_000);
    let audience = g
        .fake
        .add_aws_wif_provider(g.number, "aws", "aws", &account);
    let arn = format!("arn:aws:iam::{account}:user/eso");
    let key_id = format!("AKIA{}", g.project.to_uppercase().replace('-', ""));
    g.fake.add_aws_key(&key_id, "right-secret", None, &arn);
    g.fake.grant(
        &wif_principal(&pool(&g, "aws"), &arn),
        &g.project,
        Access::Read,
    );
    for (name, secret) in [("aws-good", "right-secret"), ("aws-bad", "wrong-secret")] {
        env.create_secret(
            "apps",
            json!({"metadata": {"name": name}, "stringData": {
                "aws_access_key_id": key_id, "aws_secret_access_key": secret}}),
        )
        .await;
        create_store(
            &env,
            "apps",
            name,
            wif_store(
                &g,
                json!({"audience": audience, "awsSecurityCredentials": {
                    "region": "ap-south-1", "awsCredentialsSecretRef": {"name": name}}}),
            ),
        )
        .await;
    }
    store_ready(&env, "apps", "aws-good", "True").await;
    syncs(&env, "apps", "aws-good", "via-aws").await;
    let (_, reason, message) = store_ready(&env, "apps", "aws-bad", "False").await;
    assert_eq!(reason, "InvalidProviderConfig", "{message}");
    assert!(message.contains("signature"), "{message}");
    assert!(!message.contains("wrong-secret"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cred_config_aws_source_reads_the_instance_metadata_service() {
    let g = gcp();
    let env = Env::start().await;
    env.namespace("apps").await;
    g.fake
        .put_secret(&g.project, None, "db", &[], &[], &[b"via-imds"]);
    let account = "210987654321";
    let audience = g.fake.add_aws_wif_provider(g.number, "ec2", "aws", account);
    let arn = format!("arn:aws:sts::{account}:assumed-role/eso-node/i-0123");
    // The only test of this binary playing an EC2 instance.
    g.fake
        .add_aws_key("ASIAIMDSE2E", "imds-secret", Some("imds-session"), &arn);
    g.fake
        .set_aws_instance("us-east-2b", "eso-node", "ASIAIMDSE2E", true);
    g.fake.grant(
        &wif_principal(&pool(&g, "ec2"), &arn),
        &g.project,
        Access::Read,
    );
    // As `gcloud iam workload-identity-pools create-cred-config --aws --enable-imdsv2` writes it.
    let cfg = json!({
        "universe_domain": "googleapis.com",
        "type": "external_account",
        "audience": audience,
        "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
        "token_url": STS,
        "credential_source": {
            "environment_id": "aws1",
            "region_url": "http://169.254.169.254/latest/meta-data/placement/availability-zone",
            "url": "http://169.254.169.254/latest/meta-data/iam/security-credentials",
            "regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
            "imdsv2_session_token_url": "http://169.254.169.254/latest/api/token"
        }
    });
    config_map(&env, "apps", "gcp-aws", &cfg.to_string()).await;
    create_store(
        &env,
        "apps",
        "imds",
        wif_store(
            &g,
            json!({"credConfig": {"name": "gcp-aws", "key": "credential-configuration.json"}}),
        ),
    )
    .await;
    store_ready(&env, "apps", "imds", "True").await;
    syncs(&env, "apps", "imds", "via-imds").await;
    assert!(g.fake.calls("AwsMetadata") >= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gke_workload_identity_takes_the_cluster_from_the_metadata_server() {
    let g = gcp();
    let env = Env::start().await;
    env.namespace("apps").await;
    g.fake
        .put_secret(&g.project, None, "db", &[], &[], &[b"via-gke"]);
    // The only test of this binary giving the metadata server cluster attributes.
    g.fake
        .set_metadata_attribute("cluster-location", "us-central1");
    g.fake.set_metadata_attribute("cluster-name", "autopilot-1");
    let spki = env.sim.shared().tokens_issuer.public_key_der().to_vec();
    g.fake
        .trust_gke_cluster(&g.project, "us-central1", "autopilot-1", ISSUER, &spki);
    let sa: k8s_openapi::api::core::v1::ServiceAccount = serde_json::from_value(json!({
        "metadata": {"name": "eso", "namespace": "apps",
                     "annotations": {"iam.gke.io/gcp-service-account": g.email}}
    }))
    .unwrap();
    Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(env.client.clone(), "apps")
        .create(&PostParams::default(), &sa)
        .await
        .unwrap();
    g.fake.allow_impersonation(
        &gke_principal(g.number, &g.project, "apps", "eso"),
        &g.email,
    );
    g.fake.grant(
        &service_account_principal(&g.email),
        &g.project,
        Access::Read,
    );
    // As in ESO's docs, only the ServiceAccount: no cluster fields.
    create_store(
        &env,
        "apps",
        "gke",
        json!({"gcpsm": {"projectID": g.project, "auth": {"workloadIdentity": {
            "serviceAccountRef": {"name": "eso"}}}}}),
    )
    .await;
    store_ready(&env, "apps", "gke", "True").await;
    syncs(&env, "apps", "gke", "via-gke").await;
    // A store naming another cluster is refused by STS.
    create_store(
        &env,
        "apps",
        "other-cluster",
        json!({"gcpsm": {"projectID": g.project, "auth": {"workloadIdentity": {
            "serviceAccountRef": {"name": "eso"}, "clusterName": "standard-2"}}}}),
    )
    .await;
    let (_, reason, message) = store_ready(&env, "apps", "other-cluster", "False").await;
    assert_eq!(reason, "InvalidProviderConfig", "{message}");
    assert!(message.contains("invalid_target"), "{message}");
}
