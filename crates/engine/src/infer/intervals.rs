//! Upper limits on the POI: the mu where CLs crosses alpha, for the observed CLs and for each
//! expected band, by root finding (bracketed, then Brent's method) or over a scan.
//!
//! A limit is never the end of the searched range: when CLs does not cross alpha inside it, the
//! limit is `None` and a note says on which side it lies.
use std::cell::RefCell;
use std::collections::BTreeMap;

use super::calculators::Hypotests;
use super::{HypotestResult, InferError, ScanPoint, UpperLimitResult};

/// How to search for the limits.
#[derive(Debug, Clone, PartialEq)]
pub struct UpperLimitOptions {
    /// 1 - confidence level: 0.05 for 95% CL.
    pub alpha: f64,
    /// Evaluate CLs on these POI values and interpolate, instead of root finding.
    pub scan: Option<Vec<f64>>,
    /// Relative tolerance of the root finding on mu.
    pub rtol: f64,
    /// How many times the upper end of the bracket may double beyond the POI's upper bound.
    pub max_doublings: usize,
}

impl Default for UpperLimitOptions {
    fn default() -> Self {
        UpperLimitOptions { alpha: 0.05, scan: None, rtol: 1e-5, max_doublings: 12 }
    }
}

/// Names of the six CLs curves, for notes.
const CURVES: [&str; 6] =
    ["observed", "expected -2 sigma", "expected -1 sigma", "expected median", "expected +1 sigma", "expected +2 sigma"];

fn curve(r: &HypotestResult, c: usize) -> f64 {
    if c == 0 { r.cls_obs } else { r.cls_exp[c - 1] }
}

/// Upper limits at CL 1 - alpha.
pub fn upper_limit(calc: &dyn Hypotests, options: &UpperLimitOptions) -> Result<UpperLimitResult, InferError> {
    match &options.scan {
        Some(scan) => scan_limits(calc, scan, options.alpha),
        None => root_limits(calc, options),
    }
}

/// Evenly spaced POI values from `start` to `stop` inclusive.
pub fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![start],
        _ => (0..n).map(|i| start + (stop - start) * i as f64 / (n - 1) as f64).collect(),
    }
}

fn scan_limits(calc: &dyn Hypotests, scan: &[f64], alpha: f64) -> Result<UpperLimitResult, InferError> {
    if scan.len() < 2 {
        return Err(InferError::Invalid("an upper-limit scan needs at least two POI values".into()));
    }
    let results = calc.hypotests(scan)?;
    let mut limits = [None; 6];
    let mut notes = Vec::new();
    for (c, limit) in limits.iter_mut().enumerate() {
        let values: Vec<f64> = results.iter().map(|r| curve(r, c)).collect();
        // The first crossing from above alpha to below, interpolated linearly.
        let crossing = (1..scan.len()).find(|&i| values[i - 1] >= alpha && values[i] < alpha);
        match crossing {
            Some(i) => {
                let (x0, x1, y0, y1) = (scan[i - 1], scan[i], values[i - 1], values[i]);
                *limit = Some(x0 + (alpha - y0) * (x1 - x0) / (y1 - y0));
            }
            None => notes.push(outside_note(CURVES[c], &values, alpha, scan[0], scan[scan.len() - 1], "scan")),
        }
    }
    Ok(UpperLimitResult {
        alpha,
        obs: limits[0],
        exp: [limits[1], limits[2], limits[3], limits[4], limits[5]],
        scan: Some(
            scan.iter()
                .zip(&results)
                .map(|(mu, r)| ScanPoint { mu: *mu, cls_obs: r.cls_obs, cls_exp: r.cls_exp })
                .collect(),
        ),
        notes,
    })
}

fn outside_note(name: &str, values: &[f64], alpha: f64, lo: f64, hi: f64, what: &str) -> String {
    if values.iter().all(|v| v.is_finite() && *v < alpha) {
        format!("{name} limit lies below the {what} range [{lo}, {hi}]: CLs < {alpha} throughout")
    } else if values.iter().all(|v| v.is_finite() && *v >= alpha) {
        format!("{name} limit lies above the {what} range [{lo}, {hi}]: CLs >= {alpha} throughout")
    } else {
        format!("{name} CLs does not cross {alpha} from above inside the {what} range [{lo}, {hi}]")
    }
}

/// Hypothesis tests evaluated once per mu.
struct Cache<'a> {
    calc: &'a dyn Hypotests,
    results: RefCell<BTreeMap<u64, HypotestResult>>,
}

