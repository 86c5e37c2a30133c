//! gcpsm Workload Identity Federation beyond Kubernetes tokens, client by client against the
//! Google fake: `credConfig` external account configurations (file, URL and AWS `aws1`
//! sources, impersonation, ESO's checks), `awsSecurityCredentials`, and GKE Workload Identity
//! taking the cluster from the metadata server.

mod provider_gcp_support;

use controller::provider::{ProviderError, ValidationResult};
use provider_gcp_support::*;
use serde_json::{Value, json};
use shared::api::v1::SecretStoreKind;
use tests::fakes::gcp::{Access, gke_principal, service_account_principal, wif_principal};
use tests::sim::ISSUER;

const GSA: &str = "eso-reader@proj-a.iam.gserviceaccount.com";
const GSA2: &str = "other-reader@proj-a.iam.gserviceaccount.com";
const STS: &str = "https://sts.googleapis.com/v1/token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
const AWS_TYPE: &str = "urn:ietf:params:aws:token-type:aws4_request";
const EXT_AUD: &str = "external-idp";

fn pool(name: &str) -> String {
    format!("projects/{NUMBER}/locations/global/workloadIdentityPools/{name}")
}

fn impersonation_url(email: &str) -> String {
    format!(
        "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{email}:generateAccessToken"
    )
}

/// An OIDC provider trusting the simulator's issuer for `EXT_AUD`; returns its audience.
fn oidc_provider(s: &Setup) -> String {
    let spki = s.sim.shared().tokens_issuer.public_key_der().to_vec();
    s.fake
        .add_wif_provider(NUMBER, "ext", "oidc", ISSUER, &spki, &[EXT_AUD])
}

fn cred_store(extra: Value) -> Value {
    let mut wif = json!({"credConfig": {"name": "wif", "key": "cred.json"}});
    if let (Some(w), Some(e)) = (wif.as_object_mut(), extra.as_object()) {
        w.extend(e.clone());
    }
    json!({"projectID": PROJECT, "auth": {"workloadIdentityFederation": wif}})
}

async fn connect(
    s: &Setup,
    provider: Value,
) -> Result<Box<dyn controller::provider::SecretsClient>, ProviderError> {
    s.connect_as(SecretStoreKind::SecretStore, "team-a", provider)
        .await
}

