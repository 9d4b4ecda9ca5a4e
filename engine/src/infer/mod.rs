//! Inference: fits, test statistics, calculators and limits.
mod results;

pub use results::{
    Calculator, FitResult, HypotestResult, ScanPoint, SignificanceResult, TestStatistic, ToyShard,
    UpperLimitResult,
};
