//! The toy calculator, as pyhf's `ToyCalculator`: pseudo-experiments drawn from the model at
//! the signal-plus-background (mu) and background-only (0; 1 for q0) hypotheses, whose
//! nuisance parameters come from fits to the observed data with the POI fixed. Main bins
//! fluctuate as Poisson counts, auxiliary data as their constraint does (Gaussian or Poisson).
//!
//! Toy `i` of a seed is drawn from its own random stream, so a range of toys (a shard) gives
//! exactly the test statistics the same toys give in one long run: shards merge exactly. Toys
//! are fitted in batches through the batched likelihood.
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, Normal, Poisson};

use super::super::minimize::{
    FitOptions, Start, dense_curvature, expected_curvature, minimize, minimize_from_curvatures,
};
use super::super::mle::{poi_index, with_poi_fixed};
use super::super::{
    HypotestResult, InferError, Interrupt, TestStatistic, ToyCounts, ToyShard, normal, test_statistics,
};
use crate::compute::{AuxSlot, CompiledModel};

/// How many toys are fitted together in one batch.
const BATCH: usize = 64;

/// The two hypotheses toys are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hypothesis {
    SignalPlusBackground = 0,
    BackgroundOnly = 1,
}

/// Draw and fit toys `first..first + count` of `seed` at the POI value `mu`. `interrupt` is
/// checked before each batch of toys: a stopped shard is an [`InferError::Interrupted`].
#[allow(clippy::too_many_arguments)]
pub fn shard(
    model: &CompiledModel,
    data: &[f64],
    mu: f64,
    stat: TestStatistic,
    seed: u64,
    first: u64,
    count: u64,
    options: &FitOptions,
    interrupt: &Interrupt,
) -> Result<ToyShard, InferError> {
    interrupt.check()?;
    let setup = Setup::new(model, data, mu, stat, options)?;
    let mut sb = Vec::with_capacity(count as usize);
    let mut b = Vec::with_capacity(count as usize);
    let mut failed = 0;
    let mut start = first;
    while start < first + count {
        interrupt.check()?;
        let n = (first + count - start).min(BATCH as u64);
        for (hyp, out) in [(Hypothesis::SignalPlusBackground, &mut sb), (Hypothesis::BackgroundOnly, &mut b)] {
            let toys: Vec<Vec<f64>> = (start..start + n).map(|i| setup.draw(seed, hyp, i)).collect();
            for value in setup.test_statistics(&toys, hyp as usize)? {
                match value {
                    Some((v, _)) => out.push(v),
                    None => failed += 1,
                }
            }
        }
        start += n;
    }
    let (test_stat_obs, mu_hat) = setup.observed()?;
    Ok(ToyShard {
        mu: setup.mu,
        test_stat: stat,
        seed,
        first,
        test_stat_obs,
        mu_hat,
        signal_plus_background: sb,
        background_only: b,
        failed,
    })
}

/// CLs from the test-statistic distributions of one or more shards (pyhf's empirical p-values;
/// the expected band from the CLs of each background-only toy, at the normal quantiles).
pub fn result(shards: &[ToyShard]) -> Result<HypotestResult, InferError> {
    let first = shards.first().ok_or_else(|| InferError::Invalid("no toys to combine".into()))?;
    for s in shards {
        if s.mu != first.mu || s.test_stat != first.test_stat || s.seed != first.seed {
            return Err(InferError::Invalid("toy shards of different tests cannot be merged".into()));
        }
    }
    let sb: Vec<f64> = shards.iter().flat_map(|s| s.signal_plus_background.iter().copied()).collect();
    let b: Vec<f64> = shards.iter().flat_map(|s| s.background_only.iter().copied()).collect();
    if sb.is_empty() || b.is_empty() {
        return Err(InferError::NotConverged("no toy fit converged".into()));
    }
    let tail = |sample: &[f64], value: f64| sample.iter().filter(|t| **t >= value).count() as f64 / sample.len() as f64;
    let pvalues = |value: f64| {
        let clsb = tail(&sb, value);
        let clb = tail(&b, value);
        (clsb, clb, clsb / clb)
    };
    let observed = first.test_stat_obs;
    let (clsb, clb, cls) = pvalues(observed);
    let q0 = first.test_stat == TestStatistic::Q0;
    let mut band: Vec<f64> = b
        .iter()
        .map(|t| {
            let (clsb, _, cls) = pvalues(*t);
            if q0 { clsb } else { cls }
        })
        .collect();
    band.sort_by(f64::total_cmp);
    let mut cls_exp = [0.0; 5];
    for (slot, n) in cls_exp.iter_mut().zip([-2.0, -1.0, 0.0, 1.0, 2.0]) {
        *slot = percentile(&band, 100.0 * normal::cdf(n));
    }
    Ok(HypotestResult {
        mu: first.mu,
        test_stat: first.test_stat,
        cls_obs: if q0 { clsb } else { cls },
        cls_exp,
        clsb_obs: clsb,
        clb_obs: clb,
        test_stat_obs: observed,
        mu_hat: first.mu_hat,
        toys: Some(counts(shards)),
    })
}

