//! Shared by the integration tests: unique names per test, services that must be there,
//! and cleanup of queues and keys even when a test fails.
#![allow(dead_code)]
use broker::amqp::Topology;
use broker::store::Store;
use broker::{BrokerConfig, JobId, Patch, PatchValue, Task, Work, WorkspaceDigest};
use fitfleet_engine::infer::{Calculator, TestStatistic};
use fitfleet_engine::model::ModelSettings;

/// A configuration whose queues and keys belong to this test only. The services are the
/// developer defaults unless `FITFLEET_BROKER_URL` / `FITFLEET_REDIS_URL` say otherwise.
pub fn config(test: &str) -> BrokerConfig {
    let tag = format!("{test}-{:08x}", rand_u32());
    let defaults = BrokerConfig::default();
    BrokerConfig {
        broker_url: std::env::var("FITFLEET_BROKER_URL").unwrap_or(defaults.broker_url),
        redis_url: std::env::var("FITFLEET_REDIS_URL").unwrap_or(defaults.redis_url),
        queue_prefix: format!("fitfleet-test.{tag}."),
        key_prefix: format!("fitfleet-test:{tag}:"),
        // Tests must not wait long for reconnections.
        reconnect_max_delay_secs: 2,
        ..BrokerConfig::default()
    }
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    (RandomState::new().hash_one(std::time::SystemTime::now()) & 0xffff_ffff) as u32
}

/// Fail (never skip) when RabbitMQ is not there.
pub async fn require_rabbitmq(cfg: &BrokerConfig) {
    if let Err(e) = broker::amqp::check(cfg).await {
        panic!(
            "RabbitMQ is required for this test and is not usable at {}: {e}\n\
             start it with `rabbitmq-server -detached` (or scripts/services-up)",
            cfg.broker_url_redacted()
        );
    }
}

/// Fail (never skip) when Redis is not there.
pub async fn require_redis(cfg: &BrokerConfig) -> Store {
    match Store::connect(cfg).await {
        Ok(s) => s,
        Err(e) => panic!(
            "Redis is required for this test and is not usable at {}: {e}\n\
             start it with `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no` \
             (or scripts/services-up)",
            cfg.redis_url_redacted()
        ),
    }
}

/// Deletes the test's queues, exchange and Redis keys when dropped (also on panic).
pub struct Cleanup {
    pub cfg: BrokerConfig,
    pub amqp: bool,
    pub redis: bool,
}

impl Cleanup {
    pub fn amqp(cfg: &BrokerConfig) -> Self {
        Cleanup { cfg: cfg.clone(), amqp: true, redis: false }
    }
    pub fn redis(cfg: &BrokerConfig) -> Self {
        Cleanup { cfg: cfg.clone(), amqp: false, redis: true }
    }
    pub fn both(cfg: &BrokerConfig) -> Self {
        Cleanup { cfg: cfg.clone(), amqp: true, redis: true }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let cfg = self.cfg.clone();
        let (amqp, redis) = (self.amqp, self.redis);
        // A runtime of our own: the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if amqp && let Err(e) = broker::amqp::delete_topology(&cfg).await {
                    eprintln!("cleanup: deleting queues of {}: {e}", cfg.queue_prefix);
                }
                if redis && let Err(e) = delete_keys(&cfg).await {
                    eprintln!("cleanup: deleting keys {}*: {e}", cfg.key_prefix);
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

async fn delete_keys(cfg: &BrokerConfig) -> redis::RedisResult<()> {
    let keys = keys_under_prefix(cfg).await?;
    if keys.is_empty() {
        return Ok(());
    }
    let client = redis::Client::open(cfg.redis_url.as_str())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
    Ok(())
}

/// A raw lapin connection and channel, for inspecting queues in tests.
pub async fn raw_channel(cfg: &BrokerConfig) -> (lapin::Connection, lapin::Channel) {
    let conn = lapin::Connection::connect(&cfg.broker_url, lapin::ConnectionProperties::default())
        .await
        .expect("raw AMQP connection");
    let ch = conn.create_channel().await.expect("raw channel");
    (conn, ch)
}

/// Messages ready in a queue (passive declare).
pub async fn ready_count(cfg: &BrokerConfig, queue: &str) -> u32 {
    let (conn, ch) = raw_channel(cfg).await;
    let q = ch
        .queue_declare(
            queue.into(),
            lapin::options::QueueDeclareOptions { passive: true, ..Default::default() },
            Default::default(),
        )
        .await
        .expect("queue exists");
    let _ = conn.close(200, "bye".into()).await;
    q.message_count()
}

/// Wait until a queue holds `expected` ready messages (a quorum queue applies acks and
/// publishes through its Raft log, so its counts settle a moment later); panics after 10 s.
pub async fn wait_ready_count(cfg: &BrokerConfig, queue: &str, expected: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let n = ready_count(cfg, queue).await;
        if n == expected {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "queue {queue} holds {n} ready messages, expected {expected}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `n` hypotest tasks of one job, one per fake signal patch.
pub fn tasks(job: &JobId, n: usize) -> Vec<Task> {
    let ws = WorkspaceDigest::of(b"{\"channels\": []}");
    (0..n)
        .map(|i| {
            let m1 = 1000.0 + 100.0 * i as f64;
            let patch = Patch::new(
                format!("C1N2_Wh_hbb_{m1}_{}", i * 50),
                vec![PatchValue::Number(m1), PatchValue::Number(i as f64 * 50.0)],
                &serde_json::json!([{"op": "add", "path": "/channels/0/samples/-", "value": {"name": "signal", "data": [i as f64, 0.5]}}]),
            );
            Task::new(
                job.clone(),
                ws.clone(),
                Some(patch),
                ModelSettings::default(),
                Work::Hypotest { poi: 1.0, test_stat: TestStatistic::QmuTilde, calculator: Calculator::Asymptotics },
                broker::now_ms(),
            )
        })
        .collect()
}

pub fn topology(cfg: &BrokerConfig) -> Topology {
    Topology::new(cfg)
}
