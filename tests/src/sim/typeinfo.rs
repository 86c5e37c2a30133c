//! Structural type information for built-in kinds and CRD schemas: which fields exist (unknown-field
//! warnings, SSA "field not declared in schema"), how lists merge (managedFields keys) and the Go
//! type names that decode errors mention.

use std::sync::{Arc, LazyLock};

use serde_json::Value;

#[derive(Clone, Debug)]
pub enum Scalar {
    Str,
    Int,
    Bool,
    Num,
    Bytes,
    Time,
    MicroTime,
    IntOrStr,
}

#[derive(Clone, Debug)]
pub enum ListKind {
    Atomic,
    Set,
    Map(Vec<String>),
}

#[derive(Clone, Debug)]
pub struct StructTy {
    pub go: String,
    pub fields: Vec<(String, Ty)>,
    /// Unknown fields are kept (CRD `x-kubernetes-preserve-unknown-fields`).
    pub preserve: bool,
    /// A Go value struct (not a pointer): always present, so it never shows up as a node of its own
    /// in managedFields (no `"."` entry).
    pub value: bool,
}

#[derive(Clone, Debug)]
pub enum Ty {
    /// Anything goes; treated as one atomic value.
    Any,
    Scalar(Scalar),
    Map(Box<Ty>),
    Struct(Arc<StructTy>),
    List(ListKind, Box<Ty>),
}

impl Ty {
    pub fn field(&self, name: &str) -> Option<&Ty> {
        match self {
            Ty::Struct(s) => s.fields.iter().find(|(n, _)| n == name).map(|(_, t)| t),
            Ty::Map(t) => Some(t),
            _ => None,
        }
    }
    /// The Go type name used in `json: cannot unmarshal` messages.
    pub fn go_name(&self) -> String {
        match self {
            Ty::Any => "interface {}".into(),
            Ty::Scalar(Scalar::Str) => "string".into(),
            Ty::Scalar(Scalar::Int) => "int64".into(),
            Ty::Scalar(Scalar::Bool) => "bool".into(),
            Ty::Scalar(Scalar::Num) => "float64".into(),
            Ty::Scalar(Scalar::Bytes) => "[]uint8".into(),
            Ty::Scalar(Scalar::Time) => "v1.Time".into(),
            Ty::Scalar(Scalar::MicroTime) => "v1.MicroTime".into(),
            Ty::Scalar(Scalar::IntOrStr) => "intstr.IntOrString".into(),
            Ty::Map(t) => format!("map[string]{}", t.go_name()),
            Ty::Struct(s) => s.go.clone(),
            Ty::List(_, t) => format!("[]{}", t.go_name()),
        }
    }
}

fn st(go: &str, fields: Vec<(&str, Ty)>) -> Ty {
    Ty::Struct(Arc::new(StructTy {
        go: go.into(),
        fields: fields
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect(),
        preserve: false,
        value: false,
    }))
}
fn vst(go: &str, fields: Vec<(&str, Ty)>) -> Ty {
    Ty::Struct(Arc::new(StructTy {
        go: go.into(),
        fields: fields
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect(),
        preserve: false,
        value: true,
    }))
}
fn s() -> Ty {
    Ty::Scalar(Scalar::Str)
}
fn i() -> Ty {
    Ty::Scalar(Scalar::Int)
}
fn b() -> Ty {
    Ty::Scalar(Scalar::Bool)
}
fn t() -> Ty {
    Ty::Scalar(Scalar::Time)
}
fn mt() -> Ty {
    Ty::Scalar(Scalar::MicroTime)
}
fn map(v: Ty) -> Ty {
    Ty::Map(Box::new(v))
}
fn atomic(v: Ty) -> Ty {
    Ty::List(ListKind::Atomic, Box::new(v))
}
fn set(v: Ty) -> Ty {
    Ty::List(ListKind::Set, Box::new(v))
}
fn keyed(keys: &[&str], v: Ty) -> Ty {
    Ty::List(
        ListKind::Map(keys.iter().map(|k| k.to_string()).collect()),
        Box::new(v),
    )
}

