//! Workload Identity Federation (`auth.workloadIdentityFederation`), with ESO's rules:
//!
//! * exactly one of `serviceAccountRef`, `credConfig`, `awsSecurityCredentials`; `audience` is
//!   required with the first and the last, and overrides a `credConfig`'s own audience;
//! * `credConfig` names a ConfigMap key holding Google's "external_account" credential
//!   configuration JSON. Its `token_url` must be Google's STS and its
//!   `service_account_impersonation_url` IAM Credentials' `generateAccessToken`; an
//!   `executable` source is refused (it cannot be checked), a `file` source may not be the
//!   controller's own service-account token (a store must name a ServiceAccount instead), a
//!   `url` source must equal `externalTokenEndpoint` (a file source needs it empty), and an
//!   `environment_id` `aws1` source must name the EC2 instance metadata service's fixed URLs;
//! * `gcpServiceAccountEmail` overrides the configuration's impersonation URL and, with
//!   `serviceAccountRef`, the ServiceAccount's `iam.gke.io/gcp-service-account` annotation.
//!
//! The ConfigMap, the AWS keys Secret and the ServiceAccount resolve like every credential
//! reference (see `refs`): a SecretStore's own namespace; a ClusterSecretStore's named
//! namespace, or the reconciled object's (referent).

use std::collections::BTreeMap;

use reqwest::Url;
use serde::Deserialize;
use shared::api::v1::providers::gcpsm::{ConfigMapKeySelector, GCPWorkloadIdentityFederation};

use super::auth::{Impersonate, Source};
use super::aws::{AwsSource, AwsSubject, DEFAULT_VERIFICATION_URL, secret_keys};
use super::endpoints::Endpoints;
use super::subject::{Format, Subject};
use crate::provider::{ClientContext, ProviderError, refs};

/// The token every pod gets mounted; the controller's own identity is not for stores.
pub(super) const OWN_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
pub(super) const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
pub(super) const AWS_TOKEN_TYPE: &str = "urn:ietf:params:aws:token-type:aws4_request";
/// The only `token_url` ESO accepts.
const GOOGLE_STS_TOKEN_URL: &str = "https://sts.googleapis.com/v1/token";
const IMPERSONATION_PREFIX: &str =
    "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/";
const IMPERSONATION_SUFFIX: &str = ":generateAccessToken";
/// Addresses of the EC2 instance metadata service ESO accepts in an AWS source.
const IMDS_ORIGINS: [&str; 3] = [
    "http://metadata.google.internal",
    "http://169.254.169.254",
    "http://[fd00:ec2::254]",
];

fn invalid(msg: impl Into<String>) -> ProviderError {
    ProviderError::InvalidConfig(msg.into())
}

const PREFIX: &str = "invalid workloadIdentityFederation config";

/// The fields of an external account configuration we use. No `Debug`: such files may carry
/// a client secret.
#[derive(Deserialize)]
struct CredFile {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    subject_token_type: String,
    #[serde(default)]
    token_url: String,
    #[serde(default)]
    service_account_impersonation_url: String,
    #[serde(default)]
    service_account_impersonation: ImpersonationInfo,
    #[serde(default)]
    credential_source: Option<CredentialSource>,
}

#[derive(Deserialize, Default)]
struct ImpersonationInfo {
    #[serde(default)]
    token_lifetime_seconds: Option<u64>,
}

#[derive(Deserialize, Default)]
struct CredentialSource {
    #[serde(default)]
    file: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    format: Option<FormatSpec>,
    #[serde(default)]
    executable: Option<serde_json::Value>,
    #[serde(default)]
    environment_id: String,
    #[serde(default)]
    region_url: String,
    #[serde(default)]
    regional_cred_verification_url: String,
    #[serde(default)]
    imdsv2_session_token_url: String,
}

impl CredentialSource {
    fn is_empty(&self) -> bool {
        self.file.is_empty()
            && self.url.is_empty()
            && self.headers.is_empty()
            && self.format.is_none()
            && self.executable.is_none()
            && self.environment_id.is_empty()
            && self.region_url.is_empty()
            && self.regional_cred_verification_url.is_empty()
            && self.imdsv2_session_token_url.is_empty()
    }
}

