//! Fit diagnostics as cabinetry computes them over pyhf: the fit with its covariance and
//! correlation matrices (`postfit.rs`), pre-fit widths of the parameters, pulls and constraints
//! of the nuisance parameters (`pulls.rs`), and expected yields per channel, sample and bin with
//! their uncertainties, before and after the fit (`yields.rs`); fits with parameters fixed
//! (`profile.rs`), of which the ranking of the nuisance parameters by their impact on the POI
//! (`ranking.rs`) and profile-likelihood scans in one or two parameters (`scan.rs`) are made.
//!
//! Conventions (cabinetry's):
//! - pre-fit: the parameters at the suggested initial values, each with its constraint's width
//!   (sigma of a Gaussian constraint, 1/sqrt(tau) of a Poisson one); free and fixed parameters
//!   have width 0 and contribute nothing; no correlations;
//! - post-fit: the best fit, the uncertainties and correlations from the inverse Hessian;
//! - a yield's uncertainty: each parameter `i` is moved by +-sigma_i, the symmetrised change
//!   `d_i = (y(theta + sigma_i) - y(theta - sigma_i)) / 2` is the yield's slope times sigma_i,
//!   and `sigma_y^2 = sum_ij d_i rho_ij d_j` (= `J C J^T` with C the covariance). Sums over
//!   samples or bins propagate the same way, correlations included.
mod correlations;
mod postfit;
mod profile;
mod pulls;
mod ranking;
mod scan;
mod yields;

pub use correlations::{Correlations, correlated_above};
pub use postfit::{PostFit, covariance, postfit, prefit_widths};
pub use profile::{Anchor, Fixes, first_fits, profile_fits, refine};
pub use pulls::{ParamKind, Pull, pulls};
pub use ranking::{Impact, Ranking, Reference, impacts, parameter_indices, ranked_parameters, ranking};
pub use scan::{LikelihoodScan, MAX_SCAN_GRID, ScanValue, scan};
pub use yields::{ChannelYields, SampleYields, Stage, Yields, postfit_yields, prefit_yields, yields};
