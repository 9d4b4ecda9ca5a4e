//! Export of a results document for the HEP tool chain: HistFitter's "harvest" list, which
//! contour tools (HistFitter's `harvestToContours.py`, and the pyhf tutorials' plotting
//! scripts) read.
//!
//! A harvest is a JSON list with one object per signal point. The field names follow
//! HistFitter's `LimitResult::GetJSONData` (`src/LimitResult.cxx` in histfitter/histfitter) and
//! the pyhf-results-to-harvest converter of the pyhf + funcX and AGC statistical-inference
//! tutorials (`harvest.py`, from the sbottom likelihood pub-note code), which maps pyhf's
//! expected set, ordered -2σ..+2σ, as fitfleet's `CLs_exp` is:
//!
//! | harvest | fitfleet |
//! |---|---|
//! | `CLs` | `CLs_obs` |
//! | `CLsexp` | `CLs_exp[2]` (median) |
//! | `clsd2s`, `clsd1s` | `CLs_exp[0]`, `CLs_exp[1]` (-2σ, -1σ) |
//! | `clsu1s`, `clsu2s` | `CLs_exp[3]`, `CLs_exp[4]` (+1σ, +2σ) |
//! | `upperLimit` | `upper_limit.obs` |
//! | `expectedUpperLimit` | `upper_limit.exp[2]` |
//! | `expectedUpperLimitMinus2Sig` .. `expectedUpperLimitPlus2Sig` | `upper_limit.exp[0..5]` |
//! | `fitstatus`, `failedstatus` | 0 for a task that succeeded, 1 for one that failed |
//! | the mass labels (`m1`, `m2`, ...) | `mass_hypotheses`, named by `labels` |
//!
//! A value that was not computed is -1, HistFitter's and the converter's "not available". The
//! upper-limit fields appear only for entries with an upper limit. Entries that are neither
//! hypothesis tests nor upper limits (fits, significances, toy shards) are left out; failed
//! tasks are kept with `failedstatus` 1 (and CLs -1) so that the tools can tell a missing point
//! from an unexcluded one: filter on `failedstatus` before interpolating.
use serde_json::{Map, Value, json};

use crate::results::ResultsDoc;
use fitfleet_protocol::PatchValue;

/// "Not available", as HistFitter writes it.
const NA: f64 = -1.0;

/// The harvest list of a results document (entries in document order).
pub fn harvest(doc: &ResultsDoc) -> Value {
    let mut out = Vec::new();
    for e in doc.values() {
        let failed = e.status != "succeeded";
        let has_cls = e.cls_obs.is_some() || e.cls_exp.is_some();
        if !(failed || has_cls || e.upper_limit.is_some()) {
            continue;
        }
        let mut o = Map::new();
        let exp = e.cls_exp.map_or([NA; 5], |c| c.map(finite_or_na));
        o.insert("CLs".into(), json!(e.cls_obs.map_or(NA, finite_or_na)));
        o.insert("CLsexp".into(), json!(exp[2]));
        o.insert("clsd2s".into(), json!(exp[0]));
        o.insert("clsd1s".into(), json!(exp[1]));
        o.insert("clsu1s".into(), json!(exp[3]));
        o.insert("clsu2s".into(), json!(exp[4]));
        if let Some(ul) = &e.upper_limit {
            let v = |x: Option<f64>| x.map_or(NA, finite_or_na);
            o.insert("upperLimit".into(), json!(v(ul.obs)));
            o.insert("expectedUpperLimit".into(), json!(v(ul.exp[2])));
            o.insert("expectedUpperLimitMinus2Sig".into(), json!(v(ul.exp[0])));
            o.insert("expectedUpperLimitMinus1Sig".into(), json!(v(ul.exp[1])));
            o.insert("expectedUpperLimitPlus1Sig".into(), json!(v(ul.exp[3])));
            o.insert("expectedUpperLimitPlus2Sig".into(), json!(v(ul.exp[4])));
        }
        let status = if failed { 1 } else { 0 };
        o.insert("fitstatus".into(), json!(status));
        o.insert("failedstatus".into(), json!(status));
        for (i, value) in e.mass_hypotheses.iter().enumerate() {
            let name = e.labels.get(i).cloned().unwrap_or_else(|| format!("mass{i}"));
            o.insert(name, mass_value(value));
        }
        out.push(Value::Object(o));
    }
    Value::Array(out)
}