#[derive(Deserialize, Default)]
struct FormatSpec {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    subject_token_field_name: String,
}

/// The token source of a `workloadIdentityFederation` block.
pub(super) async fn source(
    endpoints: &Endpoints,
    ctx: &ClientContext,
    wif: &GCPWorkloadIdentityFederation,
) -> Result<Source, ProviderError> {
    let given = [
        wif.cred_config.is_some(),
        wif.service_account_ref.is_some(),
        wif.aws_security_credentials.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(invalid(format!(
            "{PREFIX}: exactly one of credConfig, awsSecurityCredentials or serviceAccountRef must be provided"
        )));
    }
    let audience = wif.audience.clone().filter(|a| !a.is_empty());
    let email = wif
        .gcp_service_account_email
        .clone()
        .filter(|e| !e.is_empty());
    let impersonate = |email: String, lifetime: Option<u64>| Impersonate {
        base: endpoints.iamcredentials(),
        email,
        lifetime,
    };
    if let Some(cc) = &wif.cred_config {
        return cred_config(endpoints, ctx, wif, cc).await;
    }
    let audience = audience.ok_or_else(|| {
        invalid(format!(
            "{PREFIX}: audience must be provided, when serviceAccountRef or awsSecurityCredentials is provided"
        ))
    })?;
    if let Some(sa) = &wif.service_account_ref {
        let token_audiences = if sa.audiences.as_ref().is_some_and(|a| !a.is_empty()) {
            Vec::new()
        } else {
            vec![audience.clone()]
        };
        let email = match email {
            Some(e) => Some(e),
            None => super::gke_service_account(ctx, sa).await?,
        };
        return Ok(Source::Sts {
            subject: Subject::ServiceAccount {
                ctx: Box::new(ctx.clone()),
                service_account: sa.clone(),
                audiences: token_audiences,
            },
            subject_token_type: JWT_TOKEN_TYPE.into(),
            sts_audience: audience,
            sts_url: endpoints.sts_token_url(),
            impersonate: email.map(|e| impersonate(e, None)),
        });
    }
    let Some(aws) = &wif.aws_security_credentials else {
        return Err(invalid(format!("{PREFIX}: nothing to authenticate with")));
    };
    // Checked now so a missing Secret shows on the store (as in ESO); read again per token.
    let secret = &aws.aws_credentials_secret_ref;
    secret_keys(ctx, secret.namespace.as_deref(), &secret.name).await?;
    Ok(Source::Sts {
        subject: Subject::Aws(Box::new(AwsSubject {
            source: AwsSource::Secret {
                ctx: Box::new(ctx.clone()),
                name: aws.aws_credentials_secret_ref.name.clone(),
                namespace: aws.aws_credentials_secret_ref.namespace.clone(),
                region: aws.region.clone(),
            },
            verification_url: DEFAULT_VERIFICATION_URL.into(),
        })),
        subject_token_type: AWS_TOKEN_TYPE.into(),
        sts_audience: audience,
        sts_url: endpoints.sts_token_url(),
        impersonate: email.map(|e| impersonate(e, None)),
    })
}

