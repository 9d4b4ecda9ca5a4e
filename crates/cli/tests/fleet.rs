//! The fleet end to end against the real RabbitMQ and Redis (fails when they are missing):
//! `submit`, a worker (the real worker service, in process), `wait`, `status`,
//! `results` (JSON and CSV), `jobs` and `cancel`, each in a fleet of the test's own.
mod common;

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

fn submit(cfg: &fitfleet_fleet::FleetConfig, extra: &[&str]) -> String {
    submit_patchset(cfg, &common::pallet_patchset(), extra)
}

fn submit_patchset(cfg: &fitfleet_fleet::FleetConfig, patchset: &std::path::Path, extra: &[&str]) -> String {
    let (out, stdout, stderr) = common::run(
        common::fitfleet(Some(cfg))
            .arg("submit")
            .arg(common::pallet_workspace())
            .arg("--patchset")
            .arg(patchset)
            .args(extra),
    );
    assert!(out.status.success(), "submit failed: {stderr}");
    let job = stdout.trim().to_string();
    assert_eq!(job.len(), 32, "the job id (128 bits in hex) alone on stdout: {stdout:?}");
    job
}

fn ok(cmd: &mut Command) -> String {
    let (out, stdout, stderr) = common::run(cmd);
    assert!(out.status.success(), "{cmd:?} failed ({:?}): {stderr}", out.status.code());
    stdout
}

const PATCHES: [&str; 8] =
    ["--patch", "SIG_300_0", "--patch", "SIG_500_100", "--patch", "SIG_700_200", "--patch", "SIG_1100_0"];

#[test]
fn submit_work_wait_and_results_round_trip() {
    let cfg = common::config("roundtrip");
    let _cleanup = common::Cleanup::both(&cfg);
    common::require_services(&cfg);

    let job = submit(&cfg, &PATCHES);
    common::wait_tasks_in_queue(&cfg, 4); // one task per patch, waiting for a worker
    let status = ok(common::fitfleet(Some(&cfg)).args(["status", &job]));
    assert!(status.contains("state     queued"), "{status}");
    assert!(status.contains("tasks     4: 0 succeeded, 0 failed, 4 remaining"), "{status}");

    // Partial results before any worker: an empty document.
    let partial: BTreeMap<String, Value> =
        serde_json::from_str(&ok(common::fitfleet(Some(&cfg)).args(["results", &job]))).unwrap();
    assert!(partial.is_empty());

    let worker = common::TestWorker::start(&cfg);
    let (out, _, stderr) = common::run(common::fitfleet(Some(&cfg)).args(["wait", &job]));
    assert!(out.status.success(), "wait: {stderr}");
    assert!(stderr.contains("all 4 tasks succeeded"), "{stderr}");
    drop(worker);

    let status = ok(common::fitfleet(Some(&cfg)).args(["status", &job]));
    assert!(status.contains("state     done"), "{status}");
    assert!(status.contains("4 succeeded, 0 failed, 0 remaining"), "{status}");
    // Four patches, four models: compiled once each, none from the cache, one worker.
    assert!(status.contains("per task  median of 4: queue wait"), "{status}");
    assert!(status.contains("cache     0 of 4 models from a worker's cache (0%), 1 worker"), "{status}");

    let doc: BTreeMap<String, Value> =
        serde_json::from_str(&ok(common::fitfleet(Some(&cfg)).args(["results", &job]))).unwrap();
    assert_eq!(doc.keys().collect::<Vec<_>>(), ["SIG_1100_0", "SIG_300_0", "SIG_500_100", "SIG_700_200"]);
    for e in doc.values() {
        assert_eq!(e["status"], "succeeded");
        assert_eq!(e["labels"], serde_json::json!(["m1", "m2"]));
    }

    // The fleet and the embedded run agree: same tasks, same processing.
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.json");
    ok(common::fitfleet(None)
        .arg("run")
        .arg(common::pallet_workspace())
        .arg("--patchset")
        .arg(common::pallet_patchset())
        .args(PATCHES)
        .arg("--out")
        .arg(&local));
    let local: BTreeMap<String, Value> = serde_json::from_slice(&std::fs::read(&local).unwrap()).unwrap();
    for (name, e) in &doc {
        assert_eq!(e["CLs_obs"], local[name]["CLs_obs"], "{name}");
        assert_eq!(e["CLs_exp"], local[name]["CLs_exp"], "{name}");
        assert_eq!(e["mass_hypotheses"], local[name]["mass_hypotheses"], "{name}");
    }

    // CSV: a header and one row per patch, in name order.
    let csv_path = dir.path().join("r.csv");
    ok(common::fitfleet(Some(&cfg)).args(["results", &job, "--format", "csv", "--out"]).arg(&csv_path));
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    // `export JOB --format csv` is the same table, and `plot JOB` draws the job's contour.
    assert_eq!(ok(common::fitfleet(Some(&cfg)).args(["export", &job, "--format", "csv"])), csv);
    let png = dir.path().join("contour.png");
    ok(common::fitfleet(Some(&cfg)).args(["plot", &job, "--out"]).arg(&png));
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"), "a PNG from the job's results");
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0],
        [
            "patch",
            "m1",
            "m2",
            "CLs_obs",
            "CLs_exp_m2",
            "CLs_exp_m1",
            "CLs_exp_0",
            "CLs_exp_p1",
            "CLs_exp_p2",
            "fit_time",
            "status",
            "reason"
        ]
    );
    assert_eq!(rows.len(), 5);
    assert_eq!(&rows[2][..3], ["SIG_300_0", "300", "0"]);
    for row in &rows[1..] {
        assert_eq!(row.len(), 12);
        let cls: f64 = row[3].parse().unwrap();
        assert_eq!(Some(cls), doc[row[0]]["CLs_obs"].as_f64());
        assert_eq!(row[10], "succeeded");
        assert_eq!(row[11], "");
    }

    let jobs = ok(common::fitfleet(Some(&cfg)).arg("jobs"));
    let line = jobs.lines().find(|l| l.starts_with(&job)).unwrap_or_else(|| panic!("{job} listed: {jobs}"));
    assert!(line.contains("done") && line.contains("4/4"), "{line}");

    let cancel = ok(common::fitfleet(Some(&cfg)).args(["cancel", &job]));
    assert!(cancel.contains("already done"), "{cancel}");
}

