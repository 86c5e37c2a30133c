//! The Deployments' arguments are real flags of the real binaries: every container command line
//! of every install is parsed by the built `webhook` / `controller` executable itself (clap
//! rejects unknown flags and invalid values before it handles a trailing `--help`), and the ports
//! the flags select (given or defaulted) are the ports the containers declare.

mod install_support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use install_support::*;
use serde_json::Value;

/// Builds (no-op when fresh) and locates the two binaries next to this test's target dir.
fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let out = Command::new(cargo)
            .current_dir(repo_root())
            .args([
                "build",
                "--offline",
                "-p",
                "webhook",
                "-p",
                "controller",
                "--bins",
            ])
            .output()
            .expect("running cargo build");
        assert!(
            out.status.success(),
            "cargo build -p webhook -p controller failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    // target/<profile>/deps/<this test> → target/<profile>/<name>
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps layout");
    let bin = profile_dir.join(name);
    assert!(bin.is_file(), "{} not built", bin.display());
    bin
}

/// Kubernetes expands `$(VAR)` from the container's env; stand in a plausible value.
fn expand(arg: &str, container: &Value) -> String {
    let mut out = arg.to_string();
    for e in container["env"].as_array().into_iter().flatten() {
        let var = format!("$({})", e["name"].as_str().unwrap_or_default());
        let value = match e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            Some("metadata.namespace") => NAMESPACE.to_string(),
            Some(_) => "pod-0".to_string(),
            None => e["value"].as_str().unwrap_or_default().to_string(),
        };
        out = out.replace(&var, &value);
    }
    assert!(!out.contains("$("), "{arg}: undefined variable");
    out
}

fn help(bin: &PathBuf, args: &[String]) -> Result<String, String> {
    let out = Command::new(bin)
        .args(args)
        .arg("--help")
        .output()
        .expect("running binary");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The `[default: …]` of `--flag` in a clap long help text.
fn help_default(help: &str, flag: &str) -> Option<String> {
    let start = help.find(&format!("--{flag} "))?;
    let rest = &help[start..];
    let end = rest[2..].find("\n      --").map_or(rest.len(), |e| e + 2);
    let section = &rest[..end];
    let d = section.find("[default: ")?;
    let value = &section[d + "[default: ".len()..];
    value.split(']').next().map(String::from)
}

/// Port number of a Go-style listen address (`:8080`, `0.0.0.0:8080`) or a bare port.
fn port_of(value: &str) -> Option<i64> {
    value.rsplit(':').next()?.parse().ok()
}

fn container_port(container: &Value, name_: &str) -> Option<i64> {
    container["ports"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name_)?["containerPort"]
        .as_i64()
}

/// (flag whose value carries a port, container port name it must match)
fn port_flags(binary: &str) -> &'static [(&'static str, &'static str)] {
    match binary {
        "webhook" => &[
            ("port", "webhook"),
            ("healthz-addr", "healthz"),
            ("metrics-addr", "metrics"),
        ],
        _ => &[("metrics-addr", "metrics"), ("live-addr", "live")],
    }
}

fn check_deployments(binary_name: &str) {
    let mut installs = vec![
        ("default", render("kustomize/default")),
        ("namespaced", render("kustomize/namespaced")),
    ];
    for c in ["conversion", "cert-manager", "metrics"] {
        installs.push((
            c,
            render_overlay(
                &format!("flags-{c}"),
                &["kustomize/default"],
                &[&format!("kustomize/components/{c}")],
            ),
        ));
    }
    let mut problems = Vec::new();
    for (install, objs) in &installs {
        for d in all_of(objs, "Deployment") {
            if !image_of(d).contains(&format!("/{binary_name}:")) {
                continue;
            }
            let container = &d["spec"]["template"]["spec"]["containers"][0];
            let image = container["image"].as_str().unwrap_or_default();
            let target = image
                .rsplit_once(':')
                .map_or(image, |(repo, _)| repo)
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            let args: Vec<String> = container_args(d)
                .iter()
                .map(|a| expand(a, container))
                .collect();
            let bin = binary(&target);
            let text = match help(&bin, &args) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("{install}: {target} {args:?}:\n{e}"));
                    continue;
                }
            };
            for (flag, port_name) in port_flags(&target) {
                let value = flag_value(&args, flag).or_else(|| help_default(&text, flag));
                let Some(value) = value else {
                    problems.push(format!("{install}: {target} has no --{flag}"));
                    continue;
                };
                let declared = container_port(container, port_name);
                if port_of(&value) != declared {
                    problems.push(format!(
                        "{install}: {target} --{flag}={value} but container port {port_name} is {declared:?}"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn image_of(d: &Value) -> &str {
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
}

#[test]
fn webhook_command_lines_parse_and_their_ports_match() {
    check_deployments("webhook");
}

#[test]
fn controller_command_lines_parse_and_their_ports_match() {
    check_deployments("controller");
}

#[test]
fn the_binaries_reject_flags_they_do_not_have() {
    // The oracle above is only as good as this: an unknown flag or value must fail to parse.
    let webhook = binary("webhook");
    assert!(help(&webhook, &["serve".into(), "--no-such-flag".into()]).is_err());
    assert!(help(&webhook, &["serve".into(), "--log-format=xml".into()]).is_err());
    assert!(help(&webhook, &["serve".into(), "--log-format=json".into()]).is_ok());
    let controller = binary("controller");
    assert!(help(&controller, &["run".into(), "--no-such-flag".into()]).is_err());
}

#[test]
fn webhook_and_controller_parse_templates_with_the_same_delimiters() {
    // The webhook rejects templates that do not parse; with other delimiters than the controller
    // renders with it would refuse good templates and admit broken ones. Both binaries have the
    // flags, and every install gives both the same effective values.
    let objs = render("kustomize/default");
    let mut effective = Vec::new();
    for (target, subcommand) in [("webhook", "serve"), ("controller", "run")] {
        let text = help(&binary(target), &[subcommand.to_string()]).expect("help");
        let deploy = all_of(&objs, "Deployment")
            .into_iter()
            .find(|d| image_of(d).contains(&format!("/{target}:")))
            .unwrap_or_else(|| panic!("no {target} Deployment"));
        let args = container_args(deploy);
        let values: Vec<String> = ["template-left-delimiter", "template-right-delimiter"]
            .iter()
            .map(|flag| {
                flag_value(&args, flag)
                    .or_else(|| help_default(&text, flag))
                    .unwrap_or_else(|| panic!("{target} {subcommand} has no --{flag}"))
            })
            .collect();
        effective.push((target, values));
    }
    assert_eq!(effective[0].1, effective[1].1, "{effective:?}");
    assert_eq!(effective[0].1, ["{{", "}}"]);
}