/// The toys drawn and dropped over `shards` (each shard draws as many toys of each hypothesis
/// as it kept plus its share of the failures).
fn counts(shards: &[ToyShard]) -> ToyCounts {
    let kept = |f: fn(&ToyShard) -> usize| shards.iter().map(|s| f(s) as u64).sum::<u64>();
    let failed: u64 = shards.iter().map(|s| s.failed as u64).sum();
    let (sb, b) = (kept(|s| s.signal_plus_background.len()), kept(|s| s.background_only.len()));
    // Each shard drew as many of each; the failures are split between the two.
    let drawn = (sb + b + failed) / 2;
    ToyCounts { signal_plus_background: drawn, background_only: drawn, failed }
}

/// CLs at `mu` from `ntoys` toys per hypothesis.
pub fn hypotest(
    model: &CompiledModel,
    data: &[f64],
    mu: f64,
    stat: TestStatistic,
    ntoys: usize,
    seed: u64,
    options: &FitOptions,
) -> Result<HypotestResult, InferError> {
    result(&[shard(model, data, mu, stat, seed, 0, ntoys as u64, options, &Interrupt::none())?])
}

/// numpy's linear-interpolation percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// What every toy of a test shares: the generating parameters and the fit set-up.
struct Setup<'a> {
    model: &'a CompiledModel,
    stat: TestStatistic,
    mu: f64,
    bounds: Vec<[f64; 2]>,
    options: FitOptions,
    poi: usize,
    data: Vec<f64>,
    /// Parameters the toys of each hypothesis are drawn at.
    generators: [Vec<f64>; 2],
    /// Expected main data at those parameters.
    expected: [Vec<f64>; 2],
    /// The expected curvature of the NLL there: every toy fit of a hypothesis starts from it.
    /// `None` for large models, whose fits are Gauss-Newton's (no P x P matrix).
    curvature: Option<[nalgebra::DMatrix<f64>; 2]>,
}

impl<'a> Setup<'a> {
    fn new(
        model: &'a CompiledModel,
        data: &[f64],
        mu: f64,
        stat: TestStatistic,
        options: &FitOptions,
    ) -> Result<Self, InferError> {
        let poi = poi_index(model)?;
        let mu = test_statistics::tested_mu(stat, mu);
        let mut bounds = model.config().suggested_bounds.clone();
        bounds[poi] = test_statistics::poi_bounds(stat, bounds[poi]);
        let obs = model.observations(&[data.to_vec()])?;
        let init = Start { x: model.config().suggested_init.clone(), fixed: model.config().suggested_fixed.clone() };
        let starts =
            [with_poi_fixed(model, init.clone(), mu)?, with_poi_fixed(model, init, test_statistics::asimov_mu(stat))?];
        let fits = minimize(model, &obs, &starts, &bounds, options)?;
        for f in &fits {
            if !f.converged {
                return Err(InferError::NotConverged(format!("fit of the toys' generating parameters: {}", f.message)));
            }
        }
        let generators = [fits[0].x.clone(), fits[1].x.clone()];
        let curvature = if dense_curvature(model) {
            Some([expected_curvature(model, &generators[0])?, expected_curvature(model, &generators[1])?])
        } else {
            None
        };
        let expected = model.expected_data(&generators)?;
        let nb = model.nbins();
        Ok(Setup {
            model,
            stat,
            mu,
            bounds,
            options: *options,
            poi,
            data: data.to_vec(),
            expected: [expected[0][..nb].to_vec(), expected[1][..nb].to_vec()],
            generators,
            curvature,
        })
    }

