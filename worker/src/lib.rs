//! fitfleet's worker.
//!
//! [`Processor`] turns a [`broker::Task`] into a [`broker::TaskResult`]: it compiles the patched
//! workspace into a model (or finds it in its [`ModelCache`]), runs the work and times each
//! step. Everything that fails, from a workspace that does not validate to a fit that does not
//! converge or a panic in the engine, becomes a failed result with its reason. The fleet's
//! service and the in-process `fitfleet run` both drive this same processing.
pub mod cache;
pub mod compile;
pub mod execute;
pub mod process;

pub use cache::{CacheStats, ModelCache, ModelKey};
pub use process::Processor;
