//! ExternalSecret and ClusterExternalSecret rules.

use std::collections::BTreeSet;

use super::common::{
    at, check_duration, check_generator_ref, check_name, check_namespace_name, check_regex,
    check_secret_key, check_template, check_template_block, idx,
};
use super::{Outcome, ValidationContext, policy};
use crate::api::v1::{
    ClusterExternalSecret, CreationPolicy, DeletionPolicy, ExternalSecret,
    ExternalSecretDataFromRemoteRef, ExternalSecretRewrite, ExternalSecretSpec,
    ExternalSecretTemplate, MergeStrategy,
};
use crate::template::Options;

const SA_TOKEN_TYPE: &str = "kubernetes.io/service-account-token";
const SA_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
const BOOTSTRAP_TOKEN_TYPE: &str = "bootstrap.kubernetes.io/token";

pub(crate) fn validate_external_secret(
    es: &ExternalSecret,
    ctx: &ValidationContext<'_>,
    out: &mut Outcome,
) {
    validate_spec(&es.spec, "spec", ctx, out);
    if let Some(ns) = es.metadata.namespace.as_deref() {
        let pol = ctx.policy_for(ns);
        policy::external_secret_policy(&es.spec, "spec", &pol, ctx, out);
    }
}

pub(crate) fn validate_cluster_external_secret(
    ces: &ClusterExternalSecret,
    ctx: &ValidationContext<'_>,
    out: &mut Outcome,
) {
    let spec = &ces.spec;
    validate_spec(
        &spec.external_secret_spec,
        "spec.externalSecretSpec",
        ctx,
        out,
    );
    if let Some(name) = &spec.external_secret_name {
        check_name("spec.externalSecretName", name, out);
    }
    if let Some(rt) = &spec.refresh_time {
        check_duration("spec.refreshTime", rt, out);
    }
    for (i, ns) in spec.namespaces.iter().flatten().enumerate() {
        check_namespace_name(&idx("spec.namespaces", i), ns, out);
    }
    if spec.namespace_selector.is_some() {
        out.warn(
            "spec.namespaceSelector is deprecated: move it into spec.namespaceSelectors (a list)",
        );
    }
    if spec.namespaces.is_some() {
        out.warn(
            "spec.namespaces is deprecated: select namespaces with spec.namespaceSelectors \
             (matchExpressions on kubernetes.io/metadata.name)",
        );
    }
}

