//! `fitfleet correlations`: the correlation matrix of the fit, and its heat map.
use std::process::ExitCode;

use anyhow::{Result, bail};
use fitfleet_engine::infer::diagnostics::correlated_above;

use crate::args::{CorrelationsArgs, DiagnosticsFormat};
use crate::diagnostics::{self, correlations::CorrelationsDoc};
use crate::{input, output, plot};

pub fn run(args: &CorrelationsArgs) -> Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.threshold) {
        bail!("--threshold: a correlation magnitude from 0 to 1, got {}", args.threshold);
    }
    let loaded = input::load(&args.model)?;
    let post = diagnostics::fit(&loaded)?;
    let doc = CorrelationsDoc {
        threshold: args.threshold,
        correlations: correlated_above(&post, args.threshold),
        twice_nll: post.fit.twice_nll,
        converged: post.fit.converged,
    };
    if let Some(path) = &args.plot.plot {
        plot::correlations::plot(&doc.correlations, path, &plot::FigureOptions::from(&args.plot))?;
        eprintln!("fitfleet: wrote {} ({} parameters)", path.display(), doc.correlations.names.len());
    }
    let out = args.output.output.out.as_deref();
    match args.output.format {
        DiagnosticsFormat::Table => diagnostics::write(&diagnostics::correlations::table(&doc), out)?,
        DiagnosticsFormat::Csv => diagnostics::write(&diagnostics::correlations::csv(&doc)?, out)?,
        DiagnosticsFormat::Json => output::json(&doc, out)?,
    }
    Ok(if doc.converged { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
