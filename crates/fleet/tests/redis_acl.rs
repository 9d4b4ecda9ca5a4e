//! The Redis users of deploy/compose/redis-users.acl, on a private redis-server: the worker's
//! and the client's store operations work, and what they have no business doing is refused.
//!
//! Needs `redis-server` on the PATH (it is started here on a spare loopback port with the
//! ACL file that deploy/compose/redis-entrypoint.sh writes, and stopped on drop) and `sh`.
use fitfleet_testkit as common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fitfleet_fleet::FleetConfig;
use fitfleet_fleet::store::{JobSpec, JobState, Store};
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

#[tokio::test]
async fn worker_and_client_users_can_do_their_work_and_nothing_else() {
    let redis = PrivateRedis::start();
    let client = Store::connect(&redis.config("fitfleet-client", CLIENT_PASSWORD)).await.expect("client user connects");
    let worker = Store::connect(&redis.config("fitfleet-worker", WORKER_PASSWORD)).await.expect("worker user connects");

    // The client submits: workspace, job record; follows progress and lists jobs.
    let ws = b"{\"channels\": []}";
    let digest = client.put_workspace(ws).await.expect("client uploads the workspace").digest;
    client.put_workspace(ws).await.expect("client re-uploads (EXPIRE)");
    assert!(client.has_workspace(&digest).await.unwrap());
    let job = JobId::generate();
    let tasks: Vec<Task> = common::jobs::fake_tasks(&job, 3);
    assert_eq!(tasks[0].workspace, digest);
    client.create_job(&JobSpec::from_tasks("acl test", &tasks)).await.expect("client creates the job");
    let mut follower = client.follow(&job, None).await.expect("client follows progress");

    // The worker does what service.rs and the dead-letter recorder do for each task.
    assert_eq!(worker.get_workspace(&digest).await.expect("worker reads the workspace").as_deref(), Some(&ws[..]));
    assert!(!worker.should_skip(&job).await.unwrap());
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
    assert_eq!(client.job_tasks(&job).await.unwrap().len(), 3);
    assert!(client.list_jobs().await.unwrap().iter().any(|j| j.job_id == job));
    assert!(!client.progress(&job, None, 100).await.unwrap().is_empty());
    assert!(!follower.next_events(Duration::from_secs(5), 100).await.unwrap().is_empty());
    let other = JobId::generate();
    client.create_job(&JobSpec::from_tasks("to cancel", &common::jobs::fake_tasks(&other, 1))).await.unwrap();
    client.cancel_job(&other).await.expect("client cancels a job");
    assert!(worker.should_skip(&other).await.unwrap());

    // What the worker must not do.
    let mut w = redis.raw("fitfleet-worker", WORKER_PASSWORD).await;
    let ws_key = format!("{PREFIX}ws:{digest}");
    let job_key = format!("{PREFIX}job:{job}");
    for args in [
        &["FLUSHALL"][..],
        &["FLUSHDB"],
        &["CONFIG", "GET", "*"],
        &["CONFIG", "SET", "maxmemory", "1"],
        &["KEYS", "*"],
        &["SCAN", "0"],
        &["MONITOR"],
        &["ACL", "LIST"],
        &["SHUTDOWN"],
        &["EVAL", "return 1", "0"],
        &["SCRIPT", "FLUSH"],
        &["DEL", &job_key],
        &["SET", &ws_key, "overwritten"],
        &["EXPIRE", &ws_key, "1"],
        &["GET", "other-app:secret"],
        &["HGET", "other-app:hash", "x"],
        &["HGETALL", &job_key],
        &["ZREVRANGE", &format!("{PREFIX}jobs"), "0", "-1"],
    ] {
        refused(&mut w, args).await;
    }
    // Nor run one of the fleet's scripts on keys outside the prefix.
    refused(&mut w, &["EVALSHA", "0000000000000000000000000000000000000000", "1", "other-app:key"]).await;

    // What the client must not do.
    let mut c = redis.raw("fitfleet-client", CLIENT_PASSWORD).await;
    for args in [
        &["FLUSHALL"][..],
        &["CONFIG", "GET", "*"],
        &["KEYS", "*"],
        &["DEL", &job_key],
        &["ACL", "LIST"],
        &["EVAL", "return 1", "0"],
        &["GET", "other-app:secret"],
    ] {
        refused(&mut c, args).await;
    }

    // The passwords are checked: a wrong one, or a user's password for another user, fails.
    assert!(Store::connect(&redis.config("fitfleet-worker", CLIENT_PASSWORD)).await.is_err());
    assert!(Store::connect(&redis.config("default", WORKER_PASSWORD)).await.is_err());
    let mut admin = redis.raw("default", ADMIN_PASSWORD).await;
    let maxmemory: Vec<String> =
        redis::cmd("CONFIG").arg("GET").arg("maxmemory").query_async(&mut admin).await.unwrap();
    assert_eq!(maxmemory[0], "maxmemory", "the administrator may configure Redis");
}
