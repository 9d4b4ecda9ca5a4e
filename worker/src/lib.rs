//! fitfleet's worker.
//!
//! [`Processor`] turns a [`broker::Task`] into a [`broker::TaskResult`]: it compiles the patched
//! workspace into a model (or finds it in its [`ModelCache`]), runs the work and times each
//! step. Everything that fails, from a workspace that does not validate to a fit that does not
//! converge or a panic in the engine, becomes a failed result with its reason. The fleet's
//! service and the in-process `fitfleet run` both drive this same processing.
//!
//! The `fitfleet-worker` binary ([`cli`]) runs [`service`]: tasks from RabbitMQ, fits in
//! `slots` blocking threads, results to Redis, a drain on SIGTERM, Prometheus [`metrics`] over
//! [`http`], all configured by [`settings`].
pub mod cache;
pub mod cli;
pub mod compile;
pub mod execute;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod process;
pub mod service;
pub mod settings;

pub use cache::{CacheStats, ModelCache, ModelKey};
pub use process::Processor;
pub use service::{Service, Summary};
pub use settings::WorkerSettings;
