//! The fleet under faults, with real `fitfleet-worker` processes and real RabbitMQ and Redis:
//! a worker killed with SIGKILL mid-job, a worker restarted with an empty cache, unreadable
//! and unfetchable tasks, a drain on SIGTERM, and the metrics endpoint.
mod fleet_common;

use std::collections::HashSet;
use std::time::Duration;

use fitfleet_engine::infer::{Calculator, TestStatistic};
use fitfleet_engine::model::ModelSettings;
use fitfleet_fleet::store::{JobSpec, TaskEntry};
use fitfleet_protocol::{JobId, Status, Task, Work, WorkspaceDigest};
use fleet_common::*;

fn hypotest(poi: f64) -> Work {
    Work::Hypotest { poi, test_stat: TestStatistic::QmuTilde, calculator: Calculator::Asymptotics }
}

/// Tasks of one job: each 1Lbb patch in `names` at each POI in `pois` (a scan, so that a
/// patch's model is compiled once and then found in the cache).
async fn submit_scan(
    cfg: &fitfleet_fleet::FleetConfig,
    store: &fitfleet_fleet::store::Store,
    first: usize,
    n: usize,
    pois: &[f64],
) -> Vec<Task> {
    let (ws, ps) = pallet_1lbb();
    let digest = store.put_workspace(&ws).await.unwrap().digest;
    let job = JobId::generate();
    let mut tasks = Vec::new();
    for p in &ps.patches()[first..first + n] {
        for &poi in pois {
            tasks.push(Task::new(
                job.clone(),
                digest.clone(),
                Some(task_patch(p)),
                ModelSettings::default(),
                hypotest(poi),
                fitfleet_protocol::now_ms(),
            ));
        }
    }
    create_and_publish(cfg, store, &tasks).await;
    tasks
}

#[test]
fn killed_worker_mid_job_the_job_still_completes_exactly_once() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("kill9");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        let mut w1 = spawn_worker(&cfg, "w1", 1, &[]);
        let w2 = spawn_worker(&cfg, "w2", 1, &[]);
        let (ws, ps) = pallet_1lbb();
        let patches: Vec<_> = ps.patches().iter().skip(10).take(100).collect();
        let tasks = submit(&cfg, &store, &ws, &patches).await;
        let job = &tasks[0].job_id;

        wait_results(&store, job, 4, Duration::from_secs(120)).await;
        wait_in_flight(&w1, 1.0);
        w1.kill9();
        let status = wait_done(&store, job, Duration::from_secs(180)).await;

        let results = assert_exactly_once(&store, &tasks).await;
        assert!(results.iter().all(|r| r.is_success()), "{status:?}");
        assert!(
            results.iter().any(|r| r.attempt >= 2 && r.worker.pid == w2.pid()),
            "the task w1 was fitting when killed came back to w2 (attempt 2)"
        );
        let from_w1 = results.iter().filter(|r| r.worker.pid == w1.pid()).count();
        println!("kill -9: w1 stored {from_w1} results before dying, w2 the other {}", results.len() - from_w1);
    });
}

#[test]
fn restarted_worker_with_an_empty_cache_finishes_the_job() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("restart");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        let mut first = spawn_worker(&cfg, "first", 2, &[]);
        let tasks = submit_scan(&cfg, &store, 40, 4, &[0.5, 1.0, 1.5]).await;
        let job = &tasks[0].job_id;

        wait_results(&store, job, 3, Duration::from_secs(120)).await;
        let before = metric(&first.metrics(), "fitfleet_worker_model_cache_models");
        assert!(before >= 1.0, "the first worker cached models");
        first.kill9();
        let done_before = store.results(job).await.unwrap().len();
        assert!(done_before < tasks.len(), "the job was not finished when the worker died");

        let second = spawn_worker(&cfg, "second", 2, &[]);
        wait_done(&store, job, Duration::from_secs(180)).await;
        let results = assert_exactly_once(&store, &tasks).await;
        assert!(results.iter().all(|r| r.is_success()));
        let m = second.metrics();
        let (hits, misses) = (
            metric(&m, "fitfleet_worker_model_cache_hits_total"),
            metric(&m, "fitfleet_worker_model_cache_misses_total"),
        );
        assert!(misses >= 1.0, "the restarted worker started with an empty cache and compiled: {m}");
        let by_second = results.iter().filter(|r| r.worker.pid == second.pid()).count();
        assert_eq!(by_second, results.len() - done_before);
        println!(
            "restart: {done_before} results before the kill, {by_second} after by the new worker \
             ({misses} cache misses, {hits} hits)"
        );
    });
}

