//! Profile-likelihood scans in one parameter (the POI, usually) or two: at each point of a grid
//! the parameters are fixed, every other one is fitted ([`super::profile`]: several starts, the
//! grid's adjacent points starting each other), and `-2 Delta ln L` is measured from the free
//! fit (or from the scan's lowest point, if lower).
use serde::{Deserialize, Serialize};

use super::profile::{Fixes, first_fits, refine};
use super::ranking::Reference;
use crate::compute::CompiledModel;
use crate::infer::{FitOptions, InferError, Interrupt};

/// The most grid points a scan may have (a 100 x 100 grid): checked before anything is fitted.
pub const MAX_SCAN_GRID: usize = 10_000;

/// One point of a scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanValue {
    /// The scanned parameters' values, in the order of [`LikelihoodScan::parameters`].
    pub values: Vec<f64>,
    /// -2 ln L of the profile fit.
    pub twice_nll: f64,
    /// `twice_nll` minus the scan's minimum: -2 Delta ln L.
    pub delta_twice_nll: f64,
    pub converged: bool,
}

/// A profile-likelihood scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LikelihoodScan {
    /// The scanned parameters (one or two).
    pub parameters: Vec<String>,
    /// Their values at the free fit.
    pub bestfit: Vec<f64>,
    /// The minimum the deltas are measured from: the free fit's -2 ln L, or the lowest point's
    /// when a point is lower.
    pub twice_nll_min: f64,
    /// The points, the last parameter varying fastest.
    pub points: Vec<ScanValue>,
    /// For a one-parameter scan, where -2 Delta ln L crosses 1 (the 68% interval), by linear
    /// interpolation between points; `None` on a side where the scan does not cross.
    pub interval: Option<[Option<f64>; 2]>,
}

