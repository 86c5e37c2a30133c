//! The webhook deployment: admission validation, defaulting, conversion and the offline CLI.

use clap::{Parser, Subcommand};
use shared::telemetry::{self, LogFormat};

#[derive(Parser, Debug)]
#[command(
    name = "webhook",
    version,
    about = "External Secrets admission webhook and offline validator"
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
    /// Serve admission requests over TLS.
    Serve,
}

fn main() -> anyhow::Result<()> {
    telemetry::install_crypto_provider();
    let cli = Cli::parse();
    telemetry::init_logging(cli.log_format, &cli.loglevel);
    match cli.command {
        Command::Serve => {
            tracing::info!("webhook starting");
            Ok(())
        }
    }
}