#[tokio::test]
async fn cred_config_file_source_exchanges_an_external_token() {
    let s = setup().await;
    s.fake
        .put_secret(PROJECT, None, "db", &[], &[], &[b"s3cret"]);
    let audience = oidc_provider(&s);
    let dir = tempfile::tempdir().unwrap();
    let jwt = s.external_jwt("ci", "runner", EXT_AUD);
    let text_file = dir.path().join("token");
    std::fs::write(&text_file, &jwt).unwrap();
    let json_file = dir.path().join("token.json");
    std::fs::write(&json_file, json!({"id_token": jwt}).to_string()).unwrap();
    s.fake.grant(
        &wif_principal(&pool("ext"), "system:serviceaccount:ci:runner"),
        PROJECT,
        Access::Read,
    );
    let cases = [
        json!({"file": text_file}),
        json!({"file": json_file, "format": {"type": "json", "subject_token_field_name": "id_token"}}),
    ];
    for source in cases {
        let cfg = json!({
            "type": "external_account", "audience": audience, "subject_token_type": JWT,
            "token_url": STS, "credential_source": source
        });
        s.config_map("team-a", "wif", "cred.json", &cfg.to_string())
            .await;
        let c = connect(&s, cred_store(json!({}))).await.unwrap();
        assert_eq!(c.validate().await.unwrap(), ValidationResult::Ready);
        assert_eq!(get(&*c, "db", None, None, false).await.unwrap(), "s3cret");
    }
    // A JSON file without the named field.
    std::fs::write(&json_file, r#"{"other":"x"}"#).unwrap();
    let c = connect(&s, cred_store(json!({}))).await.unwrap();
    let err = c.validate().await.unwrap_err();
    assert!(err.to_string().contains("id_token"), "{err}");
}

#[tokio::test]
async fn cred_config_url_source_sends_headers_and_impersonates() {
    let s = setup().await;
    s.fake
        .put_secret(PROJECT, None, "db", &[], &[], &[b"s3cret"]);
    let audience = oidc_provider(&s);
    let jwt = s.external_jwt("ci", "runner", EXT_AUD);
    let url = s.fake.serve_external_token(
        "azure",
        Some(("Metadata", "True")),
        &json!({"access_token": jwt}).to_string(),
    );
    let principal = wif_principal(&pool("ext"), "system:serviceaccount:ci:runner");
    s.fake.allow_impersonation(&principal, GSA);
    s.fake
        .grant(&service_account_principal(GSA), PROJECT, Access::Read);
    let cfg = |audience: &str, headers: Value| {
        json!({
            "type": "external_account", "audience": audience, "subject_token_type": JWT,
            "token_url": STS,
            "service_account_impersonation_url": impersonation_url(GSA),
            "service_account_impersonation": {"token_lifetime_seconds": 1200},
            "credential_source": {"url": url, "headers": headers,
                                  "format": {"type": "json", "subject_token_field_name": "access_token"}}
        })
        .to_string()
    };
    s.config_map(
        "team-a",
        "wif",
        "cred.json",
        &cfg(&audience, json!({"Metadata": "True"})),
    )
    .await;
    let store = cred_store(json!({"externalTokenEndpoint": url}));
    let c = connect(&s, store.clone()).await.unwrap();
    assert_eq!(get(&*c, "db", None, None, false).await.unwrap(), "s3cret");
    assert_eq!(s.fake.calls("ExternalToken"), 1);
    assert_eq!(s.fake.calls("GenerateAccessToken"), 1);

    // The store's audience overrides the configuration's.
    s.config_map(
        "team-a",
        "wif",
        "cred.json",
        &cfg("//wrong/provider", json!({"Metadata": "True"})),
    )
    .await;
    let c = connect(&s, store.clone()).await.unwrap();
    assert!(c.validate().await.is_err());
    let c = connect(
        &s,
        cred_store(json!({"externalTokenEndpoint": url, "audience": audience})),
    )
    .await
    .unwrap();
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Ready);

    // gcpServiceAccountEmail overrides the configuration's impersonation URL.
    let c = connect(
        &s,
        cred_store(json!({"externalTokenEndpoint": url, "audience": audience, "gcpServiceAccountEmail": GSA2})),
    )
    .await
    .unwrap();
    let err = c.validate().await.unwrap_err();
    assert!(err.to_string().contains(GSA2), "{err}");
    assert!(err.to_string().contains("PERMISSION_DENIED"), "{err}");

    // Without the header the token endpoint refuses.
    s.config_map("team-a", "wif", "cred.json", &cfg(&audience, json!({})))
        .await;
    let c = connect(&s, store).await.unwrap();
    let err = c.validate().await.unwrap_err();
    assert!(err.to_string().contains("HTTP 401"), "{err}");
}