/// The rules of one ExternalSecret spec (also the spec inside a ClusterExternalSecret).
pub(crate) fn validate_spec(
    spec: &ExternalSecretSpec,
    base: &str,
    ctx: &ValidationContext<'_>,
    out: &mut Outcome,
) {
    let target_path = at(base, "target");
    let creation = spec.effective_creation_policy();
    let deletion = spec.effective_deletion_policy();

    // ESO rule 1.
    if deletion == DeletionPolicy::Delete
        && matches!(
            creation,
            CreationPolicy::Merge | CreationPolicy::None | CreationPolicy::CreateOrMerge
        )
    {
        out.err(
            at(&target_path, "deletionPolicy"),
            format!(
                "Delete requires creationPolicy Owner (found {creation:?}): deletionPolicy=Delete \
                 must not be used when the controller doesn't own the secret. Please set \
                 creationPolicy=Owner (or use deletionPolicy Retain/Merge)"
            ),
        );
    }
    // ESO rule 2.
    if deletion == DeletionPolicy::Merge && creation == CreationPolicy::None {
        out.err(
            at(&target_path, "deletionPolicy"),
            "Merge requires a target to merge into (found creationPolicy None): \
             deletionPolicy=Merge must not be used with creationPolicy=None. There is no Secret \
             to merge with (use deletionPolicy Retain, or another creationPolicy)",
        );
    }
    // ESO rule 3.
    if spec.data_items().is_empty() && spec.data_from_items().is_empty() {
        out.err(
            base,
            "either data or dataFrom should be specified: add at least one spec.data entry or \
             one spec.dataFrom entry",
        );
    }

    if let Some(refresh) = &spec.refresh_interval {
        check_duration(&at(base, "refreshInterval"), refresh, out);
    }
    if let Some(sw) = &spec.sync_windows {
        for (i, w) in sw.windows.iter().enumerate() {
            let p = idx(&at(base, "syncWindows.windows"), i);
            check_duration(&at(&p, "duration"), &w.duration, out);
            check_schedule(&at(&p, "schedule"), &w.schedule, out);
        }
    }

    if let Some(target) = &spec.target {
        if let Some(name) = &target.name {
            check_name(&at(&target_path, "name"), name, out);
        }
        let secret_target = target
            .manifest
            .as_ref()
            .is_none_or(|m| m.api_version == "v1" && m.kind == "Secret");
        if let Some(tpl) = &target.template {
            let tpl_path = at(&target_path, "template");
            check_privileged_template(&tpl_path, tpl, out);
            if secret_target {
                check_template_from_targets(&tpl_path, tpl, out);
            }
            check_template_block(&tpl_path, tpl, ctx, out);
        }
        if let Some(m) = &target.manifest {
            let p = at(&target_path, "manifest");
            if m.api_version.is_empty() {
                out.err(
                    at(&p, "apiVersion"),
                    "must not be empty: name the target's apiVersion",
                );
            }
            if m.kind.is_empty() {
                out.err(at(&p, "kind"), "must not be empty: name the target's kind");
            }
        }
    }

    let store_ref_set = spec
        .secret_store_ref
        .as_ref()
        .is_some_and(|r| r.name.is_some());
    if let Some(r) = &spec.secret_store_ref
        && let Some(n) = &r.name
    {
        check_name(&at(base, "secretStoreRef.name"), n, out);
    }

    // ESO rule 8: duplicate secretKeys (only with Retain, as ESO).
    let mut seen = BTreeSet::new();
    for (i, d) in spec.data_items().iter().enumerate() {
        let p = idx(&at(base, "data"), i);
        check_secret_key(&at(&p, "secretKey"), &d.secret_key, out);
        if d.remote_ref.key.is_empty() {
            out.err(
                at(&p, "remoteRef.key"),
                "must not be empty: name the provider key to read",
            );
        }
        if deletion == DeletionPolicy::Retain && !seen.insert(d.secret_key.as_str()) {
            out.err(
                at(&p, "secretKey"),
                format!(
                    "duplicate secretKey found: {}: each data entry must write a different key",
                    d.secret_key
                ),
            );
        }
        let mut has_store = store_ref_set;
        if let Some(sr) = &d.source_ref {
            let sp = at(&p, "sourceRef");
            match (&sr.store_ref, &sr.generator_ref) {
                (Some(_), Some(_)) => out.err(
                    sp.clone(),
                    "set exactly one of storeRef or generatorRef, not both",
                ),
                (None, None) => out.err(sp.clone(), "set one of storeRef or generatorRef"),
                _ => {}
            }
            if let Some(s) = &sr.store_ref {
                match &s.name {
                    Some(n) => {
                        check_name(&at(&sp, "storeRef.name"), n, out);
                        has_store = true;
                    }
                    None => out.err(at(&sp, "storeRef.name"), "must be set: name the store"),
                }
            }
            if let Some(g) = &sr.generator_ref {
                has_store = true;
                out.warn(format!(
                    "{sp}.generatorRef is deprecated: use a spec.dataFrom entry with \
                     sourceRef.generatorRef instead"
                ));
                check_generator_ref(&at(&sp, "generatorRef"), g, out);
            }
        }
        if !has_store {
            out.err(
                p.clone(),
                "no store to read from: set spec.secretStoreRef.name or this entry's \
                 sourceRef.storeRef",
            );
        }
    }

    for (i, df) in spec.data_from_items().iter().enumerate() {
        let p = idx(&at(base, "dataFrom"), i);
        validate_data_from(&p, df, store_ref_set, ctx, out);
    }
}

fn validate_data_from(
    p: &str,
    df: &ExternalSecretDataFromRemoteRef,
    store_ref_set: bool,
    _ctx: &ValidationContext<'_>,
    out: &mut Outcome,
) {
    let generator = df
        .source_ref
        .as_ref()
        .and_then(|s| s.generator_ref.as_ref());
    // ESO rule 7.
    let set = [df.find.is_some(), df.extract.is_some(), generator.is_some()];
    if set.iter().filter(|s| **s).count() > 1 {
        out.err(
            p,
            "extract, find, or generatorRef cannot be set at the same time: keep one per dataFrom \
             entry and add more entries for the others",
        );
    }
    if df.find.is_none() && df.extract.is_none() && df.source_ref.is_none() {
        out.err(
            p,
            "either extract, find, or sourceRef must be set to dataFrom: add one of them",
        );
    }
    if let Some(sr) = &df.source_ref {
        if sr.generator_ref.is_none() && sr.store_ref.is_none() {
            out.err(
                at(p, "sourceRef"),
                "generatorRef or storeRef must be set when using sourceRef in dataFrom",
            );
        }
        if sr.generator_ref.is_some() && sr.store_ref.is_some() {
            out.err(
                at(p, "sourceRef"),
                "set exactly one of storeRef or generatorRef, not both",
            );
        }
        if let Some(s) = &sr.store_ref {
            match &s.name {
                Some(n) => check_name(&at(p, "sourceRef.storeRef.name"), n, out),
                None => out.err(
                    at(p, "sourceRef.storeRef.name"),
                    "must be set: name the store",
                ),
            }
        }
        if let Some(g) = generator {
            check_generator_ref(&at(p, "sourceRef.generatorRef"), g, out);
        }
    }
    let uses_store = df.find.is_some() || df.extract.is_some();
    let own_store = df
        .source_ref
        .as_ref()
        .and_then(|s| s.store_ref.as_ref())
        .is_some_and(|s| s.name.is_some());
    if uses_store && !store_ref_set && !own_store && generator.is_none() {
        out.err(
            p,
            "no store to read from: set spec.secretStoreRef.name or this entry's \
             sourceRef.storeRef",
        );
    }
    if let Some(ex) = &df.extract
        && ex.key.is_empty()
    {
        out.err(
            at(p, "extract.key"),
            "must not be empty: name the provider key to extract",
        );
    }
    if let Some(find) = &df.find {
        if let Some(re) = find.name.as_ref().and_then(|n| n.regexp.as_ref()) {
            check_regex(&at(p, "find.name.regexp"), re, out);
        }
        if find.name.is_none()
            && find.tags.as_ref().is_none_or(|t| t.is_empty())
            && find.path.is_none()
        {
            out.err(
                at(p, "find"),
                "find needs a filter: set name.regexp, tags or path",
            );
        }
    }
    for (j, rw) in df.rewrite.iter().flatten().enumerate() {
        validate_rewrite(&idx(&at(p, "rewrite"), j), rw, out);
    }
}

