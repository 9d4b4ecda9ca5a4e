//! A fleet of the test's own on the real services: unique prefixes, services required, and
//! everything the test made removed afterwards.
use std::sync::{Mutex, MutexGuard};

use fitfleet_fleet::FleetConfig;
use fitfleet_fleet::store::Store;

/// Tests of one file take this lock so that they do not compete for the machine's cores
/// (their timings and timeouts assume they run alone).
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A configuration whose queues and keys belong to this test only. The services are the
/// developer defaults unless `FITFLEET_BROKER_URL` / `FITFLEET_REDIS_URL` say otherwise.
pub fn config(test: &str) -> FleetConfig {
    use std::hash::{BuildHasher, RandomState};
    let tag = format!("{test}-{:08x}", RandomState::new().hash_one(std::time::SystemTime::now()) as u32);
    let defaults = FleetConfig::default();
    FleetConfig {
        broker_url: std::env::var("FITFLEET_BROKER_URL").unwrap_or(defaults.broker_url),
        redis_url: std::env::var("FITFLEET_REDIS_URL").unwrap_or(defaults.redis_url),
        queue_prefix: format!("fitfleet-test.{tag}."),
        key_prefix: format!("fitfleet-test:{tag}:"),
        // Tests must not wait long for reconnections.
        reconnect_max_delay_secs: 2,
        ..defaults
    }
}

/// A two-thread runtime, as the fleet tests run.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Fail (never skip) when RabbitMQ is not there.
pub async fn require_rabbitmq(cfg: &FleetConfig) {
    if let Err(e) = fitfleet_fleet::amqp::check(cfg).await {
        panic!(
            "RabbitMQ is required for this test and is not usable at {}: {e}\n\
             start it with `rabbitmq-server -detached` (or scripts/services-up)",
            cfg.broker_url_redacted()
        );
    }
}

/// Fail (never skip) when Redis is not there; the store on success.
pub async fn require_redis(cfg: &FleetConfig) -> Store {
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

/// Fail (never skip) unless RabbitMQ and Redis are both there; the store on success.
pub async fn require_services(cfg: &FleetConfig) -> Store {
    require_rabbitmq(cfg).await;
    require_redis(cfg).await
}

/// [`require_services`] from synchronous code, leaving no queue behind: `check` declares the
/// topology, which is then removed, so a test can tell whether anything was published (the
/// queue exists only then).
pub fn require_services_blocking(cfg: &FleetConfig) {
    runtime().block_on(async {
        require_rabbitmq(cfg).await;
        fitfleet_fleet::amqp::delete_topology(cfg).await.expect("deleting the test's queues");
        require_redis(cfg).await;
    });
}

/// Deletes the test's queues, exchange and Redis keys when dropped (also on panic).
pub struct Cleanup {
    pub cfg: FleetConfig,
    pub amqp: bool,
    pub redis: bool,
}

impl Cleanup {
    /// Queues and keys.
    pub fn both(cfg: &FleetConfig) -> Self {
        Cleanup { cfg: cfg.clone(), amqp: true, redis: true }
    }
    /// Queues and the exchange only.
    pub fn amqp(cfg: &FleetConfig) -> Self {
        Cleanup { cfg: cfg.clone(), amqp: true, redis: false }
    }
    /// Redis keys only.
    pub fn redis(cfg: &FleetConfig) -> Self {
        Cleanup { cfg: cfg.clone(), amqp: false, redis: true }
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
                if amqp && let Err(e) = fitfleet_fleet::amqp::delete_topology(&cfg).await {
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

/// A Redis client for the test's configuration (its TLS settings included).
pub fn redis_client(cfg: &FleetConfig) -> redis::RedisResult<redis::Client> {
    fitfleet_fleet::store::client(cfg)
        .map_err(|e| redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "client", e.to_string())))
}

/// Every Redis key under the test's prefix.
pub async fn keys_under_prefix(cfg: &FleetConfig) -> redis::RedisResult<Vec<String>> {
    let mut conn = redis_client(cfg)?.get_multiplexed_async_connection().await?;
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

async fn delete_keys(cfg: &FleetConfig) -> redis::RedisResult<()> {
    let keys = keys_under_prefix(cfg).await?;
    if keys.is_empty() {
        return Ok(());
    }
    let mut conn = redis_client(cfg)?.get_multiplexed_async_connection().await?;
    let _: i64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
    Ok(())
}
