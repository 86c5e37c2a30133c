//! The controller deployment: sync and push reconcilers, providers, metrics, leader election.

use clap::{Parser, Subcommand};
use shared::telemetry::{self, LogFormat};

#[derive(Parser, Debug)]
#[command(
    name = "controller",
    version,
    about = "External Secrets controller (sync and push reconcilers)"
)]
struct Cli {
    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    /// Default log level (RUST_LOG overrides it).
    #[arg(long, default_value = "info", global = true)]
    loglevel: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the reconcilers against the cluster.
    Run,
}

fn main() -> anyhow::Result<()> {
    telemetry::install_crypto_provider();
    let cli = Cli::parse();
    telemetry::init_logging(cli.log_format, &cli.loglevel);
    match cli.command {
        Command::Run => {
            tracing::info!("controller starting");
            Ok(())
        }
    }
}
