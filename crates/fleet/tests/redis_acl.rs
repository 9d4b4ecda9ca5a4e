//! The Redis users of deploy/compose/redis-users.acl, on a private redis-server: the worker's
//! and the client's store operations work, and what they have no business doing is refused,
//! each refusal asserted (NOPERM) and the data checked unharmed after.
//!
//! Needs `redis-server` on the PATH (it is started here on a spare loopback port with the
//! ACL file that deploy/compose/redis-entrypoint.sh writes, and stopped on drop) and `sh`.
use fitfleet_testkit as common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fitfleet_fleet::FleetConfig;
use fitfleet_fleet::store::{CancelOutcome, JobSpec, JobState, ProgressEvent, Store};
use fitfleet_protocol::{JobId, Task, TaskResult, Timings, WorkerId};

const ADMIN_PASSWORD: &str = "acl-test-admin-password";
const WORKER_PASSWORD: &str = "acl-test-worker-password";
const CLIENT_PASSWORD: &str = "acl-test-client-password";
const PREFIX: &str = "fitfleet:";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A redis-server of this test's own, killed when dropped (also when the test panics).
struct PrivateRedis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrivateRedis {
    /// Writes the ACL file with the compose entrypoint script, then starts Redis with it.
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let acl = dir.path().join("users.acl");
        let out = Command::new("sh")
            .arg(repo().join("deploy/compose/redis-entrypoint.sh"))
            .arg("true")
            .env("REDIS_PASSWORD", ADMIN_PASSWORD)
            .env("REDIS_WORKER_PASSWORD", WORKER_PASSWORD)
            .env("REDIS_CLIENT_PASSWORD", CLIENT_PASSWORD)
            .env("FITFLEET_KEY_PREFIX", PREFIX)
            .env("FITFLEET_ACL_TEMPLATE", repo().join("deploy/compose/redis-users.acl"))
            .env("FITFLEET_ACL_OUT", &acl)
            .output()
            .expect("running sh deploy/compose/redis-entrypoint.sh");
        assert!(out.status.success(), "redis-entrypoint.sh failed: {}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(&acl).unwrap();
        for pw in [ADMIN_PASSWORD, WORKER_PASSWORD, CLIENT_PASSWORD] {
            assert!(!text.contains(pw), "a password in clear in the ACL file");
        }

        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--aclfile")
            .arg(&acl)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server is required for this test and cannot be started: {e}"));
        let redis = PrivateRedis { child, port, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the private redis-server did not listen on port {port} in 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        redis
    }

    fn config(&self, user: &str, password: &str) -> FleetConfig {
        FleetConfig {
            redis_url: format!("redis://{user}:{password}@127.0.0.1:{}/0", self.port),
            key_prefix: PREFIX.into(),
            ..FleetConfig::default()
        }
    }

    async fn raw(&self, user: &str, password: &str) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.config(user, password).redis_url).unwrap();
        client.get_multiplexed_async_connection().await.unwrap()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The command's error, which must be Redis's NOPERM (an ACL refusal).
async fn refused(conn: &mut redis::aio::MultiplexedConnection, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    let reply: redis::RedisResult<redis::Value> = cmd.query_async(conn).await;
    match reply {
        Err(e) if e.to_string().to_ascii_lowercase().contains("noperm") => {}
        other => panic!("{args:?} must be refused by the ACL (NOPERM), got {other:?}"),
    }
}

/// Each of `commands` refused, by `who`.
async fn all_refused(conn: &mut redis::aio::MultiplexedConnection, commands: &[Vec<String>]) {
    for args in commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(conn, &args).await;
    }
}

/// The arguments as owned strings.
fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

/// `["SET", "k", "v"]` from `"SET k v"` (arguments without spaces).
fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

/// The SHA-1 under which Redis knows the store's result script (loaded by the administrator).
async fn record_result_sha(admin: &mut redis::aio::MultiplexedConnection) -> String {
    redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(include_str!("../src/store/lua/record_result.lua"))
        .query_async(admin)
        .await
        .expect("the administrator loads a script")
}

/// A job of 3 tasks created by the client, its workspace uploaded.
async fn submitted(client: &Store, label: &str) -> (JobId, Vec<Task>, fitfleet_protocol::WorkspaceDigest) {
    let ws = b"{\"channels\": []}";
    let digest = client.put_workspace(ws).await.expect("client uploads the workspace").digest;
    let job = JobId::generate();
    let tasks: Vec<Task> = common::jobs::fake_tasks(&job, 3);
    assert_eq!(tasks[0].workspace, digest);
    client.create_job(&JobSpec::from_tasks(label, &tasks)).await.expect("client creates the job");
    (job, tasks, digest)
}

