//! A flood of poison mixed into a real job, against real RabbitMQ, Redis and `fitfleet-worker`
//! processes: random bytes, truncated MessagePack, another protocol version, unknown workspace
//! digests, workspaces that fail validation, fits that cannot converge, and messages, patches
//! and workspaces over the size limits. Every poison task becomes a failed result with its
//! reason, bare garbage naming no task is dead-lettered and dropped by the recorder, the real
//! tasks all succeed, the counters equal the results and nothing is left in the queues.
mod fleet_common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fitfleet_engine::infer::{Calculator, TestStatistic};
use fitfleet_engine::model::ModelSettings;
use fitfleet_fleet::store::{JobSpec, TaskEntry};
use fitfleet_protocol::{JobId, Patch, Status, Task, Work, WorkspaceDigest};
use fleet_common::*;

/// Poison tasks of each kind (nine kinds: 9000 in all).
const PER_KIND: usize = 1000;
/// Bare garbage without ids: dead-lettered by the worker, dropped by the recorder.
const BARE: usize = 50;
/// Real tasks of the job.
const REAL: usize = 12;
/// The workers' limits in this test: the real tasks are well under them.
const MAX_TASK: usize = 8192;
const MAX_PATCH: usize = 2048;
const MAX_WORKSPACE: usize = 32768;

fn hypotest(poi: f64) -> Work {
    Work::Hypotest { poi, test_stat: TestStatistic::QmuTilde, calculator: Calculator::Asymptotics }
}

/// A deterministic xorshift stream for random bytes and cut points.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn vec(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// The simplified workspace with one sample's bins changed: fails validation.
fn invalid_workspace() -> Vec<u8> {
    let mut ws: serde_json::Value = serde_json::from_slice(&small_workspace()).unwrap();
    ws["channels"][0]["samples"][0]["data"] = serde_json::json!([1.0, 2.0]);
    serde_json::to_vec(&ws).unwrap()
}

/// One bin with 1e100 events, a signal of 1 and a normfactor free up to 1e120: the fit
/// doubles mu at each step and runs out of iterations long before reaching 1e100.
fn unconvergeable_workspace() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "channels": [{"name": "sr", "samples": [
            {"name": "sig", "data": [1.0], "modifiers": [{"name": "mu", "type": "normfactor", "data": null}]}
        ]}],
        "observations": [{"name": "sr", "data": [1e100]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": [{"name": "mu", "bounds": [[0.0, 1e120]]}]}}],
        "version": "1.0.0"
    }))
    .unwrap()
}

/// What one kind of poison is expected to say in its failed result.
struct Kind {
    name: &'static str,
    needles: Vec<String>,
    tasks: Vec<Task>,
}

