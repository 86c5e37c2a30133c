//! x509 client-certificate authentication, on an extra HTTPS listener: the apiserver's
//! `--client-ca-file` authenticator. A certificate signed by the listener's client CA
//! authenticates as user = subject CN, groups = subject O values (plus `system:authenticated`);
//! it wins over a bearer token on the same request, as the x509 authenticator runs first.
//! Differences from kube-apiserver: a certificate from another CA fails the TLS handshake
//! instead of getting a 401, and there is no expiry or revocation handling beyond rustls'.
//!
//! ```ignore
//! let certs = sim.serve_client_certs().await?;
//! let (cert_pem, key_pem) = certs.issue("alice", &["system:masters"])?;
//! // connect to certs.url() trusting certs.server_ca_pem()
//! ```

use std::sync::Arc;

use axum::body::Body;
use http::{HeaderValue, Request};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use super::auth::UserInfo;
use super::{Shared, Sim};

/// A running client-certificate listener and the CA that signs its client certificates.
pub struct ClientCertServer {
    url: String,
    server_ca_pem: String,
    client_ca: rcgen::Issuer<'static, rcgen::KeyPair>,
    client_ca_pem: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ClientCertServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ClientCertServer {
    /// `https://127.0.0.1:<port>` of the listener.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The PEM certificate that signs the listener's serving certificate (trust it as caBundle).
    pub fn server_ca_pem(&self) -> &str {
        &self.server_ca_pem
    }

    /// The PEM certificate of the client CA (as in `--client-ca-file`).
    pub fn client_ca_pem(&self) -> &str {
        &self.client_ca_pem
    }

    /// A client certificate and its PKCS#8 key (both PEM) for `user` in `groups`.
    pub fn issue(&self, user: &str, groups: &[&str]) -> anyhow::Result<(String, String)> {
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, user);
        for g in groups {
            params
                .distinguished_name
                .push(rcgen::DnType::OrganizationName, *g);
        }
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.client_ca)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

type Ca = (
    rcgen::Issuer<'static, rcgen::KeyPair>,
    String,
    CertificateDer<'static>,
);

fn new_ca(name: &str) -> anyhow::Result<Ca> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let cert = params.self_signed(&key)?;
    Ok((
        rcgen::Issuer::new(params, key),
        cert.pem(),
        cert.der().clone(),
    ))
}

/// The identity a verified client certificate carries: CN and every O.
fn identity(der: &[u8]) -> Option<UserInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let user = subject
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    let groups: Vec<String> = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(String::from))
        .collect();
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    let mut info = UserInfo::cert(&user, &groups);
    let id = hex::encode(super::registry::sha256(der));
    info.extra = vec![(
        "authentication.kubernetes.io/credential-id".into(),
        vec![format!("X509SHA256={id}")],
    )];
    Some(info)
}

/// Registers the certificate's identity under an internal bearer token, so the request goes
/// through the same authentication path as every other one.
fn token_for(shared: &Shared, user: UserInfo, der: &[u8]) -> String {
    let token = format!("kubesim-x509:{}", hex::encode(super::registry::sha256(der)));
    if let Ok(mut t) = shared.tokens.lock() {
        t.insert(token.clone(), user);
    }
    token
}

impl Sim {
    /// Starts an HTTPS listener (own serving CA, own client CA) that authenticates client
    /// certificates and otherwise behaves like [`Sim::https_url`].
    pub async fn serve_client_certs(&self) -> anyhow::Result<ClientCertServer> {
        let (server_ca, server_ca_pem, _) = new_ca("kubesim-serving-ca")?;
        let serving_key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()])?;
        params.subject_alt_names.push(rcgen::SanType::IpAddress(
            std::net::Ipv4Addr::LOCALHOST.into(),
        ));
        let serving = params.signed_by(&serving_key, &server_ca)?;
        let (client_ca, client_ca_pem, client_ca_der) = new_ca("kubesim-client-ca")?;

        let mut roots = rustls::RootCertStore::empty();
        roots.add(client_ca_der)?;
        let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
            .allow_unauthenticated()
            .build()?;
        let key = PrivateKeyDer::try_from(serving_key.serialize_der())
            .map_err(|e| anyhow::anyhow!("serving key: {e}"))?;
        let mut cfg = rustls::ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![serving.der().clone()], key)?;
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));

        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("https://{}", listener.local_addr()?);
        let shared = self.shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, shared) = (acceptor.clone(), shared.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let token = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(|der| Some(token_for(&shared, identity(der)?, der)));
                    let service = hyper::service::service_fn(move |req: Request<_>| {
                        let shared = shared.clone();
                        let token = token.clone();
                        async move {
                            let (mut parts, body) = req.into_parts();
                            if let Some(t) = token
                                && let Ok(v) = HeaderValue::from_str(&format!("Bearer {t}"))
                            {
                                parts.headers.insert(http::header::AUTHORIZATION, v);
                            }
                            let bytes = axum::body::to_bytes(Body::new(body), 64 << 20)
                                .await
                                .unwrap_or_default();
                            Ok::<_, std::convert::Infallible>(
                                super::api::handle(shared, parts, bytes).await,
                            )
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Ok(ClientCertServer {
            url,
            server_ca_pem,
            client_ca,
            client_ca_pem,
            task,
        })
    }
}
