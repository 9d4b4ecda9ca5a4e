//! Observed (or toy, or Asimov) data prepared once for many likelihood evaluations.
use candle_core::Tensor;

use super::{CompiledModel, Result};

/// Main and auxiliary data of `B` datasets (or one dataset shared by every parameter row),
/// with what the Poisson terms need precomputed.
#[derive(Debug, Clone)]
pub struct Observations {
    pub(super) rows: usize,
    /// Main counts `[NB, B]`, 1/n (1 where n = 0) and the indicator n = 0.
    pub(super) main: PoissonData,
    pub(super) gauss_aux: Option<Tensor>,
    pub(super) poisson_aux: Option<PoissonData>,
    /// Per dataset: the data-only part of -ln L (lgamma terms, Gaussian normalisation).
    pub(super) constant: Vec<f64>,
    /// The data as given, main then auxiliary, row by row.
    pub(super) values: Vec<Vec<f64>>,
}

#[derive(Debug, Clone)]
pub(super) struct PoissonData {
    pub n: Tensor,
    pub inv: Tensor,
    pub zero: Tensor,
}

impl Observations {
    /// Number of datasets.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Dataset `i`: main data followed by auxiliary data (pyhf's layout).
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i]
    }
}

impl Observations {
    /// The datasets `rows` of these observations (all of them share one dataset if it is one).
    pub fn select(&self, model: &CompiledModel, rows: &[usize]) -> Result<Observations> {
        if self.rows == 1 {
            return Ok(self.clone());
        }
        let values: Vec<Vec<f64>> = rows.iter().map(|&i| self.values[i].clone()).collect();
        model.observations(&values)
    }
}

impl PoissonData {
    /// Feature-major `[width, rows]` tensors from `rows` of `width` counts.
    fn new(rows: &[Vec<f64>], width: usize, device: &candle_core::Device) -> Result<Self> {
        let b = rows.len();
        let mut n = vec![0.0; width * b];
        for (j, r) in rows.iter().enumerate() {
            for (i, v) in r.iter().enumerate() {
                n[i * b + j] = *v;
            }
        }
        let inv: Vec<f64> = n.iter().map(|x| if *x > 0.0 { 1.0 / x } else { 1.0 }).collect();
        let zero: Vec<f64> = n.iter().map(|x| if *x > 0.0 { 0.0 } else { 1.0 }).collect();
        let shape = (width, b);
        Ok(PoissonData {
            n: Tensor::from_vec(n, shape, device)?,
            inv: Tensor::from_vec(inv, shape, device)?,
            zero: Tensor::from_vec(zero, shape, device)?,
        })
    }
}

/// n - n ln n + ln Gamma(n + 1): what -ln Pois(n | lambda) adds to the deviance form
/// lambda - n - n ln(lambda / n). Equals 0.5 ln(2 pi n) + 1/(12 n) - ... for large n; the
/// series keeps it accurate where the direct form cancels.
pub(crate) fn poisson_constant(n: f64) -> f64 {
    if n <= 0.0 {
        return 0.0;
    }
    if n > 1e4 {
        let inv = 1.0 / n;
        let inv2 = inv * inv;
        return 0.5 * (2.0 * std::f64::consts::PI * n).ln()
            + inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0)));
    }
    n - n * n.ln() + statrs::function::gamma::ln_gamma(n + 1.0)
}

impl CompiledModel {
    /// Prepare datasets: each row is main data (`nbins`) followed by auxiliary data (`naux`),
    /// pyhf's `workspace.data(model)` layout.
    pub fn observations(&self, rows: &[Vec<f64>]) -> Result<Observations> {
        let (nb, na) = (self.nbins, self.naux());
        for (i, r) in rows.iter().enumerate() {
            if r.len() != nb + na {
                candle_core::bail!(
                    "dataset {i} has {} values, the model expects {nb} main and {na} auxiliary",
                    r.len()
                );
            }
        }
        let main: Vec<Vec<f64>> = rows.iter().map(|r| r[..nb].to_vec()).collect();
        let mut constant: Vec<f64> = main.iter().map(|r| r.iter().map(|n| poisson_constant(*n)).sum()).collect();
        let gauss_aux = match &self.constraints.gauss {
            None => None,
            Some(g) => {
                for c in constant.iter_mut() {
                    *c += g.log_norm;
                }
                let b = rows.len();
                let mut flat = vec![0.0; g.aux_pos.len() * b];
                for (j, r) in rows.iter().enumerate() {
                    for (i, p) in g.aux_pos.iter().enumerate() {
                        flat[i * b + j] = r[nb + p];
                    }
                }
                Some(Tensor::from_vec(flat, (g.aux_pos.len(), b), &self.device)?)
            }
        };
        let poisson_aux = match &self.constraints.poisson {
            None => None,
            Some(p) => {
                let aux: Vec<Vec<f64>> = rows.iter().map(|r| p.aux_pos.iter().map(|i| r[nb + i]).collect()).collect();
                for (c, a) in constant.iter_mut().zip(&aux) {
                    *c += a.iter().map(|n| poisson_constant(*n)).sum::<f64>();
                }
                Some(PoissonData::new(&aux, p.aux_pos.len(), &self.device)?)
            }
        };
        Ok(Observations {
            rows: rows.len(),
            main: PoissonData::new(&main, nb, &self.device)?,
            gauss_aux,
            poisson_aux,
            constant,
            values: rows.to_vec(),
        })
    }
}
