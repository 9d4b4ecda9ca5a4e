//! Running a task's work on a compiled model.
use std::panic::{AssertUnwindSafe, catch_unwind};

use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::infer::calculators::{AsymptoticCalculator, toys};
use fitfleet_engine::infer::{
    Calculator, FitOptions, HypotestOptions, InferError, UpperLimitOptions, fit, hypotest, significance, upper_limit,
};
use fitfleet_protocol::{InvalidWork, Outcome, Work};

/// Why a task's work gave no outcome.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The work asks for numbers no worker runs.
    #[error(transparent)]
    Work(#[from] InvalidWork),
    /// The engine could not do it (a model it cannot fit, a limit not bracketed, ...).
    #[error(transparent)]
    Engine(#[from] InferError),
    /// The best fit was not found.
    #[error("fit did not converge: {0}")]
    NotConverged(String),
    /// A combination the engine does not offer.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The engine panicked: a bug, caught so that the worker goes on.
    #[error("the engine panicked: {0}")]
    Panic(String),
}

/// Do `work` on `model` with its observed data. A fit that does not converge, an error or a
/// panic in the engine is an `Err` with the reason.
pub fn execute(model: &CompiledModel, work: &Work) -> Result<Outcome, ExecuteError> {
    match catch_unwind(AssertUnwindSafe(|| run(model, work))) {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(ExecuteError::Panic(what))
        }
    }
}

fn run(model: &CompiledModel, work: &Work) -> Result<Outcome, ExecuteError> {
    work.check()?;
    let data = model.config().observed_data.clone();
    let options = FitOptions::default();
    match work {
        Work::Hypotest { poi, test_stat, calculator } => {
            let o = HypotestOptions { test_stat: *test_stat, calculator: *calculator, fit: options };
            Ok(Outcome::Hypotest(hypotest(model, &data, *poi, &o)?))
        }
        Work::UpperLimit { alpha, test_stat, calculator, scan } => {
            if *calculator != Calculator::Asymptotics {
                return Err(ExecuteError::Unsupported("upper limits are computed with the asymptotic calculator only"));
            }
            let calc = AsymptoticCalculator::new(model, &data, *test_stat, &options)?;
            let o = UpperLimitOptions { alpha: *alpha, scan: scan.map(|s| s.values()), ..Default::default() };
            Ok(Outcome::UpperLimit(upper_limit(&calc, &o)?))
        }
        Work::Fit => {
            let r = fit(model, &data, &FitOptions { uncertainties: true, ..options })?;
            if !r.converged {
                return Err(ExecuteError::NotConverged(r.message));
            }
            Ok(Outcome::Fit(r))
        }
        Work::Toys { poi, test_stat, seed, first, count } => {
            Ok(Outcome::Toys(toys::shard(model, &data, *poi, *test_stat, *seed, *first, *count, &options)?))
        }
        Work::Significance => Ok(Outcome::Significance(significance(model, &data, &options)?)),
    }
}
