//! HTTPS admission-webhook servers for tests: a private CA, and a server that behaves like the
//! one behind `apiserver-golden/09-admission-webhooks.json` (the path selects the behaviour) and
//! records every AdmissionReview it receives.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

/// A CA plus a serving certificate for `127.0.0.1` and the given DNS names.
pub struct Pki {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Pki {
    pub fn new(dns_names: &[&str]) -> anyhow::Result<Pki> {
        let ca_key = rcgen::KeyPair::generate()?;
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "test-webhook-ca");
        let ca_cert = ca.self_signed(&ca_key)?;
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate()?;
        let names: Vec<String> = dns_names.iter().map(|s| s.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names)?;
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        let cert = params.signed_by(&key, &issuer)?;
        Ok(Pki {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// The CA as a webhook `caBundle` (base64 of the PEM).
    pub fn ca_bundle(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.ca_pem)
    }
}

/// One call a webhook server received.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// Path and query, e.g. `/deny-403?timeout=2s`.
    pub path: String,
    pub review: Value,
    /// The body as sent (its key order is the sender's).
    pub raw: String,
}

/// Every call received, in order.
pub type Seen = Arc<Mutex<Vec<Observed>>>;

/// A running HTTPS server; stops when dropped.
pub struct WebhookServer {
    pub addr: SocketAddr,
    pub seen: Seen,
    handle: axum_server::Handle<SocketAddr>,
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

impl WebhookServer {
    /// Takes the reviews received so far.
    pub fn drain(&self) -> Vec<Observed> {
        self.seen
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }
}

/// Serves `router` over HTTPS with the PKI's certificate on a free 127.0.0.1 port.
pub async fn serve(pki: &Pki, router: axum::Router) -> anyhow::Result<WebhookServer> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
        pki.cert_pem.clone().into_bytes(),
        pki.key_pem.clone().into_bytes(),
    )
    .await?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, tls)?.handle(handle.clone());
    tokio::spawn(async move { server.serve(router.into_make_service()).await });
    Ok(WebhookServer {
        addr,
        seen: Arc::default(),
        handle,
    })
}

/// The recorder's webhook behaviours, selected by path (see the 09 golden file's notes).
pub async fn golden_webhooks(pki: &Pki) -> anyhow::Result<WebhookServer> {
    let seen: Seen = Arc::default();
    let router = axum::Router::new()
        .fallback(golden_handler)
        .with_state(seen.clone());
    let mut server = serve(pki, router).await?;
    server.seen = seen;
    Ok(server)
}

fn review_response(response: Value) -> Response {
    axum::Json(json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}))
        .into_response()
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::STANDARD.encode(v.to_string())
}

async fn golden_handler(
    State(seen): State<Seen>,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    if let Ok(mut s) = seen.lock() {
        s.push(Observed {
            path: path_and_query,
            review: review.clone(),
            raw: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    let uid = review["request"]["uid"].clone();
    match uri.path() {
        "/deny-403" => review_response(json!({"uid": uid, "allowed": false,
            "status": {"code": 403, "message": "widgets labelled golden-deny=403 are not allowed here"}})),
        "/deny-plain" => review_response(json!({"uid": uid, "allowed": false})),
        "/deny-422" => review_response(json!({"uid": uid, "allowed": false, "status": {
            "code": 422, "reason": "Invalid", "message": "spec.size is not acceptable to the policy",
            "details": {"causes": [{"type": "FieldValueInvalid", "message": "too big", "field": "spec.size"}]}}})),
        "/deny-nocode" => review_response(json!({"uid": uid, "allowed": false,
            "status": {"message": "denied with a message but no code"}})),
        "/warn" => review_response(json!({"uid": uid, "allowed": true, "warnings": [
            "first warning from webhook",
            "second warning with \"quotes\" and unicode \u{e9}",
            format!("long-warning {}", "x".repeat(300)),
        ]})),
        "/malformed" | "/malformed-ignore" => (
            [("content-type", "application/json")],
            "\"this is not an AdmissionReview\"",
        )
            .into_response(),
        "/timeout" | "/timeout-ignore" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            review_response(json!({"uid": uid, "allowed": true}))
        }
        "/wrong-uid" => {
            review_response(json!({"uid": "00000000-0000-0000-0000-000000000000", "allowed": true}))
        }
        "/no-response" => {
            axum::Json(json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}))
                .into_response()
        }
        "/http500" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "text/plain")],
            "internal failure in webhook\n",
        )
            .into_response(),
        "/mutate" => review_response(
            json!({"uid": uid, "allowed": true, "patchType": "JSONPatch", "patch": b64(&json!([
                {"op": "add", "path": "/metadata/annotations", "value": {"golden/mutated": "true"}},
                {"op": "add", "path": "/metadata/labels/mutated-by", "value": "golden-webhook"},
                {"op": "replace", "path": "/spec/size", "value": 7},
            ]))}),
        ),
        "/patch-array" => {
            let bytes: Vec<u8> = json!([
                {"op": "add", "path": "/metadata/labels/mutated-by", "value": "array-patch"}
            ])
            .to_string()
            .into_bytes();
            review_response(
                json!({"uid": uid, "allowed": true, "patchType": "JSONPatch", "patch": bytes}),
            )
        }
        "/patch-bad" => review_response(
            json!({"uid": uid, "allowed": true, "patchType": "JSONPatch",
            "patch": b64(&json!([{"op": "remove", "path": "/spec/doesNotExist"}]))}),
        ),
        "/patch-no-type" => review_response(json!({"uid": uid, "allowed": true,
            "patch": b64(&json!([{"op": "add", "path": "/metadata/labels/x", "value": "y"}]))})),
        _ => review_response(json!({"uid": uid, "allowed": true})),
    }
}
