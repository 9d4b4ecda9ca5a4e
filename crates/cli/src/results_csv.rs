//! The results document as a table: one row per entry, in name order. Columns: `patch`, one
//! per patchset label (the mass values), `CLs_obs`, `CLs_exp_m2`, `CLs_exp_m1`, `CLs_exp_0`,
//! `CLs_exp_p1`, `CLs_exp_p2`, `fit_time`, `status`, `reason`; for upper-limit jobs also
//! `UL_obs` and `UL_exp_m2` .. `UL_exp_p2`. Missing values are empty cells.
use std::io::Write;

use anyhow::Result;

use crate::results::ResultsDoc;

const BAND: [&str; 5] = ["m2", "m1", "0", "p1", "p2"];

/// Write `doc` as CSV with a header row.
pub fn write<W: Write>(doc: &ResultsDoc, out: W) -> Result<()> {
    let labels: Vec<String> = doc.values().find(|e| !e.labels.is_empty()).map(|e| e.labels.clone()).unwrap_or_default();
    let limits = doc.values().any(|e| e.upper_limit.is_some());
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = vec!["patch".into()];
    header.extend(labels.iter().cloned());
    header.push("CLs_obs".into());
    header.extend(BAND.iter().map(|b| format!("CLs_exp_{b}")));
    if limits {
        header.push("UL_obs".into());
        header.extend(BAND.iter().map(|b| format!("UL_exp_{b}")));
    }
    header.extend(["fit_time", "status", "reason"].map(String::from));
    w.write_record(&header)?;
    let num = |x: Option<f64>| x.map_or_else(String::new, |x| x.to_string());
    for (name, e) in doc {
        let mut row = vec![name.clone()];
        row.extend((0..labels.len()).map(|i| e.mass_hypotheses.get(i).map_or_else(String::new, ToString::to_string)));
        row.push(num(e.cls_obs));
        row.extend((0..5).map(|i| num(e.cls_exp.map(|c| c[i]))));
        if limits {
            let ul = e.upper_limit.as_ref();
            row.push(num(ul.and_then(|u| u.obs)));
            row.extend((0..5).map(|i| num(ul.and_then(|u| u.exp[i]))));
        }
        row.push(e.fit_time.to_string());
        row.push(e.status.clone());
        row.push(e.reason.clone().unwrap_or_default());
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Entry;
    use fitfleet_protocol::PatchValue;

    #[test]
    fn one_row_per_entry_with_mass_columns() {
        let mut doc = ResultsDoc::new();
        doc.insert(
            "SIG_300_0".into(),
            Entry {
                cls_obs: Some(0.01),
                cls_exp: Some([0.001, 0.002, 0.005, 0.01, 0.02]),
                mass_hypotheses: vec![PatchValue::Number(300.0), PatchValue::Number(0.0)],
                labels: vec!["m1".into(), "m2".into()],
                fit_time: 0.25,
                status: "succeeded".into(),
                ..Default::default()
            },
        );
        doc.insert(
            "SIG_400_100".into(),
            Entry {
                mass_hypotheses: vec![PatchValue::Number(400.0), PatchValue::Number(100.0)],
                labels: vec!["m1".into(), "m2".into()],
                status: "failed".into(),
                reason: Some("fit did not converge, badly".into()),
                ..Default::default()
            },
        );
        let mut out = Vec::new();
        write(&doc, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "patch,m1,m2,CLs_obs,CLs_exp_m2,CLs_exp_m1,CLs_exp_0,CLs_exp_p1,CLs_exp_p2,fit_time,status,reason"
        );
        assert_eq!(lines[1], "SIG_300_0,300,0,0.01,0.001,0.002,0.005,0.01,0.02,0.25,succeeded,");
        assert_eq!(lines[2], "SIG_400_100,400,100,,,,,,,0,failed,\"fit did not converge, badly\"");
    }
}
