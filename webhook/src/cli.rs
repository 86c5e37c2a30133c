//! Command line: the subcommand tree and the `serve` flags.
//!
//! The ESO webhook flag names and defaults (`cmd/controller/webhook.go`) are kept so existing
//! Deployments keep working; [`serve_flag_table`] exposes the accepted flags so install manifests
//! can be checked against them.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};
use shared::telemetry::LogFormat;

use crate::duration::parse_go_duration;

/// Top-level command line of the `webhook` binary.
#[derive(Parser, Debug)]
#[command(
    name = "webhook",
    version,
    about = "External Secrets admission webhook and offline validator"
)]
pub struct Cli {
    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Default log level (RUST_LOG overrides it).
    #[arg(long, default_value = "info", global = true)]
    pub loglevel: String,
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands. New ones (offline `validate`, `convert`) are added here and dispatched in `main`.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve admission requests over TLS.
    Serve(Box<ServeArgs>),
    /// Validate manifests offline with the admission rules (exit 1 on any denial).
    Validate(crate::offline::ValidateArgs),
    /// Convert manifests between API versions, or from kubernetes-external-secrets.
    Convert(crate::offline::ConvertArgs),
}

/// Where the serving certificate comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CertMode {
    /// The webhook generates, stores (in one Secret), rotates and injects its own CA and certificate.
    #[value(name = "self")]
    SelfManaged,
    /// `tls.crt`/`tls.key` in `--cert-dir` are provided (e.g. by cert-manager) and reloaded on change.
    Files,
}

/// Flags of `webhook serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Port of the HTTPS admission server.
    #[arg(long, default_value_t = 10250)]
    pub port: u16,
    /// Address the HTTPS admission server binds to.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: String,
    /// DNS name the serving certificate must be valid for.
    #[arg(long, default_value = "localhost")]
    pub dns_name: String,
    /// Directory holding tls.crt and tls.key (read in `--cert-mode files`).
    #[arg(long, default_value = "/tmp/k8s-webhook-server/serving-certs")]
    pub cert_dir: PathBuf,
    /// How often the certificate is re-checked (Go duration).
    #[arg(long, default_value = "5m", value_parser = parse_go_duration)]
    pub check_interval: Duration,
    /// Renew the certificate when it expires within this window (Go duration; `d` = 24h accepted).
    #[arg(long, default_value = "2160h", value_parser = parse_go_duration)]
    pub lookahead_interval: Duration,
    /// Comma-separated TLS 1.2 cipher suites by Go/IANA name; empty means all supported ones.
    #[arg(long, default_value = "")]
    pub tls_ciphers: String,
    /// Minimum TLS version: 1.0, 1.1, 1.2 or 1.3 (versions below 1.2 are raised to 1.2).
    #[arg(long, default_value = "1.2")]
    pub tls_min_version: String,
    /// Offer HTTP/2 through ALPN.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true")]
    pub enable_http2: bool,
    /// Plain-HTTP address for /metrics (`:8080` style; `0` disables).
    #[arg(long, default_value = ":8080")]
    pub metrics_addr: String,
    /// Plain-HTTP address for /healthz and /readyz (`:8081` style; `0` disables).
    #[arg(long, default_value = ":8081")]
    pub healthz_addr: String,

    /// Certificate source.
    #[arg(long, value_enum, default_value_t = CertMode::SelfManaged)]
    pub cert_mode: CertMode,
    /// Secret holding ca.crt, ca.key, tls.crt and tls.key (`--cert-mode self`).
    #[arg(long, default_value = "external-secrets-webhook")]
    pub cert_secret_name: String,
    /// Namespace of that Secret (defaults to the pod's namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub cert_secret_namespace: String,
    /// Service in front of the webhook; the certificate covers `<svc>`, `<svc>.<ns>.svc` and
    /// `<svc>.<ns>.svc.cluster.local`.
    #[arg(long, default_value = "external-secrets-webhook")]
    pub service_name: String,
    /// Namespace of that Service (defaults to `--cert-secret-namespace`).
    #[arg(long)]
    pub service_namespace: Option<String>,
    /// ValidatingWebhookConfigurations whose caBundle this webhook maintains.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "secretstore-validate,externalsecret-validate"
    )]
    pub webhook_config_names: Vec<String>,
    /// MutatingWebhookConfigurations whose caBundle this webhook maintains.
    #[arg(long, value_delimiter = ',', default_value = "")]
    pub mutating_webhook_config_names: Vec<String>,
    /// CRDs whose conversion webhook caBundle is maintained (only with `--serve-conversion`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "externalsecrets.external-secrets.io,clustersecretstores.external-secrets.io,secretstores.external-secrets.io"
    )]
    pub crd_names: Vec<String>,
    /// Validity of generated certificates (Go duration; ESO uses ten years).
    #[arg(long, default_value = "87600h", value_parser = parse_go_duration)]
    pub cert_validity: Duration,
    /// How often `--cert-mode files` looks for changed files.
    #[arg(long, default_value = "10s", value_parser = parse_go_duration)]
    pub files_poll_interval: Duration,
    /// Deny stores and secrets in namespaces without a namespace policy.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true")]
    pub require_namespace_policy: bool,
    /// Serve /convert and maintain the CRDs' conversion webhook caBundle.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true")]
    pub serve_conversion: bool,
    /// Deadline for one admission request (the apiserver's `?timeout=` is honoured when shorter).
    #[arg(long, default_value = "4s", value_parser = parse_go_duration)]
    pub request_timeout: Duration,
    /// Largest accepted request body in bytes.
    #[arg(long, default_value_t = 8 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// How long in-flight requests may finish after SIGTERM.
    #[arg(long, default_value = "20s", value_parser = parse_go_duration)]
    pub shutdown_timeout: Duration,
    /// Left template delimiter; must match the controller's `--template-left-delimiter` so the
    /// webhook parses templates exactly as the controller will render them.
    #[arg(long, default_value = "{{")]
    pub template_left_delimiter: String,
    /// Right template delimiter; must match the controller's `--template-right-delimiter`.
    #[arg(long, default_value = "}}")]
    pub template_right_delimiter: String,
    /// Accepted for compatibility with ESO's Deployment arguments; has no effect.
    #[arg(long, hide = true)]
    pub zap_time_encoding: Option<String>,
}

