//! The resource types the simulator serves: built-ins plus every established CRD version.

use serde_json::Value;

use super::typeinfo::{self, Ty};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    Namespace,
    Secret,
    ConfigMap,
    ServiceAccount,
    CoreEvent,
    NewEvent,
    Lease,
    Crd,
    ValidatingWebhooks,
    MutatingWebhooks,
    /// A create-only review API (TokenReview, SelfSubjectReview, ...): nothing is stored.
    Review,
    /// A built-in resource kubesim has no special handling for: stored as sent, without the
    /// apiserver's defaulting and validation (so that everything discovery lists is served).
    Generic,
    Custom,
}

#[derive(Clone, Debug)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub verbs: Vec<&'static str>,
    pub has_status: bool,
    pub builtin: Builtin,
    /// Storage key shared by every version of the same resource (`events` is shared by both groups).
    pub storage: String,
    pub ty: Ty,
    /// The CRD version's openAPIV3Schema (custom resources only).
    pub schema: Option<Value>,
    pub printer_columns: Vec<Value>,
    pub storage_version_hash: String,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
    pub fn is_custom(&self) -> bool {
        self.builtin == Builtin::Custom
    }
}

const CRUD: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

#[allow(clippy::too_many_arguments)]
fn builtin(
    group: &str,
    plural: &str,
    singular: &str,
    kind: &str,
    namespaced: bool,
    short: &[&str],
    b: Builtin,
    hash: &str,
    ty_key: &str,
) -> ResourceType {
    ResourceType {
        group: group.into(),
        version: "v1".into(),
        plural: plural.into(),
        singular: singular.into(),
        kind: kind.into(),
        namespaced,
        short_names: short.iter().map(|s| s.to_string()).collect(),
        categories: vec![],
        verbs: if b == Builtin::Review {
            vec!["create"]
        } else {
            CRUD.to_vec()
        },
        has_status: matches!(b, Builtin::Namespace | Builtin::Crd),
        builtin: b,
        storage: if plural == "events" {
            "events".into()
        } else {
            qualified(plural, group)
        },
        ty: typeinfo::builtin(ty_key).unwrap_or(Ty::Any),
        schema: None,
        printer_columns: vec![],
        storage_version_hash: hash.into(),
    }
}

pub fn qualified(plural: &str, group: &str) -> String {
    if group.is_empty() {
        plural.into()
    } else {
        format!("{plural}.{group}")
    }
}

