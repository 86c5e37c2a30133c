//! Replays `apiserver-golden/09-admission-webhooks.json` through the simulator's webhook client:
//! a local HTTPS webhook server behaves like the recorder's, and for every recorded request we
//! check which webhooks are called, the AdmissionReview they receive (over the wire), and the
//! client-visible result (Status body, HTTP code, Warning headers, patched object).

use std::collections::BTreeMap;

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ServiceReference, ValidatingWebhookConfiguration,
    WebhookClientConfig,
};
use serde_json::{Value, json};
use tests::sim::admission::{
    self, Decision, Gvk, Gvr, Hook, MatchInput, Operation, Outcome, ReviewInput, WarningRecorder,
    config, jsonpatch,
};
use tests::sim::schema::errors::invalid_status;
use tests::sim::testwebhooks::{Pki, golden_webhooks};

const GOLDEN: &str = "/work/shared/apiserver-golden/09-admission-webhooks.json";
const RECORDED_PORT: &str = "18443";
const SERVICE_HOST: &str = "golden-webhook.golden-09.svc";

fn golden() -> Vec<Value> {
    let text = std::fs::read_to_string(GOLDEN).expect("golden file readable");
    let v: Value = serde_json::from_str(&text).expect("golden JSON");
    v["exchanges"].as_array().expect("exchanges").clone()
}

fn pki() -> Pki {
    Pki::new(&[SERVICE_HOST]).unwrap()
}

/// Every webhook of the two recorded configurations (stored, i.e. defaulted, form), pointed
/// at our server and trusting our CA.
fn hooks(ex: &[Value], pki: &Pki, port: u16) -> Vec<Hook> {
    let fix = |v: &Value| -> Value {
        let text = v.to_string().replace(
            &format!("127.0.0.1:{RECORDED_PORT}"),
            &format!("127.0.0.1:{port}"),
        );
        let ca = pki.ca_bundle();
        let mut v: Value =
            serde_json::from_str(&text.replace("\"<pem>\"", &format!("\"{ca}\""))).unwrap();
        v["metadata"] = json!({"name": v["metadata"]["name"]});
        v
    };
    let mutating: MutatingWebhookConfiguration =
        serde_json::from_value(fix(&ex[1]["response"]["body"])).unwrap();
    let validating: ValidatingWebhookConfiguration =
        serde_json::from_value(fix(&ex[0]["response"]["body"])).unwrap();
    // The apiserver runs all mutating webhooks before any validating one.
    let mut out: Vec<Hook> = mutating
        .webhooks
        .iter()
        .flatten()
        .map(Hook::from_mutating)
        .collect();
    out.extend(
        validating
            .webhooks
            .iter()
            .flatten()
            .map(Hook::from_validating),
    );
    out
}

fn hook_path(h: &Hook) -> String {
    let url = h.client_config.url.as_deref().unwrap_or_default();
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/')
        .map_or(String::new(), |i| rest[i..].to_owned())
}

fn labels(obj: &Value) -> Option<BTreeMap<String, String>> {
    if obj.is_null() {
        return None;
    }
    Some(serde_json::from_value(obj["metadata"]["labels"].clone()).unwrap_or_default())
}

/// Request attributes derived from the recorded client request alone.
struct Attrs {
    op: Operation,
    namespace: String,
    name: String,
    subresource: String,
    options: Value,
    dry_run: bool,
}

