//! The gcpsm provider against the Google fake: latest and numbered versions, `property`,
//! `metadataPolicy: Fetch`, version selection policies, regional secrets, maps, finds with
//! filters and paging, token caching and validation.

mod provider_gcp_support;

use controller::provider::{ProviderError, SecretsClient, ValidationResult};
use provider_gcp_support::*;
use serde_json::{Value, json};
use shared::api::v1::{ExternalSecretFind, SecretStoreKind};
use tests::fakes::gcp::{Access, VersionState};

const DB_V2: &str = r#"{"user":"admin","port":5432,"nested":{"host":"db.local"},"html":"<&>"}"#;

async fn seeded() -> (Setup, Box<dyn SecretsClient>) {
    let s = setup().await;
    s.key_secret("team-a", "gcp-key", SA, Some(Access::Read))
        .await;
    s.fake.put_secret(
        PROJECT,
        None,
        "db",
        &[("env", "prod"), ("team", "a")],
        &[("owner", "payments"), ("cfg", "{\"x\":\"y\"}")],
        &[b"first", DB_V2.as_bytes()],
    );
    let c = s.key_client(json!({})).await;
    (s, c)
}

#[tokio::test]
async fn reads_versions_properties_and_metadata() {
    let (_s, c) = seeded().await;
    let c = &*c;
    assert_eq!(get(c, "db", None, None, false).await.unwrap(), DB_V2);
    assert_eq!(
        get(c, "db", None, Some("latest"), false).await.unwrap(),
        DB_V2
    );
    assert_eq!(get(c, "db", None, Some("1"), false).await.unwrap(), "first");
    // A full resource name is accepted as key.
    assert_eq!(
        get(c, "projects/proj-a/secrets/db", None, Some("1"), false)
            .await
            .unwrap(),
        "first"
    );
    assert_eq!(
        get(c, "db", Some("user"), None, false).await.unwrap(),
        "admin"
    );
    assert_eq!(
        get(c, "db", Some("port"), None, false).await.unwrap(),
        "5432"
    );
    assert_eq!(
        get(c, "db", Some("nested.host"), None, false)
            .await
            .unwrap(),
        "db.local"
    );
    assert_eq!(
        get(c, "db", Some("nested"), None, false).await.unwrap(),
        r#"{"host":"db.local"}"#
    );
    let err = get(c, "db", Some("nope"), None, false).await.unwrap_err();
    assert_eq!(err.to_string(), "key nope does not exist in secret db");
    // Missing secrets and versions are NoSecret (drives deletionPolicy).
    assert!(matches!(
        get(c, "missing", None, None, false).await,
        Err(ProviderError::NoSecret)
    ));
    assert!(matches!(
        get(c, "db", None, Some("7"), false).await,
        Err(ProviderError::NoSecret)
    ));
    // Metadata.
    let meta: Value = serde_json::from_str(&get(c, "db", None, None, true).await.unwrap()).unwrap();
    assert_eq!(
        meta,
        json!({"annotations": {"cfg": "{\"x\":\"y\"}", "owner": "payments"}, "labels": {"env": "prod", "team": "a"}})
    );
    assert_eq!(
        get(c, "db", Some("labels.env"), None, true).await.unwrap(),
        "prod"
    );
    assert_eq!(
        get(c, "db", Some("annotations.owner"), None, true)
            .await
            .unwrap(),
        "payments"
    );
    let labels: Value =
        serde_json::from_str(&get(c, "db", Some("labels"), None, true).await.unwrap()).unwrap();
    assert_eq!(labels, json!({"env": "prod", "team": "a"}));
    assert!(
        get(c, "db", Some("labels.missing"), None, true)
            .await
            .is_err()
    );
    assert!(matches!(
        get(c, "missing", None, None, true).await,
        Err(ProviderError::NoSecret)
    ));
}

#[tokio::test]
async fn extract_splits_the_json_payload_like_eso() {
    let (_s, c) = seeded().await;
    let map = c.get_secret_map(&r("db", None, None, false)).await.unwrap();
    let text: Vec<(String, String)> = map
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.into_vec()).unwrap()))
        .collect();
    assert_eq!(
        text,
        [
            ("html".to_string(), "<&>".to_string()),
            ("nested".into(), r#"{"host":"db.local"}"#.into()),
            ("port".into(), "5432".into()),
            ("user".into(), "admin".into()),
        ]
    );
    let nested = c
        .get_secret_map(&r("db", Some("nested"), None, false))
        .await
        .unwrap();
    assert_eq!(nested.get("host").unwrap().as_bytes(), b"db.local");
    let err = c
        .get_secret_map(&r("db", None, Some("1"), false))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid JSON"), "{err}");
}

#[tokio::test]
async fn version_selection_policy_decides_what_a_disabled_latest_means() {
    let (s, fail) = seeded().await;
    s.fake
        .set_version_state(PROJECT, None, "db", 2, VersionState::Disabled);
    let err = get(&*fail, "db", None, None, false).await.unwrap_err();
    assert!(
        err.to_string().contains("FAILED_PRECONDITION"),
        "LatestOrFail: {err}"
    );
    let fetch = s
        .key_client(json!({"secretVersionSelectionPolicy": "LatestOrFetch"}))
        .await;
    assert_eq!(
        get(&*fetch, "db", None, None, false).await.unwrap(),
        "first"
    );
    // A numbered version is never replaced.
    assert!(get(&*fetch, "db", None, Some("2"), false).await.is_err());
    s.fake
        .set_version_state(PROJECT, None, "db", 1, VersionState::Destroyed);
    // A new client: reads of one version are shared for a second within a client.
    let fetch = s
        .key_client(json!({"secretVersionSelectionPolicy": "LatestOrFetch"}))
        .await;
    let err = get(&*fetch, "db", None, None, false).await.unwrap_err();
    assert_eq!(err.to_string(), "secret \"db\" has no enabled version");
}

