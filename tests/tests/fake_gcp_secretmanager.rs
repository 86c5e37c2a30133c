//! Table tests of the Google fake's Secret Manager v1 API, written from Google's REST
//! documentation before any provider uses it.

mod fake_gcp_support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fake_gcp_support::*;
use serde_json::{Value, json};
use tests::fakes::gcp::{Access, VersionState, service_account_principal};

#[tokio::test]
async fn secret_manager_authentication_and_authorisation() {
    use reqwest::Method as M;
    let f = fake().await;
    let writer = f.token_for(&service_account_principal(SA));
    f.grant(&service_account_principal(SA), "proj-a", Access::Write);
    let reader_p = service_account_principal("ro@proj-a.iam.gserviceaccount.com");
    f.grant(&reader_p, "proj-a", Access::Read);
    let reader = f.token_for(&reader_p);
    let stranger = f.token_for(&service_account_principal(
        "x@other.iam.gserviceaccount.com",
    ));
    f.put_secret("proj-a", None, "db", &[], &[], &[b"v1"]);
    let access = sm(&f, "projects/proj-a/secrets/db/versions/latest:access");
    let table: Vec<ApiCase> = vec![
        (
            "no credentials",
            M::GET,
            access.clone(),
            None,
            None,
            401,
            "UNAUTHENTICATED",
        ),
        (
            "unknown token",
            M::GET,
            access.clone(),
            Some("ya29.nope"),
            None,
            401,
            "UNAUTHENTICATED",
        ),
        (
            "no role",
            M::GET,
            access.clone(),
            Some(&stranger),
            None,
            403,
            "PERMISSION_DENIED",
        ),
        (
            "unknown project",
            M::GET,
            sm(&f, "projects/nope/secrets/db/versions/latest:access"),
            Some(&writer),
            None,
            403,
            "PERMISSION_DENIED",
        ),
        (
            "reader reads",
            M::GET,
            access.clone(),
            Some(&reader),
            None,
            200,
            "",
        ),
        (
            "reader cannot add",
            M::POST,
            sm(&f, "projects/proj-a/secrets/db:addVersion"),
            Some(&reader),
            Some(payload("x")),
            403,
            "PERMISSION_DENIED",
        ),
        (
            "writer adds",
            M::POST,
            sm(&f, "projects/proj-a/secrets/db:addVersion"),
            Some(&writer),
            Some(payload("x")),
            200,
            "",
        ),
        (
            "unknown method",
            M::GET,
            sm(&f, "projects/proj-a/secrets/db:frobnicate"),
            Some(&writer),
            None,
            404,
            "NOT_FOUND",
        ),
    ];
    for (what, method, url, token, body, status, grpc) in table {
        let (code, b) = call(method, &url, token, body).await;
        assert_eq!(code, status, "{what}: {b}");
        if status != 200 {
            assert_eq!(error_of(&b), (i64::from(status), grpc), "{what}: {b}");
            assert!(
                b["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
        }
    }
    // An expired token is refused.
    f.expire_tokens();
    let (code, b) = call(M::GET, &access, Some(&writer), None).await;
    assert_eq!((code, error_of(&b).1), (401, "UNAUTHENTICATED"));
}

#[tokio::test]
async fn secrets_versions_and_access() {
    use reqwest::Method as M;
    let f = fake().await;
    f.grant(&service_account_principal(SA), "proj-a", Access::Write);
    let t = f.token_for(&service_account_principal(SA));
    let t = Some(t.as_str());
    let create = |id: &str| sm(&f, &format!("projects/proj-a/secrets?secretId={id}"));
    // Global secrets need a replication policy.
    let (code, b) = call(M::POST, &create("db"), t, Some(json!({}))).await;
    assert_eq!((code, error_of(&b).1), (400, "INVALID_ARGUMENT"));
    let (code, b) = call(
        M::POST,
        &create("bad.id"),
        t,
        Some(json!({"replication": {"automatic": {}}})),
    )
    .await;
    assert_eq!((code, error_of(&b).1), (400, "INVALID_ARGUMENT"), "{b}");
    let (code, b) = call(
        M::POST,
        &create("db"),
        t,
        Some(json!({"replication": {"automatic": {}}, "labels": {"Env": "x"}})),
    )
    .await;
    assert_eq!(
        (code, error_of(&b).1),
        (400, "INVALID_ARGUMENT"),
        "upper-case label key: {b}"
    );
    let (code, b) = call(
        M::POST,
        &create("db"),
        t,
        Some(json!({"replication": {"automatic": {}}, "labels": {"env": "prod"}, "annotations": {"owner/team": "Payments Team"}})),
    )
    .await;
    assert_eq!(code, 200, "{b}");
    // Names carry the project number.
    assert_eq!(b["name"], format!("projects/{NUM}/secrets/db"));
    assert_eq!(b["labels"], json!({"env": "prod"}));
    assert_eq!(b["annotations"], json!({"owner/team": "Payments Team"}));
    assert!(b["etag"].is_string() && b["createTime"].is_string());
    let (code, b) = call(
        M::POST,
        &create("db"),
        t,
        Some(json!({"replication": {"automatic": {}}})),
    )
    .await;
    assert_eq!((code, error_of(&b).1), (409, "ALREADY_EXISTS"));

    // No versions yet.
    let latest = sm(&f, "projects/proj-a/secrets/db/versions/latest:access");
    let (code, b) = call(M::GET, &latest, t, None).await;
    assert_eq!((code, error_of(&b).1), (404, "NOT_FOUND"));
    let add = sm(&f, "projects/proj-a/secrets/db:addVersion");
    let (code, b) = call(M::POST, &add, t, Some(json!({"payload": {}}))).await;
    assert_eq!(
        (code, error_of(&b).1),
        (400, "INVALID_ARGUMENT"),
        "empty payload"
    );
    let (code, b) = call(
        M::POST,
        &add,
        t,
        Some(json!({"payload": {"data": STANDARD.encode("x"), "dataCrc32c": "1"}})),
    )
    .await;
    assert_eq!(
        (code, error_of(&b).1),
        (400, "INVALID_ARGUMENT"),
        "bad checksum"
    );
    for v in ["s3cret-1", "s3cret-2", "s3cret-3"] {
        let (code, b) = call(M::POST, &add, t, Some(payload(v))).await;
        assert_eq!(code, 200, "{b}");
        assert_eq!(b["state"], "ENABLED");
    }
    let (code, b) = call(M::GET, &latest, t, None).await;
    assert_eq!(code, 200);
    assert_eq!(b["name"], format!("projects/{NUM}/secrets/db/versions/3"));
    assert_eq!(
        STANDARD
            .decode(b["payload"]["data"].as_str().unwrap())
            .unwrap(),
        b"s3cret-3"
    );
    // Known CRC32C test vector: "123456789" → 0xE3069283.
    f.put_secret("proj-a", None, "crc", &[], &[], &[b"123456789"]);
    let (_, b) = call(
        M::GET,
        &sm(&f, "projects/proj-a/secrets/crc/versions/1:access"),
        t,
        None,
    )
    .await;
    assert_eq!(
        b["payload"]["dataCrc32c"],
        json!(0xE306_9283u32.to_string())
    );
    let (code, b) = call(
        M::GET,
        &sm(&f, "projects/proj-a/secrets/db/versions/1:access"),
        t,
        None,
    )
    .await;
    assert_eq!(
        (
            code,
            STANDARD
                .decode(b["payload"]["data"].as_str().unwrap())
                .unwrap()
        ),
        (200, b"s3cret-1".to_vec())
    );
    let (code, b) = call(
        M::GET,
        &sm(&f, "projects/proj-a/secrets/db/versions/9:access"),
        t,
        None,
    )
    .await;
    assert_eq!((code, error_of(&b).1), (404, "NOT_FOUND"));
    let (code, b) = call(
        M::GET,
        &sm(&f, "projects/proj-a/secrets/nope/versions/latest:access"),
        t,
        None,
    )
    .await;
    assert_eq!((code, error_of(&b).1), (404, "NOT_FOUND"));
    // A disabled latest version cannot be accessed: FAILED_PRECONDITION.
    let (code, b) = call(
        M::POST,
        &sm(&f, "projects/proj-a/secrets/db/versions/3:disable"),
        t,
        Some(json!({})),
    )
    .await;
    assert_eq!((code, b["state"].as_str()), (200, Some("DISABLED")));
    let (code, b) = call(M::GET, &latest, t, None).await;
    assert_eq!(
        (code, error_of(&b)),
        (400, (400, "FAILED_PRECONDITION")),
        "{b}"
    );
    // Versions list newest first, filterable by state.
    let (code, b) = call(
        M::GET,
        &sm(
            &f,
            "projects/proj-a/secrets/db/versions?filter=state:ENABLED",
        ),
        t,
        None,
    )
    .await;
    assert_eq!(code, 200);
    let names: Vec<&str> = b["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            format!("projects/{NUM}/secrets/db/versions/2"),
            format!("projects/{NUM}/secrets/db/versions/1")
        ]
    );

    // Patch labels/annotations with an update mask; etags guard deletes.
    let get = sm(&f, "projects/proj-a/secrets/db");
    let (code, b) = call(M::PATCH, &get, t, Some(json!({"labels": {"env": "dev"}}))).await;
    assert_eq!(
        (code, error_of(&b).1),
        (400, "INVALID_ARGUMENT"),
        "no updateMask"
    );
    let (code, b) = call(
        M::PATCH,
        &format!("{get}?updateMask=labels"),
        t,
        Some(json!({"labels": {"env": "dev"}, "annotations": {"ignored": "x"}})),
    )
    .await;
    assert_eq!(code, 200, "{b}");
    assert_eq!(b["labels"], json!({"env": "dev"}));
    assert_eq!(
        b["annotations"],
        json!({"owner/team": "Payments Team"}),
        "only masked fields change"
    );
    let (code, b) = call(M::DELETE, &format!("{get}?etag=%22stale%22"), t, None).await;
    assert_eq!((code, error_of(&b).1), (409, "ABORTED"));
    let (code, _) = call(M::DELETE, &get, t, None).await;
    assert_eq!(code, 200);
    let (code, b) = call(M::GET, &get, t, None).await;
    assert_eq!((code, error_of(&b).1), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn list_filters_and_pages() {
    use reqwest::Method as M;
    let f = fake().await;
    f.grant(&service_account_principal(SA), "proj-a", Access::Read);
    let t = f.token_for(&service_account_principal(SA));
    for i in 0..7 {
        let env = if i % 2 == 0 { "prod" } else { "dev" };
        f.put_secret(
            "proj-a",
            None,
            &format!("app-{i}"),
            &[("env", env), ("team", "a")],
            &[],
            &[b"v"],
        );
    }
    f.put_secret("proj-a", None, "other", &[("env", "prod")], &[], &[b"v"]);
    f.put_secret(
        "proj-a",
        Some("europe-west1"),
        "regional",
        &[("env", "prod")],
        &[],
        &[b"v"],
    );
    let list = |q: &str| sm(&f, &format!("projects/proj-a/secrets?{q}"));
    let names = |b: &Value| -> Vec<String> {
        b["secrets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        s["name"]
                            .as_str()
                            .unwrap()
                            .rsplit('/')
                            .next()
                            .unwrap()
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let table: Vec<(&str, Vec<&str>)> = vec![
        (
            "filter=labels.env%3Dprod",
            vec!["app-0", "app-2", "app-4", "app-6", "other"],
        ),
        (
            "filter=labels.env%3Dprod%20labels.team%3Da",
            vec!["app-0", "app-2", "app-4", "app-6"],
        ),
        (
            "filter=labels.env%3Dprod%20AND%20name%3Aother",
            vec!["other"],
        ),
        (
            "filter=labels.team%3A*",
            vec![
                "app-0", "app-1", "app-2", "app-3", "app-4", "app-5", "app-6",
            ],
        ),
        ("filter=NOT%20labels.team%3A*", vec!["other"]),
        ("filter=name%3Aapp-1", vec!["app-1"]),
        ("filter=labels.env%3Dstaging", vec![]),
    ];
    for (q, want) in table {
        let (code, b) = call(M::GET, &list(q), Some(&t), None).await;
        assert_eq!(code, 200, "{q}: {b}");
        assert_eq!(names(&b), want, "{q}");
    }
    let (code, b) = call(
        M::GET,
        &list("filter=labels.env%3Dprod%20OR%20x"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!((code, error_of(&b).1), (400, "INVALID_ARGUMENT"));
    let (code, b) = call(M::GET, &list("filter=bogus%3Dx"), Some(&t), None).await;
    assert_eq!((code, error_of(&b).1), (400, "INVALID_ARGUMENT"));
    // Paging: pageSize bounds each answer, nextPageToken continues, totalSize counts all.
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let (code, b) = call(
            M::GET,
            &list(&format!("pageSize=3&pageToken={token}")),
            Some(&t),
            None,
        )
        .await;
        assert_eq!(code, 200);
        assert_eq!(b["totalSize"], 8);
        seen.extend(names(&b));
        pages += 1;
        match b["nextPageToken"].as_str() {
            Some(n) => token = n.to_string(),
            None => break,
        }
    }
    assert_eq!((pages, seen.len()), (3, 8));
    let (code, b) = call(M::GET, &list("pageToken=garbage"), Some(&t), None).await;
    assert_eq!((code, error_of(&b).1), (400, "INVALID_ARGUMENT"));
    // The server picks the page size when none is asked for.
    f.set_default_page_size(5);
    let (_, b) = call(M::GET, &list(""), Some(&t), None).await;
    assert_eq!((names(&b).len(), b["nextPageToken"].is_string()), (5, true));
    // Regional secrets live under locations/* only.
    let (_, b) = call(
        M::GET,
        &sm(&f, "projects/proj-a/locations/europe-west1/secrets"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(
        b["secrets"][0]["name"],
        format!("projects/{NUM}/locations/europe-west1/secrets/regional")
    );
    assert!(b["secrets"][0].get("replication").is_none());
    let (code, b) = call(
        M::GET,
        &sm(
            &f,
            "projects/proj-a/locations/europe-west1/secrets/regional/versions/latest:access",
        ),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(code, 200, "{b}");
    let (code, _) = call(
        M::GET,
        &sm(&f, "projects/proj-a/secrets/regional"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(code, 404);
    let (_, b) = call(
        M::GET,
        &sm(&f, "projects/proj-a/locations/us-east1/secrets"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(b, json!({}), "empty lists omit their fields");
}

#[tokio::test]
async fn regional_secrets_take_no_replication() {
    use reqwest::Method as M;
    let f = fake().await;
    f.grant(&service_account_principal(SA), "proj-a", Access::Write);
    let t = f.token_for(&service_account_principal(SA));
    let url = sm(
        &f,
        "projects/proj-a/locations/europe-west1/secrets?secretId=r",
    );
    let (code, b) = call(
        M::POST,
        &url,
        Some(&t),
        Some(json!({"replication": {"automatic": {}}})),
    )
    .await;
    assert_eq!((code, error_of(&b).1), (400, "INVALID_ARGUMENT"));
    let (code, b) = call(M::POST, &url, Some(&t), Some(json!({}))).await;
    assert_eq!(code, 200, "{b}");
    assert_eq!(
        b["name"],
        format!("projects/{NUM}/locations/europe-west1/secrets/r")
    );
    f.set_version_state(
        "proj-a",
        Some("europe-west1"),
        "r",
        1,
        VersionState::Disabled,
    );
}
