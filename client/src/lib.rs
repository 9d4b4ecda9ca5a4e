//! The `fitfleet` command line.
//!
//! Every subcommand lives in its own module under [`commands`]; the flags shared by several of
//! them are defined once in [`args`].
pub mod args;
pub mod commands;
pub mod export;
pub mod input;
pub mod output;
pub mod plot;
pub mod results;

use std::process::ExitCode;

use clap::Parser;

/// Parse the command line, run the subcommand, and map errors to a message and exit code 2.
pub fn main() -> ExitCode {
    engine::compute::configure_cpu_threads();
    let cli = args::Cli::parse();
    init_tracing(cli.global.verbose);
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fitfleet: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FITFLEET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