#[test]
fn unreadable_and_unfetchable_tasks_fail_with_reasons_and_the_worker_goes_on() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("malformed");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        let mut worker = spawn_worker(&cfg, "w", 1, &[]);

        let digest = store.put_workspace(&small_workspace()).await.unwrap().digest;
        let job = JobId::generate();
        let task = |ws: &WorkspaceDigest, poi: f64| {
            Task::new(
                job.clone(),
                ws.clone(),
                None,
                ModelSettings::default(),
                hypotest(poi),
                fitfleet_protocol::now_ms(),
            )
        };
        let good: Vec<Task> = [0.5, 1.0, 1.5].iter().map(|&p| task(&digest, p)).collect();
        let garbled = task(&digest, 2.0);
        let unknown = task(&WorkspaceDigest::of(b"a workspace nobody uploaded"), 2.5);
        let all: Vec<&Task> = good.iter().chain([&garbled, &unknown]).collect();
        store
            .create_job(&JobSpec {
                job_id: job.clone(),
                label: "faults".into(),
                workspace: digest.clone(),
                settings: ModelSettings::default(),
                work: "hypotest".into(),
                tasks: all.iter().map(|t| TaskEntry::of(t)).collect(),
            })
            .await
            .unwrap();

        // First the bad messages: a task cut short, and bytes naming no task at all.
        let mut bytes = garbled.encode().unwrap();
        bytes.truncate(bytes.len() / 2);
        publish_raw(&cfg, &[(bytes, Some((&job, &garbled.task_id))), (b"\xc1 not msgpack".to_vec(), None)]).await;
        // Then the rest, through the client's publisher.
        let rest: Vec<Task> = good.iter().cloned().chain([unknown.clone()]).collect();
        let mut publisher = fitfleet_fleet::amqp::Publisher::connect(&cfg).await.unwrap();
        publisher.publish(&rest).await.unwrap();
        publisher.close().await;

        let status = wait_done(&store, &job, Duration::from_secs(60)).await;
        assert_eq!((status.done, status.failed, status.total), (3, 2, 5));
        let results = store.results(&job).await.unwrap();
        let reason = |t: &Task| match &results.iter().find(|r| r.task_id == t.task_id).unwrap().status {
            Status::Failed { reason } => reason.clone(),
            Status::Succeeded => panic!("task {} succeeded", t.task_id),
        };
        let r = reason(&garbled);
        assert!(r.contains("could not be read") && r.contains("truncated"), "{r}");
        let r = reason(&unknown);
        assert!(r.contains("not in the store") && r.contains(unknown.workspace.as_str()), "{r}");
        for t in &good {
            assert!(results.iter().any(|r| r.task_id == t.task_id && r.is_success()));
        }

        // Tasks of a cancelled job are acknowledged and skipped, without results.
        let cancelled: Vec<Task> = {
            let job = JobId::generate();
            [0.5, 1.0]
                .iter()
                .map(|&p| {
                    Task::new(
                        job.clone(),
                        digest.clone(),
                        None,
                        ModelSettings::default(),
                        hypotest(p),
                        fitfleet_protocol::now_ms(),
                    )
                })
                .collect()
        };
        store.create_job(&JobSpec::from_tasks("to cancel", &cancelled)).await.unwrap();
        store.cancel_job(&cancelled[0].job_id).await.unwrap();
        let mut publisher = fitfleet_fleet::amqp::Publisher::connect(&cfg).await.unwrap();
        publisher.publish(&cancelled).await.unwrap();
        publisher.close().await;
        wait_ready(&cfg, 0, Duration::from_secs(15)).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while metric(&worker.metrics(), "fitfleet_worker_tasks_total{outcome=\"skipped\"}") < 2.0 {
            assert!(std::time::Instant::now() < deadline, "the cancelled job's tasks were not skipped");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(store.results(&cancelled[0].job_id).await.unwrap().is_empty());

        // The worker is still there and still serving; the id-less message was dead-lettered.
        assert!(worker.exited().is_none(), "the worker died");
        let m = worker.metrics();
        assert_eq!(metric(&m, "fitfleet_worker_tasks_total{outcome=\"succeeded\"}"), 3.0, "{m}");
        assert_eq!(metric(&m, "fitfleet_worker_tasks_total{outcome=\"failed\"}"), 2.0, "{m}");
        assert_eq!(metric(&m, "fitfleet_worker_tasks_total{outcome=\"dropped\"}"), 1.0, "{m}");
        let log = worker.log_text();
        assert!(log.contains("naming no task; dead-lettering it"), "{log}");
    });
}

