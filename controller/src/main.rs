//! The controller deployment: sync reconcilers, store reconcilers, metrics, leader election,
//! and the offline `render` command.

use clap::{Parser, Subcommand};
use controller::cli::RunArgs;
use controller::render::RenderArgs;
use shared::telemetry::{self, LogFormat};
use shared::template::Options;

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
    Run(Box<RunArgs>),
    /// Print the Secret an ExternalSecret would produce, without a cluster.
    Render {
        #[command(flatten)]
        args: RenderArgs,
        /// Left template delimiter.
        #[arg(long, default_value = "{{")]
        template_left_delimiter: String,
        /// Right template delimiter.
        #[arg(long, default_value = "}}")]
        template_right_delimiter: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::install_crypto_provider();
    let cli = Cli::parse();
    telemetry::init_logging(cli.log_format, &cli.loglevel);
    match cli.command {
        Command::Run(args) => controller::cli::run(*args).await,
        Command::Render {
            args,
            template_left_delimiter,
            template_right_delimiter,
        } => {
            let opts = Options {
                left_delim: template_left_delimiter,
                right_delim: template_right_delimiter,
            };
            let out = controller::render::render(&args, &opts).await?;
            print!("{out}");
            Ok(())
        }
    }
}
