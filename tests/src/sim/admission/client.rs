//! The HTTPS leg of a webhook call: where it goes, TLS trust from `caBundle`, the timeout,
//! and Go/client-go wording for everything that can go wrong on the way.

use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::{ServiceReference, WebhookClientConfig};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;

/// Where one webhook is posted to.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The URL as the apiserver builds it (without `?timeout=`); it appears in error messages.
    pub url: String,
    /// For `clientConfig.service`: the socket that stands in for the Service's cluster IP. The
    /// TLS server name stays `<name>.<namespace>.svc`.
    pub connect_to: Option<SocketAddr>,
    /// PEM bundle to trust (decoded `caBundle`); empty means no trusted roots at all.
    pub ca_bundle: Vec<u8>,
}

/// Resolves `clientConfig` into an [`Endpoint`]. `resolve_service` maps a service reference
/// to the local address the test harness serves it on.
pub fn endpoint(
    cc: &WebhookClientConfig,
    resolve_service: impl Fn(&ServiceReference) -> Option<SocketAddr>,
) -> Result<Endpoint, String> {
    let ca_bundle = cc
        .ca_bundle
        .as_ref()
        .map(|b| b.0.clone())
        .unwrap_or_default();
    if let Some(url) = &cc.url {
        return Ok(Endpoint {
            url: url.clone(),
            connect_to: None,
            ca_bundle,
        });
    }
    let svc = cc
        .service
        .as_ref()
        .ok_or("webhook has no url and no service")?;
    let host = format!("{}.{}.svc", svc.name, svc.namespace);
    let port = svc.port.unwrap_or(443);
    let path = svc.path.as_deref().unwrap_or("");
    let addr = resolve_service(svc).ok_or_else(|| format!("service \"{}\" not found", svc.name))?;
    Ok(Endpoint {
        url: format!("https://{host}:{port}{path}"),
        connect_to: Some(addr),
        ca_bundle,
    })
}

/// What came back over the wire (or why nothing did).
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Response {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
    /// Go's `*url.Error` text, e.g. `Post "https://...": context deadline exceeded`.
    Failed(String),
}

/// Posts `review` to the webhook, appending `?timeout=<N>s` as the apiserver does, and waits
/// at most `timeout_seconds` for the complete answer.
pub async fn call(ep: &Endpoint, timeout_seconds: i32, review: &Value) -> Outcome {
    let secs = u64::try_from(timeout_seconds.max(1)).unwrap_or(10);
    let sep = if ep.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}timeout={secs}s", ep.url);
    let post_err = |m: &str| Outcome::Failed(format!("Post \"{url}\": {m}"));
    let client = match build_client(ep) {
        Ok(c) => c,
        Err(e) => return post_err(&e),
    };
    let body = match serde_json::to_vec(review) {
        Ok(b) => b,
        Err(e) => return Outcome::Failed(format!("failed to marshal request: {e}")),
    };
    let exchange = async {
        let resp = client
            .post(wire_url(ep, &url))
            .header("content-type", "application/json")
            .header("accept", "application/json, */*")
            .body(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = resp.bytes().await?.to_vec();
        Ok::<_, reqwest::Error>(Outcome::Response {
            status,
            content_type,
            body,
        })
    };
    match tokio::time::timeout(Duration::from_secs(secs), exchange).await {
        Err(_) => post_err("context deadline exceeded"),
        Ok(Ok(o)) => o,
        Ok(Err(e)) => post_err(&describe(&e, ep)),
    }
}

