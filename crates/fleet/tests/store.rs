//! The Redis store against the real Redis on 127.0.0.1:6379 (fails if it is not running).
use fitfleet_testkit as common;

use fitfleet_engine::infer::{HypotestResult, TestStatistic};
use fitfleet_fleet::store::{CancelOutcome, JobSpec, JobState, ProgressEvent, RecordOutcome, StoreError};
use fitfleet_protocol::{JobId, Outcome, Status, TaskResult, Timings, WorkerId};
use std::collections::HashSet;
use std::time::Duration;

fn hypotest(mu: f64, cls: f64) -> Outcome {
    Outcome::Hypotest(HypotestResult {
        mu,
        test_stat: TestStatistic::QmuTilde,
        cls_obs: cls,
        cls_exp: [cls; 5],
        clsb_obs: cls,
        clb_obs: 0.5,
        test_stat_obs: 1.0,
        mu_hat: 0.0,
        toys: None,
    })
}

fn worker(pid: u32) -> WorkerId {
    WorkerId { host: "test-host".into(), pid }
}

#[tokio::test]
async fn workspace_upload_is_idempotent_and_round_trips_exact_bytes() {
    let cfg = common::config("ws");
    let _cleanup = common::services::Cleanup::redis(&cfg);
    let store = common::services::require_redis(&cfg).await;

    // Not valid UTF-8, with every byte value, and compressible JSON-like text.
    let mut bytes: Vec<u8> = (0..=255u8).collect();
    bytes.extend(std::iter::repeat_n(b"{\"name\": \"SR_0L\", \"data\": [1.0, 2.0]}, ".as_slice(), 5000).flatten());
    let first = store.put_workspace(&bytes).await.unwrap();
    assert!(first.newly_stored);
    assert!(first.stored_size < bytes.len() / 10, "stored compressed: {} of {}", first.stored_size, bytes.len());
    assert_eq!(first.digest, fitfleet_protocol::WorkspaceDigest::of(&bytes));

    let second = store.put_workspace(&bytes).await.unwrap();
    assert!(!second.newly_stored, "second upload is a no-op");
    assert_eq!(second.digest, first.digest);

    let back = store.get_workspace(&first.digest).await.unwrap().expect("stored");
    assert_eq!(back, bytes);
    assert!(store.has_workspace(&first.digest).await.unwrap());

    let missing = fitfleet_protocol::WorkspaceDigest::of(b"never uploaded");
    assert_eq!(store.get_workspace(&missing).await.unwrap(), None);
}

