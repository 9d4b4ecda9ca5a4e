//! The HistFactory model built from a workspace, with pyhf's semantics: parameter order,
//! initial values, bounds, fixed flags and auxiliary data line up with pyhf's `model.config`.
//!
//! [`Model`] is plain data; [`crate::compute::CompiledModel`] lowers it to tensors (each
//! modifier's part of that is in its file in [`modifiers`]).
mod build;
mod error;
pub mod footprint;
pub mod modifiers;
pub mod paramset;
mod settings;

pub use error::ModelError;
pub use footprint::Footprint;
pub use paramset::{Constraint, ParamSet};
pub use settings::{HistosysInterp, ModelSettings, NormsysInterp};

use crate::spec::Workspace;

/// A channel of the model: its bins in the concatenated (global) bin vector.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelBins {
    pub name: String,
    pub offset: usize,
    pub nbins: usize,
}

/// A HistFactory model in pyhf's layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub settings: ModelSettings,
    /// The measurement the model was built for.
    pub measurement: String,
    /// Channels sorted by name, as pyhf orders them.
    pub channels: Vec<ChannelBins>,
    /// Distinct sample names, sorted (pyhf's mega-samples).
    pub samples: Vec<String>,
    /// `nominal[s][b]`: nominal rate of sample `s` in global bin `b` (0 where absent).
    pub nominal: Vec<Vec<f64>>,
    /// `present[c][s]`: whether channel `c` declares sample `s`.
    pub present: Vec<Vec<bool>>,
    /// Parameter sets in pyhf's `par_order`.
    pub paramsets: Vec<ParamSet>,
    /// Index of the parameter of interest in the parameter vector.
    pub poi_index: Option<usize>,
    /// Why the model has no parameter of interest, when the measurement names one it lacks.
    pub poi_note: Option<String>,
    pub terms: modifiers::Terms,
    /// Observed counts in global-bin order.
    pub observed: Vec<f64>,
}

impl Model {
    /// Build the model of `workspace` for the measurement and interpolation codes of `settings`.
    pub fn new(workspace: &Workspace, settings: &ModelSettings) -> Result<Model, ModelError> {
        build::build(workspace, settings)
    }

    /// Total number of bins over all channels.
    pub fn nbins(&self) -> usize {
        self.channels.iter().map(|c| c.nbins).sum()
    }

    /// Number of parameters.
    pub fn npars(&self) -> usize {
        self.paramsets.iter().map(|p| p.len()).sum()
    }

    /// pyhf's `par_order`: the names of the parameter sets.
    pub fn par_order(&self) -> Vec<&str> {
        self.paramsets.iter().map(|p| p.name.as_str()).collect()
    }

    /// pyhf's `par_names`: one name per parameter, `name[i]` for per-bin sets.
    pub fn par_names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(self.npars());
        for p in &self.paramsets {
            if p.is_scalar {
                names.push(p.name.clone());
            } else {
                names.extend((0..p.len()).map(|i| format!("{}[{i}]", p.name)));
            }
        }
        names
    }

    pub fn suggested_init(&self) -> Vec<f64> {
        self.paramsets.iter().flat_map(|p| p.inits.iter().copied()).collect()
    }

    pub fn suggested_bounds(&self) -> Vec<[f64; 2]> {
        self.paramsets.iter().flat_map(|p| p.bounds.iter().copied()).collect()
    }

    pub fn suggested_fixed(&self) -> Vec<bool> {
        self.paramsets.iter().flat_map(|p| p.fixed.iter().copied()).collect()
    }

    /// The pre-fit width of each parameter (cabinetry's `prefit_uncertainties`): sigma of a
    /// Gaussian constraint, 1/sqrt(tau) of a Poisson one, 0 for free and fixed parameters.
    pub fn prefit_widths(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.npars());
        for set in &self.paramsets {
            let widths = set.constraint.widths().unwrap_or_else(|| vec![0.0; set.len()]);
            out.extend(widths.iter().zip(&set.fixed).map(|(&w, &f)| if f { 0.0 } else { w }));
        }
        out
    }

    /// The name of the parameter of interest.
    pub fn poi_name(&self) -> Option<&str> {
        let i = self.poi_index?;
        self.paramsets.iter().find(|p| p.offset == i).map(|p| p.name.as_str())
    }

    /// The parameter set holding parameter `index`.
    pub fn paramset_of(&self, index: usize) -> &ParamSet {
        self.paramsets
            .iter()
            .find(|p| p.offset <= index && index < p.offset + p.len())
            .expect("parameter index inside the model")
    }

    /// Auxiliary data of the constraints, in pyhf's order (constrained sets in `par_order`).
    pub fn auxdata(&self) -> Vec<f64> {
        self.paramsets.iter().flat_map(|p| p.constraint.auxdata().iter().copied()).collect()
    }

    /// Observed main data followed by the auxiliary data: pyhf's `workspace.data(model)`.
    pub fn observed_data(&self) -> Vec<f64> {
        let mut data = self.observed.clone();
        data.extend(self.auxdata());
        data
    }
}
