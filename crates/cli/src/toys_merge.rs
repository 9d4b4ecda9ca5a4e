//! The results document of a job whose tasks are shards of pseudo-experiments: each patch's
//! shards merge (exactly, with `fitfleet_engine::infer::calculators::toys::result`) into one entry
//! with its CLs, as an asymptotic hypotest's entry.
use std::collections::{BTreeMap, HashMap};

use fitfleet_engine::infer::calculators::toys;
use fitfleet_protocol::{Outcome, Status, TaskResult};

use crate::results::{self, Entry, ResultsDoc};

/// The document of a job's `results`. For a job of toy shards (`toy_shards` given: per patch
/// name, `None` for the workspace alone, how many shards the job has), each patch's shards
/// merge into one entry; a patch whose shards are not all in yet is left out (partial
/// results show complete patches only). Other jobs: [`results::document`].
pub fn document(
    results: &[TaskResult],
    labels: &[String],
    toy_shards: Option<&HashMap<Option<String>, usize>>,
) -> ResultsDoc {
    let Some(expected) = toy_shards else {
        return results::document(results, labels);
    };
    let mut by_patch: BTreeMap<Option<String>, Vec<&TaskResult>> = BTreeMap::new();
    for r in results {
        by_patch.entry(r.patch.as_ref().map(|p| p.name.clone())).or_default().push(r);
    }
    let mut doc = ResultsDoc::new();
    for (patch, mut shards) in by_patch {
        if shards.len() < expected.get(&patch).copied().unwrap_or(0) {
            continue;
        }
        shards.sort_by_key(|r| (first_toy(r), r.task_id.clone()));
        let key = patch.unwrap_or_else(|| "workspace".to_string());
        doc.insert(key, merge(&shards, labels));
    }
    doc
}

/// How many tasks each patch has (`None`: the workspace alone), from the job's task list.
pub fn shards_per_patch<'a>(patches: impl IntoIterator<Item = Option<&'a str>>) -> HashMap<Option<String>, usize> {
    let mut n = HashMap::new();
    for p in patches {
        *n.entry(p.map(str::to_string)).or_insert(0) += 1;
    }
    n
}

fn first_toy(r: &TaskResult) -> u64 {
    match &r.outcome {
        Some(Outcome::Toys(t)) => t.first,
        _ => u64::MAX,
    }
}

/// One patch's shards as one entry.
fn merge(shards: &[&TaskResult], labels: &[String]) -> Entry {
    let mut entry = Entry::from_result(shards[0], labels);
    entry.toys = None;
    entry.fit_time = shards.iter().map(|r| r.timings.fit_s).sum();
    let failed: Vec<&str> = shards
        .iter()
        .filter_map(|r| match &r.status {
            Status::Failed { reason } => Some(reason.as_str()),
            Status::Succeeded => None,
        })
        .collect();
    if let Some(reason) = failed.first() {
        entry.status = "failed".into();
        entry.reason = Some(format!("{} of {} toy shards failed: {reason}", failed.len(), shards.len()));
        return entry;
    }
    let parts: Vec<fitfleet_engine::infer::ToyShard> = shards
        .iter()
        .filter_map(|r| match &r.outcome {
            Some(Outcome::Toys(t)) => Some(t.clone()),
            _ => None,
        })
        .collect();
    match toys::result(&parts) {
        Ok(h) => {
            entry.status = "succeeded".into();
            entry.reason = None;
            entry.cls_obs = Some(h.cls_obs);
            entry.cls_exp = Some(h.cls_exp);
            entry.toy_counts = h.toys;
        }
        Err(e) => {
            entry.status = "failed".into();
            entry.reason = Some(format!("merging {} toy shards: {e}", shards.len()));
        }
    }
    entry
}
