//! Shared by the client's CLI tests: the built `fitfleet` binary, the example pallet, a fleet
//! of the test's own (unique queue and key prefixes on the real RabbitMQ and Redis, removed
//! afterwards), and a tiny worker loop (the fleet's worker service lives in its own crate).
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use broker::amqp::{Source, TaskConsumer, Topology};
use broker::store::Store;
use broker::BrokerConfig;
use worker::{ModelCache, Processor};

pub fn pallet_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/pallet")
}

pub fn pallet_workspace() -> PathBuf {
    pallet_dir().join("BkgOnly.json")
}

pub fn pallet_patchset() -> PathBuf {
    pallet_dir().join("patchset.json")
}

/// The binary with a clean environment for settings: no settings file, the given fleet.
pub fn fitfleet(cfg: Option<&BrokerConfig>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fitfleet"));
    for (k, _) in std::env::vars() {
        if k.starts_with("FITFLEET_") && k != "FITFLEET_BROKER_URL" && k != "FITFLEET_REDIS_URL" {
            c.env_remove(k);
        }
    }
    // No ./fitfleet.toml of the developer's: run where there is none.
    c.current_dir(std::env::temp_dir());
    if let Some(cfg) = cfg {
        c.env("FITFLEET_BROKER_URL", &cfg.broker_url)
            .env("FITFLEET_REDIS_URL", &cfg.redis_url)
            .env("FITFLEET_KEY_PREFIX", &cfg.key_prefix)
            .env("FITFLEET_QUEUE_PREFIX", &cfg.queue_prefix);
    }
    c
}

/// Run and capture; the output's text for assertions.
pub fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().expect("running fitfleet");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// A fleet configuration of this test only: services from FITFLEET_BROKER_URL /
/// FITFLEET_REDIS_URL or the developer defaults, prefixes unique to the test.
pub fn config(test: &str) -> BrokerConfig {
    let tag = format!("{test}-{:08x}", rand_u32());
    let defaults = BrokerConfig::default();
    BrokerConfig {
        broker_url: std::env::var("FITFLEET_BROKER_URL").unwrap_or(defaults.broker_url),
        redis_url: std::env::var("FITFLEET_REDIS_URL").unwrap_or(defaults.redis_url),
        queue_prefix: format!("fitfleet-client-test.{tag}."),
        key_prefix: format!("fitfleet-client-test:{tag}:"),
        reconnect_max_delay_secs: 2,
        ..BrokerConfig::default()
    }
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    (RandomState::new().hash_one(std::time::SystemTime::now()) & 0xffff_ffff) as u32
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Fail (never skip) when RabbitMQ or Redis is not there.
pub fn require_services(cfg: &BrokerConfig) {
    runtime().block_on(async {
        if let Err(e) = broker::amqp::check(cfg).await {
            panic!(
                "RabbitMQ is required for this test and is not usable at {}: {e}\n\
                 start it with scripts/services-up",
                cfg.broker_url_redacted()
            );
        }
        // `check` declared the topology: remove it, so tests can tell whether anything was
        // published (the queue exists only then).
        broker::amqp::delete_topology(cfg).await.expect("deleting the test's queues");
        if let Err(e) = Store::connect(cfg).await {
            panic!(
                "Redis is required for this test and is not usable at {}: {e}\n\
                 start it with scripts/services-up",
                cfg.redis_url_redacted()
            );
        }
    });
}

/// Deletes the test's queues and keys when dropped (also when the test fails).
pub struct Cleanup(pub BrokerConfig);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let cfg = self.0.clone();
        let _ = std::thread::spawn(move || {
            runtime().block_on(async {
                if let Err(e) = broker::amqp::delete_topology(&cfg).await {
                    eprintln!("cleanup: deleting queues {}*: {e}", cfg.queue_prefix);
                }
                match keys_under_prefix(&cfg).await {
                    Ok(keys) if !keys.is_empty() => {
                        let client = redis::Client::open(cfg.redis_url.as_str()).unwrap();
                        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
                        let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await;
                    }
                    Ok(_) => {}
                    Err(e) => eprintln!("cleanup: listing keys {}*: {e}", cfg.key_prefix),
                }
            })
        })
        .join();
    }
}

