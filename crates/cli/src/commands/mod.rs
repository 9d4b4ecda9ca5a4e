//! One module per subcommand.
mod export;
mod fit;
mod inference;
mod inspect;
pub mod plot;

// The fleet and the embedded run.
mod cancel;
mod example_pallet;
mod jobs;
pub mod results;
pub mod run;
mod status;
pub mod submit;
pub(crate) mod wait;

// Fit diagnostics.
mod correlations;
mod pulls;
mod ranking;
mod scan;
mod yields;
// The engine on a device.
mod device_timing;
// pyhf's workspace and patchset operations.
mod patchset;
mod workspace;

use std::process::ExitCode;

use anyhow::Result;

use crate::args::{Cli, Command};

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Fit(a) => fit::run(&a),
        Command::Inspect(a) => inspect::run(&a),
        Command::Cls(a) => inference::cls(&a),
        Command::UpperLimit(a) => inference::upper_limit(&a),
        Command::Significance(a) => inference::significance(&a),
        Command::Run(a) => run::run(&a),
        Command::Submit(a) => submit::run(&a),
        Command::Status(a) => status::run(&a),
        Command::Wait(a) => wait::run(&a),
        Command::Results(a) => results::run(&a),
        Command::Jobs(a) => jobs::run(&a),
        Command::Cancel(a) => cancel::run(&a),
        Command::ExamplePallet(a) => example_pallet::run(&a),
        Command::Plot(a) => plot::run(&a),
        Command::Export(a) => export::run(&a),
        Command::Yields(a) => yields::run(&a),
        Command::Pulls(a) => pulls::run(&a),
        Command::Correlations(a) => correlations::run(&a),
        Command::Ranking(a) => ranking::run(&a),
        Command::Scan(a) => scan::run(&a),
        Command::DeviceTiming(a) => device_timing::run(&a),
        Command::Workspace(c) => workspace::run(&c),
        Command::Patchset(c) => patchset::run(&c),
    }
}
