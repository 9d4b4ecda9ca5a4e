//! fitfleet's worker service: the `fitfleet-worker` binary ([`cli`]) runs [`service`]: tasks
//! from RabbitMQ, fits in `slots` blocking threads through the shared
//! [`fitfleet_processor::Processor`], results to Redis, a drain on SIGTERM, Prometheus
//! [`metrics`] over [`http`], all configured by [`settings`].
pub mod cli;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod service;
pub mod settings;

pub use service::{Service, Summary};
pub use settings::WorkerSettings;
