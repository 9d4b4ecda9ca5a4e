//! The shared reference data and jobs made of it: published like the client does, awaited,
//! and checked for exactly one result per task.
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fitfleet_engine::infer::{Calculator, TestStatistic};
use fitfleet_engine::model::ModelSettings;
use fitfleet_engine::spec::PatchSet;
use fitfleet_fleet::FleetConfig;
use fitfleet_fleet::amqp::Publisher;
use fitfleet_fleet::store::{JobSpec, JobState, JobStatus, Store};
use fitfleet_protocol::{JobId, Patch, PatchValue, Task, TaskResult, Work, WorkspaceDigest};

/// The shared reference data: `FITFLEET_REFERENCE`, else `shared/reference` beside the
/// repository. Panics when missing: these tests need it.
pub fn reference_dir() -> PathBuf {
    let dir = match std::env::var_os("FITFLEET_REFERENCE") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference"),
    };
    assert!(dir.join("README.md").is_file(), "reference data not found at {} (set FITFLEET_REFERENCE)", dir.display());
    dir
}

/// The 1Lbb background-only workspace (bytes as published) and its 125-patch patchset.
pub fn pallet_1lbb() -> (Vec<u8>, PatchSet) {
    let dir = reference_dir().join("atlas-susy-2019-08-1lbb");
    let ws = std::fs::read(dir.join("BkgOnly.json")).expect("BkgOnly.json");
    let ps = PatchSet::from_path(dir.join("patchset.json")).unwrap_or_else(|e| panic!("{e}"));
    (ws, ps)
}

/// A 3-parameter simplified likelihood: fits in milliseconds.
pub fn small_workspace() -> Vec<u8> {
    std::fs::read(reference_dir().join("simplified/SUSY-2019-08_simplified/workspace.json")).unwrap()
}

/// The work of the pallet: CLs at mu = 1 with qtilde and asymptotics, as in the pyhf + funcX study.
pub fn hypotest_mu1() -> Work {
    Work::Hypotest { poi: 1.0, test_stat: TestStatistic::QmuTilde, calculator: Calculator::Asymptotics }
}

/// A patchset's patch as a task's patch (operations verbatim).
pub fn task_patch(p: &fitfleet_engine::spec::Patch) -> Patch {
    let values = p
        .values()
        .iter()
        .map(|v| match v.as_f64() {
            Some(x) => PatchValue::Number(x),
            None => PatchValue::Text(v.to_string()),
        })
        .collect();
    Patch { name: p.name().to_owned(), values, operations: p.operations_json().to_owned() }
}

/// One task per patch, of one new job, on the workspace `digest`.
pub fn tasks_for(digest: &WorkspaceDigest, patches: &[&fitfleet_engine::spec::Patch], work: &Work) -> Vec<Task> {
    let job = JobId::generate();
    patches
        .iter()
        .map(|p| {
            Task::new(
                job.clone(),
                digest.clone(),
                Some(task_patch(p)),
                ModelSettings::default(),
                work.clone(),
                fitfleet_protocol::now_ms(),
            )
        })
        .collect()
}

/// Store the workspace, then tasks for `patches` as one job: the client's submission.
pub async fn submit(
    cfg: &FleetConfig,
    store: &Store,
    workspace: &[u8],
    patches: &[&fitfleet_engine::spec::Patch],
) -> Vec<Task> {
    let put = store.put_workspace(workspace).await.expect("storing the workspace");
    let tasks = tasks_for(&put.digest, patches, &hypotest_mu1());
    create_and_publish(cfg, store, &tasks).await;
    tasks
}

/// Create the job of `tasks` and publish them.
pub async fn create_and_publish(cfg: &FleetConfig, store: &Store, tasks: &[Task]) {
    store.create_job(&JobSpec::from_tasks("fleet e2e", tasks)).await.expect("creating the job");
    let mut publisher = Publisher::connect(cfg).await.expect("publisher");
    let report = publisher.publish(tasks).await.expect("publishing");
    assert_eq!(report.published, tasks.len());
    publisher.close().await;
}

