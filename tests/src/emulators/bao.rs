//! OpenBao dev server (`bao server -dev`): a Vault-compatible API on loopback.

use anyhow::{Context as _, Result, bail};
use reqwest::Method;
use serde_json::{Value, json};

use super::process::{EmulatorProcess, find_tool, start_on_free_port};

/// A running OpenBao dev server (in-memory, unsealed, KV v2 mounted at `secret/`).
#[derive(Debug)]
pub struct Bao {
    process: EmulatorProcess,
    addr: String,
    client: reqwest::Client,
}

impl Bao {
    /// Root token of the dev server.
    pub const ROOT_TOKEN: &'static str = "root";

    /// Starts `bao server -dev` on a free port and waits for `/v1/sys/health`. The environment
    /// is cleared (no `VAULT_*`/`BAO_*` leaks in) and `HOME` points at a scratch directory, since
    /// the dev server writes a token file there.
    pub async fn start() -> Result<Self> {
        let program = find_tool("bao")?;
        let client = reqwest::Client::new();
        let (process, port) = start_on_free_port(
            &client,
            |port| {
                EmulatorProcess::spawn(
                    "bao",
                    program.clone(),
                    &[
                        "server".into(),
                        "-dev".into(),
                        format!("-dev-listen-address=127.0.0.1:{port}"),
                        format!("-dev-root-token-id={}", Self::ROOT_TOKEN),
                    ],
                    &[],
                )
            },
            "/v1/sys/health",
        )
        .await?;
        Ok(Self {
            process,
            addr: format!("http://127.0.0.1:{port}"),
            client,
        })
    }

    /// Server address (`http://127.0.0.1:PORT`), what `VAULT_ADDR` would hold.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Root token.
    pub fn token(&self) -> &str {
        Self::ROOT_TOKEN
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        self.process.log_tail()
    }

    /// Calls `/v1/<path>` with the root token. Non-2xx answers become errors carrying the body.
    pub async fn api(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = format!("{}/v1/{}", self.addr, path.trim_start_matches('/'));
        let mut request = self
            .client
            .request(method.clone(), &url)
            .header("X-Vault-Token", Self::ROOT_TOKEN);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("bao {method} {path}"))?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("bao {method} {path} failed with {status}: {text}");
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("bao {method} {path} answer: {text}"))
    }

    /// Mounts a KV engine (`version` 1 or 2) at `mount`.
    pub async fn mount_kv(&self, mount: &str, version: u8) -> Result<()> {
        let body = json!({"type": "kv", "options": {"version": version.to_string()}});
        self.api(Method::POST, &format!("sys/mounts/{mount}"), Some(&body))
            .await?;
        Ok(())
    }

    /// Writes a KV v2 secret (`data` is the key/value object); returns the write metadata.
    pub async fn kv2_put(&self, mount: &str, path: &str, data: &Value) -> Result<Value> {
        let body = json!({"data": data});
        self.api(Method::POST, &format!("{mount}/data/{path}"), Some(&body))
            .await
    }

    /// Reads the latest KV v2 version's key/value object.
    pub async fn kv2_get(&self, mount: &str, path: &str) -> Result<Value> {
        let answer = self
            .api(Method::GET, &format!("{mount}/data/{path}"), None)
            .await?;
        Ok(answer["data"]["data"].clone())
    }

    /// Writes a KV v1 secret.
    pub async fn kv1_put(&self, mount: &str, path: &str, data: &Value) -> Result<()> {
        self.api(Method::POST, &format!("{mount}/{path}"), Some(data))
            .await?;
        Ok(())
    }

    /// Reads a KV v1 secret's key/value object.
    pub async fn kv1_get(&self, mount: &str, path: &str) -> Result<Value> {
        let answer = self
            .api(Method::GET, &format!("{mount}/{path}"), None)
            .await?;
        Ok(answer["data"].clone())
    }

    /// Enables the `jwt` auth method at `auth/jwt` with `config` (the key source, e.g.
    /// `jwt_validation_pubkeys` or `jwks_url`, and `bound_issuer`) and a role `role` that accepts
    /// tokens for `audience` whose `sub` is `subject`, granting the `default` policy.
    pub async fn enable_jwt_auth(
        &self,
        config: &Value,
        role: &str,
        audience: &str,
        subject: &str,
    ) -> Result<()> {
        self.api(Method::POST, "sys/auth/jwt", Some(&json!({"type": "jwt"})))
            .await?;
        self.api(Method::POST, "auth/jwt/config", Some(config))
            .await?;
        let role_body = json!({"role_type": "jwt", "bound_audiences": [audience],
            "user_claim": "sub", "bound_subject": subject, "token_policies": ["default"]});
        self.api(
            Method::POST,
            &format!("auth/jwt/role/{role}"),
            Some(&role_body),
        )
        .await?;
        Ok(())
    }

    /// Logs in through `auth/jwt/login` without a token, as a workload would; returns the HTTP
    /// status and the JSON body (`Null` if there is none) so refusals can be asserted on.
    pub async fn jwt_login(&self, role: &str, jwt: &str) -> Result<(u16, Value)> {
        let response = self
            .client
            .post(format!("{}/v1/auth/jwt/login", self.addr))
            .json(&json!({"role": role, "jwt": jwt}))
            .send()
            .await
            .context("bao jwt login")?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Whether the server process is still alive.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }
}
