//! The `fitfleet-worker` program: settings, logs, a runtime, signals, the service.
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

use crate::settings::{self, WorkerArgs};
use crate::{logs, service};

/// Run the worker until SIGTERM or SIGINT, then drain and exit 0; exit 1 when it cannot
/// start or RabbitMQ refuses it, 2 on bad settings. A second signal exits at once.
pub fn main() -> ExitCode {
    fitfleet_engine::compute::configure_cpu_threads();
    let args = WorkerArgs::parse();
    let settings = match settings::load(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fitfleet-worker: {e}");
            return ExitCode::from(2);
        }
    };
    if args.print_settings {
        let mut shown = settings.clone();
        shown.broker.broker_url = shown.broker.broker_url_redacted();
        shown.broker.redis_url = shown.broker.redis_url_redacted();
        println!("{}", serde_json::to_string_pretty(&shown).expect("settings serialise"));
        return ExitCode::SUCCESS;
    }
    logs::init(settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("fitfleet-io")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!(error = %e, "cannot start the async runtime");
            return ExitCode::from(1);
        }
    };
    let outcome = runtime.block_on(async {
        let shutdown = shutdown_signal()?;
        service::run(settings, shutdown).await
    });
    // Fits abandoned at the drain timeout keep their blocking threads: do not wait for them.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            error!(error = format!("{e:#}"), "fitfleet-worker failed");
            ExitCode::from(1)
        }
    }
}

/// Completes on the first SIGTERM or SIGINT; a second one exits the process at once.
/// Handlers are installed now, so a signal during start-up is not lost.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        info!(signal = name, "shutdown requested; send it again to exit without waiting for fits in flight");
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            warn!(signal = name, "second signal: exiting now; unfinished tasks go back to the queue");
            std::process::exit(1);
        });
    })
}
