//! `fitfleet fit`: pyhf's `fit --value`, plus uncertainties and the fit's status.
use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;
use fitfleet_engine::infer::{FitOptions, fit};
use serde::Serialize;

use crate::args::FitArgs;
use crate::{input, output};

/// pyhf's keys (`mle_parameters` by parameter set, `twice_nll`) and fitfleet's additions.
#[derive(Serialize)]
struct FitOutput {
    mle_parameters: BTreeMap<String, Vec<f64>>,
    uncertainties: BTreeMap<String, Vec<f64>>,
    twice_nll: f64,
    poi: Option<String>,
    converged: bool,
    iterations: usize,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

pub fn run(args: &FitArgs) -> Result<ExitCode> {
    let loaded = input::load(&args.model)?;
    let options = FitOptions { uncertainties: true, ..Default::default() };
    let r = fit(&loaded.compiled, &loaded.data, &options)?;
    let mut mle = BTreeMap::new();
    let mut unc = BTreeMap::new();
    for set in &loaded.model.paramsets {
        let range = set.offset..set.offset + set.len();
        mle.insert(set.name.clone(), r.bestfit[range.clone()].to_vec());
        unc.insert(set.name.clone(), r.uncertainties[range].to_vec());
    }
    let converged = r.converged;
    output::json(
        &FitOutput {
            mle_parameters: mle,
            uncertainties: unc,
            twice_nll: r.twice_nll,
            poi: r.poi,
            converged,
            iterations: r.iterations,
            message: r.message,
            note: loaded.model.poi_note.clone(),
        },
        args.output.out.as_deref(),
    )?;
    if !converged {
        eprintln!("fitfleet: the fit did not converge");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
