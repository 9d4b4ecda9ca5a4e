//! Fit diagnostics for a terminal and for other tools: yields, pulls, correlations, rankings
//! and likelihood scans as tables, CSV and JSON. The numbers come from `fitfleet_engine::infer::diagnostics`; the
//! figures are in `crate::plot` (`pulls.rs`, `correlations.rs`).
pub mod correlations;
pub mod pulls;
pub mod ranking;
pub mod scan;
pub mod table;
pub mod yields;

use std::path::Path;

use anyhow::{Context, Result};
use fitfleet_engine::infer::FitOptions;
use fitfleet_engine::infer::diagnostics::{PostFit, postfit};

use crate::input::Loaded;

/// The free fit with its covariance; a fit that did not converge is reported on stderr (its
/// numbers are still shown: a diagnostic is how one finds out why).
pub fn fit(loaded: &Loaded) -> Result<PostFit> {
    let post = postfit(&loaded.compiled, &loaded.data, &FitOptions::default()).context("the fit")?;
    if !post.fit.converged {
        eprintln!(
            "fitfleet: warning: the fit did not converge ({}): the post-fit numbers are where it stopped",
            post.fit.message
        );
    }
    tracing::info!(twice_nll = post.fit.twice_nll, iterations = post.fit.iterations, "fitted");
    Ok(post)
}

/// Write `text` to `out`, or to standard output.
pub fn write(text: &str, out: Option<&Path>) -> Result<()> {
    match out {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// A number as a table shows it: four significant digits, no exponent for ordinary yields.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a == 0.0 {
        "0".to_string()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{v:.3e}")
    } else {
        let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
        format!("{v:.decimals$}")
    }
}

/// A CSV writer into a string.
pub fn csv_text(rows: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> Result<()>) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    rows(&mut w)?;
    Ok(String::from_utf8(w.into_inner().context("writing CSV")?)?)
}
