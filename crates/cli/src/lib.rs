//! The `fitfleet` command line.
//!
//! Every subcommand lives in its own module under [`commands`]; the flags shared by several of
//! them are defined once in [`args`].
pub mod args;
pub mod commands;
pub mod diagnostics;
pub mod export;
pub mod input;
pub mod output;
pub mod plot;
pub mod results;

// The fleet and the embedded run.
pub mod fleet;
pub mod job_label;
pub mod ops_io;
pub mod pallet;
pub mod pallet_files;
pub mod prepare;
pub mod progress;
pub mod ranking_fleet;
pub mod results_csv;
pub mod settings;
pub mod stall;
pub mod tasks;
pub mod timings;
pub mod toys_local;
pub mod toys_merge;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

/// Parse the command line, run the subcommand, and map errors to a message and exit code 2.
pub fn main() -> ExitCode {
    restore_sigpipe();
    fitfleet_engine::compute::configure_cpu_threads();
    let cli = args::Cli::parse();
    init_tracing(cli.global.verbose);
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fitfleet: error: {}", render(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes joined by ": ", leaving out a cause whose text the message already
/// holds (many errors print their source themselves): what `fitfleet: error: ` is followed by,
/// and the Python package's exception messages.
pub fn render(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FITFLEET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// A closed pipe ends the program quietly, as it does for other command-line tools
/// (`fitfleet patchset list PALLET | head`): Rust ignores SIGPIPE, so printing to a closed pipe
/// would panic. Only the binary does this, never a process that embeds the library (Python).
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default at start-up, before any thread runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
