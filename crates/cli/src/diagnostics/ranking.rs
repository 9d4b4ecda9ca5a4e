//! `fitfleet ranking` output: the parameters by impact on the POI, largest first, with their
//! post-fit and pre-fit impacts and the fits behind them.
use anyhow::Result;
use fitfleet_engine::infer::diagnostics::Ranking;

use super::table::Table;
use super::{csv_text, num};

/// The ranking with only its first `top` parameters (all for `None`).
pub fn top(ranking: &Ranking, top: Option<usize>) -> Ranking {
    let mut r = ranking.clone();
    if let Some(n) = top {
        r.impacts.truncate(n);
    }
    r
}

pub fn table(r: &Ranking) -> String {
    let mut out = format!(
        "{} = {} +- {} at the best fit (twice NLL {}); impacts on {}, largest first\n\n",
        r.poi,
        num(r.poi_bestfit),
        num(r.poi_uncertainty),
        num(r.twice_nll),
        r.poi
    );
    let mut t = Table::new(
        ["parameter", "theta_hat", "sigma_post", "postfit_up", "postfit_down", "prefit_up", "prefit_down"]
            .map(String::from)
            .to_vec(),
    );
    let opt = |v: Option<f64>| v.map_or_else(String::new, num);
    for i in &r.impacts {
        t.push(vec![
            format!("{}{}", i.parameter, if i.converged { "" } else { " (*)" }),
            num(i.bestfit),
            num(i.uncertainty),
            num(i.postfit_up),
            num(i.postfit_down),
            opt(i.prefit_up),
            opt(i.prefit_down),
        ]);
    }
    out.push_str(&t.render());
    if r.impacts.iter().any(|i| !i.converged) {
        out.push_str("\n(*) a fixed fit of this parameter did not converge: its impacts are where it stopped.\n");
    }
    if !r.converged {
        out.push_str("\nNote: the free fit did not converge.\n");
    }
    out
}

pub fn csv(r: &Ranking) -> Result<String> {
    csv_text(|w| {
        w.write_record([
            "parameter",
            "bestfit",
            "uncertainty",
            "prefit_width",
            "postfit_up",
            "postfit_down",
            "prefit_up",
            "prefit_down",
            "converged",
        ])?;
        let opt = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
        for i in &r.impacts {
            w.write_record([
                i.parameter.clone(),
                i.bestfit.to_string(),
                i.uncertainty.to_string(),
                i.prefit_width.to_string(),
                i.postfit_up.to_string(),
                i.postfit_down.to_string(),
                opt(i.prefit_up),
                opt(i.prefit_down),
                i.converged.to_string(),
            ])?;
        }
        Ok(())
    })
}