fn build_client(ep: &Endpoint) -> Result<reqwest::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&ep.ca_bundle) {
        let cert = cert.map_err(|e| format!("unable to load root certificates: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("unable to load root certificates: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if let Some(addr) = ep.connect_to
        && let Some(host) = host_of(&ep.url)
    {
        builder = builder.resolve(host, addr);
    }
    builder.build().map_err(|e| e.to_string())
}

/// An IP-literal URL whose socket is redirected (`connect_to`) is dialled at the redirect
/// (DNS overrides only apply to names); errors still quote the configured URL.
fn wire_url(ep: &Endpoint, url: &str) -> String {
    if let (Some(addr), Some(host), Some(authority)) =
        (ep.connect_to, host_of(url), authority_of(url))
        && host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok()
    {
        return url.replacen(&authority, &addr.to_string(), 1);
    }
    url.to_string()
}

fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    Some(authority.rsplit_once(':').map_or(authority, |(h, _)| h))
}

/// Go `net/http` / `crypto/x509` wording for transport failures.
fn describe(e: &reqwest::Error, ep: &Endpoint) -> String {
    let mut src: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(s) = src {
        if let Some(tls) = s.downcast_ref::<rustls::Error>() {
            return format!("tls: failed to verify certificate: {}", x509_text(tls));
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                let target = ep
                    .connect_to
                    .map(|a| a.to_string())
                    .or_else(|| authority_of(&ep.url))
                    .unwrap_or_default();
                return format!("dial tcp {target}: connect: connection refused");
            }
            // io::Error::source() skips the wrapped error itself, so step into it explicitly.
            if let Some(inner) = io.get_ref() {
                src = Some(inner);
                continue;
            }
        }
        src = s.source();
    }
    if e.is_connect() {
        return "dial tcp: connection failed".into();
    }
    "EOF".into()
}

fn authority_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    rest.split(['/', '?']).next().map(str::to_owned)
}

fn x509_text(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            "x509: certificate signed by unknown authority".into()
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => "x509: certificate is not valid for the requested host".into(),
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "x509: certificate has expired or is not yet valid".into()
        }
        other => other.to_string(),
    }
}

/// Go's name for a JSON value's type in `cannot unmarshal X into ...` errors.
pub fn go_json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

const GO_TYPEMETA_STRUCT: &str = "struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }";

/// client-go's `Result.Into`: turns the HTTP response into the decoded AdmissionReview, or the
/// error text that follows `failed to call webhook: `.
pub fn decode_review(outcome: &Outcome) -> Result<Value, String> {
    let (status, content_type, body) = match outcome {
        Outcome::Failed(m) => return Err(m.clone()),
        Outcome::Response {
            status,
            content_type,
            body,
        } => (*status, content_type, body),
    };
    if !(200..=206).contains(&status) {
        return Err(unexpected_status(status, content_type, body));
    }
    if body.is_empty() {
        return Err(format!(
            "0-length response with status code: {status} and content type: {content_type}"
        ));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "couldn't get version/kind; json parse error: {}",
            super::jsonpatch::go_json_error(body, &e)
        )
    })?;
    if !v.is_object() {
        return Err(format!(
            "couldn't get version/kind; json parse error: json: cannot unmarshal {} into Go value of type {GO_TYPEMETA_STRUCT}",
            go_json_type(&v)
        ));
    }
    Ok(v)
}

/// client-go for a non-2xx answer: a `Status` body with `status: Failure` speaks for itself,
/// anything else becomes errors.NewGenericServerResponse's text.
fn unexpected_status(code: u16, content_type: &str, body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body)
        && v.get("kind").and_then(Value::as_str) == Some("Status")
        && v.get("status").and_then(Value::as_str) == Some("Failure")
    {
        return v
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
    }
    let capped = &body[..body.len().min(2048)];
    let server_message = if content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("text/")
    {
        String::from_utf8_lossy(capped).trim().to_owned()
    } else {
        "unknown".to_owned()
    };
    match code {
        409 => "the server reported a conflict".into(),
        404 => "the server could not find the requested resource".into(),
        400 => "the server rejected our request for an unknown reason".into(),
        401 => "the server has asked for the client to provide credentials".into(),
        403 | 415 => server_message,
        406 if server_message.is_empty() || server_message == "unknown" => {
            "the server was unable to respond with a content type that the client supports".into()
        }
        406 => server_message,
        405 => "the server does not allow this method on the requested resource".into(),
        422 => "the server rejected our request due to an error in our request".into(),
        503 => "the server is currently unable to handle the request".into(),
        504 => "the server was unable to return a response in the time allotted, but may still be processing the request".into(),
        429 => "the server has received too many requests and has asked us to try again later".into(),
        c if c >= 500 => format!(
            "an error on the server ({}) has prevented the request from succeeding",
            go_quote(&server_message)
        ),
        c => format!("the server responded with the status code {c} but did not return more information"),
    }
}

/// Go's `%q` for ordinary printable text.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
