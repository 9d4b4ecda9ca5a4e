//! Redis under memory pressure mid-job: `maxmemory` reached (writes refused with `OOM command
//! not allowed when used memory > 'maxmemory'`) while a real worker process fits, then the
//! limit raised again. The worker waits the pressure out holding its deliveries: every task
//! ends with one succeeded result at its first delivery, nothing is requeued or dead-lettered
//! and the worker lives on. The test has its own `redis-server` (see
//! `fitfleet_testkit::servers`), so that it can change its memory limit; RabbitMQ is the
//! shared one, with the test's own queues.
mod fleet_common;

use std::time::{Duration, Instant};

use fitfleet_testkit::servers::RedisServer;
use fleet_common::*;

/// `CONFIG SET maxmemory <bytes>` on the private server (0: no limit).
async fn set_maxmemory(redis: &RedisServer, bytes: u64) {
    let client = redis::Client::open(redis.url()).expect("a Redis client");
    let mut conn = client.get_multiplexed_async_connection().await.expect("a Redis connection");
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(bytes)
        .query_async(&mut conn)
        .await
        .expect("CONFIG SET maxmemory");
}

#[test]
fn redis_out_of_memory_mid_job_is_waited_out_without_spending_deliveries() {
    let _serial = serial();
    runtime().block_on(async {
        let redis = RedisServer::start();
        let cfg = fitfleet_fleet::FleetConfig { redis_url: redis.url(), ..config("redis-oom") };
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::amqp(&cfg);
        let w = spawn_worker(&cfg, "oom", 2, &[]);
        let (ws, ps) = pallet_1lbb();
        let patches: Vec<_> = ps.patches().iter().skip(40).take(12).collect();
        let tasks = submit(&cfg, &store, &ws, &patches).await;
        let job = &tasks[0].job_id;

        // Mid-job, with fits in flight: their results are the writes Redis refuses.
        wait_results(&store, job, 2, Duration::from_secs(120)).await;
        tokio::task::block_in_place(|| wait_in_flight(&w, 1.0));
        set_maxmemory(&redis, 1).await;
        let oom_at = Instant::now();
        // Counted once writes are refused: a result stored just before the refusal is no
        // failure of the worker.
        let before = store.results(job).await.unwrap().len();
        // Until the worker has met the refusal a few times, and for at least 5 s.
        let deadline = oom_at + Duration::from_secs(120);
        loop {
            let retries = metric(&w.metrics(), "fitfleet_worker_store_retries_total");
            if retries >= 3.0 && oom_at.elapsed() >= Duration::from_secs(5) {
                break;
            }
            assert!(Instant::now() < deadline, "the worker met no OOM in 120 s ({retries} retries):\n{}", w.log_text());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let during = store.results(job).await.unwrap().len();
        set_maxmemory(&redis, 0).await;
        let oom_lasted = oom_at.elapsed();
        assert_eq!(during, before, "no result was stored while Redis refused writes");

        wait_done(&store, job, Duration::from_secs(240)).await;
        let results = assert_redis_exactly_once(&cfg, &store, &tasks).await;
        assert!(results.iter().all(|r| r.is_success()), "no task failed or was dead-lettered");
        let spent: Vec<_> = results.iter().filter(|r| r.attempt != 1).map(|r| (&r.task_id, r.attempt)).collect();
        assert!(spent.is_empty(), "every result is of a first delivery: {spent:?}");
        let mut w = w;
        assert!(w.exited().is_none(), "the worker lives on:\n{}", w.log_text());
        let m = w.metrics();
        let retries = metric(&m, "fitfleet_worker_store_retries_total");
        for outcome in ["requeued", "failed", "dropped"] {
            let sample = format!("fitfleet_worker_tasks_total{{outcome=\"{outcome}\"}}");
            assert_eq!(metric(&m, &sample), 0.0, "{sample}:\n{m}");
        }
        assert_eq!(metric(&m, "fitfleet_worker_tasks_total{outcome=\"succeeded\"}") as usize, tasks.len());
        assert_eq!(metric(&m, "fitfleet_worker_store_gave_up_total{cause=\"out_of_memory\"}"), 0.0, "{m}");
        let log = w.log_text();
        assert!(log.contains("Redis is out of memory"), "the worker's log names the cause:\n{log}");
        assert!(!log.contains("giving the task back"), "no task was given back:\n{log}");
        wait_ready(&cfg, 0, Duration::from_secs(30)).await;
        assert_eq!(ready_in(&cfg, "tasks.dead").await, 0, "nothing dead-lettered");
        // "Redis: storing a result succeeded after retrying": which operations met the OOM.
        let recovered: Vec<&str> = log
            .lines()
            .filter_map(|l| l.split_once("Redis: ")?.1.split_once(" succeeded after retrying").map(|(what, _)| what))
            .collect();
        assert!(!recovered.is_empty(), "the worker logged its recovery:\n{log}");
        println!(
            "Redis OOM: maxmemory reached for {:.1} s with {before} of {} results stored; the worker waited it out, \
             {retries} retries in all, then succeeded in {recovered:?}; every task stored at its first delivery, \
             none requeued",
            oom_lasted.as_secs_f64(),
            tasks.len()
        );
    });
}
