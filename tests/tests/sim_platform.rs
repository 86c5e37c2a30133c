//! Admission webhooks reached through a Service mapping, CRD pruning with warnings, and
//! TokenRequest tokens accepted by OpenBao's JWT auth (keys fetched from the simulator's JWKS).

use axum::Json;
use base64::Engine as _;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::{Value, json};
use tests::emulators::Bao;
use tests::sim::Sim;
use tests::sim::testwebhooks::{self, Pki};

async fn sim_with_ns(ns: &str) -> Sim {
    let sim = Sim::start().await.unwrap();
    let n: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    Api::<Namespace>::all(sim.client())
        .create(&PostParams::default(), &n)
        .await
        .unwrap();
    sim
}

/// Denies ConfigMaps labelled `deny=yes`; the mutating path adds a label.
async fn policy(Json(review): Json<Value>) -> Json<Value> {
    let req = &review["request"];
    let uid = req["uid"].clone();
    let response = if req["object"]["metadata"]["labels"]["deny"] == "yes" {
        json!({"uid": uid, "allowed": false, "status": {"code": 403, "message": "deny label set"}})
    } else if review["request"]["options"]["kind"] == "CreateOptions"
        && req["object"]["metadata"]["labels"]["mutated"].is_null()
        && req["object"]["metadata"]["labels"]["want-mutation"] == "yes"
    {
        let patch =
            json!([{"op": "add", "path": "/metadata/labels/mutated", "value": "by-webhook"}]);
        json!({"uid": uid, "allowed": true, "patchType": "JSONPatch",
            "patch": base64::engine::general_purpose::STANDARD.encode(patch.to_string()),
            "warnings": ["mutated by test webhook"]})
    } else {
        json!({"uid": uid, "allowed": true})
    };
    Json(
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}),
    )
}

fn webhook(name: &str, path: &str, ca: &str) -> Value {
    json!({"name": name, "admissionReviewVersions": ["v1"], "sideEffects": "None",
        "clientConfig": {"service": {"namespace": "hooks", "name": "policy", "path": path}, "caBundle": ca},
        "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                   "resources": ["configmaps"]}],
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "app"}}})
}

fn cm(name: &str, labels: Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_registered_through_configurations_mutate_and_deny() {
    let sim = sim_with_ns("app").await;
    let pki = Pki::new(&["policy.hooks.svc"]).unwrap();
    let router = axum::Router::new()
        .route("/validate", axum::routing::post(policy))
        .route("/mutate", axum::routing::post(policy));
    let server = testwebhooks::serve(&pki, router).await.unwrap();
    sim.map_service("hooks", "policy", 443, server.addr);
    let ca = pki.ca_bundle();
    let v: ValidatingWebhookConfiguration = serde_json::from_value(json!({
        "metadata": {"name": "policy"}, "webhooks": [webhook("validate.policy.test", "/validate", &ca)]}))
    .unwrap();
    let m: MutatingWebhookConfiguration = serde_json::from_value(json!({
        "metadata": {"name": "policy"}, "webhooks": [webhook("mutate.policy.test", "/mutate", &ca)]}))
    .unwrap();
    Api::<ValidatingWebhookConfiguration>::all(sim.client())
        .create(&PostParams::default(), &v)
        .await
        .unwrap();
    Api::<MutatingWebhookConfiguration>::all(sim.client())
        .create(&PostParams::default(), &m)
        .await
        .unwrap();

    let api: Api<ConfigMap> = Api::namespaced(sim.client(), "app");
    let created = api
        .create(
            &PostParams::default(),
            &cm("m", json!({"want-mutation": "yes"})),
        )
        .await
        .unwrap();
    assert_eq!(
        created.metadata.labels.unwrap()["mutated"],
        "by-webhook",
        "the mutating webhook's patch is stored"
    );
    let err = api
        .create(&PostParams::default(), &cm("d", json!({"deny": "yes"})))
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected an API error, got {err}")
    };
    assert_eq!(status.code, 403);
    assert_eq!(
        status.message,
        "admission webhook \"mutate.policy.test\" denied the request: deny label set"
    );
    assert!(api.get_opt("d").await.unwrap().is_none());
    // Outside the namespaceSelector nothing is called.
    let other = sim_namespace(&sim, "other").await;
    other
        .create(&PostParams::default(), &cm("d", json!({"deny": "yes"})))
        .await
        .unwrap();
}

async fn sim_namespace(sim: &Sim, ns: &str) -> Api<ConfigMap> {
    let n: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    Api::<Namespace>::all(sim.client())
        .create(&PostParams::default(), &n)
        .await
        .unwrap();
    Api::namespaced(sim.client(), ns)
}

