//! Load: 10,000 tasks queued before one real `fitfleet-worker` starts. Its memory stays flat
//! while it drains the queue (the prefetch, one message per slot, bounds what it holds), every
//! task gets exactly one result, and the throughput is printed.
mod fleet_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fitfleet_engine::infer::{Calculator, TestStatistic};
use fitfleet_engine::model::ModelSettings;
use fitfleet_protocol::{JobId, Patch, Task, Work};
use fleet_common::*;

const TASKS: usize = 10_000;
/// Results after which the worker is warm (model compiled, connections and pools grown).
const WARM_UP: u64 = 1_000;
/// Bytes of padding per task message (JSON whitespace in the patch's operations, so the
/// model is the same for every task and stays cached): 10,000 tasks are ~45 MB of messages,
/// which a worker prefetching everything would have to hold.
const PADDING: usize = 4096;
/// How much more than an idle worker the draining worker may hold. Measured with the prefetch
/// of 2: +4 MiB (buffers, the compiled model); with an unlimited prefetch (RabbitMQ pushing
/// the queue at the worker): +15 MiB.
const MAX_OVER_IDLE_KIB: u64 = 10 * 1024;
/// How much the RSS may grow after warm-up. Measured: +0.3 to +0.6 MiB. A leak of 1 KiB per
/// task would add 8.8 MiB over the 9,000 tasks after warm-up.
const MAX_GROWTH_KIB: u64 = 8 * 1024;

#[test]
fn ten_thousand_queued_tasks_drain_with_flat_memory() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("load");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        let digest = store.put_workspace(&small_workspace()).await.unwrap().digest;
        let job = JobId::generate();
        let padded = Patch { name: "padded".into(), values: vec![], operations: format!("[{}]", " ".repeat(PADDING)) };
        let tasks: Vec<Task> = (0..TASKS)
            .map(|i| {
                let work = Work::Hypotest {
                    poi: 0.5 + i as f64 * 1e-4,
                    test_stat: TestStatistic::QmuTilde,
                    calculator: Calculator::Asymptotics,
                };
                Task::new(job.clone(), digest.clone(), Some(padded.clone()), ModelSettings::default(), work, fitfleet_protocol::now_ms())
            })
            .collect();
        let message_bytes: usize = tasks.iter().map(|t| t.encode().unwrap().len()).sum();
        create_and_publish(&cfg, &store, &tasks).await;
        wait_ready(&cfg, TASKS as u32, Duration::from_secs(60)).await;

        // The reference: the same worker on an empty queue of its own.
        let idle_cfg = config("load-idle");
        let _idle_cleanup = Cleanup::both(&idle_cfg);
        let idle = spawn_worker(&idle_cfg, "idle", 2, &[]);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rss_idle = rss_kib(idle.pid()).expect("the idle worker runs");
        drop(idle);

        let worker = spawn_worker(&cfg, "load", 2, &[]);
        let start = Instant::now();
        let pid = worker.pid();
        let rss_start = rss_kib(pid).expect("the worker runs");
        // RSS every 50 ms while the queue drains.
        let samples: Arc<Mutex<Vec<(Instant, u64)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (samples, stop) = (samples.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(kib) = rss_kib(pid) {
                        samples.lock().unwrap().push((Instant::now(), kib));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        let warm_at = wait_results(&store, &job, WARM_UP, Duration::from_secs(120)).await;
        let warm_time = Instant::now();
        let status = wait_done(&store, &job, Duration::from_secs(300)).await;
        let elapsed = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        sampler.join().unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss_after = rss_kib(pid).expect("the worker still runs");

        let results = assert_exactly_once(&store, &tasks).await;
        assert!(results.iter().all(|r| r.is_success()), "{status:?}");
        wait_ready(&cfg, 0, Duration::from_secs(30)).await;

        let samples = samples.lock().unwrap();
        let rss_warm = samples.iter().rev().find(|(t, _)| *t <= warm_time).map_or(rss_start, |(_, k)| *k);
        let after_warm: Vec<u64> = samples.iter().filter(|(t, _)| *t > warm_time).map(|(_, k)| *k).collect();
        let peak = after_warm.iter().copied().max().unwrap_or(rss_warm);
        let peak_all = samples.iter().map(|(_, k)| *k).max().unwrap_or(rss_start);
        let rate = TASKS as f64 / elapsed.as_secs_f64();
        let m = worker.metrics();
        println!(
            "load: {TASKS} queued tasks ({:.1} MB of messages) drained by one worker (2 slots) in {:.1} s: {rate:.0} tasks/s; \
             RSS of an idle worker {rss_idle} KiB, at start {} KiB, after {} results {} KiB, peak after warm-up {} KiB (+{} KiB), peak overall {} KiB, \
             after the drain {} KiB; {} samples; model cache: {} miss(es), {} hits",
            message_bytes as f64 / 1e6,
            elapsed.as_secs_f64(),
            rss_start,
            warm_at.done + warm_at.failed,
            rss_warm,
            peak,
            peak.saturating_sub(rss_warm),
            peak_all,
            rss_after,
            samples.len(),
            metric(&m, "fitfleet_worker_model_cache_misses_total"),
            metric(&m, "fitfleet_worker_model_cache_hits_total"),
        );
        assert!(after_warm.len() >= 10, "too few RSS samples after warm-up: {}", after_warm.len());
        assert!(
            peak <= rss_warm + MAX_GROWTH_KIB,
            "the worker's memory grew while it drained: {rss_warm} KiB after warm-up, peak {peak} KiB (bound +{MAX_GROWTH_KIB} KiB)"
        );
        assert!(
            peak_all <= rss_idle + MAX_OVER_IDLE_KIB,
            "the worker held more than its prefetch: peak {peak_all} KiB, an idle worker {rss_idle} KiB (bound +{MAX_OVER_IDLE_KIB} KiB)"
        );
    });
}
