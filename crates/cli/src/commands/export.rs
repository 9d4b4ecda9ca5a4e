//! `fitfleet export`: a fleet job's results or a results document (of `run` too) in another
//! tool's format: HistFitter's harvest list, or CSV.
use std::process::ExitCode;

use anyhow::Result;

use crate::args::{ExportArgs, ExportFormat};
use crate::{export, output};

pub fn run(args: &ExportArgs) -> Result<ExitCode> {
    let doc = super::results::read(&args.results)?;
    let out = args.output.out.as_deref();
    match args.format {
        ExportFormat::Harvest => output::json(&export::harvest(&doc), out)?,
        ExportFormat::Csv => super::results::write_as(&doc, crate::args::ResultsFormat::Csv, out)?,
    }
    Ok(ExitCode::SUCCESS)
}
