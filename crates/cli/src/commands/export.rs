//! `fitfleet export`: a results document in another tool's format.
use std::process::ExitCode;

use anyhow::Result;

use crate::args::{ExportArgs, ExportFormat};
use crate::{export, output};

pub fn run(args: &ExportArgs) -> Result<ExitCode> {
    let doc = super::plot::read_doc(&args.results.path)?;
    let value = match args.format {
        ExportFormat::Harvest => export::harvest(&doc),
    };
    output::json(&value, args.output.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}
