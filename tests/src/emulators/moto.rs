//! moto (`moto_server`): AWS Secrets Manager, SSM Parameter Store and STS on loopback.

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use super::process::{EmulatorProcess, find_tool, start_on_free_port};

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    process: EmulatorProcess,
    endpoint: String,
    client: reqwest::Client,
}

impl Moto {
    /// Region every request is made in.
    pub const REGION: &'static str = "us-east-1";
    /// Access key id moto accepts (it accepts any).
    pub const ACCESS_KEY_ID: &'static str = "testing";
    /// Secret access key moto accepts (it accepts any).
    pub const SECRET_ACCESS_KEY: &'static str = "testing";
    /// Account id moto puts in ARNs.
    pub const ACCOUNT_ID: &'static str = "123456789012";

    /// Starts `moto_server -H 127.0.0.1 -p PORT` and waits until it answers.
    pub async fn start() -> Result<Self> {
        let program = find_tool("moto_server")?;
        let client = reqwest::Client::new();
        let (process, port) = start_on_free_port(
            &client,
            |port| {
                EmulatorProcess::spawn(
                    "moto",
                    program.clone(),
                    &[
                        "-H".into(),
                        "127.0.0.1".into(),
                        "-p".into(),
                        port.to_string(),
                    ],
                    &[],
                )
            },
            "/moto-api/",
        )
        .await?;
        Ok(Self {
            process,
            endpoint: format!("http://127.0.0.1:{port}"),
            client,
        })
    }

    /// Base URL to configure as the AWS endpoint (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The last lines of moto's log.
    pub fn log_tail(&self) -> String {
        self.process.log_tail()
    }

    /// Calls an AWS JSON-protocol action in [`Moto::REGION`], e.g. `call("secretsmanager",
    /// "secretsmanager", "CreateSecret", body)`; see [`Moto::call_in`].
    pub async fn call(
        &self,
        scope_service: &str,
        target_prefix: &str,
        action: &str,
        body: &Value,
    ) -> Result<Value> {
        self.call_in(Self::REGION, scope_service, target_prefix, action, body)
            .await
    }

    async fn secretsmanager(&self, action: &str, body: Value) -> Result<Value> {
        self.call("secretsmanager", "secretsmanager", action, &body)
            .await
    }

    async fn ssm(&self, action: &str, body: Value) -> Result<Value> {
        self.call("ssm", "AmazonSSM", action, &body).await
    }

    /// Secrets Manager `CreateSecret` with a string value; returns moto's answer (ARN, VersionId).
    pub async fn create_secret(&self, name: &str, value: &str) -> Result<Value> {
        self.secretsmanager("CreateSecret", json!({"Name": name, "SecretString": value}))
            .await
    }

    /// Secrets Manager `CreateSecret` with a binary value and tags.
    pub async fn create_secret_binary(
        &self,
        name: &str,
        value: &[u8],
        tags: &[(&str, &str)],
    ) -> Result<Value> {
        use base64::Engine as _;
        let tags: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        let encoded = base64::engine::general_purpose::STANDARD.encode(value);
        self.secretsmanager(
            "CreateSecret",
            json!({"Name": name, "SecretBinary": encoded, "Tags": tags}),
        )
        .await
    }

    /// Secrets Manager `PutSecretValue` (a new version).
    pub async fn put_secret_value(&self, name: &str, value: &str) -> Result<Value> {
        self.secretsmanager(
            "PutSecretValue",
            json!({"SecretId": name, "SecretString": value}),
        )
        .await
    }

    /// Secrets Manager `GetSecretValue`.
    pub async fn get_secret_value(&self, name: &str) -> Result<Value> {
        self.secretsmanager("GetSecretValue", json!({"SecretId": name}))
            .await
    }

    /// Secrets Manager `DeleteSecret` without recovery window.
    pub async fn delete_secret(&self, name: &str) -> Result<Value> {
        self.secretsmanager(
            "DeleteSecret",
            json!({"SecretId": name, "ForceDeleteWithoutRecovery": true}),
        )
        .await
    }

    /// SSM `PutParameter` (`kind`: `String`, `StringList` or `SecureString`), overwriting.
    pub async fn put_parameter(&self, name: &str, value: &str, kind: &str) -> Result<Value> {
        self.ssm(
            "PutParameter",
            json!({"Name": name, "Value": value, "Type": kind, "Overwrite": true}),
        )
        .await
    }

    /// SSM `GetParameter` with decryption.
    pub async fn get_parameter(&self, name: &str) -> Result<Value> {
        self.ssm(
            "GetParameter",
            json!({"Name": name, "WithDecryption": true}),
        )
        .await
    }