pub fn object_meta() -> Ty {
    vst(
        "v1.ObjectMeta",
        vec![
            ("name", s()),
            ("generateName", s()),
            ("namespace", s()),
            ("selfLink", s()),
            ("uid", s()),
            ("resourceVersion", s()),
            ("generation", i()),
            ("creationTimestamp", t()),
            ("deletionTimestamp", t()),
            ("deletionGracePeriodSeconds", i()),
            ("labels", map(s())),
            ("annotations", map(s())),
            (
                "ownerReferences",
                keyed(
                    &["uid"],
                    st(
                        "v1.OwnerReference",
                        vec![
                            ("apiVersion", s()),
                            ("kind", s()),
                            ("name", s()),
                            ("uid", s()),
                            ("controller", b()),
                            ("blockOwnerDeletion", b()),
                        ],
                    ),
                ),
            ),
            ("finalizers", set(s())),
            (
                "managedFields",
                atomic(st(
                    "v1.ManagedFieldsEntry",
                    vec![
                        ("manager", s()),
                        ("operation", s()),
                        ("apiVersion", s()),
                        ("time", t()),
                        ("fieldsType", s()),
                        ("fieldsV1", Ty::Any),
                        ("subresource", s()),
                    ],
                )),
            ),
        ],
    )
}

fn top(go: &str, mut fields: Vec<(&str, Ty)>) -> Ty {
    let mut all = vec![
        ("apiVersion", s()),
        ("kind", s()),
        ("metadata", object_meta()),
    ];
    all.append(&mut fields);
    st(go, all)
}

fn object_reference() -> Ty {
    st(
        "v1.ObjectReference",
        vec![
            ("kind", s()),
            ("namespace", s()),
            ("name", s()),
            ("uid", s()),
            ("apiVersion", s()),
            ("resourceVersion", s()),
            ("fieldPath", s()),
        ],
    )
}

fn condition(go: &str) -> Ty {
    keyed(
        &["type"],
        st(
            go,
            vec![
                ("type", s()),
                ("status", s()),
                ("observedGeneration", i()),
                ("lastTransitionTime", t()),
                ("reason", s()),
                ("message", s()),
            ],
        ),
    )
}

fn label_selector() -> Ty {
    Ty::Any
}

fn webhook(mutating: bool) -> Ty {
    let mut f = vec![
        ("name", s()),
        (
            "clientConfig",
            vst(
                "v1.WebhookClientConfig",
                vec![
                    ("url", s()),
                    (
                        "service",
                        st(
                            "v1.ServiceReference",
                            vec![
                                ("namespace", s()),
                                ("name", s()),
                                ("path", s()),
                                ("port", i()),
                            ],
                        ),
                    ),
                    ("caBundle", Ty::Scalar(Scalar::Bytes)),
                ],
            ),
        ),
        ("rules", atomic(Ty::Any)),
        ("failurePolicy", s()),
        ("matchPolicy", s()),
        ("namespaceSelector", label_selector()),
        ("objectSelector", label_selector()),
        ("sideEffects", s()),
        ("timeoutSeconds", i()),
        ("admissionReviewVersions", atomic(s())),
        (
            "matchConditions",
            keyed(
                &["name"],
                st(
                    "v1.MatchCondition",
                    vec![("name", s()), ("expression", s())],
                ),
            ),
        ),
    ];
    if mutating {
        f.push(("reinvocationPolicy", s()));
    }
    keyed(
        &["name"],
        st(
            if mutating {
                "v1.MutatingWebhook"
            } else {
                "v1.ValidatingWebhook"
            },
            f,
        ),
    )
}

