//! RabbitMQ: the topology, publishing tasks with confirms, consuming them with manual
//! acknowledgements, and reconnecting when the broker goes away.
mod connect;
mod consumer;
mod error;
mod publisher;
mod server;
mod topology;

pub use consumer::{CLOSE_GRACE, Death, Source, TaskConsumer, TaskDelivery};
pub use error::AmqpError;
pub use publisher::{CONFIRM_WINDOW, CONTENT_TYPE, GIVE_UP_AFTER, PublishReport, Publisher};
pub use server::{ProbeError, ServerInfo, probe};
pub use topology::{Arg, BindingSpec, ExchangeSpec, QueueSpec, Topology};

use crate::settings::FleetConfig;

/// The RabbitMQ version `crates/fleet/rabbitmq/definitions.json` is written for. It includes the
/// per-queue `x-consumer-timeout` (3.12+); RabbitMQ 3.10 and 3.11 accept and ignore it,
/// and their server-wide `consumer_timeout` applies instead.
pub const DEFINITIONS_SERVER_VERSION: &str = "3.12.0";

/// Connect and declare the topology, then return the server's identity: a check that the
/// broker is reachable and agrees with this configuration (the tests' `require_services`).
pub async fn check(cfg: &FleetConfig) -> Result<ServerInfo, AmqpError> {
    let link = connect::Link::open(cfg, &Topology::new(cfg), "fitfleet-check").await?;
    let server = link.server.clone();
    link.close().await;
    Ok(server)
}

/// What the tasks queue holds and who takes from it, as RabbitMQ counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStats {
    /// Tasks waiting for a worker (not those delivered and not yet acknowledged).
    pub ready: u32,
    /// Consumers: one per running worker (and per dead-letter recorder on its own queue).
    pub consumers: u32,
}

/// The tasks queue's [`QueueStats`]: for `fitfleet wait` to tell why a job makes no progress.
pub async fn tasks_queue_stats(cfg: &FleetConfig) -> Result<QueueStats, AmqpError> {
    let topology = Topology::new(cfg);
    let link = connect::Link::open(cfg, &topology, "fitfleet-queue-stats").await?;
    let declared = link
        .channel
        .queue_declare(
            topology.tasks_queue.as_str().into(),
            lapin::options::QueueDeclareOptions { passive: true, ..Default::default() },
            Default::default(),
        )
        .await;
    link.close().await;
    let q =
        declared.map_err(|e| AmqpError::Channel { what: "reading the tasks queue's counts", source: Box::new(e) })?;
    Ok(QueueStats { ready: q.message_count(), consumers: q.consumer_count() })
}

/// Delete the fleet's queues and exchange (with any tasks in them): for tests, and for an
/// operator changing the delivery limit.
pub async fn delete_topology(cfg: &FleetConfig) -> Result<(), AmqpError> {
    let topology = Topology::new(cfg);
    let link = connect::Link::open(cfg, &topology, "fitfleet-delete-topology").await?;
    let r = topology.delete(&link.channel).await;
    link.close().await;
    r
}
