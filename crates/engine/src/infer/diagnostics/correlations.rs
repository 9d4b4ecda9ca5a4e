//! The correlation matrix of the fit's parameters, and which of them to show.
use serde::Serialize;

use super::postfit::PostFit;

/// Correlations of the parameters shown, in pyhf's parameter order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correlations {
    pub names: Vec<String>,
    /// `matrix[a][b]`, symmetric with 1 on the diagonal (0 for a fixed parameter).
    pub matrix: Vec<Vec<f64>>,
}

/// The parameters with some off-diagonal |correlation| of at least `threshold` (all of them
/// when `threshold` is 0; a fixed parameter's are 0), as cabinetry's pruning threshold.
pub fn correlated_above(post: &PostFit, threshold: f64) -> Correlations {
    let c = &post.correlations;
    let n = c.nrows();
    let keep: Vec<usize> =
        (0..n).filter(|&i| threshold <= 0.0 || (0..n).any(|j| j != i && c[(i, j)].abs() >= threshold)).collect();
    Correlations {
        names: keep.iter().map(|&i| post.fit.par_names[i].clone()).collect(),
        matrix: keep.iter().map(|&i| keep.iter().map(|&j| c[(i, j)]).collect()).collect(),
    }
}