fn attrs(request: &Value) -> Attrs {
    let method = request["method"].as_str().unwrap();
    let path = request["path"].as_str().unwrap();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // apis/example.test/v1/namespaces/{ns}/widgets[/{name}[/{sub}]]
    assert_eq!(&segs[..3], ["apis", "example.test", "v1"]);
    assert_eq!(segs[5], "widgets");
    let q = |k: &str| request["query"][k].as_str();
    let op = match method {
        "POST" => Operation::Create,
        "PUT" | "PATCH" => Operation::Update,
        "DELETE" => Operation::Delete,
        m => panic!("unexpected method {m}"),
    };
    let dry_run: Vec<String> = q("dryRun").map(|d| vec![d.to_owned()]).unwrap_or_default();
    let delete_body = (op == Operation::Delete)
        .then(|| &request["body"])
        .filter(|b| b.is_object());
    Attrs {
        op,
        namespace: segs[4].to_owned(),
        name: segs
            .get(6)
            .map(|s| (*s).to_owned())
            .or_else(|| {
                request["body"]["metadata"]["name"]
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_default(),
        subresource: segs.get(7).map(|s| (*s).to_owned()).unwrap_or_default(),
        options: admission::operation_options(
            op,
            &dry_run,
            q("fieldManager"),
            q("fieldValidation"),
            delete_body,
        ),
        dry_run: !dry_run.is_empty(),
    }
}

fn namespace_labels(ns: &str) -> BTreeMap<String, String> {
    // golden-09 carries the label every recorded webhook selects on; golden-09-other does not.
    if ns == "golden-09" {
        BTreeMap::from([("golden-webhooks".into(), "enabled".into())])
    } else {
        BTreeMap::new()
    }
}

#[tokio::test]
async fn golden_admission_exchanges() {
    let ex = golden();
    let pki = pki();
    let server = golden_webhooks(&pki).await.unwrap();
    let hooks = hooks(&ex, &pki, server.addr.port());
    let widgets = Gvr::new("example.test", "v1", "widgets");
    let widget_kind = Gvk::new("example.test", "v1", "Widget");
    let mut checked_observations = 0;
    let mut checked_requests = 0;

    for (i, e) in ex.iter().enumerate().skip(3) {
        let Some(request) = e.get("request") else {
            continue;
        };
        let response = &e["response"];
        if request["method"] == "GET" {
            continue;
        }
        checked_requests += 1;
        let observations: Vec<&Value> = ex[i + 1..]
            .iter()
            .take_while(|o| o.get("observed_by_webhook").is_some())
            .collect();
        let a = attrs(request);

        // 1. Which webhooks are called.
        let ns_labels = namespace_labels(&a.namespace);
        let (obj, old) = match observations.first() {
            Some(o) => (
                o["observed_by_webhook"]["request"]["object"].clone(),
                o["observed_by_webhook"]["request"]["oldObject"].clone(),
            ),
            None if a.op == Operation::Delete => (
                Value::Null,
                json!({"metadata": {"labels": {"golden-case": "warn"}}}),
            ),
            None => (request["body"].clone(), Value::Null),
        };
        let (obj_labels, old_labels) = (labels(&obj), labels(&old));
        let input = MatchInput {
            resource: &widgets,
            subresource: &a.subresource,
            operation: a.op,
            namespace: &a.namespace,
            namespace_labels: Some(&ns_labels),
            object_labels: obj_labels.as_ref(),
            old_object_labels: old_labels.as_ref(),
            equivalents: &[],
        };
        let called: Vec<&Hook> = hooks
            .iter()
            .filter(|h| admission::matches(h, &input))
            .collect();
        let called_paths: Vec<String> = called.iter().map(|h| hook_path(h)).collect();
        let recorded_paths: Vec<String> = observations
            .iter()
            .map(|o| {
                o["webhook_path"]
                    .as_str()
                    .unwrap()
                    .split('?')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            called_paths, recorded_paths,
            "exchange {i} ({}): webhooks called",
            e["name"]
        );

        // 2. Each call: the review on the wire, then its interpretation.
        let mut warnings = WarningRecorder::default();
        let mut final_object = None;
        let mut denied = None;
        for (hook, obs) in called.iter().zip(&observations) {
            let recorded = &obs["observed_by_webhook"];
            let r = &recorded["request"];
            let review = admission::build_review(&ReviewInput {
                uid: r["uid"].as_str().unwrap().to_owned(),
                kind: widget_kind.clone(),
                resource: widgets.clone(),
                sub_resource: a.subresource.clone(),
                request_kind: widget_kind.clone(),
                request_resource: widgets.clone(),
                request_sub_resource: a.subresource.clone(),
                name: a.name.clone(),
                namespace: a.namespace.clone(),
                operation: a.op,
                user_info: r["userInfo"].clone(),
                object: Some(r["object"].clone()).filter(|o| !o.is_null()),
                old_object: Some(r["oldObject"].clone()).filter(|o| !o.is_null()),
                dry_run: a.dry_run,
                options: a.options.clone(),
            });
            assert_eq!(
                &review, recorded,
                "exchange {i}: AdmissionReview for {}",
                hook.name
            );

            let ep = admission::endpoint(&hook.client_config, |_| None).unwrap();
            server.seen.lock().unwrap().clear();
            let outcome = admission::call(&ep, hook.timeout_seconds, &review).await;
            let seen = server.seen.lock().unwrap().clone();
            assert_eq!(seen.len(), 1, "exchange {i}: one POST");
            assert_eq!(
                seen[0].path,
                obs["webhook_path"].as_str().unwrap(),
                "exchange {i}: path and ?timeout="
            );
            assert_eq!(
                &seen[0].review, recorded,
                "exchange {i}: body received by the webhook"
            );
            checked_observations += 1;

            match admission::interpret(&outcome, hook, r["uid"].as_str().unwrap()) {
                Decision::Allowed { patch, warnings: w } => {
                    w.iter().for_each(|t| warnings.add(t));
                    if let Some(p) = patch {
                        let mut o = r["object"].clone();
                        match jsonpatch::apply(&mut o, &p) {
                            Ok(()) => final_object = Some(o),
                            Err(err) => {
                                denied = Some(admission::internal_error(&err));
                                break;
                            }
                        }
                    }
                }
                Decision::Denied {
                    status,
                    warnings: w,
                } => {
                    w.iter().for_each(|t| warnings.add(t));
                    denied = Some(status);
                    break;
                }
            }
        }

        // 3. What the client sees.
        let status = response["status"].as_u64().unwrap();
        let recorded_warnings: Vec<String> = response["headers"]["warning"]
            .as_array()
            .map(|w| w.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        assert_eq!(
            warnings.headers(),
            recorded_warnings,
            "exchange {i}: Warning headers"
        );
        if status >= 400 {
            let got = denied.unwrap_or_else(|| panic!("exchange {i}: expected a rejection"));
            let got: Value = serde_json::from_str(
                &got.to_string()
                    .replace(&server.addr.port().to_string(), RECORDED_PORT),
            )
            .unwrap();
            assert_eq!(
                &got, &response["body"],
                "exchange {i}: client-visible Status"
            );
            assert_eq!(
                got["code"].as_u64(),
                Some(status),
                "exchange {i}: HTTP code"
            );
        } else {
            assert!(
                denied.is_none(),
                "exchange {i}: unexpected rejection {denied:?}"
            );
            if let Some(o) = final_object {
                for key in ["labels", "annotations"] {
                    assert_eq!(
                        o["metadata"][key], response["body"]["metadata"][key],
                        "exchange {i}: patched {key}"
                    );
                }
                assert_eq!(
                    o["spec"], response["body"]["spec"],
                    "exchange {i}: patched spec"
                );
            }
        }
    }
    assert_eq!(
        checked_observations, 35,
        "every recorded webhook observation replayed"
    );
    assert!(checked_requests >= 30);
}

#[test]
fn golden_configuration_defaults_and_validation() {
    let ex = golden();
    for (idx, mutating) in [(0, false), (1, true)] {
        let mut body = ex[idx]["request"]["body"].clone();
        config::apply_defaults(&mut body, mutating);
        assert_eq!(
            body["webhooks"], ex[idx]["response"]["body"]["webhooks"],
            "defaults of exchange {idx}"
        );
        assert!(config::validate(&body, mutating).is_empty());
    }
    let mut bad = ex[2]["request"]["body"].clone();
    config::apply_defaults(&mut bad, false);
    let errs = config::validate(&bad, false);
    let status = invalid_status(
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        "golden-invalid",
        &errs,
    );
    assert_eq!(status, ex[2]["response"]["body"]);
}

#[tokio::test]
async fn service_reference_is_resolved_and_verified_by_name() {
    let pki = pki();
    let server = golden_webhooks(&pki).await.unwrap();
    let cc = WebhookClientConfig {
        ca_bundle: Some(k8s_openapi::ByteString(pki.ca_pem.clone().into_bytes())),
        service: Some(ServiceReference {
            name: "golden-webhook".into(),
            namespace: "golden-09".into(),
            path: Some("/deny-plain".into()),
            port: Some(443),
        }),
        url: None,
    };
    let addr = server.addr;
    let ep =
        admission::endpoint(&cc, |svc| (svc.name == "golden-webhook").then_some(addr)).unwrap();
    assert_eq!(
        ep.url,
        "https://golden-webhook.golden-09.svc:443/deny-plain"
    );
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "u1"}});
    let outcome = admission::call(&ep, 5, &review).await;
    let hook = Hook {
        name: "svc.example".into(),
        ..hook_template(cc)
    };
    match admission::interpret(&outcome, &hook, "u1") {
        Decision::Denied { status, .. } => {
            assert_eq!(
                status["message"],
                "admission webhook \"svc.example\" denied the request without explanation"
            )
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        server.seen.lock().unwrap()[0].path,
        "/deny-plain?timeout=5s"
    );
}

fn hook_template(cc: WebhookClientConfig) -> Hook {
    Hook::from_validating(
        &k8s_openapi::api::admissionregistration::v1::ValidatingWebhook {
            name: "t".into(),
            client_config: cc,
            side_effects: "None".into(),
            admission_review_versions: vec!["v1".into()],
            ..Default::default()
        },
    )
}

#[tokio::test]
async fn transport_failures_use_go_wording_and_respect_failure_policy() {
    let pki = pki();
    let server = golden_webhooks(&pki).await.unwrap();
    let other_ca = self::pki();
    let review = json!({"request": {"uid": "u2"}});
    let url = format!("https://127.0.0.1:{}/allow", server.addr.port());
    let untrusted = admission::Endpoint {
        url: url.clone(),
        connect_to: None,
        ca_bundle: other_ca.ca_pem.into_bytes(),
    };
    let outcome = admission::call(&untrusted, 2, &review).await;
    assert_eq!(
        outcome,
        Outcome::Failed(format!(
            "Post \"{url}?timeout=2s\": tls: failed to verify certificate: x509: certificate signed by unknown authority"
        ))
    );
    let mut hook = hook_template(WebhookClientConfig::default());
    hook.name = "tls.example".into();
    let Decision::Denied { status, .. } = admission::interpret(&outcome, &hook, "u2") else {
        panic!("fail closed")
    };
    assert_eq!(status["code"], 500);
    assert_eq!(status["reason"], "InternalError");
    assert!(status["message"].as_str().unwrap().starts_with(
        "Internal error occurred: failed calling webhook \"tls.example\": failed to call webhook: Post \""
    ));
    hook.failure_policy = admission::FailurePolicy::Ignore;
    assert_eq!(
        admission::interpret(&outcome, &hook, "u2"),
        Decision::Allowed {
            patch: None,
            warnings: vec![]
        }
    );

    // Nothing listens on the port of a dropped listener.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = admission::Endpoint {
        url: format!("https://127.0.0.1:{port}/x"),
        connect_to: None,
        ca_bundle: vec![],
    };
    assert_eq!(
        admission::call(&refused, 1, &review).await,
        Outcome::Failed(format!(
            "Post \"https://127.0.0.1:{port}/x?timeout=1s\": dial tcp 127.0.0.1:{port}: connect: connection refused"
        ))
    );
}

#[test]
fn validating_webhook_may_not_patch_and_matching_rules() {
    let mut hook = hook_template(WebhookClientConfig::default());
    hook.name = "v.example".into();
    let body = serde_json::to_vec(
        &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "response": {"uid": "u", "allowed": true, "patchType": "JSONPatch", "patch": "W10="}}),
    )
    .unwrap();
    let outcome = Outcome::Response {
        status: 200,
        content_type: "application/json".into(),
        body,
    };
    let Decision::Denied { status, .. } = admission::interpret(&outcome, &hook, "u") else {
        panic!()
    };
    assert_eq!(
        status["message"],
        "Internal error occurred: failed calling webhook \"v.example\": received invalid webhook response: validating webhook may not return response.patch"
    );

    // Wildcards, subresources and scope.
    hook.rules = vec![
        k8s_openapi::api::admissionregistration::v1::RuleWithOperations {
            api_groups: Some(vec!["*".into()]),
            api_versions: Some(vec!["*".into()]),
            operations: Some(vec!["*".into()]),
            resources: Some(vec!["secrets/status".into()]),
            scope: Some("Cluster".into()),
        },
    ];
    let secrets = Gvr::new("", "v1", "secrets");
    let base = MatchInput {
        resource: &secrets,
        subresource: "status",
        operation: Operation::Update,
        namespace: "",
        namespace_labels: None,
        object_labels: None,
        old_object_labels: None,
        equivalents: &[],
    };
    assert!(admission::matches(&hook, &base));
    assert!(!admission::matches(
        &hook,
        &MatchInput {
            subresource: "",
            ..base.clone()
        }
    ));
    assert!(!admission::matches(
        &hook,
        &MatchInput {
            namespace: "ns",
            ..base.clone()
        }
    ));
}

