//! pyhf's workspace and patchset operations, done by fitfleet on the reference workspaces and
//! compared with pyhf's results: the digest of every output workspace (and of the bytes pyhf's
//! CLI writes), or the kind of error pyhf raised.
//!
//! pyhf's answers are in `tests/data/pyhf_workspace_ops.json`, made by
//! `scripts/pyhf/workspace_ops.py` (its docstring says how); the workspaces are read from the
//! shared reference folder.
mod common;

use std::collections::BTreeMap;

use fitfleet_engine::spec::ops::{self, Checked, Join, Prune, Rename};
use fitfleet_engine::spec::{
    DigestAlgorithm, ModifierType, PatchSet, SpecError, SpecErrorKind, digest, digest_with, hash_hex, parse_value,
    python_json_dumps_pretty, read_file,
};
use serde_json::Value;

fn cases() -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pyhf_workspace_ops.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("the test data is JSON");
    doc["cases"].as_array().expect("cases").clone()
}

fn read(relative: &str) -> Value {
    let path = common::reference_file(relative);
    let bytes = read_file(&path).unwrap_or_else(|e| panic!("{e}"));
    parse_value(relative, &bytes).unwrap_or_else(|e| panic!("{e}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().map(|s| s.as_str().expect("a name").to_string()).collect()
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.as_str().expect("a name").to_string())).collect()
}

fn rename_of(v: &Value) -> Rename {
    Rename {
        channels: pairs(&v["channels"]),
        samples: pairs(&v["samples"]),
        modifiers: pairs(&v["modifiers"]),
        measurements: pairs(&v["measurements"]),
    }
}

/// An input as the script made it: a reference file, renamed, then patched.
fn input(spec: &Value) -> Result<Value, SpecError> {
    let file = spec["file"].as_str().expect("file");
    let mut value = read(file);
    if let Some(r) = spec.get("rename") {
        value = Checked::new(file, ops::rename(file, &value, &rename_of(r))?)?.value;
    }
    if let Some(p) = spec.get("patch") {
        let patch: json_patch::Patch = serde_json::from_value(p.clone()).expect("RFC 6902");
        json_patch::patch(&mut value, &patch).expect("the script's patch applies");
        value = Checked::new(file, value)?.value;
    }
    Ok(value)
}

/// pyhf's exception class for a fitfleet error kind.
fn pyhf_kind(kind: SpecErrorKind) -> &'static str {
    match kind {
        SpecErrorKind::Operation => "InvalidWorkspaceOperation",
        SpecErrorKind::Invalid | SpecErrorKind::Format => "InvalidSpecification",
        SpecErrorKind::Usage => "ValueError",
        SpecErrorKind::UnknownPatch => "InvalidPatchLookup",
        SpecErrorKind::DigestMismatch => "PatchSetVerificationError",
        _ => "other",
    }
}

/// fitfleet's answer to one case: the output workspace (schema-checked) or the error.
fn perform(case: &Value) -> Result<Value, SpecError> {
    let name = case["name"].as_str().expect("name");
    let args = &case["args"];
    let inputs: Vec<&Value> = case["inputs"].as_array().expect("inputs").iter().collect();
    let result = match case["op"].as_str().expect("op") {
        "sort" => ops::sorted(&input(inputs[0])?),
        "prune" => {
            let what = Prune {
                channels: strings(&args["channels"]),
                samples: strings(&args["samples"]),
                modifiers: strings(&args["modifiers"]),
                modifier_types: strings(&args["modifier_types"])
                    .iter()
                    .map(|t| t.parse::<ModifierType>().expect("a type"))
                    .collect(),
                measurements: strings(&args["measurements"]),
            };
            ops::prune(name, &input(inputs[0])?, &what)?
        }
        "rename" => ops::rename(name, &input(inputs[0])?, &rename_of(args))?,
        "combine" => {
            let join = Join::from_name(args["join"].as_str().expect("join")).expect("a join");
            let merge = args["merge_channels"].as_bool().expect("merge");
            ops::combine(name, &input(inputs[0])?, &input(inputs[1])?, join, merge)?
        }
        "patchset_extract" | "patchset_apply" => {
            let set = PatchSet::from_path(common::reference_file(case["patchset"].as_str().expect("patchset")))?;
            let key = args["name"].as_str().expect("patch name");
            if case["op"] == "patchset_apply" {
                return ops::apply_patch(&set, &input(inputs[0])?, key).map(|c| c.value);
            }
            let patch = set.find(key)?;
            return ops::extract(&set, patch, args["with_metadata"].as_bool().expect("with_metadata"));
        }
        other => panic!("unknown op {other}"),
    };
    Ok(Checked::new(name, result)?.value)
}

