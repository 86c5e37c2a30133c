//! Kubernetes `Status` error bodies, shaped like the ones kube-apiserver sends.

use serde_json::{Map, Value, json};

/// One entry of `details.causes` (a field error).
#[derive(Clone, Debug, PartialEq)]
pub struct Cause {
    pub reason: String,
    pub message: String,
    pub field: String,
}

impl Cause {
    pub fn new(reason: &str, field: &str, message: impl Into<String>) -> Self {
        Cause {
            reason: reason.into(),
            message: message.into(),
            field: field.into(),
        }
    }
    /// `Required value` (optionally with a detail).
    pub fn required(field: &str, detail: &str) -> Self {
        let m = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        Self::new("FieldValueRequired", field, m)
    }
    /// `Invalid value: <value as Go prints it>: detail`.
    pub fn invalid(field: &str, value: &Value, detail: &str) -> Self {
        let mut m = format!("Invalid value: {}", go_value(value));
        if !detail.is_empty() {
            m.push_str(": ");
            m.push_str(detail);
        }
        Self::new("FieldValueInvalid", field, m)
    }
    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self::new("FieldValueForbidden", field, format!("Forbidden: {detail}"))
    }
    pub fn not_supported(field: &str, value: &str, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        Self::new(
            "FieldValueNotSupported",
            field,
            format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
        )
    }
    fn text(&self) -> String {
        if self.field.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.field, self.message)
        }
    }
}

/// How field.Invalid renders a value: strings quoted, numbers bare, objects as Go would print them.
pub fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}").replace("\\'", "'"),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// An error response: either a JSON `Status` or a plain-text body.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub code: u16,
    pub body: Value,
    pub plain: Option<String>,
    pub headers: Vec<(String, String)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

pub fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> ApiError {
    let mut m = Map::new();
    m.insert("kind".into(), json!("Status"));
    m.insert("apiVersion".into(), json!("v1"));
    m.insert("metadata".into(), json!({}));
    m.insert("status".into(), json!("Failure"));
    m.insert("message".into(), json!(message));
    if !reason.is_empty() {
        m.insert("reason".into(), json!(reason));
    }
    if let Some(d) = details {
        m.insert("details".into(), d);
    }
    m.insert("code".into(), json!(code));
    ApiError {
        code,
        body: Value::Object(m),
        plain: None,
        headers: vec![],
    }
}

/// `details` naming an object of a resource (`kind` is the plural resource name, like the apiserver does).
pub fn details(name: &str, group: &str, kind: &str) -> Value {
    let mut d = Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !group.is_empty() {
        d.insert("group".into(), json!(group));
    }
    d.insert("kind".into(), json!(kind));
    Value::Object(d)
}

pub fn qualified(resource: &str, group: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

pub fn not_found(resource: &str, group: &str, name: &str) -> ApiError {
    status(
        404,
        "NotFound",
        &format!("{} {name:?} not found", qualified(resource, group)),
        Some(details(name, group, resource)),
    )
}

pub fn already_exists(resource: &str, group: &str, name: &str) -> ApiError {
    status(
        409,
        "AlreadyExists",
        &format!("{} {name:?} already exists", qualified(resource, group)),
        Some(details(name, group, resource)),
    )
}

pub fn conflict_modified(resource: &str, group: &str, name: &str) -> ApiError {
    status(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
            qualified(resource, group)
        ),
        Some(details(name, group, resource)),
    )
}

pub fn bad_request(message: &str) -> ApiError {
    status(400, "BadRequest", message, None)
}

pub fn internal(message: &str) -> ApiError {
    status(
        500,
        "InternalError",
        message,
        Some(json!({"causes": [{"message": message}]})),
    )
}

pub fn not_found_generic() -> ApiError {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

pub fn method_not_allowed() -> ApiError {
    status(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        Some(json!({})),
    )
}

pub fn plain_404() -> ApiError {
    ApiError {
        code: 404,
        body: Value::Null,
        plain: Some("404 page not found\n".into()),
        headers: vec![],
    }
}

/// 422 Invalid for an object: `Kind "name" is invalid: <causes>`.
pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<Cause>) -> ApiError {
    let mut texts: Vec<String> = Vec::new();
    for c in &causes {
        let t = c.text();
        if !texts.contains(&t) {
            texts.push(t);
        }
    }
    let summary = if texts.len() == 1 {
        texts[0].clone()
    } else {
        format!("[{}]", texts.join(", "))
    };
    let qkind = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    let mut d = Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !group.is_empty() {
        d.insert("group".into(), json!(group));
    }
    if !kind.is_empty() {
        d.insert("kind".into(), json!(kind));
    }
    d.insert("causes".into(), causes_json(&causes));
    status(
        422,
        "Invalid",
        &format!("{qkind} {name:?} is invalid: {summary}"),
        Some(Value::Object(d)),
    )
}

pub fn causes_json(causes: &[Cause]) -> Value {
    Value::Array(
        causes
            .iter()
            .map(|c| {
                let mut m = Map::new();
                m.insert("reason".into(), json!(c.reason));
                m.insert("message".into(), json!(c.message));
                if !c.field.is_empty() {
                    m.insert("field".into(), json!(c.field));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

/// 422 about request options (`CreateOptions.meta.k8s.io "" is invalid: ...`).
pub fn invalid_options(kind: &str, causes: Vec<Cause>) -> ApiError {
    let mut e = invalid(kind, "meta.k8s.io", "", causes);
    if let Some(d) = e.body.get_mut("details").and_then(Value::as_object_mut) {
        d.remove("name");
    }
    e
}

pub fn forbidden(message: &str, details: Value) -> ApiError {
    status(403, "Forbidden", message, Some(details))
}

pub fn unauthorized() -> ApiError {
    status(401, "Unauthorized", "Unauthorized", None)
}

pub fn unsupported_media(message: &str, with_details: bool) -> ApiError {
    status(
        415,
        "UnsupportedMediaType",
        message,
        with_details.then(|| json!({})),
    )
}
