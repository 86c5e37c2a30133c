//! Syntax checks shared by every kind: templates, Go regular expressions, Go durations, names.

use std::sync::OnceLock;

use regex::Regex;

use super::{Outcome, ValidationContext};
use crate::api::schema::{DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN, SECRET_KEY_PATTERN};
use crate::api::v1::{ExternalSecretTemplate, GeneratorKind, GeneratorRef};
use crate::duration::GoDuration;
use crate::keys::GoRegex;
use crate::template::{Options, Template};

/// `base.field`.
pub(crate) fn at(base: &str, field: &str) -> String {
    if base.is_empty() {
        field.to_string()
    } else {
        format!("{base}.{field}")
    }
}

/// `base[i]`.
pub(crate) fn idx(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

/// `base[key]` for map entries.
pub(crate) fn key(base: &str, k: &str) -> String {
    format!("{base}[{k}]")
}

/// Whether `value` matches one of the schema patterns (compiled once; the patterns are
/// constants covered by the unit tests, so a compile failure cannot happen in practice and
/// would only disable the check).
fn matches(cell: &'static OnceLock<Option<Regex>>, pattern: &str, value: &str) -> bool {
    cell.get_or_init(|| Regex::new(pattern).ok())
        .as_ref()
        .is_none_or(|r| r.is_match(value))
}

static SUBDOMAIN: OnceLock<Option<Regex>> = OnceLock::new();
static LABEL: OnceLock<Option<Regex>> = OnceLock::new();
static SECRET_KEY: OnceLock<Option<Regex>> = OnceLock::new();

/// RFC 1123 subdomain, 1..253 characters (object names).
pub(crate) fn check_name(path: &str, value: &str, out: &mut Outcome) {
    if value.is_empty() || value.len() > 253 || !matches(&SUBDOMAIN, DNS_SUBDOMAIN_PATTERN, value) {
        out.err(
            path,
            format!(
                "{value:?} is not a valid object name: use at most 253 lowercase letters, digits, \
                 '-' and '.', starting and ending with a letter or digit"
            ),
        );
    }
}

/// RFC 1123 label, 1..63 characters (namespace names).
pub(crate) fn check_namespace_name(path: &str, value: &str, out: &mut Outcome) {
    if value.is_empty() || value.len() > 63 || !matches(&LABEL, DNS_LABEL_PATTERN, value) {
        out.err(
            path,
            format!(
                "{value:?} is not a valid namespace name: use at most 63 lowercase letters, \
                 digits and '-', starting and ending with a letter or digit"
            ),
        );
    }
}

/// Secret/ConfigMap data key: 1..253 bytes of `[-._a-zA-Z0-9]`.
pub(crate) fn check_secret_key(path: &str, value: &str, out: &mut Outcome) {
    if value.is_empty() || value.len() > 253 || !matches(&SECRET_KEY, SECRET_KEY_PATTERN, value) {
        out.err(
            path,
            format!(
                "{value:?} is not a valid Secret key: use 1 to 253 letters, digits, '-', '_' or '.'"
            ),
        );
    }
}

/// A Go duration string (`1h30m`); negative durations are rejected unless `allow_negative`.
pub(crate) fn check_duration(path: &str, value: &str, out: &mut Outcome) -> Option<GoDuration> {
    match GoDuration::parse(value) {
        Ok(d) if d.is_negative() => {
            out.err(
                path,
                format!("{value:?} is negative: use a duration of 0 or more such as \"1h\""),
            );
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            out.err(
                path,
                format!("{e}: use a Go duration such as \"30s\", \"15m\" or \"1h\""),
            );
            None
        }
    }
}

/// A Go RE2 expression (unanchored, as ESO compiles it).
pub(crate) fn check_regex(path: &str, pattern: &str, out: &mut Outcome) -> bool {
    match GoRegex::new(pattern) {
        Ok(_) => true,
        Err(e) => {
            out.err(
                path,
                format!(
                    "invalid regular expression {pattern:?}: {}",
                    one_line(&e.to_string())
                ),
            );
            false
        }
    }
}

/// Collapses multi-line compiler messages into one line (admission messages are one line).
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses a template with the given delimiters.
pub(crate) fn check_template(path: &str, text: &str, opts: &Options, out: &mut Outcome) {
    if let Err(e) = Template::parse(path, text, opts) {
        out.err(
            path,
            format!("template does not parse: {}", one_line(&e.to_string())),
        );
    }
}

/// Every template string of a target template: data values, templateFrom literals and
/// metadata label/annotation values.
pub(crate) fn check_template_block(
    path: &str,
    tpl: &ExternalSecretTemplate,
    ctx: &ValidationContext<'_>,
    out: &mut Outcome,
) {
    let opts = ctx.template_options();
    for (k, v) in tpl.data.iter().flatten() {
        check_template(&key(&at(path, "data"), k), v, &opts, out);
    }
    for (i, tf) in tpl.template_from.iter().flatten().enumerate() {
        let p = idx(&at(path, "templateFrom"), i);
        if let Some(lit) = &tf.literal {
            check_template(&at(&p, "literal"), lit, &opts, out);
        }
        let sources = [
            tf.config_map.is_some(),
            tf.secret.is_some(),
            tf.literal.is_some(),
        ];
        match sources.iter().filter(|s| **s).count() {
            1 => {}
            0 => out.err(
                p.clone(),
                "templateFrom entry has no source: set one of configMap, secret or literal",
            ),
            _ => out.err(
                p.clone(),
                "templateFrom entry has several sources: set exactly one of configMap, secret or \
                 literal (use separate entries)",
            ),
        }
        for (src, r) in [("configMap", &tf.config_map), ("secret", &tf.secret)] {
            if let Some(r) = r {
                check_name(&at(&at(&p, src), "name"), &r.name, out);
                for (j, item) in r.items.iter().enumerate() {
                    check_secret_key(
                        &at(&idx(&at(&at(&p, src), "items"), j), "key"),
                        &item.key,
                        out,
                    );
                }
            }
        }
    }
    if let Some(md) = &tpl.metadata {
        let mp = at(path, "metadata");
        for (field, map) in [("labels", &md.labels), ("annotations", &md.annotations)] {
            for (k, v) in map.iter().flatten() {
                check_template(&key(&at(&mp, field), k), v, &opts, out);
            }
        }
    }
}

/// Generator kinds this operator runs.
pub(crate) const SUPPORTED_GENERATOR_KINDS: &[GeneratorKind] = &[
    GeneratorKind::Password,
    GeneratorKind::UUID,
    GeneratorKind::Fake,
    GeneratorKind::ClusterGenerator,
];

/// A generator reference: group and supported kind.
pub(crate) fn check_generator_ref(path: &str, r: &GeneratorRef, out: &mut Outcome) {
    let api_version = r.effective_api_version();
    if api_version.split('/').next() != Some(super::GENERATORS_GROUP) || !api_version.contains('/')
    {
        out.err(
            at(path, "apiVersion"),
            format!(
                "{api_version:?} is not a generator API version: use {}",
                crate::api::v1::GENERATORS_API_VERSION
            ),
        );
    }
    if !SUPPORTED_GENERATOR_KINDS.contains(&r.kind) {
        out.err(
            at(path, "kind"),
            format!(
                "generator kind {} is not supported by this operator: use Password, UUID, Fake or \
                 a ClusterGenerator of one of those",
                r.kind.as_str()
            ),
        );
    }
    check_name(&at(path, "name"), &r.name, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_patterns_compile_and_match() {
        let mut out = Outcome::default();
        check_name("n", "db-creds.v1", &mut out);
        check_namespace_name("ns", "team-a", &mut out);
        check_secret_key("k", "API_KEY.json", &mut out);
        assert!(out.errors.is_empty(), "{out:?}");
        check_name("n", "Bad_Name", &mut out);
        check_namespace_name("ns", "a.b", &mut out);
        check_secret_key("k", "a/b", &mut out);
        assert_eq!(out.errors.len(), 3);
    }
}
