//! An authorizing proxy in front of the API simulator that evaluates the rendered (Cluster)Roles
//! bound to one of the install's ServiceAccounts the way the apiserver's RBAC authorizer does
//! (verbs, resources, `resourceNames`, which never match `create`, namespace of RoleBindings)
//! before forwarding as the admin, and records every request it saw and every refusal. It also
//! plays the OwnerReferencesPermissionEnforcement admission plugin: setting `blockOwnerDeletion`
//! on an ownerReference needs `update` on the owner's `finalizers` subresource.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tests::sim::Sim;

use super::{NAMESPACE, find, kind};

/// One rule of a role bound to the service account; `namespace` is `None` for cluster-wide.
#[derive(Clone, Debug)]
pub struct Rule {
    pub namespace: Option<String>,
    pub groups: Vec<String>,
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    pub names: Vec<String>,
}

/// What a request asks for (the apiserver's request attributes).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Attrs {
    pub verb: String,
    pub group: String,
    /// `resource` or `resource/subresource`.
    pub resource: String,
    pub namespace: String,
    pub name: String,
}

/// One authorization decision of the proxy.
#[derive(Clone, Debug)]
pub struct Record {
    pub attrs: Attrs,
    pub allowed: bool,
    /// Not a request of its own: the finalizers check of an ownerReference in a write.
    pub owner_check: bool,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

pub fn rules_for(objs: &[Value], service_account: &str) -> Vec<Rule> {
    let mut rules = Vec::new();
    for binding in objs
        .iter()
        .filter(|o| matches!(kind(o), "RoleBinding" | "ClusterRoleBinding"))
    {
        let bound = binding["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| {
                s["kind"] == "ServiceAccount"
                    && s["name"] == service_account
                    && s["namespace"] == NAMESPACE
            });
        if !bound {
            continue;
        }
        let role = find(
            objs,
            binding["roleRef"]["kind"].as_str().unwrap_or_default(),
            binding["roleRef"]["name"].as_str().unwrap_or_default(),
        );
        let namespace = (kind(binding) == "RoleBinding").then(|| {
            binding["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        });
        for r in role["rules"].as_array().into_iter().flatten() {
            rules.push(Rule {
                namespace: namespace.clone(),
                groups: strings(&r["apiGroups"]),
                resources: strings(&r["resources"]),
                verbs: strings(&r["verbs"]),
                names: strings(&r["resourceNames"]),
            });
        }
    }
    rules
}

/// What the default `system:basic-user` ClusterRole grants every authenticated user.
pub fn basic_user_rules() -> Vec<Rule> {
    vec![Rule {
        namespace: None,
        groups: vec!["authorization.k8s.io".into()],
        resources: vec![
            "selfsubjectaccessreviews".into(),
            "selfsubjectrulesreviews".into(),
        ],
        verbs: vec!["create".into()],
        names: Vec::new(),
    }]
}

/// `None` for non-resource paths (discovery, version), which every authenticated user may read.
pub fn attributes(method: &Method, path: &str, query: &str) -> Option<Attrs> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", "v1", rest @ ..] if !rest.is_empty() => ("", rest),
        ["apis", group, _version, rest @ ..] if !rest.is_empty() => (*group, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (*ns, rest),
        _ => ("", rest),
    };
    let (resource, name, sub) = match rest {
        [r] => (*r, "", ""),
        [r, n] => (*r, *n, ""),
        [r, n, s] => (*r, *n, *s),
        _ => return None,
    };
    // A Namespace object is addressed within itself (`/api/v1/namespaces/x` is namespace x),
    // so a Role in x may grant reading x.
    let namespace = if group.is_empty() && resource == "namespaces" {
        name
    } else {
        namespace
    };
    let watch = query
        .split('&')
        .any(|p| p == "watch=true" || p == "watch=1");
    let verb = match (method.as_str(), name.is_empty()) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "list",
        ("GET", false) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "deletecollection",
        ("DELETE", false) => "delete",
        _ => "unknown",
    };
    Some(Attrs {
        verb: verb.to_owned(),
        group: group.to_owned(),
        resource: if sub.is_empty() {
            resource.to_owned()
        } else {
            format!("{resource}/{sub}")
        },
        namespace: namespace.to_owned(),
        // A create names its object in the body (subresource creates excepted), so
        // resourceNames can never match it.
        name: if verb == "create" && sub.is_empty() {
            String::new()
        } else {
            name.to_owned()
        },
    })
}

pub fn permits(rule: &Rule, a: &Attrs) -> bool {
    rule.namespace.as_deref().is_none_or(|ns| ns == a.namespace)
        && rule.groups.contains(&a.group)
        && rule.resources.contains(&a.resource)
        && rule.verbs.contains(&a.verb)
        && (rule.names.is_empty() || rule.names.contains(&a.name))
}

/// Where the owner kinds an ownerReference may name live: (group, plural) by (apiVersion's
/// group, kind), from the CRDs the simulator serves.
pub type OwnerKinds = HashMap<(String, String), String>;

pub fn owner_kinds_of_crds() -> OwnerKinds {
    shared::api::all_crds()
        .iter()
        .map(|crd| {
            (
                (crd.spec.group.clone(), crd.spec.names.kind.clone()),
                crd.spec.names.plural.clone(),
            )
        })
        .collect()
}

#[derive(Clone)]
struct Proxy {
    upstream: kube::Client,
    service_account: String,
    rules: Arc<Vec<Rule>>,
    owners: Arc<OwnerKinds>,
    audit: Audit,
}

impl Proxy {
    fn decide(&self, attrs: Attrs, owner_check: bool) -> bool {
        let allowed = self.rules.iter().any(|r| permits(r, &attrs));
        if !allowed {
            self.audit
                .denied
                .lock()
                .expect("lock")
                .push(format!("{} {} {}", attrs.verb, attrs.resource, attrs.name));
        }
        self.audit.log.lock().expect("lock").push(Record {
            attrs,
            allowed,
            owner_check,
        });
        allowed
    }

