//! The model lowered once into Candle tensors: expected rates, the negative log-likelihood and
//! its analytic gradient, all over a leading batch dimension of parameter vectors, so that one
//! fit, many toys and many scan points share the same code.
//!
//! Layout. Tensors are feature-major, `[features, batch]`, so that gathers and scatters move
//! whole rows of the batch (Candle's CPU gathers cost 15-25 ns per row, whatever its length).
//! Rates live on the mega-sample grid (`sb = sample * nbins + bin`, S*NB rows). With theta the
//! parameters `[P, B]`:
//!
//! ```text
//! x        = [theta; 1][gather]                      everything the modifiers read, one gather
//! delta    = C_h^T [phi_1(alpha_h); phi_2(alpha_h)]  histosys deltas (interpolation code)
//! ln N_g   = C_n^T [phi_1; phi_2](alpha_n)           normsys, per (sample, channel) group g
//!          + ln prod_n (1 + p_ng(alpha_n))           code 4's polynomial inside |alpha| < 1
//! F_j      = x[layer j]                              linear factors (normfactor, lumi, gammas)
//! rate_sb  = (nominal_sb + delta_sb) exp(ln N)_g(sb) prod_j F_j,sb
//! lambda_b = sum_s rate_sb
//! ```
//!
//! The pieces of one modifier type (histosys's deltas, normsys's `ln N` and their reverse passes)
//! are in its file in `model/modifiers/`; this module assembles them with the linear factors, the
//! rates and the constraints, which are shared by several types (see `model/modifiers/mod.rs`).
//!
//! The gradient is the exact reverse-mode derivative of these formulas, written out by hand
//! (measured here about 20x faster than Candle's autograd for this shape). The same reverse pass
//! gives the Jacobian d lambda / d theta by feeding one unit vector per bin (dense, what small
//! models use); `jacobian.rs` reads it off the forward pass as a sparse matrix instead, linear
//! in the model's size (what large models use).
//!
//! Devices. Every tensor of a compiled model, and every one its passes make, lives on the
//! model's device (`DeviceChoice`: the cpu or a CUDA GPU); what crosses between host and device
//! per optimizer iteration is counted in docs/benchmarks.md ("GPU").
mod constraints;
mod data;
mod device;
mod jacobian;
mod lower;
mod nll;
mod rates;

use candle_core::{DType, Device, Tensor};

pub use crate::model::ChannelBins;
pub use data::Observations;
pub use device::{DeviceChoice, DeviceError};
pub use jacobian::SparseJacobian;
pub use nll::{NllGrad, NllGradJacobian, NllGradSparseJacobian};
pub use rates::Rates;

use crate::model::Model;
use crate::model::modifiers::histosys::HistosysTensors;
use crate::model::modifiers::normsys::NormsysTensors;

/// Errors from tensor code: shapes the model did not expect, or a device failure.
pub type Result<T> = candle_core::Result<T>;

/// The floating-point type of every tensor: the parity with pyhf needs f64.
pub const DTYPE: DType = DType::F64;

/// A compiled model: tensors on a device, ready to evaluate batches of parameter vectors.
///
/// Cheap to keep (a few hundred kB for published models) and `Send + Sync`: workers cache it.
#[derive(Debug, Clone)]
pub struct CompiledModel {
    device: Device,
    npars: usize,
    nbins: usize,
    nsamples: usize,
    /// `[1, S * NB]` nominal rates on the mega-sample grid.
    nominal: Tensor,
    /// u32 `[K]`: rows of `[theta; 1]` read by the modifiers and constraints (row P is 1).
    gather: Tensor,
    parts: Parts,
    histosys: Option<HistosysTensors>,
    normsys: Option<NormsysTensors>,
    constraints: constraints::ConstraintTensors,
    pub(crate) aux_layout: Vec<AuxSlot>,
    /// Parameters whose interpolation has a kink at alpha = 0 (code 0 histosys, code 1 normsys).
    kinked: Vec<bool>,
    config: ModelConfig,
    /// Host copies of the constant tensors the sparse Jacobian reads at every evaluation, made
    /// at its first use: on a GPU, constants are not copied back at every iteration.
    host_constants: std::sync::OnceLock<jacobian::HostConstants>,
}

/// What inference needs to know of the model besides its tensors (pyhf's `model.config`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub par_names: Vec<String>,
    pub par_order: Vec<String>,
    pub suggested_init: Vec<f64>,
    pub suggested_bounds: Vec<[f64; 2]>,
    pub suggested_fixed: Vec<bool>,
    /// Each parameter's constraint width ([`Model::prefit_widths`]), 0 for free and fixed ones.
    pub prefit_widths: Vec<f64>,
    pub poi_index: Option<usize>,
    pub poi_name: Option<String>,
    /// Why there is no POI, when the measurement names one the model lacks.
    pub poi_note: Option<String>,
    /// Observed main data followed by the auxiliary data.
    pub observed_data: Vec<f64>,
    pub measurement: String,
    pub channels: Vec<crate::model::ChannelBins>,
}

impl ModelConfig {
    fn new(model: &Model) -> Self {
        ModelConfig {
            par_names: model.par_names(),
            par_order: model.par_order().iter().map(|s| s.to_string()).collect(),
            suggested_init: model.suggested_init(),
            suggested_bounds: model.suggested_bounds(),
            suggested_fixed: model.suggested_fixed(),
            prefit_widths: model.prefit_widths(),
            poi_index: model.poi_index,
            poi_name: model.poi_name().map(str::to_string),
            poi_note: model.poi_note.clone(),
            observed_data: model.observed_data(),
            measurement: model.measurement.clone(),
            channels: model.channels.clone(),
        }
    }
}

