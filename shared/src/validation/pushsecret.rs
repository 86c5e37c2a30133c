//! PushSecret and ClusterPushSecret rules. ESO has no webhook for these; the CEL rules of its
//! CRD and the checks its controller makes at reconcile time are enforced here at admission.

use std::collections::BTreeSet;

use super::common::{
    at, check_duration, check_generator_ref, check_name, check_regex, check_template,
    check_template_block, idx,
};
use super::{Outcome, ValidationContext, policy};
use crate::api::v1alpha1::{ClusterPushSecret, PushSecret, PushSecretSpec, PushSecretStoreRef};
use crate::template::Options;

pub(crate) fn validate_push_secret(
    ps: &PushSecret,
    ctx: &ValidationContext<'_>,
    out: &mut Outcome,
) {
    validate_spec(&ps.spec, "spec", ctx, out);
    if let Some(ns) = ps.metadata.namespace.as_deref() {
        let pol = ctx.policy_for(ns);
        policy::push_secret_policy(&ps.spec, "spec", &pol, ctx, out);
    }
}

pub(crate) fn validate_cluster_push_secret(
    cps: &ClusterPushSecret,
    ctx: &ValidationContext<'_>,
    out: &mut Outcome,
) {
    validate_spec(&cps.spec.push_secret_spec, "spec.pushSecretSpec", ctx, out);
    if let Some(n) = &cps.spec.push_secret_name {
        check_name("spec.pushSecretName", n, out);
    }
    if let Some(rt) = &cps.spec.refresh_time {
        check_duration("spec.refreshTime", rt, out);
    }
}

fn store_ref_target(r: &PushSecretStoreRef, path: &str, out: &mut Outcome) {
    match (&r.name, &r.label_selector) {
        (None, None) => out.err(path, "storeRef must specify either name or labelSelector"),
        (Some(_), Some(_)) => out.err(
            path,
            "set either name or labelSelector, not both (the name would win silently)",
        ),
        (Some(n), None) => check_name(&at(path, "name"), n, out),
        _ => {}
    }
}

pub(crate) fn validate_spec(
    spec: &PushSecretSpec,
    base: &str,
    ctx: &ValidationContext<'_>,
    out: &mut Outcome,
) {
    if let Some(r) = &spec.refresh_interval {
        check_duration(&at(base, "refreshInterval"), r, out);
    }
    let refs_path = at(base, "secretStoreRefs");
    if spec.secret_store_refs.is_empty() {
        out.err(
            refs_path.clone(),
            "at least one store is required: add a secretStoreRefs entry",
        );
    }
    for (i, r) in spec.secret_store_refs.iter().enumerate() {
        store_ref_target(r, &idx(&refs_path, i), out);
    }

    let sel = &spec.selector;
    let sp = at(base, "selector");
    match (&sel.secret, &sel.generator_ref) {
        (Some(_), Some(_)) => out.err(
            sp.clone(),
            "set exactly one of secret or generatorRef, not both",
        ),
        (None, None) => out.err(sp.clone(), "set one of secret or generatorRef"),
        _ => {}
    }
    if let Some(s) = &sel.secret {
        match (&s.name, &s.selector) {
            (None, None) => out.err(
                at(&sp, "secret"),
                "set the source Secret's name or a label selector",
            ),
            (Some(_), Some(_)) => {
                out.err(at(&sp, "secret"), "set either name or selector, not both")
            }
            (Some(n), None) => check_name(&at(&sp, "secret.name"), n, out),
            _ => {}
        }
    }
    if let Some(g) = &sel.generator_ref {
        check_generator_ref(&at(&sp, "generatorRef"), g, out);
    }

    let mut remote = BTreeSet::new();
    for (i, d) in spec.data_items().iter().enumerate() {
        let p = idx(&at(base, "data"), i);
        let rr = &d.match_.remote_ref;
        if rr.remote_key.is_empty() {
            out.err(
                at(&p, "match.remoteRef.remoteKey"),
                "must not be empty: name the provider key to write",
            );
        }
        if d.match_.secret_key.as_deref() == Some("") {
            out.err(
                at(&p, "match.secretKey"),
                "must not be empty: name a key of the source Secret, or omit secretKey to push \
                 the whole Secret",
            );
        }
        if !remote.insert(rr.status_key()) {
            out.err(
                at(&p, "match.remoteRef"),
                format!(
                    "duplicate remote key {:?}: two data entries would overwrite each other; use \
                     a different remoteKey or property",
                    rr.status_key()
                ),
            );
        }
    }

    for (i, d) in spec.data_to_items().iter().enumerate() {
        let p = idx(&at(base, "dataTo"), i);
        match &d.store_ref {
            None => out.err(
                at(&p, "storeRef"),
                "storeRef must specify either name or labelSelector",
            ),
            Some(r) => {
                store_ref_target(r, &at(&p, "storeRef"), out);
                if let Some(n) = &r.name {
                    let listed = spec.secret_store_refs.iter().any(|s| {
                        s.name.as_ref() == Some(n) && s.effective_kind() == r.effective_kind()
                    });
                    if !listed {
                        out.err(
                            at(&p, "storeRef.name"),
                            format!(
                                "{} {n:?} is not in spec.secretStoreRefs: add it there or target a \
                                 listed store",
                                r.effective_kind().as_str()
                            ),
                        );
                    }
                }
            }
        }
        let rewrites = d.rewrite.as_deref().unwrap_or_default();
        if d.remote_key.is_some() && !rewrites.is_empty() {
            out.err(
                p.clone(),
                "remoteKey and rewrite are mutually exclusive: rewrite is only supported in \
                 per-key mode (without remoteKey)",
            );
        }
        if d.remote_key.as_deref() == Some("") {
            out.err(
                at(&p, "remoteKey"),
                "must not be empty: name the provider key for the bundle, or omit it for per-key mode",
            );
        }
        if let Some(re) = d.match_.as_ref().and_then(|m| m.regexp.as_ref()) {
            check_regex(&at(&p, "match.regexp"), re, out);
        }
        for (j, rw) in rewrites.iter().enumerate() {
            let rp = idx(&at(&p, "rewrite"), j);
            if rw.regexp.is_some() == rw.transform.is_some() {
                out.err(rp.clone(), "exactly one of regexp or transform must be set");
            }
            if let Some(r) = &rw.regexp {
                check_regex(&at(&rp, "regexp.source"), &r.source, out);
            }
            if let Some(t) = &rw.transform {
                check_template(
                    &at(&rp, "transform.template"),
                    &t.template,
                    &Options::default(),
                    out,
                );
            }
        }
    }

    if let Some(tpl) = &spec.template {
        check_template_block(&at(base, "template"), tpl, ctx, out);
    }
}
