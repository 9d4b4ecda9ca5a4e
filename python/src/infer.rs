//! Fits and tests on a model, as the command line's `fit`, `cls`, `upper-limit` and
//! `significance` run them; each result as the JSON those commands write, the GIL released.
use anyhow::{Context, bail};
use fitfleet_engine::infer::calculators::AsymptoticCalculator;
use fitfleet_engine::infer::mle::{fit_from, suggested_start};
use fitfleet_engine::infer::{
    Calculator, FitOptions, HypotestOptions, Start, TestStatistic, UpperLimitOptions, hypotest as asymptotic_hypotest,
    significance as discovery,
};
use fitfleet_protocol::Work;
use pyo3::prelude::*;

use crate::errors::OrPy;
use crate::model::PyModel;

/// A maximum-likelihood fit of `data` (main then auxiliary), from `init_pars` (default: the
/// suggested values) with `fixed_params` held (default: the suggested ones).
#[pyfunction]
#[pyo3(signature = (model, data, init_pars=None, fixed_params=None, uncertainties=false))]
pub fn fit(
    py: Python<'_>,
    model: PyRef<'_, PyModel>,
    data: Vec<f64>,
    init_pars: Option<Vec<f64>>,
    fixed_params: Option<Vec<bool>>,
    uncertainties: bool,
) -> PyResult<String> {
    let compiled = model.compiled.clone();
    py.detach(|| {
        let mut start = suggested_start(&compiled);
        let npars = start.x.len();
        if let Some(x) = init_pars {
            if x.len() != npars {
                bail!("init_pars has {} values, the model {npars} parameters", x.len());
            }
            start.x = x;
        }
        if let Some(fixed) = fixed_params {
            if fixed.len() != npars {
                bail!("fixed_params has {} values, the model {npars} parameters", fixed.len());
            }
            start.fixed = fixed;
        }
        let obs = compiled.observations(&[data])?;
        let options = FitOptions { uncertainties, ..Default::default() };
        let r = fit_from(&compiled, &obs, Start { x: start.x, fixed: start.fixed }, &options)?;
        Ok::<_, anyhow::Error>(serde_json::to_string(&r)?)
    })
    .or_py()
}

/// A hypothesis test at `mu`: the command line's `cls` (asymptotics, or toys on every core).
#[pyfunction]
#[pyo3(signature = (model, data, mu, test_stat="qtilde", calctype="asymptotics", ntoys=2000, seed=0))]
#[allow(clippy::too_many_arguments)]
pub fn hypotest(
    py: Python<'_>,
    model: PyRef<'_, PyModel>,
    data: Vec<f64>,
    mu: f64,
    test_stat: &str,
    calctype: &str,
    ntoys: usize,
    seed: u64,
) -> PyResult<String> {
    let test_stat = parse_test_stat(test_stat).or_py()?;
    let calculator = match calctype {
        "asymptotics" => Calculator::Asymptotics,
        "toybased" | "toys" => Calculator::Toys { ntoys, seed },
        other => {
            return Err(crate::errors::to_py(anyhow::anyhow!("calctype {other:?}: expected asymptotics or toybased")));
        }
    };
    // The worker's own check of the work, as `fitfleet cls` makes it.
    fitfleet::tasks::check_work(&Work::Hypotest { poi: mu, test_stat, calculator }).or_py()?;
    let compiled = model.compiled.clone();
    py.detach(|| {
        let r = match calculator {
            Calculator::Toys { ntoys, seed } => {
                fitfleet::toys_local::hypotest(&compiled, &data, mu, test_stat, ntoys, seed)?
            }
            Calculator::Asymptotics => {
                let options = HypotestOptions { test_stat, calculator, fit: FitOptions::default() };
                asymptotic_hypotest(&compiled, &data, mu, &options)?
            }
        };
        Ok::<_, anyhow::Error>(serde_json::to_string(&r)?)
    })
    .or_py()
}

/// Upper limits at CLs = `alpha`: by root finding, or interpolated over `scan`.
#[pyfunction]
#[pyo3(signature = (model, data, scan=None, alpha=0.05, test_stat="qtilde"))]
pub fn upper_limit(
    py: Python<'_>,
    model: PyRef<'_, PyModel>,
    data: Vec<f64>,
    scan: Option<Vec<f64>>,
    alpha: f64,
    test_stat: &str,
) -> PyResult<String> {
    let test_stat = parse_test_stat(test_stat).or_py()?;
    let compiled = model.compiled.clone();
    py.detach(|| {
        if alpha.is_nan() || alpha <= 0.0 || alpha >= 1.0 {
            bail!("level {alpha}: the CLs level must lie between 0 and 1");
        }
        let calc = AsymptoticCalculator::new(&compiled, &data, test_stat, &FitOptions::default())?;
        let options = UpperLimitOptions { alpha, scan, ..Default::default() };
        let r = fitfleet_engine::infer::upper_limit(&calc, &options)?;
        for note in &r.notes {
            tracing::warn!("{note}");
        }
        Ok::<_, anyhow::Error>(serde_json::to_string(&r)?)
    })
    .or_py()
}

/// The discovery significance from q0, as `fitfleet significance`.
#[pyfunction]
pub fn significance(py: Python<'_>, model: PyRef<'_, PyModel>, data: Vec<f64>) -> PyResult<String> {
    let compiled = model.compiled.clone();
    py.detach(|| {
        let r = discovery(&compiled, &data, &FitOptions::default())?;
        Ok::<_, anyhow::Error>(serde_json::to_string(&r)?)
    })
    .or_py()
}

fn parse_test_stat(name: &str) -> anyhow::Result<TestStatistic> {
    name.parse::<TestStatistic>().map_err(anyhow::Error::msg).context("test_stat")
}

/// The ranking of the nuisance parameters by impact on the POI: `fitfleet ranking`'s JSON.
#[pyfunction]
pub fn ranking(py: Python<'_>, model: PyRef<'_, PyModel>, data: Vec<f64>) -> PyResult<String> {
    let compiled = model.compiled.clone();
    py.detach(|| {
        let r = fitfleet_engine::infer::diagnostics::ranking(
            &compiled,
            &data,
            &FitOptions::default(),
            &fitfleet_engine::infer::Interrupt::none(),
            &mut |_, _| {},
        )?;
        Ok::<_, anyhow::Error>(serde_json::to_string(&r)?)
    })
    .or_py()
}

/// A profile-likelihood scan of `data` in the named parameters (one or two), one grid of values
/// each: `fitfleet scan`'s JSON.
#[pyfunction]
pub fn scan(
    py: Python<'_>,
    model: PyRef<'_, PyModel>,
    data: Vec<f64>,
    parameters: Vec<String>,
    grids: Vec<Vec<f64>>,
) -> PyResult<String> {
    let compiled = model.compiled.clone();
    py.detach(|| {
        use fitfleet_engine::infer::diagnostics::{Reference, parameter_indices, scan};
        let indices = parameter_indices(&compiled, &parameters)?;
        let reference = Reference::fit(&compiled, &data, &FitOptions::default())?;
        let s = scan(
            &compiled,
            &data,
            &reference,
            &indices,
            &grids,
            &FitOptions::default(),
            &fitfleet_engine::infer::Interrupt::none(),
            &mut |_, _| {},
        )?;
        Ok::<_, anyhow::Error>(serde_json::to_string(&s)?)
    })
    .or_py()
}
