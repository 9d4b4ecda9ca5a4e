//! `fitfleet device-timing`: the model's batched likelihood timed on a device, per batch size.
//!
//! Every fit, toy and scan point evaluates the NLL and its gradient over a batch of points (one
//! formulation, `compute/nll.rs`). On a GPU an evaluation costs kernel launches more than
//! arithmetic, so its time per point falls with the batch until the device is full; on the cpu
//! it falls much less. This measures that curve for one model, with the numbers checked: rows of
//! a batch against the same points evaluated alone and, off the cpu, every row against the cpu.
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::Device;
use fitfleet_engine::compute::{CompiledModel, Observations};
use fitfleet_engine::infer::minimize::dense_curvature;
use serde::Serialize;

use crate::args::DeviceTimingArgs;
use crate::{input, output};

/// Largest relative difference allowed between a batched row and the same point alone, and
/// between the device and the cpu (f64 throughout: only the order of sums differs).
const RELATIVE_TOLERANCE: f64 = 1e-8;

/// Rows of the largest batch evaluated alone again for the check.
const CHECKED_ROWS: usize = 4;

#[derive(Serialize)]
struct Report {
    device: String,
    model: Shape,
    timings: Vec<Timing>,
    checks: Checks,
    passed: bool,
}

#[derive(Serialize)]
struct Shape {
    parameters: usize,
    bins: usize,
    samples: usize,
    auxiliary_data: usize,
    /// What the fits' curvature pass is: `dense` (the rate Jacobian as a matrix) or
    /// `structured` (sparse, for large models).
    curvature: &'static str,
}

#[derive(Serialize)]
struct Timing {
    /// `nll_grad` (every fit's evaluation) or the fits' curvature pass
    /// (`nll_grad_jacobian`, `nll_grad_sparse_jacobian`).
    evaluation: &'static str,
    batch: usize,
    median_seconds_per_call: f64,
    microseconds_per_point: f64,
    /// Time per point at batch 1 over time per point at this batch.
    per_point_speedup_vs_batch_1: Option<f64>,
}

#[derive(Serialize)]
struct Checks {
    relative_tolerance: f64,
    /// NLL and gradient of the first rows of the largest batch against each point alone.
    batch_vs_single_max_rel_diff: f64,
    /// Every row of the largest batch against the cpu (absent on the cpu).
    device_vs_cpu_max_rel_diff: Option<f64>,
}

#[derive(Clone, Copy, PartialEq)]
enum Evaluation {
    NllGrad,
    DenseCurvature,
    SparseCurvature,
}

impl Evaluation {
    fn name(self) -> &'static str {
        match self {
            Evaluation::NllGrad => "nll_grad",
            Evaluation::DenseCurvature => "nll_grad_jacobian",
            Evaluation::SparseCurvature => "nll_grad_sparse_jacobian",
        }
    }
}