pub fn builtins() -> Vec<ResourceType> {
    use Builtin::*;
    let mut v = vec![
        builtin(
            "",
            "namespaces",
            "namespace",
            "Namespace",
            false,
            &["ns"],
            Namespace,
            "Q3oi5N2YM8M=",
            "Namespace",
        ),
        builtin(
            "",
            "secrets",
            "secret",
            "Secret",
            true,
            &[],
            Secret,
            "S6u1pOWzb84=",
            "Secret",
        ),
        builtin(
            "",
            "configmaps",
            "configmap",
            "ConfigMap",
            true,
            &["cm"],
            ConfigMap,
            "qFsyl6wFWjQ=",
            "ConfigMap",
        ),
        builtin(
            "",
            "serviceaccounts",
            "serviceaccount",
            "ServiceAccount",
            true,
            &["sa"],
            ServiceAccount,
            "pbx9ZvyFpBE=",
            "ServiceAccount",
        ),
        builtin(
            "",
            "events",
            "event",
            "Event",
            true,
            &["ev"],
            CoreEvent,
            "r2yiGXH7wu8=",
            "Event",
        ),
        builtin(
            "events.k8s.io",
            "events",
            "event",
            "Event",
            true,
            &["ev"],
            NewEvent,
            "r2yiGXH7wu8=",
            "events.k8s.io/Event",
        ),
        builtin(
            "coordination.k8s.io",
            "leases",
            "lease",
            "Lease",
            true,
            &[],
            Lease,
            "gqkMMb/YqFM=",
            "Lease",
        ),
        builtin(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "customresourcedefinition",
            "CustomResourceDefinition",
            false,
            &["crd", "crds"],
            Crd,
            "jfWCUB31mvA=",
            "CustomResourceDefinition",
        ),
        builtin(
            "admissionregistration.k8s.io",
            "validatingwebhookconfigurations",
            "validatingwebhookconfiguration",
            "ValidatingWebhookConfiguration",
            false,
            &[],
            ValidatingWebhooks,
            "B0wHjQmsGNk=",
            "ValidatingWebhookConfiguration",
        ),
        builtin(
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
            "mutatingwebhookconfiguration",
            "MutatingWebhookConfiguration",
            false,
            &[],
            MutatingWebhooks,
            "Sqi0GUgDaX0=",
            "MutatingWebhookConfiguration",
        ),
        builtin(
            "authentication.k8s.io",
            "tokenreviews",
            "tokenreview",
            "TokenReview",
            false,
            &[],
            Review,
            "",
            "",
        ),
        builtin(
            "authentication.k8s.io",
            "selfsubjectreviews",
            "selfsubjectreview",
            "SelfSubjectReview",
            false,
            &[],
            Review,
            "",
            "",
        ),
        builtin(
            "authorization.k8s.io",
            "selfsubjectaccessreviews",
            "selfsubjectaccessreview",
            "SelfSubjectAccessReview",
            false,
            &[],
            Review,
            "",
            "",
        ),
        builtin(
            "authorization.k8s.io",
            "selfsubjectrulesreviews",
            "selfsubjectrulesreview",
            "SelfSubjectRulesReview",
            false,
            &[],
            Review,
            "",
            "",
        ),
        builtin(
            "authorization.k8s.io",
            "subjectaccessreviews",
            "subjectaccessreview",
            "SubjectAccessReview",
            false,
            &[],
            Review,
            "",
            "",
        ),
    ];
    for r in &mut v {
        if r.builtin == Builtin::CoreEvent || r.builtin == Builtin::NewEvent {
            r.storage = "events".into();
        }
    }
    let generic = super::discovery::generic_builtins(&v);
    v.extend(generic);
    v
}

/// Resource types for the served versions of a CRD object (empty unless it is Established).
pub fn from_crd(crd: &Value) -> Vec<ResourceType> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let names = &spec["names"];
    let plural = names["plural"].as_str().unwrap_or_default();
    let kind = names["kind"].as_str().unwrap_or_default();
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for ver in spec["versions"].as_array().into_iter().flatten() {
        if ver["served"].as_bool() != Some(true) {
            continue;
        }
        let schema = ver["schema"]["openAPIV3Schema"].clone();
        let ty = if schema.is_object() {
            typeinfo::from_openapi(&schema, kind)
        } else {
            Ty::Any
        };
        out.push(ResourceType {
            group: group.into(),
            version: ver["name"].as_str().unwrap_or_default().into(),
            plural: plural.into(),
            singular: names["singular"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| kind.to_lowercase()),
            kind: kind.into(),
            namespaced: spec["scope"].as_str() == Some("Namespaced"),
            short_names: strs(&names["shortNames"]),
            categories: strs(&names["categories"]),
            verbs: CRUD.to_vec(),
            has_status: ver["subresources"]["status"].is_object(),
            builtin: Builtin::Custom,
            storage: qualified(plural, group),
            ty,
            schema: schema.is_object().then_some(schema),
            printer_columns: ver["additionalPrinterColumns"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            storage_version_hash: storage_version_hash(
                group,
                ver["name"].as_str().unwrap_or_default(),
                kind,
            ),
        });
    }
    out
}

/// The apiserver's storageVersionHash: base64 of the first 8 bytes of sha256("group/version/Kind").
fn storage_version_hash(group: &str, version: &str, kind: &str) -> String {
    use base64::Engine;
    let digest = sha256(format!("{group}/{version}/{kind}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}