#[tokio::test]
async fn worker_and_client_users_can_do_their_work() {
    let redis = PrivateRedis::start();
    let client = Store::connect(&redis.config("fitfleet-client", CLIENT_PASSWORD)).await.expect("client user connects");
    let worker = Store::connect(&redis.config("fitfleet-worker", WORKER_PASSWORD)).await.expect("worker user connects");

    // The client submits: workspace, job record; follows progress and lists jobs.
    let ws = b"{\"channels\": []}";
    let (job, tasks, digest) = submitted(&client, "acl test").await;
    client.put_workspace(ws).await.expect("client re-uploads");
    assert!(client.has_workspace(&digest).await.unwrap());
    client.probe_write().await.expect("client probes writes (fitfleet wait)");
    let mut follower = client.follow(&job, None).await.expect("client follows progress");
    let first = follower.next_events(Duration::from_secs(5), 100).await.unwrap();
    assert_eq!(first[0].event, ProgressEvent::JobQueued { total: 3 });

    // The worker does what service.rs and the dead-letter recorder do for each task.
    assert_eq!(worker.get_workspace(&digest).await.expect("worker reads the workspace").as_deref(), Some(&ws[..]));
    assert!(!worker.should_skip(&job).await.unwrap());
    let entry = worker.job_task(&job, &tasks[0].task_id).await.expect("worker reads the task's entry");
    assert_eq!(entry.expect("the job lists the task").digest, Some(tasks[0].work_digest()));
    assert!(!worker.has_result(&job, &tasks[0].task_id).await.unwrap());
    assert_eq!(worker.mark_running(&job).await.expect("worker marks the job running"), JobState::Running);
    for (i, task) in tasks.iter().enumerate() {
        let r = TaskResult::failed(task, "acl test", WorkerId::current(), 1, Timings::default());
        let outcome = worker.record_result(&r).await.expect("worker records a result");
        assert!(!outcome.is_duplicate());
        assert_eq!(outcome.counts().job_finished(), i == tasks.len() - 1);
    }
    let again = TaskResult::failed(&tasks[0], "again", WorkerId::current(), 2, Timings::default());
    assert!(worker.record_result(&again).await.unwrap().is_duplicate(), "first writer wins");
    assert!(worker.has_result(&job, &tasks[0].task_id).await.unwrap());

    // The client reads it all back.
    let status = client.job_status(&job).await.unwrap().expect("job record");
    assert_eq!((status.state, status.failed, status.total), (JobState::Done, 3, 3));
    assert_eq!(client.results(&job).await.unwrap().len(), 3);
    assert!(client.result(&job, &tasks[1].task_id).await.unwrap().is_some());
    assert!(client.has_result(&job, &tasks[1].task_id).await.unwrap());
    assert_eq!(client.job_tasks(&job).await.unwrap().len(), 3);
    assert!(client.list_jobs().await.unwrap().iter().any(|j| j.job_id == job));
    assert!(!client.progress(&job, None, 100).await.unwrap().is_empty());
    let rest = follower.next_events(Duration::from_secs(5), 100).await.unwrap();
    assert!(rest.last().unwrap().event.is_final(), "{rest:?}");
    assert_eq!(client.cancel_job(&job).await.unwrap(), CancelOutcome::AlreadyFinal(JobState::Done));

    // Cancelling: the client's key, honoured by the worker and by the client's follower.
    let (other, other_tasks, _) = submitted(&client, "to cancel").await;
    let mut follower = client.follow(&other, None).await.unwrap();
    assert_eq!(client.cancel_job(&other).await.expect("client cancels a job"), CancelOutcome::Cancelled);
    assert_eq!(client.job_status(&other).await.unwrap().unwrap().state, JobState::Cancelled);
    let mut seen = Vec::new();
    while !seen.last().is_some_and(|e: &fitfleet_fleet::store::ProgressEntry| e.event.is_final()) {
        let batch = follower.next_events(Duration::from_secs(5), 100).await.unwrap();
        assert!(!batch.is_empty(), "the follower reports the cancellation: {seen:?}");
        seen.extend(batch);
    }
    assert_eq!(seen.last().unwrap().event, ProgressEvent::JobCancelled { done: 0, failed: 0, total: 3 });
    assert!(worker.should_skip(&other).await.unwrap());
    assert_eq!(worker.mark_running(&other).await.unwrap(), JobState::Cancelled);
    let late = TaskResult::failed(&other_tasks[0], "late", WorkerId::current(), 1, Timings::default());
    worker.record_result(&late).await.expect("a late result is still recorded");
    let status = client.job_status(&other).await.unwrap().unwrap();
    assert_eq!((status.state, status.failed), (JobState::Cancelled, 1));
}