pub fn run(args: &DeviceTimingArgs) -> Result<ExitCode> {
    let loaded = input::load(&args.model)?;
    let model = &loaded.compiled;
    let obs = model.observations(std::slice::from_ref(&loaded.data))?;
    let curvature = if dense_curvature(model) { Evaluation::DenseCurvature } else { Evaluation::SparseCurvature };
    let mut batches: Vec<usize> = args.batch.iter().map(|&b| b as usize).collect();
    batches.sort_unstable();
    batches.dedup();
    let mut timings = Vec::new();
    for evaluation in [Evaluation::NllGrad, curvature] {
        let mut batch_1: Option<f64> = None;
        for &b in &batches {
            let theta = model.params(&points(model, b))?;
            let mut seconds = Vec::with_capacity(args.repeats as usize);
            evaluate(model, &theta, &obs, evaluation)?; // untimed: first-use allocations, kernel loads
            for _ in 0..args.repeats {
                let t = Instant::now();
                evaluate(model, &theta, &obs, evaluation)?;
                seconds.push(t.elapsed().as_secs_f64());
            }
            let per_call = median(&mut seconds);
            let per_point = per_call / b as f64;
            if b == 1 {
                batch_1 = Some(per_point);
            }
            timings.push(Timing {
                evaluation: evaluation.name(),
                batch: b,
                median_seconds_per_call: per_call,
                microseconds_per_point: per_point * 1e6,
                per_point_speedup_vs_batch_1: batch_1.map(|one| one / per_point),
            });
        }
    }

    let largest = *batches.last().context("no batch size given (--batch)")?;
    let xs = points(model, largest);
    let batched = evaluate(model, &model.params(&xs)?, &obs, Evaluation::NllGrad)?;
    let mut batch_vs_single: f64 = 0.0;
    for (j, x) in xs.iter().take(CHECKED_ROWS).enumerate() {
        let alone = evaluate(model, &model.params(std::slice::from_ref(x))?, &obs, Evaluation::NllGrad)?;
        batch_vs_single = batch_vs_single.max(max_rel_diff(&row(&batched, j, model.npars()), &alone));
    }
    let device_vs_cpu = if model.device().is_cpu() {
        None
    } else {
        let cpu = CompiledModel::new(&loaded.model, &Device::Cpu).context("compiling the model on the cpu")?;
        let cpu_obs = cpu.observations(std::slice::from_ref(&loaded.data))?;
        let on_cpu = evaluate(&cpu, &cpu.params(&xs)?, &cpu_obs, Evaluation::NllGrad)?;
        Some(max_rel_diff(&batched, &on_cpu))
    };
    let passed = batch_vs_single <= RELATIVE_TOLERANCE && device_vs_cpu.is_none_or(|d| d <= RELATIVE_TOLERANCE);
    let report = Report {
        device: args.model.device.device.clone(),
        model: Shape {
            parameters: model.npars(),
            bins: model.nbins(),
            samples: loaded.model.samples.len(),
            auxiliary_data: model.naux(),
            curvature: if curvature == Evaluation::DenseCurvature { "dense" } else { "structured" },
        },
        timings,
        checks: Checks {
            relative_tolerance: RELATIVE_TOLERANCE,
            batch_vs_single_max_rel_diff: batch_vs_single,
            device_vs_cpu_max_rel_diff: device_vs_cpu,
        },
        passed,
    };
    output::json(&report, args.output.out.as_deref())?;
    if !passed {
        eprintln!("fitfleet: the device's likelihood differs by more than {RELATIVE_TOLERANCE:e} (relative)");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The NLL and gradient of each point, as `(nll, grad)` per row.
type Values = (Vec<f64>, Vec<f64>);

/// One evaluation of the batch `theta`; the NLL and gradient it returns (every evaluation copies
/// its results to the host, so the time includes the device's work).
fn evaluate(model: &CompiledModel, theta: &candle_core::Tensor, obs: &Observations, e: Evaluation) -> Result<Values> {
    Ok(match e {
        Evaluation::NllGrad => {
            let r = model.nll_grad(theta, obs)?;
            (r.nll, r.grad)
        }
        Evaluation::DenseCurvature => {
            let r = model.nll_grad_jacobian(theta, obs)?;
            (r.nll, r.grad)
        }
        Evaluation::SparseCurvature => {
            let r = model.nll_grad_sparse_jacobian(theta, obs)?;
            (r.nll, r.grad)
        }
    })
}

/// Row `j` of a batch's values, as a batch of one.
fn row(values: &Values, j: usize, npars: usize) -> Values {
    (vec![values.0[j]], values.1[j * npars..(j + 1) * npars].to_vec())
}

fn flatten(values: &Values) -> Vec<f64> {
    values.0.iter().chain(&values.1).copied().collect()
}

fn max_rel_diff(a: &Values, b: &Values) -> f64 {
    rel_diff(&flatten(a), &flatten(b))
}

/// The largest `|a - b| / max(|a|, |b|, 1)`; infinite where lengths or finiteness differ.
fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    a.iter().zip(b).fold(0.0, |worst: f64, (x, y)| {
        let d = if x.is_finite() && y.is_finite() {
            (x - y).abs() / x.abs().max(y.abs()).max(1.0)
        } else if x.to_bits() == y.to_bits() {
            0.0
        } else {
            f64::INFINITY
        };
        worst.max(d)
    })
}

/// `b` distinct points near the suggested initial values: each free parameter moved by up to
/// half its constraint width (a tenth of its value, at least 0.1, when unconstrained), inside
/// its bounds.
fn points(model: &CompiledModel, b: usize) -> Vec<Vec<f64>> {
    let c = model.config();
    (0..b)
        .map(|j| {
            (0..model.npars())
                .map(|i| {
                    let x0 = c.suggested_init[i];
                    if c.suggested_fixed[i] {
                        return x0;
                    }
                    let width = if c.prefit_widths[i] > 0.0 { c.prefit_widths[i] } else { 0.1 * x0.abs().max(1.0) };
                    let [lo, hi] = c.suggested_bounds[i];
                    (x0 + 0.5 * width * (1.0 + 0.37 * j as f64 + 0.11 * i as f64).sin()).clamp(lo, hi)
                })
                .collect()
        })
        .collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_differences_treat_lengths_and_non_finite_values_as_failures() {
        assert_eq!(rel_diff(&[1.0, 200.0], &[1.0, 200.0]), 0.0);
        assert!((rel_diff(&[0.5, 200.0], &[0.5, 200.002]) - 1e-5).abs() < 1e-9);
        // Below 1 in magnitude the difference is absolute.
        assert!((rel_diff(&[1e-3], &[2e-3]) - 1e-3).abs() < 1e-12);
        assert_eq!(rel_diff(&[1.0], &[1.0, 2.0]), f64::INFINITY);
        assert_eq!(rel_diff(&[f64::NAN], &[1.0]), f64::INFINITY);
        assert_eq!(rel_diff(&[f64::INFINITY], &[f64::INFINITY]), 0.0);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
