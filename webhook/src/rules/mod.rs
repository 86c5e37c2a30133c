//! The ESO admission rules served by `webhook serve`: validation and defaulting from `shared`,
//! with the namespace policy and ClusterSecretStore lookups answered from watched caches.

mod cache;

use serde::Deserialize as _;
use serde_json::Value;
use serde_json::value::RawValue;
use shared::validation::{Outcome, ValidationContext, handles, validate, validate_text};

use crate::admission::{AdmissionRequestView, AdmissionRules, Deny, Operation, Verdict};

pub use cache::{Caches, REFLECTORS};

/// Settings of the rules (from `webhook serve` flags).
#[derive(Clone, Debug)]
pub struct RulesOptions {
    /// Deny objects whose namespace lacks the policy annotations (or is unknown).
    pub require_namespace_policy: bool,
    /// Template action delimiters the controller uses.
    pub left_delim: String,
    /// Template action delimiters the controller uses.
    pub right_delim: String,
}

impl Default for RulesOptions {
    fn default() -> Self {
        Self {
            require_namespace_policy: false,
            left_delim: "{{".into(),
            right_delim: "}}".into(),
        }
    }
}

/// ESO's validation, defaulting and conversion.
#[derive(Debug, Clone)]
pub struct EsoRules {
    opts: RulesOptions,
    caches: Caches,
}

fn str_at<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn is_ours(obj: &Value) -> bool {
    handles(str_at(obj, "/apiVersion"), str_at(obj, "/kind"))
}

impl EsoRules {
    pub fn new(opts: RulesOptions, caches: Caches) -> Self {
        Self { opts, caches }
    }

    /// Validates one object of our API groups, as CREATE/UPDATE would.
    pub fn validate_object(&self, obj: &Value, request_namespace: &str) -> Outcome {
        let namespace = match str_at(obj, "/metadata/namespace") {
            "" => request_namespace,
            ns => ns,
        };
        let mut obj_with_ns;
        let mut obj = obj;
        // The apiserver fills metadata.namespace from the URL before admission; requests built
        // by hand may not, and the policy checks key on it.
        if !namespace.is_empty() && str_at(obj, "/metadata/namespace").is_empty() {
            obj_with_ns = obj.clone();
            if let Some(meta) = obj_with_ns
                .get_mut("metadata")
                .and_then(Value::as_object_mut)
            {
                meta.insert("namespace".into(), Value::String(namespace.to_owned()));
            }
            obj = &obj_with_ns;
        }
        self.with_context(namespace, |ctx| validate(obj, ctx))
    }

    /// [`Self::validate_object`] on the object's JSON text (the admission hot path: the typed
    /// form is decoded straight from the text). `namespace` is the object's namespace, or the
    /// request's when the object names none.
    pub fn validate_object_text(&self, text: &str, namespace: &str) -> Outcome {
        self.with_context(namespace, |ctx| validate_text(text, namespace, ctx))
    }

