//! What a worker counts, in the Prometheus (OpenMetrics) text format served on `/metrics`.
//!
//! Every name starts with `fitfleet_worker_`:
//!
//! | metric | type | what |
//! | --- | --- | --- |
//! | `tasks_total{outcome}` | counter | tasks settled: `succeeded`, `failed` (result stored), `duplicate` (another delivery stored first), `skipped` (cancelled job, stopped while running included, or result already there), `requeued` (given back), `dropped` (unknown job or task, or unreadable without ids), `rejected` (forged: message ids disagreeing with the body, a task its job does not list, or work that is not what its job recorded; see docs/security.md) |
//! | `fit_seconds` | histogram | time in the engine per task (`_sum`, `_count`, buckets) |
//! | `fits_in_flight` | gauge | tasks being processed now |
//! | `slots` | gauge | fits allowed at once |
//! | `store_retries_total` | counter | Redis writes or reads retried |
//! | `store_gave_up_total{cause}` | counter | Redis operations given up on after Redis was under pressure for the whole retry window (the task then goes back to the queue): `out_of_memory`, `busy`, `loading`, `not_ready`, `unreachable` |
//! | `draining` | gauge | 1 once SIGTERM/SIGINT arrived |
//! | `device_info{device}` | info | where this worker compiles and fits models: `cpu` or `cuda:N` |
//! | `model_cache_hits_total`, `model_cache_misses_total`, `model_cache_evictions_total` | counter | model cache lookups and evictions |
//! | `model_cache_models`, `model_cache_bytes` | gauge | what the model cache holds |
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use fitfleet_fleet::store::RedisPressure;
use fitfleet_processor::Processor;

/// How a task delivery was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum TaskOutcome {
    succeeded,
    failed,
    duplicate,
    skipped,
    requeued,
    dropped,
    rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: TaskOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CauseLabel {
    cause: &'static str,
}

/// The `cause` label of a Redis pressure.
fn cause_label(cause: RedisPressure) -> &'static str {
    match cause {
        RedisPressure::OutOfMemory => "out_of_memory",
        RedisPressure::Busy => "busy",
        RedisPressure::Loading => "loading",
        RedisPressure::NotReady => "not_ready",
        RedisPressure::Unreachable => "unreachable",
    }
}

