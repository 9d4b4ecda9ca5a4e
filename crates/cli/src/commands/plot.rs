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
    out(args)?;
    let doc = super::results::read(&args.results)?;
    for line in draw(&doc, args)? {
        eprintln!("fitfleet: {line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Draw `doc` as `args` say; the lines that say what was drawn (the caller sees at once if a
/// curve is missing). The Python package's `fitfleet.plot` too.
pub fn draw(doc: &ResultsDoc, args: &PlotArgs) -> Result<Vec<String>> {
    let out = out(args)?;
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
    Ok(match plot::plot(doc, out, &opts)? {
        Drawn::Contour(c) => {
            let mut lines = vec![format!(
                "{}: contour over {} and {} from {} points ({} failed): {} observed, {} expected curve(s)",
                out.display(),
                c.x_label,
                c.y_label,
                c.points.len(),
                c.failed(),
                c.observed.len(),
                c.expected.len()
            )];
            lines.extend(c.notes.iter().cloned());
            lines
        }
        Drawn::Brazil(name) => vec![format!("{}: Brazil band of {name}", out.display())],
    })
}

/// The image to write.
fn out(args: &PlotArgs) -> Result<&Path> {
    args.output.out.as_deref().context("plot needs --out FILE.png or --out FILE.svg: the image to write")
}
