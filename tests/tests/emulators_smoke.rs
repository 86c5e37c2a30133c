//! The emulator launchers start real moto and OpenBao processes that answer their APIs.

use serde_json::json;
use tests::emulators::{Bao, Moto};

#[tokio::test]
async fn moto_secretsmanager_create_then_get_round_trips() {
    let moto = Moto::start().await.expect("start moto");
    let created = moto
        .create_secret("app/db", r#"{"user":"u","pass":"p"}"#)
        .await
        .unwrap();
    let arn = created["ARN"].as_str().unwrap_or_default();
    assert!(
        arn.starts_with("arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db"),
        "{created}"
    );

    let fetched = moto.get_secret_value("app/db").await.unwrap();
    assert_eq!(fetched["SecretString"], r#"{"user":"u","pass":"p"}"#);
    assert_eq!(fetched["Name"], "app/db");

    moto.put_secret_value("app/db", "v2").await.unwrap();
    assert_eq!(
        moto.get_secret_value("app/db").await.unwrap()["SecretString"],
        "v2"
    );

    let missing = moto
        .get_secret_value("does/not/exist")
        .await
        .unwrap_err()
        .to_string();
    assert!(missing.contains("ResourceNotFoundException"), "{missing}");

    moto.reset().await.unwrap();
    assert!(
        moto.get_secret_value("app/db").await.is_err(),
        "reset clears state"
    );
}

#[tokio::test]
async fn moto_ssm_put_then_get_parameter() {
    let mut moto = Moto::start().await.expect("start moto");
    moto.put_parameter("/team/param", "plain", "String")
        .await
        .unwrap();
    moto.put_parameter("/team/secure", "s3cret", "SecureString")
        .await
        .unwrap();
    let plain = moto.get_parameter("/team/param").await.unwrap();
    assert_eq!(plain["Parameter"]["Value"], "plain");
    let secure = moto.get_parameter("/team/secure").await.unwrap();
    assert_eq!(secure["Parameter"]["Value"], "s3cret");
    assert_eq!(secure["Parameter"]["Type"], "SecureString");
    assert!(moto.is_running());
}

#[tokio::test]
async fn bao_kv2_write_then_read() {
    let bao = Bao::start().await.expect("start bao");
    assert!(bao.addr().starts_with("http://127.0.0.1:"));
    bao.kv2_put("secret", "app/config", &json!({"user": "u", "pass": "p"}))
        .await
        .unwrap();
    let data = bao.kv2_get("secret", "app/config").await.unwrap();
    assert_eq!(data, json!({"user": "u", "pass": "p"}));
    let second = bao
        .kv2_put("secret", "app/config", &json!({"user": "u2"}))
        .await
        .unwrap();
    assert_eq!(second["data"]["version"], 2);
    let missing = bao.kv2_get("secret", "nope").await.unwrap_err().to_string();
    assert!(missing.contains("404"), "{missing}");
}

#[tokio::test]
async fn bao_kv1_mount_write_then_read() {
    let bao = Bao::start().await.expect("start bao");
    bao.mount_kv("kv1", 1).await.unwrap();
    bao.kv1_put("kv1", "team/a", &json!({"token": "t"}))
        .await
        .unwrap();
    assert_eq!(
        bao.kv1_get("kv1", "team/a").await.unwrap(),
        json!({"token": "t"})
    );
    assert_eq!(bao.token(), "root");
}

#[tokio::test]
async fn dropping_a_launcher_stops_its_process() {
    let bao = Bao::start().await.expect("start bao");
    let addr = bao.addr().to_string();
    drop(bao);
    let probe = reqwest::Client::new()
        .get(format!("{addr}/v1/sys/health"))
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await;
    assert!(probe.is_err(), "server still answering after drop");
}
