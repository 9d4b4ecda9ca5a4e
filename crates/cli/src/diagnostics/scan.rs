//! `fitfleet scan` output: -2 Delta ln L at each grid point, and a 1D scan's 68% interval.
use anyhow::Result;
use fitfleet_engine::infer::diagnostics::LikelihoodScan;

use super::table::Table;
use super::{csv_text, num};

pub fn table(s: &LikelihoodScan) -> String {
    let best: Vec<String> = s.parameters.iter().zip(&s.bestfit).map(|(p, v)| format!("{p} = {}", num(*v))).collect();
    let mut out = format!("Profile likelihood; best fit {} (twice NLL {})\n", best.join(", "), num(s.twice_nll_min));
    if let Some([lo, hi]) = s.interval {
        let side = |v: Option<f64>| v.map_or_else(|| "beyond the scan".to_string(), num);
        out.push_str(&format!("68% interval (-2 Delta ln L = 1): [{}, {}]\n", side(lo), side(hi)));
    }
    out.push('\n');
    let mut header = s.parameters.clone();
    header.extend(["twice_nll", "delta_twice_nll"].map(String::from));
    let mut t = Table::new(header);
    for p in &s.points {
        let mut row: Vec<String> = p.values.iter().map(|v| num(*v)).collect();
        row.push(num(p.twice_nll));
        row.push(format!("{}{}", num(p.delta_twice_nll), if p.converged { "" } else { " (*)" }));
        t.push(row);
    }
    out.push_str(&t.render());
    if s.points.iter().any(|p| !p.converged) {
        out.push_str("\n(*) the fit at this point did not converge.\n");
    }
    out
}

pub fn csv(s: &LikelihoodScan) -> Result<String> {
    csv_text(|w| {
        let mut header = s.parameters.clone();
        header.extend(["twice_nll", "delta_twice_nll", "converged"].map(String::from));
        w.write_record(&header)?;
        for p in &s.points {
            let mut row: Vec<String> = p.values.iter().map(f64::to_string).collect();
            row.extend([p.twice_nll.to_string(), p.delta_twice_nll.to_string(), p.converged.to_string()]);
            w.write_record(&row)?;
        }
        Ok(())
    })
}
