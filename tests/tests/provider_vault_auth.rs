//! Vault provider logins against a real OpenBao: AppRole (inline role ID and roleRef),
//! userpass, JWT and Kubernetes auth with ServiceAccount tokens from the simulator's
//! TokenRequest (OpenBao checks them through the simulator's JWKS and TokenReview), static
//! tokens; token expiry, revocation and rotation recovered without a failed read; revocation on
//! close; Vault's error text (never the token) for bad credentials.

mod provider_vault_support;

use controller::provider::{ProviderError, SecretsClient, ValidationResult};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;
use kube::api::PostParams;
use provider_vault_support::{Fixture, NS, remote_prop, text};
use reqwest::Method;
use serde_json::{Value, json};

const READ_POLICY: &str = r#"path "secret/data/*" { capabilities = ["read"] }"#;

async fn seeded() -> Fixture {
    let f = Fixture::start().await;
    f.bao.put_policy("kv-read", READ_POLICY).await.unwrap();
    f.bao
        .kv2_put("secret", "app", &json!({"k": "v"}))
        .await
        .unwrap();
    f
}

async fn reads_app(c: &dyn SecretsClient) {
    assert_eq!(
        text(c.get_secret(&remote_prop("secret/app", "k")).await.unwrap()),
        "v"
    );
}

