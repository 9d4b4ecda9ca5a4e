//! Inference, as pyhf's `infer`: maximum-likelihood fits, test statistics, the asymptotic and
//! toy calculators, hypothesis tests, upper limits and discovery significance.
pub mod calculators;
pub mod diagnostics;
mod error;
mod hypotest;
pub mod interrupt;
pub mod intervals;
pub mod minimize;
pub mod mle;
pub mod normal;
mod results;
mod significance;
pub mod test_statistics;

pub use error::InferError;
pub use hypotest::{HypotestOptions, hypotest};
pub use interrupt::{Interrupt, StopReason};
pub use intervals::{UpperLimitOptions, upper_limit};
pub use minimize::{FitOptions, Minimum, Start};
pub use mle::{fit, fixed_poi_fit};
pub use results::{
    Calculator, FitResult, HypotestResult, ScanPoint, SignificanceResult, TestStatistic, ToyCounts, ToyShard,
    UpperLimitResult,
};
pub use significance::significance;