#[tokio::test]
async fn regional_stores_read_regional_secrets() {
    let (s, _) = seeded().await;
    s.fake.put_secret(
        PROJECT,
        Some("europe-west1"),
        "db",
        &[],
        &[],
        &[b"regional"],
    );
    let c = s.key_client(json!({"location": "europe-west1"})).await;
    assert_eq!(get(&*c, "db", None, None, false).await.unwrap(), "regional");
    assert!(matches!(
        get(&*c, "only-global", None, None, false).await,
        Err(ProviderError::NoSecret)
    ));
}

fn find(v: Value) -> ExternalSecretFind {
    serde_json::from_value(v).unwrap()
}

async fn found(c: &dyn SecretsClient, f: Value) -> Vec<(String, String)> {
    c.get_all_secrets(&find(f))
        .await
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.into_vec()).unwrap()))
        .collect()
}

#[tokio::test]
async fn finds_by_name_and_labels_across_pages() {
    let (s, c) = seeded().await;
    for i in 0..5 {
        let env = if i % 2 == 0 { "prod" } else { "dev" };
        s.fake.put_secret(
            PROJECT,
            None,
            &format!("app-{i}"),
            &[("env", env)],
            &[],
            &[format!("v{i}").as_bytes()],
        );
    }
    s.fake
        .put_secret(PROJECT, None, "app-empty", &[("env", "prod")], &[], &[]);
    s.fake.set_default_page_size(2);
    s.fake.reset_calls();
    let by_name = found(&*c, json!({"name": {"regexp": "^app-[0-3]$"}})).await;
    assert_eq!(
        by_name,
        [
            ("app-0".into(), "v0".into()),
            ("app-1".into(), "v1".into()),
            ("app-2".into(), "v2".into()),
            ("app-3".into(), "v3".into())
        ]
    );
    // 8 secrets at 2 per page; one access per match.
    assert_eq!(s.fake.calls("ListSecrets"), 4);
    assert_eq!(s.fake.calls("AccessSecretVersion"), 4);
    s.fake.reset_calls();
    let by_label = found(&*c, json!({"tags": {"env": "prod"}})).await;
    assert_eq!(
        by_label,
        [
            ("app-0".into(), "v0".into()),
            ("app-2".into(), "v2".into()),
            ("app-4".into(), "v4".into()),
            ("db".into(), DB_V2.into())
        ],
        "a secret without versions is skipped"
    );
    assert_eq!(
        s.fake.calls("ListSecrets"),
        3,
        "5 prod secrets at 2 per page"
    );
    let both = found(
        &*c,
        json!({"tags": {"env": "prod"}, "name": {"regexp": "app"}}),
    )
    .await;
    assert_eq!(both.len(), 3);
    let err = c.get_all_secrets(&find(json!({}))).await.unwrap_err();
    assert!(matches!(err, ProviderError::InvalidConfig(_)));
}

#[tokio::test]
async fn tokens_are_cached_and_renewed_when_refused() {
    let (s, c) = seeded().await;
    s.fake.reset_calls();
    for v in ["1", "2", "latest"] {
        get(&*c, "db", None, Some(v), false).await.unwrap();
    }
    assert_eq!(s.fake.calls("Token"), 1, "one token for many calls");
    // Reads of the same version within a second share one call.
    get(&*c, "db", Some("user"), None, false).await.unwrap();
    assert_eq!(s.fake.calls("AccessSecretVersion"), 3);
    s.fake.expire_tokens();
    get(&*c, "db", None, None, true).await.unwrap();
    assert_eq!(s.fake.calls("Token"), 2, "a refused token is replaced once");
    assert_eq!(s.fake.calls("GetSecret"), 2, "the refused call is retried");
    // Short-lived tokens are renewed before they run out.
    s.fake.set_token_lifetime(120);
    let short = s.key_client(json!({})).await;
    s.fake.reset_calls();
    get(&*short, "db", None, Some("1"), false).await.unwrap();
    get(&*short, "db", None, Some("2"), false).await.unwrap();
    assert_eq!(s.fake.calls("Token"), 2);
}

#[tokio::test]
async fn validation_fetches_a_token_and_reports_auth_failures() {
    let (s, c) = seeded().await;
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Ready);
    // The key was deleted at Google: the store must not be Ready.
    s.fake.delete_keys(SA);
    let fresh = s.key_client(json!({})).await;
    let err = fresh.validate().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "unable to get a Google access token (service account key): invalid_grant: Invalid grant: account not found"
    );
    // Missing permission shows on use, with Google's status.
    s.key_secret(
        "team-a",
        "gcp-key",
        "nobody@proj-a.iam.gserviceaccount.com",
        None,
    )
    .await;
    let nobody = s.key_client(json!({})).await;
    assert_eq!(nobody.validate().await.unwrap(), ValidationResult::Ready);
    let err = get(&*nobody, "db", None, None, false).await.unwrap_err();
    assert!(err.to_string().contains("403 PERMISSION_DENIED"), "{err}");
    // A referent ClusterSecretStore cannot be checked without an object namespace.
    let referent = s
        .connect_as(
            SecretStoreKind::ClusterSecretStore,
            "",
            json!({"projectID": PROJECT, "auth": {"secretRef": {"secretAccessKeySecretRef": {"name": "gcp-key", "key": "sa.json"}}}}),
        )
        .await
        .unwrap();
    assert_eq!(
        referent.validate().await.unwrap(),
        ValidationResult::Unknown
    );
}
