//! One module per subcommand.
mod export;
mod fit;
mod inference;
mod inspect;
mod plot;

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
        Command::Plot(a) => plot::run(&a),
        Command::Export(a) => export::run(&a),
    }
}
