//! The fleet through restarts of its services and of its workers, each test with its own
//! RabbitMQ and Redis (private servers on spare loopback ports, see
//! `fitfleet_testkit::servers`) so that it can stop, kill and restart them:
//!
//! - RabbitMQ stopped and restarted mid-job, while tasks are still being published;
//! - Redis killed and restarted mid-job (append-only file on);
//! - workers killed with SIGKILL every two seconds while the 1Lbb pallet runs;
//! - a worker drained with SIGTERM mid-job.
//!
//! Each asserts on what Redis holds: one result per task and nothing else, counters and
//! progress events equal to the results.
mod fleet_common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use fitfleet_fleet::FleetConfig;
use fitfleet_fleet::amqp::Publisher;
use fitfleet_fleet::store::{JobSpec, Store};
use fitfleet_protocol::Task;
use fleet_common::servers::PrivateServices;
use fleet_common::*;

/// Tasks of one job on `n` 1Lbb patches from `first`, the job created, nothing published.
async fn create_1lbb_job(store: &Store, first: usize, n: usize) -> Vec<Task> {
    let (ws, ps) = pallet_1lbb();
    let digest = store.put_workspace(&ws).await.expect("storing the workspace").digest;
    let patches: Vec<_> = ps.patches().iter().skip(first).take(n).collect();
    let tasks = tasks_for(&digest, &patches, &hypotest_mu1());
    store.create_job(&JobSpec::from_tasks("restarts", &tasks)).await.expect("creating the job");
    tasks
}

/// Publish `tasks` `batch` at a time with `pause` between batches through one publisher, as a
/// slow client would: the tasks confirmed and the reconnections the publisher needed.
async fn publish_slowly(cfg: FleetConfig, tasks: Vec<Task>, batch: usize, pause: Duration) -> (usize, u32) {
    let mut publisher = Publisher::connect(&cfg).await.expect("publisher");
    let (mut published, mut reconnects) = (0, 0);
    for chunk in tasks.chunks(batch) {
        let report = publisher.publish(chunk).await.expect("publishing survives the broker's restart");
        published += report.published;
        reconnects += report.reconnects;
        tokio::time::sleep(pause).await;
    }
    publisher.close().await;
    (published, reconnects)
}

/// The worker's metric, summed over `workers`.
fn total(workers: &[&WorkerProcess], sample: &str) -> f64 {
    workers.iter().map(|w| metric(&w.metrics(), sample)).sum()
}

#[test]
fn rabbitmq_restarted_mid_job_loses_no_task_and_counts_none_twice() {
    let _serial = serial();
    runtime().block_on(async {
        let mut services = PrivateServices::start("rabbit-restart");
        let cfg = services.cfg.clone();
        let store = require_services(&cfg).await;
        let w1 = spawn_worker(&cfg, "w1", 1, &[]);
        let w2 = spawn_worker(&cfg, "w2", 1, &[]);
        let tasks = create_1lbb_job(&store, 0, 24).await;
        let job = &tasks[0].job_id;
        // Published over several seconds, so that the broker goes away in the middle.
        let publishing = tokio::spawn(publish_slowly(cfg.clone(), tasks.clone(), 2, Duration::from_millis(700)));

        wait_results(&store, job, 2, Duration::from_secs(120)).await;
        assert!(!publishing.is_finished(), "the publisher is still at work when RabbitMQ stops");
        let stopped_at = Instant::now();
        tokio::task::block_in_place(|| {
            services.rabbit.stop();
            std::thread::sleep(Duration::from_secs(2));
            services.rabbit.start_again();
        });
        let outage = stopped_at.elapsed();
        let (published, reconnects) = publishing.await.unwrap();
        assert_eq!(published, tasks.len(), "every task confirmed once");
        assert!(reconnects >= 1, "the publisher reconnected");

        wait_done(&store, job, Duration::from_secs(240)).await;
        let results = assert_redis_exactly_once(&cfg, &store, &tasks).await;
        assert!(results.iter().all(|r| r.is_success()));
        for w in [&w1, &w2] {
            let log = w.log_text();
            assert!(log.contains("consumer reconnected"), "worker {} reconnected by itself:\n{log}", w.name);
        }
        // Nothing left behind: every delivery (republished copies included) was settled.
        wait_ready(&cfg, 0, Duration::from_secs(30)).await;
        let stored = total(&[&w1, &w2], "fitfleet_worker_tasks_total{outcome=\"succeeded\"}");
        assert_eq!(stored as usize, tasks.len(), "the workers stored each result once");
        let skipped = total(&[&w1, &w2], "fitfleet_worker_tasks_total{outcome=\"skipped\"}")
            + total(&[&w1, &w2], "fitfleet_worker_tasks_total{outcome=\"duplicate\"}");
        println!(
            "RabbitMQ restart: broker away {:.1} s; publisher reconnected {reconnects} times; \
             {} results, {skipped} redelivered or republished copies skipped",
            outage.as_secs_f64(),
            results.len()
        );
    });
}