fn finite_or_na(x: f64) -> f64 {
    if x.is_finite() { x } else { NA }
}

/// Whole numbers as JSON integers (1000, not 1000.0), as patchsets write masses.
fn mass_value(v: &PatchValue) -> Value {
    match v {
        PatchValue::Number(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => json!(*x as i64),
        PatchValue::Number(x) => json!(x),
        PatchValue::Text(s) => json!(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Entry;
    use fitfleet_engine::infer::UpperLimitResult;

    fn entry(m: [f64; 2], status: &str) -> Entry {
        Entry {
            mass_hypotheses: m.iter().map(|&x| PatchValue::Number(x)).collect(),
            labels: vec!["m1".into(), "m2".into()],
            status: status.into(),
            ..Default::default()
        }
    }

    #[test]
    fn hypotests_map_to_histfitter_fields() {
        let mut doc = ResultsDoc::new();
        let mut e = entry([1000.0, 0.0], "succeeded");
        e.cls_obs = Some(0.5857);
        e.cls_exp = Some([0.0499, 0.1264, 0.2926, 0.5694, 0.8476]);
        doc.insert("C1N2_Wh_hbb_1000_0".into(), e);
        let mut f = entry([150.5, 0.0], "failed");
        f.reason = Some("fit did not converge".into());
        doc.insert("C1N2_Wh_hbb_150p5_0".into(), f);
        let mut fit = entry([200.0, 0.0], "succeeded");
        fit.fit = None;
        doc.insert("a fit".into(), fit);

        let h = harvest(&doc);
        let list = h.as_array().unwrap();
        assert_eq!(list.len(), 2, "the entry without CLs or limit is left out: {h:#}");
        let ok = &list[0];
        assert_eq!(ok["CLs"], json!(0.5857));
        assert_eq!(ok["CLsexp"], json!(0.2926));
        assert_eq!(ok["clsd2s"], json!(0.0499));
        assert_eq!(ok["clsd1s"], json!(0.1264));
        assert_eq!(ok["clsu1s"], json!(0.5694));
        assert_eq!(ok["clsu2s"], json!(0.8476));
        assert_eq!(ok["m1"], json!(1000));
        assert!(ok["m1"].is_i64());
        assert_eq!(ok["m2"], json!(0));
        assert_eq!(ok["fitstatus"], json!(0));
        assert_eq!(ok["failedstatus"], json!(0));
        assert!(ok.get("upperLimit").is_none());
        let bad = &list[1];
        assert_eq!(bad["failedstatus"], json!(1));
        assert_eq!(bad["fitstatus"], json!(1));
        assert_eq!(bad["CLs"], json!(-1.0));
        assert_eq!(bad["m1"], json!(150.5));
    }

    #[test]
    fn upper_limits_carry_their_expected_band() {
        let mut doc = ResultsDoc::new();
        let mut e = entry([500.0, 100.0], "succeeded");
        e.upper_limit = Some(UpperLimitResult {
            alpha: 0.05,
            obs: Some(1.5),
            exp: [Some(0.6), Some(0.8), Some(1.1), None, Some(2.4)],
            scan: None,
            notes: vec![],
        });
        doc.insert("p".into(), e);
        let h = harvest(&doc);
        let o = &h[0];
        assert_eq!(o["upperLimit"], json!(1.5));
        assert_eq!(o["expectedUpperLimit"], json!(1.1));
        assert_eq!(o["expectedUpperLimitMinus2Sig"], json!(0.6));
        assert_eq!(o["expectedUpperLimitMinus1Sig"], json!(0.8));
        assert_eq!(o["expectedUpperLimitPlus1Sig"], json!(-1.0));
        assert_eq!(o["expectedUpperLimitPlus2Sig"], json!(2.4));
        assert_eq!(o["CLs"], json!(-1.0));
    }
}