#[test]
fn toys_are_sharded_by_submit_and_merged_by_results() {
    let cfg = common::config("toys");
    let _cleanup = common::Cleanup::both(&cfg);
    common::require_services(&cfg);
    let toys = ["--patch", "SIG_600_0", "--calctype", "toys", "--ntoys", "120", "--toys-per-task", "40", "--seed", "3"];
    let job = submit(&cfg, &toys);
    common::wait_tasks_in_queue(&cfg, 3);
    let worker = common::TestWorker::start(&cfg);
    ok(common::fitfleet(Some(&cfg)).args(["wait", &job]));
    drop(worker);
    let doc: BTreeMap<String, Value> =
        serde_json::from_str(&ok(common::fitfleet(Some(&cfg)).args(["results", &job]))).unwrap();
    assert_eq!(doc.len(), 1, "{doc:?}");
    let fleet = &doc["SIG_600_0"];
    assert_eq!(fleet["status"], "succeeded");

    // Shards merge exactly: the embedded run (its own shards, same seed) gives the same CLs.
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.json");
    ok(common::fitfleet(None)
        .arg("run")
        .arg(common::pallet_workspace())
        .arg("--patchset")
        .arg(common::pallet_patchset())
        .args(toys)
        .arg("--out")
        .arg(&local));
    let local: BTreeMap<String, Value> = serde_json::from_slice(&std::fs::read(&local).unwrap()).unwrap();
    assert_eq!(fleet["CLs_obs"], local["SIG_600_0"]["CLs_obs"]);
    assert_eq!(fleet["CLs_exp"], local["SIG_600_0"]["CLs_exp"]);
    // How many toys stand behind the CLs, and how many were dropped.
    assert_eq!(fleet["toy_counts"]["signal_plus_background"], 120, "{fleet}");
    assert_eq!(fleet["toy_counts"]["background_only"], 120, "{fleet}");
    assert!(fleet["toy_counts"]["failed"].as_u64().is_some(), "{fleet}");
    assert_eq!(fleet["toy_counts"], local["SIG_600_0"]["toy_counts"]);

    // `cls` with toys on this machine (shards on every core): the same CLs, and the counts.
    let (out, stdout, stderr) = common::run(
        common::fitfleet(None)
            .arg("cls")
            .arg(common::pallet_workspace())
            .arg("--patchset")
            .arg(common::pallet_patchset())
            .args(toys.iter().filter(|a| **a != "--toys-per-task" && **a != "40")),
    );
    assert!(out.status.success(), "{stderr}");
    let cls: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(cls["CLs_obs"], fleet["CLs_obs"]);
    assert_eq!(cls["toys"], fleet["toy_counts"]);
}

#[test]
fn cancel_ends_the_job_and_wait_says_so() {
    let cfg = common::config("cancel");
    let _cleanup = common::Cleanup::both(&cfg);
    common::require_services(&cfg);
    let job = submit(&cfg, &["--patch", "SIG_300_0", "--patch", "SIG_400_0"]);
    let cancel = ok(common::fitfleet(Some(&cfg)).args(["cancel", &job]));
    assert!(cancel.contains("cancelled: 0 of 2 tasks had finished"), "{cancel}");
    let (out, _, stderr) = common::run(common::fitfleet(Some(&cfg)).args(["wait", &job]));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("was cancelled"), "{stderr}");
    let status = ok(common::fitfleet(Some(&cfg)).args(["status", &job]));
    assert!(status.contains("state     cancelled"), "{status}");

    // A worker skips the cancelled job's tasks: the queue drains and no result appears.
    let worker = common::TestWorker::start(&cfg);
    common::wait_tasks_in_queue(&cfg, 0);
    drop(worker);
    let doc: BTreeMap<String, Value> =
        serde_json::from_str(&ok(common::fitfleet(Some(&cfg)).args(["results", &job]))).unwrap();
    assert!(doc.is_empty(), "{doc:?}");
}