fn crd() -> Ty {
    let names = || {
        vst(
            "v1.CustomResourceDefinitionNames",
            vec![
                ("plural", s()),
                ("singular", s()),
                ("shortNames", atomic(s())),
                ("kind", s()),
                ("listKind", s()),
                ("categories", atomic(s())),
            ],
        )
    };
    top(
        "CustomResourceDefinition",
        vec![
            (
                "spec",
                vst(
                    "v1.CustomResourceDefinitionSpec",
                    vec![
                        ("group", s()),
                        ("names", names()),
                        ("scope", s()),
                        ("versions", atomic(Ty::Any)),
                        (
                            "conversion",
                            st(
                                "v1.CustomResourceConversion",
                                vec![("strategy", s()), ("webhook", Ty::Any)],
                            ),
                        ),
                        ("preserveUnknownFields", b()),
                    ],
                ),
            ),
            (
                "status",
                vst(
                    "v1.CustomResourceDefinitionStatus",
                    vec![
                        (
                            "conditions",
                            condition("v1.CustomResourceDefinitionCondition"),
                        ),
                        ("acceptedNames", names()),
                        ("storedVersions", atomic(s())),
                    ],
                ),
            ),
        ],
    )
}

fn series() -> Ty {
    st(
        "v1.EventSeries",
        vec![("count", i()), ("lastObservedTime", mt())],
    )
}

fn source() -> Ty {
    // Value struct in both Event versions.
    vst("v1.EventSource", vec![("component", s()), ("host", s())])
}

static BUILTIN: LazyLock<Vec<(&'static str, Ty)>> = LazyLock::new(|| {
    vec![
        (
            "Namespace",
            top(
                "Namespace",
                vec![
                    (
                        "spec",
                        vst("v1.NamespaceSpec", vec![("finalizers", atomic(s()))]),
                    ),
                    (
                        "status",
                        vst(
                            "v1.NamespaceStatus",
                            vec![
                                ("phase", s()),
                                ("conditions", condition("v1.NamespaceCondition")),
                            ],
                        ),
                    ),
                ],
            ),
        ),
        (
            "Secret",
            top(
                "Secret",
                vec![
                    ("immutable", b()),
                    ("data", map(Ty::Scalar(Scalar::Bytes))),
                    ("stringData", map(s())),
                    ("type", s()),
                ],
            ),
        ),
        (
            "ConfigMap",
            top(
                "ConfigMap",
                vec![
                    ("immutable", b()),
                    ("data", map(s())),
                    ("binaryData", map(Ty::Scalar(Scalar::Bytes))),
                ],
            ),
        ),
        (
            "ServiceAccount",
            top(
                "ServiceAccount",
                vec![
                    ("secrets", keyed(&["name"], object_reference())),
                    (
                        "imagePullSecrets",
                        atomic(st("v1.LocalObjectReference", vec![("name", s())])),
                    ),
                    ("automountServiceAccountToken", b()),
                ],
            ),
        ),
        (
            "Lease",
            top(
                "Lease",
                vec![(
                    "spec",
                    vst(
                        "v1.LeaseSpec",
                        vec![
                            ("holderIdentity", s()),
                            ("leaseDurationSeconds", i()),
                            ("acquireTime", mt()),
                            ("renewTime", mt()),
                            ("leaseTransitions", i()),
                            ("strategy", s()),
                            ("preferredHolder", s()),
                        ],
                    ),
                )],
            ),
        ),
        (
            "Event",
            top(
                "Event",
                vec![
                    ("involvedObject", Ty::Any),
                    ("reason", s()),
                    ("message", s()),
                    ("source", source()),
                    ("firstTimestamp", t()),
                    ("lastTimestamp", t()),
                    ("count", i()),
                    ("type", s()),
                    ("eventTime", mt()),
                    ("series", series()),
                    ("action", s()),
                    ("related", Ty::Any),
                    ("reportingComponent", s()),
                    ("reportingInstance", s()),
                ],
            ),
        ),
        (
            "events.k8s.io/Event",
            top(
                "Event",
                vec![
                    ("eventTime", mt()),
                    ("series", series()),
                    ("reportingController", s()),
                    ("reportingInstance", s()),
                    ("action", s()),
                    ("reason", s()),
                    ("regarding", Ty::Any),
                    ("related", Ty::Any),
                    ("note", s()),
                    ("type", s()),
                    ("deprecatedSource", source()),
                    ("deprecatedFirstTimestamp", t()),
                    ("deprecatedLastTimestamp", t()),
                    ("deprecatedCount", i()),
                ],
            ),
        ),
        ("CustomResourceDefinition", crd()),
        (
            "ValidatingWebhookConfiguration",
            top(
                "ValidatingWebhookConfiguration",
                vec![("webhooks", webhook(false))],
            ),
        ),
        (
            "MutatingWebhookConfiguration",
            top(
                "MutatingWebhookConfiguration",
                vec![("webhooks", webhook(true))],
            ),
        ),
    ]
});