/// Scan `data`'s profile likelihood in the parameters `indices` (one or two), over the grids
/// `grids` (one per parameter, within its bounds), from the free fit `reference` of `data`.
/// `progress(done, total)` counts points.
#[allow(clippy::too_many_arguments)]
pub fn scan(
    model: &CompiledModel,
    data: &[f64],
    reference: &Reference,
    indices: &[usize],
    grids: &[Vec<f64>],
    options: &FitOptions,
    interrupt: &Interrupt,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<LikelihoodScan, InferError> {
    if indices.is_empty() || indices.len() > 2 || grids.len() != indices.len() {
        return Err(InferError::Invalid(format!(
            "a scan is in one or two parameters, each with its grid ({} parameters, {} grids)",
            indices.len(),
            grids.len()
        )));
    }
    let total = grids.iter().try_fold(1usize, |n, g| n.checked_mul(g.len()));
    if total.is_none_or(|n| n == 0 || n > MAX_SCAN_GRID) {
        let sizes: Vec<String> = grids.iter().map(|g| g.len().to_string()).collect();
        return Err(InferError::Invalid(format!(
            "a scan of {} points: from 1 to {MAX_SCAN_GRID} in all",
            sizes.join(" x ")
        )));
    }
    if indices.len() == 2 && indices[0] == indices[1] {
        return Err(InferError::Invalid("the two scanned parameters are the same".into()));
    }
    let c = model.config();
    for &i in indices {
        if c.suggested_fixed.get(i).copied().unwrap_or(true) {
            let name = c.par_names.get(i).map_or("?", String::as_str);
            return Err(InferError::Invalid(format!("{name} is fixed in the model: there is nothing to scan")));
        }
    }
    let obs = model.observations(&[data.to_vec()])?;
    let (points, neighbours) = grid_points(indices, grids);
    let anchor = reference.anchor();
    // The first fits in rows of the grid, for a moving progress bar; then the grid's adjacent
    // points start each other, rows included.
    let row = grids.last().map_or(1, Vec::len).max(1);
    let per_batch = row * (16 / row).max(1);
    let mut minima = Vec::with_capacity(points.len());
    progress(0, points.len());
    for lo in (0..points.len()).step_by(per_batch) {
        let hi = (lo + per_batch).min(points.len());
        minima.extend(first_fits(model, &obs, anchor, &points[lo..hi], options, interrupt)?);
        progress(hi, points.len());
    }
    let minima = refine(model, &obs, &points, &neighbours, minima, options, interrupt)?;
    let twice: Vec<f64> = model.twice_nll_from(&minima.iter().map(|m| m.nll).collect::<Vec<_>>(), &obs);
    let lowest = twice.iter().copied().filter(|v| v.is_finite()).fold(reference.fit.twice_nll, f64::min);
    let values: Vec<ScanValue> = points
        .iter()
        .zip(minima.iter().zip(&twice))
        .map(|(fixes, (m, &t))| ScanValue {
            values: fixes.iter().map(|&(_, v)| v).collect(),
            twice_nll: t,
            delta_twice_nll: t - lowest,
            converged: m.converged,
        })
        .collect();
    let interval = (indices.len() == 1).then(|| crossings(&values, reference.fit.bestfit[indices[0]], 1.0));
    Ok(LikelihoodScan {
        parameters: indices.iter().map(|&i| c.par_names[i].clone()).collect(),
        bestfit: indices.iter().map(|&i| reference.fit.bestfit[i]).collect(),
        twice_nll_min: lowest,
        points: values,
        interval,
    })
}

/// The grid's points (the last parameter varying fastest) and each point's adjacent points.
fn grid_points(indices: &[usize], grids: &[Vec<f64>]) -> (Vec<Fixes>, Vec<Vec<usize>>) {
    let (n0, n1) = (grids[0].len(), grids.get(1).map_or(1, Vec::len));
    let mut points = Vec::with_capacity(n0 * n1);
    let mut neighbours = Vec::with_capacity(n0 * n1);
    for a in 0..n0 {
        for b in 0..n1 {
            let mut fixes = vec![(indices[0], grids[0][a])];
            if let Some(g) = grids.get(1) {
                fixes.push((indices[1], g[b]));
            }
            points.push(fixes);
            let mut n = Vec::new();
            if a > 0 {
                n.push((a - 1) * n1 + b);
            }
            if a + 1 < n0 {
                n.push((a + 1) * n1 + b);
            }
            if b > 0 {
                n.push(a * n1 + b - 1);
            }
            if b + 1 < n1 {
                n.push(a * n1 + b + 1);
            }
            neighbours.push(n);
        }
    }
    (points, neighbours)
}

/// Where a one-parameter scan's -2 Delta ln L crosses `level` below and above `center`.
fn crossings(points: &[ScanValue], center: f64, level: f64) -> [Option<f64>; 2] {
    let xy: Vec<(f64, f64)> = points.iter().map(|p| (p.values[0], p.delta_twice_nll)).collect();
    let cross = |(x0, y0): (f64, f64), (x1, y1): (f64, f64)| {
        ((y0 - level) * (y1 - level) <= 0.0 && y0 != y1).then(|| x0 + (level - y0) * (x1 - x0) / (y1 - y0))
    };
    let mut below = None;
    let mut above = None;
    for w in xy.windows(2) {
        if let Some(x) = cross(w[0], w[1]) {
            if x <= center {
                below = Some(x);
            } else if above.is_none() {
                above = Some(x);
            }
        }
    }
    [below, above]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(x: f64, d: f64) -> ScanValue {
        ScanValue { values: vec![x], twice_nll: d, delta_twice_nll: d, converged: true }
    }

    #[test]
    fn a_parabola_crosses_one_a_sigma_from_its_minimum() {
        // -2 Delta ln L = ((x - 1) / 0.5)^2: the interval is [0.5, 1.5].
        let points: Vec<ScanValue> =
            (0..=40).map(|i| 0.05 * f64::from(i)).map(|x| point(x, 4.0 * (x - 1.0).powi(2))).collect();
        let [lo, hi] = crossings(&points, 1.0, 1.0);
        assert!((lo.unwrap() - 0.5).abs() < 1e-9 && (hi.unwrap() - 1.5).abs() < 1e-9, "{lo:?} {hi:?}");
        // A scan that stops before the upper crossing says so.
        let [lo, hi] = crossings(&points[..25], 1.0, 1.0);
        assert!(lo.is_some() && hi.is_none());
    }

    #[test]
    fn a_grid_lists_its_points_row_by_row_with_their_neighbours() {
        let (points, neighbours) = grid_points(&[3, 5], &[vec![0.0, 1.0], vec![10.0, 20.0, 30.0]]);
        assert_eq!(points.len(), 6);
        assert_eq!(points[4], vec![(3, 1.0), (5, 20.0)]);
        let mut n = neighbours[4].clone();
        n.sort();
        assert_eq!(n, vec![1, 3, 5]);
        assert_eq!(neighbours[0], vec![3, 1]);
    }
}
