//! Writes one YAML file per CRD plus a kustomization into `crds/` (or `--out DIR`).
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut out = PathBuf::from("crds");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => match args.next() {
                Some(dir) => out = dir.into(),
                None => return fail("--out needs a directory"),
            },
            "-h" | "--help" => {
                println!("usage: crdgen [--out DIR]   (default DIR: crds)");
                return ExitCode::SUCCESS;
            }
            other => return fail(&format!("unknown argument {other:?}")),
        }
    }
    match write_all(&out) {
        Ok(n) => {
            eprintln!("wrote {n} CRDs to {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn write_all(out: &std::path::Path) -> Result<usize, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("create {}: {e}", out.display()))?;
    let crds = shared::api::all_crds();
    let mut files = Vec::with_capacity(crds.len());
    for crd in &crds {
        let name = shared::api::crd_file_name(crd);
        let yaml = shared::api::crd_to_yaml(crd).map_err(|e| format!("serialize {name}: {e}"))?;
        let path = out.join(&name);
        std::fs::write(&path, yaml).map_err(|e| format!("write {}: {e}", path.display()))?;
        files.push(name);
    }
    files.sort();
    let mut kustomization = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for f in &files {
        kustomization.push_str(&format!("- {f}\n"));
    }
    let path = out.join("kustomization.yaml");
    std::fs::write(&path, kustomization).map_err(|e| format!("write {}: {e}", path.display()))?;
    Ok(crds.len())
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("crdgen: {msg}");
    ExitCode::FAILURE
}