/// The worker's metrics; shared by the service loop and the HTTP endpoint.
pub struct Metrics {
    registry: Registry,
    tasks: Family<OutcomeLabel, Counter>,
    fit_seconds: Histogram,
    in_flight: Gauge,
    slots: Gauge,
    store_retries: Counter,
    store_gave_up: Family<CauseLabel, Counter>,
    draining: Gauge,
    draining_flag: AtomicBool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Metrics of a worker with `slots` fit slots whose model cache is `processor`'s.
    pub fn new(processor: Arc<Processor>, slots: u16) -> Self {
        let mut registry = Registry::with_prefix("fitfleet_worker");
        let tasks = Family::<OutcomeLabel, Counter>::default();
        // 10 ms .. about 80 min: a hypotest on a large analysis takes seconds, toys minutes.
        let fit_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 20));
        let in_flight = Gauge::default();
        let slots_gauge = Gauge::default();
        slots_gauge.set(i64::from(slots));
        let store_retries = Counter::default();
        let store_gave_up = Family::<CauseLabel, Counter>::default();
        let draining = Gauge::default();
        registry.register("tasks", "Task deliveries settled, by outcome", tasks.clone());
        registry.register("fit_seconds", "Seconds in the engine per task", fit_seconds.clone());
        registry.register("fits_in_flight", "Tasks being processed now", in_flight.clone());
        registry.register("slots", "Fits allowed at once", slots_gauge.clone());
        registry.register("store_retries", "Redis operations retried", store_retries.clone());
        registry.register(
            "store_gave_up",
            "Redis operations given up on after Redis was under pressure for the whole retry window, by cause",
            store_gave_up.clone(),
        );
        registry.register("draining", "1 once the worker is shutting down", draining.clone());
        let device = Info::new(vec![("device", processor.device_choice.to_string())]);
        registry.register("device", "Where this worker compiles and fits models", device);
        registry.register_collector(Box::new(CacheCollector(processor)));
        Metrics {
            registry,
            tasks,
            fit_seconds,
            in_flight,
            slots: slots_gauge,
            store_retries,
            store_gave_up,
            draining,
            draining_flag: AtomicBool::new(false),
        }
    }

    pub fn task(&self, outcome: TaskOutcome) {
        self.tasks.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// How many deliveries ended with `outcome` so far.
    pub fn tasks(&self, outcome: TaskOutcome) -> u64 {
        self.tasks.get_or_create(&OutcomeLabel { outcome }).get()
    }

    pub fn fit_seconds(&self, s: f64) {
        self.fit_seconds.observe(s);
    }

    pub fn store_retry(&self) {
        self.store_retries.inc();
    }

    /// A Redis operation given up on after retrying it under `cause` for the whole window.
    pub fn store_gave_up(&self, cause: RedisPressure) {
        self.store_gave_up.get_or_create(&CauseLabel { cause: cause_label(cause) }).inc();
    }

    /// Redis operations given up on under `cause` so far.
    pub fn store_gave_up_count(&self, cause: RedisPressure) -> u64 {
        self.store_gave_up.get_or_create(&CauseLabel { cause: cause_label(cause) }).get()
    }

    /// Count a fit in flight until the guard is dropped.
    pub fn in_flight(self: &Arc<Self>) -> InFlight {
        self.in_flight.inc();
        InFlight(self.clone())
    }

    pub fn fits_in_flight(&self) -> i64 {
        self.in_flight.get()
    }

    pub fn slots(&self) -> i64 {
        self.slots.get()
    }

    pub fn set_draining(&self) {
        self.draining.set(1);
        self.draining_flag.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.draining_flag.load(Ordering::Relaxed)
    }

    /// The OpenMetrics text exposition (which Prometheus reads).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// Decrements the in-flight gauge when dropped (also when a fit panics).
pub struct InFlight(Arc<Metrics>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.dec();
    }
}

/// Reads the model cache's statistics at each scrape.
struct CacheCollector(Arc<Processor>);

impl std::fmt::Debug for CacheCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheCollector")
    }
}

impl Collector for CacheCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.0.cache.stats();
        for (name, help, v) in [
            ("model_cache_hits", "Tasks whose model was in the cache", s.hits),
            ("model_cache_misses", "Tasks whose model had to be compiled", s.misses),
            ("model_cache_evictions", "Models dropped from the cache to stay within its bounds", s.evictions),
        ] {
            let c = ConstCounter::new(v);
            c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)?;
        }
        for (name, help, v) in [
            ("model_cache_models", "Compiled models in the cache", s.models),
            ("model_cache_bytes", "Bytes of compiled models in the cache", s.bytes),
        ] {
            let g = ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX));
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fitfleet_processor::ModelCache;

    #[test]
    fn encodes_counters_and_cache() {
        let p = Arc::new(Processor::new(ModelCache::new(4, 1 << 20), fitfleet_protocol::WorkerId::current()));
        let m = Arc::new(Metrics::new(p, 3));
        m.task(TaskOutcome::succeeded);
        m.task(TaskOutcome::succeeded);
        m.task(TaskOutcome::failed);
        m.fit_seconds(0.5);
        let guard = m.in_flight();
        let text = m.encode();
        drop(guard);
        for line in [
            "fitfleet_worker_tasks_total{outcome=\"succeeded\"} 2",
            "fitfleet_worker_tasks_total{outcome=\"failed\"} 1",
            "fitfleet_worker_fit_seconds_sum 0.5",
            "fitfleet_worker_fit_seconds_count 1",
            "fitfleet_worker_fits_in_flight 1",
            "fitfleet_worker_slots 3",
            "fitfleet_worker_model_cache_hits_total 0",
            "fitfleet_worker_model_cache_models 0",
            "fitfleet_worker_draining 0",
            "fitfleet_worker_device_info{device=\"cpu\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} missing from\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(m.fits_in_flight(), 0);
    }
}
