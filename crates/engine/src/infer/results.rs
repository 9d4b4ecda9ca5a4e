//! What the inference answers, in pyhf's keys where pyhf has one.
use serde::{Deserialize, Serialize};

/// Test statistics with pyhf's definitions (arXiv:1007.1727) and pyhf's CLI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum TestStatistic {
    /// Discovery: q0.
    #[serde(rename = "q0")]
    Q0,
    /// One-sided upper-limit statistic q_mu (zero when mu_hat > mu).
    #[serde(rename = "q")]
    Qmu,
    /// q_mu with mu_hat bounded below by the POI's lower bound: pyhf's default.
    #[default]
    #[serde(rename = "qtilde")]
    QmuTilde,
    /// Two-sided t_mu.
    #[serde(rename = "t")]
    Tmu,
    /// t_mu with mu_hat bounded below.
    #[serde(rename = "ttilde")]
    TmuTilde,
}

impl TestStatistic {
    pub fn name(&self) -> &'static str {
        match self {
            TestStatistic::Q0 => "q0",
            TestStatistic::Qmu => "q",
            TestStatistic::QmuTilde => "qtilde",
            TestStatistic::Tmu => "t",
            TestStatistic::TmuTilde => "ttilde",
        }
    }
}

impl std::fmt::Display for TestStatistic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for TestStatistic {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "q0" => Ok(TestStatistic::Q0),
            "q" => Ok(TestStatistic::Qmu),
            "qtilde" => Ok(TestStatistic::QmuTilde),
            "t" => Ok(TestStatistic::Tmu),
            "ttilde" => Ok(TestStatistic::TmuTilde),
            _ => Err(format!("unknown test statistic {s:?} (expected qtilde, q, q0, t or ttilde)")),
        }
    }
}

/// How p-values are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "calctype", rename_all = "lowercase")]
#[derive(Default)]
pub enum Calculator {
    /// Asymptotic formulae with the Asimov dataset (arXiv:1007.1727).
    #[default]
    Asymptotics,
    /// Pseudo-experiments: `ntoys` per hypothesis, reproducible from `seed`.
    Toys { ntoys: usize, seed: u64 },
}

/// The outcome of a maximum-likelihood fit, parameters in the model's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitResult {
    /// Parameter names as pyhf's `model.config.par_names`.
    pub par_names: Vec<String>,
    /// Best-fit values.
    pub bestfit: Vec<f64>,
    /// Uncertainties from the inverse Hessian at the minimum (0 for fixed parameters; NaN when
    /// not asked for).
    pub uncertainties: Vec<f64>,
    /// -2 ln L at the best fit, with every constant pyhf includes.
    pub twice_nll: f64,
    /// The parameter of interest, if the model has one.
    pub poi: Option<String>,
    pub converged: bool,
    pub iterations: usize,
    /// Why the fit stopped.
    pub message: String,
}

/// A hypothesis test at one POI value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HypotestResult {
    /// The tested POI value.
    pub mu: f64,
    pub test_stat: TestStatistic,
    #[serde(rename = "CLs_obs")]
    pub cls_obs: f64,
    /// Expected CLs at -2, -1, 0, +1, +2 sigma, pyhf's order.
    #[serde(rename = "CLs_exp")]
    pub cls_exp: [f64; 5],
    #[serde(rename = "CLsb_obs")]
    pub clsb_obs: f64,
    #[serde(rename = "CLb_obs")]
    pub clb_obs: f64,
    /// The observed value of the test statistic.
    pub test_stat_obs: f64,
    /// Best-fit POI of the unconditional fit to the observed data.
    pub mu_hat: f64,
    /// For toys: how many were drawn and how many were dropped because a fit failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toys: Option<ToyCounts>,
}

/// The toys behind a CLs from pseudo-experiments, per hypothesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToyCounts {
    /// Toys drawn at the signal-plus-background and at the background-only hypothesis.
    pub signal_plus_background: u64,
    pub background_only: u64,
    /// Toys dropped (both hypotheses together) because a fit did not converge: the CLs are
    /// computed from the others.
    pub failed: u64,
}

/// One point of an upper-limit scan, for Brazil plots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanPoint {
    pub mu: f64,
    #[serde(rename = "CLs_obs")]
    pub cls_obs: f64,
    #[serde(rename = "CLs_exp")]
    pub cls_exp: [f64; 5],
}

/// Upper limits on the POI at confidence level 1 - alpha.
///
/// A limit that lies outside the searched range is `None`, never the end of the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpperLimitResult {
    pub alpha: f64,
    pub obs: Option<f64>,
    /// Expected limits at -2, -1, 0, +1, +2 sigma.
    pub exp: [Option<f64>; 5],
    /// Every scanned point, when a scan was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<Vec<ScanPoint>>,
    /// Why a limit is missing, if one is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Discovery significance from q0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignificanceResult {
    pub q0_obs: f64,
    pub p0_obs: f64,
    pub z_obs: f64,
    /// Expected p0 and Z under the signal hypothesis (mu = 1), median.
    pub p0_exp: f64,
    pub z_exp: f64,
}

/// Test-statistic values of a shard of pseudo-experiments; shards of one seed merge exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyShard {
    pub mu: f64,
    pub test_stat: TestStatistic,
    pub seed: u64,
    /// Index of the first toy in this shard.
    pub first: u64,
    /// The test statistic of the observed data.
    pub test_stat_obs: f64,
    /// Best-fit POI of the free fit to the observed data.
    pub mu_hat: f64,
    /// Test statistic of each toy drawn at the signal-plus-background hypothesis (mu).
    pub signal_plus_background: Vec<f64>,
    /// Test statistic of each toy drawn at the background-only hypothesis.
    pub background_only: Vec<f64>,
    /// Toys whose fits did not converge (left out of the distributions).
    pub failed: usize,
}