    /// Calls an AWS JSON-protocol action in `region` (moto keeps one backend per region).
    /// moto does not verify signatures but routes requests by the service named in the
    /// `Authorization` credential scope, so a well-formed dummy header is sent. Non-2xx answers
    /// become errors carrying moto's response body.
    pub async fn call_in(
        &self,
        region: &str,
        scope_service: &str,
        target_prefix: &str,
        action: &str,
        body: &Value,
    ) -> Result<Value> {
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/20260101/{region}/{scope_service}/aws4_request, \
             SignedHeaders=host, Signature=0",
            Self::ACCESS_KEY_ID,
        );
        let response = self
            .client
            .post(&self.endpoint)
            .header("Content-Type", "application/x-amz-json-1.1")
            .header("X-Amz-Target", format!("{target_prefix}.{action}"))
            .header("Authorization", authorization)
            .body(serde_json::to_vec(body)?)
            .send()
            .await
            .with_context(|| format!("moto {action}"))?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("moto {action} failed with {status}: {text}");
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("moto {action} answer: {text}"))
    }

    /// A Secrets Manager action in `region`.
    pub async fn secretsmanager_in(
        &self,
        region: &str,
        action: &str,
        body: Value,
    ) -> Result<Value> {
        self.call_in(region, "secretsmanager", "secretsmanager", action, &body)
            .await
    }

    /// An SSM action in `region`.
    pub async fn ssm_in(&self, region: &str, action: &str, body: Value) -> Result<Value> {
        self.call_in(region, "ssm", "AmazonSSM", action, &body)
            .await
    }

    /// Starts moto's request recorder (`/moto-api/recorder/start-recording`): every AWS request
    /// from now on is logged and can be read back with [`Moto::recorded_calls`].
    pub async fn start_recording(&self) -> Result<()> {
        self.moto_api_post("recorder/reset-recording", "").await?;
        self.moto_api_post("recorder/start-recording", "").await
    }

    /// Empties the recording (recording continues if it was on).
    pub async fn reset_recording(&self) -> Result<()> {
        self.moto_api_post("recorder/reset-recording", "").await
    }

    /// Every request recorded since [`Moto::start_recording`] (or the last reset), in order.
    pub async fn recorded_calls(&self) -> Result<Vec<RecordedCall>> {
        let text = self
            .client
            .get(format!(
                "{}/moto-api/recorder/download-recording",
                self.endpoint
            ))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(RecordedCall::parse)
            .collect()
    }

    /// Turns on moto's IAM authentication for every request from now on
    /// (`/moto-api/reset-auth` with 0): unknown access keys are rejected like AWS does.
    pub async fn enforce_authentication(&self) -> Result<()> {
        self.moto_api_post("reset-auth", "0").await
    }

    async fn moto_api_post(&self, path: &str, body: &str) -> Result<()> {
        let response = self
            .client
            .post(format!("{}/moto-api/{path}", self.endpoint))
            .body(body.to_string())
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("moto {path} failed: {}", response.status());
        }
        Ok(())
    }

    /// Clears all state (`POST /moto-api/reset`).
    pub async fn reset(&self) -> Result<()> {
        let response = self
            .client
            .post(format!("{}/moto-api/reset", self.endpoint))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("moto reset failed: {}", response.status());
        }
        Ok(())
    }

    /// Whether the server process is still alive.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }
}

/// One request moto's recorder logged.
#[derive(Clone, Debug)]
pub struct RecordedCall {
    /// `secretsmanager`, `ssm`, `sts`, ... (from the signature's credential scope).
    pub service: String,
    /// The action: from `X-Amz-Target` (JSON protocols) or the `Action` form field (query).
    pub action: String,
    /// Access key id that signed the request (empty when unsigned).
    pub access_key_id: String,
    /// The request body: JSON for JSON protocols, form fields as a JSON object for query ones.
    pub body: Value,
}

impl RecordedCall {
    fn parse(line: &str) -> Result<Self> {
        use base64::Engine as _;
        let entry: Value = serde_json::from_str(line).context("recorder line")?;
        let headers = &entry["headers"];
        let header = |name: &str| {
            headers
                .as_object()
                .and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .and_then(|(_, v)| v.as_str())
                })
                .unwrap_or_default()
                .to_string()
        };
        let raw_body = entry["body"].as_str().unwrap_or_default();
        let body_bytes = if entry["body_encoded"].as_bool() == Some(true) {
            base64::engine::general_purpose::STANDARD
                .decode(raw_body)
                .unwrap_or_default()
        } else {
            raw_body.as_bytes().to_vec()
        };
        let authorization = header("Authorization");
        let scope = authorization
            .split("Credential=")
            .nth(1)
            .unwrap_or_default()
            .split([',', ' '])
            .next()
            .unwrap_or_default()
            .to_string();
        let parts: Vec<&str> = scope.split('/').collect();
        let access_key_id = parts.first().copied().unwrap_or_default().to_string();
        let mut service = parts.get(3).copied().unwrap_or_default().to_string();
        let target = header("X-Amz-Target");
        let (action, body) = if !target.is_empty() {
            let action = target.rsplit('.').next().unwrap_or_default().to_string();
            let body = serde_json::from_slice(&body_bytes).unwrap_or(Value::Null);
            (action, body)
        } else {
            let fields: serde_json::Map<String, Value> = form_urlencoded::parse(&body_bytes)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect();
            let action = fields
                .get("Action")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            (action, Value::Object(fields))
        };
        if service.is_empty() && body.get("Action").is_some() {
            // Unsigned query calls (AssumeRoleWithWebIdentity) only reach STS here.
            service = "sts".into();
        }
        Ok(RecordedCall {
            service,
            action,
            access_key_id,
            body,
        })
    }
}