    fn forbidden(&self, a: &Attrs) -> Response {
        let message = format!(
            "{} {:?} is forbidden: User \"system:serviceaccount:{NAMESPACE}:{}\" cannot {} \
             resource {:?} in API group {:?} in the namespace {:?}",
            a.resource, a.name, self.service_account, a.verb, a.resource, a.group, a.namespace
        );
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": "Forbidden", "code": 403});
        (
            StatusCode::FORBIDDEN,
            [("content-type", "application/json")],
            status.to_string(),
        )
            .into_response()
    }

    /// The `update <owner>/finalizers` checks a create or update must pass for the
    /// ownerReferences with `blockOwnerDeletion` it adds (the plugin ignores unchanged ones).
    async fn owner_checks(&self, a: &Attrs, path: &str, body: &[u8]) -> Vec<Attrs> {
        let Ok(new) = serde_json::from_slice::<Value>(body) else {
            return Vec::new();
        };
        let blocking = |obj: &Value| -> Vec<Value> {
            obj["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["blockOwnerDeletion"] == true)
                .cloned()
                .collect()
        };
        let mut refs = blocking(&new);
        if a.verb == "update" && !refs.is_empty() {
            let old = self.current(path).await;
            let before = blocking(&old);
            refs.retain(|r| !before.contains(r));
        }
        refs.iter()
            .map(|r| {
                let api_version = r["apiVersion"].as_str().unwrap_or_default();
                let group = api_version
                    .split_once('/')
                    .map(|(g, _)| g)
                    .unwrap_or_default();
                let kind = r["kind"].as_str().unwrap_or_default();
                let plural = self
                    .owners
                    .get(&(group.to_owned(), kind.to_owned()))
                    .cloned()
                    // An unknown owner kind cannot be granted: it shows up as a denial.
                    .unwrap_or_else(|| format!("unknown-kind-{kind}"));
                Attrs {
                    verb: "update".into(),
                    group: group.into(),
                    resource: format!("{plural}/finalizers"),
                    // The owner lives in the object's namespace (or is cluster-scoped); the
                    // plugin asks in the object's namespace either way.
                    namespace: a.namespace.clone(),
                    name: r["name"].as_str().unwrap_or_default().into(),
                }
            })
            .collect()
    }

    async fn current(&self, path: &str) -> Value {
        let Ok(req) = http::Request::get(path).body(Vec::new()) else {
            return Value::Null;
        };
        self.upstream
            .request::<Value>(req)
            .await
            .unwrap_or(Value::Null)
    }
}

async fn forward(State(p): State<Proxy>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let headers: HeaderMap = request.headers().clone();
    let attrs = attributes(&method, &path, &query);
    if let Some(a) = &attrs
        && !p.decide(a.clone(), false)
    {
        return p.forbidden(a);
    }
    let body: Bytes = match axum::body::to_bytes(request.into_body(), 16 << 20).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    if let Some(a) = &attrs
        && matches!(a.verb.as_str(), "create" | "update")
    {
        for check in p.owner_checks(a, &path, &body).await {
            if !p.decide(check.clone(), true) {
                return p.forbidden(&check);
            }
        }
    }
    let uri = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    let mut upstream = http::Request::builder().method(method).uri(uri);
    for name in ["content-type", "accept"] {
        if let Some(v) = headers.get(name) {
            upstream = upstream.header(name, v);
        }
    }
    let Ok(upstream) = upstream.body(kube::client::Body::from(body.to_vec())) else {
        return (StatusCode::BAD_REQUEST, "unforwardable request").into_response();
    };
    // Forwarded as the admin, streaming (watches stay open).
    match p.upstream.send(upstream).await {
        Ok(r) => {
            let (parts, body) = r.into_parts();
            Response::from_parts(parts, axum::body::Body::new(body))
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// What a proxied identity did: every decision so far, in order.
#[derive(Clone, Default)]
pub struct Audit {
    log: Arc<Mutex<Vec<Record>>>,
    /// The refusals as `verb resource name` lines.
    pub denied: Arc<Mutex<Vec<String>>>,
}

impl Audit {
    pub fn records(&self) -> Vec<Record> {
        self.log.lock().expect("lock").clone()
    }
}

/// A kube client acting as `service_account` of the install namespace with the RBAC `objs`
/// grant it (plus the default basic-user rules), and the audit of what it did.
pub async fn client_as(sim: &Sim, objs: &[Value], service_account: &str) -> (kube::Client, Audit) {
    let mut rules = rules_for(objs, service_account);
    rules.extend(basic_user_rules());
    let audit = Audit::default();
    let proxy = Proxy {
        upstream: sim.client(),
        service_account: service_account.to_owned(),
        rules: Arc::new(rules),
        owners: Arc::new(owner_kinds_of_crds()),
        audit: audit.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut cfg = kube::Config::new(format!("http://{addr}").parse().expect("uri"));
    cfg.default_namespace = NAMESPACE.into();
    (kube::Client::try_from(cfg).expect("client"), audit)
}
