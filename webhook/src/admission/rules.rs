//! The seam between the HTTP server and the admission rules.
//!
//! The server parses the AdmissionReview, hands the rules a plain view of the request and turns
//! their answer into the wire format. Rules never see HTTP, TLS or serialisation details, so the
//! same implementation can back the server, an offline CLI and unit tests.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// group/version/kind as the apiserver sends it in `request.kind`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GroupVersionKind {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
}

/// group/version/resource as the apiserver sends it in `request.resource`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GroupVersionResource {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub resource: String,
}

/// The admission operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    /// The wire spelling (`CREATE`, ...), also used as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::Connect => "CONNECT",
        }
    }
}

/// The requesting user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct UserInfo {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub extra: std::collections::BTreeMap<String, Vec<String>>,
}

/// An `AdmissionReview.request`, with its objects as `O`.
///
/// `object` is `None` for DELETE (the apiserver sends `null`); `old_object` is set for UPDATE and
/// DELETE. Objects stay untyped so each rule decodes only the kind it handles.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest<O> {
    pub uid: String,
    pub kind: GroupVersionKind,
    #[serde(default)]
    pub resource: GroupVersionResource,
    #[serde(default)]
    pub sub_resource: Option<String>,
    #[serde(default)]
    pub request_kind: Option<GroupVersionKind>,
    #[serde(default)]
    pub request_resource: Option<GroupVersionResource>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    pub operation: Operation,
    #[serde(default)]
    pub user_info: UserInfo,
    #[serde(default)]
    pub object: Option<O>,
    #[serde(default)]
    pub old_object: Option<O>,
    #[serde(default)]
    pub dry_run: Option<bool>,
    #[serde(default)]
    pub options: Option<Value>,
}

/// What the rules get to see: the request with its objects as `Value` trees.
pub type AdmissionRequestView = AdmissionRequest<Value>;

/// The request as it comes off the wire, with the objects still JSON text: the server parses a
/// review once into this and only builds `Value` trees when the rules ask for them (see
/// [`AdmissionRules::validate_raw`]).
pub(crate) type RawRequestView = AdmissionRequest<Box<RawValue>>;

impl RawRequestView {
    /// The view without its objects, and the objects' text.
    pub(crate) fn split(self) -> (AdmissionRequestView, RawObjects) {
        let AdmissionRequest {
            uid,
            kind,
            resource,
            sub_resource,
            request_kind,
            request_resource,
            name,
            namespace,
            operation,
            user_info,
            object,
            old_object,
            dry_run,
            options,
        } = self;
        let view = AdmissionRequest {
            uid,
            kind,
            resource,
            sub_resource,
            request_kind,
            request_resource,
            name,
            namespace,
            operation,
            user_info,
            object: None,
            old_object: None,
            dry_run,
            options,
        };
        (view, RawObjects { object, old_object })
    }
}

/// `object` and `oldObject` of a request, unparsed.
#[derive(Debug, Default)]
pub(crate) struct RawObjects {
    pub object: Option<Box<RawValue>>,
    pub old_object: Option<Box<RawValue>>,
}

impl RawObjects {
    /// Parses the objects into `view` (they were valid JSON when the review was read, so this
    /// only fails on nesting deeper than serde_json's recursion limit, reported like a parse
    /// failure of the review).
    pub(crate) fn fill(self, view: &mut AdmissionRequestView) -> Result<(), serde_json::Error> {
        let parse = |raw: Option<Box<RawValue>>| -> Result<Option<Value>, serde_json::Error> {
            raw.map(|r| serde_json::from_str::<Value>(r.get()))
                .transpose()
                .map(|v| v.filter(|v| !v.is_null()))
        };
        view.object = parse(self.object)?;
        view.old_object = parse(self.old_object)?;
        Ok(())
    }
}

impl<O> AdmissionRequest<O> {
    /// The namespace, or "" for cluster-scoped objects.
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }

    /// The object name, or "" when the apiserver did not know it yet (generateName).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// Whether the request will not be persisted.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run.unwrap_or(false)
    }
}

