//! `fitfleet submit` checks every input before it connects: a bad workspace, an unknown patch,
//! a patchset made for another workspace or a patch that does not apply publishes nothing and
//! records nothing, and the error names the problem. Needs RabbitMQ and Redis (to see that
//! nothing reached them); fails when they are missing.
mod common;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    p
}

/// Submit and expect a refusal naming every one of `needles`; then nothing in the fleet.
fn refused(test: &str, workspace: &Path, patchset: &Path, extra: &[&str], needles: &[&str]) {
    let cfg = common::config(test);
    let _cleanup = common::Cleanup::both(&cfg);
    common::require_services(&cfg);
    let (out, stdout, stderr) = common::run(
        common::fitfleet(Some(&cfg)).arg("submit").arg(workspace).arg("--patchset").arg(patchset).args(extra),
    );
    assert_eq!(out.status.code(), Some(2), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.is_empty(), "no job id printed: {stdout}");
    for n in needles {
        assert!(stderr.contains(n), "the error names {n:?}: {stderr}");
    }
    assert_eq!(common::tasks_in_queue(&cfg), None, "no tasks queue was even declared");
    let keys = common::runtime().block_on(common::keys_under_prefix(&cfg)).unwrap();
    assert!(keys.is_empty(), "nothing stored: {keys:?}");
    let (out, jobs, _) = common::run(common::fitfleet(Some(&cfg)).arg("jobs"));
    assert!(out.status.success());
    assert!(jobs.trim().is_empty(), "no job listed: {jobs}");
}

#[test]
fn bad_json_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.json");
    let text = std::fs::read_to_string(common::pallet_workspace()).unwrap();
    std::fs::write(&bad, &text[..text.len() / 2]).unwrap();
    refused("badjson", &bad, &common::pallet_patchset(), &[], &["broken.json", "not valid JSON"]);
}

#[test]
fn invalid_workspace_names_the_json_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = read(&common::pallet_workspace());
    ws["channels"][1]["samples"][0]["data"] = json!([1.0, 2.0]);
    let bad = write(dir.path(), "short.json", &ws);
    refused("invalid", &bad, &common::pallet_patchset(), &[], &["short.json", "channels[1].samples[0]"]);
}

#[test]
fn unknown_patch() {
    refused(
        "unknownpatch",
        &common::pallet_workspace(),
        &common::pallet_patchset(),
        &["--patch", "SIG_500_100", "--patch", "SIG_550_100"],
        &["SIG_550_100", "patchset.json", "closest"],
    );
}

#[test]
fn patchset_made_for_another_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = read(&common::pallet_workspace());
    ws["observations"][0]["data"][0] = json!(1000.0);
    let other = write(dir.path(), "other.json", &ws);
    refused("digest", &other, &common::pallet_patchset(), &[], &["patchset.json", "other.json", "digest"]);
}

#[test]
fn patch_that_does_not_apply() {
    let dir = tempfile::tempdir().unwrap();
    let mut ps = read(&common::pallet_patchset());
    ps["patches"][7]["patch"][1]["path"] = json!("/channels/9/samples/3");
    let name = ps["patches"][7]["metadata"]["name"].as_str().unwrap().to_string();
    let bad = write(dir.path(), "badpatch.json", &ps);
    refused(
        "badpatch",
        &common::pallet_workspace(),
        &bad,
        &[],
        &[&name, "badpatch.json", "patches[7].patch[1]", "/channels/9/samples/3"],
    );
}

#[test]
fn patch_whose_workspace_builds_no_model() {
    // The patch applies, but its signal has the wrong number of bins.
    let dir = tempfile::tempdir().unwrap();
    let mut ps = read(&common::pallet_patchset());
    ps["patches"][3]["patch"][0]["value"]["data"] = json!([1.0]);
    let name = ps["patches"][3]["metadata"]["name"].as_str().unwrap().to_string();
    let bad = write(dir.path(), "badbins.json", &ps);
    refused("badmodel", &common::pallet_workspace(), &bad, &[], &[&name, "badbins.json"]);
}

#[test]
fn workspace_over_max_workspace_bytes() {
    let ws = common::pallet_workspace();
    let size = std::fs::metadata(&ws).unwrap().len().to_string();
    refused(
        "bigworkspace",
        &ws,
        &common::pallet_patchset(),
        &["--max-workspace-bytes", "5000"],
        &["the workspace", "BkgOnly.json", &format!("is {size} bytes"), "limit of 5000 bytes", "max_workspace_bytes"],
    );
}

#[test]
fn patch_over_max_patch_bytes() {
    let ps = read(&common::pallet_patchset());
    let first = ps["patches"][0]["metadata"]["name"].as_str().unwrap().to_string();
    refused(
        "bigpatch",
        &common::pallet_workspace(),
        &common::pallet_patchset(),
        &["--max-patch-bytes", "1000"],
        &[&format!("patch {first} (patches[0])"), "patchset.json", "limit of 1000 bytes", "max_patch_bytes"],
    );
}

#[test]
fn task_over_max_task_bytes() {
    refused(
        "bigtask",
        &common::pallet_workspace(),
        &common::pallet_patchset(),
        &["--patch", "SIG_1000_0", "--max-task-bytes", "2000"],
        &["the task of patch SIG_1000_0", "limit of 2000 bytes", "max_task_bytes"],
    );
}

#[test]
fn work_a_worker_could_not_run() {
    refused(
        "hugescan",
        &common::pallet_workspace(),
        &common::pallet_patchset(),
        &["--upper-limit", "--scan", "0", "5", "20000"],
        &["--scan START STOP N", "from 2 to 10000", "20000"],
    );
    refused(
        "hugetoys",
        &common::pallet_workspace(),
        &common::pallet_patchset(),
        &["--calctype", "toys", "--ntoys", "2000000", "--toys-per-task", "2000000"],
        &["work.count is 2000000 toys", "--toys-per-task"],
    );
}

#[test]
fn gzip_bomb_workspace_is_refused_at_the_fleet_bound() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    // 3 MB of JSON whitespace in a few kB of gzip: past a 1 MB bound once unpacked.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(b"{").unwrap();
    gz.write_all(&vec![b' '; 3 << 20]).unwrap();
    gz.write_all(b"}").unwrap();
    let bomb = dir.path().join("bomb.json.gz");
    std::fs::write(&bomb, gz.finish().unwrap()).unwrap();
    assert!(std::fs::metadata(&bomb).unwrap().len() < 100_000);
    refused(
        "gzipbomb",
        &bomb,
        &common::pallet_patchset(),
        &["--max-workspace-bytes", "1000000"],
        &["bomb.json.gz", "unpacks to more than 1000000 bytes"],
    );
}

#[test]
fn a_model_over_the_budget_is_refused_with_the_workers_words() {
    refused(
        "modelbudget",
        &common::pallet_workspace(),
        &common::pallet_patchset(),
        &["--patch", "SIG_300_0", "--max-model-bytes", "100000"],
        &[
            "the model of patch SIG_300_0 would take an estimated",
            "parameters",
            "; 4 fits at once)",
            "more than the 97.7 KiB that max_model_bytes allows",
        ],
    );
}
