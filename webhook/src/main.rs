//! The webhook deployment: admission validation, defaulting, conversion and the offline CLI.

use clap::Parser;
use shared::telemetry;
use tokio_util::sync::CancellationToken;
use webhook::cli::{Cli, Command, ServeArgs};

fn main() -> anyhow::Result<()> {
    telemetry::install_crypto_provider();
    let cli = Cli::parse();
    telemetry::init_logging(cli.log_format, &cli.loglevel);
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Validate(args) => {
            let code = webhook::offline::validate(&args, &mut std::io::stdout().lock())?;
            std::process::exit(code)
        }
        Command::Convert(args) => {
            let code = webhook::offline::convert(&args, &mut std::io::stdout().lock())?;
            std::process::exit(code)
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // At least two workers: the request deadline is enforced from a worker other than the one
    // running an overrunning rule, even in a pod limited to one CPU.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signal(shutdown.clone()));
        let readiness = webhook::health::Readiness::new();
        let rules = webhook::rules_for(&args, &readiness);
        webhook::server::run(args, rules, readiness, shutdown).await
    })
}

/// SIGTERM (kubelet) or Ctrl-C start a graceful shutdown.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("termination signal received");
    shutdown.cancel();
}