/// Every Redis key under the test's prefix.
pub async fn keys_under_prefix(cfg: &BrokerConfig) -> redis::RedisResult<Vec<String>> {
    let client = redis::Client::open(cfg.redis_url.as_str())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut cursor: u64 = 0;
    let mut keys = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{}*", cfg.key_prefix))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

/// Messages in the tasks queue, or `None` when the queue does not exist (nothing was ever
/// published or declared).
pub fn tasks_in_queue(cfg: &BrokerConfig) -> Option<u32> {
    let queue = Topology::new(cfg).tasks_queue;
    runtime().block_on(async {
        let conn = lapin::Connection::connect(&cfg.broker_url, lapin::ConnectionProperties::default())
            .await
            .expect("raw AMQP connection");
        let ch = conn.create_channel().await.expect("channel");
        let declared = ch
            .queue_declare(
                queue.as_str().into(),
                lapin::options::QueueDeclareOptions { passive: true, ..Default::default() },
                Default::default(),
            )
            .await;
        let _ = conn.close(200, "bye".into()).await;
        declared.ok().map(|q| q.message_count())
    })
}

/// A worker of the test's fleet, on a thread of its own: takes tasks, skips those of cancelled
/// jobs, processes with the workers' `Processor`, records results, acks. Stops when dropped.
pub struct TestWorker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestWorker {
    pub fn start(cfg: &BrokerConfig) -> Self {
        Self::start_failing(cfg, None)
    }

    /// A worker that fails the task of patch `fail` (as a fit that goes wrong would).
    pub fn start_failing(cfg: &BrokerConfig, fail: Option<&str>) -> Self {
        let fail = fail.map(str::to_string);
        let stop = Arc::new(AtomicBool::new(false));
        let (cfg, flag) = (cfg.clone(), stop.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            runtime().block_on(async move {
                let store = Store::connect(&cfg).await.expect("worker: Redis");
                let mut tasks = TaskConsumer::connect(&cfg, Source::Tasks, 1).await.expect("worker: RabbitMQ");
                let processor = Arc::new(Processor::new(ModelCache::new(16, 1 << 28), broker::WorkerId::current()));
                ready_tx.send(()).unwrap();
                while !flag.load(Ordering::Relaxed) {
                    let Ok(delivery) = tokio::time::timeout(Duration::from_millis(200), tasks.next()).await else {
                        continue;
                    };
                    let delivery = delivery.expect("worker: next task");
                    let task = delivery.task.clone().expect("worker: a readable task");
                    if store.should_skip(&task.job_id).await.unwrap() || store.has_result(&task.job_id, &task.task_id).await.unwrap() {
                        delivery.ack().await.unwrap();
                        continue;
                    }
                    store.mark_running(&task.job_id).await.unwrap();
                    let bytes = store.get_workspace(&task.workspace).await.unwrap();
                    let (p, attempt) = (processor.clone(), delivery.attempt);
                    let result = if fail.as_deref() == Some(task.label()) {
                        broker::TaskResult::failed(&task, "injected failure: the fit went astray", p.worker.clone(), attempt, Default::default())
                    } else {
                        tokio::task::spawn_blocking(move || {
                            p.process(&task, attempt, || bytes.map(|b| (b, 0.0)).ok_or_else(|| "workspace not stored".to_string()))
                        })
                        .await
                        .unwrap()
                    };
                    store.record_result(&result).await.unwrap();
                    delivery.ack().await.unwrap();
                }
                tasks.close().await;
            })
        });
        ready_rx.recv_timeout(Duration::from_secs(30)).expect("the test worker started");
        TestWorker { stop, thread: Some(thread) }
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Wait until the tasks queue holds `expected` messages (a quorum queue's counts settle a
/// moment after confirms and acks); panics after 10 s.
pub fn wait_tasks_in_queue(cfg: &BrokerConfig, expected: u32) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let n = tasks_in_queue(cfg);
        if n == Some(expected) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the tasks queue holds {n:?} messages, expected {expected}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
