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
    ///
    /// On a GPU the columns are gathered where the data already lie (one small index upload)
    /// instead of uploading the selected datasets again at every iteration of a batched fit.
    pub fn select(&self, model: &CompiledModel, rows: &[usize]) -> Result<Observations> {
        if self.rows == 1 {
            return Ok(self.clone());
        }
        if model.device().is_cpu() {
            let values: Vec<Vec<f64>> = rows.iter().map(|&i| self.values[i].clone()).collect();
            return model.observations(&values);
        }
        if rows.len() == self.rows && rows.iter().enumerate().all(|(k, &i)| k == i) {
            return Ok(self.clone());
        }
        self.gather_columns(model, rows)
    }

    /// The datasets `rows`, gathered from these tensors on their device.
    fn gather_columns(&self, model: &CompiledModel, rows: &[usize]) -> Result<Observations> {
        let index: Vec<u32> = rows.iter().map(|&i| i as u32).collect();
        let index = Tensor::from_vec(index, rows.len(), model.device())?;
        let columns = |t: &Tensor| t.index_select(&index, 1);
        Ok(Observations {
            rows: rows.len(),
            main: self.main.select(&columns)?,
            gauss_aux: self.gauss_aux.as_ref().map(columns).transpose()?,
            poisson_aux: self.poisson_aux.as_ref().map(|p| p.select(&columns)).transpose()?,
            constant: rows.iter().map(|&i| self.constant[i]).collect(),
            values: rows.iter().map(|&i| self.values[i].clone()).collect(),
        })
    }
}

impl PoissonData {
    /// The same columns of each tensor.
    fn select(&self, columns: &dyn Fn(&Tensor) -> Result<Tensor>) -> Result<Self> {
        Ok(PoissonData { n: columns(&self.n)?, inv: columns(&self.inv)?, zero: columns(&self.zero)? })
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A channel of two bins with a staterror (Gaussian constraints) and a shapesys (Poisson).
    const WORKSPACE: &str = r#"{"channels": [{"name": "sr", "samples": [
        {"name": "sig", "data": [3.0, 5.0], "modifiers": [{"name": "mu", "type": "normfactor", "data": null}]},
        {"name": "bkg", "data": [20.0, 12.0], "modifiers": [
            {"name": "stat", "type": "staterror", "data": [2.0, 1.5]},
            {"name": "unc", "type": "shapesys", "data": [4.0, 3.0]}]}]}],
      "observations": [{"name": "sr", "data": [22.0, 13.0]}],
      "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}], "version": "1.0.0"}"#;

    fn dump(t: &Tensor) -> Vec<Vec<f64>> {
        t.to_vec2().unwrap()
    }

    #[test]
    fn columns_gathered_on_the_device_are_the_datasets_uploaded_again() {
        let value: serde_json::Value = serde_json::from_str(WORKSPACE).unwrap();
        let ws = crate::spec::Workspace::from_value_named("two bins", &value).unwrap();
        let model = crate::model::Model::new(&ws, &Default::default()).unwrap();
        let compiled = CompiledModel::new(&model, &candle_core::Device::Cpu).unwrap();
        let width = compiled.nbins() + compiled.naux();
        let rows: Vec<Vec<f64>> = (0..5).map(|r| (0..width).map(|i| (r * width + i) as f64 * 0.5).collect()).collect();
        let all = compiled.observations(&rows).unwrap();
        let pick = [4, 1, 3];
        let gathered = all.gather_columns(&compiled, &pick).unwrap();
        let uploaded = compiled.observations(&pick.map(|i| rows[i].clone())).unwrap();
        assert_eq!(gathered.rows, 3);
        assert_eq!(gathered.values, uploaded.values);
        assert_eq!(gathered.constant, uploaded.constant);
        for (a, b) in [
            (&gathered.main, &uploaded.main),
            (gathered.poisson_aux.as_ref().unwrap(), uploaded.poisson_aux.as_ref().unwrap()),
        ] {
            assert_eq!((dump(&a.n), dump(&a.inv), dump(&a.zero)), (dump(&b.n), dump(&b.inv), dump(&b.zero)));
        }
        assert_eq!(dump(gathered.gauss_aux.as_ref().unwrap()), dump(uploaded.gauss_aux.as_ref().unwrap()));
    }
}
