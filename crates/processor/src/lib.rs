//! The processing of a task, shared by the fleet's workers (`fitfleet-worker`) and the
//! in-process `fitfleet run`.
//!
//! [`Processor`] turns a [`fitfleet_protocol::Task`] into a [`fitfleet_protocol::TaskResult`]:
//! it compiles the patched workspace into a model ([`compile`]) or finds it in its
//! [`ModelCache`], runs the work ([`execute`]) and times each step. Everything that fails, from
//! a workspace that does not validate to a fit that does not converge or a panic in the
//! engine, becomes a failed result with its reason.
//!
//! [`local`] holds what stands in for RabbitMQ and Redis when the whole job runs in one
//! process: a queue, a store and the fit slots that drain one into the other.
pub mod cache;
pub mod compile;
pub mod execute;
pub mod local;
pub mod process;

pub use cache::{CacheStats, ModelCache, ModelKey};
pub use process::{FetchError, Processor, StoreUnavailable, Unfinished};
