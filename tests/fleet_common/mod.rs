//! Shared by the fleet's end-to-end tests (`tests/fleet_*.rs`): queues and keys of one test
//! only (deleted afterwards, also on failure), services that must be there (a missing one
//! fails the test, never skips it), the 1Lbb pallet as tasks, and real `fitfleet-worker`
//! processes.
//!
//! The worker processes are the binary `fitfleet-worker-e2e`: the worker's own `main.rs`
//! built by this package (see the root Cargo.toml), so cargo builds it fresh before these
//! tests with the same profile and target directory.
#![allow(dead_code)]

pub mod servers;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use broker::amqp::Publisher;
use broker::store::{JobSpec, JobState, JobStatus, Store};
use broker::{BrokerConfig, JobId, Patch, PatchValue, Task, TaskResult, Work, WorkspaceDigest};
use fitfleet_engine::infer::{Calculator, TestStatistic};
use fitfleet_engine::model::ModelSettings;
use fitfleet_engine::spec::PatchSet;

/// The binary under test.
pub const WORKER_BIN: &str = env!("CARGO_BIN_EXE_fitfleet-worker-e2e");

/// Tests of one file take this lock so that they do not compete for the two cores (their
/// timings and timeouts assume they run alone).
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A configuration whose queues and keys belong to this test only. The services are the
/// developer defaults unless `FITFLEET_BROKER_URL` / `FITFLEET_REDIS_URL` say otherwise.
pub fn config(test: &str) -> BrokerConfig {
    use std::hash::{BuildHasher, RandomState};
    let tag = format!("{test}-{:08x}", RandomState::new().hash_one(std::time::SystemTime::now()) as u32);
    let defaults = BrokerConfig::default();
    BrokerConfig {
        broker_url: std::env::var("FITFLEET_BROKER_URL").unwrap_or(defaults.broker_url),
        redis_url: std::env::var("FITFLEET_REDIS_URL").unwrap_or(defaults.redis_url),
        queue_prefix: format!("fitfleet-e2e.{tag}."),
        key_prefix: format!("fitfleet-e2e:{tag}:"),
        reconnect_max_delay_secs: 2,
        ..defaults
    }
}

/// Fail (never skip) unless RabbitMQ and Redis are both there; the store on success.
pub async fn require_services(cfg: &BrokerConfig) -> Store {
    if let Err(e) = broker::amqp::check(cfg).await {
        panic!(
            "RabbitMQ is required for the fleet tests and is not usable at {}: {e}\n\
             start it (e.g. `rabbitmq-server -detached`)",
            cfg.broker_url_redacted()
        );
    }
    match Store::connect(cfg).await {
        Ok(s) => s,
        Err(e) => panic!(
            "Redis is required for the fleet tests and is not usable at {}: {e}\n\
             start it (e.g. `redis-server --daemonize yes --bind 127.0.0.1 --port 6379`)",
            cfg.redis_url_redacted()
        ),
    }
}

/// Deletes the test's queues, exchange and Redis keys when dropped (also on panic).
pub struct Cleanup(pub BrokerConfig);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let cfg = self.0.clone();
        // A runtime of our own: the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Err(e) = broker::amqp::delete_topology(&cfg).await {
                    eprintln!("cleanup: deleting queues of {}: {e}", cfg.queue_prefix);
                }
                if let Err(e) = delete_keys(&cfg).await {
                    eprintln!("cleanup: deleting keys {}*: {e}", cfg.key_prefix);
                }
            })
        })
        .join();
    }
}

async fn delete_keys(cfg: &BrokerConfig) -> redis::RedisResult<()> {
    let client = broker::store::client(cfg).map_err(|e| redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "client", e.to_string())))?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{}*", cfg.key_prefix))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// The shared reference data: `FITFLEET_REFERENCE`, else `shared/reference` beside the
/// repository. Panics when missing: these tests need it.
pub fn reference_dir() -> PathBuf {
    let dir = match std::env::var_os("FITFLEET_REFERENCE") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference"),
    };
    assert!(
        dir.join("README.md").is_file(),
        "reference data not found at {} (set FITFLEET_REFERENCE)",
        dir.display()
    );
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
    Work::Hypotest {
        poi: 1.0,
        test_stat: TestStatistic::QmuTilde,
        calculator: Calculator::Asymptotics,
    }
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
    Patch {
        name: p.name().to_owned(),
        values,
        operations: p.operations_json().to_owned(),
    }
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
                broker::now_ms(),
            )
        })
        .collect()
}