/// The type of a built-in kind, keyed by kind (or `group/kind` where two groups share a kind).
pub fn builtin(key: &str) -> Option<Ty> {
    BUILTIN
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, t)| t.clone())
}

/// Type information from a CRD version's `openAPIV3Schema`; metadata is always ObjectMeta.
pub fn from_openapi(schema: &Value, kind: &str) -> Ty {
    let mut ty = convert(schema, kind);
    if let Ty::Struct(s) = &mut ty {
        let s = Arc::make_mut(s);
        for (name, t) in [
            ("apiVersion", Ty::Scalar(Scalar::Str)),
            ("kind", Ty::Scalar(Scalar::Str)),
            ("metadata", object_meta()),
        ] {
            if let Some(slot) = s.fields.iter_mut().find(|(n, _)| n == name) {
                slot.1 = t;
            } else {
                s.fields.push((name.into(), t));
            }
        }
    }
    ty
}

fn convert(schema: &Value, go: &str) -> Ty {
    let get = |k: &str| schema.get(k);
    if get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true) {
        return Ty::Scalar(Scalar::IntOrStr);
    }
    let preserve =
        get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true);
    match get("type").and_then(Value::as_str) {
        Some("object") | None
            if get("properties").is_some() || preserve || get("additionalProperties").is_none() =>
        {
            let props = get("properties").and_then(Value::as_object);
            if props.is_none() && preserve {
                return Ty::Any;
            }
            let fields = props
                .map(|p| p.iter().map(|(k, v)| (k.clone(), convert(v, ""))).collect())
                .unwrap_or_default();
            if get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic") {
                return Ty::Any;
            }
            Ty::Struct(Arc::new(StructTy {
                go: go.into(),
                fields,
                preserve,
                value: false,
            }))
        }
        Some("object") | None => {
            let inner = get("additionalProperties")
                .map(|a| {
                    if a.is_object() {
                        convert(a, "")
                    } else {
                        Ty::Any
                    }
                })
                .unwrap_or(Ty::Any);
            Ty::Map(Box::new(inner))
        }
        Some("array") => {
            let item = get("items").map(|it| convert(it, "")).unwrap_or(Ty::Any);
            let kind = match get("x-kubernetes-list-type").and_then(Value::as_str) {
                Some("set") => ListKind::Set,
                Some("map") => ListKind::Map(
                    get("x-kubernetes-list-map-keys")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|k| k.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                _ => ListKind::Atomic,
            };
            Ty::List(kind, Box::new(item))
        }
        Some("integer") => Ty::Scalar(Scalar::Int),
        Some("number") => Ty::Scalar(Scalar::Num),
        Some("boolean") => Ty::Scalar(Scalar::Bool),
        Some(_) => Ty::Scalar(Scalar::Str),
    }
}

/// Paths of fields that the type does not declare (sorted like the apiserver's warnings are not:
/// callers decide the order). `prefix` is the dotted path so far.
pub fn unknown_fields(v: &Value, ty: &Ty, prefix: &str, out: &mut Vec<String>) {
    match (v, ty) {
        (Value::Object(m), Ty::Struct(s)) => {
            for (k, child) in m {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match s.fields.iter().find(|(n, _)| n == k) {
                    Some((_, t)) => unknown_fields(child, t, &path, out),
                    None if s.preserve => {}
                    None => out.push(path),
                }
            }
        }
        (Value::Object(m), Ty::Map(t)) => {
            for (k, child) in m {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                unknown_fields(child, t, &path, out);
            }
        }
        (Value::Array(a), Ty::List(_, t)) => {
            for (idx, child) in a.iter().enumerate() {
                unknown_fields(child, t, &format!("{prefix}[{idx}]"), out);
            }
        }
        _ => {}
    }
}

