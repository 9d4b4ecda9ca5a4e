//! `fitfleet pulls` output: the constrained nuisance parameters' pulls and constraints, then the
//! POI and the free parameters (and fixed ones) apart.
use anyhow::Result;
use fitfleet_engine::infer::diagnostics::{ParamKind, Pull};
use serde::Serialize;

use super::table::Table;
use super::{csv_text, num};

/// The rows grouped by kind, each group in pyhf's parameter order.
#[derive(Debug, Serialize)]
pub struct PullsDoc {
    pub constrained: Vec<Pull>,
    pub poi: Vec<Pull>,
    pub free: Vec<Pull>,
    pub fixed: Vec<Pull>,
    pub twice_nll: f64,
    pub converged: bool,
}

impl PullsDoc {
    pub fn new(rows: Vec<Pull>, twice_nll: f64, converged: bool) -> Self {
        let of = |k: ParamKind| rows.iter().filter(|r| r.kind == k).cloned().collect::<Vec<_>>();
        PullsDoc {
            constrained: of(ParamKind::Constrained),
            poi: of(ParamKind::Poi),
            free: of(ParamKind::Free),
            fixed: of(ParamKind::Fixed),
            twice_nll,
            converged,
        }
    }
}

pub fn table(doc: &PullsDoc) -> String {
    let mut out = String::from("Constrained nuisance parameters\n\n");
    let mut t = Table::new(
        ["parameter", "theta_0", "sigma_prefit", "theta_hat", "sigma_post", "pull", "constraint"]
            .map(String::from)
            .to_vec(),
    );
    for r in &doc.constrained {
        t.push(vec![
            r.name.clone(),
            num(r.init),
            num(r.prefit_width),
            num(r.bestfit),
            num(r.uncertainty),
            r.pull.map_or_else(String::new, num),
            r.constraint.map_or_else(String::new, num),
        ]);
    }
    out.push_str(&t.render());
    let mut rest = Table::new(["parameter", "kind", "theta_hat", "uncertainty"].map(String::from).to_vec());
    for r in doc.poi.iter().chain(&doc.free).chain(&doc.fixed) {
        let kind = match r.kind {
            ParamKind::Poi => "POI",
            ParamKind::Free => "free",
            ParamKind::Fixed => "fixed",
            ParamKind::Constrained => "constrained",
        };
        rest.push(vec![r.name.clone(), kind.into(), num(r.bestfit), num(r.uncertainty)]);
    }
    if !rest.rows.is_empty() {
        out.push_str("\nPOI, free and fixed parameters\n\n");
        out.push_str(&rest.render());
    }
    if !doc.converged {
        out.push_str("\nNote: the fit did not converge.\n");
    }
    out
}

pub fn csv(doc: &PullsDoc) -> Result<String> {
    csv_text(|w| {
        w.write_record(["parameter", "kind", "init", "prefit_width", "bestfit", "uncertainty", "pull", "constraint"])?;
        for r in doc.constrained.iter().chain(&doc.poi).chain(&doc.free).chain(&doc.fixed) {
            let opt = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
            let kind = serde_json::to_value(r.kind)?.as_str().unwrap_or_default().to_string();
            w.write_record([
                r.name.clone(),
                kind,
                r.init.to_string(),
                r.prefit_width.to_string(),
                r.bestfit.to_string(),
                r.uncertainty.to_string(),
                opt(r.pull),
                opt(r.constraint),
            ])?;
        }
        Ok(())
    })
}