#[test]
fn a_thousand_poison_tasks_of_each_kind_fail_with_reasons_and_the_real_tasks_succeed() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("flood");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        let limits = [
            "--max-task-bytes", &MAX_TASK.to_string(), "--max-patch-bytes", &MAX_PATCH.to_string(),
            "--max-workspace-bytes", &MAX_WORKSPACE.to_string(),
        ]
        .map(String::from);
        let limits: Vec<&str> = limits.iter().map(String::as_str).collect();
        let workers: Vec<WorkerProcess> =
            ["w1", "w2"].iter().map(|n| spawn_worker(&cfg, n, 1, &limits)).collect();

        let good = store.put_workspace(&small_workspace()).await.unwrap().digest;
        let invalid = store.put_workspace(&invalid_workspace()).await.unwrap().digest;
        let stuck = store.put_workspace(&unconvergeable_workspace()).await.unwrap().digest;
        let mut huge_ws = small_workspace();
        huge_ws.extend(std::iter::repeat_n(b' ', MAX_WORKSPACE + 1 - huge_ws.len()));
        let huge = store.put_workspace(&huge_ws).await.unwrap().digest;

        let job = JobId::generate();
        let task = |ws: &WorkspaceDigest, patch: Option<Patch>, work: Work| {
            Task::new(job.clone(), ws.clone(), patch, ModelSettings::default(), work, fitfleet_protocol::now_ms())
        };
        // Each kind's tasks are distinct (their own POI range or patch names).
        let poi = |kind: usize, i: usize| 10.0 * (kind + 1) as f64 + i as f64 * 1e-3;
        let hypotests = |kind: usize, ws: &WorkspaceDigest| -> Vec<Task> {
            (0..PER_KIND).map(|i| task(ws, None, hypotest(poi(kind, i)))).collect()
        };
        let real: Vec<Task> = (0..REAL).map(|i| task(&good, None, hypotest(0.25 * (i + 1) as f64))).collect();
        let kinds = vec![
            Kind { name: "random bytes", needles: vec!["the task message could not be read: task:".into()], tasks: hypotests(0, &good) },
            Kind { name: "truncated MessagePack", needles: vec!["could not be read".into(), "truncated MessagePack".into()], tasks: hypotests(1, &good) },
            Kind { name: "protocol version 2", needles: vec!["protocol version 2, this worker speaks 1".into()], tasks: hypotests(2, &good) },
            Kind {
                name: "unknown workspace digest",
                needles: vec!["is not in the store".into()],
                tasks: (0..PER_KIND)
                    .map(|i| task(&WorkspaceDigest::of(format!("never uploaded {i}").as_bytes()), None, hypotest(poi(3, i))))
                    .collect(),
            },
            Kind {
                name: "workspace failing validation",
                needles: vec![format!("workspace {}", &invalid.as_str()[..12]), "channels[0].samples[0]".into(), "for 2 bins".into()],
                tasks: hypotests(4, &invalid),
            },
            Kind {
                name: "fit that cannot converge",
                needles: vec!["fit did not converge: no convergence in 200 steps".into()],
                // Work::Fit has no parameter: distinct patch names (no-op patches) make the tasks distinct.
                tasks: (0..PER_KIND)
                    .map(|i| task(&stuck, Some(Patch { name: format!("stuck-{i}"), values: vec![], operations: "[]".into() }), Work::Fit))
                    .collect(),
            },
            Kind {
                name: "task over max_task_bytes",
                needles: vec!["could not be read".into(), format!("more than the limit of {MAX_TASK} bytes (max_task_bytes)")],
                tasks: (0..PER_KIND)
                    .map(|i| {
                        let padded = Patch { name: format!("padded-{i}"), values: vec![fitfleet_protocol::PatchValue::Text("x".repeat(MAX_TASK))], operations: "[]".into() };
                        task(&good, Some(padded), hypotest(1.0))
                    })
                    .collect(),
            },
            Kind {
                name: "patch over max_patch_bytes",
                needles: vec![format!("more than the limit of {MAX_PATCH} bytes"), "max_patch_bytes".into()],
                tasks: (0..PER_KIND)
                    .map(|i| {
                        let wide = Patch { name: format!("wide-{i}"), values: vec![], operations: format!("[{}]", " ".repeat(MAX_PATCH)) };
                        task(&good, Some(wide), hypotest(1.0))
                    })
                    .collect(),
            },
            Kind {
                name: "workspace over max_workspace_bytes",
                needles: vec![
                    format!("workspace {huge} unpacks to more than {MAX_WORKSPACE} bytes"),
                    "max_workspace_bytes".into(),
                ],
                tasks: hypotests(8, &huge),
            },
        ];
        let poison: Vec<&Task> = kinds.iter().flat_map(|k| &k.tasks).collect();
        let all: Vec<Task> = real.iter().cloned().chain(poison.iter().map(|t| (*t).clone())).collect();
        store
            .create_job(&JobSpec {
                job_id: job.clone(),
                label: "flood".into(),
                workspace: good.clone(),
                settings: ModelSettings::default(),
                work: "hypotest".into(),
                tasks: all.iter().map(TaskEntry::of).collect(),
            })
            .await
            .unwrap();

        // Bodies that are not tasks, published under the ids of the first three kinds' tasks,
        // and bare garbage; the rest through the client's publisher, interleaved with the real
        // tasks (the limits of the publisher are the defaults, far above the workers').
        let mut rng = Bytes(0x9e37_79b9_7f4a_7c15);
        let mut raw: Vec<RawMessage> = Vec::new();
        for (k, t) in kinds[..3].iter().flat_map(|k| k.tasks.iter().map(move |t| (k.name, t))) {
            let body = match k {
                "random bytes" => {
                    let n = 1 + (rng.next() % 400) as usize;
                    rng.vec(n)
                }
                "truncated MessagePack" => {
                    let bytes = t.encode().unwrap();
                    let cut = 1 + (rng.next() as usize % (bytes.len() - 1));
                    bytes[..cut].to_vec()
                }
                _ => {
                    // {"v": 1, ...}: fixmap of 3, "v", then the version as a positive fixint.
                    let mut bytes = t.encode().unwrap();
                    assert_eq!(&bytes[..4], &[0x83, 0xa1, b'v', 0x01]);
                    bytes[3] = 0x02;
                    bytes
                }
            };
            raw.push((body, Some((&t.job_id, &t.task_id))));
        }
        let bare: Vec<Vec<u8>> = (0..BARE).map(|_| rng.vec(64)).collect();
        raw.extend(bare.iter().map(|b| (b.clone(), None)));
        let start = Instant::now();
        publish_raw(&cfg, &raw).await;
        let published: Vec<Task> = {
            let mut rest: Vec<Task> = kinds[3..].iter().flat_map(|k| k.tasks.iter().cloned()).collect();
            for (i, t) in real.iter().enumerate() {
                rest.insert((i * rest.len() / REAL).min(rest.len()), t.clone());
            }
            rest
        };
        let mut publisher = fitfleet_fleet::amqp::Publisher::connect(&cfg).await.unwrap();
        assert_eq!(publisher.publish(&published).await.unwrap().published, published.len());
        publisher.close().await;

        let status = wait_done(&store, &job, Duration::from_secs(300)).await;
        let elapsed = start.elapsed();
        // The set of results is the set of tasks, the counters equal the results.
        let results = assert_exactly_once(&store, &all).await;
        let by_id: HashMap<_, _> = results.iter().map(|r| (r.task_id.clone(), r)).collect();
        for t in &real {
            let r = by_id[&t.task_id];
            assert!(r.is_success(), "real task at mu={:?} failed: {:?}", t.work, r.status);
        }
        for k in &kinds {
            for t in &k.tasks {
                match &by_id[&t.task_id].status {
                    Status::Failed { reason } => {
                        for n in &k.needles {
                            assert!(reason.contains(n.as_str()), "{}: the reason names {n:?}: {reason}", k.name);
                        }
                    }
                    Status::Succeeded => panic!("{}: a poison task succeeded", k.name),
                }
            }
        }
        assert_eq!((status.done, status.failed), (REAL as u64, poison.len() as u64), "{status:?}");

        // The bare garbage was dead-lettered (the workers' `dropped`) and the recorder, finding
        // no task named, dropped it; the workers lived through it all.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let dropped: f64 = workers.iter().map(|w| metric(&w.metrics(), "fitfleet_worker_tasks_total{outcome=\"dropped\"}")).sum();
            if dropped == BARE as f64 {
                break;
            }
            assert!(Instant::now() < deadline, "{dropped} bare messages dead-lettered, expected {BARE}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let failed: f64 = workers.iter().map(|w| metric(&w.metrics(), "fitfleet_worker_tasks_total{outcome=\"failed\"}")).sum();
        let succeeded: f64 = workers.iter().map(|w| metric(&w.metrics(), "fitfleet_worker_tasks_total{outcome=\"succeeded\"}")).sum();
        assert_eq!((succeeded, failed), (REAL as f64, poison.len() as f64));
        wait_ready_in(&cfg, "tasks.dead", 0, Duration::from_secs(30)).await;
        let logs: String = workers.iter().map(WorkerProcess::log_text).collect();
        assert_eq!(logs.matches("naming no task; dead-lettering it").count(), BARE, "every bare message logged");
        assert_eq!(logs.matches("dead-lettered message names no task; dropping it").count(), BARE, "and dropped by a recorder");

        // Nothing is left: stopped workers hold nothing unacknowledged, the queues are empty.
        for mut w in workers {
            w.sigterm();
            let exit = w.wait_exit(Duration::from_secs(60));
            assert_eq!(exit.code(), Some(0), "worker {} exit {exit}:\n{}", w.name, w.log_text());
        }
        wait_ready_in(&cfg, "tasks", 0, Duration::from_secs(30)).await;
        wait_ready_in(&cfg, "tasks.dead", 0, Duration::from_secs(30)).await;
        println!(
            "flood: {} poison tasks of {} kinds ({PER_KIND} each) and {BARE} bare messages mixed into {REAL} real tasks: \
             {} failed results with their reasons, {BARE} dead-lettered and dropped, {} real tasks succeeded, \
             in {:.1} s ({:.0} messages/s, 2 workers x 1 slot)",
            poison.len(),
            kinds.len(),
            status.failed,
            status.done,
            elapsed.as_secs_f64(),
            (all.len() + BARE) as f64 / elapsed.as_secs_f64()
        );
    });
}
