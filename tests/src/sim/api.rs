//! Request entry point: authentication, request attributes, authorization, resource lookup and
//! dispatch to the verb handlers.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, Method, request::Parts};
use serde_json::Value;

use super::auth::{self, Attrs, UserInfo};
use super::errors::{self, ApiError, ApiResult};
use super::registry::{Builtin, ResourceType};
use super::{Shared, discovery, list, nonresource, output, watch, write};

/// One incoming request, decoded enough for every handler.
pub struct Ctx {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub user: UserInfo,
}

impl Ctx {
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    pub fn header(&self, k: &str) -> &str {
        self.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    pub fn accept(&self) -> &str {
        self.header("accept")
    }
    pub fn content_type(&self) -> &str {
        self.header("content-type")
    }
    /// The manager name for writes without `fieldManager`: the User-Agent up to the first '/'... as
    /// the apiserver does it (the whole product token, e.g. `golden-recorder` or `kubectl`).
    pub fn default_manager(&self) -> String {
        let ua = self.header("user-agent");
        let first = ua.split(' ').next().unwrap_or("");
        let name = first.split('/').next().unwrap_or("");
        if name.is_empty() {
            "unknown".into()
        } else {
            name.to_string()
        }
    }
}

pub enum ReplyBody {
    Json(Value),
    Text(String, &'static str),
    Stream(Body),
}

pub struct Reply {
    pub code: u16,
    pub body: ReplyBody,
    pub warnings: Vec<String>,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn json(code: u16, v: Value) -> Self {
        Reply {
            code,
            body: ReplyBody::Json(v),
            warnings: vec![],
            headers: vec![],
        }
    }
    pub fn text(code: u16, t: &str) -> Self {
        Reply {
            code,
            body: ReplyBody::Text(t.into(), "text/plain; charset=utf-8"),
            warnings: vec![],
            headers: vec![],
        }
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Self {
        let mut r = match e.plain {
            Some(t) => Reply::text(e.code, &t),
            None => Reply::json(e.code, e.body),
        };
        r.headers = e.headers;
        r
    }
}

/// Escapes a warning text like the apiserver's `Warning: 299 - "..."` header.
pub fn warning_header(text: &str) -> String {
    format!(
        "299 - \"{}\"",
        text.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

fn into_response(r: Reply, yaml: bool) -> Response {
    let own = |name: &str| r.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let mut b = Response::builder().status(r.code);
    if !own("cache-control") {
        b = b.header("cache-control", "no-cache, private");
    }
    let own_type = own("content-type");
    for w in &r.warnings {
        b = b.header("warning", warning_header(w));
    }
    for (k, v) in &r.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let typed = |b: http::response::Builder, ct: &str| {
        if own_type {
            b
        } else {
            b.header("content-type", ct)
        }
    };
    let resp = match r.body {
        ReplyBody::Json(v) if yaml && r.code < 300 => {
            typed(b, "application/yaml").body(Body::from(output::to_yaml(&v)))
        }
        ReplyBody::Json(v) => typed(b, "application/json").body(Body::from(v.to_string())),
        ReplyBody::Text(t, ct) => typed(b, ct).body(Body::from(t)),
        ReplyBody::Stream(s) => typed(b, "application/json").body(s),
    };
    resp.unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Where a request goes, as the apiserver's RequestInfo parser would see it.
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub group: String,
    pub version: String,
    pub namespace: String,
    pub resource: String,
    pub name: String,
    pub sub: String,
    pub verb: String,
}

fn parse_target(method: &Method, path: &str, query: &[(String, String)]) -> Option<Target> {
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", v, rest @ ..] if !rest.is_empty() => ("", *v, rest),
        ["apis", g, v, rest @ ..] if !rest.is_empty() => (*g, *v, rest),
        _ => return None,
    };
    let mut t = Target {
        group: group.into(),
        version: version.into(),
        ..Default::default()
    };
    let mut rest: Vec<&str> = rest.to_vec();
    if rest[0] == "namespaces" && rest.len() > 1 {
        t.namespace = rest[1].into();
        if rest.len() > 2 {
            rest = rest[2..].to_vec();
        }
    }
    t.resource = rest[0].into();
    if rest.len() > 1 {
        t.name = rest[1].into();
    }
    if rest.len() > 2 {
        t.sub = rest[2..].join("/");
    }
    if t.resource == "namespaces" && t.name.is_empty() {
        t.namespace.clear();
    }
    let watch = query
        .iter()
        .any(|(k, v)| k == "watch" && (v == "true" || v == "1"));
    t.verb = match *method {
        Method::GET | Method::HEAD if watch => "watch",
        Method::GET | Method::HEAD if t.name.is_empty() => "list",
        Method::GET | Method::HEAD => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if t.name.is_empty() => "deletecollection",
        Method::DELETE => "delete",
        _ => "unknown",
    }
    .into();
    Some(t)
}

fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<UserInfo, ApiError> {
    let Some(h) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Ok(UserInfo::anonymous());
    };
    let token = h.strip_prefix("Bearer ").unwrap_or("");
    let known = shared
        .tokens
        .lock()
        .ok()
        .and_then(|t| t.get(token).cloned());
    if let Some(u) = known {
        return Ok(u);
    }
    let issuer = &shared.tokens_issuer;
    let a = issuer
        .authenticate(token, &issuer.api_audiences())
        .map_err(|_| errors::unauthorized())?;
    Ok(UserInfo::from_json(&a.user))
}

pub async fn handle(shared: Arc<Shared>, parts: Parts, body: Bytes) -> Response {
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let yaml = {
        let a = parts
            .headers
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        a.starts_with("application/yaml")
    };
    let user = match authenticate(&shared, &parts.headers) {
        Ok(u) => u,
        Err(e) => return into_response(e.into(), false),
    };
    let ctx = Ctx {
        method: parts.method,
        path,
        query,
        headers: parts.headers,
        body,
        user,
    };
    let queued = super::crds::take_queued(&shared);
    let early = super::crds::needs_established(&ctx);
    if early {
        super::crds::establish(&shared, &queued);
    }
    let reply = match route(&shared, ctx).await {
        Ok(r) => r,
        Err(e) => e.into(),
    };
    if !early {
        super::crds::establish(&shared, &queued);
    }
    into_response(reply, yaml)
}

async fn route(shared: &Arc<Shared>, mut ctx: Ctx) -> ApiResult<Reply> {
    let target = parse_target(&ctx.method, &ctx.path, &ctx.query);
    if let Some(imp) = ctx
        .header("impersonate-user")
        .to_string()
        .strip_suffix("")
        .filter(|s| !s.is_empty())
    {
        if !ctx.user.is_admin() {
            let t = target.clone().unwrap_or_default();
            let a = attrs(&t);
            return Err(auth::forbidden_resource(
                &ctx.user,
                &a,
                "impersonate-on:user-info:",
            ));
        }
        ctx.user = UserInfo {
            username: imp.to_string(),
            uid: String::new(),
            groups: vec!["system:authenticated".into()],
            extra: vec![],
        };
    }
    let Some(t) = target else {
        auth::authorize_path(&ctx.user, &ctx.path)?;
        return nonresource::serve(shared, &ctx).await;
    };
    if !auth::allowed(&ctx.user, &attrs(&t)) {
        return Err(auth::forbidden_resource(&ctx.user, &attrs(&t), ""));
    }
    let rt = lookup(shared, &t)?;
    {
        let mut st = shared.lock();
        let key = (t.verb.clone(), errors::qualified(&rt.plural, &rt.group));
        *st.counters.requests.entry(key).or_default() += 1;
    }
    dispatch(shared, &ctx, &t, &rt).await
}

fn attrs(t: &Target) -> Attrs<'_> {
    Attrs {
        verb: &t.verb,
        group: &t.group,
        resource: &t.resource,
        subresource: &t.sub,
        namespace: &t.namespace,
        name: &t.name,
    }
}

/// Finds the resource type; the 404 flavour depends on who would have served the path.
fn lookup(shared: &Shared, t: &Target) -> ApiResult<ResourceType> {
    let st = shared.lock();
    if let Some(rt) = st
        .resources
        .iter()
        .find(|r| r.group == t.group && r.version == t.version && r.plural == t.resource)
    {
        return Ok(rt.clone());
    }
    let group_known = t.group.is_empty() || st.resources.iter().any(|r| r.group == t.group);
    let version_known = st
        .resources
        .iter()
        .any(|r| r.group == t.group && r.version == t.version);
    let custom_group = st
        .resources
        .iter()
        .any(|r| r.group == t.group && r.is_custom());
    if version_known && !custom_group {
        return Err(errors::not_found_generic());
    }
    if group_known && !custom_group && !version_known {
        return Err(errors::not_found_generic());
    }
    if discovery::is_builtin_group(&t.group) {
        return Err(errors::not_found_generic());
    }
    Err(errors::plain_404())
}

async fn dispatch(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    t: &Target,
    rt: &ResourceType,
) -> ApiResult<Reply> {
    let sub = t.sub.as_str();
    if !sub.is_empty() {
        let ok = match sub {
            "status" => rt.has_status,
            "token" => rt.builtin == Builtin::ServiceAccount,
            "finalize" => rt.builtin == Builtin::Namespace,
            _ => false,
        };
        if !ok && rt.is_custom() {
            // The custom resource handler answers an unknown subresource as a missing object.
            return Err(errors::not_found(&rt.plural, &rt.group, &t.name));
        }
        if !ok {
            return Err(errors::not_found_generic());
        }
    }
    let ns = if rt.namespaced {
        t.namespace.as_str()
    } else {
        ""
    };
    match (ctx.method.clone(), t.name.is_empty()) {
        (Method::GET, true) => {
            if t.verb == "watch" {
                watch::serve(shared, ctx, rt, ns, None).await
            } else {
                list::serve(shared, ctx, rt, ns)
            }
        }
        (Method::GET, false) => {
            if t.verb == "watch" {
                return watch::serve(shared, ctx, rt, ns, Some(&t.name)).await;
            }
            write::get(shared, ctx, rt, ns, &t.name, sub)
        }
        (Method::POST, true) => write::create(shared, ctx, rt, ns).await,
        (Method::POST, false) if sub == "token" => {
            write::subresource_create(shared, ctx, rt, ns, &t.name, sub).await
        }
        (Method::PUT, false) => write::update(shared, ctx, rt, ns, &t.name, sub).await,
        (Method::PATCH, false) => write::patch(shared, ctx, rt, ns, &t.name, sub).await,
        (Method::DELETE, false) if sub.is_empty() => {
            write::delete(shared, ctx, rt, ns, &t.name).await
        }
        (Method::DELETE, true) => write::delete_collection(shared, ctx, rt, ns).await,
        _ => Err(errors::method_not_allowed()),
    }
}

/// Creates a CRD outside of the HTTP path (for `Sim::install_crds`).
pub fn create_crd_direct(shared: &Shared, body: Value) -> anyhow::Result<()> {
    super::crds::store_crd(shared, body, "kubesim").map_err(|e| anyhow::anyhow!("{}", e.body))
}
