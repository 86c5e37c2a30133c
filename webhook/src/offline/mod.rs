//! Offline commands: `webhook validate` (the admission rules over manifest files, for CI and
//! `kustomize build | webhook validate -f -`) and `webhook convert` (v1beta1 ⇄ v1, KES → ESO).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde_json::Value;
use shared::validation::batch::{BatchOptions, Document, validate_documents};

/// Output format of `validate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// `file:doc: kind/name: field: message`, one line per problem.
    Text,
    /// One JSON array of per-object reports.
    Json,
}

/// Flags of `webhook validate`.
#[derive(Args, Debug, Clone)]
pub struct ValidateArgs {
    /// Manifest file, directory (searched recursively for .yaml/.yml/.json) or `-` for stdin.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<String>,
    /// Extra manifests (Namespaces, ClusterSecretStores) used only as context.
    #[arg(long)]
    pub namespaces: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Also report fields the API does not know.
    #[arg(long, default_value_t = false)]
    pub strict: bool,
    /// Deny when a namespace lacks the policy annotations (or is not in the input).
    #[arg(long, default_value_t = false)]
    pub require_namespace_policy: bool,
    /// Template left delimiter.
    #[arg(long, default_value = "{{")]
    pub template_left_delimiter: String,
    /// Template right delimiter.
    #[arg(long, default_value = "}}")]
    pub template_right_delimiter: String,
}

/// Input format of `convert`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConvertFrom {
    /// ESO objects of another version.
    Eso,
    /// kubernetes-external-secrets `kubernetes-client.io/v1` ExternalSecrets.
    Kes,
}

/// Flags of `webhook convert`.
#[derive(Args, Debug, Clone)]
pub struct ConvertArgs {
    /// Manifest file, directory or `-` for stdin.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<String>,
    /// Target apiVersion.
    #[arg(long, default_value = "external-secrets.io/v1")]
    pub to: String,
    /// What the input is.
    #[arg(long, value_enum, default_value_t = ConvertFrom::Eso)]
    pub from: ConvertFrom,
    /// AWS region for KES manifests without `spec.region` (KES read AWS_REGION).
    #[arg(long)]
    pub aws_region: Option<String>,
    /// Vault address for KES `backendType: vault` (KES read VAULT_ADDR).
    #[arg(long)]
    pub vault_addr: Option<String>,
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                collect_files(&p, out)?;
            } else if p
                .extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
            {
                out.push(p);
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn parse(source: &str, text: &str) -> anyhow::Result<Vec<Document>> {
    let values: Vec<Value> =
        serde_saphyr::from_multiple(text).with_context(|| format!("{source}: invalid YAML"))?;
    Ok(values
        .into_iter()
        .enumerate()
        .filter(|(_, v)| !v.is_null())
        .map(|(i, object)| Document {
            source: source.to_string(),
            index: i + 1,
            object,
        })
        .collect())
}

/// Reads every document of the given files, directories and `-` (stdin).
pub fn read_documents(inputs: &[String]) -> anyhow::Result<Vec<Document>> {
    let mut docs = Vec::new();
    for input in inputs {
        if input == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            docs.extend(parse("-", &text)?);
            continue;
        }
        let mut files = Vec::new();
        collect_files(Path::new(input), &mut files)?;
        for f in files {
            let text =
                std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
            docs.extend(parse(&f.display().to_string(), &text)?);
        }
    }
    // `kind: List` wrappers (kubectl get -o yaml) are flattened.
    let mut flat = Vec::new();
    for d in docs {
        match d.object.get("items").and_then(Value::as_array) {
            Some(items) if d.object.get("kind").and_then(Value::as_str) == Some("List") => {
                flat.extend(items.iter().map(|o| Document {
                    object: o.clone(),
                    ..d.clone()
                }));
            }
            _ => flat.push(d),
        }
    }
    Ok(flat)
}

/// Runs `validate`; returns the process exit code (1 when anything is denied).
pub fn validate(args: &ValidateArgs, out: &mut dyn std::io::Write) -> anyhow::Result<i32> {
    let docs = read_documents(&args.files)?;
    let extra = match &args.namespaces {
        Some(p) => read_documents(&[p.display().to_string()])?,
        None => Vec::new(),
    };
    let opts = BatchOptions {
        require_namespace_policy: args.require_namespace_policy,
        strict: args.strict,
        left_delim: args.template_left_delimiter.clone(),
        right_delim: args.template_right_delimiter.clone(),
    };
    let reports = validate_documents(&docs, &extra, &opts);
    let denied = reports.iter().any(|r| !r.outcome.allowed());
    match args.output {
        OutputFormat::Text => {
            for r in &reports {
                for line in r.lines() {
                    writeln!(out, "{line}")?;
                }
            }
        }
        OutputFormat::Json => {
            writeln!(out, "{}", serde_json::to_string_pretty(&reports)?)?;
        }
    }
    Ok(i32::from(denied))
}

/// Runs `convert`, printing the converted objects as a multi-document YAML stream.
pub fn convert(args: &ConvertArgs, out: &mut dyn std::io::Write) -> anyhow::Result<i32> {
    let docs = read_documents(&args.files)?;
    let mut converted = Vec::new();
    for d in docs {
        let label = format!("{}:{}", d.source, d.index);
        match args.from {
            ConvertFrom::Eso => {
                let v = shared::conversion::convert(d.object, &args.to)
                    .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
                converted.push(v);
            }
            ConvertFrom::Kes => {
                let opts = shared::conversion::KesOptions {
                    aws_region: args.aws_region.clone(),
                    vault_addr: args.vault_addr.clone(),
                };
                let objs = shared::conversion::from_kes_with(&d.object, &opts)
                    .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
                for o in objs {
                    converted.push(
                        shared::conversion::convert(o, &args.to)
                            .map_err(|e| anyhow::anyhow!("{label}: {e}"))?,
                    );
                }
            }
        }
    }
    if converted.is_empty() {
        bail!("no objects in the input");
    }
    for v in converted {
        writeln!(out, "---")?;
        write!(out, "{}", serde_saphyr::to_string(&v)?)?;
    }
    Ok(0)
}