    /// Runs `check` with the namespace policy and ClusterSecretStore lookups of `namespace`.
    fn with_context(
        &self,
        namespace: &str,
        check: impl FnOnce(&ValidationContext<'_>) -> Outcome,
    ) -> Outcome {
        let mut unknown_namespace = false;
        let namespace_policy = if namespace.is_empty() {
            None
        } else {
            let policy = self
                .caches
                .namespace_policy(namespace, self.opts.require_namespace_policy);
            unknown_namespace = policy.is_none();
            policy
        };
        let lookup = |name: &str| self.caches.cluster_secret_store(name);
        let ctx = ValidationContext {
            namespace_policy,
            cluster_store_lookup: &lookup,
            require_namespace_policy: self.opts.require_namespace_policy,
            left_delim: self.opts.left_delim.clone(),
            right_delim: self.opts.right_delim.clone(),
            strict: false,
        };
        let mut outcome = check(&ctx);
        if unknown_namespace && self.opts.require_namespace_policy {
            outcome.errors.insert(
                0,
                shared::validation::FieldError {
                    path: "metadata.namespace".into(),
                    message: format!(
                        "namespace {namespace:?} is not known to the webhook yet, so its policy \
                         annotations cannot be checked (--require-namespace-policy); retry once \
                         the namespace exists"
                    ),
                },
            );
        }
        outcome
    }

    /// CREATE/UPDATE of an object of ours that is not being deleted; otherwise the allow
    /// verdict both validate paths give without looking further.
    fn skipped(req: &AdmissionRequestView) -> bool {
        !matches!(req.operation, Operation::Create | Operation::Update)
            || req.sub_resource.as_deref().is_some_and(|s| !s.is_empty())
    }

    fn verdict(req: &AdmissionRequestView, outcome: Outcome) -> Verdict {
        tracing::debug!(
            kind = %req.kind.kind,
            namespace = %req.namespace(),
            name = %req.name(),
            operation = req.operation.as_str(),
            errors = outcome.errors.len(),
            warnings = outcome.warnings.len(),
            "validated"
        );
        if outcome.allowed() {
            Verdict::Allow {
                warnings: outcome.warnings,
            }
        } else {
            Verdict::Deny(
                Deny::forbidden(outcome.denial_message())
                    .with_warnings(outcome.warnings)
                    .with_causes(outcome.errors),
            )
        }
    }
}

/// What the rules look at before validating: which kind, which namespace, whether it is being
/// deleted. Decoded from the object's text, skipping everything else.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head<'a> {
    #[serde(borrow)]
    api_version: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    metadata: HeadMeta<'a>,
}

#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeadMeta<'a> {
    #[serde(default, borrow)]
    namespace: Option<std::borrow::Cow<'a, str>>,
    /// Present at all (even `null`), as `pointer("/metadata/deletionTimestamp")` sees it.
    #[serde(default, deserialize_with = "present")]
    deletion_timestamp: bool,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

impl AdmissionRules for EsoRules {
    fn validate(&self, req: &AdmissionRequestView) -> Verdict {
        if Self::skipped(req) {
            return Verdict::allow();
        }
        let Some(obj) = req.object.as_ref() else {
            return Verdict::allow();
        };
        if !is_ours(obj) {
            return Verdict::allow();
        }
        // Removing finalizers from an object being deleted must not be blocked by rules (or a
        // namespace policy) that changed after it was admitted.
        if req.operation == Operation::Update
            && obj.pointer("/metadata/deletionTimestamp").is_some()
        {
            return Verdict::allow();
        }
        Self::verdict(req, self.validate_object(obj, req.namespace()))
    }

    fn validate_raw(&self, req: &AdmissionRequestView, object: &RawValue) -> Option<Verdict> {
        if Self::skipped(req) {
            return Some(Verdict::allow());
        }
        // Anything unusual (not an object, apiVersion not a string, ...) takes the Value path.
        let head: Head<'_> = serde_json::from_str(object.get()).ok()?;
        if !handles(&head.api_version, &head.kind) {
            return Some(Verdict::allow());
        }
        if req.operation == Operation::Update && head.metadata.deletion_timestamp {
            return Some(Verdict::allow());
        }
        let namespace = match head.metadata.namespace.as_deref() {
            None | Some("") => req.namespace(),
            Some(ns) => ns,
        };
        Some(Self::verdict(
            req,
            self.validate_object_text(object.get(), namespace),
        ))
    }

    fn mutate(&self, req: &AdmissionRequestView) -> Result<Vec<json_patch::PatchOperation>, Deny> {
        if !matches!(req.operation, Operation::Create | Operation::Update)
            || req.sub_resource.as_deref().is_some_and(|s| !s.is_empty())
        {
            return Ok(Vec::new());
        }
        match req.object.as_ref() {
            Some(obj) if is_ours(obj) => Ok(shared::defaulting::default_patch(obj)),
            _ => Ok(Vec::new()),
        }
    }

    fn convert(
        &self,
        objects: Vec<Value>,
        desired_api_version: &str,
    ) -> Result<Vec<Value>, String> {
        objects
            .into_iter()
            .map(|o| shared::conversion::convert(o, desired_api_version).map_err(|e| e.to_string()))
            .collect()
    }
}
