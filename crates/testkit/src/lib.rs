//! What fitfleet's tests share, so that each test file holds only its assertions:
//!
//! * [`services`]: a fleet configuration of the test's own (unique queue and key prefixes on
//!   the real RabbitMQ and Redis), services that must be there (a missing one fails the test,
//!   never skips it) and [`services::Cleanup`] of the test's queues and keys, also on panic;
//! * [`queues`]: raw AMQP access for what a fitfleet client would not do (counting ready
//!   messages, publishing forged or malformed bodies);
//! * [`servers`]: private `redis-server` and `rabbitmq-server` processes on spare loopback
//!   ports, to stop, kill and restart, stopped when dropped;
//! * [`worker`]: a real worker service in process ([`worker::TestWorker`]) or as a process
//!   ([`worker::WorkerProcess`]), and its metrics;
//! * [`settings_doc`]: the settings tables of docs/configuration.md, to check them against
//!   the code;
//! * [`jobs`]: the shared reference data and jobs made of it, submitted and awaited as the
//!   client does, with exactly-once checks of what reached Redis.
pub mod jobs;
pub mod queues;
pub mod servers;
pub mod services;
pub mod settings_doc;
pub mod worker;

pub use services::{Cleanup, config, require_services, runtime, serial};