    /// Toy `index` of `seed` under `hyp`: main then auxiliary data.
    fn draw(&self, seed: u64, hyp: Hypothesis, index: u64) -> Vec<f64> {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&index.to_le_bytes());
        key[16] = hyp as u8;
        key[24..].copy_from_slice(b"fitfleet");
        let mut rng = ChaCha20Rng::from_seed(key);
        let h = hyp as usize;
        let pars = &self.generators[h];
        let mut toy: Vec<f64> = self.expected[h].iter().map(|l| poisson(&mut rng, *l)).collect();
        let sigmas = self.model.constraint_sigmas();
        let mut gauss = 0;
        for slot in self.model.aux_slots() {
            toy.push(match *slot {
                AuxSlot::Gauss { param } => {
                    let s = sigmas[gauss];
                    gauss += 1;
                    Normal::new(pars[param], s).map(|d| d.sample(&mut rng)).unwrap_or(pars[param])
                }
                AuxSlot::Poisson { param, factor } => poisson(&mut rng, pars[param] * factor),
            });
        }
        toy
    }

    /// The test statistic and mu_hat of each toy dataset (`None` where a fit failed): a free
    /// fit and a fit with the POI fixed at mu, both from the generating parameters, batched.
    /// Fits start from the parameters the toys of hypothesis `hyp` were drawn at, with the
    /// expected curvature there (quasi-Newton, gradients only); fits that do not converge that
    /// way are redone with Gauss-Newton steps.
    fn test_statistics(&self, toys: &[Vec<f64>], hyp: usize) -> Result<Vec<Option<(f64, f64)>>, InferError> {
        let model = self.model;
        let fixed = &model.config().suggested_fixed;
        let mut starts = Vec::with_capacity(2 * toys.len());
        let mut rows = Vec::with_capacity(2 * toys.len());
        for toy in toys {
            let from = &self.generators[hyp];
            starts.push(Start { x: from.clone(), fixed: fixed.clone() });
            starts.push(with_poi_fixed(model, Start { x: from.clone(), fixed: fixed.clone() }, self.mu)?);
            rows.push(toy.clone());
            rows.push(toy.clone());
        }
        let obs = model.observations(&rows)?;
        let mut mins = match &self.curvature {
            Some(curvature) if !model.kinked().iter().any(|k| *k) => {
                let curvature = std::slice::from_ref(&curvature[hyp]);
                minimize_from_curvatures(model, &obs, &starts, &self.bounds, curvature, None, &self.options)?
            }
            _ => minimize(model, &obs, &starts, &self.bounds, &self.options)?,
        };
        let failed: Vec<usize> = (0..mins.len()).filter(|&i| !mins[i].converged).collect();
        if !failed.is_empty() {
            let retry_starts: Vec<Start> = failed.iter().map(|&i| starts[i].clone()).collect();
            let retry = minimize(model, &obs.select(model, &failed)?, &retry_starts, &self.bounds, &self.options)?;
            for (&i, m) in failed.iter().zip(retry) {
                mins[i] = m;
            }
        }
        let twice = model.twice_nll_from(&mins.iter().map(|m| m.nll).collect::<Vec<_>>(), &obs);
        Ok((0..toys.len())
            .map(|i| {
                let (free, fixed) = (&mins[2 * i], &mins[2 * i + 1]);
                (free.converged && fixed.converged).then(|| {
                    let mu_hat = free.x[self.poi];
                    (test_statistics::value(self.stat, self.mu, twice[2 * i + 1], twice[2 * i], mu_hat), mu_hat)
                })
            })
            .collect())
    }

    /// The observed value of the test statistic, and mu_hat.
    fn observed(&self) -> Result<(f64, f64), InferError> {
        let values = self.test_statistics(std::slice::from_ref(&self.data), 0)?;
        values[0].ok_or_else(|| InferError::NotConverged("fits to the observed data".into()))
    }
}

/// A Poisson count with mean `lambda` (0 for a mean of 0).
fn poisson(rng: &mut ChaCha20Rng, lambda: f64) -> f64 {
    if lambda > 0.0 { Poisson::new(lambda).map(|d| d.sample(rng)).unwrap_or(0.0) } else { 0.0 }
}
