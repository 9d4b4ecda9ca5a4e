//! `fitfleet correlations` output: the matrix as a table (rows by parameter, columns numbered),
//! as CSV (a header of names), or JSON.
use anyhow::Result;
use fitfleet_engine::infer::diagnostics::Correlations;
use serde::Serialize;

use super::csv_text;
use super::table::Table;

#[derive(Debug, Serialize)]
pub struct CorrelationsDoc {
    /// Parameters shown: those with some |correlation| of at least this to another.
    pub threshold: f64,
    #[serde(flatten)]
    pub correlations: Correlations,
    pub twice_nll: f64,
    pub converged: bool,
}

pub fn table(doc: &CorrelationsDoc) -> String {
    let c = &doc.correlations;
    let mut header = vec!["parameter".to_string(), "#".to_string()];
    header.extend((0..c.names.len()).map(|i| i.to_string()));
    let mut t = Table::new(header);
    for (i, (name, row)) in c.names.iter().zip(&c.matrix).enumerate() {
        let mut r = vec![name.clone(), i.to_string()];
        r.extend(row.iter().map(|v| format!("{v:.2}")));
        t.push(r);
    }
    let mut out = format!(
        "Correlations of the {} parameters with some |correlation| >= {} to another\n\n",
        c.names.len(),
        doc.threshold
    );
    out.push_str(&t.render());
    if !doc.converged {
        out.push_str("\nNote: the fit did not converge.\n");
    }
    out
}

pub fn csv(doc: &CorrelationsDoc) -> Result<String> {
    let c = &doc.correlations;
    csv_text(|w| {
        let mut header = vec!["parameter".to_string()];
        header.extend(c.names.iter().cloned());
        w.write_record(&header)?;
        for (name, row) in c.names.iter().zip(&c.matrix) {
            let mut r = vec![name.clone()];
            r.extend(row.iter().map(|v| v.to_string()));
            w.write_record(&r)?;
        }
        Ok(())
    })
}
