//! The results document of a job, as `fitfleet results` and `fitfleet run` write it: a JSON
//! object keyed by patch name, like the results.json of the pyhf + funcX study, one entry per
//! task:
//!
//! ```json
//! {
//!   "C1N2_Wh_hbb_1000_0": {
//!     "CLs_obs": 0.5857, "CLs_exp": [0.0499, 0.1264, 0.2926, 0.5694, 0.8476],
//!     "mass_hypotheses": [1000, 0], "labels": ["m1", "m2"],
//!     "fit_time": 0.081, "status": "succeeded"
//!   }
//! }
//! ```
//!
//! `mass_hypotheses` are the patch's metadata values, `labels` the patchset's names for them
//! (the axes of exclusion plots). Upper-limit tasks carry `upper_limit` (pyhf's `obs`, `exp`
//! and the scan, when asked), fits `fit`, significance tasks `significance`, toy shards `toys`,
//! the tasks of a ranking `impacts`.
//! A failed task has `"status": "failed"` and its `reason`. A task without a patch is keyed
//! by its task id.
use std::collections::BTreeMap;

use fitfleet_protocol::{Outcome, PatchValue, Status, TaskResult};
use serde::{Deserialize, Serialize};

/// One task's entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Entry {
    #[serde(rename = "CLs_obs", default, skip_serializing_if = "Option::is_none")]
    pub cls_obs: Option<f64>,
    #[serde(rename = "CLs_exp", default, skip_serializing_if = "Option::is_none")]
    pub cls_exp: Option<[f64; 5]>,
    /// The patch's metadata values (masses, usually).
    #[serde(default)]
    pub mass_hypotheses: Vec<PatchValue>,
    /// The patchset's labels of those values.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Seconds the work took on its worker (fits only, without queue wait or compilation).
    #[serde(default)]
    pub fit_time: f64,
    /// "succeeded" or "failed".
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_limit: Option<fitfleet_engine::infer::UpperLimitResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<fitfleet_engine::infer::FitResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub significance: Option<fitfleet_engine::infer::SignificanceResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toys: Option<fitfleet_engine::infer::ToyShard>,
    /// For CLs from toys: the toys drawn per hypothesis and those dropped (failed fits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toy_counts: Option<fitfleet_engine::infer::ToyCounts>,
    /// A ranking task's share: the impacts of its parameters (`fitfleet ranking --fleet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impacts: Option<Vec<fitfleet_engine::infer::diagnostics::Impact>>,
}

/// The document: entries by patch name, in name order.
pub type ResultsDoc = BTreeMap<String, Entry>;

impl Entry {
    /// The entry of a stored result; `labels` are the patchset's.
    pub fn from_result(r: &TaskResult, labels: &[String]) -> Entry {
        let mut e = Entry {
            mass_hypotheses: r.patch.as_ref().map(|p| p.values.clone()).unwrap_or_default(),
            labels: labels.to_vec(),
            fit_time: r.timings.fit_s,
            ..Default::default()
        };
        match &r.status {
            Status::Succeeded => e.status = "succeeded".into(),
            Status::Failed { reason } => {
                e.status = "failed".into();
                e.reason = Some(reason.clone());
            }
        }
        match &r.outcome {
            Some(Outcome::Hypotest(h)) => {
                e.cls_obs = Some(h.cls_obs);
                e.cls_exp = Some(h.cls_exp);
                e.toy_counts = h.toys;
            }
            Some(Outcome::UpperLimit(u)) => e.upper_limit = Some(u.clone()),
            Some(Outcome::Fit(f)) => e.fit = Some(f.clone()),
            Some(Outcome::Significance(s)) => e.significance = Some(s.clone()),
            Some(Outcome::Toys(t)) => e.toys = Some(t.clone()),
            Some(Outcome::Impacts(i)) => e.impacts = Some(i.clone()),
            None => {}
        }
        e
    }

    /// The patch values as numbers, where they are numbers.
    pub fn masses(&self) -> Vec<Option<f64>> {
        self.mass_hypotheses.iter().map(PatchValue::as_f64).collect()
    }
}

/// The document of a job's results. Several tasks of one patch (toy shards, scan points) get
/// the task id appended to the patch name after the first.
pub fn document(results: &[TaskResult], labels: &[String]) -> ResultsDoc {
    let mut doc = ResultsDoc::new();
    for r in results {
        let mut key = r.patch.as_ref().map_or_else(|| r.task_id.as_str().to_string(), |p| p.name.clone());
        if doc.contains_key(&key) {
            key = format!("{key}#{}", r.task_id.as_str());
        }
        doc.insert(key, Entry::from_result(r, labels));
    }
    doc
}
