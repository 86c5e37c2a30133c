//! Defaulting and validation of Validating/MutatingWebhookConfiguration objects on write, as
//! recorded (`09-admission-webhooks.json`, exchanges 0-2).

use serde_json::{Map, Value};

use crate::sim::schema::errors::{BadValue, FieldError};

/// Fills the defaults the apiserver stores: failurePolicy Fail, matchPolicy Equivalent,
/// empty selectors, timeoutSeconds 10, rule scope `*`, and (mutating) reinvocationPolicy Never.
pub fn apply_defaults(config: &mut Value, mutating: bool) {
    let Some(hooks) = config.get_mut("webhooks").and_then(Value::as_array_mut) else {
        return;
    };
    for hook in hooks.iter_mut().filter_map(Value::as_object_mut) {
        default(hook, "failurePolicy", "Fail".into());
        default(hook, "matchPolicy", "Equivalent".into());
        default(hook, "namespaceSelector", Value::Object(Map::new()));
        default(hook, "objectSelector", Value::Object(Map::new()));
        default(hook, "timeoutSeconds", 10.into());
        if mutating {
            default(hook, "reinvocationPolicy", "Never".into());
        }
        if let Some(svc) = hook
            .get_mut("clientConfig")
            .and_then(|c| c.get_mut("service"))
            .and_then(Value::as_object_mut)
        {
            default(svc, "port", 443.into());
        }
        for rule in hook
            .get_mut("rules")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            default(rule, "scope", "*".into());
        }
    }
}

fn default(m: &mut Map<String, Value>, key: &str, v: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.to_owned(), v);
    }
}

/// The validation errors the apiserver reports for a (defaulted) configuration, in its order.
/// Covers the checks a test is likely to trip: sideEffects, timeoutSeconds, url/service,
/// admissionReviewVersions, failurePolicy/matchPolicy/reinvocationPolicy values, duplicates.
pub fn validate(config: &Value, mutating: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let hooks = config
        .get("webhooks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    for (i, hook) in hooks.iter().enumerate() {
        let p = format!("webhooks[{i}]");
        let s = |k: &str| hook.get(k).and_then(Value::as_str);
        let name = s("name").unwrap_or_default();
        if name.is_empty() {
            errs.push(FieldError::required(&format!("{p}.name"), ""));
        }
        enum_check(
            &mut errs,
            &format!("{p}.failurePolicy"),
            s("failurePolicy"),
            &["Fail", "Ignore"],
        );
        enum_check(
            &mut errs,
            &format!("{p}.matchPolicy"),
            s("matchPolicy"),
            &["Equivalent", "Exact"],
        );
        if mutating {
            enum_check(
                &mut errs,
                &format!("{p}.reinvocationPolicy"),
                s("reinvocationPolicy"),
                &["IfNeeded", "Never"],
            );
        }
        match s("sideEffects") {
            None => errs.push(FieldError::required(
                &format!("{p}.sideEffects"),
                "must specify one of None, NoneOnDryRun",
            )),
            Some(v) => enum_check(
                &mut errs,
                &format!("{p}.sideEffects"),
                Some(v),
                &["None", "NoneOnDryRun"],
            ),
        }
        if let Some(t) = hook.get("timeoutSeconds").and_then(Value::as_i64)
            && !(1..=30).contains(&t)
        {
            errs.push(FieldError::invalid(
                &format!("{p}.timeoutSeconds"),
                BadValue::Int(t),
                "the timeout value must be between 1 and 30 seconds",
            ));
        }
        let cc = hook.get("clientConfig");
        let url = cc.and_then(|c| c.get("url")).and_then(Value::as_str);
        let svc = cc.and_then(|c| c.get("service")).filter(|v| v.is_object());
        match (url, svc) {
            (Some(u), None) => validate_url(&mut errs, &format!("{p}.clientConfig.url"), u),
            (None, Some(svc)) => {
                validate_service(&mut errs, &format!("{p}.clientConfig.service"), svc)
            }
            _ => errs.push(FieldError::required(
                &format!("{p}.clientConfig"),
                "exactly one of url or service is required",
            )),
        }
        let versions: Vec<&str> = hook
            .get("admissionReviewVersions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !versions.iter().any(|v| *v == "v1" || *v == "v1beta1") {
            errs.push(FieldError::required(
                &format!("{p}.admissionReviewVersions"),
                "must specify one of v1, v1beta1",
            ));
        }
        if !name.is_empty() {
            if names.iter().any(|n| n == name) {
                errs.push(FieldError::duplicate(
                    &format!("{p}.name"),
                    BadValue::Str(name.into()),
                ));
            }
            names.push(name.to_owned());
        }
    }
    errs
}

fn enum_check(errs: &mut Vec<FieldError>, path: &str, v: Option<&str>, allowed: &[&str]) {
    if let Some(v) = v
        && !allowed.contains(&v)
    {
        errs.push(FieldError::not_supported(
            path,
            BadValue::Str(v.into()),
            allowed,
        ));
    }
}

fn validate_url(errs: &mut Vec<FieldError>, path: &str, url: &str) {
    let Some((scheme, rest)) = url.split_once("://") else {
        errs.push(FieldError::invalid(
            path,
            BadValue::Str(url.into()),
            "host must be specified",
        ));
        return;
    };
    if scheme != "https" {
        errs.push(FieldError::invalid(
            path,
            BadValue::Str(scheme.into()),
            "'https' is the only allowed URL scheme; desired format: https://host[/path]",
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        errs.push(FieldError::invalid(
            path,
            BadValue::Str(url.into()),
            "host must be specified",
        ));
    }
    if authority.contains('@') {
        errs.push(FieldError::invalid(
            path,
            BadValue::Str(authority.split('@').next().unwrap_or_default().into()),
            "user information is not permitted in the URL",
        ));
    }
    if let Some((_, frag)) = rest.split_once('#') {
        errs.push(FieldError::invalid(
            path,
            BadValue::Str(frag.into()),
            "fragments are not permitted in the URL",
        ));
    }
    if let Some((_, query)) = rest.split('#').next().unwrap_or_default().split_once('?') {
        errs.push(FieldError::invalid(
            path,
            BadValue::Str(query.into()),
            "query parameters are not permitted in the URL",
        ));
    }
}

fn validate_service(errs: &mut Vec<FieldError>, path: &str, svc: &Value) {
    let s = |k: &str| svc.get(k).and_then(Value::as_str).unwrap_or_default();
    if s("name").is_empty() {
        errs.push(FieldError::required(
            &format!("{path}.name"),
            "service name is required",
        ));
    }
    if s("namespace").is_empty() {
        errs.push(FieldError::required(
            &format!("{path}.namespace"),
            "service namespace is required",
        ));
    }
    if let Some(port) = svc.get("port").and_then(Value::as_i64)
        && !(1..=65535).contains(&port)
    {
        errs.push(FieldError::invalid(
            &format!("{path}.port"),
            BadValue::Int(port),
            "port is not valid: must be between 1 and 65535, inclusive",
        ));
    }
    let p = s("path");
    if !p.is_empty() && !p.starts_with('/') {
        errs.push(FieldError::invalid(
            &format!("{path}.path"),
            BadValue::Str(p.into()),
            "must start with a '/'",
        ));
    }
}
