//! OpenBao dev server (`bao server -dev`): a Vault-compatible API on loopback.

use anyhow::{Context as _, Result, bail};
use reqwest::Method;
use serde_json::{Value, json};

use super::process::{EmulatorProcess, find_tool, free_port, start_on_free_port};

/// A running OpenBao dev server (in-memory, unsealed, KV v2 mounted at `secret/`).
#[derive(Debug)]
pub struct Bao {
    process: EmulatorProcess,
    addr: String,
    client: reqwest::Client,
    tls: Option<TlsListeners>,
}

/// Server certificate and client CA for the extra HTTPS listeners of [`Bao::start_with_tls`].
#[derive(Clone, Debug)]
pub struct BaoTls {
    /// PEM certificate (chain) the listeners serve; must be valid for 127.0.0.1.
    pub cert_pem: String,
    /// PEM private key of `cert_pem`.
    pub key_pem: String,
    /// PEM CA that client certificates must chain to on the mutual-TLS listener.
    pub client_ca_pem: String,
}

#[derive(Debug)]
struct TlsListeners {
    tls_addr: String,
    mtls_addr: String,
    _dir: tempfile::TempDir,
}

impl Bao {
    /// Root token of the dev server.
    pub const ROOT_TOKEN: &'static str = "root";

    /// Starts `bao server -dev` on a free port and waits for `/v1/sys/health`. The environment
    /// is cleared (no `VAULT_*`/`BAO_*` leaks in) and `HOME` points at a scratch directory, since
    /// the dev server writes a token file there.
    pub async fn start() -> Result<Self> {
        Self::start_dev(|| Ok(Vec::new())).await
    }

    /// Like [`Bao::start`], plus two HTTPS listeners on loopback serving `tls.cert_pem`: one
    /// that asks for (but does not require) a client certificate, as cert auth needs, and one
    /// that requires a client certificate issued by `tls.client_ca_pem`.
    pub async fn start_with_tls(tls: &BaoTls) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("eso-bao-tls-").tempdir()?;
        let write = |name: &str, text: &str| -> Result<String> {
            let path = dir.path().join(name);
            std::fs::write(&path, text)?;
            Ok(path.display().to_string())
        };
        let cert = write("server.pem", &tls.cert_pem)?;
        let key = write("server-key.pem", &tls.key_pem)?;
        let ca = write("client-ca.pem", &tls.client_ca_pem)?;
        let mut addrs = (String::new(), String::new());
        let mut bao = Self::start_dev(|| {
            let (tls_port, mtls_port) = (free_port()?, free_port()?);
            let config = format!(
                "listener \"tcp\" {{\n  address = \"127.0.0.1:{tls_port}\"\n  \
                 tls_cert_file = \"{cert}\"\n  tls_key_file = \"{key}\"\n}}\n\
                 listener \"tcp\" {{\n  address = \"127.0.0.1:{mtls_port}\"\n  \
                 tls_cert_file = \"{cert}\"\n  tls_key_file = \"{key}\"\n  \
                 tls_require_and_verify_client_cert = true\n  \
                 tls_client_ca_file = \"{ca}\"\n}}\n"
            );
            let config_path = write("listeners.hcl", &config)?;
            addrs = (
                format!("https://127.0.0.1:{tls_port}"),
                format!("https://127.0.0.1:{mtls_port}"),
            );
            Ok(vec![format!("-config={config_path}")])
        })
        .await?;
        bao.tls = Some(TlsListeners {
            tls_addr: addrs.0,
            mtls_addr: addrs.1,
            _dir: dir,
        });
        Ok(bao)
    }

    /// `bao server -dev` on a free port with the root token, plus `extra_args()` (called for
    /// every attempt, as a port may turn out to be taken).
    async fn start_dev(mut extra_args: impl FnMut() -> Result<Vec<String>>) -> Result<Self> {
        let program = find_tool("bao")?;
        let client = reqwest::Client::new();
        let (process, port) = start_on_free_port(
            &client,
            |port| {
                let mut args = vec![
                    "server".into(),
                    "-dev".into(),
                    format!("-dev-listen-address=127.0.0.1:{port}"),
                    format!("-dev-root-token-id={}", Self::ROOT_TOKEN),
                ];
                args.extend(extra_args()?);
                EmulatorProcess::spawn("bao", program.clone(), &args, &[])
            },
            "/v1/sys/health",
        )
        .await?;
        Ok(Self {
            process,
            addr: format!("http://127.0.0.1:{port}"),
            client,
            tls: None,
        })
    }

    /// HTTPS address whose listener asks for an optional client certificate
    /// ([`Bao::start_with_tls`] only).
    pub fn tls_addr(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.tls_addr.as_str())
    }

    /// HTTPS address whose listener requires a client certificate from the client CA
    /// ([`Bao::start_with_tls`] only).
    pub fn mtls_addr(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.mtls_addr.as_str())
    }

    /// Enables an auth method of `kind` at `auth/<path>`.
    pub async fn enable_auth(&self, path: &str, kind: &str) -> Result<()> {
        self.api(
            Method::POST,
            &format!("sys/auth/{path}"),
            Some(&json!({"type": kind})),
        )
        .await?;
        Ok(())
    }

    /// Creates (or replaces) an ACL policy from HCL text.
    pub async fn put_policy(&self, name: &str, hcl: &str) -> Result<()> {
        self.api(
            Method::PUT,
            &format!("sys/policies/acl/{name}"),
            Some(&json!({"policy": hcl})),
        )
        .await?;
        Ok(())
    }

    /// Creates a token with `policies` and `ttl` (e.g. "1h"); returns its ID.
    pub async fn create_token(&self, policies: &[&str], ttl: &str) -> Result<String> {
        let answer = self
            .api(
                Method::POST,
                "auth/token/create",
                Some(&json!({"policies": policies, "ttl": ttl, "no_parent": true})),
            )
            .await?;
        answer["auth"]["client_token"]
            .as_str()
            .map(str::to_string)
            .context("token create answer has no client_token")
    }

    /// Revokes a token by its ID (as an operator would).
    pub async fn revoke_token(&self, token: &str) -> Result<()> {
        self.api(
            Method::POST,
            "auth/token/revoke",
            Some(&json!({"token": token})),
        )
        .await?;
        Ok(())
    }

    /// Number of live tokens (accessors) on the server.
    pub async fn token_count(&self) -> Result<usize> {
        let answer = self
            .api(Method::GET, "auth/token/accessors?list=true", None)
            .await?;
        Ok(answer["data"]["keys"].as_array().map_or(0, Vec::len))
    }

    /// Reads a KV v2 secret's metadata (`custom_metadata`, `current_version`, ...); `None` when
    /// there is none.
    pub async fn kv2_metadata(&self, mount: &str, path: &str) -> Result<Option<Value>> {
        match self
            .api(Method::GET, &format!("{mount}/metadata/{path}"), None)
            .await
        {
            Ok(v) => Ok(Some(v["data"].clone())),
            Err(e) if e.to_string().contains("404") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes KV v2 custom metadata for `path`.
    pub async fn kv2_put_metadata(&self, mount: &str, path: &str, custom: &Value) -> Result<()> {
        self.api(
            Method::POST,
            &format!("{mount}/metadata/{path}"),
            Some(&json!({"custom_metadata": custom})),
        )
        .await?;
        Ok(())
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