#[test]
fn redis_restarted_mid_job_loses_no_result_and_workers_retry_their_writes() {
    let _serial = serial();
    runtime().block_on(async {
        let mut services = PrivateServices::start("redis-restart");
        let cfg = services.cfg.clone();
        let store = require_services(&cfg).await;
        let w1 = spawn_worker(&cfg, "w1", 1, &[]);
        let w2 = spawn_worker(&cfg, "w2", 1, &[]);
        let tasks = create_1lbb_job(&store, 30, 60).await;
        let job = &tasks[0].job_id;
        let mut publisher = Publisher::connect(&cfg).await.unwrap();
        publisher.publish(&tasks).await.unwrap();
        publisher.close().await;

        wait_results(&store, job, 3, Duration::from_secs(120)).await;
        tokio::task::block_in_place(|| {
            wait_in_flight(&w1, 1.0);
            wait_in_flight(&w2, 1.0);
        });
        let before: HashSet<_> = store.results(job).await.unwrap().into_iter().map(|r| r.task_id).collect();
        let down_at = Instant::now();
        tokio::task::block_in_place(|| {
            services.redis.kill();
            // Long enough for the fits in flight to end and their writes to fail.
            std::thread::sleep(Duration::from_secs(6));
            services.redis.start_again();
        });
        let outage = down_at.elapsed();
        // A fresh connection for the test (its old one saw Redis die).
        let store = Store::connect(&cfg).await.expect("Redis is back");
        let after: HashSet<_> = store.results(job).await.unwrap().into_iter().map(|r| r.task_id).collect();
        assert!(
            after.is_superset(&before),
            "no stored result was lost: {} before, {} after",
            before.len(),
            after.len()
        );

        wait_done(&store, job, Duration::from_secs(240)).await;
        let results = assert_redis_exactly_once(&cfg, &store, &tasks).await;
        assert!(results.iter().all(|r| r.is_success()));
        let retries = total(&[&w1, &w2], "fitfleet_worker_store_retries_total");
        assert!(retries >= 1.0, "the workers retried Redis operations while it was down");
        let stored = total(&[&w1, &w2], "fitfleet_worker_tasks_total{outcome=\"succeeded\"}");
        assert_eq!(stored as usize, tasks.len(), "each result stored once, none acknowledged without it");
        wait_ready(&cfg, 0, Duration::from_secs(30)).await;
        println!(
            "Redis restart: away {:.1} s with {} results stored; {retries} Redis retries by the workers; \
             {} results at the end",
            outage.as_secs_f64(),
            before.len(),
            results.len()
        );
    });
}