#[test]
fn sigterm_drains_fits_in_flight_and_exits_0() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("drain");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        let mut w = spawn_worker(&cfg, "draining", 2, &[]);
        let (ws, ps) = pallet_1lbb();
        let patches: Vec<_> = ps.patches().iter().skip(60).take(60).collect();
        let tasks = submit(&cfg, &store, &ws, &patches).await;
        let job = &tasks[0].job_id;

        wait_results(&store, job, 2, Duration::from_secs(120)).await;
        wait_in_flight(&w, 2.0);
        let before = store.results(job).await.unwrap().len();
        w.sigterm();
        let status = w.wait_exit(Duration::from_secs(120));
        assert_eq!(status.code(), Some(0), "exit status {status}:\n{}", w.log_text());
        let after = store.results(job).await.unwrap().len();
        let log = w.log_text();
        assert!(after > before, "the fits in flight at SIGTERM were finished and stored ({before} -> {after}):\n{log}");
        assert!(after < tasks.len(), "the worker stopped taking tasks ({after} of {})", tasks.len());
        assert!(log.contains("shutting down") && log.contains("fitfleet-worker stopped"), "{log}");

        // Every task without a result is back in the queue, and none with one: nothing the
        // worker finished will be delivered again.
        wait_ready(&cfg, (tasks.len() - after) as u32, Duration::from_secs(15)).await;
        let next = spawn_worker(&cfg, "next", 2, &[]);
        wait_done(&store, job, Duration::from_secs(180)).await;
        assert_exactly_once(&store, &tasks).await;
        let m = next.metrics();
        assert_eq!(metric(&m, "fitfleet_worker_tasks_total{outcome=\"skipped\"}"), 0.0, "{m}");
        assert_eq!(metric(&m, "fitfleet_worker_tasks_total{outcome=\"duplicate\"}"), 0.0, "{m}");
        assert_eq!(metric(&m, "fitfleet_worker_tasks_total{outcome=\"succeeded\"}"), (tasks.len() - after) as f64);
        let drained_by_first: HashSet<_> = store
            .results(job)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.worker.pid == w.pid())
            .map(|r| r.task_id)
            .collect();
        assert_eq!(drained_by_first.len(), after);
        println!(
            "SIGTERM: {before} results before, {after} after the drain; the next worker did the other {}",
            tasks.len() - after
        );
    });
}

#[test]
fn drain_timeout_gives_unfinished_fits_back_to_the_queue() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("drain-timeout");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        let mut w = spawn_worker(&cfg, "impatient", 2, &["--drain-timeout-secs", "0"]);
        let (ws, ps) = pallet_1lbb();
        let patches: Vec<_> = ps.patches().iter().skip(90).take(30).collect();
        let tasks = submit(&cfg, &store, &ws, &patches).await;
        let job = &tasks[0].job_id;
        wait_in_flight(&w, 2.0);
        w.sigterm();
        let status = w.wait_exit(Duration::from_secs(30));
        assert_eq!(status.code(), Some(0), "exit status {status}:\n{}", w.log_text());
        let log = w.log_text();
        assert!(log.contains("drain timeout"), "{log}");
        let stored = store.results(job).await.unwrap().len();
        // The abandoned fits' tasks, like the unstarted ones, are back in the queue.
        wait_ready(&cfg, (tasks.len() - stored) as u32, Duration::from_secs(15)).await;
        let _next = spawn_worker(&cfg, "next", 2, &[]);
        wait_done(&store, job, Duration::from_secs(120)).await;
        assert_exactly_once(&store, &tasks).await;
    });
}

#[test]
fn metrics_endpoint_answers_with_the_counters() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("metrics");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        // In process this time: the library's service API, as an embedding program uses it.
        let settings = fitfleet_worker::WorkerSettings {
            broker: cfg.clone(),
            slots: 1,
            metrics_addr: "127.0.0.1:0".into(),
            ..Default::default()
        };
        let service = fitfleet_worker::Service::start(settings).await.unwrap();
        let addr = service.metrics_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(service.run(async move {
            let _ = stopped.await;
        }));

        let digest = store.put_workspace(&small_workspace()).await.unwrap().digest;
        let job = JobId::generate();
        let tasks: Vec<Task> = [0.5, 1.0, 1.5]
            .iter()
            .map(|&p| {
                Task::new(
                    job.clone(),
                    digest.clone(),
                    None,
                    ModelSettings::default(),
                    hypotest(p),
                    fitfleet_protocol::now_ms(),
                )
            })
            .collect();
        create_and_publish(&cfg, &store, &tasks).await;
        wait_done(&store, &job, Duration::from_secs(60)).await;

        let (code, health) = tokio::task::spawn_blocking(move || http_get(addr, "/healthz")).await.unwrap().unwrap();
        assert_eq!((code, health.as_str()), (200, "ok\n"));
        let (code, m) = tokio::task::spawn_blocking(move || http_get(addr, "/metrics")).await.unwrap().unwrap();
        assert_eq!(code, 200);
        for (sample, want) in [
            ("fitfleet_worker_tasks_total{outcome=\"succeeded\"}", 3.0),
            ("fitfleet_worker_fit_seconds_count", 3.0),
            ("fitfleet_worker_fits_in_flight", 0.0),
            ("fitfleet_worker_slots", 1.0),
            ("fitfleet_worker_model_cache_misses_total", 1.0),
            ("fitfleet_worker_model_cache_hits_total", 2.0),
            ("fitfleet_worker_model_cache_models", 1.0),
            ("fitfleet_worker_draining", 0.0),
        ] {
            assert_eq!(metric(&m, sample), want, "{sample} in\n{m}");
        }
        assert!(metric(&m, "fitfleet_worker_fit_seconds_sum") > 0.0);
        assert!(metric(&m, "fitfleet_worker_model_cache_bytes") > 0.0);
        assert!(m.ends_with("# EOF\n"));

        stop.send(()).unwrap();
        let summary = running.await.unwrap().unwrap();
        assert_eq!((summary.succeeded, summary.failed, summary.abandoned), (3, 0, 0));
    });
}
