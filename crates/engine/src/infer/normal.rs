//! The standard normal distribution, accurate in the far tails.
use statrs::function::erf::erfc;

/// Phi(x) = P(Z <= x), computed from erfc so that tiny tail probabilities keep their digits.
pub fn cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The quantile: Phi^-1(p).
pub fn quantile(p: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::standard().inverse_cdf(p)
}
