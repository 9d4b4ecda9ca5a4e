//! Real workers for tests: the service in process ([`TestWorker`]), as an embedding program
//! runs it, or the binary as a process ([`WorkerProcess`]) to kill and signal; and what tests
//! read of them (metrics, memory).
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use fitfleet_fleet::FleetConfig;
use fitfleet_worker::{Service, WorkerSettings};

/// The fleet's worker service on a thread of its own, with one fit slot and the test's
/// configuration: it takes tasks, skips those of cancelled jobs, processes them, records
/// results and acknowledges, exactly as `fitfleet-worker` does. Drained and stopped when
/// dropped.
pub struct TestWorker {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub metrics_addr: SocketAddr,
}

impl TestWorker {
    /// Start a worker with the default settings for `cfg` (one slot, metrics on a free port).
    pub fn start(cfg: &FleetConfig) -> Self {
        Self::with_settings(WorkerSettings {
            broker: cfg.clone(),
            slots: 1,
            metrics_addr: "127.0.0.1:0".into(),
            ..Default::default()
        })
    }

    /// Start a worker with these settings; waits until it is connected and consuming.
    pub fn with_settings(settings: WorkerSettings) -> Self {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            crate::services::runtime().block_on(async move {
                let service = Service::start(settings).await.expect("the test worker starts");
                ready_tx.send(service.metrics_addr()).unwrap();
                service
                    .run(async move {
                        let _ = stop_rx.await;
                    })
                    .await
                    .expect("the test worker runs");
            })
        });
        let metrics_addr = ready_rx.recv_timeout(Duration::from_secs(30)).expect("the test worker started");
        TestWorker { stop: Some(stop_tx), thread: Some(thread), metrics_addr }
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A `fitfleet-worker` process of the test's fleet; killed when dropped.
pub struct WorkerProcess {
    child: Child,
    pub name: String,
    pub metrics_addr: SocketAddr,
    pub log: PathBuf,
}

impl WorkerProcess {
    /// Start the worker binary `bin` with `slots` fit slots, configured by flags (the test's
    /// prefixes), logging to a file in the temporary directory; waits until it serves.
    pub fn spawn(bin: &Path, cfg: &FleetConfig, name: &str, slots: u16, extra: &[&str]) -> Self {
        let port = free_port();
        let metrics_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let dir = std::env::temp_dir().join("fitfleet-e2e");
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join(format!("{}{name}.log", cfg.queue_prefix));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .args(["--broker-url", &cfg.broker_url, "--redis-url", &cfg.redis_url])
            .args(["--queue-prefix", &cfg.queue_prefix, "--key-prefix", &cfg.key_prefix])
            .args(["--slots", &slots.to_string(), "--metrics-addr", &metrics_addr.to_string()])
            .args(["--reconnect-max-delay-secs", "2"])
            .args(["--tls-ca-file", &cfg.tls_ca_file])
            .args(extra)
            // FITFLEET_E2E_WORKER_LOG: another filter for the workers' logs, to debug a test.
            .env(
                "FITFLEET_LOG",
                std::env::var("FITFLEET_E2E_WORKER_LOG").unwrap_or_else(|_| "info,lapin=warn,redis=warn".into()),
            )
            .env_remove("FITFLEET_CONFIG")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut w = WorkerProcess { child, name: name.to_owned(), metrics_addr, log };
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
            assert!(
                Instant::now() < deadline,
                "worker {} not serving after {timeout:?}:\n{}",
                self.name,
                self.log_text()
            );
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

    /// Send a signal (`STOP`, `CONT`, ...) to the worker.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill").args([&format!("-{name}"), &self.pid().to_string()]).status().expect("kill");
        assert!(ok.success(), "kill -{name}");
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
            assert!(
                Instant::now() < deadline,
                "worker {} still running after {timeout:?}:\n{}",
                self.name,
                self.log_text()
            );
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

/// The resident set size of process `pid` in KiB (`VmRSS` of /proc/PID/status), if it runs.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
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
