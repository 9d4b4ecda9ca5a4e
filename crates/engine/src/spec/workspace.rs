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

/// A modifier's type with the data it carries in the JSON (`ModifierKind::Normsys { lo, hi }`);
/// [`ModifierType`] is the type alone. What each type means, how it is validated and how it
/// acts on the rates is in its file in `model/modifiers/`.
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
    /// The modifier's type, without its data.
    pub fn modifier_type(&self) -> ModifierType {
        match self {
            ModifierKind::Histosys { .. } => ModifierType::Histosys,
            ModifierKind::Lumi => ModifierType::Lumi,
            ModifierKind::Normfactor => ModifierType::Normfactor,
            ModifierKind::Normsys { .. } => ModifierType::Normsys,
            ModifierKind::Shapefactor => ModifierType::Shapefactor,
            ModifierKind::Shapesys { .. } => ModifierType::Shapesys,
            ModifierKind::Staterror { .. } => ModifierType::Staterror,
        }
    }

    /// The modifier's `type` as it is written in the JSON.
    pub fn type_name(&self) -> &'static str {
        self.modifier_type().as_str()
    }
}

/// The seven HistFactory modifier types: pyhf's `histfactory_set`, in its order, which is also
/// the order in which their parameters enter the parameter vector. The one list of them in the
/// engine: the spec reads `type` with it, the model orders parameters by it, and the compiled
/// terms are tagged with it.
///
/// The order is that of the names, so sorting by type sorts as pyhf sorts the type strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModifierType {
    Histosys,
    Lumi,
    Normfactor,
    Normsys,
    Shapefactor,
    Shapesys,
    Staterror,
}

impl ModifierType {
    /// Every type, in pyhf's order.
    pub const ALL: [ModifierType; 7] = [
        ModifierType::Histosys,
        ModifierType::Lumi,
        ModifierType::Normfactor,
        ModifierType::Normsys,
        ModifierType::Shapefactor,
        ModifierType::Shapesys,
        ModifierType::Staterror,
    ];

    /// pyhf's name of the type, as written in a modifier's `type`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ModifierType::Histosys => "histosys",
            ModifierType::Lumi => "lumi",
            ModifierType::Normfactor => "normfactor",
            ModifierType::Normsys => "normsys",
            ModifierType::Shapefactor => "shapefactor",
            ModifierType::Shapesys => "shapesys",
            ModifierType::Staterror => "staterror",
        }
    }

    /// The type of pyhf's name `name`, if it is one.
    pub fn from_name(name: &str) -> Option<ModifierType> {
        ModifierType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl std::fmt::Display for ModifierType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ModifierType {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        ModifierType::from_name(name).ok_or_else(|| format!("unknown modifier type {name:?}"))
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

#[cfg(test)]
mod tests {
    use super::ModifierType;

    #[test]
    fn modifier_types_are_pyhfs_in_the_order_of_their_names() {
        let names: Vec<&str> = ModifierType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names, ["histosys", "lumi", "normfactor", "normsys", "shapefactor", "shapesys", "staterror"]);
        // Sorting (name, type) pairs by type must sort as pyhf sorts (name, type string) pairs.
        assert!(ModifierType::ALL.windows(2).all(|w| w[0] < w[1] && w[0].as_str() < w[1].as_str()));
        for t in ModifierType::ALL {
            assert_eq!(ModifierType::from_name(t.as_str()), Some(t));
            assert_eq!(t.to_string(), t.as_str());
            assert_eq!(t.as_str().parse::<ModifierType>(), Ok(t));
        }
        assert_eq!(ModifierType::from_name("shapesyst"), None);
    }
}