#[tokio::test]
async fn cred_config_is_checked_like_eso() {
    let s = setup().await;
    let audience = oidc_provider(&s);
    let base = json!({
        "type": "external_account", "audience": audience, "subject_token_type": JWT,
        "token_url": STS, "credential_source": {"file": "/tmp/token"}
    });
    let with = |patch: Value| {
        let mut v = base.clone();
        for (k, val) in patch.as_object().unwrap() {
            v[k] = val.clone();
        }
        v.to_string()
    };
    let imds = "http://169.254.169.254";
    let aws = |patch: Value| {
        let mut src = json!({
            "environment_id": "aws1",
            "region_url": format!("{imds}/latest/meta-data/placement/availability-zone"),
            "url": format!("{imds}/latest/meta-data/iam/security-credentials"),
        });
        for (k, val) in patch.as_object().unwrap() {
            src[k] = val.clone();
        }
        with(json!({"subject_token_type": AWS_TYPE, "credential_source": src}))
    };
    // (what, ConfigMap value, extra store fields, expected message part)
    let cases: Vec<(&str, String, Value, &str)> = vec![
        (
            "a key file",
            with(json!({"type": "service_account"})),
            json!({}),
            "'type' field",
        ),
        (
            "another token URL",
            with(json!({"token_url": "https://sts.example.com/v1/token"})),
            json!({}),
            "token_url",
        ),
        (
            "another impersonation URL",
            with(
                json!({"service_account_impersonation_url": "https://evil.example.com/v1/projects/-/serviceAccounts/x@y:generateAccessToken"}),
            ),
            json!({}),
            "service_account_impersonation_url",
        ),
        (
            "an executable",
            with(json!({"credential_source": {"executable": {"command": "/bin/id"}}})),
            json!({}),
            "executable",
        ),
        (
            "the controller's own token",
            with(
                json!({"credential_source": {"file": "/var/run/secrets/kubernetes.io/serviceaccount/token"}}),
            ),
            json!({}),
            "own service-account token",
        ),
        (
            "the controller's own token, spelled otherwise",
            with(
                json!({"credential_source": {"file": "/var/run/secrets//kubernetes.io/./serviceaccount/../serviceaccount/token"}}),
            ),
            json!({}),
            "own service-account token",
        ),
        (
            "no credential source",
            with(json!({"credential_source": null})),
            json!({}),
            "credential_source is missing",
        ),
        (
            "a URL without externalTokenEndpoint",
            with(json!({"credential_source": {"url": "https://idp.example.com/token"}})),
            json!({}),
            "externalTokenEndpoint",
        ),
        (
            "a URL other than externalTokenEndpoint",
            with(json!({"credential_source": {"url": "https://idp.example.com/token"}})),
            json!({"externalTokenEndpoint": "https://idp.example.com/other"}),
            "externalTokenEndpoint",
        ),
        (
            "a file with externalTokenEndpoint",
            base.to_string(),
            json!({"externalTokenEndpoint": "https://idp.example.com/token"}),
            "externalTokenEndpoint",
        ),
        (
            "json format without field",
            with(json!({"credential_source": {"file": "/tmp/t", "format": {"type": "json"}}})),
            json!({}),
            "subject_token_field_name",
        ),
        (
            "another format",
            with(json!({"credential_source": {"file": "/tmp/t", "format": {"type": "xml"}}})),
            json!({}),
            "not text or json",
        ),
        (
            "no audience anywhere",
            with(json!({"audience": ""})),
            json!({}),
            "audience is empty",
        ),
        (
            "a short impersonation lifetime",
            with(
                json!({"service_account_impersonation_url": impersonation_url(GSA), "service_account_impersonation": {"token_lifetime_seconds": 100}}),
            ),
            json!({}),
            "token_lifetime_seconds",
        ),
        (
            "AWS version 2",
            aws(json!({"environment_id": "aws2"})),
            json!({}),
            "version 1",
        ),
        (
            "not AWS",
            aws(json!({"environment_id": "azure1"})),
            json!({}),
            "must start with aws",
        ),
        (
            "AWS credentials elsewhere",
            aws(
                json!({"url": "http://evil.example.com/latest/meta-data/iam/security-credentials"}),
            ),
            json!({}),
            "credential_source.aws.url",
        ),
        (
            "AWS region elsewhere",
            aws(json!({"region_url": "http://169.254.169.254/latest/meta-data/other"})),
            json!({}),
            "region_url",
        ),
        (
            "AWS session token elsewhere",
            aws(json!({"imdsv2_session_token_url": "http://evil.example.com/latest/api/token"})),
            json!({}),
            "imdsv2_session_token_url",
        ),
        (
            "not JSON",
            "{\"type\": \"external_account\", SECRETISH".to_string(),
            json!({}),
            "line 1 column",
        ),
        ("an empty value", " ".to_string(), json!({}), "empty value"),
        (
            "credConfig and serviceAccountRef",
            base.to_string(),
            json!({"serviceAccountRef": {"name": "eso"}}),
            "exactly one",
        ),
        (
            "credConfig in another namespace",
            base.to_string(),
            json!({"credConfig": {"name": "wif", "key": "cred.json", "namespace": "team-b"}}),
            "not allowed in a SecretStore",
        ),
        (
            "a missing key",
            base.to_string(),
            json!({"credConfig": {"name": "wif", "key": "other.json"}}),
            "has no key",
        ),
        (
            "a missing ConfigMap",
            base.to_string(),
            json!({"credConfig": {"name": "absent", "key": "cred.json"}}),
            "cannot get ConfigMap",
        ),
    ];
    for (what, value, extra, expected) in cases {
        s.config_map("team-a", "wif", "cred.json", &value).await;
        let err = connect(&s, cred_store(extra))
            .await
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(
            matches!(err, ProviderError::InvalidConfig(_)),
            "{what}: {err}"
        );
        assert!(err.to_string().contains(expected), "{what}: {err}");
        assert!(!err.to_string().contains("SECRETISH"), "{what}: {err}");
    }
}

