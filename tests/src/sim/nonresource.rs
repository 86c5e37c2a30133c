//! Non-resource endpoints (version, health, discovery) and the create-only review APIs.

use std::sync::Arc;

use serde_json::{Value, json};

use super::api::{Ctx, Reply};
use super::errors::{self, ApiResult};
use super::registry::ResourceType;
use super::{Shared, discovery, tokens, write};

/// The readiness checks kube-apiserver 1.36 reports with `?verbose`, in its order.
const READYZ_CHECKS: &[&str] = &[
    "ping",
    "log",
    "informer-sync",
    "poststarthook/start-apiserver-admission-initializer",
    "poststarthook/generic-apiserver-start-informers",
    "poststarthook/priority-and-fairness-config-consumer",
    "poststarthook/priority-and-fairness-filter",
    "poststarthook/storage-object-count-tracker-hook",
    "poststarthook/start-apiextensions-informers",
    "poststarthook/start-apiextensions-controllers",
    "poststarthook/crd-informer-synced",
    "poststarthook/start-system-namespaces-controller",
    "poststarthook/peer-endpoint-reconciler-controller",
    "poststarthook/start-cluster-authentication-info-controller",
    "poststarthook/start-kube-apiserver-identity-lease-controller",
    "poststarthook/start-kube-apiserver-identity-lease-garbage-collector",
    "poststarthook/storage-readiness",
    "poststarthook/start-legacy-token-tracking-controller",
    "poststarthook/start-service-ip-repair-controllers",
    "poststarthook/rbac/bootstrap-roles",
    "poststarthook/scheduling/bootstrap-system-priority-classes",
    "poststarthook/priority-and-fairness-config-producer",
    "poststarthook/bootstrap-controller",
    "poststarthook/start-kubernetes-service-cidr-controller",
    "poststarthook/start-kube-aggregator-informers",
    "poststarthook/apiservice-status-local-available-controller",
    "poststarthook/apiservice-status-remote-available-controller",
    "poststarthook/apiservice-registration-controller",
    "poststarthook/apiservice-wait-for-first-sync",
    "poststarthook/apiservice-discovery-controller",
    "poststarthook/kube-apiserver-autoregistration",
    "autoregister-completion",
    "poststarthook/apiservice-openapi-controller",
    "poststarthook/apiservice-openapiv3-controller",
    "shutdown",
];

pub async fn serve(shared: &Arc<Shared>, ctx: &Ctx) -> ApiResult<Reply> {
    let path = ctx.path.trim_end_matches('/');
    let rs = shared.lock().resources.clone();
    let accept = ctx.accept();
    if let Some(r) = oidc(shared, path) {
        return Ok(r);
    }
    match path {
        "/version" => Ok(Reply::json(
            200,
            json!({"major": "1", "minor": "36", "emulationMajor": "1", "emulationMinor": "36", "minCompatibilityMajor": "1",
                "minCompatibilityMinor": "35", "gitVersion": "v1.36.2", "gitCommit": "98b35193b2ac7a23a673325f5e9b830ecd5ba406",
                "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.26.4", "compiler": "gc", "platform": "linux/amd64"}),
        )),
        "/healthz" | "/livez" => Ok(Reply::text(200, "ok")),
        "/readyz" => {
            if ctx.q("verbose").is_some() {
                let mut text: String = READYZ_CHECKS
                    .iter()
                    .map(|c| format!("[+]{c} ok\n"))
                    .collect();
                text.push_str("readyz check passed\n");
                Ok(Reply::text(200, &text))
            } else {
                Ok(Reply::text(200, "ok"))
            }
        }
        "/api" => {
            if discovery::wants_aggregated(accept) {
                return Ok(aggregated_reply(discovery::aggregated(&rs, true)));
            }
            let addr = shared
                .server_address
                .lock()
                .map(|a| a.clone())
                .unwrap_or_default();
            Ok(Reply::json(200, discovery::api_versions(&addr)))
        }
        "/apis" => {
            if discovery::wants_aggregated(accept) {
                return Ok(aggregated_reply(discovery::aggregated(&rs, false)));
            }
            Ok(Reply::json(200, discovery::apis(&rs)))
        }
        "/openapi/v3" => Ok(Reply::json(200, super::openapi::index(&rs))),
        _ if path.starts_with("/openapi/v3/") => {
            match super::openapi::document(&rs, path.trim_start_matches("/openapi/v3/")) {
                Some(d) => Ok(Reply::json(200, d)),
                None => Err(errors::plain_404()),
            }
        }
        _ => {
            let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let found = match parts.as_slice() {
                ["api", v] => discovery::resource_list(&rs, "", v),
                ["apis", g] => discovery::group(&rs, g),
                ["apis", g, v] => discovery::resource_list(&rs, g, v),
                _ => None,
            };
            match found {
                Some(v) => Ok(Reply::json(200, v)),
                None => Err(errors::plain_404()),
            }
        }
    }
}

