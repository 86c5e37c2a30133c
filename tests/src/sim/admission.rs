//! The kube-apiserver's admission-webhook client, reproduced from recorded 1.36 behaviour
//! (`apiserver-golden/09-admission-webhooks.json`): which webhooks a request reaches, the
//! `AdmissionReview` they receive, and how their answers become the client-visible result.
//!
//! Standalone on purpose: the simulator feeds plain values in and gets plain values back, so
//! this module never needs to know how objects are stored.

pub mod client;
pub mod config;
pub mod jsonpatch;

use std::collections::BTreeMap;

use base64::Engine as _;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhook, RuleWithOperations, ValidatingWebhook, WebhookClientConfig,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::{Map, Value, json};

pub use client::{Endpoint, Outcome, call, endpoint};

/// Group/version/resource as the apiserver names it in `resource` / `requestResource`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gvr {
    pub group: String,
    pub version: String,
    pub resource: String,
}

impl Gvr {
    pub fn new(group: &str, version: &str, resource: &str) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            resource: resource.into(),
        }
    }
}

/// Group/version/kind as it appears in `kind` / `requestKind`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    pub fn new(group: &str, version: &str, kind: &str) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePolicy {
    Fail,
    Ignore,
}

/// One webhook of either configuration kind, with the apiserver's defaults applied
/// (failurePolicy Fail, matchPolicy Equivalent, timeoutSeconds 10, empty selectors).
#[derive(Clone, Debug)]
pub struct Hook {
    pub name: String,
    pub mutating: bool,
    pub client_config: WebhookClientConfig,
    pub rules: Vec<RuleWithOperations>,
    pub failure_policy: FailurePolicy,
    pub equivalent_match: bool,
    pub namespace_selector: LabelSelector,
    pub object_selector: LabelSelector,
    pub timeout_seconds: i32,
    /// CEL match conditions are not evaluated here; a hook carrying any is reported by
    /// [`matches`] callers through this flag so tests notice instead of silently matching.
    pub has_match_conditions: bool,
}

impl Hook {
    pub fn from_validating(w: &ValidatingWebhook) -> Self {
        Self::build(
            &w.name,
            false,
            &w.client_config,
            w.rules.as_deref(),
            w.failure_policy.as_deref(),
            w.match_policy.as_deref(),
            w.namespace_selector.as_ref(),
            w.object_selector.as_ref(),
            w.timeout_seconds,
            w.match_conditions.as_ref().is_some_and(|m| !m.is_empty()),
        )
    }

    pub fn from_mutating(w: &MutatingWebhook) -> Self {
        Self::build(
            &w.name,
            true,
            &w.client_config,
            w.rules.as_deref(),
            w.failure_policy.as_deref(),
            w.match_policy.as_deref(),
            w.namespace_selector.as_ref(),
            w.object_selector.as_ref(),
            w.timeout_seconds,
            w.match_conditions.as_ref().is_some_and(|m| !m.is_empty()),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        name: &str,
        mutating: bool,
        client_config: &WebhookClientConfig,
        rules: Option<&[RuleWithOperations]>,
        failure_policy: Option<&str>,
        match_policy: Option<&str>,
        namespace_selector: Option<&LabelSelector>,
        object_selector: Option<&LabelSelector>,
        timeout_seconds: Option<i32>,
        has_match_conditions: bool,
    ) -> Self {
        Self {
            name: name.to_owned(),
            mutating,
            client_config: client_config.clone(),
            rules: rules.map(<[_]>::to_vec).unwrap_or_default(),
            failure_policy: if failure_policy == Some("Ignore") {
                FailurePolicy::Ignore
            } else {
                FailurePolicy::Fail
            },
            equivalent_match: match_policy != Some("Exact"),
            namespace_selector: namespace_selector.cloned().unwrap_or_default(),
            object_selector: object_selector.cloned().unwrap_or_default(),
            timeout_seconds: timeout_seconds.unwrap_or(10),
            has_match_conditions,
        }
    }
}

/// What the matcher needs to know about one request.
#[derive(Clone, Debug)]
pub struct MatchInput<'a> {
    pub resource: &'a Gvr,
    pub subresource: &'a str,
    pub operation: Operation,
    /// Empty for cluster-scoped resources.
    pub namespace: &'a str,
    /// Labels of the request's namespace (for a Namespace CREATE/UPDATE: the object's own labels).
    pub namespace_labels: Option<&'a BTreeMap<String, String>>,
    pub object_labels: Option<&'a BTreeMap<String, String>>,
    pub old_object_labels: Option<&'a BTreeMap<String, String>>,
    /// Other served versions/groups of the same resource, consulted when matchPolicy is
    /// Equivalent and the request itself matches no rule.
    pub equivalents: &'a [Gvr],
}