/// A rejection. `code` becomes the HTTP status the API client sees (403 by default, as
/// controller-runtime sends for validator errors); `reason` defaults from the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deny {
    pub message: String,
    pub code: u16,
    pub reason: Option<String>,
    pub warnings: Vec<String>,
    /// One entry per rejected field, sent as `status.details.causes` so clients (and
    /// `webhook validate --server`) get the errors without splitting `message`.
    pub causes: Vec<shared::validation::FieldError>,
}

impl Deny {
    /// A 403 Forbidden denial, the shape ESO's validators produce.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::with_code(403, message)
    }

    /// A denial with an explicit HTTP code (e.g. 422 for an invalid object).
    pub fn with_code(code: u16, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code,
            reason: None,
            warnings: Vec::new(),
            causes: Vec::new(),
        }
    }

    /// Adds the individual field errors the message joins.
    pub fn with_causes(mut self, causes: Vec<shared::validation::FieldError>) -> Self {
        self.causes = causes;
        self
    }

    /// Adds warnings shown to the client alongside the denial.
    pub fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings = warnings;
        self
    }

    /// The `status.reason` sent: the explicit one, else the Kubernetes reason for the code.
    pub fn effective_reason(&self) -> &str {
        if let Some(reason) = &self.reason {
            return reason;
        }
        match self.code {
            400 => "BadRequest",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            409 => "Conflict",
            422 => "Invalid",
            429 => "TooManyRequests",
            500 => "InternalError",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            _ => "",
        }
    }
}

/// The outcome of validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow { warnings: Vec<String> },
    Deny(Deny),
}

impl Verdict {
    /// Allowed without warnings.
    pub fn allow() -> Self {
        Self::Allow {
            warnings: Vec::new(),
        }
    }
}

/// Admission rules plugged into the server. Implementations must be fast and must not block on
/// I/O: anything they need from the cluster comes from reflectors kept in their own state (and
/// readiness flags registered on [`crate::health::Readiness`] report when those are synced).
/// A call that overruns the request deadline is abandoned (it runs to completion in the
/// background, its verdict dropped) and the client gets a 504.
pub trait AdmissionRules: Send + Sync + 'static {
    /// Decides whether the request is admitted.
    fn validate(&self, req: &AdmissionRequestView) -> Verdict;

    /// Decides with `req.object` still JSON text (`req.object` and `req.old_object` are `None`
    /// here): rules that can decode the text directly save building a `Value` tree per request.
    /// `None` (the default) makes the server parse the objects and call [`Self::validate`]; an
    /// implementation must answer exactly as `validate` would.
    fn validate_raw(&self, req: &AdmissionRequestView, object: &RawValue) -> Option<Verdict> {
        let _ = (req, object);
        None
    }

    /// Returns the JSON patch to apply to `req.object` (empty = no change).
    fn mutate(&self, req: &AdmissionRequestView) -> Result<Vec<json_patch::PatchOperation>, Deny>;

    /// Converts every object to `desired_api_version`, keeping their order.
    fn convert(&self, objects: Vec<Value>, desired_api_version: &str)
    -> Result<Vec<Value>, String>;
}

/// Allows everything, patches nothing and converts by relabelling only when no conversion is
/// needed. Used until the real ESO rules are wired in.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRules;

impl AdmissionRules for NoRules {
    fn validate(&self, _req: &AdmissionRequestView) -> Verdict {
        Verdict::allow()
    }

    fn mutate(&self, _req: &AdmissionRequestView) -> Result<Vec<json_patch::PatchOperation>, Deny> {
        Ok(Vec::new())
    }

    fn convert(
        &self,
        objects: Vec<Value>,
        desired_api_version: &str,
    ) -> Result<Vec<Value>, String> {
        // Without conversion rules only objects already at the desired version can be returned;
        // anything else would silently change meaning.
        for object in &objects {
            let current = object
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            if current != desired_api_version {
                return Err(format!(
                    "no conversion from {current:?} to {desired_api_version:?} is available"
                ));
            }
        }
        Ok(objects)
    }
}