/// Compares fitfleet's answer with pyhf's; `None` when they agree.
fn compare(case: &Value, answer: Result<Value, SpecError>) -> Option<String> {
    match (answer, case.get("result"), case.get("error")) {
        (Ok(value), Some(expected), _) => {
            let sha = digest(&value);
            let file_sha = hash_hex(DigestAlgorithm::Sha256, python_json_dumps_pretty(&value).as_bytes());
            (sha != expected["sha256"] || file_sha != expected["file_sha256"])
                .then(|| format!("digest {sha} (file {file_sha}), pyhf's {expected}"))
        }
        (Err(e), _, Some(expected)) => {
            let kind = pyhf_kind(e.kind);
            (kind != expected["kind"]).then(|| format!("error {kind} ({e}), pyhf's {expected}"))
        }
        (Ok(value), None, expected) => {
            Some(format!("succeeded (digest {}) where pyhf failed: {expected:?}", digest(&value)))
        }
        (Err(e), expected, _) => Some(format!("failed ({e}) where pyhf gave {expected:?}")),
    }
}

fn check_all(ops: &[&str]) -> usize {
    let mut failures = Vec::new();
    let mut n = 0;
    for case in cases().iter().filter(|c| ops.contains(&c["op"].as_str().unwrap_or(""))) {
        n += 1;
        if let Some(why) = compare(case, perform(case)) {
            failures.push(format!("{}: {why}", case["name"]));
        }
    }
    assert!(failures.is_empty(), "{} of {n} cases differ from pyhf:\n{}", failures.len(), failures.join("\n"));
    n
}

#[test]
fn combine_joins_as_pyhf_does() {
    let n = check_all(&["combine"]);
    assert!(n >= 40, "only {n} combine cases");
}

#[test]
fn prune_and_rename_as_pyhf_does() {
    let n = check_all(&["prune", "rename"]);
    assert!(n >= 40, "only {n} prune and rename cases");
}

#[test]
fn sort_as_pyhf_does() {
    let n = check_all(&["sort"]);
    assert!(n >= 20, "only {n} sort cases");
}

#[test]
fn patches_extract_and_apply_as_pyhf_does() {
    let n = check_all(&["patchset_extract", "patchset_apply"]);
    assert!(n >= 15, "only {n} patchset cases");
}

#[test]
fn every_digest_is_pyhfs() {
    let mut failures = Vec::new();
    let mut n = 0;
    for case in cases().iter().filter(|c| c["op"] == "digest") {
        let file = case["inputs"][0]["file"].as_str().expect("file");
        let checked = Checked::new(file, read(file));
        match (checked, case.get("digests"), case.get("error")) {
            (Ok(c), Some(expected), _) => {
                let ours: BTreeMap<String, Value> = ["sha256", "md5", "sha1", "sha512"]
                    .iter()
                    .map(|a| {
                        let algorithm = DigestAlgorithm::from_name(a).expect("known");
                        (a.to_string(), Value::String(digest_with(&c.value, algorithm)))
                    })
                    .collect();
                n += ours.len();
                if serde_json::to_value(&ours).ok().as_ref() != Some(expected) {
                    failures.push(format!("{file}: {ours:?} != pyhf's {expected}"));
                }
            }
            (Err(e), None, Some(expected)) if pyhf_kind(e.kind) == expected["kind"] => n += 1,
            (answer, _, _) => failures.push(format!("{file}: {answer:?} against pyhf's {case}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n >= 80, "only {n} digests checked");
}

#[test]
fn verify_accepts_the_workspace_made_for_and_refuses_others() {
    let mut n = 0;
    for case in cases().iter().filter(|c| c["op"] == "patchset_verify") {
        let set = PatchSet::from_path(common::reference_file(case["patchset"].as_str().expect("patchset")))
            .unwrap_or_else(|e| panic!("{e}"));
        let ws = read(case["inputs"][0]["file"].as_str().expect("file"));
        let answer = set.verify_digest(&ws);
        match (answer, case.get("verified"), case.get("error")) {
            (Ok(()), Some(_), _) => {}
            (Err(e), None, Some(expected)) => {
                assert_eq!(pyhf_kind(e.kind), expected["kind"], "{}", case["name"]);
                assert_eq!(e.path, "metadata.digests.sha256", "{e}");
            }
            (answer, _, _) => panic!("{}: {answer:?}, pyhf: {case}", case["name"]),
        }
        n += 1;
    }
    assert!(n >= 6, "only {n} verify cases");
}