/// Store the workspace, then tasks for `patches` as one job: the client's submission.
pub async fn submit(cfg: &BrokerConfig, store: &Store, workspace: &[u8], patches: &[&fitfleet_engine::spec::Patch]) -> Vec<Task> {
    let put = store.put_workspace(workspace).await.expect("storing the workspace");
    let tasks = tasks_for(&put.digest, patches, &hypotest_mu1());
    create_and_publish(cfg, store, &tasks).await;
    tasks
}

/// Create the job of `tasks` and publish them.
pub async fn create_and_publish(cfg: &BrokerConfig, store: &Store, tasks: &[Task]) {
    store
        .create_job(&JobSpec::from_tasks("fleet e2e", tasks))
        .await
        .expect("creating the job");
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

/// Messages ready in the test's tasks queue (a quorum queue's counts settle a moment after
/// acks: poll with [`wait_ready`]).
pub async fn ready_count(cfg: &BrokerConfig) -> u32 {
    ready_in(cfg, "tasks").await
}

/// Messages ready in the test's queue `{queue_prefix}{name}` ("tasks", "tasks.dead").
pub async fn ready_in(cfg: &BrokerConfig, name: &str) -> u32 {
    let (conn, ch) = raw_channel(cfg).await;
    let queue = format!("{}{name}", cfg.queue_prefix);
    let q = ch
        .queue_declare(
            queue.as_str().into(),
            lapin::options::QueueDeclareOptions { passive: true, ..Default::default() },
            Default::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("the queue {queue} exists: {e}"));
    let _ = conn.close(200, "bye".into()).await;
    q.message_count()
}

/// Wait until the tasks queue holds `expected` ready messages; panics after `timeout`.
pub async fn wait_ready(cfg: &BrokerConfig, expected: u32, timeout: Duration) {
    wait_ready_in(cfg, "tasks", expected, timeout).await
}

/// Wait until the queue `{queue_prefix}{name}` holds `expected` ready messages.
pub async fn wait_ready_in(cfg: &BrokerConfig, name: &str, expected: u32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let n = ready_in(cfg, name).await;
        if n == expected {
            return;
        }
        assert!(Instant::now() < deadline, "the {name} queue holds {n} ready messages, expected {expected}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A raw message body, with the job and task it claims to be, if any.
pub type RawMessage<'a> = (Vec<u8>, Option<(&'a JobId, &'a broker::TaskId)>);

/// Publish raw bodies to the tasks queue, as a buggy or hostile publisher would: each with
/// the `message_id` and `x-fitfleet-job` header of a task when `ids` are given, else bare.
pub async fn publish_raw(cfg: &BrokerConfig, messages: &[RawMessage<'_>]) {
    use lapin::types::{AMQPValue, FieldTable};
    let (conn, ch) = raw_channel(cfg).await;
    ch.confirm_select(Default::default()).await.expect("confirms");
    let queue = format!("{}tasks", cfg.queue_prefix);
    let mut confirms = Vec::with_capacity(messages.len());
    for (payload, ids) in messages {
        let mut props = lapin::BasicProperties::default().with_delivery_mode(2);
        if let Some((job, task)) = ids {
            let mut headers = FieldTable::default();
            headers.insert("x-fitfleet-job".into(), AMQPValue::LongString(job.as_str().into()));
            props = props.with_message_id(task.as_str().into()).with_headers(headers);
        }
        let c = ch
            .basic_publish("".into(), queue.as_str().into(), Default::default(), payload, props)
            .await
            .expect("raw publish");
        confirms.push(c);
    }
    for c in confirms {
        assert!(c.await.expect("raw publish confirmed").is_ack(), "RabbitMQ refused a raw message");
    }
    let _ = conn.close(200, "bye".into()).await;
}

/// The resident set size of process `pid` in KiB (`VmRSS` of /proc/PID/status), if it runs.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A raw AMQP connection and channel, to publish what a fitfleet client would not.
pub async fn raw_channel(cfg: &BrokerConfig) -> (lapin::Connection, lapin::Channel) {
    let conn = lapin::Connection::connect(&cfg.broker_url, lapin::ConnectionProperties::default())
        .await
        .expect("raw AMQP connection");
    let ch = conn.create_channel().await.expect("raw channel");
    (conn, ch)
}

/// A free local port for a worker's metrics endpoint.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET path` over plain HTTP/1.1; the status code and body.
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let code = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((code, body))
}

/// A sample's value in Prometheus text, e.g. `metric(&text, "fitfleet_worker_fits_in_flight")`
/// or with labels `metric(&text, "fitfleet_worker_tasks_total{outcome=\"succeeded\"}")`; 0 when absent.
pub fn metric(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap_or_else(|_| panic!("{sample}: {v:?}")))
}

/// A `fitfleet-worker` process of the test's fleet; killed when dropped.
pub struct WorkerProcess {
    child: Child,
    pub name: String,
    pub metrics_addr: SocketAddr,
    pub log: PathBuf,
}

impl WorkerProcess {
    /// Start a worker with `slots` fit slots, configured by flags (the test's prefixes),
    /// logging to a file under the target directory; waits until it serves.
    pub fn spawn(cfg: &BrokerConfig, name: &str, slots: u16, extra: &[&str]) -> Self {
        let port = free_port();
        let metrics_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let dir = std::env::temp_dir().join("fitfleet-e2e");
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join(format!("{}{name}.log", cfg.queue_prefix));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(WORKER_BIN)
            .args(["--broker-url", &cfg.broker_url, "--redis-url", &cfg.redis_url])
            .args(["--queue-prefix", &cfg.queue_prefix, "--key-prefix", &cfg.key_prefix])
            .args(["--slots", &slots.to_string(), "--metrics-addr", &metrics_addr.to_string()])
            .args(["--reconnect-max-delay-secs", "2"])
            .args(["--tls-ca-file", &cfg.tls_ca_file])
            .args(extra)
            // FITFLEET_E2E_WORKER_LOG: another filter for the workers' logs, to debug a test.
            .env("FITFLEET_LOG", std::env::var("FITFLEET_E2E_WORKER_LOG").unwrap_or_else(|_| "info,lapin=warn,redis=warn".into()))
            .env_remove("FITFLEET_CONFIG")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {WORKER_BIN}: {e}"));
        let mut w = WorkerProcess {
            child,
            name: name.to_owned(),
            metrics_addr,
            log,
        };
        w.wait_serving(Duration::from_secs(30));
        w
    }

    /// Wait until `/healthz` answers (the worker is connected and consuming).
    fn wait_serving(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok((200, _)) = http_get(self.metrics_addr, "/healthz") {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("worker {} exited at start-up ({status}):\n{}", self.name, self.log_text());
            }
            assert!(Instant::now() < deadline, "worker {} not serving after {timeout:?}:\n{}", self.name, self.log_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The worker's `/metrics` text.
    pub fn metrics(&self) -> String {
        let (code, body) = http_get(self.metrics_addr, "/metrics").expect("metrics endpoint");
        assert_eq!(code, 200);
        body
    }

    /// SIGKILL: no drain, no goodbye.
    pub fn kill9(&mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }

    /// SIGTERM: ask for a drain.
    pub fn sigterm(&self) {
        let ok = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().expect("kill -TERM");
        assert!(ok.success());
    }

    /// The exit status, if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Wait for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "worker {} still running after {timeout:?}:\n{}", self.name, self.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            let text = self.log_text();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            eprintln!("--- last lines of worker {} ({}) ---", self.name, self.log.display());
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Wait until the worker reports `n` fits in flight (it is busy, not between tasks); blocks
/// the thread (call it in `block_in_place` from async code).
pub fn wait_in_flight(w: &WorkerProcess, n: f64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while metric(&w.metrics(), "fitfleet_worker_fits_in_flight") < n {
        assert!(Instant::now() < deadline, "worker {} never had {n} fits in flight", w.name);
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A two-thread runtime, as the fleet tests run.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// [`assert_exactly_once`], and the same read straight from Redis: the result keys of the
/// job are exactly its task ids, its counters equal the results by status, and its progress
/// stream has one task event per result (nothing counted twice).
pub async fn assert_redis_exactly_once(cfg: &BrokerConfig, store: &Store, tasks: &[Task]) -> Vec<TaskResult> {
    let results = assert_exactly_once(store, tasks).await;
    let job = &tasks[0].job_id;
    let keys = store.keys();
    let client = broker::store::client(cfg).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.expect("a Redis connection");
    let stored: HashSet<String> = redis::cmd("HKEYS").arg(keys.job_results(job)).query_async(&mut conn).await.unwrap();
    let want: HashSet<String> = tasks.iter().map(|t| t.task_id.as_str().to_owned()).collect();
    assert_eq!(stored, want, "the result keys in Redis are the job's task ids");
    let (done, failed, total): (u64, u64, u64) = redis::cmd("HMGET")
        .arg(keys.job(job))
        .arg(&["done", "failed", "total"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let succeeded = results.iter().filter(|r| r.is_success()).count() as u64;
    assert_eq!((done, failed, total), (succeeded, results.len() as u64 - succeeded, tasks.len() as u64));
    let events: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(keys.job_events(job))
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let task_events = events
        .ids
        .iter()
        .filter(|e| matches!(e.get::<String>("event").as_deref(), Some("task_succeeded" | "task_failed")))
        .count();
    assert_eq!(task_events, results.len(), "one progress event per result");
    results
}