#[test]
fn json_patch_errors_match_evanphx_v4() {
    let mut doc = json!({"spec": {"a": 1}, "list": [1, 2]});
    let err = jsonpatch::apply(
        &mut doc,
        &json!([{"op": "remove", "path": "/spec/doesNotExist"}]),
    )
    .unwrap_err();
    assert_eq!(
        err,
        "error in remove for path: '/spec/doesNotExist': Unable to remove nonexistent key: doesNotExist: missing value"
    );
    let err = jsonpatch::apply(
        &mut doc,
        &json!([{"op": "add", "path": "/nope/x", "value": 1}]),
    )
    .unwrap_err();
    assert_eq!(
        err,
        "add operation does not apply: doc is missing path: \"/nope/x\": missing value"
    );
    let err = jsonpatch::apply(
        &mut doc,
        &json!([{"op": "test", "path": "/spec/a", "value": 2}]),
    )
    .unwrap_err();
    assert_eq!(err, "testing value /spec/a failed: test failed");
    jsonpatch::apply(&mut doc, &json!([{"op": "add", "path": "/list/-", "value": 3}, {"op": "move", "from": "/spec/a", "path": "/spec/b"}]))
        .unwrap();
    assert_eq!(doc, json!({"spec": {"b": 1}, "list": [1, 2, 3]}));
}

#[test]
fn warning_recorder_dedupes_and_escapes() {
    let mut w = WarningRecorder::default();
    w.add("a \\ b");
    w.add("a \\ b");
    w.add("");
    w.add("bad\ncontrol");
    assert_eq!(w.headers(), vec!["299 - \"a \\\\ b\"".to_owned()]);
}
