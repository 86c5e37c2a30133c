//! Building the kube client a Kubernetes store describes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kube::config::{KubeConfigOptions, Kubeconfig};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use shared::api::v1::providers::KubernetesProvider;

use crate::provider::refs::{self, is_referent as selector_is_referent};
use crate::provider::{ClientContext, ProviderError};

/// Whether any credential reference must be resolved in the object's namespace.
pub(super) fn is_referent(ctx: &ClientContext, cfg: &KubernetesProvider) -> bool {
    if let Some(r) = &cfg.auth_ref {
        return selector_is_referent(ctx, r.namespace.as_deref());
    }
    let Some(auth) = &cfg.auth else {
        return false;
    };
    if let Some(t) = &auth.token {
        return selector_is_referent(ctx, t.bearer_token.namespace.as_deref());
    }
    if let Some(sa) = &auth.service_account {
        return selector_is_referent(ctx, sa.namespace.as_deref());
    }
    if let Some(c) = &auth.cert {
        return selector_is_referent(ctx, c.client_cert.namespace.as_deref())
            || selector_is_referent(ctx, c.client_key.namespace.as_deref());
    }
    false
}

/// `server.url` unset or naming the in-cluster service means "this cluster".
fn is_in_cluster_url(url: Option<&str>) -> bool {
    match url.map(str::trim) {
        None | Some("") => true,
        Some(u) => {
            let host = u
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/');
            matches!(
                host,
                "kubernetes.default"
                    | "kubernetes.default.svc"
                    | "kubernetes.default.svc.cluster.local"
            )
        }
    }
}

fn invalid(msg: impl Into<String>) -> ProviderError {
    ProviderError::InvalidConfig(msg.into())
}

/// PEM certificates in DER form; the CRD's `caBundle` is base64 of the PEM text.
fn pem_certs(pem: &[u8]) -> Result<Vec<Vec<u8>>, ProviderError> {
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.as_ref().to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(format!("invalid CA bundle: {e}")))?;
    if certs.is_empty() {
        return Err(invalid("invalid CA bundle: no PEM certificate found"));
    }
    Ok(certs)
}

pub(super) async fn client(
    ctx: &ClientContext,
    cfg: &KubernetesProvider,
) -> Result<kube::Client, ProviderError> {
    let mut config = if let Some(auth_ref) = &cfg.auth_ref {
        let text = refs::secret_key(ctx, auth_ref, None).await?;
        let text = text
            .expose_str()
            .ok_or_else(|| invalid("authRef kubeconfig is not UTF-8"))?;
        let kubeconfig = Kubeconfig::from_yaml(text)
            .map_err(|e| invalid(format!("authRef does not hold a valid kubeconfig: {e}")))?;
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| invalid(format!("authRef kubeconfig cannot be used: {e}")))?
    } else {
        let server = cfg.server.as_ref();
        let url = server.and_then(|s| s.url.as_deref());
        let mut config = if is_in_cluster_url(url) {
            if cfg.auth.is_none() {
                // The controller's own identity in its own cluster.
                return Ok(ctx.kube.clone());
            }
            kube::Config::incluster()
                .map_err(|e| invalid(format!("unable to load in-cluster configuration: {e}")))?
        } else {
            let uri = url
                .unwrap_or_default()
                .parse()
                .map_err(|e| invalid(format!("invalid server.url: {e}")))?;
            kube::Config::new(uri)
        };
        if let Some(server) = server {
            if let Some(bundle) = server.ca_bundle.as_deref().filter(|b| !b.is_empty()) {
                let pem = STANDARD
                    .decode(bundle.trim())
                    .map_err(|e| invalid(format!("server.caBundle is not base64: {e}")))?;
                config.root_cert = Some(pem_certs(&pem)?);
            } else if let Some(ca) = &server.ca_provider {
                config.root_cert = Some(pem_certs(&refs::ca_provider(ctx, ca).await?)?);
            }
        }
        // The in-cluster service-account credentials are replaced by the store's.
        config.auth_info = Default::default();
        if let Some(auth) = &cfg.auth {
            if let Some(token) = &auth.token {
                let value = refs::secret_key(ctx, &token.bearer_token, None).await?;
                let token = value
                    .expose_str()
                    .ok_or_else(|| invalid("bearer token is not UTF-8"))?;
                config.auth_info.token = Some(token.trim().to_string().into());
            } else if let Some(sa) = &auth.service_account {
                let value = refs::service_account_token(ctx, sa, &[], Some(600)).await?;
                let token = value.expose_str().unwrap_or_default().to_string();
                config.auth_info.token = Some(token.into());
            } else if let Some(cert) = &auth.cert {
                let crt = refs::secret_key(ctx, &cert.client_cert, None).await?;
                let key = refs::secret_key(ctx, &cert.client_key, None).await?;
                config.auth_info.client_certificate_data = Some(STANDARD.encode(crt.as_bytes()));
                config.auth_info.client_key_data = Some(STANDARD.encode(key.as_bytes()).into());
            }
        }
        config
    };
    config.default_namespace = cfg.effective_remote_namespace().to_string();
    kube::Client::try_from(config).map_err(|e| {
        invalid(format!(
            "unable to create a client for the Kubernetes store: {e}"
        ))
    })
}