fn aggregated_reply(v: Value) -> Reply {
    let mut r = Reply::json(200, v);
    r.headers.push((
        "content-type".into(),
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList".into(),
    ));
    r.headers.push(("vary".into(), "Accept".into()));
    r.headers.push(("cache-control".into(), "public".into()));
    r
}

/// TokenReview, SelfSubjectReview, (Self)SubjectAccessReview.
pub async fn review(shared: &Arc<Shared>, ctx: &Ctx, rt: &ResourceType) -> ApiResult<Reply> {
    let body: Value = serde_json::from_slice(&ctx.body).unwrap_or(json!({}));
    let now = write::now();
    let mut out = json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": {}});
    if let Some(spec) = body
        .get("spec")
        .filter(|s| s.as_object().is_some_and(|m| !m.is_empty()))
    {
        out["metadata"]["managedFields"] = json!([{
            "manager": ctx.q("fieldManager").map(String::from).unwrap_or_else(|| ctx.default_manager()),
            "operation": "Update", "apiVersion": rt.api_version(), "time": now,
            "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": spec_fields(spec, false)},
        }]);
    }
    match rt.plural.as_str() {
        "selfsubjectreviews" => {
            out["metadata"]["creationTimestamp"] = json!(now);
            out["status"] = json!({"userInfo": ctx.user.to_json()});
        }
        "tokenreviews" => {
            let token = body["spec"]["token"].as_str().unwrap_or("");
            if token.is_empty() {
                return Err(errors::ApiError {
                    code: 400,
                    body: tokens::empty_token_review_status(),
                    plain: None,
                    headers: vec![],
                });
            }
            let audiences: Vec<String> = body["spec"]["audiences"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .filter(|a: &Vec<String>| !a.is_empty())
                .unwrap_or_else(|| shared.tokens_issuer.api_audiences());
            out["spec"] = body["spec"].clone();
            out["status"] = shared.tokens_issuer.review(token, &audiences);
        }
        "selfsubjectaccessreviews" => {
            out["spec"] = body["spec"].clone();
            out["status"] = json!({"allowed": ctx.user.is_admin()});
        }
        "selfsubjectrulesreviews" => {
            out["spec"] = body["spec"].clone();
            out["status"] = super::rules_review::status(&ctx.user);
        }
        "subjectaccessreviews" => {
            out["spec"] = body["spec"].clone();
            let groups: Vec<String> = body["spec"]["groups"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|g| g.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            out["status"] = json!({"allowed": groups.iter().any(|g| g == "system:masters")});
        }
        _ => return Err(errors::not_found_generic()),
    }
    Ok(Reply::json(201, out))
}

/// managedFields of a create-only request: every field the client sent. Struct fields get a
/// `.` entry, except the pointer structs of TokenRequest (`boundObjectRef`), as the
/// apiserver's typed converter renders them.
fn spec_fields(v: &Value, dot: bool) -> Value {
    let mut m = serde_json::Map::new();
    if let Some(o) = v.as_object() {
        if dot {
            m.insert(".".into(), json!({}));
        }
        for (k, c) in o {
            let child = match c {
                Value::Object(x) if !x.is_empty() => spec_fields(c, k != "boundObjectRef"),
                _ => json!({}),
            };
            m.insert(format!("f:{k}"), child);
        }
    }
    Value::Object(m)
}

/// `POST .../serviceaccounts/<name>/token`: a signed, audience- and time-bound JWT.
pub async fn token_request(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    _rt: &ResourceType,
    ns: &str,
    name: &str,
    sub: &str,
) -> ApiResult<Reply> {
    if sub != "token" {
        return Err(errors::not_found_generic());
    }
    let body: Value = serde_json::from_slice(&ctx.body)
        .map_err(|e| errors::bad_request(&format!("invalid TokenRequest: {e}")))?;
    let issuer = &shared.tokens_issuer;
    let mut sent_spec = body.get("spec").cloned().unwrap_or(json!({}));
    let spec = tokens::token_request_spec(&sent_spec, &issuer.api_audiences()).map_err(|b| {
        errors::ApiError {
            code: 422,
            body: b,
            plain: None,
            headers: vec![],
        }
    })?;
    let get = |storage: &str, n: &str| {
        shared
            .lock()
            .store
            .get(&(storage.to_string(), ns.to_string(), n.to_string()))
            .cloned()
    };
    let sa = get("serviceaccounts", name)
        .ok_or_else(|| errors::not_found("serviceaccounts", "", name))?;
    let bound = match spec.get("boundObjectRef").filter(|b| b.is_object()) {
        None => None,
        Some(b) => {
            let kind = b["kind"].as_str().unwrap_or("");
            let bname = b["name"].as_str().unwrap_or("");
            let plural = match kind {
                "Secret" => "secrets",
                "Pod" => "pods",
                "Node" => "nodes",
                _ => {
                    return Err(errors::bad_request(&format!(
                        "cannot bind token to object of type {kind}"
                    )));
                }
            };
            let obj = get(plural, bname).ok_or_else(|| errors::not_found(plural, "", bname))?;
            Some(tokens::BoundObject {
                kind: kind.to_string(),
                name: bname.to_string(),
                uid: obj["metadata"]["uid"].as_str().unwrap_or("").to_string(),
            })
        }
    };
    let audiences: Vec<String> = spec["audiences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let exp_secs = spec["expirationSeconds"].as_i64().unwrap_or(3600);
    let (token, exp) = issuer
        .issue(
            ns,
            name,
            sa["metadata"]["uid"].as_str().unwrap_or(""),
            &audiences,
            exp_secs,
            bound.as_ref(),
        )
        .map_err(|e| errors::internal(&e))?;
    // Defaulting of expirationSeconds happens before the request's fields are recorded.
    sent_spec["expirationSeconds"] = json!(exp_secs);
    let manager = ctx
        .q("fieldManager")
        .map(String::from)
        .unwrap_or_else(|| ctx.default_manager());
    let metadata = json!({
        "name": name, "namespace": ns, "uid": sa["metadata"]["uid"],
        "creationTimestamp": sa["metadata"]["creationTimestamp"],
        "managedFields": [{
            "manager": manager, "operation": "Update", "apiVersion": "authentication.k8s.io/v1",
            "time": write::now(), "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": spec_fields(&sent_spec, false)}, "subresource": "token",
        }],
    });
    Ok(Reply::json(
        201,
        tokens::token_request_response(metadata, spec, &token, exp),
    ))
}

/// The OIDC documents are public and cacheable for an hour, like the apiserver's.
static OIDC_CACHE: std::sync::LazyLock<(String, String)> =
    std::sync::LazyLock::new(|| ("cache-control".into(), "public, max-age=3600".into()));

/// `/.well-known/openid-configuration` and `/openid/v1/jwks`.
fn oidc(shared: &Shared, path: &str) -> Option<Reply> {
    let issuer = &shared.tokens_issuer;
    match path {
        "/.well-known/openid-configuration" => {
            let addr = shared
                .server_address
                .lock()
                .map(|a| a.clone())
                .unwrap_or_default();
            let mut r = Reply::json(
                200,
                issuer.openid_configuration(&format!("https://{addr}/openid/v1/jwks")),
            );
            r.headers.push(OIDC_CACHE.clone());
            Some(r)
        }
        "/openid/v1/jwks" => {
            let mut r = Reply::json(200, issuer.jwks());
            r.body =
                super::api::ReplyBody::Text(issuer.jwks().to_string(), "application/jwk-set+json");
            r.headers.push(OIDC_CACHE.clone());
            Some(r)
        }
        _ => None,
    }
}
