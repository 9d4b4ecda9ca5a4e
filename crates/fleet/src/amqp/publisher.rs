//! Publishing tasks: persistent messages, publisher confirms awaited per batch, and
//! reconnection when the broker goes away mid-batch.
use crate::amqp::connect::{Backoff, Link};
use crate::amqp::error::AmqpError;
use crate::amqp::server::ServerInfo;
use crate::amqp::topology::Topology;
use crate::settings::FleetConfig;
use fitfleet_protocol::Task;
use fitfleet_protocol::limits::Limit;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Confirmation, PublisherConfirm};
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

/// MIME type of task messages.
pub const CONTENT_TYPE: &str = "application/msgpack";

/// How many messages may wait for their confirms at once; larger batches are published in
/// windows of this size (each window is confirmed as a whole).
pub const CONFIRM_WINDOW: usize = 2048;

/// How long a batch keeps being retried without any task confirmed before giving up: long
/// enough for RabbitMQ to restart (several seconds to a minute), short enough for a client
/// to tell its user that the broker is gone.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(120);

/// What a publish call did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PublishReport {
    /// Tasks confirmed by RabbitMQ.
    pub published: usize,
    /// Reconnections needed on the way.
    pub reconnects: u32,
    pub elapsed: Duration,
}

impl PublishReport {
    /// Confirmed tasks per second.
    pub fn rate(&self) -> f64 {
        self.published as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Publishes tasks to the tasks queue, through the submit exchange, with publisher confirms.
///
/// Messages are persistent (delivery mode 2), carry the task id as `message_id` and
/// `application/msgpack` as content type, and are published `mandatory` so that a missing
/// queue is an error rather than a silent loss. A batch is published as a whole and its
/// confirms awaited together, which is dozens of times faster than waiting for each one.
pub struct Publisher {
    cfg: FleetConfig,
    topology: Topology,
    link: Option<Link>,
    name: String,
}

impl Publisher {
    /// Connect (one attempt: a client should tell its user at once that RabbitMQ is not
    /// there), declare the topology and enable confirms.
    pub async fn connect(cfg: &FleetConfig) -> Result<Self, AmqpError> {
        let topology = Topology::new(cfg);
        let name = format!("fitfleet-publisher {} {}", fitfleet_protocol::WorkerId::current(), topology.tasks_queue);
        let link = Self::open(cfg, &topology, &name).await?;
        Ok(Publisher { cfg: cfg.clone(), topology, link: Some(link), name })
    }

    async fn open(cfg: &FleetConfig, topology: &Topology, name: &str) -> Result<Link, AmqpError> {
        let link = Link::open(cfg, topology, name).await?;
        link.channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| AmqpError::channel("enabling publisher confirms", e))?;
        Ok(link)
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The RabbitMQ we are connected to (as of the last connection).
    pub fn server(&self) -> Option<&ServerInfo> {
        self.link.as_ref().map(|l| &l.server)
    }

    /// Publish `tasks` and wait until RabbitMQ has confirmed every one of them.
    ///
    /// If the connection drops, reconnects with exponential backoff and publishes again
    /// the tasks that were not confirmed (a task may then be queued twice; its id is the
    /// same and the store keeps the first result only). Gives up when no task could be
    /// confirmed for [`GIVE_UP_AFTER`]. Publishes nothing when a task's message is longer
    /// than `max_task_bytes`.
    pub async fn publish(&mut self, tasks: &[Task]) -> Result<PublishReport, AmqpError> {
        self.publish_with(tasks, CONFIRM_WINDOW).await
    }

    /// Publish waiting for each confirm before sending the next message: the slow way,
    /// kept to measure what batching gains.
    pub async fn publish_one_by_one(&mut self, tasks: &[Task]) -> Result<PublishReport, AmqpError> {
        self.publish_with(tasks, 1).await
    }

    async fn publish_with(&mut self, tasks: &[Task], window: usize) -> Result<PublishReport, AmqpError> {
        let start = Instant::now();
        // Encode everything first: an unencodable task is a bug, not worth a partial batch.
        let mut pending: Vec<(usize, Vec<u8>)> =
            tasks.iter().enumerate().map(|(i, t)| t.encode().map(|b| (i, b))).collect::<Result<_, _>>()?;
        // Workers refuse longer messages unread: refuse them here, before publishing any.
        let limits = self.cfg.limits();
        for (i, bytes) in &pending {
            let t = &tasks[*i];
            limits.check(Limit::Task, format!("task {} ({})", t.task_id, t.label()), bytes.len() as u64)?;
        }
        let mut reconnects = 0;
        let mut backoff = Backoff::new(self.cfg.reconnect_max_delay());
        let mut attempts = 0;
        let mut stalled_since: Option<Instant> = None;
        let mut published = 0;
        while !pending.is_empty() {
            attempts += 1;
            let window_end = pending.len().min(window.max(1));
            let result = match self.ensure_link().await {
                Ok(()) => self.publish_window(tasks, &pending[..window_end]).await,
                Err(e) => Err((e, vec![])),
            };
            match result {
                Ok(()) => {
                    published += window_end;
                    pending.drain(..window_end);
                    attempts = 0;
                    stalled_since = None;
                    backoff.reset();
                }
                Err((e, confirmed)) => {
                    // Drop what was confirmed from the pending list; retry the rest.
                    published += confirmed.len();
                    if !confirmed.is_empty() {
                        stalled_since = None;
                    }
                    let confirmed: std::collections::HashSet<usize> = confirmed.into_iter().collect();
                    pending.retain(|(i, _)| !confirmed.contains(i));
                    if !e.is_transient() {
                        return Err(e);
                    }
                    if stalled_since.get_or_insert_with(Instant::now).elapsed() >= GIVE_UP_AFTER {
                        return Err(AmqpError::GaveUp { attempts, last: Box::new(e) });
                    }
                    let delay = backoff.next_delay();
                    warn!(error = %e, left = pending.len(), ?delay, "publishing failed; reconnecting");
                    if let Some(link) = self.link.take() {
                        link.close().await;
                    }
                    reconnects += 1;
                    tokio::time::sleep(delay).await;
                }
            }
        }
        let report = PublishReport { published, reconnects, elapsed: start.elapsed() };
        debug!(published, reconnects, rate = report.rate(), "tasks published and confirmed");
        Ok(report)
    }

    async fn ensure_link(&mut self) -> Result<(), AmqpError> {
        let healthy = self.link.as_ref().is_some_and(|l| l.conn.status().connected() && l.channel.status().connected());
        if !healthy {
            if let Some(old) = self.link.take() {
                old.close().await;
            }
            self.link = Some(Self::open(&self.cfg, &self.topology, &self.name).await?);
            info!("publisher reconnected");
        }
        Ok(())
    }

    /// Publish a window and await its confirms. On failure returns the error and the
    /// indices (into `tasks`) confirmed before it.
    async fn publish_window(&self, tasks: &[Task], window: &[(usize, Vec<u8>)]) -> Result<(), (AmqpError, Vec<usize>)> {
        let link = self.link.as_ref().expect("link ensured");
        let mut confirms: Vec<(usize, PublisherConfirm)> = Vec::with_capacity(window.len());
        let mut first_error = None;
        for (i, bytes) in window {
            let task = &tasks[*i];
            let sent = link
                .channel
                .basic_publish(
                    self.topology.submit_exchange.as_str().into(),
                    self.topology.tasks_queue.as_str().into(),
                    BasicPublishOptions { mandatory: true, ..Default::default() },
                    bytes,
                    properties(task),
                )
                .await;
            match sent {
                Ok(c) => confirms.push((*i, c)),
                Err(e) => {
                    first_error = Some(AmqpError::channel("publishing a task", e));
                    break;
                }
            }
        }
        let mut confirmed = Vec::with_capacity(confirms.len());
        let (mut nacked, mut returned) = (0, 0);
        for (i, c) in confirms {
            match c.await {
                Ok(Confirmation::Ack(None)) | Ok(Confirmation::NotRequested) => confirmed.push(i),
                Ok(Confirmation::Ack(Some(_))) => returned += 1,
                Ok(Confirmation::Nack(_)) => nacked += 1,
                Err(e) => {
                    first_error.get_or_insert(AmqpError::channel("waiting for publisher confirms", e));
                }
            }
        }
        let error = first_error.or(if returned > 0 {
            Some(AmqpError::Unroutable { count: returned, queue: self.topology.tasks_queue.clone() })
        } else if nacked > 0 {
            Some(AmqpError::Nacked { nacked, total: window.len() })
        } else {
            None
        });
        match error {
            None => Ok(()),
            Some(e) => Err((e, confirmed)),
        }
    }

    /// Close the connection.
    pub async fn close(mut self) {
        if let Some(link) = self.link.take() {
            link.close().await;
        }
    }
}

fn properties(task: &Task) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert("x-fitfleet-job".into(), AMQPValue::LongString(task.job_id.as_str().into()));
    headers.insert("x-fitfleet-work".into(), AMQPValue::LongString(task.work.kind().into()));
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type(CONTENT_TYPE.into())
        .with_message_id(task.task_id.as_str().into())
        .with_timestamp(task.enqueued_at_ms / 1000)
        .with_app_id("fitfleet".into())
        .with_headers(headers)
}