fn validate_rewrite(p: &str, rw: &ExternalSecretRewrite, out: &mut Outcome) {
    let n = [
        rw.merge.is_some(),
        rw.regexp.is_some(),
        rw.transform.is_some(),
    ]
    .iter()
    .filter(|s| **s)
    .count();
    if n != 1 {
        out.err(
            p,
            format!(
                "a rewrite must set exactly one of merge, regexp or transform (found {n}): use one \
                 rewrite entry per operation"
            ),
        );
    }
    if let Some(r) = &rw.regexp {
        check_regex(&at(p, "regexp.source"), &r.source, out);
    }
    if let Some(t) = &rw.transform {
        // ESO renders rewrite templates with the default delimiters.
        check_template(
            &at(p, "transform.template"),
            &t.template,
            &Options::default(),
            out,
        );
    }
    if let Some(m) = &rw.merge
        && m.strategy == Some(MergeStrategy::Json)
        && m.into.as_deref().unwrap_or("").is_empty()
    {
        out.err(
            at(p, "merge.into"),
            "strategy JSON needs a key to write the merged document into: set merge.into",
        );
    }
}

/// ESO rules 4 and 5: templates that would mint long-lived credentials.
pub(crate) fn check_privileged_template(p: &str, tpl: &ExternalSecretTemplate, out: &mut Outcome) {
    match tpl.type_.as_deref() {
        Some(SA_TOKEN_TYPE) => {
            let annotated = tpl
                .metadata
                .as_ref()
                .and_then(|m| m.annotations.as_ref())
                .is_some_and(|a| a.contains_key(SA_NAME_ANNOTATION));
            if annotated {
                out.err(
                    at(p, "type"),
                    format!(
                        "template.type={SA_TOKEN_TYPE:?} with annotation {SA_NAME_ANNOTATION:?} is \
                         not allowed: it would mint a long-lived service account token; remove the \
                         annotation or use another type"
                    ),
                );
            }
            for (i, tf) in tpl.template_from.iter().flatten().enumerate() {
                if tf
                    .target
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case("Annotations"))
                {
                    out.err(
                        at(&idx(&at(p, "templateFrom"), i), "target"),
                        format!(
                            "template.type={SA_TOKEN_TYPE:?} with templateFrom target=\
                             \"Annotations\" is not allowed: it could set {SA_NAME_ANNOTATION}; \
                             use target Data or Labels"
                        ),
                    );
                }
            }
        }
        Some(BOOTSTRAP_TOKEN_TYPE) => out.err(
            at(p, "type"),
            format!(
                "template.type={BOOTSTRAP_TOKEN_TYPE:?} is not allowed: bootstrap tokens grant \
                 cluster join rights; use another Secret type"
            ),
        ),
        _ => {}
    }
}

/// ESO rule 6: path-style templateFrom targets are only for non-Secret targets.
pub(crate) fn check_template_from_targets(
    p: &str,
    tpl: &ExternalSecretTemplate,
    out: &mut Outcome,
) {
    for (i, tf) in tpl.template_from.iter().flatten().enumerate() {
        let t = tf.target.as_deref().unwrap_or("");
        if t.is_empty()
            || ["Data", "Annotations", "Labels"]
                .iter()
                .any(|w| t.eq_ignore_ascii_case(w))
        {
            continue;
        }
        out.err(
            at(&idx(&at(p, "templateFrom"), i), "target"),
            format!(
                "templateFrom target={t:?} is not allowed when targeting a Secret, must be one of \
                 \"Data\", \"Annotations\" or \"Labels\""
            ),
        );
    }
}

/// Five cron fields or a descriptor (`@daily`, `@every 1h`).
fn check_schedule(p: &str, s: &str, out: &mut Outcome) {
    let ok = match s.strip_prefix('@') {
        Some(rest) => match rest.strip_prefix("every ") {
            Some(d) => crate::duration::GoDuration::parse(d.trim())
                .is_ok_and(|d| !d.is_negative() && !d.is_zero()),
            None => matches!(
                rest,
                "annually" | "yearly" | "monthly" | "weekly" | "daily" | "midnight" | "hourly"
            ),
        },
        None => s.split_whitespace().count() == 5,
    };
    if !ok {
        out.err(
            p,
            format!(
                "{s:?} is not a schedule: use five cron fields (\"0 2 * * *\"), a descriptor such as \
                 @daily, or \"@every 6h\""
            ),
        );
    }
}