impl ServeArgs {
    /// The namespace of the Service the certificate is issued for.
    pub fn service_namespace(&self) -> &str {
        self.service_namespace
            .as_deref()
            .unwrap_or(&self.cert_secret_namespace)
    }

    /// Every DNS name the serving certificate must carry.
    pub fn dns_names(&self) -> Vec<String> {
        let svc = &self.service_name;
        let ns = self.service_namespace();
        let mut names = vec![
            format!("{svc}.{ns}.svc"),
            format!("{svc}.{ns}.svc.cluster.local"),
            svc.clone(),
        ];
        if !self.dns_name.is_empty() && !names.contains(&self.dns_name) {
            names.push(self.dns_name.clone());
        }
        names
    }

    /// Parses the flags as `webhook serve ARGS...` would (for tests and embedding).
    pub fn try_parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = Cli::try_parse_from(
            ["webhook".into(), "serve".into()]
                .into_iter()
                .chain(args.into_iter().map(Into::into)),
        )?;
        match cli.command {
            Command::Serve(args) => Ok(*args),
            // "serve" was prepended above, so clap can only produce Serve here.
            _ => Err(Cli::command().error(
                clap::error::ErrorKind::InvalidSubcommand,
                "expected serve flags",
            )),
        }
    }
}

/// One accepted `serve` flag, as install manifests are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagSpec {
    /// Long name without the leading dashes.
    pub name: String,
    /// Default values as written on the command line (joined with `,` for lists).
    pub default: Option<String>,
    /// Environment variable that can set it.
    pub env: Option<String>,
    /// Whether the flag takes no value when given bare (`--enable-http2`).
    pub bare_allowed: bool,
}

/// Every flag `webhook serve` accepts (including the global ones), sorted by name.
pub fn serve_flag_table() -> Vec<FlagSpec> {
    let cli = Cli::command();
    let global = cli.get_arguments();
    let serve = cli
        .find_subcommand("serve")
        .map(|c| c.get_arguments().collect::<Vec<_>>())
        .unwrap_or_default();
    let mut flags: Vec<FlagSpec> = global
        .chain(serve)
        .filter_map(|arg| {
            let name = arg.get_long()?.to_owned();
            let defaults: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            let default = (!defaults.is_empty()).then(|| defaults.join(","));
            let bare_allowed = arg.get_num_args().is_some_and(|n| n.min_values() == 0);
            Some(FlagSpec {
                name,
                default,
                env: arg.get_env().map(|e| e.to_string_lossy().into_owned()),
                bare_allowed,
            })
        })
        .filter(|f| f.name != "help" && f.name != "version")
        .collect();
    flags.sort_by(|a, b| a.name.cmp(&b.name));
    flags.dedup_by(|a, b| a.name == b.name);
    flags
}

/// Parses a Go-style listen address: `:8080` means every interface, `0` disables the listener.
pub fn parse_listen_addr(value: &str) -> Result<Option<SocketAddr>, String> {
    let value = value.trim();
    if value.is_empty() || value == "0" {
        return Ok(None);
    }
    let full = if let Some(port) = value.strip_prefix(':') {
        format!("0.0.0.0:{port}")
    } else {
        value.to_owned()
    };
    full.to_socket_addrs()
        .map_err(|e| format!("invalid listen address {value:?}: {e}"))?
        .next()
        .map(Some)
        .ok_or_else(|| format!("listen address {value:?} resolves to nothing"))
}
