//! Generator kinds: Password, UUID, Fake, ClusterGenerator and GeneratorState.

use std::collections::BTreeSet;

use serde_json::Value;

use super::common::{at, idx};
use super::{Outcome, ValidationContext, decode};
use crate::api::generators::{
    ClusterGenerator, ClusterGeneratorKind, Fake, GeneratorSpec, GeneratorState, Password,
    PasswordSpec, UUID,
};

/// go-password's default symbol alphabet (used when symbolCharacters is unset or empty).
const DEFAULT_SYMBOLS: &str = "~!@#$%^&*()_+`-={}|[]\\:\"<>?,./";

pub(crate) fn validate_generator(
    obj: &Value,
    api_version: &str,
    kind: &str,
    ctx: &ValidationContext<'_>,
    out: &mut Outcome,
) {
    if api_version != "generators.external-secrets.io/v1alpha1" {
        out.err(
            "apiVersion",
            format!("{api_version} is not served: use generators.external-secrets.io/v1alpha1"),
        );
        return;
    }
    match kind {
        "Password" => {
            if let Some(p) = decode::<Password>(obj, ctx, out) {
                password(&p.spec, "spec", out);
            }
        }
        "UUID" => {
            decode::<UUID>(obj, ctx, out);
        }
        "Fake" => {
            decode::<Fake>(obj, ctx, out);
        }
        "GeneratorState" => {
            if let Some(gs) = decode::<GeneratorState>(obj, ctx, out) {
                let r = &gs.spec.resource;
                if !(r.is_object() && r.get("apiVersion").is_some() && r.get("kind").is_some()) {
                    out.err(
                        "spec.resource",
                        "must be the generator manifest (an object with apiVersion and kind)",
                    );
                }
            }
        }
        "ClusterGenerator" => {
            if let Some(cg) = decode::<ClusterGenerator>(obj, ctx, out) {
                cluster_generator(cg.spec.kind, &cg.spec.generator, out);
            }
        }
        other => out.err(
            "kind",
            format!(
                "generator kind {other} is not supported by this operator: use Password, UUID, \
                 Fake or a ClusterGenerator of one of those"
            ),
        ),
    }
}

/// The spec key each ClusterGenerator kind uses (`Password` → `passwordSpec`).
fn spec_key(kind: ClusterGeneratorKind) -> String {
    let name = format!("{kind:?}");
    let mut chars = name.chars();
    let key = match name.as_str() {
        // Acronym kinds lowercase their acronym only.
        "ACRAccessToken" => "acrAccessToken".to_string(),
        "ECRAuthorizationToken" => "ecrAuthorizationToken".to_string(),
        "GCRAccessToken" => "gcrAccessToken".to_string(),
        "SSHKey" => "sshKey".to_string(),
        "STSSessionToken" => "stsSessionToken".to_string(),
        "UUID" => "uuid".to_string(),
        "MFA" => "mfa".to_string(),
        _ => match chars.next() {
            Some(c) => c.to_lowercase().chain(chars).collect(),
            None => String::new(),
        },
    };
    format!("{key}Spec")
}

fn cluster_generator(kind: ClusterGeneratorKind, g: &GeneratorSpec, out: &mut Outcome) {
    let configured = g.configured_keys();
    let expected = spec_key(kind);
    if configured.len() != 1 {
        out.err(
            "spec.generator",
            format!(
                "exactly one generator spec must be set, found {}: keep only {expected}",
                configured.len()
            ),
        );
    } else if configured[0] != expected {
        out.err(
            "spec.generator",
            format!(
                "spec.kind is {kind:?} but the generator block is {}: set {expected} or change \
                 spec.kind",
                configured[0]
            ),
        );
    }
    if !GeneratorSpec::SUPPORTED_KEYS.contains(&expected.as_str()) {
        out.err(
            "spec.kind",
            format!(
                "generator kind {kind:?} is not supported by this operator: use Password, UUID \
                 or Fake"
            ),
        );
    }
    if let Some(p) = &g.password_spec {
        password(p, "spec.generator.passwordSpec", out);
    }
}

fn password(p: &PasswordSpec, base: &str, out: &mut Outcome) {
    let length = p.effective_length();
    if p.length.is_some_and(|l| l <= 0) {
        out.err(
            at(base, "length"),
            format!(
                "{} is not a length: use a positive length (default 24)",
                p.length.unwrap_or(0)
            ),
        );
    }
    let digits = p.digits.unwrap_or(length / 4);
    let symbols = p.symbols.unwrap_or(length / 4);
    for (field, v) in [("digits", p.digits), ("symbols", p.symbols)] {
        if let Some(v) = v.filter(|v| *v < 0) {
            out.err(at(base, field), format!("{v} is negative: use 0 or more"));
        }
    }
    if digits + symbols > length {
        out.err(
            base,
            format!(
                "digits ({digits}) plus symbols ({symbols}) exceed length ({length}): raise length \
                 or lower digits/symbols"
            ),
        );
    }
    let symbol_set: BTreeSet<char> = match p.symbol_characters.as_deref() {
        Some(s) if !s.is_empty() => s.chars().collect(),
        _ => DEFAULT_SYMBOLS.chars().collect(),
    };
    if let Some(s) = p.symbol_characters.as_deref()
        && !s.is_ascii()
    {
        out.err(
            at(base, "symbolCharacters"),
            "must be ASCII: the generator picks symbols byte by byte",
        );
    }
    if p.allow_repeat != Some(true) {
        let letters = length - digits - symbols;
        let alphabet = if p.no_upper == Some(true) { 26 } else { 52 };
        let limits = [
            ("letters", letters, alphabet),
            ("digits", digits, 10),
            ("symbols", symbols, symbol_set.len() as i64),
        ];
        for (what, n, max) in limits {
            if n > max {
                out.err(
                    base,
                    format!(
                        "{n} {what} cannot be unique with only {max} to choose from: set \
                         allowRepeat: true or use fewer {what}"
                    ),
                );
            }
        }
    }
    let mut seen = BTreeSet::new();
    for (i, k) in p.secret_keys.iter().flatten().enumerate() {
        let kp = idx(&at(base, "secretKeys"), i);
        if k.is_empty() {
            out.err(kp.clone(), "must not be empty");
        }
        if !seen.insert(k) {
            out.err(kp, format!("duplicate secret key {k:?}"));
        }
    }
}
