//! The asymptotic calculator (arXiv:1007.1727, as pyhf's `AsymptoticCalculator`): the test
//! statistic's distributions are shifted normals, with the shift sqrt(q_mu,A) measured on the
//! Asimov dataset of the background-only hypothesis (signal, for q0).
//!
//! Fits that do not depend on the tested mu (the free fit to the data, the Asimov dataset and
//! its free fit, which is known without a search: the parameters the dataset was made from) are
//! made once; each tested mu then costs two fixed-POI fits, warm-started from
//! the free fits and batched over every mu asked for at once.
use super::super::minimize::{
    FitOptions, Minimum, Start, dense_curvature, fisher_curvatures, minimize, structured_curvature,
};
use super::super::mle::{poi_index, with_poi_fixed};
use super::super::{HypotestResult, InferError, TestStatistic, normal, test_statistics};
use super::Hypotests;
use nalgebra::{DMatrix, DVector};

use crate::compute::{CompiledModel, Observations};

/// A free fit and its -2 ln L.
struct Fitted {
    min: Minimum,
    twice_nll: f64,
}

pub struct AsymptoticCalculator<'a> {
    model: &'a CompiledModel,
    stat: TestStatistic,
    bounds: Vec<[f64; 2]>,
    options: FitOptions,
    poi: usize,
    data: Vec<f64>,
    free: Fitted,
    asimov: Vec<f64>,
    asimov_free: Fitted,
    /// Smooth models only: how the fitted parameters move with the POI near the free fits to
    /// the data and to the Asimov dataset (see [`profile_direction`]).
    directions: Option<[Vec<f64>; 2]>,
    /// Fixed-POI fits made so far (mu, to the data, to the Asimov dataset): the next mu starts
    /// from the nearest, as a limit search walks towards its root.
    done: std::sync::Mutex<Vec<FixedFits>>,
}

/// The tested mu and the fitted parameters with the POI fixed there, to the data and to the
/// Asimov dataset.
type FixedFits = (f64, Vec<f64>, Vec<f64>);

