//! Private RabbitMQ and Redis servers for fault tests: each on spare loopback ports with its
//! own data directory, stoppable and restartable on the same port and data, and stopped when
//! dropped (also on panic), so that a test never leaves a stray server behind.
//!
//! Optionally with TLS listeners, using a CA and server certificate made at test time by the
//! `openssl` command ([`TestCerts`]).
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fitfleet_fleet::FleetConfig;
use tempfile::TempDir;

use crate::worker::free_port;

/// How long a server may take to start (RabbitMQ needs several seconds, more on a loaded machine).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a graceful stop may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// The RabbitMQ server script run directly (`/usr/sbin/rabbitmq-server` on Debian switches to
/// the `rabbitmq` user, which cannot use our temporary directory).
fn rabbitmq_bin(name: &str) -> PathBuf {
    let lib = Path::new("/usr/lib/rabbitmq/bin").join(name);
    if lib.is_file() { lib } else { PathBuf::from(name) }
}

fn signal(child: &Child, sig: &str) {
    let _ = Command::new("kill").args([sig, &child.id().to_string()]).status();
}

/// Wait for `child` to exit; kill it after `timeout`.
fn wait_or_kill(child: &mut Child, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A CA and a server certificate for `localhost` and `127.0.0.1` signed by it, made with the
/// `openssl` command in a temporary directory.
pub struct TestCerts {
    _dir: TempDir,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCerts {
    pub fn generate(name: &str) -> Self {
        let dir = tempfile::Builder::new().prefix("fitfleet-certs-").tempdir().unwrap();
        let p = |f: &str| dir.path().join(f);
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap_or_else(|e| panic!("the openssl command is needed to make test certificates: {e}"));
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let subject = format!("/CN={name} test CA");
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &subject,
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(
            p("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ]);
        TestCerts { ca: p("ca.crt"), cert: p("server.crt"), key: p("server.key"), _dir: dir }
    }
}

/// A private `redis-server` with the append-only file on (`appendfsync everysec`).
pub struct RedisServer {
    pub port: u16,
    /// The TLS port, when started with certificates.
    pub tls_port: Option<u16>,
    args: Vec<String>,
    dir: TempDir,
    child: Option<Child>,
    starts: u32,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// With a TLS port besides the plain one (clients are not asked for certificates).
    pub fn start_tls(certs: &TestCerts) -> Self {
        Self::launch(Some(certs))
    }

    fn launch(certs: Option<&TestCerts>) -> Self {
        let dir = tempfile::Builder::new().prefix("fitfleet-redis-").tempdir().unwrap();
        let port = free_port();
        let mut args: Vec<String> = [
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--dir",
            &dir.path().display().to_string(),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let tls_port = certs.map(|c| {
            let tls_port = free_port();
            for (k, v) in [
                ("--tls-port", tls_port.to_string()),
                ("--tls-cert-file", c.cert.display().to_string()),
                ("--tls-key-file", c.key.display().to_string()),
                ("--tls-ca-cert-file", c.ca.display().to_string()),
                ("--tls-auth-clients", "no".into()),
            ] {
                args.extend([k.to_owned(), v]);
            }
            tls_port
        });
        let mut r = RedisServer { port, tls_port, args, dir, child: None, starts: 0 };
        r.start_again();
        r
    }

    /// `redis://` on the plain port.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// (Re)start on the same port and data directory; returns once it answers PING (the
    /// append-only file loaded).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "redis-server is running already");
        self.starts += 1;
        let log = self.log_path();
        let out = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let child = Command::new("redis-server")
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while !self.pong() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                panic!("redis-server exited at start ({status}):\n{}", tail(&log, 30));
            }
            assert!(Instant::now() < deadline, "redis-server not ready after {START_TIMEOUT:?}:\n{}", tail(&log, 30));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pong(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = [0u8; 64];
        s.write_all(b"PING\r\n").is_ok() && matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
    }

    /// SIGKILL: a crash. What was written to the append-only file survives (the file is
    /// written before a command's reply is sent; `everysec` only delays the fsync).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM: a clean shutdown.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(&c, "-TERM");
            wait_or_kill(&mut c, STOP_TIMEOUT);
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    pub fn starts(&self) -> u32 {
        self.starts
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- last lines of the private redis-server on port {} ---\n{}",
                self.port,
                tail(&self.log_path(), 20)
            );
        }
        self.kill();
    }
}

/// A private RabbitMQ node (`fitfleet-test-<port>@localhost`) with its own data, logs, config
/// and plugins (none) in a temporary directory; guest may log in over loopback.
pub struct RabbitServer {
    pub port: u16,
    /// The TLS (amqps) port, when started with certificates.
    pub tls_port: Option<u16>,
    pub node: String,
    dist_port: u16,
    dir: TempDir,
    child: Option<Child>,
    starts: u32,
}

impl RabbitServer {
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// With an `amqps` listener besides the plain one (clients are not asked for certificates).
    pub fn start_tls(certs: &TestCerts) -> Self {
        Self::launch(Some(certs))
    }

    fn launch(certs: Option<&TestCerts>) -> Self {
        let dir = tempfile::Builder::new().prefix("fitfleet-rabbitmq-").tempdir().unwrap();
        let (port, dist_port) = (free_port(), free_port());
        let mut conf = format!("loopback_users = none\nlisteners.tcp.1 = 127.0.0.1:{port}\n");
        let tls_port = certs.map(|c| {
            let tls_port = free_port();
            conf += &format!(
                "listeners.ssl.1 = 127.0.0.1:{tls_port}\nssl_options.cacertfile = {}\n\
                 ssl_options.certfile = {}\nssl_options.keyfile = {}\n\
                 ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n",
                c.ca.display(),
                c.cert.display(),
                c.key.display()
            );
            tls_port
        });
        std::fs::write(dir.path().join("rabbitmq.conf"), conf).unwrap();
        std::fs::write(dir.path().join("enabled_plugins"), "[].\n").unwrap();
        let mut r = RabbitServer {
            port,
            tls_port,
            node: format!("fitfleet-test-{port}@localhost"),
            dist_port,
            dir,
            child: None,
            starts: 0,
        };
        r.start_again();
        r
    }

    /// `amqp://` on the plain port, guest/guest, vhost `/`.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// (Re)start on the same ports and data directory; returns once the node has booted
    /// (`rabbitmqctl await_startup`) and the AMQP port accepts connections.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "RabbitMQ is running already");
        self.starts += 1;
        let d = self.dir.path();
        let out = std::fs::OpenOptions::new().create(true).append(true).open(self.out_path()).unwrap();
        let child = Command::new(rabbitmq_bin("rabbitmq-server"))
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", d.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", d.join("log"))
            .env("RABBITMQ_CONFIG_FILE", d.join("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", d.join("advanced.config"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d.join("enabled_plugins"))
            .env("RABBITMQ_PID_FILE", d.join("rabbitmq.pid"))
            // Run the VM in this process (no wrapper shell): SIGTERM is a clean stop, SIGKILL a crash.
            .env("RUNNING_UNDER_SYSTEMD", "true")
            .env_remove("NOTIFY_SOCKET")
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start rabbitmq-server: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                panic!("rabbitmq-server {} exited at start ({status}):\n{}", self.node, tail(&self.out_path(), 30));
            }
            let booted = Command::new(rabbitmq_bin("rabbitmqctl"))
                .args(["-n", &self.node, "await_startup", "--timeout", "60"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if booted && TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "RabbitMQ {} not started after {START_TIMEOUT:?}:\n{}",
                self.node,
                tail(&self.out_path(), 30)
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// `amqp://` on the plain port as `user`, vhost `/`.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        format!("amqp://{user}:{password}@127.0.0.1:{}/%2f", self.port)
    }

    /// Import a definitions file (users, permissions, queues, exchanges, bindings) into the
    /// running node, as `load_definitions` would at boot.
    pub fn import_definitions(&self, path: &Path) {
        let out = Command::new(rabbitmq_bin("rabbitmqctl"))
            .args(["-n", &self.node, "import_definitions"])
            .arg(path)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run rabbitmqctl: {e}"));
        assert!(
            out.status.success(),
            "rabbitmqctl import_definitions {} failed: {}{}",
            path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// SIGTERM: a clean stop (connections closed with 320 CONNECTION_FORCED).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(&c, "-TERM");
            wait_or_kill(&mut c, STOP_TIMEOUT);
        }
    }

    /// SIGKILL: a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn out_path(&self) -> PathBuf {
        self.dir.path().join("rabbitmq.out")
    }

    pub fn starts(&self) -> u32 {
        self.starts
    }
}

impl Drop for RabbitServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- last lines of RabbitMQ {} ---\n{}", self.node, tail(&self.out_path(), 20));
        }
        self.kill();
    }
}

/// A private RabbitMQ and Redis, and a configuration for them with the test's prefixes.
pub struct PrivateServices {
    pub rabbit: RabbitServer,
    pub redis: RedisServer,
    pub cfg: FleetConfig,
}

impl PrivateServices {
    pub fn start(test: &str) -> Self {
        let redis = RedisServer::start();
        let rabbit = RabbitServer::start();
        let cfg = FleetConfig { broker_url: rabbit.url(), redis_url: redis.url(), ..crate::services::config(test) };
        PrivateServices { rabbit, redis, cfg }
    }
}
