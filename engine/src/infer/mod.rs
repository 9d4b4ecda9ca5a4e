//! Inference: fits, test statistics, calculators and limits.
mod error;
pub mod mle;
pub mod optimize;
mod results;

pub use error::InferError;
pub use mle::{fit, fixed_poi_fit};
pub use optimize::{FitOptions, Minimum, Start};
pub use results::{
    Calculator, FitResult, HypotestResult, ScanPoint, SignificanceResult, TestStatistic, ToyShard,
    UpperLimitResult,
};
