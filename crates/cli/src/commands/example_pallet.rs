//! `fitfleet example-pallet`: write the example pallet ([`crate::pallet`]).
use std::process::ExitCode;

use anyhow::Result;

use crate::args::ExamplePalletArgs;
use crate::pallet;

pub fn run(args: &ExamplePalletArgs) -> Result<ExitCode> {
    let [workspace, patchset] = pallet::write(&args.out_dir)?;
    eprintln!(
        "fitfleet: wrote {} and {} ({} signal points)",
        workspace.display(),
        patchset.display(),
        pallet::grid().len()
    );
    Ok(ExitCode::SUCCESS)
}
