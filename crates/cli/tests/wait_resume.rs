//! `fitfleet wait` survives a Redis restart: it reconnects and resumes the job's progress
//! stream after the last event it saw. The test runs a Redis of its own (append-only file,
//! so the restart keeps the data) next to the real RabbitMQ, and kills it mid-wait.
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A redis-server of the test's own, killed when dropped.
struct Redis {
    child: Child,
    dir: std::path::PathBuf,
    port: u16,
}

impl Redis {
    fn start(dir: &Path, port: u16) -> Self {
        Redis { child: spawn_redis(dir, port), dir: dir.to_path_buf(), port }
    }

    /// Kill it hard (SIGKILL) and start it again a moment later on the same data.
    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_secs(1));
        self.child = spawn_redis(&self.dir, self.port);
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A redis-server on `port`, its data in `dir`; returns once it accepts connections.
fn spawn_redis(dir: &Path, port: u16) -> Child {
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "yes"])
        .args(["--appendfsync", "always", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server is required for this test (scripts/services-up installs it)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server on port {port} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn wait_resumes_after_a_redis_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut redis = Redis::start(dir.path(), port);
    let mut cfg = common::config("resume");
    cfg.redis_url = format!("redis://127.0.0.1:{port}/");
    let _cleanup = common::Cleanup::both(&cfg);
    common::require_services(&cfg);

    let (out, stdout, stderr) = common::run(
        common::fitfleet(Some(&cfg))
            .arg("submit")
            .arg(common::pallet_workspace())
            .arg("--patchset")
            .arg(common::pallet_patchset())
            .args(["--patch", "SIG_300_0", "--patch", "SIG_500_100", "--patch", "SIG_700_200"]),
    );
    assert!(out.status.success(), "{stderr}");
    let job = stdout.trim().to_string();

    let wait = common::fitfleet(Some(&cfg))
        .args(["wait", &job])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));

    // Redis dies hard and comes back a moment later with its data.
    redis.restart();

    let worker = common::TestWorker::start(&cfg);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut wait = wait;
    let status = loop {
        if let Some(s) = wait.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            wait.kill().unwrap();
            panic!("wait did not end after the restart");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(worker);
    let out = wait.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("all 3 tasks succeeded"), "{stderr}");
    assert!(
        stderr.contains("lost the progress stream") || stderr.contains("cannot reach Redis"),
        "it noticed: {stderr}"
    );
}
