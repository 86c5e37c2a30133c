//! `webhook validate --server`: the same documents sent as AdmissionReviews to a running
//! webhook, so CI can check manifests against the live rules (namespace policy and
//! ClusterSecretStores as the cluster has them).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::http::Uri;
use serde_json::{Value, json};
use shared::validation::batch::{Document, DocumentReport};
use shared::validation::{FieldError, Outcome, handles};

/// Where and how to reach the webhook.
pub struct Remote {
    host: String,
    port: u16,
    path: String,
    tls: Arc<rustls::ClientConfig>,
}

impl Remote {
    /// `server` is `https://host:port[/path]` (path defaults to `/validate`); `ca_file` holds the
    /// PEM CA that signed the webhook's certificate.
    pub fn new(server: &str, ca_file: &Path) -> anyhow::Result<Self> {
        let uri: Uri = server
            .parse()
            .with_context(|| format!("--server {server:?} is not a URL"))?;
        if uri.scheme_str() != Some("https") {
            bail!("--server must be an https:// URL (the webhook only serves TLS)");
        }
        let host = uri.host().context("--server has no host")?.to_owned();
        let port = uri.port_u16().unwrap_or(443);
        let path = match uri.path() {
            "" | "/" => crate::server::VALIDATE_PATH.to_owned(),
            p => p.to_owned(),
        };
        let pem = std::fs::read(ca_file)
            .with_context(|| format!("reading --ca-file {}", ca_file.display()))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in crate::certs::inspect::pem_certs(&pem).map_err(anyhow::Error::msg)? {
            roots.add(cert).context("adding the CA")?;
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self {
            host,
            port,
            path,
            tls: Arc::new(tls),
        })
    }

    /// One HTTP/1.1 POST over TLS; returns the response body.
    fn post(&self, body: &[u8]) -> anyhow::Result<Vec<u8>> {
        let name = rustls::pki_types::ServerName::try_from(self.host.clone())
            .context("--server host is not a valid TLS server name")?;
        let conn = rustls::ClientConnection::new(self.tls.clone(), name)?;
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .with_context(|| format!("connecting to {}:{}", self.host, self.port))?;
        tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        write!(
            stream,
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.path,
            self.host,
            body.len()
        )?;
        stream.write_all(body)?;
        stream.flush()?;
        let mut response = Vec::new();
        // A peer closing without close_notify after a complete response is not an error here.
        if let Err(e) = stream.read_to_end(&mut response)
            && response.is_empty()
        {
            return Err(e).context("reading the webhook's answer");
        }
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .context("malformed HTTP response")?;
        let head = String::from_utf8_lossy(&response[..split]).into_owned();
        let status = head.lines().next().unwrap_or_default().to_owned();
        if !status.contains(" 200") {
            bail!("the webhook answered {status}");
        }
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            bail!("the webhook answered with a chunked body, which this client does not read");
        }
        Ok(response[split + 4..].to_vec())
    }

    /// Sends each document of our API groups as a CREATE review and reports the verdicts.
    pub fn validate_documents(&self, docs: &[Document]) -> anyhow::Result<Vec<DocumentReport>> {
        let mut reports = Vec::new();
        for (i, d) in docs.iter().enumerate() {
            let o = &d.object;
            let api_version = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
            if !handles(api_version, kind) {
                continue;
            }
            let review = review_for(&format!("webhook-validate-{i}"), o);
            let answer: Value = serde_json::from_slice(&self.post(&serde_json::to_vec(&review)?)?)
                .context("the webhook's answer is not JSON")?;
            let response = &answer["response"];
            let mut outcome = Outcome {
                errors: Vec::new(),
                warnings: response["warnings"]
                    .as_array()
                    .map(|w| {
                        w.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            if response["allowed"] != Value::Bool(true) {
                outcome.errors = denial_errors(&response["status"]);
            }
            let meta = |f: &str| o.pointer(&format!("/metadata/{f}")).and_then(Value::as_str);
            let name = meta("name").unwrap_or("<unnamed>");
            reports.push(DocumentReport {
                source: d.source.clone(),
                index: d.index,
                kind: kind.to_owned(),
                name: match meta("namespace") {
                    Some(ns) => format!("{ns}/{name}"),
                    None => name.to_owned(),
                },
                outcome,
            });
        }
        Ok(reports)
    }
}

/// The field errors of a denial: `status.details.causes` when the webhook sent them (ours does,
/// one per error), else the message as one error labelled by its leading field path.
fn denial_errors(status: &Value) -> Vec<FieldError> {
    let causes: Vec<FieldError> = status["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some(FieldError {
                path: c["field"].as_str()?.to_owned(),
                message: c["message"].as_str()?.to_owned(),
            })
        })
        .collect();
    if !causes.is_empty() {
        return causes;
    }
    let message = status["message"]
        .as_str()
        .unwrap_or("denied without a message");
    let (path, message) = message.split_once(": ").unwrap_or(("(object)", message));
    vec![FieldError {
        path: path.to_owned(),
        message: message.to_owned(),
    }]
}

fn review_for(uid: &str, object: &Value) -> Value {
    let api_version = object["apiVersion"].as_str().unwrap_or("");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = object["kind"].as_str().unwrap_or("");
    let gvk = json!({"group": group, "version": version, "kind": kind});
    let mut request = json!({
        "uid": uid, "kind": gvk, "requestKind": gvk,
        "resource": {"group": group, "version": version, "resource": format!("{}s", kind.to_lowercase())},
        "name": object["metadata"]["name"], "operation": "CREATE",
        "userInfo": {"username": "webhook-validate"},
        "object": object, "oldObject": null, "dryRun": true,
    });
    if let Some(ns) = object["metadata"].get("namespace") {
        request["namespace"] = ns.clone();
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})
}