#[test]
fn workers_killed_every_few_seconds_the_job_completes_exactly_once() {
    let _serial = serial();
    runtime().block_on(async {
        let mut services = PrivateServices::start("kill-loop");
        // Each kill costs the tasks in flight a delivery: allow more than the default five, so
        // that the test is about exactly-once results rather than the delivery limit.
        services.cfg.delivery_limit = 20;
        let cfg = services.cfg.clone();
        let store = require_services(&cfg).await;
        let limit = ["--delivery-limit", "20"];
        let mut workers = [spawn_worker(&cfg, "w0", 1, &limit), spawn_worker(&cfg, "w1", 1, &limit)];
        let tasks = create_1lbb_job(&store, 0, 125).await;
        assert_eq!(tasks.len(), 125, "the whole 1Lbb pallet");
        let job = &tasks[0].job_id;
        let mut publisher = Publisher::connect(&cfg).await.unwrap();
        publisher.publish(&tasks).await.unwrap();
        publisher.close().await;

        let mut pids: HashSet<u32> = workers.iter().map(|w| w.pid()).collect();
        // A worker is killed every 2 s, or sooner, every `step` results: on a fast machine the
        // whole pallet takes a few seconds, and a clock alone would kill only once or twice.
        let (mut kills, max_kills, every) = (0, 12, Duration::from_secs(2));
        let step = tasks.len() as u64 / (max_kills as u64 + 1);
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut next_kill = Instant::now() + every;
        let mut next_kill_at_results = step;
        loop {
            let status = store.job_status(job).await.unwrap().unwrap();
            if status.state == fitfleet_fleet::store::JobState::Done {
                break;
            }
            assert!(Instant::now() < deadline, "job not done after {kills} kills: {status:?}");
            let results_so_far = status.done + status.failed;
            if kills < max_kills && (Instant::now() >= next_kill || results_so_far >= next_kill_at_results) {
                next_kill_at_results = results_so_far + step;
                let i = kills % workers.len();
                let name = format!("w{i}-{}", kills + 1);
                tokio::task::block_in_place(|| {
                    workers[i].kill9();
                    workers[i] = spawn_worker(&cfg, &name, 1, &limit);
                });
                pids.insert(workers[i].pid());
                kills += 1;
                next_kill = Instant::now() + every;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        let results = assert_redis_exactly_once(&cfg, &store, &tasks).await;
        assert!(results.iter().all(|r| r.is_success()), "no task ran out of deliveries");
        assert!(kills >= 3, "workers were killed during the job ({kills} kills)");
        assert!(results.iter().all(|r| pids.contains(&r.worker.pid)));
        let retried = results.iter().filter(|r| r.attempt >= 2).count();
        assert!(retried >= 1, "tasks of killed workers came back and were finished by others");
        wait_ready(&cfg, 0, Duration::from_secs(30)).await;
        println!(
            "kill loop: {kills} workers killed with SIGKILL, {} worker processes in all; {} results, \
             {retried} of them after a redelivery (max attempt {})",
            pids.len(),
            results.len(),
            results.iter().map(|r| r.attempt).max().unwrap()
        );
    });
}

#[test]
fn worker_drained_with_sigterm_finishes_its_fits_and_nothing_is_redelivered() {
    let _serial = serial();
    runtime().block_on(async {
        let services = PrivateServices::start("sigterm");
        let cfg = services.cfg.clone();
        let store = require_services(&cfg).await;
        let mut w = spawn_worker(&cfg, "draining", 2, &[]);
        let tasks = create_1lbb_job(&store, 90, 30).await;
        let job = &tasks[0].job_id;
        let mut publisher = Publisher::connect(&cfg).await.unwrap();
        publisher.publish(&tasks).await.unwrap();
        publisher.close().await;

        wait_results(&store, job, 2, Duration::from_secs(120)).await;
        tokio::task::block_in_place(|| wait_in_flight(&w, 2.0));
        let before = store.results(job).await.unwrap().len();
        w.sigterm();
        let status = tokio::task::block_in_place(|| w.wait_exit(Duration::from_secs(180)));
        let log = w.log_text();
        assert_eq!(status.code(), Some(0), "exit status {status}:\n{log}");
        let after = store.results(job).await.unwrap().len();
        assert!(after >= before + 2, "both fits in flight at SIGTERM were finished and stored ({before} -> {after}):\n{log}");
        assert!(after < tasks.len(), "the worker stopped taking tasks ({after} of {})", tasks.len());
        let last = log.lines().find(|l| l.contains("fitfleet-worker stopped")).expect("the worker's last log line");
        assert!(last.contains("abandoned=0"), "no fit was abandoned: {last}");
        assert!(last.contains("requeued=0"), "the worker gave no task back: it finished all it took: {last}");
        // The tasks without results are back in the queue, none with one.
        wait_ready(&cfg, (tasks.len() - after) as u32, Duration::from_secs(30)).await;

        let next = spawn_worker(&cfg, "next", 2, &[]);
        wait_done(&store, job, Duration::from_secs(240)).await;
        let results = assert_redis_exactly_once(&cfg, &store, &tasks).await;
        assert!(results.iter().all(|r| r.is_success()));
        // No task the drained worker took was delivered again: it stored every one of them
        // (requeued=0, abandoned=0 above), each at its first delivery. The one exception the
        // broker allows is a task RabbitMQ was handing over just as the consumer was cancelled
        // (a quorum queue may deliver after cancel-ok, and lapin drops a delivery to a cancelled
        // consumer): the worker never sees it, and closing the channel returns it, which counts
        // as a delivery. At most one per slot, and never one the drained worker fitted.
        let drained = w.pid();
        let redelivered: Vec<_> = results.iter().filter(|r| r.attempt != 1).collect();
        let shown: Vec<_> = redelivered.iter().map(|r| (&r.task_id, r.attempt, r.worker.pid)).collect();
        assert!(
            redelivered.len() <= 2 && redelivered.iter().all(|r| r.attempt == 2 && r.worker.pid != drained),
            "tasks delivered more than once: {shown:?}\n--- the drained worker ---\n{log}\n--- the next worker ---\n{}",
            next.log_text()
        );
        assert!(
            results.iter().filter(|r| r.worker.pid == drained).all(|r| r.attempt == 1),
            "the drained worker's results are all first deliveries"
        );
        let m = next.metrics();
        for outcome in ["skipped", "duplicate", "requeued"] {
            let sample = format!("fitfleet_worker_tasks_total{{outcome=\"{outcome}\"}}");
            assert_eq!(metric(&m, &sample), 0.0, "{sample}:\n{m}");
        }
        assert_eq!(metric(&m, "fitfleet_worker_tasks_total{outcome=\"succeeded\"}") as usize, tasks.len() - after);
        println!(
            "SIGTERM drain: {before} results at the signal, {after} when the worker exited; {} task(s) in transit at the cancel came back",
            redelivered.len()
        );
    });
}
