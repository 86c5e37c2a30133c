//! AWS authentication end to end, observed in moto's request log: a role chain
//! (`additionalRoles` then `role`) with `externalID`, `sessionTags` and `transitiveTagKeys`;
//! the `Simple` session tag policy; IRSA-style web identity from a ServiceAccount token; the
//! SDK default chain; credentials moto rejects; and a role the namespace policy forbids.

mod provider_aws_support;

use provider_aws_support::*;
use serde_json::{Value, json};

fn store(name: &str, aws: Value) -> String {
    let mut provider = json!({"service": "SecretsManager", "region": REGION});
    if let (Some(p), Some(extra)) = (provider.as_object_mut(), aws.as_object()) {
        p.extend(extra.clone());
    }
    serde_json::to_string(&json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": name},
        "spec": {"provider": {"aws": provider}}
    }))
    .unwrap()
}

fn static_keys() -> Value {
    json!({"secretRef": {
        "accessKeyIDSecretRef": {"name": "awssm-secret", "key": "access-key"},
        "secretAccessKeySecretRef": {"name": "awssm-secret", "key": "secret-access-key"}
    }})
}

fn external_secret(name: &str, store: &str, target: &str) -> String {
    serde_json::to_string(&json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": store, "kind": "SecretStore"},
            "target": {"name": target},
            "data": [{"secretKey": "value", "remoteRef": {"key": "shared/value"}}]
        }
    }))
    .unwrap()
}