/// Creates AppRole `name` with `extra` role settings; returns (role_id, secret_id).
async fn approle(f: &Fixture, name: &str, extra: Value) -> (String, String) {
    let mut body = json!({"token_policies": ["kv-read"]});
    provider_vault_support::merge(&mut body, extra);
    f.bao
        .api(
            Method::POST,
            &format!("auth/approle/role/{name}"),
            Some(&body),
        )
        .await
        .unwrap();
    let role_id = f
        .bao
        .api(
            Method::GET,
            &format!("auth/approle/role/{name}/role-id"),
            None,
        )
        .await
        .unwrap()["data"]["role_id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret_id = f
        .bao
        .api(
            Method::POST,
            &format!("auth/approle/role/{name}/secret-id"),
            None,
        )
        .await
        .unwrap()["data"]["secret_id"]
        .as_str()
        .unwrap()
        .to_string();
    (role_id, secret_id)
}

#[tokio::test]
async fn approle_and_userpass_logins_read_and_revoke_their_token_on_close() {
    let f = seeded().await;
    f.bao.enable_auth("approle", "approle").await.unwrap();
    let (role_id, secret_id) = approle(&f, "eso", json!({})).await;
    f.secret("approle", &[("roleId", &role_id), ("secretId", &secret_id)])
        .await;
    let server = f.bao.addr().to_string();
    let baseline = f.bao.token_count().await.unwrap();

    let inline = f
        .client(
            json!({"server": server, "auth": {"appRole": {"path": "approle",
            "roleId": role_id, "secretRef": {"name": "approle", "key": "secretId"}}}}),
        )
        .await
        .unwrap();
    assert_eq!(inline.validate().await.unwrap(), ValidationResult::Ready);
    reads_app(inline.as_ref()).await;
    assert_eq!(f.bao.token_count().await.unwrap(), baseline + 1);
    inline.close().await;
    assert_eq!(
        f.bao.token_count().await.unwrap(),
        baseline,
        "close() revokes the login token"
    );

    let by_ref = f
        .client(
            json!({"server": server, "auth": {"appRole": {"path": "approle",
            "roleRef": {"name": "approle", "key": "roleId"},
            "secretRef": {"name": "approle", "key": "secretId"}}}}),
        )
        .await
        .unwrap();
    reads_app(by_ref.as_ref()).await;
    drop(by_ref);
    // Dropped clients (evicted from the cache) revoke in the background.
    let mut left = usize::MAX;
    for _ in 0..50 {
        left = f.bao.token_count().await.unwrap();
        if left == baseline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(left, baseline, "a dropped client revokes its token");

    f.bao.enable_auth("users", "userpass").await.unwrap();
    f.bao
        .api(
            Method::POST,
            "auth/users/users/bob",
            Some(&json!({"password": "b0b-pw", "token_policies": ["kv-read"]})),
        )
        .await
        .unwrap();
    f.secret("bob", &[("password", "b0b-pw")]).await;
    let up = f
        .client(
            json!({"server": server, "auth": {"userPass": {"path": "users",
            "username": "bob", "secretRef": {"name": "bob", "key": "password"}}}}),
        )
        .await
        .unwrap();
    reads_app(up.as_ref()).await;

    // A wrong password fails the client build with Vault's message.
    f.secret("bad", &[("password", "nope")]).await;
    let err = f
        .client(
            json!({"server": server, "auth": {"userPass": {"path": "users",
            "username": "bob", "secretRef": {"name": "bad", "key": "password"}}}}),
        )
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("invalid username or password"), "{err}");
    assert!(!err.contains("nope"), "{err}");
}

#[tokio::test]
async fn jwt_and_kubernetes_logins_use_simulator_service_account_tokens() {
    let f = seeded().await;
    f.service_account("robot").await;
    let config = json!({"jwks_url": format!("{}/openid/v1/jwks", f.sim.https_url()),
        "jwks_ca_pem": f.sim.ca_pem(), "bound_issuer": tests::sim::ISSUER});
    f.bao
        .enable_jwt_auth(
            &config,
            "eso",
            "vault",
            "system:serviceaccount:team-a:robot",
        )
        .await
        .unwrap();
    f.bao
        .api(
            Method::POST,
            "auth/jwt/role/eso",
            Some(
                &json!({"role_type": "jwt", "bound_audiences": ["vault"], "user_claim": "sub",
                "bound_subject": "system:serviceaccount:team-a:robot",
                "token_policies": ["kv-read"]}),
            ),
        )
        .await
        .unwrap();
    let server = f.bao.addr().to_string();
    let jwt = f
        .client(
            json!({"server": server, "auth": {"jwt": {"path": "jwt", "role": "eso",
            "kubernetesServiceAccountToken": {"serviceAccountRef": {"name": "robot"}}}}}),
        )
        .await
        .unwrap();
    reads_app(jwt.as_ref()).await;

    // The same login with a token kept in a Secret.
    let token = Api::<ServiceAccount>::namespaced(f.kube.clone(), NS)
        .create_token_request(
            "robot",
            &PostParams::default(),
            &serde_json::from_value(json!({"spec": {"audiences": ["vault"]}})).unwrap(),
        )
        .await
        .unwrap()
        .status
        .unwrap()
        .token
        .unwrap();
    f.secret("jwt", &[("token", &token)]).await;
    let from_secret = f
        .client(json!({"server": server, "auth": {"jwt": {"role": "eso",
            "secretRef": {"name": "jwt", "key": "token"}}}}))
        .await
        .unwrap();
    reads_app(from_secret.as_ref()).await;
    // An audience the role does not accept is refused by OpenBao.
    let err = f
        .client(json!({"server": server, "auth": {"jwt": {"role": "eso",
            "kubernetesServiceAccountToken": {"serviceAccountRef": {"name": "robot"},
                "audiences": ["other"]}}}}))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("vault login failed"), "{err}");

    // Kubernetes auth: OpenBao reviews the token with the simulator's TokenReview API.
    f.bao.enable_auth("k8s", "kubernetes").await.unwrap();
    f.bao
        .api(
            Method::POST,
            "auth/k8s/config",
            Some(&json!({"kubernetes_host": f.sim.https_url(),
                "kubernetes_ca_cert": f.sim.ca_pem(), "token_reviewer_jwt": "kubesim-admin",
                "disable_local_ca_jwt": true})),
        )
        .await
        .unwrap();
    f.bao
        .api(
            Method::POST,
            "auth/k8s/role/eso",
            Some(&json!({"bound_service_account_names": ["robot"],
                "bound_service_account_namespaces": [NS], "token_policies": ["kv-read"]})),
        )
        .await
        .unwrap();
    let k8s = f
        .client(
            json!({"server": server, "auth": {"kubernetes": {"mountPath": "k8s",
            "role": "eso", "serviceAccountRef": {"name": "robot"}}}}),
        )
        .await
        .unwrap();
    reads_app(k8s.as_ref()).await;
    f.service_account("intruder").await;
    let err = f
        .client(
            json!({"server": server, "auth": {"kubernetes": {"mountPath": "k8s",
            "role": "eso", "serviceAccountRef": {"name": "intruder"}}}}),
        )
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("not authorized"), "{err}");
}