/// The example patchset with the signal of `name` made negative: a valid workspace whose
/// likelihood is not finite, so that its fit fails on any worker.
fn patchset_with_a_broken_signal(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let mut ps: Value = serde_json::from_slice(&std::fs::read(common::pallet_patchset()).unwrap()).unwrap();
    let patch = ps["patches"].as_array_mut().unwrap().iter_mut().find(|p| p["metadata"]["name"] == name).unwrap();
    for op in patch["patch"].as_array_mut().unwrap() {
        if let Some(data) = op["value"].get_mut("data").and_then(Value::as_array_mut) {
            data.iter_mut().for_each(|x| *x = Value::from(-1e6));
        }
    }
    let path = dir.join("patchset.json");
    std::fs::write(&path, serde_json::to_vec(&ps).unwrap()).unwrap();
    path
}

#[test]
fn failed_tasks_show_in_wait_status_and_results() {
    let cfg = common::config("failures");
    let _cleanup = common::Cleanup::both(&cfg);
    common::require_services(&cfg);
    let dir = tempfile::tempdir().unwrap();
    let patchset = patchset_with_a_broken_signal(dir.path(), "SIG_400_0");
    let job =
        submit_patchset(&cfg, &patchset, &["--patch", "SIG_300_0", "--patch", "SIG_400_0", "--patch", "SIG_500_0"]);
    let worker = common::TestWorker::start(&cfg);
    let (out, _, stderr) = common::run(common::fitfleet(Some(&cfg)).args(["wait", &job]));
    drop(worker);
    assert_eq!(out.status.code(), Some(1), "a failed task makes wait fail: {stderr}");
    assert!(stderr.contains("2 succeeded, 1 failed of 3"), "{stderr}");

    let why = "fit did not converge: free fit to the data: the likelihood is not finite at the starting point: \
               channel CR_Top bin 0 expects -9.995e5 events; a Poisson mean cannot be negative";
    let status = ok(common::fitfleet(Some(&cfg)).args(["status", &job]));
    assert!(status.contains("3: 2 succeeded, 1 failed, 0 remaining"), "{status}");
    assert!(status.contains("failures  1 task, 1 reason:"), "{status}");
    assert!(status.contains(&format!("1 x {why}  (SIG_400_0)")), "{status}");

    let doc: BTreeMap<String, Value> =
        serde_json::from_str(&ok(common::fitfleet(Some(&cfg)).args(["results", &job]))).unwrap();
    assert_eq!(doc["SIG_400_0"]["status"], "failed");
    assert_eq!(doc["SIG_400_0"]["reason"], why);
    assert!(doc["SIG_400_0"].get("CLs_obs").is_none());
    assert_eq!(doc["SIG_500_0"]["status"], "succeeded");
    let csv = ok(common::fitfleet(Some(&cfg)).args(["results", &job, "--format", "csv"]));
    let row = csv.lines().find(|l| l.starts_with("SIG_400_0,")).unwrap();
    // No CLs values; the fit time is that of the fit that failed.
    assert!(row.starts_with("SIG_400_0,400,0,,,,,,,") && row.ends_with(&format!(",failed,{why}")), "{row}");
}

#[test]
fn wait_says_why_a_job_makes_no_progress() {
    use std::io::BufRead;
    let cfg = common::config("stall");
    let _cleanup = common::Cleanup::both(&cfg);
    common::require_services(&cfg);
    let job = submit(&cfg, &["--patch", "SIG_300_0"]);
    common::wait_tasks_in_queue(&cfg, 1);
    // No worker runs: after a second without progress wait says so, and what to do.
    let mut wait = common::fitfleet(Some(&cfg))
        .args(["wait", &job, "--stall-secs", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = wait.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut seen = Vec::new();
    let said = loop {
        match rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
            Ok(line) if line.contains("no progress for") => break line,
            Ok(line) => seen.push(line),
            Err(_) => panic!("wait never said why nothing happens: {seen:?}"),
        }
    };
    let _ = wait.kill();
    let _ = wait.wait();
    assert!(said.contains("no worker consumes the task queue (1 tasks waiting): start workers"), "{said}");
}

#[test]
fn unknown_job_is_an_error_naming_it() {
    let cfg = common::config("unknown");
    let _cleanup = common::Cleanup::both(&cfg);
    common::require_services(&cfg);
    for cmd in ["status", "wait", "results", "cancel"] {
        let (out, _, stderr) = common::run(common::fitfleet(Some(&cfg)).args([cmd, "0123456789abcdef"]));
        assert_eq!(out.status.code(), Some(2), "{cmd}: {stderr}");
        assert!(stderr.contains("job 0123456789abcdef is unknown"), "{cmd}: {stderr}");
    }
}