/// Drops fields the type does not declare.
pub fn prune(v: &mut Value, ty: &Ty) {
    match (v, ty) {
        (Value::Object(m), Ty::Struct(s)) => {
            if !s.preserve {
                m.retain(|k, _| s.fields.iter().any(|(n, _)| n == k));
            }
            for (k, child) in m.iter_mut() {
                if let Some((_, t)) = s.fields.iter().find(|(n, _)| n == k) {
                    prune(child, t);
                }
            }
        }
        (Value::Object(m), Ty::Map(t)) => m.values_mut().for_each(|c| prune(c, t)),
        (Value::Array(a), Ty::List(_, t)) => a.iter_mut().for_each(|c| prune(c, t)),
        _ => {}
    }
}

/// The first place where a JSON value has the wrong JSON type for its declared Go type, as
/// `(dotted path, Go type name, JSON type name)`.
pub fn type_mismatch(v: &Value, ty: &Ty, prefix: &str) -> Option<(String, String, &'static str)> {
    let jt = match v {
        Value::Null => return None,
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let ok = match ty {
        Ty::Any => true,
        Ty::Scalar(Scalar::Int) | Ty::Scalar(Scalar::Num) => jt == "number",
        Ty::Scalar(Scalar::Bool) => jt == "bool",
        Ty::Scalar(Scalar::IntOrStr) => jt == "number" || jt == "string",
        Ty::Scalar(_) => jt == "string",
        Ty::Map(_) | Ty::Struct(_) => jt == "object",
        Ty::List(..) => jt == "array",
    };
    if !ok {
        return Some((prefix.to_string(), ty.go_name(), jt));
    }
    match (v, ty) {
        (Value::Object(m), Ty::Struct(s)) => {
            for (k, child) in m {
                if let Some((_, t)) = s.fields.iter().find(|(n, _)| n == k) {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    if let Some(r) = type_mismatch(child, t, &p) {
                        return Some(r);
                    }
                }
            }
            None
        }
        (Value::Object(m), Ty::Map(t)) => m.iter().find_map(|(k, c)| {
            type_mismatch(
                c,
                t,
                &if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                },
            )
        }),
        (Value::Array(a), Ty::List(_, t)) => a.iter().find_map(|c| type_mismatch(c, t, prefix)),
        _ => None,
    }
}

/// JSON text with struct fields in Go declaration order (what Go's encoder writes for a typed
/// object); maps and unknown fields keep sorted order.
pub fn to_go_json(v: &Value, ty: &Ty) -> String {
    match (v, ty) {
        (Value::Object(m), Ty::Struct(s)) => {
            let mut parts: Vec<String> = Vec::new();
            for (name, fty) in &s.fields {
                if let Some(c) = m.get(name) {
                    parts.push(format!(
                        "{}:{}",
                        Value::from(name.as_str()),
                        to_go_json(c, fty)
                    ));
                }
            }
            for (k, c) in m {
                if !s.fields.iter().any(|(n, _)| n == k) {
                    parts.push(format!(
                        "{}:{}",
                        Value::from(k.as_str()),
                        to_go_json(c, &Ty::Any)
                    ));
                }
            }
            format!("{{{}}}", parts.join(","))
        }
        (Value::Object(m), _) => {
            let child = match ty {
                Ty::Map(t) => t.as_ref(),
                _ => &Ty::Any,
            };
            let parts: Vec<String> = m
                .iter()
                .map(|(k, c)| format!("{}:{}", Value::from(k.as_str()), to_go_json(c, child)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        (Value::Array(a), Ty::List(_, t)) => {
            let parts: Vec<String> = a.iter().map(|c| to_go_json(c, t)).collect();
            format!("[{}]", parts.join(","))
        }
        (Value::Array(a), _) => {
            let parts: Vec<String> = a.iter().map(|c| to_go_json(c, &Ty::Any)).collect();
            format!("[{}]", parts.join(","))
        }
        _ => v.to_string(),
    }
}