#[tokio::test]
async fn expired_and_revoked_login_tokens_are_replaced_without_a_failed_read() {
    let f = seeded().await;
    f.bao.enable_auth("approle", "approle").await.unwrap();
    let server = f.bao.addr().to_string();

    // Tokens that live two seconds and cannot be renewed past that.
    let (role_id, secret_id) = approle(
        &f,
        "short",
        json!({"token_ttl": "2s", "token_max_ttl": "2s"}),
    )
    .await;
    f.secret("short", &[("secretId", &secret_id)]).await;
    let c = f
        .client(
            json!({"server": server, "auth": {"appRole": {"roleId": role_id,
            "secretRef": {"name": "short", "key": "secretId"}}}}),
        )
        .await
        .unwrap();
    for _ in 0..4 {
        reads_app(c.as_ref()).await;
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    }

    // A token revoked behind our back: the 403 leads to a new login and the read succeeds.
    let (role_id, secret_id) = approle(&f, "long", json!({"token_ttl": "1h"})).await;
    f.secret("long", &[("secretId", &secret_id)]).await;
    let c = f
        .client(
            json!({"server": server, "auth": {"appRole": {"roleId": role_id,
            "secretRef": {"name": "long", "key": "secretId"}}}}),
        )
        .await
        .unwrap();
    reads_app(c.as_ref()).await;
    f.bao
        .api(Method::PUT, "sys/leases/revoke-prefix/auth/approle", None)
        .await
        .unwrap();
    reads_app(c.as_ref()).await;

    // A live token without permission is a policy denial: returned as is.
    f.bao.mount_kv("other", 2).await.unwrap();
    f.bao
        .kv2_put("other", "x", &json!({"k": "v"}))
        .await
        .unwrap();
    let denied = c
        .get_secret(&remote_prop("other/x", "k"))
        .await
        .unwrap_err();
    assert!(denied.to_string().contains("permission denied"), "{denied}");
}

#[tokio::test]
async fn static_tokens_are_validated_reread_after_rotation_and_never_leak() {
    let f = seeded().await;
    let server = f.bao.addr().to_string();
    let t1 = f.bao.create_token(&["kv-read"], "1h").await.unwrap();
    f.secret("tok", &[("token", &t1)]).await;
    let store =
        json!({"server": server, "auth": {"tokenSecretRef": {"name": "tok", "key": "token"}}});
    let c = f.client(store.clone()).await.unwrap();
    assert_eq!(c.validate().await.unwrap(), ValidationResult::Ready);
    reads_app(c.as_ref()).await;

    // The operator rotates the token: revoke the old one, store the new one.
    let t2 = f.bao.create_token(&["kv-read"], "1h").await.unwrap();
    f.bao.revoke_token(&t1).await.unwrap();
    f.secret("tok", &[("token", &t2)]).await;
    reads_app(c.as_ref()).await;
    // close() leaves a user's static token alone.
    c.close().await;
    let alive = f
        .bao
        .api(
            Method::POST,
            "auth/token/lookup",
            Some(&json!({"token": t2})),
        )
        .await;
    assert!(alive.is_ok(), "static token must not be revoked");

    // A wrong token: validate fails with Vault's text, without the token.
    f.secret("tok", &[("token", "hvs.not-a-real-token")]).await;
    let bad = f.client(store).await.unwrap();
    let err = bad.validate().await.unwrap_err();
    assert!(matches!(err, ProviderError::Other(_)));
    let msg = err.to_string();
    assert!(msg.starts_with("invalid vault credentials:"), "{msg}");
    assert!(msg.contains("permission denied"), "{msg}");
    assert!(!msg.contains("hvs.not-a-real-token"), "{msg}");
    let read = bad
        .get_secret(&remote_prop("secret/app", "k"))
        .await
        .unwrap_err();
    assert!(!read.to_string().contains("not-a-real"), "{read}");
}