/// Where each piece sits in the gathered rows `x`.
#[derive(Debug, Clone, Default)]
struct Parts {
    histosys: (usize, usize),
    /// Padded to a power of two for code 4's product over parameters.
    normsys: (usize, usize),
    /// One `(start, S*NB)` per linear-factor layer.
    layers: Vec<(usize, usize)>,
    gauss: (usize, usize),
    poisson: (usize, usize),
}

/// What produces one auxiliary datum: a Gaussian constraint's mean is its parameter, a
/// Poisson constraint's rate is gamma times tau.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AuxSlot {
    Gauss { param: usize },
    Poisson { param: usize, factor: f64 },
}

impl CompiledModel {
    /// Lower `model` into tensors on `device`.
    pub fn new(model: &Model, device: &Device) -> Result<CompiledModel> {
        lower::lower(model, device)
    }

    /// Parameter names, initial values, bounds, the POI and the observed data.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Bytes held by the model's tensors (what a worker's model cache counts).
    pub fn memory_bytes(&self) -> usize {
        let size = |t: &Tensor| t.elem_count() * t.dtype().size_in_bytes();
        let mut n = size(&self.nominal) + size(&self.gather);
        n += self.histosys.as_ref().map_or(0, HistosysTensors::memory_bytes);
        n += self.normsys.as_ref().map_or(0, NormsysTensors::memory_bytes);
        n += self.host_constants_bytes();
        n + self.config.observed_data.len() * 8 + self.config.par_names.iter().map(|s| s.len() + 64).sum::<usize>()
    }

    /// What produces each auxiliary datum, in pyhf's order.
    pub(crate) fn aux_slots(&self) -> &[AuxSlot] {
        &self.aux_layout
    }

    /// Widths of the Gaussian constraints, in the order of the Gaussian auxiliary data.
    pub fn constraint_sigmas(&self) -> &[f64] {
        self.constraints.gauss.as_ref().map_or(&[], |g| g.sigmas.as_slice())
    }

    /// Parameters whose interpolation (histosys code 0, normsys code 1) is piecewise with a kink
    /// at 0: the optimiser treats 0 as a boundary it may cross only from a side it has tested.
    pub fn kinked(&self) -> &[bool] {
        &self.kinked
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn npars(&self) -> usize {
        self.npars
    }

    /// Number of main bins.
    pub fn nbins(&self) -> usize {
        self.nbins
    }

    /// Number of auxiliary data.
    pub fn naux(&self) -> usize {
        self.aux_layout.len()
    }

    /// Parameters of `B` points as a feature-major tensor `[P, B]`.
    pub fn params(&self, rows: &[Vec<f64>]) -> Result<Tensor> {
        let b = rows.len();
        let mut flat = vec![0.0; b * self.npars];
        for (j, row) in rows.iter().enumerate() {
            if row.len() != self.npars {
                candle_core::bail!("parameter vector {j} has {} values, the model {}", row.len(), self.npars);
            }
            for (i, v) in row.iter().enumerate() {
                flat[i * b + j] = *v;
            }
        }
        Tensor::from_vec(flat, (self.npars, b), &self.device)
    }

    /// Expected data of each point (pyhf's `expected_data`): main bins then auxiliary data.
    pub fn expected_data(&self, points: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let rates = self.rates(&self.params(points)?)?;
        let main = rates.lambda.t()?.to_vec2::<f64>()?;
        Ok(main
            .into_iter()
            .zip(points)
            .map(|(mut m, x)| {
                m.extend(self.expected_auxdata(x));
                m
            })
            .collect())
    }

    /// Expected main rates of each sample at each point (pyhf's
    /// `main_model.expected_data(pars, return_by_sample=True)`): `out[point][sample][bin]`, the
    /// samples as in `Model::samples` (0 where a sample is absent from a channel). The same
    /// batched forward pass as [`expected_data`](Self::expected_data), before the sum over
    /// samples.
    pub fn expected_by_sample(&self, points: &[Vec<f64>]) -> Result<Vec<Vec<Vec<f64>>>> {
        let rates = self.rates(&self.params(points)?)?;
        let b = points.len();
        // [S*NB, B] -> [B, S, NB]
        let rate = rates.rate.t()?.contiguous()?.reshape((b, self.nsamples, self.nbins))?;
        rate.to_vec3::<f64>()
    }

    /// Expected auxiliary data at `x`, in pyhf's order.
    pub fn expected_auxdata(&self, x: &[f64]) -> Vec<f64> {
        self.aux_layout
            .iter()
            .map(|slot| match *slot {
                AuxSlot::Gauss { param } => x[param],
                AuxSlot::Poisson { param, factor } => x[param] * factor,
            })
            .collect()
    }
}

/// A tensor and its contiguous transpose.
pub(crate) fn with_transpose(t: Tensor) -> Result<(Tensor, Tensor)> {
    let tt = t.t()?.contiguous()?;
    Ok((t, tt))
}

/// Run Candle's CPU kernels on the calling thread: one thread per fit, with parallelism across
/// fits, is several times faster for HistFactory-sized tensors than Candle's own pools
/// (`CANDLE_NUM_THREADS`, and rayon's for matmuls, `RAYON_NUM_THREADS`). Leaves explicit
/// settings alone. Call at the start of `main`, before any other thread exists.
pub fn configure_cpu_threads() {
    for var in ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"] {
        if std::env::var_os(var).is_none() {
            // SAFETY: called at the start of main, before the program spawns any thread, so no
            // other thread can read the environment concurrently.
            unsafe { std::env::set_var(var, "1") };
        }
    }
}
