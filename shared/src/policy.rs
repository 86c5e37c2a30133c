//! Namespace policy annotations (permitted role ARNs and key names).
//!
//! A namespace may restrict what ExternalSecrets inside it can do, with the two annotations
//! kubernetes-external-secrets (KES) introduced:
//!
//! * [`ROLE_ANNOTATION`] (`iam.amazonaws.com/permitted`): a regular expression every role a store
//!   or ExternalSecret asks to assume (including each hop of a role chain) must match;
//! * [`KEY_ANNOTATION`] (`externalsecrets.kubernetes-client.io/permitted-key-name`): a regular
//!   expression every remote key read from this namespace must match.
//!
//! Differences from KES, all towards failing closed:
//!
//! * patterns are **fully anchored** (`^(?:pattern)$`): KES searched for a substring, so
//!   `dev/.*` also admitted `prod/dev/x`;
//! * a pattern that does not compile denies everything, with a message naming the namespace and
//!   the annotation (KES would crash the poll);
//! * with `--require-namespace-policy` an absent (or empty) annotation denies; without it, an
//!   absent or empty annotation allows everything, as in KES.
//!
//! Patterns use Go's RE2 syntax (as in the rest of ESO's API), compiled with a size limit.

use std::collections::BTreeMap;
use std::fmt;

use crate::keys::GoRegex;

/// Annotation restricting which role ARNs may be assumed from a namespace.
pub const ROLE_ANNOTATION: &str = "iam.amazonaws.com/permitted";

/// Annotation restricting which remote key names may be read from a namespace.
pub const KEY_ANNOTATION: &str = "externalsecrets.kubernetes-client.io/permitted-key-name";

/// Condition reason (and event reason) for a request the namespace policy rejects.
pub const POLICY_VIOLATION_REASON: &str = "PolicyViolation";

#[derive(Clone, Debug)]
enum Rule {
    /// No restriction.
    AllowAll,
    /// The annotation is required but absent or empty.
    Missing,
    /// A compiled, anchored pattern.
    Pattern { pattern: String, re: GoRegex },
    /// The annotation does not compile: deny everything.
    Invalid { pattern: String, error: String },
}

impl Rule {
    fn from_annotation(value: Option<&String>, require: bool) -> Self {
        match value.map(String::as_str) {
            None | Some("") if require => Self::Missing,
            None | Some("") => Self::AllowAll,
            Some(pattern) => match GoRegex::new_anchored(pattern) {
                Ok(re) => Self::Pattern {
                    pattern: pattern.to_string(),
                    re,
                },
                Err(e) => Self::Invalid {
                    pattern: pattern.to_string(),
                    // regex errors span several lines; keep condition messages on one.
                    error: e
                        .to_string()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" "),
                },
            },
        }
    }
}

/// What a [`NamespacePolicy`] check was about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// An IAM role ARN (or Vault role) to assume.
    Role,
    /// A remote key name to read.
    Key,
}

impl Subject {
    fn noun(self) -> &'static str {
        match self {
            Self::Role => "role",
            Self::Key => "key",
        }
    }

    fn annotation(self) -> &'static str {
        match self {
            Self::Role => ROLE_ANNOTATION,
            Self::Key => KEY_ANNOTATION,
        }
    }
}

/// Why a request was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViolationKind {
    /// The value does not fully match the pattern.
    NotPermitted {
        /// The annotation's pattern.
        pattern: String,
    },
    /// The annotation is required but absent or empty.
    MissingAnnotation,
    /// The annotation is not a valid regular expression.
    InvalidPattern {
        /// The annotation's value.
        pattern: String,
        /// The compiler's complaint.
        error: String,
    },
}

/// A request the namespace policy rejects. Role ARNs and key names are not secret, so the
/// message names them to help the user fix either the request or the annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyViolation {
    /// Namespace whose annotations were applied.
    pub namespace: String,
    /// Whether a role or a key was checked.
    pub subject: Subject,
    /// The rejected role ARN or key name.
    pub value: String,
    /// Why it was rejected.
    pub kind: ViolationKind,
}

