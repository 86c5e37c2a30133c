//! apimachinery `field.Error` / `field.ErrorList` and the 422 `Status` built from them, with
//! Go's exact wording (`spec.size: Invalid value: 0: ...`, `Unsupported value: "x": supported
//! values: "a", "b"`, `<nil>` for an empty path).

use serde_json::{Map, Value, json};

use crate::sim::admission::client::go_quote;

/// field.ErrorType, named by the cause `reason` it reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    NotFound,
    Required,
    Duplicate,
    Invalid,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
    Internal,
    TypeInvalid,
}

impl ErrorType {
    /// The text Go prints (`Required value`, `Unsupported value`...).
    pub fn text(self) -> &'static str {
        match self {
            ErrorType::NotFound => "Not found",
            ErrorType::Required => "Required value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::Invalid | ErrorType::TypeInvalid => "Invalid value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::Internal => "Internal error",
        }
    }

    /// `details.causes[].reason`.
    pub fn reason(self) -> &'static str {
        match self {
            ErrorType::NotFound => "FieldValueNotFound",
            ErrorType::Required => "FieldValueRequired",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::NotSupported => "FieldValueNotSupported",
            ErrorType::Forbidden => "FieldValueForbidden",
            ErrorType::TooLong => "FieldValueTooLong",
            ErrorType::TooMany => "FieldValueTooMany",
            ErrorType::Internal => "InternalError",
            ErrorType::TypeInvalid => "FieldValueTypeInvalid",
        }
    }
}

/// The `BadValue` of a field error, printed the way Go's `%v` / `%q` would.
#[derive(Clone, Debug, PartialEq)]
pub enum BadValue {
    /// `field.OmitValueType`: only the type text is printed.
    Omit,
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Anything else, already rendered.
    Raw(String),
}

impl BadValue {
    fn render(&self) -> Option<String> {
        match self {
            BadValue::Omit => None,
            BadValue::Null => Some("null".into()),
            BadValue::Str(s) => Some(go_quote(s)),
            BadValue::Int(i) => Some(i.to_string()),
            BadValue::Float(f) => Some(go_float(*f)),
            BadValue::Bool(b) => Some(b.to_string()),
            BadValue::Raw(r) => Some(r.clone()),
        }
    }

    /// A JSON value as the apiserver would print it as a bad value.
    pub fn from_json(v: &Value) -> Self {
        match v {
            Value::Null => BadValue::Null,
            Value::Bool(b) => BadValue::Bool(*b),
            Value::Number(n) => n
                .as_i64()
                .map_or_else(|| BadValue::Float(n.as_f64().unwrap_or(0.0)), BadValue::Int),
            Value::String(s) => BadValue::Str(s.clone()),
            other => BadValue::Raw(other.to_string()),
        }
    }
}

/// Go `%v` of a float64: shortest representation, exponent form for large/small magnitudes.
pub fn go_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// Dotted path with `[i]` indices; empty renders as `<nil>`.
    pub field: String,
    pub kind: ErrorType,
    pub bad_value: BadValue,
    pub detail: String,
}

impl FieldError {
    pub fn new(kind: ErrorType, field: &str, bad_value: BadValue, detail: &str) -> Self {
        Self {
            field: field.into(),
            kind,
            bad_value,
            detail: detail.into(),
        }
    }
    pub fn required(field: &str, detail: &str) -> Self {
        Self::new(ErrorType::Required, field, BadValue::Omit, detail)
    }
    pub fn invalid(field: &str, bad: BadValue, detail: &str) -> Self {
        Self::new(ErrorType::Invalid, field, bad, detail)
    }
    pub fn type_invalid(field: &str, bad: BadValue, detail: &str) -> Self {
        Self::new(ErrorType::TypeInvalid, field, bad, detail)
    }
    pub fn duplicate(field: &str, bad: BadValue) -> Self {
        Self::new(ErrorType::Duplicate, field, bad, "")
    }
    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self::new(ErrorType::Forbidden, field, BadValue::Omit, detail)
    }
    /// `Unsupported value: "x": supported values: "a", "b"`.
    pub fn not_supported(field: &str, bad: BadValue, allowed: &[&str]) -> Self {
        let quoted: Vec<String> = allowed.iter().map(|a| go_quote(a)).collect();
        let detail = if quoted.is_empty() {
            String::new()
        } else {
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(ErrorType::NotSupported, field, bad, &detail)
    }

    /// field.Error.ErrorBody(): the cause `message`.
    pub fn body(&self) -> String {
        let mut s = self.kind.text().to_owned();
        let show_value = !matches!(
            self.kind,
            ErrorType::Required | ErrorType::Forbidden | ErrorType::TooLong | ErrorType::Internal
        );
        if show_value && let Some(v) = self.bad_value.render() {
            s.push_str(": ");
            s.push_str(&v);
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    pub fn field_text(&self) -> &str {
        if self.field.is_empty() {
            "<nil>"
        } else {
            &self.field
        }
    }

    /// field.Error.Error(): `path: body`.
    pub fn message(&self) -> String {
        format!("{}: {}", self.field_text(), self.body())
    }
}

/// ErrorList.ToAggregate().Error(): one message as is, several in `[a, b]`; duplicates dropped.
pub fn aggregate_message(errs: &[FieldError]) -> String {
    let mut msgs: Vec<String> = Vec::new();
    for e in errs {
        let m = e.message();
        if !msgs.contains(&m) {
            msgs.push(m);
        }
    }
    if msgs.len() == 1 {
        msgs.remove(0)
    } else {
        format!("[{}]", msgs.join(", "))
    }
}

/// apierrors.NewInvalid: the 422 body for `<Kind>.<group> "<name>" is invalid: ...`.
/// `group` empty for core kinds (the qualified kind is then just `Kind`).
pub fn invalid_status(group: &str, kind: &str, name: &str, errs: &[FieldError]) -> Value {
    let qualified = if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    };
    let causes: Vec<Value> = errs
        .iter()
        .map(|e| json!({"reason": e.kind.reason(), "message": e.body(), "field": e.field_text()}))
        .collect();
    let mut details = Map::new();
    if !name.is_empty() {
        details.insert("name".into(), name.into());
    }
    if !group.is_empty() {
        details.insert("group".into(), group.into());
    }
    details.insert("kind".into(), kind.into());
    details.insert("causes".into(), causes.into());
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("{qualified} \"{name}\" is invalid: {}", aggregate_message(errs)),
        "reason": "Invalid",
        "details": details,
        "code": 422,
    })
}
