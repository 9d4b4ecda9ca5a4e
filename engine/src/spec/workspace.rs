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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawModifier", into = "RawModifier")]
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

/// The modifier as written in JSON: `{"name": ..., "type": ..., "data": ...}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModifier {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    data: serde_json::Value,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistosysData {
    lo_data: Vec<f64>,
    hi_data: Vec<f64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NormsysData {
    lo: f64,
    hi: f64,
}

impl TryFrom<RawModifier> for Modifier {
    type Error = String;

    fn try_from(raw: RawModifier) -> Result<Self, String> {
        let data = raw.data;
        let null = |kind: ModifierKind| {
            if data.is_null() {
                Ok(kind)
            } else {
                Err(format!("data: a {} modifier takes null data", raw.kind))
            }
        };
        let kind = match raw.kind.as_str() {
            "histosys" => {
                let d: HistosysData = serde_json::from_value(data.clone())
                    .map_err(|e| format!("data: {e}"))?;
                ModifierKind::Histosys { lo_data: d.lo_data, hi_data: d.hi_data }
            }
            "normsys" => {
                let d: NormsysData = serde_json::from_value(data.clone())
                    .map_err(|e| format!("data: {e}"))?;
                ModifierKind::Normsys { lo: d.lo, hi: d.hi }
            }
            "shapesys" => ModifierKind::Shapesys {
                data: serde_json::from_value(data.clone()).map_err(|e| format!("data: {e}"))?,
            },
            "staterror" => ModifierKind::Staterror {
                data: serde_json::from_value(data.clone()).map_err(|e| format!("data: {e}"))?,
            },
            "lumi" => null(ModifierKind::Lumi)?,
            "normfactor" => null(ModifierKind::Normfactor)?,
            "shapefactor" => null(ModifierKind::Shapefactor)?,
            other => {
                return Err(format!(
                    "type: unknown modifier type {other:?} (expected one of histosys, lumi, \
                     normfactor, normsys, shapefactor, shapesys, staterror)"
                ));
            }
        };
        Ok(Modifier { name: raw.name, kind })
    }
}

impl From<Modifier> for RawModifier {
    fn from(m: Modifier) -> Self {
        let kind = m.kind.type_name().to_string();
        let data = match m.kind {
            ModifierKind::Histosys { lo_data, hi_data } => {
                serde_json::to_value(HistosysData { lo_data, hi_data })
            }
            ModifierKind::Normsys { lo, hi } => serde_json::to_value(NormsysData { lo, hi }),
            ModifierKind::Shapesys { data } | ModifierKind::Staterror { data } => {
                serde_json::to_value(data)
            }
            ModifierKind::Lumi | ModifierKind::Normfactor | ModifierKind::Shapefactor => {
                Ok(serde_json::Value::Null)
            }
        }
        .expect("modifier data serialises");
        RawModifier { name: m.name, kind, data }
    }
}