#[tokio::test]
async fn crd_schema_defaults_prunes_and_validates() {
    let sim = sim_with_ns("app").await;
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": {"name": "gadgets.test.kubesim.io"},
        "spec": {"group": "test.kubesim.io", "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["size"], "properties": {
                        "size": {"type": "integer", "maximum": 10},
                        "color": {"type": "string", "default": "red"}}}}}}}]}}))
    .unwrap();
    sim.install_crds(&[crd]).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!(
        "{}/apis/test.kubesim.io/v1/namespaces/app/gadgets",
        sim.url()
    );
    let resp = http
        .post(&url)
        .bearer_auth(tests::sim::ADMIN_TOKEN)
        .json(
            &json!({"apiVersion": "test.kubesim.io/v1", "kind": "Gadget",
            "metadata": {"name": "g"}, "spec": {"size": 3, "bogus": true}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let warning = resp.headers()["warning"].to_str().unwrap().to_string();
    assert_eq!(warning, "299 - \"unknown field \\\"spec.bogus\\\"\"");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["spec"], json!({"size": 3, "color": "red"}));
    let api: Api<DynamicObject> = Api::namespaced_with(
        sim.client(),
        "app",
        &ApiResource {
            group: "test.kubesim.io".into(),
            version: "v1".into(),
            api_version: "test.kubesim.io/v1".into(),
            kind: "Gadget".into(),
            plural: "gadgets".into(),
        },
    );
    let too_big = DynamicObject::new("big", &api_resource()).data(json!({"spec": {"size": 11}}));
    let err = api
        .create(&PostParams::default(), &too_big)
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected an API error, got {err}")
    };
    assert_eq!(status.code, 422);
    assert!(
        status.message.contains(
            "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10"
        ),
        "{}",
        status.message
    );
}

fn api_resource() -> ApiResource {
    ApiResource {
        group: "test.kubesim.io".into(),
        version: "v1".into(),
        api_version: "test.kubesim.io/v1".into(),
        kind: "Gadget".into(),
        plural: "gadgets".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_request_tokens_log_in_to_openbao_via_the_jwks_endpoint() {
    let sim = sim_with_ns("eso").await;
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "robot"}})).unwrap();
    let sas: Api<ServiceAccount> = Api::namespaced(sim.client(), "eso");
    sas.create(&PostParams::default(), &sa).await.unwrap();
    let bao = Bao::start().await.unwrap();
    // OpenBao discovers the keys the way a real cluster's consumers do: the JWKS over HTTPS.
    let config = json!({"jwks_url": format!("{}/openid/v1/jwks", sim.https_url()),
        "jwks_ca_pem": sim.ca_pem(), "bound_issuer": tests::sim::ISSUER});
    bao.enable_jwt_auth(&config, "eso", "vault", "system:serviceaccount:eso:robot")
        .await
        .unwrap();

    let request = |aud: &str| -> TokenRequest {
        serde_json::from_value(json!({"spec": {"audiences": [aud], "expirationSeconds": 600}}))
            .unwrap()
    };
    let issued = sas
        .create_token_request("robot", &PostParams::default(), &request("vault"))
        .await
        .unwrap();
    let jwt = issued.status.unwrap().token;
    let (s, b) = bao
        .jwt_login("eso", jwt.as_deref().expect("a token was issued"))
        .await
        .unwrap();
    assert_eq!(s, 200, "login: {b}");
    assert!(
        b["auth"]["client_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );

    let other = sas
        .create_token_request("robot", &PostParams::default(), &request("other"))
        .await
        .unwrap()
        .status
        .unwrap()
        .token;
    let (s, _) = bao
        .jwt_login("eso", other.as_deref().expect("a token was issued"))
        .await
        .unwrap();
    assert_eq!(s, 400, "a token for another audience is refused");

    // The simulator itself accepts the token as the ServiceAccount (api audience).
    let api_token = sas
        .create_token_request(
            "robot",
            &PostParams::default(),
            &request(tests::sim::ISSUER),
        )
        .await
        .unwrap()
        .status
        .unwrap()
        .token
        .unwrap_or_default();
    let who: Value = reqwest::Client::new()
        .post(format!(
            "{}/apis/authentication.k8s.io/v1/selfsubjectreviews",
            sim.url()
        ))
        .bearer_auth(api_token)
        .json(&json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        who["status"]["userInfo"]["username"],
        "system:serviceaccount:eso:robot"
    );
}
