//! Calculators: how p-values of a test statistic are obtained.
pub mod asymptotics;
pub mod toys;

pub use asymptotics::AsymptoticCalculator;

use super::{HypotestResult, InferError};

/// Hypothesis tests at many POI values: what upper limits are built on.
pub trait Hypotests {
    /// CLs (observed and expected band) at each `mu`.
    fn hypotests(&self, mus: &[f64]) -> Result<Vec<HypotestResult>, InferError>;

    /// The POI range the fits allow.
    fn poi_bounds(&self) -> [f64; 2];
}