#[tokio::test]
async fn cred_config_aws_source_reads_the_instance_metadata_service() {
    let s = setup().await;
    s.fake
        .put_secret(PROJECT, None, "db", &[], &[], &[b"from-aws"]);
    let audience = s
        .fake
        .add_aws_wif_provider(NUMBER, "aws-pool", "aws", "123456789012");
    let arn = "arn:aws:sts::123456789012:assumed-role/eso-node/i-0abc";
    s.fake
        .add_aws_key("ASIAINSTANCE", "inst-secret", Some("inst-session"), arn);
    s.fake
        .set_aws_instance("eu-west-1b", "eso-node", "ASIAINSTANCE", true);
    s.fake.grant(
        &wif_principal(&pool("aws-pool"), arn),
        PROJECT,
        Access::Read,
    );
    let imds = "http://169.254.169.254";
    let cfg = |session: bool| {
        let mut src = json!({
            "environment_id": "aws1",
            "region_url": format!("{imds}/latest/meta-data/placement/availability-zone"),
            "url": format!("{imds}/latest/meta-data/iam/security-credentials"),
            "regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"
        });
        if session {
            src["imdsv2_session_token_url"] = json!(format!("{imds}/latest/api/token"));
        }
        json!({"type": "external_account", "audience": audience, "subject_token_type": AWS_TYPE,
               "token_url": STS, "credential_source": src})
        .to_string()
    };
    s.config_map("team-a", "wif", "cred.json", &cfg(true)).await;
    let c = connect(&s, cred_store(json!({}))).await.unwrap();
    assert_eq!(get(&*c, "db", None, None, false).await.unwrap(), "from-aws");
    // Session token, zone, role, keys.
    assert_eq!(s.fake.calls("AwsMetadata"), 4);
    // An IMDSv2-only instance refuses a configuration without a session token URL.
    s.config_map("team-a", "wif", "cred.json", &cfg(false))
        .await;
    let c = connect(&s, cred_store(json!({}))).await.unwrap();
    let err = c.validate().await.unwrap_err();
    assert!(err.to_string().contains("HTTP 401"), "{err}");
}

