//! Profile-likelihood test statistics with pyhf's definitions (arXiv:1007.1727).
//!
//! All of them start from t = -2 ln lambda(mu) = twice_nll(mu, theta_hat_hat) -
//! twice_nll(mu_hat, theta_hat), clipped at 0. The "tilde" variants differ only in the fits:
//! mu_hat is bounded below by the POI's lower bound (0), see [`poi_bounds`].
use super::TestStatistic;

/// The value of `stat` at `mu` from the two fits: twice NLL of the fixed-POI fit, of the free
/// fit, and the free fit's mu_hat.
pub fn value(stat: TestStatistic, mu: f64, twice_nll_fixed: f64, twice_nll_free: f64, mu_hat: f64) -> f64 {
    let t = (twice_nll_fixed - twice_nll_free).max(0.0);
    match stat {
        TestStatistic::Tmu | TestStatistic::TmuTilde => t,
        // q_mu: zero when the data fluctuate above the tested signal.
        TestStatistic::Qmu | TestStatistic::QmuTilde => {
            if mu_hat > mu {
                0.0
            } else {
                t
            }
        }
        // q0: zero when the fitted signal is negative.
        TestStatistic::Q0 => {
            if mu_hat < 0.0 {
                0.0
            } else {
                t
            }
        }
    }
}

/// The POI bounds a test statistic fits with: the tilde statistics (and q0's discovery test
/// keeps the workspace's) bound mu_hat below by 0 when the workspace allows negative values.
pub fn poi_bounds(stat: TestStatistic, workspace: [f64; 2]) -> [f64; 2] {
    match stat {
        TestStatistic::QmuTilde | TestStatistic::TmuTilde if workspace[0] < 0.0 => [0.0, workspace[1]],
        _ => workspace,
    }
}

/// The POI value tested: q0 always tests mu = 0.
pub fn tested_mu(stat: TestStatistic, mu: f64) -> f64 {
    if stat == TestStatistic::Q0 { 0.0 } else { mu }
}

/// The signal strength of the Asimov dataset of the asymptotic formulae: the background-only
/// hypothesis, or mu = 1 for discovery.
pub fn asimov_mu(stat: TestStatistic) -> f64 {
    if stat == TestStatistic::Q0 { 1.0 } else { 0.0 }
}
