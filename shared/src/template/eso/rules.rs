//! Privileged-template rules (ESO reference §3 rules 4–6). The webhook runs them at admission and
//! the controller again before every render, so a bypassed or fail-open webhook still cannot make
//! the controller mint service-account or bootstrap tokens.

use crate::api::v1::ExternalSecretTemplate;

use super::RenderError;

/// Secret type that makes the API server mint a long-lived service-account token.
pub const SERVICE_ACCOUNT_TOKEN_TYPE: &str = "kubernetes.io/service-account-token";
/// Annotation naming the service account whose token the API server mints.
pub const SERVICE_ACCOUNT_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
/// Secret type of cluster bootstrap tokens.
pub const BOOTSTRAP_TOKEN_TYPE: &str = "bootstrap.kubernetes.io/token";

/// Checks rules 4–6 and reports every violation (joined by newlines, like Go's `errors.Join`).
/// `is_secret_target` is true unless the ExternalSecret writes a generic `target.manifest` of a
/// kind other than `v1/Secret`; only Secret targets restrict `templateFrom[].target` to
/// Data/Annotations/Labels.
pub fn check_template_rules(
    template: &ExternalSecretTemplate,
    is_secret_target: bool,
) -> Result<(), RenderError> {
    let mut errors = Vec::new();
    let type_ = template.type_.as_deref().unwrap_or("");
    let template_from = template.template_from.as_deref().unwrap_or(&[]);

    if type_ == SERVICE_ACCOUNT_TOKEN_TYPE {
        let sa_annotation = template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.as_ref())
            .is_some_and(|a| a.contains_key(SERVICE_ACCOUNT_NAME_ANNOTATION));
        if sa_annotation {
            errors.push(format!(
                "template type {SERVICE_ACCOUNT_TOKEN_TYPE:?} must not be combined with the \
                 {SERVICE_ACCOUNT_NAME_ANNOTATION:?} annotation: it would make the API server \
                 mint a long-lived service account token"
            ));
        }
        let annotation_targets = template_from.iter().enumerate().filter(|(_, tf)| {
            tf.target
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("annotations"))
        });
        for (i, _) in annotation_targets {
            errors.push(format!(
                "template type {SERVICE_ACCOUNT_TOKEN_TYPE:?} must not be combined with \
                 templateFrom[{i}].target Annotations: it could set the \
                 {SERVICE_ACCOUNT_NAME_ANNOTATION:?} annotation"
            ));
        }
    }
    if type_ == BOOTSTRAP_TOKEN_TYPE {
        errors.push(format!(
            "template type {BOOTSTRAP_TOKEN_TYPE:?} is not allowed: bootstrap tokens grant \
             cluster join credentials"
        ));
    }
    if is_secret_target {
        for (i, tf) in template_from.iter().enumerate() {
            let target = tf.target.as_deref().unwrap_or("");
            let allowed = ["", "data", "annotations", "labels"]
                .iter()
                .any(|a| target.eq_ignore_ascii_case(a));
            if !allowed {
                errors.push(format!(
                    "templateFrom[{i}].target {target:?} is not allowed for Secret targets: \
                     use Data, Annotations or Labels"
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(RenderError::Forbidden(errors.join("\n")))
    }
}
