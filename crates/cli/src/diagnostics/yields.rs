//! `fitfleet yields` output: per channel, a table of samples by bins (pre-fit, then post-fit),
//! long CSV rows, or JSON.
use anyhow::Result;
use fitfleet_engine::infer::diagnostics::{SampleYields, Yields};
use serde::Serialize;

use super::table::Table;
use super::{csv_text, num};

/// Both stages and the fit they come from.
#[derive(Debug, Serialize)]
pub struct YieldsDoc {
    pub prefit: Yields,
    pub postfit: Yields,
    pub twice_nll: f64,
    pub converged: bool,
}

fn pm(y: f64, u: f64) -> String {
    format!("{} ± {}", num(y), num(u))
}

/// One table per stage and channel.
pub fn table(doc: &YieldsDoc) -> String {
    let mut out = String::new();
    for (stage, title) in [
        (&doc.prefit, "Pre-fit yields (suggested initial values; uncertainties from the constraint widths)"),
        (&doc.postfit, "Post-fit yields (best fit; uncertainties from the fit's covariance)"),
    ] {
        out.push_str(&format!("{title}\n\n"));
        for ch in &stage.channels {
            let nb = ch.observed.len();
            let mut header = vec![ch.name.clone()];
            header.extend((0..nb).map(|b| format!("bin {b}")));
            if nb > 1 {
                header.push("sum".into());
            }
            let mut t = Table::new(header);
            let row = |s: &SampleYields| -> Vec<String> {
                let mut r = vec![s.name.clone()];
                r.extend(s.yields.iter().zip(&s.uncertainties).map(|(y, u)| pm(*y, *u)));
                if nb > 1 {
                    r.push(pm(s.sum, s.sum_uncertainty));
                }
                r
            };
            for s in &ch.samples {
                t.push(row(s));
            }
            t.push(row(&ch.total));
            let mut data = vec!["data".to_string()];
            data.extend(ch.observed.iter().map(|v| num(*v)));
            if nb > 1 {
                data.push(num(ch.observed_sum));
            }
            t.push(data);
            out.push_str(&t.render());
            out.push('\n');
        }
    }
    if !doc.converged {
        out.push_str("Note: the fit did not converge.\n");
    }
    out
}

/// One row per stage, channel, sample (or `total`) and bin (or `sum`); the observed data as
/// stage `observed`, sample `data`, without an uncertainty.
pub fn csv(doc: &YieldsDoc) -> Result<String> {
    csv_text(|w| {
        w.write_record(["stage", "channel", "sample", "bin", "yield", "uncertainty"])?;
        for stage in [&doc.prefit, &doc.postfit] {
            for ch in &stage.channels {
                for s in ch.samples.iter().chain([&ch.total]) {
                    for (b, (y, u)) in s.yields.iter().zip(&s.uncertainties).enumerate() {
                        w.write_record([
                            stage.stage.name(),
                            &ch.name,
                            &s.name,
                            &b.to_string(),
                            &y.to_string(),
                            &u.to_string(),
                        ])?;
                    }
                    w.write_record([
                        stage.stage.name(),
                        &ch.name,
                        &s.name,
                        "sum",
                        &s.sum.to_string(),
                        &s.sum_uncertainty.to_string(),
                    ])?;
                }
            }
        }
        for ch in &doc.prefit.channels {
            for (b, v) in ch.observed.iter().enumerate() {
                w.write_record(["observed", &ch.name, "data", &b.to_string(), &v.to_string(), ""])?;
            }
            w.write_record(["observed", &ch.name, "data", "sum", &ch.observed_sum.to_string(), ""])?;
        }
        Ok(())
    })
}