#[tokio::test]
async fn the_client_user_cannot_write_results_state_ttls_or_run_scripts() {
    let redis = PrivateRedis::start();
    let client = Store::connect(&redis.config("fitfleet-client", CLIENT_PASSWORD)).await.unwrap();
    let worker = Store::connect(&redis.config("fitfleet-worker", WORKER_PASSWORD)).await.unwrap();
    let (job, tasks, digest) = submitted(&client, "client denials").await;
    worker.mark_running(&job).await.unwrap();
    let r = TaskResult::failed(&tasks[0], "the worker's result", WorkerId::current(), 1, Timings::default());
    worker.record_result(&r).await.unwrap();
    let mut admin = redis.raw("default", ADMIN_PASSWORD).await;
    let sha = record_result_sha(&mut admin).await;

    let k = client.keys().clone();
    let (t0, t1) = (tasks[0].task_id.as_str(), tasks[1].task_id.as_str());
    let (results, state, events) = (k.job_results(&job), k.job_state(&job), k.job_events(&job));
    let (spec, cancel, ws, index) = (k.job(&job), k.job_cancel(&job), k.workspace(&digest), k.jobs_index());
    let mut c = redis.raw("fitfleet-client", CLIENT_PASSWORD).await;
    let mut denied: Vec<Vec<String>> = vec![
        // Writing or overwriting a result.
        words(&format!("HSET {results} {t0} forged")),
        words(&format!("HSETNX {results} {t1} forged")),
        words(&format!("SET {results} forged")),
        // Changing a job's state or counters, or its progress.
        words(&format!("HSET {state} state done")),
        words(&format!("HINCRBY {state} done 1")),
        words(&format!("HSET {state} failed 0")),
        words(&format!("XADD {events} * event job_done done 3 failed 0 total 3")),
        // Scripts and functions: a busy one blocks Redis for everyone.
        args(&["EVAL", "return 1", "0"]),
        words(&format!("EVALSHA {sha} 3 {state} {results} {events} {t1} x succeeded 60 0 p r 3 {cancel}")),
        args(&["EVAL_RO", "return 1", "0"]),
        args(&["SCRIPT", "LOAD", "while true do end"]),
        words("SCRIPT FLUSH"),
        words("SCRIPT KILL"),
        words("FUNCTION LIST"),
        words("FUNCTION FLUSH"),
        words("FCALL f 0"),
        // Administration and other applications' keys.
        words("FLUSHALL"),
        words("CONFIG GET *"),
        words("KEYS *"),
        words("SCAN 0"),
        words("ACL LIST"),
        words("GET other-app:secret"),
        args(&["FUNCTION", "LOAD", "#!lua name=busy\nredis.register_function('f', function() while true do end end)"]),
    ];
    // EXPIRE and DEL (and their kin) of any key: the client's, the workers', the index.
    for key in [&ws, &spec, &cancel, &index, &state, &results, &events, &k.probe()] {
        for cmd in
            ["EXPIRE {} 1", "PEXPIRE {} 1", "EXPIREAT {} 1", "PERSIST {}", "DEL {}", "UNLINK {}", "GETEX {} EX 1"]
        {
            denied.push(words(&cmd.replace("{}", key)));
        }
    }
    denied.push(words(&format!("RENAME {spec} {cancel}")));
    // SET only on its string keys, the index commands only on the index.
    denied.push(words(&format!("SET {index} overwritten")));
    denied.push(words(&format!("ZADD {spec} 1 x")));
    denied.push(words(&format!("ZADD {state} 1 x")));
    denied.push(words("SET other-app:key x"));
    all_refused(&mut c, &denied).await;

    // Nothing was changed by the attempts.
    let stored = client.result(&job, &tasks[0].task_id).await.unwrap().expect("the worker's result");
    assert_eq!(stored, r);
    let status = client.job_status(&job).await.unwrap().unwrap();
    assert_eq!((status.state, status.done, status.failed), (JobState::Running, 0, 1));
    let ttl: i64 = redis::cmd("TTL").arg(&ws).query_async(&mut admin).await.unwrap();
    assert!(ttl > 60, "the workspace keeps its TTL: {ttl}");
}

