//! Long work stops when asked, with real `fitfleet-worker` processes and real RabbitMQ and
//! Redis: a cancelled job frees its busy slots within seconds, a task past its time budget
//! fails naming it, the drain timeout stops running toys and gives their tasks back, and a
//! frozen worker's task goes to another worker within the heartbeat's reach.
mod fleet_common;

use std::time::{Duration, Instant};

use fitfleet_engine::infer::TestStatistic;
use fitfleet_engine::model::ModelSettings;
use fitfleet_protocol::{JobId, Status, Task, Work};
use fleet_common::*;

/// Tasks of one new job, each a shard of a million toys on the small workspace: minutes of
/// work, far longer than any of these tests.
async fn submit_long_toys(
    cfg: &fitfleet_fleet::FleetConfig,
    store: &fitfleet_fleet::store::Store,
    n: usize,
) -> Vec<Task> {
    let digest = store.put_workspace(&small_workspace()).await.unwrap().digest;
    let job = JobId::generate();
    let tasks: Vec<Task> = (0..n as u64)
        .map(|i| {
            let work = Work::Toys { poi: 1.0, test_stat: TestStatistic::QmuTilde, seed: 7, first: i, count: 1_000_000 };
            Task::new(job.clone(), digest.clone(), None, ModelSettings::default(), work, fitfleet_protocol::now_ms())
        })
        .collect();
    create_and_publish(cfg, store, &tasks).await;
    tasks
}

/// Wait until `sample` of the worker's metrics reaches `value`; the seconds it took.
fn wait_metric(w: &WorkerProcess, sample: &str, value: f64, timeout: Duration) -> f64 {
    let started = Instant::now();
    loop {
        let text = w.metrics();
        if metric(&text, sample) == value {
            return started.elapsed().as_secs_f64();
        }
        assert!(started.elapsed() < timeout, "{sample} never reached {value}:\n{text}\n{}", w.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_cancelled_job_frees_its_busy_slots_within_seconds() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("stop-cancel");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        let mut w = spawn_worker(&cfg, "busy", 2, &[]);
        let tasks = submit_long_toys(&cfg, &store, 2).await;
        wait_in_flight(&w, 2.0);
        store.cancel_job(&tasks[0].job_id).await.unwrap();
        let freed_s = wait_metric(&w, "fitfleet_worker_fits_in_flight", 0.0, Duration::from_secs(15));
        println!("cancel: both slots free {freed_s:.1} s after the cancellation");
        assert_eq!(metric(&w.metrics(), r#"fitfleet_worker_tasks_total{outcome="skipped"}"#), 2.0);
        assert!(store.results(&tasks[0].job_id).await.unwrap().is_empty(), "a cancelled task stores no result");
        assert!(w.exited().is_none(), "the worker goes on:\n{}", w.log_text());

        // The freed slots take the next job at once.
        let (ws, ps) = pallet_1lbb();
        let next = submit(&cfg, &store, &ws, &ps.patches().iter().take(2).collect::<Vec<_>>()).await;
        let done = wait_done(&store, &next[0].job_id, Duration::from_secs(60)).await;
        assert_eq!((done.done, done.failed), (2, 0));
    });
}

#[test]
fn a_task_past_its_time_budget_fails_naming_the_budget() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("stop-budget");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        let w = spawn_worker(&cfg, "budgeted", 1, &["--task-time-budget-secs", "2"]);
        let tasks = submit_long_toys(&cfg, &store, 1).await;
        let started = Instant::now();
        let status = wait_done(&store, &tasks[0].job_id, Duration::from_secs(60)).await;
        println!("budget: the 2 s task failed after {:.1} s", started.elapsed().as_secs_f64());
        assert_eq!((status.done, status.failed), (0, 1));
        let results = assert_exactly_once(&store, &tasks).await;
        match &results[0].status {
            Status::Failed { reason } => assert_eq!(
                reason,
                "the task ran past its time budget of 2 s (task_time_budget_secs) and was stopped",
                "{}",
                w.log_text()
            ),
            Status::Succeeded => panic!("a million toys in 2 s?"),
        }
        assert_eq!(results[0].attempt, 1, "failed on its first delivery, not requeued");
    });
}

#[test]
fn the_drain_timeout_stops_running_toys_and_requeues_them() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("stop-drain");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        let mut w = spawn_worker(&cfg, "draining", 2, &["--drain-timeout-secs", "1"]);
        let tasks = submit_long_toys(&cfg, &store, 2).await;
        wait_in_flight(&w, 2.0);
        let started = Instant::now();
        w.sigterm();
        let status = w.wait_exit(Duration::from_secs(20));
        let exit_s = started.elapsed().as_secs_f64();
        println!("drain: exited {exit_s:.1} s after SIGTERM with a 1 s drain timeout");
        assert_eq!(status.code(), Some(0), "exit status {status}:\n{}", w.log_text());
        let log = w.log_text();
        assert!(log.contains("drain timeout") && log.contains("the worker is shutting down"), "{log}");
        assert!(store.results(&tasks[0].job_id).await.unwrap().is_empty());
        // Both tasks are back in the queue, ready for the next worker.
        wait_ready(&cfg, 2, Duration::from_secs(15)).await;
    });
}

#[test]
fn a_frozen_workers_task_goes_to_another_worker_within_half_a_minute() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("stop-frozen");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        let frozen = spawn_worker(&cfg, "frozen", 1, &[]);
        let tasks = submit_long_toys(&cfg, &store, 1).await;
        wait_in_flight(&frozen, 1.0);
        frozen.signal("STOP");
        let started = Instant::now();
        let other = spawn_worker(&cfg, "other", 1, &[]);
        wait_in_flight(&other, 1.0);
        let took = started.elapsed().as_secs_f64();
        println!("frozen: its task reached another worker {took:.1} s after SIGSTOP (heartbeat 10 s)");
        assert!(took < 45.0, "{took} s");
        store.cancel_job(&tasks[0].job_id).await.unwrap();
        frozen.signal("CONT");
    });
}
