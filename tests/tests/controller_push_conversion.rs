//! `data[].conversionStrategy: ReverseUnicode` (the PushSecret guide's "Key conversion
//! strategy"): a key that an ExternalSecret stored with Unicode conversion (`/` became
//! `_U002F_`) is matched by its original name and pushed; without the strategy the original
//! name does not exist and the push fails naming the key.

mod controller_push_support;

use controller_push_support::*;

const STORE: &str = "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: fake}\nspec:\n  provider:\n    fake:\n      data: []\n";

const SOURCE: &str = "apiVersion: v1\nkind: Secret\nmetadata: {name: converted}\nstringData: {db_U002F_password: hunter2}\n";

fn push(name: &str, strategy: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {{name: {name}}}\nspec:\n  secretStoreRefs: [{{name: fake, kind: SecretStore}}]\n  selector: {{secret: {{name: converted}}}}\n  data:\n  - conversionStrategy: {strategy}\n    match: {{secretKey: db/password, remoteRef: {{remoteKey: {name}-copy}}}}\n"
    )
}

#[tokio::test]
async fn reverse_unicode_restores_converted_key_names() {
    let env = start(&["default"]).await;
    env.apply("default", STORE).await;
    env.apply("default", SOURCE).await;
    env.apply("default", &push("reversed", "ReverseUnicode"))
        .await;
    env.apply("default", &push("plain", "None")).await;

    env.wait_ready_reason("default", "reversed", "Synced").await;
    assert_eq!(
        env.store_text("default", "fake", "reversed-copy")
            .await
            .as_deref(),
        Some("hunter2")
    );
    let ps = env.wait_ready_reason("default", "plain", "Errored").await;
    let message = ps.status.unwrap().conditions.unwrap()[0]
        .message
        .clone()
        .unwrap_or_default();
    assert!(message.contains("db/password"), "{message}");
    assert_eq!(env.store_text("default", "fake", "plain-copy").await, None);
}