/// Wait until the job is done; panics with its status after `timeout`.
pub async fn wait_done(store: &Store, job: &JobId, timeout: Duration) -> JobStatus {
    let deadline = Instant::now() + timeout;
    loop {
        let status = store.job_status(job).await.expect("job status").expect("the job exists");
        if status.state == JobState::Done {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "job {job} not done after {timeout:?}: {} done, {} failed of {}",
            status.done,
            status.failed,
            status.total
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Wait until the job has at least `n` results.
pub async fn wait_results(store: &Store, job: &JobId, n: u64, timeout: Duration) -> JobStatus {
    let deadline = Instant::now() + timeout;
    loop {
        let status = store.job_status(job).await.expect("job status").expect("the job exists");
        if status.done + status.failed >= n {
            return status;
        }
        assert!(Instant::now() < deadline, "job {job}: fewer than {n} results after {timeout:?}: {status:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every task has exactly one result, and the job's counters agree with the results.
pub async fn assert_exactly_once(store: &Store, tasks: &[Task]) -> Vec<TaskResult> {
    let job = &tasks[0].job_id;
    let results = store.results(job).await.expect("results");
    let status = store.job_status(job).await.unwrap().unwrap();
    let ids: HashSet<_> = results.iter().map(|r| r.task_id.clone()).collect();
    let want: HashSet<_> = tasks.iter().map(|t| t.task_id.clone()).collect();
    assert_eq!(results.len(), tasks.len(), "one result per task");
    assert_eq!(ids, want, "the results are those of the job's tasks");
    assert_eq!(status.total, tasks.len() as u64);
    let succeeded = results.iter().filter(|r| r.is_success()).count() as u64;
    assert_eq!(status.done, succeeded, "done counter == succeeded results: {status:?}");
    assert_eq!(status.failed, results.len() as u64 - succeeded, "failed counter == failed results: {status:?}");
    assert_eq!(status.state, JobState::Done);
    results
}

/// `n` hypotest tasks of one job, one per fake signal patch.
pub fn fake_tasks(job: &JobId, n: usize) -> Vec<Task> {
    let ws = WorkspaceDigest::of(b"{\"channels\": []}");
    (0..n)
        .map(|i| {
            let m1 = 1000.0 + 100.0 * i as f64;
            let patch = Patch::new(
                format!("C1N2_Wh_hbb_{m1}_{}", i * 50),
                vec![PatchValue::Number(m1), PatchValue::Number(i as f64 * 50.0)],
                &serde_json::json!([{"op": "add", "path": "/channels/0/samples/-", "value": {"name": "signal", "data": [i as f64, 0.5]}}]),
            );
            Task::new(
                job.clone(),
                ws.clone(),
                Some(patch),
                ModelSettings::default(),
                Work::Hypotest { poi: 1.0, test_stat: TestStatistic::QmuTilde, calculator: Calculator::Asymptotics },
                fitfleet_protocol::now_ms(),
            )
        })
        .collect()
}

/// [`assert_exactly_once`], and the same read straight from Redis: the result keys of the
/// job are exactly its task ids, its counters equal the results by status, and its progress
/// stream has one task event per result (nothing counted twice).
pub async fn assert_redis_exactly_once(cfg: &FleetConfig, store: &Store, tasks: &[Task]) -> Vec<TaskResult> {
    let results = assert_exactly_once(store, tasks).await;
    let job = &tasks[0].job_id;
    let keys = store.keys();
    let client = fitfleet_fleet::store::client(cfg).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.expect("a Redis connection");
    let stored: HashSet<String> = redis::cmd("HKEYS").arg(keys.job_results(job)).query_async(&mut conn).await.unwrap();
    let want: HashSet<String> = tasks.iter().map(|t| t.task_id.as_str().to_owned()).collect();
    assert_eq!(stored, want, "the result keys in Redis are the job's task ids");
    // A counter is absent until its first result (no failure: no "failed").
    let (done, failed): (Option<u64>, Option<u64>) =
        redis::cmd("HMGET").arg(keys.job_state(job)).arg(&["done", "failed"]).query_async(&mut conn).await.unwrap();
    let (done, failed) = (done.unwrap_or(0), failed.unwrap_or(0));
    let total = store.job_status(job).await.unwrap().expect("the job's record").total;
    let succeeded = results.iter().filter(|r| r.is_success()).count() as u64;
    assert_eq!((done, failed, total), (succeeded, results.len() as u64 - succeeded, tasks.len() as u64));
    let events: redis::streams::StreamRangeReply =
        redis::cmd("XRANGE").arg(keys.job_events(job)).arg("-").arg("+").query_async(&mut conn).await.unwrap();
    let task_events = events
        .ids
        .iter()
        .filter(|e| matches!(e.get::<String>("event").as_deref(), Some("task_succeeded" | "task_failed")))
        .count();
    assert_eq!(task_events, results.len(), "one progress event per result");
    results
}
