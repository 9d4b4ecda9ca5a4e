//! `fitfleet ranking`: the nuisance parameters by impact on the POI, computed here with a
//! progress bar or, with `--fleet`, by the fleet's workers ([`crate::ranking_fleet`]); the
//! table, CSV or JSON, and the figure.
use std::process::ExitCode;

use anyhow::{Context, Result};
use fitfleet_engine::infer::diagnostics::{Ranking, ranking};
use fitfleet_engine::infer::{FitOptions, Interrupt};

use crate::args::{DiagnosticsFormat, RankingArgs};
use crate::{diagnostics, input, output, plot, progress, ranking_fleet};

/// Parameters the figure shows when --top is not given.
const FIGURE_TOP: usize = 20;

pub fn run(args: &RankingArgs) -> Result<ExitCode> {
    let ranking = if args.fleet { ranking_fleet::ranking(args)? } else { local(args)? };
    if let Some(path) = &args.plot.plot {
        let shown = diagnostics::ranking::top(&ranking, Some(args.top.unwrap_or(FIGURE_TOP)));
        plot::ranking::plot(&shown, path, &plot::FigureOptions::from(&args.plot))?;
        eprintln!("fitfleet: wrote {} ({} parameters)", path.display(), shown.impacts.len());
    }
    let shown = diagnostics::ranking::top(&ranking, args.top);
    let out = args.output.output.out.as_deref();
    match args.output.format {
        DiagnosticsFormat::Table => diagnostics::write(&diagnostics::ranking::table(&shown), out)?,
        DiagnosticsFormat::Csv => diagnostics::write(&diagnostics::ranking::csv(&shown)?, out)?,
        DiagnosticsFormat::Json => output::json(&shown, out)?,
    }
    let converged = ranking.converged && ranking.impacts.iter().all(|i| i.converged);
    Ok(if converged { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The ranking on this machine, with a progress bar over the parameters.
fn local(args: &RankingArgs) -> Result<Ranking> {
    let loaded = input::load(&args.model)?;
    let bar = progress::bar_of(0, "parameters");
    let r = ranking(&loaded.compiled, &loaded.data, &FitOptions::default(), &Interrupt::none(), &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    r.context("the ranking")
}