async fn cred_config(
    endpoints: &Endpoints,
    ctx: &ClientContext,
    wif: &GCPWorkloadIdentityFederation,
    cc: &ConfigMapKeySelector,
) -> Result<Source, ProviderError> {
    let text = refs::config_map_key(ctx, cc.namespace.as_deref(), &cc.name, &cc.key).await?;
    if text.trim().is_empty() {
        return Err(invalid(format!(
            "key {:?} in configmap {:?} has empty value",
            cc.key, cc.name
        )));
    }
    // serde's message may quote the document; only the position is reported.
    let file: CredFile = serde_json::from_str(&text).map_err(|e| {
        invalid(format!(
            "failed to unmarshal external account config in {:?}: invalid JSON at line {} column {}",
            cc.name,
            e.line(),
            e.column()
        ))
    })?;
    if file.kind != "external_account" {
        return Err(invalid(format!(
            "invalid credentials: 'type' field is {:?} (expected \"external_account\")",
            file.kind
        )));
    }
    let mut errs: Vec<String> = Vec::new();
    let audience = wif
        .audience
        .clone()
        .filter(|a| !a.is_empty())
        .unwrap_or(file.audience.clone());
    if audience.is_empty() {
        errs.push("audience is empty".into());
    }
    let mut impersonation_email = None;
    if !file.service_account_impersonation_url.is_empty() {
        match impersonation_target(&file.service_account_impersonation_url) {
            Some(e) => impersonation_email = Some(e),
            None => errs.push(format!(
                "service_account_impersonation_url {:?} does not have expected value",
                file.service_account_impersonation_url
            )),
        }
    }
    let token_url = if file.token_url.is_empty() {
        GOOGLE_STS_TOKEN_URL
    } else {
        file.token_url.as_str()
    };
    if token_url != GOOGLE_STS_TOKEN_URL {
        errs.push(format!(
            "token_url {token_url:?} must match {GOOGLE_STS_TOKEN_URL}"
        ));
    }
    let lifetime = file
        .service_account_impersonation
        .token_lifetime_seconds
        .filter(|l| *l != 0);
    if lifetime.is_some_and(|l| !(600..=43200).contains(&l)) {
        errs.push(
            "service_account_impersonation.token_lifetime_seconds must be between 600 and 43200"
                .into(),
        );
    }
    // ESO drops a source that is the controller's own token, which leaves none. Spellings
    // that lead to the same file (`..`, `.`, doubled slashes) count as the same.
    let source = file
        .credential_source
        .filter(|s| !s.is_empty() && !is_own_token(&s.file));
    let subject = match &source {
        Some(s) => match subject(endpoints, s, wif.external_token_endpoint.as_deref()) {
            Ok(sub) => Some(sub),
            Err(e) => {
                errs.extend(e);
                None
            }
        },
        None => {
            errs.push(format!(
                "credential_source is missing or is the controller's own service-account token \
                 ({OWN_TOKEN_PATH}), which stores may not use: set serviceAccountRef instead"
            ));
            None
        }
    };
    let Some(subject) = subject.filter(|_| errs.is_empty()) else {
        return Err(invalid(format!(
            "invalid external_account config in configmap {:?}: {}",
            cc.name,
            errs.join("; ")
        )));
    };
    let email = wif
        .gcp_service_account_email
        .clone()
        .filter(|e| !e.is_empty())
        .or(impersonation_email);
    let subject_token_type = if file.subject_token_type.is_empty() {
        JWT_TOKEN_TYPE.to_string()
    } else {
        file.subject_token_type
    };
    Ok(Source::Sts {
        subject,
        subject_token_type,
        sts_audience: audience,
        sts_url: endpoints.sts_token_url(),
        impersonate: email.map(|email| Impersonate {
            base: endpoints.iamcredentials(),
            email,
            lifetime,
        }),
    })
}

/// Whether `path`, lexically normalized, is the controller's own service-account token
/// (symbolic links are resolved when the file is read, see `Subject::File`).
pub(super) fn is_own_token(path: &str) -> bool {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    path.starts_with('/') && format!("/{}", parts.join("/")) == OWN_TOKEN_PATH
}

/// The service account of an impersonation URL of the one accepted shape.
fn impersonation_target(url: &str) -> Option<String> {
    url.strip_prefix(IMPERSONATION_PREFIX)
        .and_then(|r| r.strip_suffix(IMPERSONATION_SUFFIX))
        .filter(|e| !e.is_empty() && !e.chars().any(char::is_whitespace))
        .map(str::to_string)
}

/// `url` when it is the metadata service's `path` at one of its fixed addresses.
fn imds_url(url: &str, path: &str) -> Option<Url> {
    IMDS_ORIGINS
        .iter()
        .any(|o| url.strip_prefix(o) == Some(path))
        .then(|| Url::parse(url).ok())
        .flatten()
}

