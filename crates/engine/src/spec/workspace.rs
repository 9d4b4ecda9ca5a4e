//! Serde types for the pyhf workspace format, version 1.0.0.
//!
//! The field names follow the JSON schema (`defs.json` in pyhf) so that a workspace written by
//! pyhf, HistFitter or ROOT's `hist2workspace` reads without translation.

use serde::{Deserialize, Serialize};

/// A pyhf workspace: channels with their samples, the observed data and the measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workspace {
    pub channels: Vec<Channel>,
    pub measurements: Vec<Measurement>,
    pub observations: Vec<Observation>,
    pub version: String,
}

/// A channel (region) of the analysis; every sample in it has the same number of bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub name: String,
    pub samples: Vec<Sample>,
}

/// A sample's nominal expected yields per bin, and the modifiers that act on them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    pub name: String,
    pub data: Vec<f64>,
    pub modifiers: Vec<Modifier>,
}

/// One modifier on a sample: its parameter name and what it does.
///
/// In JSON: `{"name": ..., "type": ..., "data": ...}`; see `modifier_serde.rs` for how the
/// `data` is read according to the `type`.
#[derive(Debug, Clone, PartialEq)]
pub struct Modifier {
    pub name: String,
    pub kind: ModifierKind,
}

/// The seven HistFactory modifier types, with the data each carries.
#[derive(Debug, Clone, PartialEq)]
pub enum ModifierKind {
    /// Correlated shape variation: the sample's yields at alpha = -1 and +1.
    Histosys { lo_data: Vec<f64>, hi_data: Vec<f64> },
    /// Luminosity: a Gaussian-constrained scale configured in the measurement.
    Lumi,
    /// Free normalisation.
    Normfactor,
    /// Normalisation variation: the relative yield at alpha = -1 (`lo`) and +1 (`hi`).
    Normsys { lo: f64, hi: f64 },
    /// Free per-bin factors.
    Shapefactor,
    /// Uncorrelated per-bin variation, Poisson-constrained: absolute uncertainty per bin.
    Shapesys { data: Vec<f64> },
    /// Statistical uncertainty of the simulation, Gaussian-constrained: absolute uncertainty per bin.
    Staterror { data: Vec<f64> },
}

impl ModifierKind {
    /// Every `type` pyhf's schema knows, in the order pyhf lists them.
    pub const TYPE_NAMES: [&'static str; 7] = [
        "histosys",
        "lumi",
        "normfactor",
        "normsys",
        "shapefactor",
        "shapesys",
        "staterror",
    ];

    /// The modifier's `type` as it is written in the JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            ModifierKind::Histosys { .. } => "histosys",
            ModifierKind::Lumi => "lumi",
            ModifierKind::Normfactor => "normfactor",
            ModifierKind::Normsys { .. } => "normsys",
            ModifierKind::Shapefactor => "shapefactor",
            ModifierKind::Shapesys { .. } => "shapesys",
            ModifierKind::Staterror { .. } => "staterror",
        }
    }
}

/// Observed event counts of one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    pub name: String,
    pub data: Vec<f64>,
}

/// A measurement: the parameter of interest and the parameter configurations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    pub name: String,
    pub config: MeasurementConfig,
}

/// The measurement's configuration: which parameter is the POI, and the parameter settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasurementConfig {
    pub poi: String,
    pub parameters: Vec<ParameterConfig>,
}

/// User configuration of one parameter set; what is absent keeps the modifier's default.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterConfig {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inits: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounds: Option<Vec<[f64; 2]>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auxdata: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factors: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigmas: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<bool>,
}
