//! The contract between fitfleet's client and its workers.
//!
//! * [`Task`] and [`TaskResult`]: what travels, as versioned MessagePack ([`codec`]).
//! * [`amqp`]: the RabbitMQ topology, a [`amqp::Publisher`] that confirms per batch and a
//!   [`amqp::TaskConsumer`] that survives broker restarts.
//! * [`store`]: Redis, holding workspaces by digest, job records, results (first writer
//!   wins), per-job progress streams, all with a TTL.
//! * [`BrokerConfig`]: where RabbitMQ and Redis are, with defaults for a developer's machine;
//!   [`BrokerArgs`]: the flags that set it, shared by the client and the workers.
//!
//! The flow: the client stores the workspace ([`store::Store::put_workspace`]), creates the
//! job ([`store::Store::create_job`]) and publishes one task per patch
//! ([`amqp::Publisher::publish`]). A worker takes a task ([`amqp::TaskConsumer::next`]),
//! skips it if the job was cancelled, fetches the workspace, fits, records the result
//! ([`store::Store::record_result`]) and acknowledges the message. The client follows
//! [`store::Store::progress`] and reads [`store::Store::results`].
//!
//! Delivery is at least once: a task may reach a worker twice (a crash, a lost connection,
//! the consumer timeout). Results are kept first-writer-wins, so this costs time, never
//! correctness. A task RabbitMQ gave up on (past the delivery limit) is recorded as failed by
//! [`run_dead_letter_recorder`], so every job ends.
//!
//! A worker's loop, in outline:
//!
//! ```no_run
//! use broker::amqp::{Source, TaskConsumer};
//! use broker::store::Store;
//! use broker::{BrokerConfig, TaskResult, Timings, WorkerId};
//!
//! # async fn worker(cfg: BrokerConfig) -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::connect(&cfg).await?;
//! let mut tasks = TaskConsumer::connect(&cfg, Source::Tasks, 1).await?;
//! let me = WorkerId::current();
//! loop {
//!     let delivery = tasks.next().await?;
//!     let task = match &delivery.task {
//!         Ok(task) => task,
//!         Err(e) => {
//!             tracing::error!(error = %e, "unreadable task");
//!             delivery.dead_letter().await?; // recorded as failed by the recorder
//!             continue;
//!         }
//!     };
//!     if store.should_skip(&task.job_id).await? || store.has_result(&task.job_id, &task.task_id).await? {
//!         delivery.ack().await?; // cancelled or expired job, or a redelivery already done
//!         continue;
//!     }
//!     store.mark_running(&task.job_id).await?;
//!     // ... fetch the workspace with store.get_workspace(&task.workspace), fit ...
//!     let result = TaskResult::failed(task, "not implemented", me.clone(), delivery.attempt, Timings::default());
//!     store.record_result(&result).await?;
//!     delivery.ack().await?;
//! }
//! # }
//! ```
pub mod amqp;
pub mod args;
pub mod codec;
pub mod config;
pub mod settings;
mod dead_letter;
mod ids;
pub mod limits;
pub mod store;
mod result;
mod task;
pub mod tls;

pub use args::BrokerArgs;
pub use codec::{DecodeError, EncodeError, PROTOCOL_VERSION};
pub use config::BrokerConfig;
pub use dead_letter::{DeadLetterError, record_dead_letter, run_dead_letter_recorder};
pub use ids::{IdError, JobId, TaskId, WorkspaceDigest};
pub use limits::{Limit, Limits, TooLarge};
pub use result::{Outcome, Status, TaskResult, Timings, WorkerId};
pub use task::{MAX_SCAN_POINTS, MAX_TOYS_PER_TASK, Patch, PatchLabel, PatchValue, ScanGrid, Task, Work};

/// Milliseconds since the Unix epoch, for `enqueued_at_ms` and the like.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