impl Cache<'_> {
    fn get(&self, mu: f64) -> Result<HypotestResult, InferError> {
        if let Some(r) = self.results.borrow().get(&mu.to_bits()) {
            return Ok(r.clone());
        }
        let r = self.calc.hypotests(&[mu])?.remove(0);
        self.results.borrow_mut().insert(mu.to_bits(), r.clone());
        Ok(r)
    }

    /// The tightest bracket [lo, hi] of curve `c` among the evaluated points: CLs >= alpha at
    /// lo, < alpha at hi, lo < hi.
    fn bracket(&self, c: usize, alpha: f64) -> Option<(f64, f64)> {
        let results = self.results.borrow();
        let points: Vec<(f64, f64)> = results.values().map(|r| (r.mu, curve(r, c))).collect();
        let hi = points.iter().filter(|(_, v)| *v < alpha).map(|(m, _)| *m).fold(f64::INFINITY, f64::min);
        let lo =
            points.iter().filter(|(m, v)| *v >= alpha && *m < hi).map(|(m, _)| *m).fold(f64::NEG_INFINITY, f64::max);
        (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
    }
}

fn root_limits(calc: &dyn Hypotests, options: &UpperLimitOptions) -> Result<UpperLimitResult, InferError> {
    let alpha = options.alpha;
    let cache = Cache { calc, results: RefCell::new(BTreeMap::new()) };
    let [poi_lo, poi_hi] = calc.poi_bounds();
    let lo = poi_lo.max(0.0);
    let mut hi = if poi_hi > lo { poi_hi } else { lo + 1.0 };
    // Grow the upper end until every curve is below alpha there (or give up).
    let mut doublings = 0;
    loop {
        let r = cache.get(hi)?;
        if (0..6).all(|c| curve(&r, c) < alpha) || doublings >= options.max_doublings {
            break;
        }
        hi *= 2.0;
        doublings += 1;
    }
    // The lower end: the POI's lower bound, then smaller and smaller positive values for curves
    // that are below alpha (or undefined, as CLs at mu = 0 can be) there.
    cache.get(lo)?;
    let at_hi = cache.get(hi)?;
    for k in 1..=40 {
        if !(0..6).any(|c| cache.bracket(c, alpha).is_none() && curve(&at_hi, c) < alpha) {
            break;
        }
        let mu = hi * 0.5f64.powi(k);
        if mu <= lo {
            break;
        }
        cache.get(mu)?;
    }
    let mut limits = [None; 6];
    let mut notes = Vec::new();
    for (c, limit) in limits.iter_mut().enumerate() {
        match cache.bracket(c, alpha) {
            Some((a, b)) => *limit = Some(brent(&cache, c, alpha, a, b, options.rtol)?),
            None => {
                let values: Vec<f64> = cache.results.borrow().values().map(|r| curve(r, c)).collect();
                notes.push(outside_note(CURVES[c], &values, alpha, lo, hi, "search"));
            }
        }
    }
    Ok(UpperLimitResult {
        alpha,
        obs: limits[0],
        exp: [limits[1], limits[2], limits[3], limits[4], limits[5]],
        scan: None,
        notes,
    })
}

/// Brent's method for CLs_c(mu) = alpha inside a bracket [a, b] (f(a) >= 0 > f(b)).
fn brent(cache: &Cache, c: usize, alpha: f64, a: f64, b: f64, rtol: f64) -> Result<f64, InferError> {
    let f = |mu: f64| -> Result<f64, InferError> { Ok(curve(&cache.get(mu)?, c) - alpha) };
    let (mut a, mut b) = (a, b);
    let (mut fa, mut fb) = (f(a)?, f(b)?);
    if fa == 0.0 {
        return Ok(a);
    }
    let (mut c_, mut fc) = (a, fa);
    let mut d = b - a;
    let mut e = d;
    for _ in 0..100 {
        if fb.signum() == fc.signum() {
            c_ = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c_;
            c_ = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol = 2.0 * f64::EPSILON * b.abs() + 0.5 * rtol * b.abs().max(1e-12);
        let m = 0.5 * (c_ - b);
        if m.abs() <= tol || fb == 0.0 {
            return Ok(b);
        }
        if e.abs() >= tol && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q);
            if a == c_ {
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else {
                let q0 = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * m * q0 * (q0 - r) - (b - a) * (r - 1.0));
                q = (q0 - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if 2.0 * p < (3.0 * m * q - (tol * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        } else {
            d = m;
            e = m;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol { d } else { tol * m.signum() };
        fb = f(b)?;
    }
    Ok(b)
}
