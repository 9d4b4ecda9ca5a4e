//! The fleet's transport: RabbitMQ and Redis, and the settings and flags that say where they
//! are. The messages themselves ([`fitfleet_protocol::Task`], [`fitfleet_protocol::TaskResult`])
//! are `fitfleet-protocol`'s.
//!
//! * [`amqp`]: the RabbitMQ topology, a [`amqp::Publisher`] that confirms per batch and a
//!   [`amqp::TaskConsumer`] that survives broker restarts.
//! * [`store`]: Redis, holding workspaces by digest, job records, results (first writer
//!   wins), per-job progress streams, all with a TTL; the client's keys and the workers' apart,
//!   so that Redis ACLs can hold each to its own ([`store::keys`]).
//! * [`settings`]: [`FleetConfig`], where RabbitMQ and Redis are, with defaults for a
//!   developer's machine; [`FleetArgs`], the flags that set it, shared by the client and the
//!   workers; the loader of settings files and `FITFLEET_*` variables.
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
//! use fitfleet_fleet::amqp::{Source, TaskConsumer};
//! use fitfleet_fleet::store::Store;
//! use fitfleet_fleet::FleetConfig;
//! use fitfleet_protocol::{TaskResult, Timings, WorkerId};
//!
//! # async fn worker(cfg: FleetConfig) -> Result<(), Box<dyn std::error::Error>> {
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
mod dead_letter;
pub mod settings;
pub mod store;
pub mod tls;

pub use dead_letter::{DeadLetterError, record_dead_letter, run_dead_letter_recorder};
pub use settings::{FleetArgs, FleetConfig};