impl<'a> AsymptoticCalculator<'a> {
    /// Fit `data` (main then auxiliary) freely, build the Asimov dataset and fit it.
    pub fn new(
        model: &'a CompiledModel,
        data: &[f64],
        stat: TestStatistic,
        options: &FitOptions,
    ) -> Result<Self, InferError> {
        let poi = poi_index(model)?;
        let mut bounds = model.config().suggested_bounds.clone();
        bounds[poi] = test_statistics::poi_bounds(stat, bounds[poi]);
        if model.config().suggested_fixed[poi] {
            return Err(InferError::Invalid(format!(
                "the parameter of interest {} is fixed in the measurement",
                model.config().par_names[poi]
            )));
        }
        let start = Start { x: model.config().suggested_init.clone(), fixed: model.config().suggested_fixed.clone() };
        let obs = model.observations(&[data.to_vec()])?;
        let free = fit_one(model, &obs, start.clone(), &bounds, options, "free fit to the data")?;
        // Across kinks (code 0/1) a start moved along the curvature may settle in another of the
        // local minima the kinks make: there the fixed fits start from the free fits as they are.
        let smooth = !model.kinked().iter().any(|k| *k);
        let data_direction =
            if smooth { profile_direction(model, &obs, &free.min.x, poi, &start.fixed)? } else { None };
        // The Asimov dataset: expected data at the nuisance parameters fitted with mu fixed.
        let asimov_mu = test_statistics::asimov_mu(stat);
        let warm = Start {
            x: closer(
                model,
                &[data.to_vec()],
                vec![moved(&free.min.x, data_direction.as_deref(), poi, asimov_mu, &bounds, &start.fixed)],
                vec![moved(&free.min.x, None, poi, asimov_mu, &bounds, &start.fixed)],
            )?
            .remove(0),
            fixed: start.fixed.clone(),
        };
        let at_asimov_mu = fit_one(
            model,
            &obs,
            with_poi_fixed(model, warm, asimov_mu)?,
            &bounds,
            options,
            "fit to the data with mu fixed for the Asimov dataset",
        )?;
        let asimov = model.expected_data(std::slice::from_ref(&at_asimov_mu.min.x))?.remove(0);
        let asimov_obs = model.observations(std::slice::from_ref(&asimov))?;
        // Its free fit needs no search: the Asimov dataset is the expected data (main and
        // auxiliary) at those parameters, where every Poisson and Gaussian term of the NLL is at
        // its minimum (deviance 0), so they are its maximum-likelihood estimate.
        let x = at_asimov_mu.min.x;
        let nll = model.nll(&model.params(std::slice::from_ref(&x))?, &asimov_obs)?[0];
        let asimov_free = Fitted {
            twice_nll: model.twice_nll_from(&[nll], &asimov_obs)[0],
            min: Minimum {
                x,
                nll,
                converged: true,
                iterations: 0,
                evaluations: 1,
                message: "the parameters the Asimov dataset was made from".into(),
            },
        };
        let asimov_direction =
            if smooth { profile_direction(model, &asimov_obs, &asimov_free.min.x, poi, &start.fixed)? } else { None };
        let directions = data_direction.zip(asimov_direction).map(|(d, a)| [d, a]);
        Ok(AsymptoticCalculator {
            model,
            stat,
            bounds,
            options: *options,
            poi,
            data: data.to_vec(),
            free,
            asimov,
            asimov_free,
            directions,
            done: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Best-fit POI of the free fit to the data.
    pub fn mu_hat(&self) -> f64 {
        self.free.min.x[self.poi]
    }

    /// The POI bounds the fits use.
    pub fn poi_bounds(&self) -> [f64; 2] {
        self.bounds[self.poi]
    }

    /// The Asimov dataset (main then auxiliary data).
    pub fn asimov_data(&self) -> &[f64] {
        &self.asimov
    }
}

impl Hypotests for AsymptoticCalculator<'_> {
    fn poi_bounds(&self) -> [f64; 2] {
        self.bounds[self.poi]
    }

    fn hypotests(&self, mus: &[f64]) -> Result<Vec<HypotestResult>, InferError> {
        let model = self.model;
        let fixed = &model.config().suggested_fixed;
        // Per tested mu: a fixed fit to the data and one to the Asimov dataset.
        let mut starts = Vec::with_capacity(2 * mus.len());
        let mut rows = Vec::with_capacity(2 * mus.len());
        let mut plain = Vec::with_capacity(2 * mus.len());
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let kinked = model.kinked().iter().any(|k| *k);
        for &mu in mus {
            let mu = test_statistics::tested_mu(self.stat, mu);
            let nearest = done.iter().min_by(|a, b| (a.0 - mu).abs().total_cmp(&(b.0 - mu).abs()));
            let (from_data, from_asimov) = match nearest {
                // Not across kinks (code 0/1): there a nearby start may settle in another of the
                // local minima the kinks make, and results would depend on the search's path.
                Some((m, d, a)) if (m - mu).abs() < (self.mu_hat() - mu).abs() && !kinked => (d, a),
                _ => (&self.free.min.x, &self.asimov_free.min.x),
            };
            for (k, (from, data)) in [(from_data, &self.data), (from_asimov, &self.asimov)].into_iter().enumerate() {
                let direction = self.directions.as_ref().map(|d| d[k].as_slice());
                let x = moved(from, direction, self.poi, mu, &self.bounds, fixed);
                plain.push(moved(from, None, self.poi, mu, &self.bounds, fixed));
                let start = Start { x, fixed: fixed.clone() };
                starts.push(with_poi_fixed(model, start, mu)?);
                rows.push(data.clone());
            }
        }
        if self.directions.is_some() {
            let xs = closer(model, &rows, starts.iter().map(|s| s.x.clone()).collect(), plain)?;
            for (s, x) in starts.iter_mut().zip(xs) {
                s.x = x;
            }
        }
        let obs = model.observations(&rows)?;
        let mins = minimize(model, &obs, &starts, &self.bounds, &self.options)?;
        let twice = model.twice_nll_from(&mins.iter().map(|m| m.nll).collect::<Vec<_>>(), &obs);
        let mut out = Vec::with_capacity(mus.len());
        for (i, &mu_asked) in mus.iter().enumerate() {
            let mu = test_statistics::tested_mu(self.stat, mu_asked);
            for (k, what) in ["data", "Asimov dataset"].iter().enumerate() {
                let m = &mins[2 * i + k];
                if !m.converged {
                    return Err(InferError::NotConverged(format!(
                        "fit to the {what} with mu fixed at {mu}: {}",
                        m.message
                    )));
                }
            }
            let q = test_statistics::value(self.stat, mu, twice[2 * i], self.free.twice_nll, self.mu_hat());
            let q_a = test_statistics::value(
                self.stat,
                mu,
                twice[2 * i + 1],
                self.asimov_free.twice_nll,
                self.asimov_free.min.x[self.poi],
            );
            out.push(pvalues(self.stat, mu, q, q_a, self.mu_hat()));
            let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
            done.push((mu, mins[2 * i].x.clone(), mins[2 * i + 1].x.clone()));
        }
        Ok(out)
    }
}

/// CLs+b, CLb and CLs from the observed q and the Asimov q_A, as pyhf computes them.
fn pvalues(stat: TestStatistic, mu: f64, q: f64, q_a: f64, mu_hat: f64) -> HypotestResult {
    let (sqrt_q, sqrt_q_a) = (q.sqrt(), q_a.sqrt());
    let ts = match stat {
        TestStatistic::Qmu | TestStatistic::Q0 => sqrt_q - sqrt_q_a,
        _ if sqrt_q <= sqrt_q_a => sqrt_q - sqrt_q_a,
        _ => (q - q_a) / (2.0 * sqrt_q_a),
    };
    // Signal-plus-background: a normal shifted by -sqrt(q_A); background only: unshifted.
    let tail = |t: f64| {
        let clsb = normal::cdf(-(t + sqrt_q_a));
        let clb = normal::cdf(-t);
        (clsb, clb, clsb / clb)
    };
    let (clsb, clb, cls) = tail(ts);
    let mut cls_exp = [0.0; 5];
    for (slot, n) in cls_exp.iter_mut().zip([2.0, 1.0, 0.0, -1.0, -2.0]) {
        let (clsb_n, _, cls_n) = tail(n);
        // For discovery pyhf reports the p-value of the background-only hypothesis.
        *slot = if stat == TestStatistic::Q0 { clsb_n } else { cls_n };
    }
    HypotestResult {
        mu,
        test_stat: stat,
        cls_obs: if stat == TestStatistic::Q0 { clsb } else { cls },
        cls_exp,
        clsb_obs: clsb,
        clb_obs: clb,
        test_stat_obs: q,
        mu_hat,
        toys: None,
    }
}

fn fit_one(
    model: &CompiledModel,
    obs: &Observations,
    start: Start,
    bounds: &[[f64; 2]],
    options: &FitOptions,
    what: &str,
) -> Result<Fitted, InferError> {
    let min = minimize(model, obs, &[start], bounds, options)?.remove(0);
    if !min.converged {
        return Err(InferError::NotConverged(format!("{what}: {}", min.message)));
    }
    let twice_nll = model.twice_nll_from(&[min.nll], obs)[0];
    Ok(Fitted { min, twice_nll })
}

/// How the minimum moves with the POI, from the curvature `H` of the NLL at a minimum `x` (the
/// Fisher information there): the minimiser of the quadratic model with the POI moved by one is
/// `x + H^-1 e_poi / (H^-1)_poi,poi`. Zero for fixed parameters; `None` where `H` is singular.
fn profile_direction(
    model: &CompiledModel,
    obs: &Observations,
    x: &[f64],
    poi: usize,
    fixed: &[bool],
) -> Result<Option<Vec<f64>>, InferError> {
    let free: Vec<usize> = (0..x.len()).filter(|&i| !fixed[i] || i == poi).collect();
    if !dense_curvature(model) {
        return structured_profile_direction(model, obs, x, poi, &free);
    }
    let h = fisher_curvatures(model, obs, &[x.to_vec()])?.remove(0);
    let n = free.len();
    let scale: Vec<f64> = free.iter().map(|&i| if h[(i, i)] > 0.0 { 1.0 / h[(i, i)].sqrt() } else { 1.0 }).collect();
    let m =
        DMatrix::from_fn(n, n, |a, b| h[(free[a], free[b])] * scale[a] * scale[b] + if a == b { 1e-10 } else { 0.0 });
    let Some(chol) = m.cholesky() else { return Ok(None) };
    let p = free.iter().position(|&i| i == poi).expect("the POI is among the free parameters");
    let z = chol.solve(&DVector::from_fn(n, |a, _| if a == p { scale[a] } else { 0.0 }));
    let zp = z[p] * scale[p];
    if !(zp > 0.0 && zp.is_finite()) {
        return Ok(None);
    }
    let mut d = vec![0.0; x.len()];
    for (a, &i) in free.iter().enumerate() {
        d[i] = z[a] * scale[a] / zp;
    }
    d[poi] = 1.0;
    Ok(Some(d))
}

/// [`profile_direction`] for large models: `H^-1 e_poi` by the structured solve, no P x P
/// matrix.
fn structured_profile_direction(
    model: &CompiledModel,
    obs: &Observations,
    x: &[f64],
    poi: usize,
    free: &[usize],
) -> Result<Option<Vec<f64>>, InferError> {
    let h = structured_curvature(model, obs, x, true)?;
    let mut g = vec![0.0; x.len()];
    g[poi] = -1.0;
    let Some(z) = h.solve(&g, free, 1e-10) else { return Ok(None) };
    let p = free.iter().position(|&i| i == poi).expect("the POI is among the free parameters");
    let zp = z[p];
    if !(zp > 0.0 && zp.is_finite()) {
        return Ok(None);
    }
    let mut d = vec![0.0; x.len()];
    for (a, &i) in free.iter().enumerate() {
        d[i] = z[a] / zp;
    }
    d[poi] = 1.0;
    Ok(Some(d))
}

/// `from` with the POI moved to `mu` and the free parameters along `direction` (when given),
/// kept inside `bounds`.
fn moved(
    from: &[f64],
    direction: Option<&[f64]>,
    poi: usize,
    mu: f64,
    bounds: &[[f64; 2]],
    fixed: &[bool],
) -> Vec<f64> {
    let mut x = from.to_vec();
    if let Some(d) = direction {
        let shift = mu - from[poi];
        if shift.is_finite() {
            for (i, v) in x.iter_mut().enumerate() {
                if !fixed[i] && i != poi {
                    *v = (*v + d[i] * shift).clamp(bounds[i][0], bounds[i][1]);
                }
            }
        }
    }
    x[poi] = mu;
    x
}

/// For each dataset of `rows` (one, or one per point), whichever of `moved[i]` and `plain[i]`
/// has the lower NLL (one batched evaluation): a start moved along the profile direction is
/// kept only where it is an improvement (far from the minimum it can leave the region where the
/// rates are positive).
fn closer(
    model: &CompiledModel,
    rows: &[Vec<f64>],
    moved: Vec<Vec<f64>>,
    plain: Vec<Vec<f64>>,
) -> Result<Vec<Vec<f64>>, InferError> {
    let n = moved.len();
    let mut data: Vec<Vec<f64>> = Vec::with_capacity(2 * n);
    for _ in 0..2 {
        for i in 0..n {
            data.push(rows[if rows.len() == 1 { 0 } else { i }].clone());
        }
    }
    let points: Vec<Vec<f64>> = moved.iter().chain(&plain).cloned().collect();
    let nll = model.nll(&model.params(&points)?, &model.observations(&data)?)?;
    Ok(moved
        .into_iter()
        .zip(plain)
        .enumerate()
        .map(|(i, (m, p))| if nll[i] < nll[n + i] || (nll[i].is_finite() && !nll[n + i].is_finite()) { m } else { p })
        .collect())
}