fn format(spec: Option<&FormatSpec>) -> Result<Format, String> {
    match spec {
        None => Ok(Format::Text),
        Some(f) if f.kind.is_empty() || f.kind.eq_ignore_ascii_case("text") => Ok(Format::Text),
        Some(f) if f.kind.eq_ignore_ascii_case("json") => {
            if f.subject_token_field_name.is_empty() {
                Err("credential_source.format.subject_token_field_name is required for json".into())
            } else {
                Ok(Format::Json(f.subject_token_field_name.clone()))
            }
        }
        Some(f) => Err(format!(
            "credential_source.format.type {:?} is not text or json",
            f.kind
        )),
    }
}

/// The subject of a checked `credential_source`, or every reason it is refused.
fn subject(
    endpoints: &Endpoints,
    s: &CredentialSource,
    external_token_endpoint: Option<&str>,
) -> Result<Subject, Vec<String>> {
    let mut errs = Vec::new();
    if s.executable.is_some() {
        errs.push("credential_source.executable.command is not allowed".to_string());
    }
    if s.file.is_empty() && s.url.is_empty() && s.environment_id.is_empty() {
        errs.push("one of credential_source.file, credential_source.url, credential_source.aws.url or credential_source_environment_id should be provided".into());
    }
    let endpoint = external_token_endpoint.unwrap_or_default();
    if s.environment_id.is_empty() && s.url != endpoint {
        errs.push(format!(
            "credential_source.url {:?} does not match with the configured {endpoint:?} externalTokenEndpoint",
            s.url
        ));
    }
    let fmt = format(s.format.as_ref()).map_err(|e| errs.push(e)).ok();
    if !s.environment_id.is_empty() {
        let id = s.environment_id.to_ascii_lowercase();
        if !id.starts_with("aws") {
            errs.push(format!(
                "credential_source.environment_id {:?} must start with aws",
                s.environment_id
            ));
        } else if id != "aws1" {
            errs.push(format!(
                "credential_source.environment_id {:?}: only AWS version 1 is supported",
                s.environment_id
            ));
        }
        let credentials_url = imds_url(&s.url, "/latest/meta-data/iam/security-credentials");
        if credentials_url.is_none() {
            errs.push(format!(
                "credential_source.aws.url {:?} does not have expected value",
                s.url
            ));
        }
        let region_url = imds_url(
            &s.region_url,
            "/latest/meta-data/placement/availability-zone",
        );
        if region_url.is_none() {
            errs.push(format!(
                "credential_source.aws.region_url {:?} does not have expected value",
                s.region_url
            ));
        }
        let session_token_url = if s.imdsv2_session_token_url.is_empty() {
            None
        } else {
            let u = imds_url(&s.imdsv2_session_token_url, "/latest/api/token");
            if u.is_none() {
                errs.push(format!(
                    "credential_source.aws.imdsv2_session_token_url {:?} does not have expected value",
                    s.imdsv2_session_token_url
                ));
            }
            u
        };
        if !errs.is_empty() {
            return Err(errs);
        }
        let verification_url = if s.regional_cred_verification_url.is_empty() {
            DEFAULT_VERIFICATION_URL.to_string()
        } else {
            s.regional_cred_verification_url.clone()
        };
        return Ok(Subject::Aws(Box::new(AwsSubject {
            source: AwsSource::Metadata {
                region_url,
                credentials_url,
                session_token_url,
                endpoints: Box::new(endpoints.clone()),
            },
            verification_url,
        })));
    }
    match fmt {
        Some(format) if errs.is_empty() => {
            if !s.file.is_empty() {
                Ok(Subject::File {
                    path: s.file.clone(),
                    format,
                })
            } else {
                Ok(Subject::Url {
                    url: s.url.clone(),
                    headers: s.headers.clone(),
                    format,
                })
            }
        }
        _ => Err(errs),
    }
}