#[tokio::test]
async fn first_writer_wins_under_concurrent_writes() {
    let cfg = common::config("fww");
    let _cleanup = common::services::Cleanup::redis(&cfg);
    let store = common::services::require_redis(&cfg).await;
    let job = JobId::generate();
    let tasks = common::jobs::fake_tasks(&job, 3);
    store.create_job(&JobSpec::from_tasks("concurrent", &tasks)).await.unwrap();

    // 16 workers write a result for the same task at once, each a different one.
    let mut handles = Vec::new();
    for pid in 0..16u32 {
        let store = store.clone();
        let task = tasks[0].clone();
        handles.push(tokio::spawn(async move {
            let r = if pid % 2 == 0 {
                TaskResult::succeeded(&task, hypotest(1.0, f64::from(pid) / 100.0), worker(pid), 1, Timings::default())
            } else {
                TaskResult::failed(&task, format!("worker {pid} failed"), worker(pid), 2, Timings::default())
            };
            (pid, store.record_result(&r).await.unwrap())
        }));
    }
    let mut winners = Vec::new();
    for h in handles {
        let (pid, outcome) = h.await.unwrap();
        if let RecordOutcome::Recorded(_) = outcome {
            winners.push(pid);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one write is stored: {winners:?}");
    let stored = store.result(&job, &tasks[0].task_id).await.unwrap().unwrap();
    assert_eq!(stored.worker.pid, winners[0], "the stored result is the winner's");

    let status = store.job_status(&job).await.unwrap().unwrap();
    assert_eq!(status.done + status.failed, 1, "counted once: {status:?}");
    assert_eq!(status.state, JobState::Running);

    // A later redelivery cannot change it either.
    let late = TaskResult::succeeded(&tasks[0], hypotest(1.0, 0.99), worker(999), 6, Timings::default());
    assert!(store.record_result(&late).await.unwrap().is_duplicate());
    assert_eq!(store.result(&job, &tasks[0].task_id).await.unwrap().unwrap(), stored);
    let events = store.progress(&job, None, 100).await.unwrap();
    let task_events = events
        .iter()
        .filter(|e| matches!(e.event, ProgressEvent::TaskSucceeded { .. } | ProgressEvent::TaskFailed { .. }))
        .count();
    assert_eq!(task_events, 1, "one progress event for the task: {events:?}");
}

#[tokio::test]
async fn job_completes_when_all_tasks_are_in() {
    let cfg = common::config("complete");
    let _cleanup = common::services::Cleanup::redis(&cfg);
    let store = common::services::require_redis(&cfg).await;
    let job = JobId::generate();
    let tasks = common::jobs::fake_tasks(&job, 5);
    store.create_job(&JobSpec::from_tasks("five patches", &tasks)).await.unwrap();

    let status = store.job_status(&job).await.unwrap().unwrap();
    assert_eq!((status.state, status.total, status.done, status.failed), (JobState::Queued, 5, 0, 0));
    assert_eq!(status.work, "hypotest");
    assert_eq!(status.label, "five patches");
    assert_eq!(status.finished_ms, None);
    let entries = store.job_tasks(&job).await.unwrap();
    let names: HashSet<_> = entries.iter().map(|e| e.patch.as_ref().unwrap().name.clone()).collect();
    assert_eq!(names.len(), 5);

    assert_eq!(store.mark_running(&job).await.unwrap(), JobState::Running);
    for (i, t) in tasks.iter().enumerate() {
        let r = if i == 2 {
            TaskResult::failed(t, "minimisation failed", worker(1), 1, Timings::default())
        } else {
            TaskResult::succeeded(t, hypotest(1.0, 0.1 * i as f64), worker(1), 1, Timings::default())
        };
        let outcome = store.record_result(&r).await.unwrap();
        let RecordOutcome::Recorded(c) = outcome else { panic!("first write is recorded") };
        assert_eq!(c.job_finished(), i == 4, "finished only with the last task");
        // Partial results are readable at any time.
        assert_eq!(store.results(&job).await.unwrap().len(), i + 1);
    }
    let status = store.job_status(&job).await.unwrap().unwrap();
    assert_eq!((status.state, status.done, status.failed, status.remaining()), (JobState::Done, 4, 1, 0));
    assert!(status.finished_ms.unwrap() >= status.created_ms);

    let results = store.results(&job).await.unwrap();
    assert_eq!(results.iter().filter(|r| r.is_success()).count(), 4);
    let failed: Vec<_> = results.iter().filter(|r| !r.is_success()).collect();
    assert_eq!(failed[0].status, Status::Failed { reason: "minimisation failed".into() });

    let kinds: Vec<_> = store.progress(&job, None, 100).await.unwrap().into_iter().map(|e| e.event).collect();
    assert_eq!(kinds.first(), Some(&ProgressEvent::JobQueued { total: 5 }));
    assert!(matches!(kinds[1], ProgressEvent::JobRunning { .. }));
    assert_eq!(kinds.last(), Some(&ProgressEvent::JobDone { done: 4, failed: 1, total: 5 }));
    assert_eq!(kinds.len(), 2 + 5 + 1);

    // Creating the same job again is refused.
    assert!(matches!(store.create_job(&JobSpec::from_tasks("again", &tasks)).await, Err(StoreError::JobExists(_))));
}

#[tokio::test]
async fn results_for_unknown_jobs_or_tasks_are_refused() {
    let cfg = common::config("unknown");
    let _cleanup = common::services::Cleanup::redis(&cfg);
    let store = common::services::require_redis(&cfg).await;
    let job = JobId::generate();
    let tasks = common::jobs::fake_tasks(&job, 2);
    let r = TaskResult::succeeded(&tasks[0], hypotest(1.0, 0.5), worker(1), 1, Timings::default());
    assert!(matches!(store.record_result(&r).await, Err(StoreError::UnknownJob(_))));

    store.create_job(&JobSpec::from_tasks("one", &tasks[..1])).await.unwrap();
    let stray = TaskResult::succeeded(&tasks[1], hypotest(1.0, 0.5), worker(1), 1, Timings::default());
    assert!(matches!(store.record_result(&stray).await, Err(StoreError::UnknownTask { .. })));
    assert_eq!(store.job_status(&job).await.unwrap().unwrap().done, 0);
    assert!(store.job_status(&JobId::generate()).await.unwrap().is_none());
}

#[tokio::test]
async fn every_key_gets_the_ttl() {
    let mut cfg = common::config("ttl");
    cfg.ttl_secs = 3600;
    let _cleanup = common::services::Cleanup::redis(&cfg);
    let store = common::services::require_redis(&cfg).await;
    store.put_workspace(b"{\"channels\": []}").await.unwrap();
    let job = JobId::generate();
    let tasks = common::jobs::fake_tasks(&job, 2);
    store.create_job(&JobSpec::from_tasks("ttl", &tasks)).await.unwrap();
    store.mark_running(&job).await.unwrap();
    store
        .record_result(&TaskResult::succeeded(&tasks[0], hypotest(1.0, 0.5), worker(1), 1, Timings::default()))
        .await
        .unwrap();
    let other = JobId::generate();
    let other_tasks = common::jobs::fake_tasks(&other, 1);
    store.create_job(&JobSpec::from_tasks("cancelled", &other_tasks)).await.unwrap();
    store.cancel_job(&other).await.unwrap();

    let keys = common::services::keys_under_prefix(&cfg).await.unwrap();
    // workspace; spec, task list, state, results, events of the first job; spec, task list,
    // cancel key of the second (no worker touched it); the jobs index.
    assert_eq!(keys.len(), 1 + 5 + 3 + 1, "{keys:?}");
    let client = redis::Client::open(cfg.redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for key in keys {
        let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(&mut conn).await.unwrap();
        if key == store.keys().jobs_index() {
            // The client may not EXPIRE: the index is pruned of expired jobs instead.
            assert_eq!(ttl, -1, "the jobs index has no TTL");
        } else if key.contains(":tasks:") {
            assert!(ttl > 3500 && ttl <= 3660, "key {key} has TTL {ttl}");
        } else {
            assert!(ttl > 3500 && ttl <= 3600, "key {key} has TTL {ttl}");
        }
    }
}

#[tokio::test]
async fn progress_can_be_resumed_from_an_id() {
    let cfg = common::config("progress");
    let _cleanup = common::services::Cleanup::redis(&cfg);
    let store = common::services::require_redis(&cfg).await;
    let job = JobId::generate();
    let tasks = common::jobs::fake_tasks(&job, 6);
    store.create_job(&JobSpec::from_tasks("progress", &tasks)).await.unwrap();
    for t in &tasks[..3] {
        store
            .record_result(&TaskResult::succeeded(t, hypotest(1.0, 0.5), worker(1), 1, Timings::default()))
            .await
            .unwrap();
    }
    // A client reads two events, "disconnects", and resumes from the last id it saw.
    let head = store.progress(&job, None, 2).await.unwrap();
    assert_eq!(head.len(), 2);
    let rest = store.progress(&job, Some(&head[1].id), 100).await.unwrap();
    let all = store.progress(&job, None, 100).await.unwrap();
    assert_eq!([head.clone(), rest].concat(), all, "no event lost or repeated");
    assert_eq!(all.len(), 1 + 1 + 3);

    // A follower waits for events that happen later, starting after what it has seen.
    let mut follower = store.follow(&job, Some(&all.last().unwrap().id)).await.unwrap();
    assert!(follower.next_events(Duration::from_millis(100), 10).await.unwrap().is_empty());
    let writer = {
        let store = store.clone();
        let rest: Vec<_> = tasks[3..].to_vec();
        tokio::spawn(async move {
            for t in &rest {
                tokio::time::sleep(Duration::from_millis(50)).await;
                store
                    .record_result(&TaskResult::succeeded(t, hypotest(1.0, 0.5), worker(2), 1, Timings::default()))
                    .await
                    .unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    while !seen.last().is_some_and(|e: &fitfleet_fleet::store::ProgressEntry| e.event.is_final()) {
        let batch = follower.next_events(Duration::from_secs(10), 10).await.unwrap();
        assert!(!batch.is_empty(), "events arrive while the job runs");
        seen.extend(batch);
    }
    writer.await.unwrap();
    assert_eq!(seen.len(), 3 + 1, "{seen:?}");
    assert_eq!(follower.last_id(), seen.last().unwrap().id);
    assert_eq!(seen.last().unwrap().event, ProgressEvent::JobDone { done: 6, failed: 0, total: 6 });
}

#[tokio::test]
async fn cancelled_jobs_are_skipped_and_stay_cancelled() {
    let cfg = common::config("cancel");
    let _cleanup = common::services::Cleanup::redis(&cfg);
    let store = common::services::require_redis(&cfg).await;
    let job = JobId::generate();
    let tasks = common::jobs::fake_tasks(&job, 2);
    store.create_job(&JobSpec::from_tasks("to cancel", &tasks)).await.unwrap();
    assert!(!store.should_skip(&job).await.unwrap());
    assert_eq!(store.cancel_job(&job).await.unwrap(), CancelOutcome::Cancelled);
    assert!(store.should_skip(&job).await.unwrap());
    assert_eq!(store.cancel_job(&job).await.unwrap(), CancelOutcome::AlreadyFinal(JobState::Cancelled));
    assert_eq!(store.mark_running(&job).await.unwrap(), JobState::Cancelled);

    // Results of tasks already running are still kept, but the job stays cancelled.
    for t in &tasks {
        store
            .record_result(&TaskResult::succeeded(t, hypotest(1.0, 0.5), worker(1), 1, Timings::default()))
            .await
            .unwrap();
    }
    let status = store.job_status(&job).await.unwrap().unwrap();
    assert_eq!((status.state, status.done), (JobState::Cancelled, 2));
    let events = store.progress(&job, None, 100).await.unwrap();
    assert!(events.iter().any(|e| matches!(e.event, ProgressEvent::JobCancelled { .. })));
    assert!(!events.iter().any(|e| matches!(e.event, ProgressEvent::JobDone { .. })));

    // A job that does not exist (expired) is skipped too; cancelling it is an error.
    let gone = JobId::generate();
    assert!(store.should_skip(&gone).await.unwrap());
    assert!(matches!(store.cancel_job(&gone).await, Err(StoreError::UnknownJob(_))));
}

#[tokio::test]
async fn jobs_are_listed_newest_first() {
    let cfg = common::config("list");
    let _cleanup = common::services::Cleanup::redis(&cfg);
    let store = common::services::require_redis(&cfg).await;
    assert!(store.list_jobs().await.unwrap().is_empty());
    let older = JobId::generate();
    store.create_job(&JobSpec::from_tasks("older", &common::jobs::fake_tasks(&older, 1))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let newer = JobId::generate();
    store.create_job(&JobSpec::from_tasks("newer", &common::jobs::fake_tasks(&newer, 3))).await.unwrap();
    let jobs = store.list_jobs().await.unwrap();
    let ids: Vec<_> = jobs.iter().map(|j| j.job_id.clone()).collect();
    assert_eq!(ids, vec![newer, older]);
    assert_eq!(jobs[0].total, 3);
    assert_eq!(jobs[0].label, "newer");
}

#[tokio::test]
async fn jobs_of_an_older_layout_are_reported_not_misread() {
    let cfg = common::config("old-layout");
    let _cleanup = common::services::Cleanup::redis(&cfg);
    let store = common::services::require_redis(&cfg).await;
    // A job record as fitfleet wrote it before the client and worker keys were split: a hash.
    let old = JobId::generate();
    let client = redis::Client::open(cfg.redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("HSET")
        .arg(store.keys().job(&old))
        .arg(&["state", "queued", "total", "1"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let () = redis::cmd("ZADD")
        .arg(store.keys().jobs_index())
        .arg(1)
        .arg(old.as_str())
        .query_async(&mut conn)
        .await
        .unwrap();
    let new = JobId::generate();
    store.create_job(&JobSpec::from_tasks("new", &common::jobs::fake_tasks(&new, 1))).await.unwrap();

    let err = store.job_status(&old).await.expect_err("an old record is not read as a job");
    assert!(err.to_string().contains("older fitfleet"), "{err}");
    let ids: Vec<_> = store.list_jobs().await.unwrap().into_iter().map(|j| j.job_id).collect();
    assert_eq!(ids, vec![new], "the old job is skipped, the new one listed");
}

#[tokio::test]
async fn uploading_an_aged_workspace_again_renews_its_ttl() {
    let mut cfg = common::config("ws-renew");
    cfg.ttl_secs = 3600;
    let _cleanup = common::services::Cleanup::redis(&cfg);
    let store = common::services::require_redis(&cfg).await;
    let bytes = b"{\"channels\": [], \"aged\": true}";
    let digest = store.put_workspace(bytes).await.unwrap().digest;
    let key = store.keys().workspace(&digest);
    let client = redis::Client::open(cfg.redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let ttl = |conn: &mut redis::aio::MultiplexedConnection| {
        let key = key.clone();
        let mut conn = conn.clone();
        async move { redis::cmd("TTL").arg(key).query_async::<i64>(&mut conn).await.unwrap() }
    };
    // Fresh: a second upload leaves it alone. Aged (as if most of its TTL had passed): the
    // client, which may not EXPIRE, writes it again with the full TTL.
    assert!(!store.put_workspace(bytes).await.unwrap().newly_stored);
    assert!(ttl(&mut conn).await > 3500);
    let _: i64 = redis::cmd("EXPIRE").arg(&key).arg(100).query_async(&mut conn).await.unwrap();
    let again = store.put_workspace(bytes).await.unwrap();
    assert!(!again.newly_stored);
    assert!(ttl(&mut conn).await > 3500, "the TTL is renewed");
    assert_eq!(store.get_workspace(&digest).await.unwrap().as_deref(), Some(&bytes[..]));
}

#[tokio::test]
async fn task_lists_of_many_chunks_are_read_whole_and_task_by_task() {
    let cfg = common::config("chunks");
    let _cleanup = common::services::Cleanup::redis(&cfg);
    let store = common::services::require_redis(&cfg).await;
    let job = JobId::generate();
    // More than two chunks' worth (256 tasks a chunk).
    let tasks = common::jobs::fake_tasks(&job, 600);
    store.create_job(&JobSpec::from_tasks("many", &tasks)).await.unwrap();
    assert_eq!(store.job_status(&job).await.unwrap().unwrap().total, 600);
    let all: HashSet<_> = store.job_tasks(&job).await.unwrap().into_iter().map(|e| e.task_id).collect();
    assert_eq!(all, tasks.iter().map(|t| t.task_id.clone()).collect::<HashSet<_>>());
    for t in tasks.iter().step_by(37) {
        let entry = store.job_task(&job, &t.task_id).await.unwrap().expect("listed");
        assert_eq!(entry.digest, Some(t.work_digest()));
    }
    let stranger = common::jobs::fake_tasks(&JobId::generate(), 1);
    assert_eq!(store.job_task(&job, &stranger[0].task_id).await.unwrap(), None);
}