/// Whether the request reaches this webhook.
pub fn matches(hook: &Hook, input: &MatchInput<'_>) -> bool {
    matched_resource(hook, input).is_some()
}

/// The resource the webhook is called for: the request's own resource, or (matchPolicy
/// Equivalent) the first equivalent resource a rule names. `None` when the webhook is skipped.
pub fn matched_resource(hook: &Hook, input: &MatchInput<'_>) -> Option<Gvr> {
    if !namespace_selector_matches(hook, input) || !object_selector_matches(hook, input) {
        return None;
    }
    if hook
        .rules
        .iter()
        .any(|r| rule_matches(r, input, input.resource))
    {
        return Some(input.resource.clone());
    }
    if hook.equivalent_match {
        for eq in input.equivalents {
            if hook.rules.iter().any(|r| rule_matches(r, input, eq)) {
                return Some(eq.clone());
            }
        }
    }
    None
}

fn exact_or_wildcard(items: Option<&Vec<String>>, requested: &str) -> bool {
    items.is_some_and(|items| items.iter().any(|i| i == "*" || i == requested))
}

fn rule_matches(rule: &RuleWithOperations, input: &MatchInput<'_>, gvr: &Gvr) -> bool {
    let is_namespace = gvr.group.is_empty() && gvr.resource == "namespaces";
    let scope_ok = match rule.scope.as_deref() {
        None | Some("*") => true,
        Some("Namespaced") => !is_namespace && !input.namespace.is_empty(),
        Some("Cluster") => is_namespace || input.namespace.is_empty(),
        Some(_) => false,
    };
    let resource_ok = rule.resources.as_ref().is_some_and(|resources| {
        resources.iter().any(|r| {
            let (res, sub) = r.split_once('/').unwrap_or((r.as_str(), ""));
            (res == "*" || res == gvr.resource) && (sub == "*" || sub == input.subresource)
        })
    });
    scope_ok
        && exact_or_wildcard(rule.operations.as_ref(), input.operation.as_str())
        && exact_or_wildcard(rule.api_groups.as_ref(), &gvr.group)
        && exact_or_wildcard(rule.api_versions.as_ref(), &gvr.version)
        && resource_ok
}

fn namespace_selector_matches(hook: &Hook, input: &MatchInput<'_>) -> bool {
    // Cluster-scoped requests other than namespaces are never exempted by a namespaceSelector.
    if input.namespace.is_empty() && input.resource.resource != "namespaces" {
        return true;
    }
    if selector_is_empty(&hook.namespace_selector) {
        return true;
    }
    let empty = BTreeMap::new();
    selector_matches(
        &hook.namespace_selector,
        input.namespace_labels.unwrap_or(&empty),
    )
}

fn object_selector_matches(hook: &Hook, input: &MatchInput<'_>) -> bool {
    if selector_is_empty(&hook.object_selector) {
        return true;
    }
    // A missing object (DELETE's new object, CREATE's old one) never matches by itself.
    [input.object_labels, input.old_object_labels]
        .into_iter()
        .flatten()
        .any(|labels| selector_matches(&hook.object_selector, labels))
}

