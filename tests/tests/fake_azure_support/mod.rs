//! Helpers shared by the table tests of the Azure fake.
#![allow(dead_code)]

use serde_json::Value;
use tests::fakes::azure::{AzureFake, ClientCredential};

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const SCOPE: &str = "https://vault.azure.net/.default";

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// A fake with one application `app` whose client secret is `s3cret`.
pub async fn fake() -> AzureFake {
    let f = AzureFake::start(TENANT).await.unwrap();
    f.add_client("app", ClientCredential::Secret("s3cret".into()));
    f
}

/// POSTs `fields` as a form to the v2.0 token endpoint of `tenant`: (status, JSON body).
pub async fn form(fake: &AzureFake, tenant: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let r = http()
        .post(format!("{}/{tenant}/oauth2/v2.0/token", fake.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}
