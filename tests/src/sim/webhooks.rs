//! The simulator's admission chain: the stored Mutating/ValidatingWebhookConfigurations are
//! turned into [`admission::Hook`]s and called over HTTPS like kube-apiserver does, with the
//! decisions mapped back onto the write pipeline (patches applied, denials as Status errors,
//! warnings as `Warning` headers).
//!
//! Webhook endpoints are usually not reachable at the address a configuration names (a
//! Service, or a fixed port from a recording), so [`Routes`] maps them to local sockets.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ServiceReference, ValidatingWebhookConfiguration,
};
use serde_json::Value;

use super::admission::{self, Decision, Gvk, Gvr, Hook, MatchInput, Operation, ReviewInput};
use super::errors::ApiError;
use super::hooks::{Admission, AdmissionAttrs, AdmissionResult, BoxFut};

/// Where webhook traffic really goes: `<service>.<namespace>.svc:<port>` or a URL authority
/// such as `127.0.0.1:18443` → a local socket.
#[derive(Clone, Default)]
pub struct Routes {
    map: Arc<Mutex<HashMap<String, SocketAddr>>>,
}

impl Routes {
    pub fn insert(&self, authority: &str, to: SocketAddr) {
        if let Ok(mut m) = self.map.lock() {
            m.insert(authority.to_string(), to);
        }
    }
    fn get(&self, authority: &str) -> Option<SocketAddr> {
        self.map.lock().ok()?.get(authority).copied()
    }
    fn service(&self, svc: &ServiceReference) -> Option<SocketAddr> {
        let port = svc.port.unwrap_or(443);
        self.get(&format!("{}.{}.svc:{port}", svc.name, svc.namespace))
    }
    fn endpoint(&self, hook: &Hook) -> Result<admission::Endpoint, String> {
        let mut ep = admission::endpoint(&hook.client_config, |s| self.service(s))?;
        if ep.connect_to.is_none()
            && let Some(authority) = ep
                .url
                .split_once("://")
                .and_then(|(_, r)| r.split(['/', '?']).next())
        {
            ep.connect_to = self.get(authority);
        }
        Ok(ep)
    }
}

/// Calls the webhooks of the stored configurations (the default admission of a [`super::Sim`]).
pub struct WebhookAdmission {
    pub routes: Routes,
}

fn hooks(configs: &[Value], mutating: bool) -> Vec<Hook> {
    // The apiserver orders configurations by name and keeps each one's webhook order.
    let mut configs: Vec<&Value> = configs.iter().collect();
    configs.sort_by(|a, b| {
        a["metadata"]["name"]
            .as_str()
            .cmp(&b["metadata"]["name"].as_str())
    });
    let mut out = Vec::new();
    for c in configs {
        if mutating {
            if let Ok(cfg) = serde_json::from_value::<MutatingWebhookConfiguration>(c.clone()) {
                out.extend(cfg.webhooks.iter().flatten().map(Hook::from_mutating));
            }
        } else if let Ok(cfg) = serde_json::from_value::<ValidatingWebhookConfiguration>(c.clone())
        {
            out.extend(cfg.webhooks.iter().flatten().map(Hook::from_validating));
        }
    }
    out
}

fn labels(v: Option<&Value>) -> Option<BTreeMap<String, String>> {
    let v = v.filter(|v| !v.is_null())?;
    Some(serde_json::from_value(v["metadata"]["labels"].clone()).unwrap_or_default())
}

fn operation(op: &str) -> Operation {
    match op {
        "CREATE" => Operation::Create,
        "DELETE" => Operation::Delete,
        "CONNECT" => Operation::Connect,
        _ => Operation::Update,
    }
}

fn status_error(status: Value, warnings: &[String]) -> ApiError {
    let code = status["code"]
        .as_u64()
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(500);
    let headers = warnings
        .iter()
        .filter_map(|w| admission::warning_header(w))
        .map(|h| ("warning".to_string(), h))
        .collect();
    ApiError {
        code,
        body: status,
        plain: None,
        headers,
    }
}

impl WebhookAdmission {
    async fn run(
        &self,
        attrs: &AdmissionAttrs,
        object: &mut Option<Value>,
        mutating: bool,
    ) -> AdmissionResult {
        let configs = if mutating {
            &attrs.mutating_configs
        } else {
            &attrs.validating_configs
        };
        let hooks = hooks(configs, mutating);
        if hooks.is_empty() {
            return Ok(vec![]);
        }
        let rt = &attrs.resource;
        let gvr = Gvr::new(&rt.group, &rt.version, &rt.plural);
        let gvk = Gvk::new(&rt.group, &rt.version, &rt.kind);
        let op = operation(attrs.operation);
        let ns_labels: BTreeMap<String, String> = attrs
            .namespace_labels
            .clone()
            .and_then(|l| serde_json::from_value(l).ok())
            .unwrap_or_default();
        let mut warnings: Vec<String> = Vec::new();
        for hook in &hooks {
            let (obj_labels, old_labels) =
                (labels(object.as_ref()), labels(attrs.old_object.as_ref()));
            let input = MatchInput {
                resource: &gvr,
                subresource: &attrs.sub_resource,
                operation: op,
                namespace: &attrs.namespace,
                namespace_labels: Some(&ns_labels),
                object_labels: obj_labels.as_ref(),
                old_object_labels: old_labels.as_ref(),
                equivalents: &[],
            };
            if !admission::matches(hook, &input) {
                continue;
            }
            let uid = uuid::Uuid::new_v4().to_string();
            let review = admission::build_review(&ReviewInput {
                uid: uid.clone(),
                kind: gvk.clone(),
                resource: gvr.clone(),
                sub_resource: attrs.sub_resource.clone(),
                request_kind: gvk.clone(),
                request_resource: gvr.clone(),
                request_sub_resource: attrs.sub_resource.clone(),
                name: attrs.name.clone(),
                namespace: attrs.namespace.clone(),
                operation: op,
                user_info: attrs.user.to_json(),
                object: object.clone(),
                old_object: attrs.old_object.clone(),
                dry_run: attrs.dry_run,
                options: attrs.options.clone(),
            });
            let outcome = match self.routes.endpoint(hook) {
                Ok(ep) => admission::call(&ep, hook.timeout_seconds, &review).await,
                Err(e) => admission::Outcome::Failed(e),
            };
            match admission::interpret(&outcome, hook, &uid) {
                Decision::Allowed { patch, warnings: w } => {
                    warnings.extend(w);
                    if let (Some(p), Some(o)) = (patch, object.as_mut()) {
                        let mut patched = o.clone();
                        if let Err(e) = admission::jsonpatch::apply(&mut patched, &p) {
                            return Err(status_error(admission::internal_error(&e), &warnings));
                        }
                        *o = patched;
                    }
                }
                Decision::Denied {
                    status,
                    warnings: w,
                } => {
                    warnings.extend(w);
                    return Err(status_error(status, &warnings));
                }
            }
        }
        Ok(warnings)
    }
}

impl Admission for WebhookAdmission {
    fn mutate<'a>(
        &'a self,
        attrs: &'a AdmissionAttrs,
        object: &'a mut Option<Value>,
    ) -> BoxFut<'a, AdmissionResult> {
        Box::pin(self.run(attrs, object, true))
    }
    fn validate<'a>(
        &'a self,
        attrs: &'a AdmissionAttrs,
        object: &'a Option<Value>,
    ) -> BoxFut<'a, AdmissionResult> {
        Box::pin(async move {
            let mut copy = object.clone();
            self.run(attrs, &mut copy, false).await
        })
    }
}