fn selector_is_empty(sel: &LabelSelector) -> bool {
    sel.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && sel.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

/// metav1.LabelSelector semantics; an unknown operator matches nothing.
pub fn selector_matches(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_ok = sel
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let exprs_ok = sel.match_expressions.iter().flatten().all(|req| {
        let values = req.values.as_deref().unwrap_or_default();
        let current = labels.get(&req.key);
        match req.operator.as_str() {
            "In" => current.is_some_and(|v| values.contains(v)),
            "NotIn" => current.is_none_or(|v| !values.contains(v)),
            "Exists" => current.is_some(),
            "DoesNotExist" => current.is_none(),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

/// Everything that goes into `AdmissionReview.request`.
#[derive(Clone, Debug)]
pub struct ReviewInput {
    pub uid: String,
    pub kind: Gvk,
    pub resource: Gvr,
    pub sub_resource: String,
    pub request_kind: Gvk,
    pub request_resource: Gvr,
    pub request_sub_resource: String,
    pub name: String,
    pub namespace: String,
    pub operation: Operation,
    /// authentication/v1 UserInfo JSON (`username`, `uid`, `groups`, `extra`).
    pub user_info: Value,
    pub object: Option<Value>,
    pub old_object: Option<Value>,
    pub dry_run: bool,
    /// Build with [`operation_options`].
    pub options: Value,
}

fn gvk_json(g: &Gvk) -> Value {
    json!({"group": g.group, "version": g.version, "kind": g.kind})
}

fn gvr_json(g: &Gvr) -> Value {
    json!({"group": g.group, "version": g.version, "resource": g.resource})
}

/// The admission.k8s.io/v1 AdmissionReview the apiserver posts. Empty `subResource`,
/// `name` and `namespace` are omitted; `object`, `oldObject` and `dryRun` are always present.
pub fn build_review(r: &ReviewInput) -> Value {
    let mut req = Map::new();
    req.insert("uid".into(), r.uid.clone().into());
    req.insert("kind".into(), gvk_json(&r.kind));
    req.insert("resource".into(), gvr_json(&r.resource));
    if !r.sub_resource.is_empty() {
        req.insert("subResource".into(), r.sub_resource.clone().into());
    }
    req.insert("requestKind".into(), gvk_json(&r.request_kind));
    req.insert("requestResource".into(), gvr_json(&r.request_resource));
    if !r.request_sub_resource.is_empty() {
        req.insert(
            "requestSubResource".into(),
            r.request_sub_resource.clone().into(),
        );
    }
    if !r.name.is_empty() {
        req.insert("name".into(), r.name.clone().into());
    }
    if !r.namespace.is_empty() {
        req.insert("namespace".into(), r.namespace.clone().into());
    }
    req.insert("operation".into(), r.operation.as_str().into());
    req.insert("userInfo".into(), r.user_info.clone());
    req.insert("object".into(), r.object.clone().unwrap_or(Value::Null));
    req.insert(
        "oldObject".into(),
        r.old_object.clone().unwrap_or(Value::Null),
    );
    req.insert("dryRun".into(), r.dry_run.into());
    req.insert("options".into(), r.options.clone());
    json!({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": req})
}

/// The request options as webhooks see them. PATCH (merge, JSON, strategic or apply) is an
/// UPDATE and gets `UpdateOptions`; `force` never appears. `delete_options` is the DELETE body
/// (its `apiVersion`/`kind` are replaced by meta.k8s.io/v1 DeleteOptions).
pub fn operation_options(
    op: Operation,
    dry_run: &[String],
    field_manager: Option<&str>,
    field_validation: Option<&str>,
    delete_options: Option<&Value>,
) -> Value {
    let kind = match op {
        Operation::Create => "CreateOptions",
        Operation::Update => "UpdateOptions",
        Operation::Delete => "DeleteOptions",
        Operation::Connect => return Value::Null,
    };
    let mut m = Map::new();
    m.insert("kind".into(), kind.into());
    m.insert("apiVersion".into(), "meta.k8s.io/v1".into());
    if op == Operation::Delete {
        if let Some(Value::Object(body)) = delete_options {
            for (k, v) in body {
                if k != "kind" && k != "apiVersion" && !v.is_null() {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
    } else {
        if let Some(fm) = field_manager.filter(|s| !s.is_empty()) {
            m.insert("fieldManager".into(), fm.into());
        }
        if let Some(fv) = field_validation.filter(|s| !s.is_empty()) {
            m.insert("fieldValidation".into(), fv.into());
        }
    }
    if !dry_run.is_empty() {
        m.insert("dryRun".into(), dry_run.to_vec().into());
    }
    Value::Object(m)
}

/// The webhook's verdict, in the form the request handler needs.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Continue. `patch` is a decoded JSON Patch (array of operations) to apply with
    /// [`jsonpatch::apply`]; `warnings` go to `Warning` headers via [`WarningRecorder`].
    Allowed {
        patch: Option<Value>,
        warnings: Vec<String>,
    },
    /// Stop with this Status body; its `code` is the HTTP status. Warnings still reach the client.
    Denied {
        status: Value,
        warnings: Vec<String>,
    },
}

impl Decision {
    fn allow() -> Self {
        Decision::Allowed {
            patch: None,
            warnings: Vec::new(),
        }
    }
}

/// The `Internal error occurred: ...` Status (HTTP 500) the apiserver returns for `err`.
pub fn internal_error(err: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("Internal error occurred: {err}"),
        "reason": "InternalError",
        "details": {"causes": [{"message": err}]},
        "code": 500,
    })
}

/// Turns the raw HTTP outcome into a decision, with the apiserver's wording for every failure.
/// `expected_uid` is the `request.uid` that was sent.
pub fn interpret(outcome: &Outcome, hook: &Hook, expected_uid: &str) -> Decision {
    match verify(outcome, hook, expected_uid) {
        Ok(d) => d,
        Err(CallFailure::Calling(reason)) => match hook.failure_policy {
            FailurePolicy::Ignore => Decision::allow(),
            FailurePolicy::Fail => Decision::Denied {
                status: internal_error(&format!(
                    "failed calling webhook \"{}\": {reason}",
                    hook.name
                )),
                warnings: Vec::new(),
            },
        },
        // Not a call failure: the failure policy does not apply.
        Err(CallFailure::Internal(err)) => Decision::Denied {
            status: internal_error(&err),
            warnings: Vec::new(),
        },
    }
}

enum CallFailure {
    /// ErrCallingWebhook: subject to the failure policy.
    Calling(String),
    /// Any other error: always a 500.
    Internal(String),
}

fn verify(outcome: &Outcome, hook: &Hook, expected_uid: &str) -> Result<Decision, CallFailure> {
    let call_err = |m: String| CallFailure::Calling(format!("failed to call webhook: {m}"));
    let invalid =
        |m: String| CallFailure::Calling(format!("received invalid webhook response: {m}"));
    let review = client::decode_review(outcome).map_err(call_err)?;
    let Some(response) = review.get("response").filter(|r| !r.is_null()) else {
        return Err(invalid("webhook response was absent".into()));
    };
    let got_uid = response
        .get("uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if got_uid != expected_uid {
        return Err(invalid(format!(
            "expected response.uid=\"{expected_uid}\", got \"{got_uid}\""
        )));
    }
    let (group, version) = split_api_version(str_field(&review, "apiVersion"));
    let kind = str_field(&review, "kind");
    if group != "admission.k8s.io" || version != "v1" || kind != "AdmissionReview" {
        return Err(invalid(format!(
            "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {group}/{version}, Kind={kind}"
        )));
    }
    let patch = decode_patch_bytes(response.get("patch")).map_err(call_err)?;
    let patch_type = str_field(response, "patchType");
    if hook.mutating && !patch.is_empty() && patch_type.is_empty() {
        return Err(invalid(
            "webhook returned response.patch but not response.patchType".into(),
        ));
    }
    if hook.mutating && !patch_type.is_empty() && patch.is_empty() {
        return Err(invalid(
            "webhook returned response.patchType but not response.patch".into(),
        ));
    }
    if !hook.mutating && !patch.is_empty() {
        return Err(invalid(
            "validating webhook may not return response.patch".into(),
        ));
    }
    if !hook.mutating && !patch_type.is_empty() {
        return Err(invalid(
            "validating webhook may not return response.patchType".into(),
        ));
    }
    let warnings: Vec<String> = response
        .get("warnings")
        .and_then(Value::as_array)
        .map(|ws| {
            ws.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if !response
        .get("allowed")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return Ok(Decision::Denied {
            status: rejection_status(&hook.name, response.get("status")),
            warnings,
        });
    }
    if patch.is_empty() {
        return Ok(Decision::Allowed {
            patch: None,
            warnings,
        });
    }
    if patch_type != "JSONPatch" {
        return Err(CallFailure::Calling(format!(
            "unsupported patch type \"{patch_type}\""
        )));
    }
    let ops: Value = serde_json::from_slice(&patch)
        .map_err(|e| CallFailure::Internal(jsonpatch::go_json_error(&patch, &e)))?;
    if !ops.is_array() {
        return Err(CallFailure::Internal(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
            client::go_json_type(&ops)
        )));
    }
    Ok(Decision::Allowed {
        patch: Some(ops),
        warnings,
    })
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn split_api_version(av: &str) -> (&str, &str) {
    av.rsplit_once('/').unwrap_or(("", av))
}

/// `response.patch` is `[]byte` on the Go side: a base64 string, or (accepted by 1.36, see
/// kube-rs #1781) a JSON array of byte values.
fn decode_patch_bytes(v: Option<&Value>) -> Result<Vec<u8>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| {
            let at = match e {
                base64::DecodeError::InvalidByte(i, _) | base64::DecodeError::InvalidLastSymbol(i, _) => i,
                _ => s.len(),
            };
            format!("illegal base64 data at input byte {at}")
        }),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_u64().and_then(|n| u8::try_from(n).ok()).ok_or_else(|| {
                    format!(
                        "json: cannot unmarshal {} into Go struct field AdmissionResponse.response.patch of type uint8",
                        if i.is_number() { format!("number {i}") } else { client::go_json_type(i).into() }
                    )
                })
            })
            .collect(),
        Some(other) => Err(format!(
            "json: cannot unmarshal {} into Go struct field AdmissionResponse.response.patch of type []uint8",
            client::go_json_type(other)
        )),
    }
}

/// webhookerrors.ToStatusErr: the Status a denial turns into. Code below 400 becomes 400;
/// `reason` and `details` pass through as typed fields (unknown keys are dropped).
pub fn rejection_status(webhook: &str, result: Option<&Value>) -> Value {
    let result = result.filter(|r| r.is_object());
    let s = |k: &str| {
        result
            .map(|r| str_field(r, k))
            .unwrap_or_default()
            .to_owned()
    };
    let denied_by = format!("admission webhook \"{webhook}\" denied the request");
    let (message, reason) = (s("message"), s("reason"));
    let message = if !message.is_empty() {
        format!("{denied_by}: {message}")
    } else if !reason.is_empty() {
        format!("{denied_by}: {reason}")
    } else {
        format!("{denied_by} without explanation")
    };
    let code = result
        .and_then(|r| r.get("code"))
        .and_then(Value::as_i64)
        .filter(|c| *c >= 400)
        .unwrap_or(400);
    let mut out = Map::new();
    out.insert("kind".into(), "Status".into());
    out.insert("apiVersion".into(), "v1".into());
    out.insert(
        "metadata".into(),
        status_list_meta(result.and_then(|r| r.get("metadata"))),
    );
    out.insert("status".into(), "Failure".into());
    out.insert("message".into(), message.into());
    if !reason.is_empty() {
        out.insert("reason".into(), reason.into());
    }
    if let Some(details) = result
        .and_then(|r| r.get("details"))
        .and_then(status_details)
    {
        out.insert("details".into(), details);
    }
    out.insert("code".into(), code.into());
    Value::Object(out)
}

fn status_list_meta(meta: Option<&Value>) -> Value {
    let mut out = Map::new();
    for key in ["selfLink", "resourceVersion", "continue"] {
        if let Some(v) = meta
            .and_then(|m| m.get(key))
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
        {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(n) = meta
        .and_then(|m| m.get("remainingItemCount"))
        .filter(|v| v.is_i64())
    {
        out.insert("remainingItemCount".into(), n.clone());
    }
    Value::Object(out)
}

fn status_details(d: &Value) -> Option<Value> {
    let d = d.as_object()?;
    let mut out = Map::new();
    for key in ["name", "group", "kind", "uid"] {
        if let Some(v) = d
            .get(key)
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
        {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(causes) = d
        .get("causes")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
    {
        let causes: Vec<Value> = causes
            .iter()
            .map(|c| {
                let mut m = Map::new();
                for key in ["reason", "message", "field"] {
                    if let Some(v) = c
                        .get(key)
                        .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
                    {
                        m.insert(key.into(), v.clone());
                    }
                }
                Value::Object(m)
            })
            .collect();
        out.insert("causes".into(), causes.into());
    }
    if let Some(n) = d
        .get("retryAfterSeconds")
        .filter(|v| v.as_i64().is_some_and(|n| n != 0))
    {
        out.insert("retryAfterSeconds".into(), n.clone());
    }
    Some(Value::Object(out))
}

/// One `Warning` header value: `299 - "<text>"` with `"` and `\` backslash-escaped and the
/// rest (non-ASCII included) verbatim. `None` for texts the apiserver drops (empty or
/// containing control characters).
pub fn warning_header(text: &str) -> Option<String> {
    if text.is_empty() || text.chars().any(char::is_control) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str("299 - \"");
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Some(out)
}

/// The apiserver's per-request warning collector: drops duplicates, and once the total
/// exceeds 4096 runes truncates every warning to 256 runes (so a single 321-character warning
/// passes untruncated, as recorded).
#[derive(Debug, Default)]
pub struct WarningRecorder {
    texts: Vec<String>,
    truncating: bool,
}

const TOTAL_RUNES: usize = 4 * 1024;
const ITEM_RUNES: usize = 256;

impl WarningRecorder {
    pub fn add(&mut self, text: &str) {
        if text.is_empty() || self.texts.iter().any(|t| t == text) {
            return;
        }
        if warning_header(text).is_none() {
            return;
        }
        if self.truncating {
            let total: usize = self.texts.iter().map(|t| t.chars().count()).sum();
            if total >= TOTAL_RUNES {
                return;
            }
            self.texts.push(truncate(text));
            return;
        }
        self.texts.push(text.to_owned());
        let total: usize = self.texts.iter().map(|t| t.chars().count()).sum();
        if total > TOTAL_RUNES {
            self.truncating = true;
            let mut kept = Vec::new();
            let mut total = 0;
            for t in self.texts.drain(..) {
                let t = truncate(&t);
                total += t.chars().count();
                if total > TOTAL_RUNES {
                    break;
                }
                kept.push(t);
            }
            self.texts = kept;
        }
    }

    /// Header values in the order they were added.
    pub fn headers(&self) -> Vec<String> {
        self.texts
            .iter()
            .filter_map(|t| warning_header(t))
            .collect()
    }
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= ITEM_RUNES {
        text.to_owned()
    } else {
        text.chars().take(ITEM_RUNES).collect()
    }
}