/// Form fields `Prefix.member.N.Key/Value` of a query request as pairs.
fn members(body: &Value, prefix: &str) -> Vec<(String, String)> {
    (1..)
        .map_while(|i| {
            let k = body.get(format!("{prefix}.member.{i}.Key"))?.as_str()?;
            let v = body.get(format!("{prefix}.member.{i}.Value"))?.as_str()?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

#[tokio::test]
async fn role_chains_web_identity_and_default_chain_reach_moto_as_configured() {
    let env = AwsEnv::start(&[]).await;
    env.moto.start_recording().await.unwrap();
    env.sm(
        "CreateSecret",
        json!({"Name": "shared/value", "SecretString": "hello"}),
    )
    .await
    .unwrap();
    env.namespace("apps", json!({})).await;
    env.credentials_secret("apps").await;

    // additionalRoles then role, with externalID, session tags and transitive keys.
    env.apply(
        "apps",
        &store(
            "chain",
            json!({
                "auth": static_keys(),
                "additionalRoles": ["arn:aws:iam::123456789012:role/hop-1"],
                "role": "arn:aws:iam::123456789012:role/final",
                "externalID": "ext-123",
                "sessionTags": [{"key": "team", "value": "payments"}],
                "transitiveTagKeys": ["team"]
            }),
        ),
    )
    .await;
    env.apply("apps", &external_secret("via-chain", "chain", "via-chain"))
        .await;
    let synced = env
        .wait_secret("apps", "via-chain", |d| !d.is_empty())
        .await;
    assert_eq!(synced["value"], "hello");
    let assumed = env.calls("sts", "AssumeRole").await;
    let hop = assumed
        .iter()
        .position(|c| c.body["RoleArn"] == "arn:aws:iam::123456789012:role/hop-1")
        .expect("hop-1 assumed");
    let last = assumed
        .iter()
        .position(|c| c.body["RoleArn"] == "arn:aws:iam::123456789012:role/final")
        .expect("final role assumed");
    assert!(hop < last, "additionalRoles come first");
    assert_eq!(assumed[hop].access_key_id, "AKIDSEEDSTORE");
    assert_ne!(
        assumed[last].access_key_id, "AKIDSEEDSTORE",
        "the final role is assumed with the hop's credentials"
    );
    assert!(assumed[hop].body.get("ExternalId").is_none());
    assert_eq!(assumed[last].body["ExternalId"], "ext-123");
    assert_eq!(
        members(&assumed[last].body, "Tags"),
        [("team".to_string(), "payments".to_string())]
    );
    assert_eq!(assumed[last].body["TransitiveTagKeys.member.1"], "team");
    // Reads are signed with the final role's credentials.
    let reads: Vec<_> = env
        .moto
        .recorded_calls()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.service == "secretsmanager")
        .collect();
    assert!(!reads.is_empty());
    assert!(reads.iter().all(|c| c.access_key_id != "AKIDSEEDSTORE"));

    // sessionTagsPolicy Simple replaces the user's tags with the store's identity.
    env.moto.reset_recording().await.unwrap();
    env.apply(
        "apps",
        &store(
            "tagged",
            json!({
                "auth": static_keys(),
                "role": "arn:aws:iam::123456789012:role/tagged",
                "sessionTags": [{"key": "dropped", "value": "x"}],
                "sessionTagsPolicy": "Simple"
            }),
        ),
    )
    .await;
    env.wait_ready("SecretStore", "apps", "tagged", "True", Some("Valid"))
        .await;
    let tagged = env.calls("sts", "AssumeRole").await;
    let mut tags = members(&tagged[0].body, "Tags");
    tags.sort();
    assert_eq!(
        tags,
        [
            ("esoNamespace".to_string(), "apps".to_string()),
            ("esoStoreKind".to_string(), "SecretStore".to_string()),
            ("esoStoreName".to_string(), "tagged".to_string()),
        ]
    );

    // IRSA: the ServiceAccount's role, assumed with a token the cluster issued for it.
    env.moto.reset_recording().await.unwrap();
    env.apply(
        "apps",
        r#"
apiVersion: v1
kind: ServiceAccount
metadata:
  name: eso-reader
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/irsa
"#,
    )
    .await;
    env.apply(
        "apps",
        &store(
            "irsa",
            json!({"auth": {"jwt": {"serviceAccountRef": {"name": "eso-reader"}}}}),
        ),
    )
    .await;
    env.apply("apps", &external_secret("via-irsa", "irsa", "via-irsa"))
        .await;
    env.wait_secret("apps", "via-irsa", |d| {
        d.get("value").is_some_and(|v| v == "hello")
    })
    .await;
    let web = env.calls("sts", "AssumeRoleWithWebIdentity").await;
    assert!(!web.is_empty(), "no AssumeRoleWithWebIdentity recorded");
    assert_eq!(
        web[0].body["RoleArn"],
        "arn:aws:iam::123456789012:role/irsa"
    );
    let token = web[0].body["WebIdentityToken"].as_str().unwrap_or_default();
    assert_eq!(token.split('.').count(), 3, "a JWT from TokenRequest");

    // No auth: the controller's own identity (here static keys in its environment).
    env.moto.reset_recording().await.unwrap();
    env.apply("apps", &store("ambient", json!({}))).await;
    env.wait_ready("SecretStore", "apps", "ambient", "True", Some("Valid"))
        .await;
    let who = env.calls("sts", "GetCallerIdentity").await;
    assert!(
        who.iter().any(|c| c.access_key_id == "controller-identity"),
        "{who:?}"
    );
}

#[tokio::test]
async fn credentials_moto_rejects_make_the_store_not_ready_and_leave_targets_alone() {
    let mut env = AwsEnv::prepare().await;
    env.sm(
        "CreateSecret",
        json!({"Name": "shared/value", "SecretString": "hello"}),
    )
    .await
    .unwrap();
    env.moto.enforce_authentication().await.unwrap();
    env.run_controller(&[]);
    env.namespace("apps", json!({})).await;
    env.credentials_secret("apps").await;
    env.secret("apps", "target", &[("value", "previous")]).await;
    env.apply("apps", &store("wrong", json!({"auth": static_keys()})))
        .await;
    env.apply("apps", &external_secret("reader", "wrong", "target"))
        .await;

    let (_, _, message) = env
        .wait_ready(
            "SecretStore",
            "apps",
            "wrong",
            "False",
            Some("InvalidProviderConfig"),
        )
        .await;
    // The validate error (AWS's code, never a key) is in the store's Warning event.
    let events: kube::Api<k8s_openapi::api::events::v1::Event> =
        kube::Api::namespaced(env.client.clone(), "apps");
    let notes = || async {
        events
            .list(&Default::default())
            .await
            .map(|l| {
                l.items
                    .into_iter()
                    .filter_map(|e| e.note)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let event = loop {
        let all = notes().await;
        if let Some(n) = all.iter().find(|m| m.contains("InvalidClientTokenId")) {
            break n.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no event names InvalidClientTokenId: {all:?}\n{}",
            env.log_tail()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(event.contains("GetCallerIdentity"), "{event}");
    assert!(!event.contains("seed-secret") && !message.contains("seed-secret"));

    env.wait_ready("ExternalSecret", "apps", "reader", "False", None)
        .await;
    let target = env.get_secret("apps", "target").await.unwrap();
    assert_eq!(
        decoded(&target),
        [("value".to_string(), "previous".to_string())].into()
    );
}

#[tokio::test]
async fn a_role_the_namespace_policy_denies_is_never_assumed() {
    let env = AwsEnv::start(&[]).await;
    env.moto.start_recording().await.unwrap();
    env.sm(
        "CreateSecret",
        json!({"Name": "shared/value", "SecretString": "hello"}),
    )
    .await
    .unwrap();
    env.namespace(
        "locked",
        json!({"iam.amazonaws.com/permitted": "arn:aws:iam::123456789012:role/allowed-.*"}),
    )
    .await;
    env.credentials_secret("locked").await;
    env.apply(
        "locked",
        &store(
            "forbidden",
            json!({"auth": static_keys(), "role": "arn:aws:iam::123456789012:role/admin"}),
        ),
    )
    .await;
    env.apply("locked", &external_secret("reader", "forbidden", "reader"))
        .await;
    let (_, reason, message) = env
        .wait_ready("SecretStore", "locked", "forbidden", "False", None)
        .await;
    assert!(
        reason == "PolicyViolation" || message.contains("role/admin"),
        "{reason}: {message}"
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let assumed = env.calls("sts", "AssumeRole").await;
    assert!(
        assumed
            .iter()
            .all(|c| c.body["RoleArn"] != "arn:aws:iam::123456789012:role/admin"),
        "the denied role was assumed: {assumed:?}"
    );
    assert!(env.get_secret("locked", "reader").await.is_none());
}
