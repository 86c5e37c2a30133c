//! Authentication (bearer tokens standing in for client certificates) and a small authorizer that
//! reproduces RBAC's default roles: admins may do anything, authenticated users may read discovery
//! and review themselves, anonymous users may read public info only.

use serde_json::{Value, json};

use super::errors::{self, ApiError};

#[derive(Clone, Debug, PartialEq)]
pub struct UserInfo {
    pub username: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: Vec<(String, Vec<String>)>,
}

impl UserInfo {
    pub fn anonymous() -> Self {
        UserInfo {
            username: "system:anonymous".into(),
            uid: String::new(),
            groups: vec!["system:unauthenticated".into()],
            extra: vec![],
        }
    }
    /// A user authenticated by a client certificate (the credential id is the certificate hash).
    pub fn cert(name: &str, groups: &[&str]) -> Self {
        let mut g: Vec<String> = groups.iter().map(|s| s.to_string()).collect();
        g.push("system:authenticated".into());
        let id = hex::encode(super::registry::sha256(
            format!("kubesim-cert:{name}").as_bytes(),
        ));
        UserInfo {
            username: name.into(),
            uid: String::new(),
            groups: g,
            extra: vec![(
                "authentication.kubernetes.io/credential-id".into(),
                vec![format!("X509SHA256={id}")],
            )],
        }
    }
    pub fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }
    pub fn is_authenticated(&self) -> bool {
        self.groups.iter().any(|g| g == "system:authenticated")
    }
    /// The `userInfo` object of reviews and AdmissionReview requests.
    /// From authentication/v1 UserInfo JSON (as a TokenReview returns it).
    pub fn from_json(v: &Value) -> Self {
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        UserInfo {
            username: v["username"].as_str().unwrap_or("").into(),
            uid: v["uid"].as_str().unwrap_or("").into(),
            groups: strings(&v["groups"]),
            extra: v["extra"]
                .as_object()
                .map(|m| m.iter().map(|(k, x)| (k.clone(), strings(x))).collect())
                .unwrap_or_default(),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("username".into(), json!(self.username));
        if !self.uid.is_empty() {
            m.insert("uid".into(), json!(self.uid));
        }
        m.insert("groups".into(), json!(self.groups));
        if !self.extra.is_empty() {
            let extra: serde_json::Map<String, Value> = self
                .extra
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            m.insert("extra".into(), Value::Object(extra));
        }
        Value::Object(m)
    }
}

/// The bearer token the admin client uses (stands for the recorder's `CN=admin, O=system:masters` cert).
pub const ADMIN_TOKEN: &str = "kubesim-admin";
/// The bearer token of user `nobody` (stands for a `CN=nobody` client certificate without RBAC).
pub const NOBODY_TOKEN: &str = "kubesim-nobody";

/// A request's attributes as the authorizer sees them.
pub struct Attrs<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

/// Public non-resource paths (system:public-info-viewer and service-account-issuer-discovery).
fn public_path(path: &str) -> bool {
    matches!(
        path,
        "/version"
            | "/version/"
            | "/healthz"
            | "/readyz"
            | "/livez"
            | "/.well-known/openid-configuration"
            | "/openid/v1/jwks"
    )
}

fn discovery_path(path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || path == "/apis"
        || path.starts_with("/apis/")
        || path.starts_with("/openapi")
}

pub fn authorize_path(user: &UserInfo, path: &str) -> Result<(), ApiError> {
    if user.is_admin() || public_path(path) || (user.is_authenticated() && discovery_path(path)) {
        return Ok(());
    }
    Err(errors::forbidden(
        &format!(
            "forbidden: User {:?} cannot get path {path:?}",
            user.username
        ),
        json!({}),
    ))
}

fn self_review(a: &Attrs) -> bool {
    a.verb == "create"
        && matches!(
            (a.group, a.resource),
            ("authentication.k8s.io", "selfsubjectreviews")
                | ("authorization.k8s.io", "selfsubjectaccessreviews")
                | ("authorization.k8s.io", "selfsubjectrulesreviews")
        )
}

pub fn allowed(user: &UserInfo, a: &Attrs) -> bool {
    user.is_admin() || (user.is_authenticated() && self_review(a))
}

/// The 403 body RBAC produces. `verb_prefix` carries e.g. `impersonate-on:user-info:`.
pub fn forbidden_resource(user: &UserInfo, a: &Attrs, verb_prefix: &str) -> ApiError {
    let res = errors::qualified(a.resource, a.group);
    let subject = if a.name.is_empty() {
        res
    } else {
        format!("{res} {:?}", a.name)
    };
    let full_res = if a.subresource.is_empty() {
        a.resource.to_string()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {:?}", a.namespace)
    };
    errors::forbidden(
        &format!(
            "{subject} is forbidden: User {:?} cannot {verb_prefix}{} resource {full_res:?} in API group {:?} {scope}",
            user.username, a.verb, a.group
        ),
        errors::details(a.name, a.group, a.resource),
    )
}
