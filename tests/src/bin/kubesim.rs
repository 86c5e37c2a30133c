//! `kubesim --port P --kubeconfig OUT`: runs the API simulator until interrupted.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
#[command(about = "In-process Kubernetes API simulator for tests")]
struct Args {
    /// HTTP port on 127.0.0.1 (HTTPS listens on port+1); 0 picks free ports.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write a kubeconfig (HTTPS, admin token) for kubectl.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sim = tests::sim::Sim::start_with(tests::sim::SimOptions {
        controllers: true,
        port: args.port,
        system_namespaces: true,
    })
    .await?;
    if let Some(out) = &args.kubeconfig {
        std::fs::copy(sim.kubeconfig_path(), out)?;
    }
    println!("kubesim listening on {} and {}", sim.url(), sim.https_url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
