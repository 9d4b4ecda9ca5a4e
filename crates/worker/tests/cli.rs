//! The `fitfleet-worker` binary's settings layers and start-up failures (no services needed
//! beyond an address that refuses connections).
use std::process::{Command, Output};

fn worker(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = std::env::temp_dir();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fitfleet-worker"));
    cmd.args(args).current_dir(dir);
    // Only the variables the test sets: the developer's FITFLEET_* must not leak in.
    for (k, _) in std::env::vars() {
        if k.starts_with("FITFLEET_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("running fitfleet-worker")
}

fn settings(args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let mut all = vec!["--print-settings"];
    all.extend_from_slice(args);
    let out = worker(&all, env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn env_variables_then_flags_override_the_defaults() {
    let s = settings(&[], &[]);
    assert_eq!(s["cache_models"], 64);
    assert_eq!(s["metrics_addr"], "127.0.0.1:9898");
    assert_eq!(s["broker_url"], "amqp://guest:***@127.0.0.1:5672/%2f", "passwords are hidden");

    let env = [
        ("FITFLEET_BROKER_URL", "amqp://u:secret@rabbit:5672/%2f"),
        ("FITFLEET_REDIS_URL", "redis://redis:6379/"),
        ("FITFLEET_SLOTS", "3"),
        ("FITFLEET_CACHE_MODELS", "8"),
        ("FITFLEET_CACHE_BYTES", "1000000"),
        ("FITFLEET_METRICS_ADDR", "0.0.0.0:9100"),
        ("FITFLEET_DRAIN_TIMEOUT_SECS", "30"),
        ("FITFLEET_DEAD_LETTER_RECORDER", "false"),
        ("FITFLEET_DELIVERY_LIMIT", "7"),
        ("FITFLEET_QUEUE_PREFIX", "prod."),
        ("FITFLEET_LOG_FORMAT", "json"),
    ];
    let s = settings(&[], &env);
    assert_eq!(s["broker_url"], "amqp://u:***@rabbit:5672/%2f");
    assert_eq!(s["redis_url"], "redis://redis:6379/");
    assert_eq!(s["slots"], 3);
    assert_eq!(s["cache_models"], 8);
    assert_eq!(s["cache_bytes"], 1000000);
    assert_eq!(s["metrics_addr"], "0.0.0.0:9100");
    assert_eq!(s["drain_timeout_secs"], 30);
    assert_eq!(s["dead_letter_recorder"], false);
    assert_eq!(s["delivery_limit"], 7);
    assert_eq!(s["queue_prefix"], "prod.");
    assert_eq!(s["log_format"], "json");

    let s = settings(&["--slots", "4", "--delivery-limit", "2", "--metrics-addr", "127.0.0.1:0"], &env);
    assert_eq!((s["slots"].as_u64(), s["delivery_limit"].as_u64()), (Some(4), Some(2)));
    assert_eq!(s["metrics_addr"], "127.0.0.1:0");
    assert_eq!(s["cache_models"], 8, "keys without a flag keep the variable's value");
}

#[test]
fn every_setting_has_a_documented_flag() {
    let out = worker(&["--help"], &[]);
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--config",
        "--broker-url",
        "--redis-url",
        "--key-prefix",
        "--queue-prefix",
        "--ttl-secs",
        "--delivery-limit",
        "--heartbeat-secs",
        "--consumer-timeout-secs",
        "--reconnect-max-delay-secs",
        "--slots",
        "--cache-models",
        "--cache-bytes",
        "--metrics-addr",
        "--drain-timeout-secs",
        "--dead-letter-recorder",
        "--log-format",
        "--print-settings",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
}

#[test]
fn bad_settings_exit_2_and_unreachable_rabbitmq_exits_1() {
    let out = worker(&[], &[("FITFLEET_SLOTS", "0")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("slots must be at least 1"));
    let out = worker(&["--config", "/nonexistent/worker.toml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such settings file"));

    // A port nobody listens on: the worker says so and exits 1 rather than hanging.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("amqp://guest:guest@127.0.0.1:{closed}/%2f");
    let out = worker(
        &[
            "--broker-url",
            &url,
            "--redis-url",
            &format!("redis://127.0.0.1:{closed}/"),
            "--metrics-addr",
            "127.0.0.1:0",
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("fitfleet-worker failed") && stderr.contains("cannot reach Redis"), "{stderr}");
}

#[test]
fn the_device_is_shown_and_a_cuda_device_this_binary_lacks_is_refused_at_start() {
    assert_eq!(settings(&[], &[])["device"], "cpu");
    assert_eq!(settings(&["--device", "cpu"], &[("FITFLEET_DEVICE", "cuda")])["device"], "cpu", "the flag wins");
    for (args, env, needle) in [
        (&["--device", "gpu"][..], &[][..], "device \"gpu\": expected cpu, cuda or cuda:N"),
        (&[][..], &[("FITFLEET_DEVICE", "cuda:1")][..], "device cuda:1: "),
    ] {
        let out = worker(args, env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(needle) && stderr.contains("device"), "{stderr}");
        if cfg!(not(feature = "cuda")) && needle.starts_with("device cuda") {
            assert!(stderr.contains("built without the cuda feature"), "{stderr}");
        }
    }
}
