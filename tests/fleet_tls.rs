//! TLS to RabbitMQ (`amqps://`) and Redis (`rediss://`) with a private CA given by
//! `tls_ca_file`: a private RabbitMQ with an amqps listener and a private Redis with a TLS
//! port, their certificate signed by a CA made at test time; a job through a real worker over
//! TLS only; and a wrong CA refused with a clear error.
mod fleet_common;

use std::process::Command;
use std::time::Duration;

use fitfleet_engine::infer::{Calculator, TestStatistic};
use fitfleet_engine::model::ModelSettings;
use fitfleet_fleet::FleetConfig;
use fitfleet_fleet::store::Store;
use fitfleet_protocol::{JobId, Task, Work};
use fleet_common::servers::{RabbitServer, RedisServer, TestCerts};
use fleet_common::*;

/// The test's prefixes, with the private servers' TLS ports and `ca` as `tls_ca_file`.
fn tls_config(rabbit: &RabbitServer, redis: &RedisServer, ca: &std::path::Path) -> FleetConfig {
    FleetConfig {
        broker_url: format!("amqps://guest:guest@127.0.0.1:{}/%2f", rabbit.tls_port.unwrap()),
        redis_url: format!("rediss://127.0.0.1:{}/", redis.tls_port.unwrap()),
        tls_ca_file: ca.display().to_string(),
        ..config("tls")
    }
}

#[test]
fn fleet_over_amqps_and_rediss_with_a_private_ca_and_a_wrong_ca_refused() {
    let _serial = serial();
    runtime().block_on(async {
        let certs = TestCerts::generate("fitfleet");
        let redis = RedisServer::start_tls(&certs);
        let rabbit = RabbitServer::start_tls(&certs);
        let cfg = tls_config(&rabbit, &redis, &certs.ca);

        // Client side (the client's publisher and store) and a worker, over TLS only.
        let store = require_services(&cfg).await;
        let worker = spawn_worker(&cfg, "tls", 1, &[]);
        let digest = store.put_workspace(&small_workspace()).await.unwrap().digest;
        let job = JobId::generate();
        let tasks: Vec<Task> = [0.5, 1.0, 1.5]
            .iter()
            .map(|&poi| {
                let work =
                    Work::Hypotest { poi, test_stat: TestStatistic::QmuTilde, calculator: Calculator::Asymptotics };
                Task::new(
                    job.clone(),
                    digest.clone(),
                    None,
                    ModelSettings::default(),
                    work,
                    fitfleet_protocol::now_ms(),
                )
            })
            .collect();
        create_and_publish(&cfg, &store, &tasks).await;
        wait_done(&store, &job, Duration::from_secs(120)).await;
        let results = assert_redis_exactly_once(&cfg, &store, &tasks).await;
        assert!(results.iter().all(|r| r.is_success() && r.worker.pid == worker.pid()));

        // RabbitMQ's own account: every connection (the worker's consumers) is a TLS one.
        let listed = tokio::task::block_in_place(|| {
            Command::new("/usr/lib/rabbitmq/bin/rabbitmqctl")
                .args(["-n", &rabbit.node, "list_connections", "ssl", "--no-table-headers", "-q"])
                .output()
                .expect("rabbitmqctl list_connections")
        });
        let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
        let ssl: Vec<&str> = listed.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        assert!(ssl.len() >= 2, "the worker's task and dead-letter consumers are connected:\n{listed}");
        assert!(ssl.iter().all(|l| *l == "true"), "all over TLS:\n{listed}");

        // A CA that did not sign the servers' certificate: refused, saying so.
        let other = TestCerts::generate("other");
        let wrong = FleetConfig { tls_ca_file: other.ca.display().to_string(), ..cfg.clone() };
        let e = fitfleet_fleet::amqp::check(&wrong).await.expect_err("RabbitMQ with the wrong CA").to_string();
        assert!(e.contains("certificate") && e.contains("tls_ca_file"), "{e}");
        let e = Store::connect(&wrong).await.expect_err("Redis with the wrong CA").to_string();
        assert!(e.contains("TLS") && e.contains("tls_ca_file"), "{e}");
        // Without the CA (the system's CAs only), refused too.
        let system = FleetConfig { tls_ca_file: String::new(), ..cfg.clone() };
        let e = fitfleet_fleet::amqp::check(&system).await.expect_err("RabbitMQ with the system's CAs").to_string();
        assert!(e.contains("certificate"), "{e}");

        // The worker binary: a wrong CA, and a CA file that is not one, end it with the reason.
        let not_pem = certs.key.with_file_name("not-a-ca.txt");
        std::fs::write(&not_pem, "hello").unwrap();
        for (ca, expect) in [
            (other.ca.display().to_string(), "certificate"),
            (not_pem.display().to_string(), "no PEM certificate"),
            ("/nonexistent/ca.pem".to_owned(), "/nonexistent/ca.pem"),
        ] {
            let out = tokio::task::block_in_place(|| {
                Command::new(WORKER_BIN)
                    .args(["--broker-url", &cfg.broker_url, "--redis-url", &cfg.redis_url, "--tls-ca-file", &ca])
                    .args(["--queue-prefix", &cfg.queue_prefix, "--key-prefix", &cfg.key_prefix])
                    .args(["--metrics-addr", "127.0.0.1:0", "--log-format", "plain"])
                    .env_remove("FITFLEET_CONFIG")
                    .output()
                    .unwrap()
            });
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "worker with CA {ca}: {err}");
            assert!(err.contains(expect) && err.contains("tls_ca_file"), "worker with CA {ca}: {err}");
        }
        println!("TLS: 3 tasks over amqps:// and rediss:// with a private CA; wrong CA refused: {e}");
    });
}
