//! The contract between fitfleet's client and its workers.
//!
//! * [`Task`] and [`TaskResult`]: what travels, as versioned MessagePack ([`codec`]).
//! * [`amqp`]: the RabbitMQ topology, a [`amqp::Publisher`] that confirms per batch and a
//!   [`amqp::TaskConsumer`] that survives broker restarts.
//! * [`store`]: Redis, holding workspaces by digest, job records, results (first writer
//!   wins), per-job progress streams, all with a TTL.
//! * [`BrokerConfig`]: where RabbitMQ and Redis are, with defaults for a developer's machine.
//!
//! The flow: the client stores the workspace ([`store::Store::put_workspace`]), creates the
//! job ([`store::Store::create_job`]) and publishes one task per patch
//! ([`amqp::Publisher::publish`]). A worker takes a task ([`amqp::TaskConsumer::next`]),
//! skips it if the job was cancelled, fetches the workspace, fits, records the result
//! ([`store::Store::record_result`]) and acknowledges the message. The client follows
//! [`store::Store::progress`] and reads [`store::Store::results`].
pub mod amqp;
pub mod codec;
pub mod config;
mod dead_letter;
mod ids;
pub mod store;
mod result;
mod task;

pub use codec::{DecodeError, EncodeError, PROTOCOL_VERSION};
pub use config::BrokerConfig;
pub use dead_letter::{DeadLetterError, record_dead_letter, run_dead_letter_recorder};
pub use ids::{IdError, JobId, TaskId, WorkspaceDigest};
pub use result::{Outcome, Status, TaskResult, Timings, WorkerId};
pub use task::{Patch, PatchLabel, PatchValue, ScanGrid, Task, Work};

/// Milliseconds since the Unix epoch, for `enqueued_at_ms` and the like.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
