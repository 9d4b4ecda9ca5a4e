//! Running a task's work on a compiled model.
use std::panic::{AssertUnwindSafe, catch_unwind};

use fitfleet_engine::compute::CompiledModel;
use fitfleet_engine::infer::calculators::{AsymptoticCalculator, Hypotests, toys};
use fitfleet_engine::infer::diagnostics::{Reference, impacts, parameter_indices};
use fitfleet_engine::infer::{
    Calculator, FitOptions, HypotestOptions, HypotestResult, InferError, Interrupt, StopReason, UpperLimitOptions, fit,
    hypotest, significance, upper_limit,
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
    /// Stopped between two batches by its [`Interrupt`].
    #[error("the work was {0}")]
    Stopped(StopReason),
}

/// POI values evaluated together between two checks of the interrupt in scans and limits.
const SCAN_BATCH: usize = 16;

/// A calculator whose scans check an [`Interrupt`] before each batch of [`SCAN_BATCH`] POI
/// values (root finding asks a few at a time, and is checked at each ask).
struct Interruptible<'a> {
    calc: &'a dyn Hypotests,
    interrupt: &'a Interrupt,
}

impl Hypotests for Interruptible<'_> {
    fn hypotests(&self, mus: &[f64]) -> Result<Vec<HypotestResult>, InferError> {
        let mut out = Vec::with_capacity(mus.len());
        for batch in mus.chunks(SCAN_BATCH) {
            self.interrupt.check()?;
            out.extend(self.calc.hypotests(batch)?);
        }
        Ok(out)
    }

    fn poi_bounds(&self) -> [f64; 2] {
        self.calc.poi_bounds()
    }
}

/// Do `work` on `model` with its observed data. A fit that does not converge, an error or a
/// panic in the engine is an `Err` with the reason; so is work that `interrupt` stopped
/// ([`ExecuteError::Stopped`]), checked between batches of toys and of scan points.
pub fn execute(model: &CompiledModel, work: &Work, interrupt: &Interrupt) -> Result<Outcome, ExecuteError> {
    let outcome =
        catch_unwind(AssertUnwindSafe(|| run(model, work, interrupt).and_then(|o| stopped(interrupt).map(|()| o))));
    match outcome {
        Ok(Err(ExecuteError::Engine(InferError::Interrupted(reason)))) => Err(ExecuteError::Stopped(reason)),
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

/// The interrupt's reason, as an error, once it has one: work that ran past its budget is not
/// stored as though it had not.
fn stopped(interrupt: &Interrupt) -> Result<(), ExecuteError> {
    interrupt.reason().map_or(Ok(()), |r| Err(ExecuteError::Stopped(r)))
}

fn run(model: &CompiledModel, work: &Work, interrupt: &Interrupt) -> Result<Outcome, ExecuteError> {
    work.check()?;
    stopped(interrupt)?;
    let data = model.config().observed_data.clone();
    let options = FitOptions::default();
    match work {
        Work::Hypotest { poi, test_stat, calculator } => {
            if let Calculator::Toys { ntoys, seed } = *calculator {
                // In shards of toys, so that the interrupt is checked between batches.
                let shard = toys::shard(model, &data, *poi, *test_stat, seed, 0, ntoys as u64, &options, interrupt)?;
                return Ok(Outcome::Hypotest(toys::result(&[shard])?));
            }
            let o = HypotestOptions { test_stat: *test_stat, calculator: *calculator, fit: options };
            Ok(Outcome::Hypotest(hypotest(model, &data, *poi, &o)?))
        }
        Work::UpperLimit { alpha, test_stat, calculator, scan } => {
            if *calculator != Calculator::Asymptotics {
                return Err(ExecuteError::Unsupported("upper limits are computed with the asymptotic calculator only"));
            }
            let calc = AsymptoticCalculator::new(model, &data, *test_stat, &options)?;
            let o = UpperLimitOptions { alpha: *alpha, scan: scan.map(|s| s.values()), ..Default::default() };
            Ok(Outcome::UpperLimit(upper_limit(&Interruptible { calc: &calc, interrupt }, &o)?))
        }
        Work::Fit => {
            let r = fit(model, &data, &FitOptions { uncertainties: true, ..options })?;
            if !r.converged {
                return Err(ExecuteError::NotConverged(r.message));
            }
            Ok(Outcome::Fit(r))
        }
        Work::Toys { poi, test_stat, seed, first, count } => {
            Ok(Outcome::Toys(toys::shard(model, &data, *poi, *test_stat, *seed, *first, *count, &options, interrupt)?))
        }
        Work::Significance => Ok(Outcome::Significance(significance(model, &data, &options)?)),
        Work::Impacts { parameters } => {
            // Every name is checked before the first fit.
            let indices = parameter_indices(model, parameters)?;
            let reference = Reference::fit(model, &data, &options)?;
            let obs = model.observations(&[data]).map_err(InferError::from)?;
            let impacts = impacts(model, &obs, &reference, &indices, &options, interrupt, &mut |_, _| {})?;
            Ok(Outcome::Impacts(impacts))
        }
    }
}
