//! Running a task's work on a compiled model.
use std::panic::{catch_unwind, AssertUnwindSafe};

use fitfleet_protocol::{Outcome, Work};
use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::infer::calculators::{toys, AsymptoticCalculator};
use fitfleet_engine::infer::{
    fit, hypotest, significance, upper_limit, Calculator, FitOptions, HypotestOptions, UpperLimitOptions,
};

/// Do `work` on `model` with its observed data. A fit that does not converge, an error or a
/// panic in the engine is an `Err` with the reason.
pub fn execute(model: &CompiledModel, work: &Work) -> Result<Outcome, String> {
    match catch_unwind(AssertUnwindSafe(|| run(model, work))) {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("the engine panicked: {what}"))
        }
    }
}

fn run(model: &CompiledModel, work: &Work) -> Result<Outcome, String> {
    work.check()?;
    let data = model.config().observed_data.clone();
    let options = FitOptions::default();
    let err = |e: fitfleet_engine::infer::InferError| e.to_string();
    match work {
        Work::Hypotest { poi, test_stat, calculator } => {
            let o = HypotestOptions { test_stat: *test_stat, calculator: *calculator, fit: options };
            Ok(Outcome::Hypotest(hypotest(model, &data, *poi, &o).map_err(err)?))
        }
        Work::UpperLimit { alpha, test_stat, calculator, scan } => {
            if *calculator != Calculator::Asymptotics {
                return Err("upper limits are computed with the asymptotic calculator only".into());
            }
            let calc = AsymptoticCalculator::new(model, &data, *test_stat, &options).map_err(err)?;
            let o = UpperLimitOptions { alpha: *alpha, scan: scan.map(|s| s.values()), ..Default::default() };
            Ok(Outcome::UpperLimit(upper_limit(&calc, &o).map_err(err)?))
        }
        Work::Fit => {
            let r = fit(model, &data, &FitOptions { uncertainties: true, ..options }).map_err(err)?;
            if !r.converged {
                return Err(format!("fit did not converge: {}", r.message));
            }
            Ok(Outcome::Fit(r))
        }
        Work::Toys { poi, test_stat, seed, first, count } => Ok(Outcome::Toys(
            toys::shard(model, &data, *poi, *test_stat, *seed, *first, *count, &options).map_err(err)?,
        )),
        Work::Significance => Ok(Outcome::Significance(significance(model, &data, &options).map_err(err)?)),
    }
}
