//! `fitfleet pulls`: pulls and constraints of the nuisance parameters, and their figure.
use std::process::ExitCode;

use anyhow::Result;
use fitfleet_engine::infer::diagnostics::pulls;

use crate::args::{DiagnosticsFormat, PullsArgs};
use crate::diagnostics::{self, pulls::PullsDoc};
use crate::{input, output, plot};

pub fn run(args: &PullsArgs) -> Result<ExitCode> {
    let loaded = input::load(&args.model)?;
    let post = diagnostics::fit(&loaded)?;
    let doc = PullsDoc::new(pulls(&loaded.model, &post), post.fit.twice_nll, post.fit.converged);
    if let Some(path) = &args.plot.plot {
        plot::pulls::plot(&doc.constrained, path, &plot::FigureOptions::from(&args.plot))?;
        eprintln!("fitfleet: wrote {} ({} parameters)", path.display(), doc.constrained.len());
    }
    let out = args.output.output.out.as_deref();
    match args.output.format {
        DiagnosticsFormat::Table => diagnostics::write(&diagnostics::pulls::table(&doc), out)?,
        DiagnosticsFormat::Csv => diagnostics::write(&diagnostics::pulls::csv(&doc)?, out)?,
        DiagnosticsFormat::Json => output::json(&doc, out)?,
    }
    Ok(if doc.converged { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
