//! Where the Google services are reached.
//!
//! ESO has no endpoint setting for Secret Manager, so overrides (private endpoints, proxies,
//! test servers) come from environment variables of the controller, read once when the
//! provider is built:
//!
//! | variable | default |
//! |---|---|
//! | `GCP_SECRETMANAGER_ENDPOINT` | `https://secretmanager.googleapis.com`, or `https://secretmanager.<location>.rep.googleapis.com` for stores with `location` |
//! | `GCP_STS_ENDPOINT` | `https://sts.googleapis.com` |
//! | `GCP_IAMCREDENTIALS_ENDPOINT` | `https://iamcredentials.googleapis.com` |
//! | `GCE_METADATA_HOST` (host:port, as Google's client libraries read it) | `metadata.google.internal` |
//! | `AWS_EC2_METADATA_SERVICE_ENDPOINT` (as AWS SDKs read it) | the instance metadata addresses a `credConfig` names |
//!
//! A `credConfig` with an AWS `credential_source` must name the EC2 instance metadata service
//! by one of its fixed addresses (as ESO checks); the override only replaces where that service
//! is reached. Such a source also takes the region and keys from the controller's `AWS_REGION`,
//! `AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`,
//! as Google's libraries do.
//!
//! A service-account key's `token_uri` names its own token endpoint. Plain `http://` is
//! accepted only for loopback hosts (and the metadata server, which only speaks HTTP).

use std::sync::OnceLock;

use crate::provider::ProviderError;

/// Service endpoints; `None` means Google's public endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// Secret Manager base URL (used for global and regional stores alike when set).
    pub secretmanager: Option<String>,
    /// Security Token Service base URL (`/v1/token` is appended).
    pub sts: Option<String>,
    /// IAM Credentials base URL.
    pub iamcredentials: Option<String>,
    /// Metadata server base URL (`http://host:port`).
    pub metadata: Option<String>,
    /// AWS instance metadata base URL (`http://host:port`), replacing the one a `credConfig`
    /// names.
    pub aws_metadata: Option<String>,
    /// Whether AWS `credConfig` sources read the region and keys from the process environment
    /// (only the process-wide configuration does; tests share one environment).
    pub aws_environment: bool,
}

static PROCESS: OnceLock<Endpoints> = OnceLock::new();

/// Sets the endpoints of the process-wide provider before its first use, for embedders and
/// in-process tests (which cannot set environment variables: edition 2024 makes that
/// `unsafe`). Returns false when they were already fixed.
pub fn set_process_endpoints(endpoints: Endpoints) -> bool {
    PROCESS.set(endpoints).is_ok()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().trim_end_matches('/').to_string())
        .filter(|v| !v.is_empty())
}

impl Endpoints {
    /// What [`set_process_endpoints`] fixed, else the environment variables.
    pub fn for_process() -> Endpoints {
        PROCESS.get().cloned().unwrap_or_else(Endpoints::from_env)
    }

    /// The environment variables listed in the module docs.
    pub fn from_env() -> Endpoints {
        Endpoints {
            secretmanager: env("GCP_SECRETMANAGER_ENDPOINT"),
            sts: env("GCP_STS_ENDPOINT"),
            iamcredentials: env("GCP_IAMCREDENTIALS_ENDPOINT"),
            metadata: env("GCE_METADATA_HOST").map(|h| {
                if h.contains("://") {
                    h
                } else {
                    format!("http://{h}")
                }
            }),
            aws_metadata: env("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
            aws_environment: true,
        }
    }

    /// Every service at one base URL (a test server).
    pub fn all_at(base: &str) -> Endpoints {
        let base = base.trim_end_matches('/').to_string();
        Endpoints {
            secretmanager: Some(base.clone()),
            sts: Some(base.clone()),
            iamcredentials: Some(base.clone()),
            metadata: Some(base.clone()),
            aws_metadata: Some(base),
            aws_environment: false,
        }
    }

    pub(super) fn secretmanager(&self, location: Option<&str>) -> String {
        match (&self.secretmanager, location) {
            (Some(u), _) => u.clone(),
            (None, Some(loc)) => format!("https://secretmanager.{loc}.rep.googleapis.com"),
            (None, None) => "https://secretmanager.googleapis.com".into(),
        }
    }

    pub(super) fn sts_token_url(&self) -> String {
        format!(
            "{}/v1/token",
            self.sts.as_deref().unwrap_or("https://sts.googleapis.com")
        )
    }

    pub(super) fn iamcredentials(&self) -> String {
        self.iamcredentials
            .clone()
            .unwrap_or_else(|| "https://iamcredentials.googleapis.com".into())
    }

    pub(super) fn metadata(&self) -> String {
        self.metadata
            .clone()
            .unwrap_or_else(|| "http://metadata.google.internal".into())
    }

    /// Where an AWS instance metadata URL (already checked to be one) is reached: its path
    /// (and query) under the override, else the URL itself.
    pub(super) fn aws_metadata_url(&self, url: &reqwest::Url) -> String {
        match &self.aws_metadata {
            Some(base) => {
                let mut tail = url.path().to_string();
                if let Some(q) = url.query() {
                    tail.push('?');
                    tail.push_str(q);
                }
                format!("{base}{tail}")
            }
            None => url.to_string(),
        }
    }

    /// Checks every configured URL (https, or http to a loopback host).
    pub(super) fn check(&self) -> Result<(), ProviderError> {
        for (u, what) in [
            (&self.secretmanager, "GCP_SECRETMANAGER_ENDPOINT"),
            (&self.sts, "GCP_STS_ENDPOINT"),
            (&self.iamcredentials, "GCP_IAMCREDENTIALS_ENDPOINT"),
        ] {
            if let Some(u) = u {
                check_url(u, what)?;
            }
        }
        Ok(())
    }
}

/// https anywhere; http only to 127.0.0.0/8, ::1 or localhost.
pub(super) fn check_url(url: &str, what: &str) -> Result<(), ProviderError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ProviderError::InvalidConfig(format!("{what} is not a URL: {e}")))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(ProviderError::InvalidConfig(format!(
            "{what} must be an https URL (plain http only to a loopback address): {url}"
        ))),
    }
}
