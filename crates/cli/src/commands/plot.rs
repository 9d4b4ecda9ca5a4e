//! `fitfleet plot`: the exclusion contour or the Brazil band of a fleet job's results or of a
//! results document.
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::args::PlotArgs;
use crate::plot::{self, Drawn, PlotOptions};
use crate::results::ResultsDoc;

/// Read a results document (JSON keyed by patch name).
pub(super) fn read_doc(path: &Path) -> Result<ResultsDoc> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a results document (JSON keyed by patch name)", path.display()))
}

pub fn run(args: &PlotArgs) -> Result<ExitCode> {
    let out = args.output.out.as_deref().context("plot needs --out FILE.png or --out FILE.svg: the image to write")?;
    let doc = super::results::read(&args.results)?;
    let opts = PlotOptions {
        title: args.title.clone(),
        width: args.width,
        height: args.height,
        x: args.x.clone(),
        y: args.y.clone(),
        alpha: args.alpha.alpha,
        patch: args.patch.clone(),
        kind: args.kind,
        x_title: args.x_title.clone(),
        y_title: args.y_title.clone(),
        label: args.label.clone(),
        smoothing: args.smoothing,
    };
    match plot::plot(&doc, out, &opts)? {
        Drawn::Contour(c) => {
            // Say what was drawn: the caller sees at once if a curve is missing.
            eprintln!(
                "fitfleet: {}: contour over {} and {} from {} points ({} failed): {} observed, {} expected curve(s)",
                out.display(),
                c.x_label,
                c.y_label,
                c.points.len(),
                c.failed(),
                c.observed.len(),
                c.expected.len()
            );
            for n in &c.notes {
                eprintln!("fitfleet: {n}");
            }
        }
        Drawn::Brazil(name) => eprintln!("fitfleet: {}: Brazil band of {name}", out.display()),
    }
    Ok(ExitCode::SUCCESS)
}
