//! How a workspace becomes a model: the measurement and the interpolation codes.
use serde::{Deserialize, Serialize};

/// Interpolation of `normsys` modifiers (pyhf's `modifier_settings["normsys"]["interpcode"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NormsysInterp {
    /// Piecewise exponential (HistFactory's code 1).
    Code1,
    /// Polynomial inside |alpha| < 1, exponential outside: pyhf 0.7's default.
    #[default]
    Code4,
}

/// Interpolation of `histosys` modifiers (pyhf's `modifier_settings["histosys"]["interpcode"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistosysInterp {
    /// Piecewise linear (HistFactory's code 0).
    Code0,
    /// Quadratic inside |alpha| <= 1, linear outside, exactly as pyhf writes it.
    Code2,
    /// Polynomial inside |alpha| < 1, linear outside: pyhf 0.7's default.
    #[default]
    Code4p,
}

/// Everything besides the workspace (and patch) that decides the model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ModelSettings {
    /// The measurement to use; `None` takes the first, as pyhf does.
    #[serde(default)]
    pub measurement: Option<String>,
    #[serde(default)]
    pub normsys: NormsysInterp,
    #[serde(default)]
    pub histosys: HistosysInterp,
}

impl std::fmt::Display for NormsysInterp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NormsysInterp::Code1 => "code1",
            NormsysInterp::Code4 => "code4",
        })
    }
}

impl std::fmt::Display for HistosysInterp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HistosysInterp::Code0 => "code0",
            HistosysInterp::Code2 => "code2",
            HistosysInterp::Code4p => "code4p",
        })
    }
}

impl std::str::FromStr for NormsysInterp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "code1" => Ok(NormsysInterp::Code1),
            "code4" => Ok(NormsysInterp::Code4),
            _ => Err(format!("unknown normsys interpolation {s:?} (expected code4 or code1)")),
        }
    }
}

impl std::str::FromStr for HistosysInterp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "code0" => Ok(HistosysInterp::Code0),
            "code2" => Ok(HistosysInterp::Code2),
            "code4p" => Ok(HistosysInterp::Code4p),
            _ => Err(format!("unknown histosys interpolation {s:?} (expected code4p, code0 or code2)")),
        }
    }
}
