//! `fitfleet yields`: pre-fit and post-fit yields per channel, sample and bin.
use std::process::ExitCode;

use anyhow::Result;
use fitfleet_engine::infer::diagnostics::{postfit_yields, prefit_yields};

use crate::args::{DiagnosticsFormat, YieldsArgs};
use crate::diagnostics::{self, yields::YieldsDoc};
use crate::{input, output, progress};

pub fn run(args: &YieldsArgs) -> Result<ExitCode> {
    let loaded = input::load(&args.model)?;
    let post = diagnostics::fit(&loaded)?;
    let bar = progress::bar_of(0, "variations");
    let mut follow = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let prefit = prefit_yields(&loaded.model, &loaded.compiled, &mut follow)?;
    let postfit = postfit_yields(&loaded.model, &loaded.compiled, &post, &mut follow)?;
    bar.finish_and_clear();
    let doc = YieldsDoc { prefit, postfit, twice_nll: post.fit.twice_nll, converged: post.fit.converged };
    let out = args.output.output.out.as_deref();
    match args.output.format {
        DiagnosticsFormat::Table => diagnostics::write(&diagnostics::yields::table(&doc), out)?,
        DiagnosticsFormat::Csv => diagnostics::write(&diagnostics::yields::csv(&doc)?, out)?,
        DiagnosticsFormat::Json => output::json(&doc, out)?,
    }
    Ok(if doc.converged { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