#[tokio::test]
async fn aws_security_credentials_sign_get_caller_identity() {
    let s = setup().await;
    s.fake
        .put_secret(PROJECT, None, "db", &[], &[], &[b"via-keys"]);
    let audience = s
        .fake
        .add_aws_wif_provider(NUMBER, "aws-pool", "aws", "123456789012");
    let arn = "arn:aws:iam::123456789012:user/eso";
    s.fake
        .add_aws_key("AKIASTORE", "store-secret", Some("store-session"), arn);
    let principal = wif_principal(&pool("aws-pool"), arn);
    s.secret(
        "team-a",
        "aws-creds",
        json!({"aws_access_key_id": "AKIASTORE", "aws_secret_access_key": "store-secret", "aws_session_token": "store-session"}),
    )
    .await;
    let store = |extra: Value| {
        let mut wif = json!({
            "audience": audience,
            "awsSecurityCredentials": {"region": "eu-west-1", "awsCredentialsSecretRef": {"name": "aws-creds"}}
        });
        if let (Some(w), Some(e)) = (wif.as_object_mut(), extra.as_object()) {
            w.extend(e.clone());
        }
        json!({"projectID": PROJECT, "auth": {"workloadIdentityFederation": wif}})
    };
    // The signed request is accepted; the federated identity has no access yet.
    let c = connect(&s, store(json!({}))).await.unwrap();
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Ready);
    let err = get(&*c, "db", None, None, false).await.unwrap_err();
    assert!(err.to_string().contains("PERMISSION_DENIED"), "{err}");
    s.fake.grant(&principal, PROJECT, Access::Read);
    assert_eq!(get(&*c, "db", None, None, false).await.unwrap(), "via-keys");
    // Impersonation of gcpServiceAccountEmail.
    s.fake.allow_impersonation(&principal, GSA);
    s.fake
        .grant(&service_account_principal(GSA), PROJECT, Access::Read);
    s.fake.revoke(&principal, PROJECT);
    let c = connect(&s, store(json!({"gcpServiceAccountEmail": GSA})))
        .await
        .unwrap();
    assert_eq!(get(&*c, "db", None, None, false).await.unwrap(), "via-keys");
    // Rotated to a wrong secret key: the next token fails at STS, the key never shows.
    s.secret(
        "team-a",
        "aws-creds",
        json!({"aws_access_key_id": "AKIASTORE", "aws_secret_access_key": "not-the-key", "aws_session_token": "store-session"}),
    )
    .await;
    let c = connect(&s, store(json!({}))).await.unwrap();
    let err = c.validate().await.unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");
    assert!(!err.to_string().contains("not-the-key"), "{err}");
    // Refused configurations.
    s.secret("team-a", "half", json!({"aws_access_key_id": "AKIASTORE"}))
        .await;
    let cases = [
        (
            json!({"projectID": PROJECT, "auth": {"workloadIdentityFederation": {
                "audience": audience,
                "awsSecurityCredentials": {"region": "eu-west-1", "awsCredentialsSecretRef": {"name": "half"}}}}}),
            "aws_secret_access_key keys must be present",
        ),
        (
            json!({"projectID": PROJECT, "auth": {"workloadIdentityFederation": {
                "awsSecurityCredentials": {"region": "eu-west-1", "awsCredentialsSecretRef": {"name": "aws-creds"}}}}}),
            "audience must be provided",
        ),
        (
            json!({"projectID": PROJECT, "auth": {"workloadIdentityFederation": {"audience": audience}}}),
            "exactly one",
        ),
    ];
    for (provider, expected) in cases {
        let err = connect(&s, provider).await.err().unwrap();
        assert!(matches!(err, ProviderError::InvalidConfig(_)), "{err}");
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[tokio::test]
async fn gke_workload_identity_takes_the_cluster_from_the_metadata_server() {
    let s = setup().await;
    s.fake.put_secret(PROJECT, None, "db", &[], &[], &[b"gke"]);
    let spki = s.sim.shared().tokens_issuer.public_key_der().to_vec();
    s.fake
        .trust_gke_cluster(PROJECT, "europe-west4", "prod-1", ISSUER, &spki);
    s.service_account("team-a", "eso", json!({})).await;
    s.fake.grant(
        &gke_principal(NUMBER, PROJECT, "team-a", "eso"),
        PROJECT,
        Access::Read,
    );
    // Cluster fields set, projectID unset: the cluster's project holds the secrets (as in ESO),
    // without asking the metadata server.
    let c = connect(
        &s,
        json!({"auth": {"workloadIdentity": {"serviceAccountRef": {"name": "eso"},
            "clusterProjectID": PROJECT, "clusterLocation": "europe-west4", "clusterName": "prod-1"}}}),
    )
    .await
    .unwrap();
    assert_eq!(get(&*c, "db", None, None, false).await.unwrap(), "gke");
    assert_eq!(s.fake.calls("Metadata"), 0);
    let store = json!({"auth": {"workloadIdentity": {"serviceAccountRef": {"name": "eso"}}}});
    // Nothing known yet: the error names what to set.
    let err = connect(&s, store.clone()).await.err().unwrap();
    assert!(matches!(err, ProviderError::InvalidConfig(_)), "{err}");
    assert!(err.to_string().contains("clusterProjectID"), "{err}");
    s.fake.set_metadata_project(PROJECT);
    let err = connect(&s, store.clone()).await.err().unwrap();
    assert!(
        err.to_string().contains("clusterLocation is not set"),
        "{err}"
    );
    s.fake
        .set_metadata_attribute("cluster-location", "europe-west4");
    let err = connect(&s, store.clone()).await.err().unwrap();
    assert!(err.to_string().contains("clusterName is not set"), "{err}");
    s.fake.set_metadata_attribute("cluster-name", "prod-1");
    // Project (also the secrets' project), location and name all from the metadata server.
    let c = connect(&s, store).await.unwrap();
    assert_eq!(get(&*c, "db", None, None, false).await.unwrap(), "gke");
    // Fields set on the store win over the metadata server.
    let c = connect(
        &s,
        json!({"projectID": PROJECT, "auth": {"workloadIdentity": {
            "serviceAccountRef": {"name": "eso"}, "clusterName": "other"}}}),
    )
    .await
    .unwrap();
    assert!(c.validate().await.is_err());
}

#[tokio::test]
async fn wif_service_account_ref_impersonates_the_annotated_service_account() {
    let s = setup().await;
    s.fake
        .put_secret(PROJECT, None, "db", &[], &[], &[b"annotated"]);
    let spki = s.sim.shared().tokens_issuer.public_key_der().to_vec();
    let audience = s
        .fake
        .add_wif_provider(NUMBER, "k8s", "sim", ISSUER, &spki, &[]);
    s.service_account(
        "team-a",
        "eso",
        json!({"iam.gke.io/gcp-service-account": GSA}),
    )
    .await;
    let principal = wif_principal(&pool("k8s"), "system:serviceaccount:team-a:eso");
    s.fake.allow_impersonation(&principal, GSA);
    s.fake
        .grant(&service_account_principal(GSA), PROJECT, Access::Read);
    let store = json!({"projectID": PROJECT, "auth": {"workloadIdentityFederation": {
        "audience": audience,
        "serviceAccountRef": {"name": "eso", "audiences": [format!("https:{audience}")]}
    }}});
    let c = connect(&s, store).await.unwrap();
    assert_eq!(
        get(&*c, "db", None, None, false).await.unwrap(),
        "annotated"
    );
    assert_eq!(s.fake.calls("GenerateAccessToken"), 1);
}

#[tokio::test]
async fn cluster_store_resolves_cred_config_like_other_references() {
    let s = setup().await;
    s.fake
        .put_secret(PROJECT, None, "db", &[], &[], &[b"referent"]);
    let audience = oidc_provider(&s);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, s.external_jwt("ci", "runner", EXT_AUD)).unwrap();
    s.fake.grant(
        &wif_principal(&pool("ext"), "system:serviceaccount:ci:runner"),
        PROJECT,
        Access::Read,
    );
    let cfg = json!({"type": "external_account", "audience": audience, "token_url": STS,
                     "credential_source": {"file": file}})
    .to_string();
    s.config_map("team-b", "wif", "cred.json", &cfg).await;
    // No namespace: referent, resolved in the object's namespace.
    let store = cred_store(json!({}));
    let c = s
        .connect_as(SecretStoreKind::ClusterSecretStore, "", store.clone())
        .await
        .unwrap();
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Unknown);
    let c = s
        .connect_as(SecretStoreKind::ClusterSecretStore, "team-b", store)
        .await
        .unwrap();
    assert_eq!(get(&*c, "db", None, None, false).await.unwrap(), "referent");
    // A named namespace wins.
    let named = cred_store(
        json!({"credConfig": {"name": "wif", "key": "cred.json", "namespace": "team-b"}}),
    );
    let c = s
        .connect_as(SecretStoreKind::ClusterSecretStore, "team-a", named)
        .await
        .unwrap();
    assert_eq!(get(&*c, "db", None, None, false).await.unwrap(), "referent");
}