impl PolicyViolation {
    /// The condition/event reason for this error: always `PolicyViolation`.
    pub fn reason(&self) -> &'static str {
        POLICY_VIOLATION_REASON
    }

    /// The annotation that decided.
    pub fn annotation(&self) -> &'static str {
        self.subject.annotation()
    }
}

impl fmt::Display for PolicyViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ns, noun, value, annotation) = (
            &self.namespace,
            self.subject.noun(),
            &self.value,
            self.annotation(),
        );
        match &self.kind {
            ViolationKind::NotPermitted { pattern } => write!(
                f,
                "namespace {ns:?} does not permit {noun} {value:?}: annotation {annotation} \
                 allows only values fully matching {pattern:?}"
            ),
            ViolationKind::MissingAnnotation => write!(
                f,
                "namespace {ns:?} has no {annotation} annotation, which this controller requires \
                 (--require-namespace-policy); {noun} {value:?} is denied"
            ),
            ViolationKind::InvalidPattern { pattern, error } => write!(
                f,
                "namespace {ns:?} annotation {annotation} is not a valid regular expression \
                 ({pattern:?}: {error}); every {noun} is denied until it is fixed, including \
                 {value:?}"
            ),
        }
    }
}

impl std::error::Error for PolicyViolation {}

/// The effective policy of one namespace, built from its annotations.
#[derive(Clone, Debug)]
pub struct NamespacePolicy {
    namespace: String,
    role: Rule,
    key: Rule,
}

impl NamespacePolicy {
    /// Reads the policy from a namespace's annotations. Never fails: an invalid pattern becomes
    /// a deny-all rule whose violations explain the problem.
    pub fn from_annotations(
        namespace: &str,
        annotations: &BTreeMap<String, String>,
        require: bool,
    ) -> Self {
        Self {
            namespace: namespace.to_string(),
            role: Rule::from_annotation(annotations.get(ROLE_ANNOTATION), require),
            key: Rule::from_annotation(annotations.get(KEY_ANNOTATION), require),
        }
    }

    /// A policy that allows everything (namespaces without annotations, policy not required).
    pub fn allow_all(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            role: Rule::AllowAll,
            key: Rule::AllowAll,
        }
    }

    /// The namespace this policy belongs to.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Checks one role ARN against [`ROLE_ANNOTATION`].
    pub fn check_role(&self, arn: &str) -> Result<(), PolicyViolation> {
        self.check(&self.role, Subject::Role, arn)
    }

    /// Checks every role of a chain (e.g. `role` then each `additionalRoles` hop); the first
    /// rejected one is reported.
    pub fn check_roles<'a>(
        &self,
        arns: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), PolicyViolation> {
        arns.into_iter().try_for_each(|arn| self.check_role(arn))
    }

    /// Checks one remote key name against [`KEY_ANNOTATION`].
    pub fn check_key(&self, key: &str) -> Result<(), PolicyViolation> {
        self.check(&self.key, Subject::Key, key)
    }

    fn check(&self, rule: &Rule, subject: Subject, value: &str) -> Result<(), PolicyViolation> {
        let kind = match rule {
            Rule::AllowAll => return Ok(()),
            Rule::Pattern { re, .. } if re.is_match(value) => return Ok(()),
            Rule::Pattern { pattern, .. } => ViolationKind::NotPermitted {
                pattern: pattern.clone(),
            },
            Rule::Missing => ViolationKind::MissingAnnotation,
            Rule::Invalid { pattern, error } => ViolationKind::InvalidPattern {
                pattern: pattern.clone(),
                error: error.clone(),
            },
        };
        Err(PolicyViolation {
            namespace: self.namespace.clone(),
            subject,
            value: value.to_string(),
            kind,
        })
    }
}
