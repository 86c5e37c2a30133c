//! Non-resource endpoints (version, health, discovery) and the create-only review APIs.

use std::sync::Arc;

use serde_json::{Value, json};

use super::api::{Ctx, Reply};
use super::errors::{self, ApiResult};
use super::registry::ResourceType;
use super::{Shared, discovery, write};

pub async fn serve(shared: &Arc<Shared>, ctx: &Ctx) -> ApiResult<Reply> {
    let path = ctx.path.trim_end_matches('/');
    let rs = shared.lock().resources.clone();
    let accept = ctx.accept();
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
                Ok(Reply::text(
                    200,
                    "[+]ping ok\n[+]log ok\n[+]informer-sync ok\nreadyz check passed\n",
                ))
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
    r
}

/// TokenReview, SelfSubjectReview, (Self)SubjectAccessReview.
pub async fn review(_shared: &Arc<Shared>, ctx: &Ctx, rt: &ResourceType) -> ApiResult<Reply> {
    let body: Value = serde_json::from_slice(&ctx.body).unwrap_or(json!({}));
    let now = write::now();
    let mut out = json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": {"creationTimestamp": now}});
    match rt.plural.as_str() {
        "selfsubjectreviews" => out["status"] = json!({"userInfo": ctx.user.to_json()}),
        "selfsubjectaccessreviews" => {
            out["spec"] = body["spec"].clone();
            out["status"] = json!({"allowed": ctx.user.is_admin()});
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

pub async fn token_request(
    _shared: &Arc<Shared>,
    _ctx: &Ctx,
    _rt: &ResourceType,
    _ns: &str,
    _name: &str,
    _sub: &str,
) -> ApiResult<Reply> {
    // ServiceAccount tokens are signed by the tokens module (not integrated yet).
    Err(errors::not_found_generic())
}
