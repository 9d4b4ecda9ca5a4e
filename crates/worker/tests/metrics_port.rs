//! A second worker on one host: the default metrics address is taken, and the worker still
//! starts (a warning, metrics on a free port). Needs the local RabbitMQ and Redis.
use std::net::TcpListener;

use fitfleet_testkit::services::{Cleanup, config, require_services_blocking};
use fitfleet_testkit::worker::{TestWorker, http_get};
use fitfleet_worker::WorkerSettings;

#[test]
fn a_taken_metrics_port_moves_the_metrics_to_a_free_port() {
    let cfg = config("metrics-port");
    let _cleanup = Cleanup::both(&cfg);
    require_services_blocking(&cfg);
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let worker = TestWorker::with_settings(WorkerSettings {
        broker: cfg.clone(),
        slots: 1,
        metrics_addr: addr.to_string(),
        ..Default::default()
    });
    assert_ne!(worker.metrics_addr, addr, "the worker serves elsewhere");
    assert_eq!(worker.metrics_addr.ip(), addr.ip());
    let (code, body) = http_get(worker.metrics_addr, "/metrics").unwrap();
    assert_eq!(code, 200);
    assert!(body.contains("fitfleet_worker_fits_in_flight"), "{body}");
}