#[tokio::test]
async fn the_worker_user_cannot_touch_what_the_client_writes() {
    let redis = PrivateRedis::start();
    let client = Store::connect(&redis.config("fitfleet-client", CLIENT_PASSWORD)).await.unwrap();
    let worker = Store::connect(&redis.config("fitfleet-worker", WORKER_PASSWORD)).await.unwrap();
    let (job, tasks, digest) = submitted(&client, "worker denials").await;
    let k = worker.keys().clone();
    let (ws, spec, chunk, cancel) = (k.workspace(&digest), k.job(&job), k.job_tasks_chunk(&job, 0), k.job_cancel(&job));
    let index = k.jobs_index();
    let mut w = redis.raw("fitfleet-worker", WORKER_PASSWORD).await;
    // The worker may load the store's scripts, but they run with its permissions: pointed at
    // the client's keys, their writes are refused too.
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(include_str!("../src/store/lua/record_result.lua"))
        .query_async(&mut w)
        .await
        .expect("the worker loads the result script");
    let t0 = tasks[0].task_id.as_str();
    let mut denied: Vec<Vec<String>> = vec![
        // Overwriting a workspace, the job's spec or task list, or a cancellation.
        words(&format!("SET {ws} overwritten")),
        words(&format!("APPEND {ws} x")),
        words(&format!("SET {spec} overwritten")),
        words(&format!("SET {chunk} overwritten")),
        words(&format!("SET {cancel} 1")),
        words(&format!("HSET {spec} state done")),
        words(&format!("EVALSHA {sha} 3 {spec} {ws} {chunk} {t0} x succeeded 60 0 p r 3 {cancel}")),
        // The jobs index is the client's.
        words(&format!("ZADD {index} 1 forged")),
        words(&format!("ZREM {index} {job}")),
        words(&format!("ZREVRANGE {index} 0 -1")),
        // Scripts of its own, administration, other applications' keys.
        args(&["EVAL", "return 1", "0"]),
        words("SCRIPT FLUSH"),
        words("FUNCTION LIST"),
        words("FLUSHALL"),
        words("FLUSHDB"),
        words("CONFIG GET *"),
        words("CONFIG SET maxmemory 1"),
        words("KEYS *"),
        words("SCAN 0"),
        words("MONITOR"),
        words("ACL LIST"),
        words("SHUTDOWN"),
        words("GET other-app:secret"),
        words("HGET other-app:hash x"),
        words("EVALSHA 0000000000000000000000000000000000000000 1 other-app:key"),
    ];
    // EXPIRE and DEL of workspaces and of the client's job keys.
    for key in [&ws, &spec, &chunk, &cancel] {
        for cmd in ["EXPIRE {} 1", "PEXPIRE {} 1", "PERSIST {}", "DEL {}", "UNLINK {}"] {
            denied.push(words(&cmd.replace("{}", key)));
        }
    }
    all_refused(&mut w, &denied).await;

    // Nothing was changed by the attempts: the job and its workspace are as the client wrote them.
    assert_eq!(worker.get_workspace(&digest).await.unwrap().as_deref(), Some(&b"{\"channels\": []}"[..]));
    assert!(worker.job_task(&job, &tasks[0].task_id).await.unwrap().is_some());
    let status = client.job_status(&job).await.unwrap().unwrap();
    assert_eq!((status.state, status.total, status.label.as_str()), (JobState::Queued, 3, "worker denials"));
    assert!(client.list_jobs().await.unwrap().iter().any(|j| j.job_id == job));
}

#[tokio::test]
async fn passwords_are_checked() {
    let redis = PrivateRedis::start();
    // A wrong one, or a user's password for another user, fails.
    assert!(Store::connect(&redis.config("fitfleet-worker", CLIENT_PASSWORD)).await.is_err());
    assert!(Store::connect(&redis.config("fitfleet-client", WORKER_PASSWORD)).await.is_err());
    assert!(Store::connect(&redis.config("default", WORKER_PASSWORD)).await.is_err());
    let mut admin = redis.raw("default", ADMIN_PASSWORD).await;
    let maxmemory: Vec<String> =
        redis::cmd("CONFIG").arg("GET").arg("maxmemory").query_async(&mut admin).await.unwrap();
    assert_eq!(maxmemory[0], "maxmemory", "the administrator may configure Redis");
}
