//! Consuming tasks with manual acknowledgements, surviving broker restarts.
use crate::amqp::connect::{Backoff, Link};
use crate::amqp::error::AmqpError;
use crate::amqp::server::ServerInfo;
use crate::amqp::topology::Topology;
use crate::settings::FleetConfig;
use fitfleet_protocol::Task;
use fitfleet_protocol::codec::DecodeError;
use futures_lite::StreamExt;
use lapin::Acker;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use std::time::Duration;

/// How long [`TaskConsumer::close`] waits between cancelling and closing.
pub const CLOSE_GRACE: Duration = Duration::from_millis(500);
use lapin::types::{AMQPValue, FieldTable};
use tracing::{info, warn};

/// Which queue a [`TaskConsumer`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The tasks queue: workers.
    Tasks,
    /// The dead-letter queue: the dead-letter recorder.
    DeadLetters,
}

/// A consumer of task messages that reconnects, re-declares the topology and resumes
/// consuming whenever the connection is lost (broker restart, network cut, heartbeat
/// timeout), waiting with exponential backoff between attempts.
///
/// Messages must be settled with [`TaskDelivery::ack`], [`TaskDelivery::requeue`] or
/// [`TaskDelivery::dead_letter`]. Unsettled messages of a lost connection are redelivered
/// by RabbitMQ (to this or another worker) and count towards the delivery limit.
pub struct TaskConsumer {
    cfg: FleetConfig,
    topology: Topology,
    source: Source,
    prefetch: u16,
    name: String,
    link: Option<(Link, lapin::Consumer)>,
    backoff: Backoff,
    /// Set by [`TaskConsumer::stop_consuming`]: the consumer is cancelled already.
    stopped: bool,
}

impl TaskConsumer {
    /// Connect (one attempt, so that a misconfiguration shows at once) and start consuming
    /// `source` with at most `prefetch` unacknowledged messages (a worker's concurrency).
    pub async fn connect(cfg: &FleetConfig, source: Source, prefetch: u16) -> Result<Self, AmqpError> {
        let topology = Topology::new(cfg);
        // Shown in RabbitMQ's connection list: role, process and queue.
        let name = format!(
            "fitfleet-{} {} {}",
            match source {
                Source::Tasks => "worker",
                Source::DeadLetters => "dead-letter-recorder",
            },
            fitfleet_protocol::WorkerId::current(),
            match source {
                Source::Tasks => &topology.tasks_queue,
                Source::DeadLetters => &topology.dead_letter_queue,
            }
        );
        let mut c = TaskConsumer {
            cfg: cfg.clone(),
            topology,
            source,
            prefetch: prefetch.max(1),
            name,
            link: None,
            backoff: Backoff::new(cfg.reconnect_max_delay()),
            stopped: false,
        };
        c.link = Some(c.open().await?);
        Ok(c)
    }

    fn queue(&self) -> &str {
        match self.source {
            Source::Tasks => &self.topology.tasks_queue,
            Source::DeadLetters => &self.topology.dead_letter_queue,
        }
    }

    async fn open(&self) -> Result<(Link, lapin::Consumer), AmqpError> {
        let link = Link::open(&self.cfg, &self.topology, &self.name).await?;
        link.channel
            .basic_qos(self.prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| AmqpError::channel("setting the prefetch count", e))?;
        let consumer = link
            .channel
            .basic_consume(self.queue().into(), "".into(), BasicConsumeOptions::default(), FieldTable::default())
            .await
            .map_err(|e| AmqpError::channel("starting to consume", e))?;
        info!(queue = self.queue(), prefetch = self.prefetch, "consuming");
        Ok((link, consumer))
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The RabbitMQ we are connected to (as of the last connection).
    pub fn server(&self) -> Option<&ServerInfo> {
        self.link.as_ref().map(|(l, _)| &l.server)
    }

    /// The next message. Waits across reconnections; returns an error only when
    /// reconnecting cannot help (credentials refused, queue declared with other arguments).
    ///
    /// After [`TaskConsumer::stop_consuming`] it never returns.
    pub async fn next(&mut self) -> Result<TaskDelivery, AmqpError> {
        if self.stopped {
            std::future::pending::<()>().await;
        }
        loop {
            if let Some((link, consumer)) = self.link.as_mut() {
                match consumer.next().await {
                    Some(Ok(delivery)) if link.channel.status().connected() => {
                        self.backoff.reset();
                        return Ok(TaskDelivery::new(delivery, self.cfg.max_task_bytes));
                    }
                    Some(Ok(_)) => {
                        // Prefetched on a channel that is gone: it could not be acked, and
                        // RabbitMQ redelivers it anyway. Skip it rather than fit it twice.
                        warn!(queue = self.queue(), "dropping a delivery of a lost channel; it will be redelivered");
                        continue;
                    }
                    Some(Err(e)) => warn!(error = %e, queue = self.queue(), "consumer lost its connection"),
                    None => warn!(queue = self.queue(), "consumer cancelled by the broker"),
                }
                if let Some((link, _)) = self.link.take() {
                    link.close().await;
                }
            }
            let delay = self.backoff.next_delay();
            tokio::time::sleep(delay).await;
            match self.open().await {
                Ok(link) => {
                    info!(queue = self.queue(), "consumer reconnected");
                    self.link = Some(link);
                }
                Err(e) if e.is_transient() => {
                    warn!(error = %e, queue = self.queue(), "cannot reconnect to RabbitMQ yet; will retry");
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Stop receiving tasks but keep the channel open, so that tasks being processed can
    /// still be acknowledged (a worker draining on SIGTERM). Returns the deliveries RabbitMQ
    /// had already sent that were not yet taken with [`TaskConsumer::next`]: settle them
    /// (requeue them, typically). Call [`TaskConsumer::close`] when done, not `next`.
    pub async fn stop_consuming(&mut self) -> Vec<TaskDelivery> {
        let mut left = Vec::new();
        let queue = self.queue().to_owned();
        let Some((link, consumer)) = self.link.as_mut() else {
            return left;
        };
        if let Err(e) = link.channel.basic_cancel(consumer.tag(), BasicCancelOptions::default()).await {
            warn!(error = %e, queue, "could not cancel the consumer; closing instead");
            return left;
        }
        // After the cancel-ok the stream yields what was already delivered, then ends.
        let drain = async {
            while let Some(Ok(d)) = consumer.next().await {
                left.push(TaskDelivery::new(d, self.cfg.max_task_bytes));
            }
        };
        if tokio::time::timeout(CLOSE_GRACE * 10, drain).await.is_err() {
            warn!(queue, "the consumer did not end after cancelling it");
        }
        info!(queue, unstarted = left.len(), "stopped consuming");
        self.stopped = true;
        left
    }

    /// Stop consuming and close the connection; unacknowledged messages are requeued.
    ///
    /// AMQP 0-9-1 does not confirm acknowledgements, and a quorum queue applies them through
    /// its Raft log: acks sent just before a channel closes can be lost under load, and
    /// their tasks redelivered (harmless: results are first-writer-wins, and a worker skips
    /// tasks that already have one). To make that rare, this cancels the consumer first and
    /// gives the broker [`CLOSE_GRACE`] to settle outstanding acks before closing.
    pub async fn close(mut self) {
        if let Some((link, consumer)) = self.link.take() {
            if !self.stopped {
                let _ = link.channel.basic_cancel(consumer.tag(), BasicCancelOptions::default()).await;
            }
            tokio::time::sleep(CLOSE_GRACE).await;
            link.close().await;
        }
    }
}

/// One delivered task message.
#[derive(Debug)]
pub struct TaskDelivery {
    /// The task, or why its bytes are not a task of this protocol version.
    pub task: Result<Task, DecodeError>,
    /// The raw message body.
    pub payload: Vec<u8>,
    /// The `message_id` property (the task id, when a fitfleet client published it).
    pub message_id: Option<String>,
    /// The `x-fitfleet-job` header (the job id, when a fitfleet client published it): lets
    /// the dead-letter recorder account for a task whose body cannot be decoded.
    pub job_header: Option<String>,
    /// The `content_type` property ("application/msgpack").
    pub content_type: Option<String>,
    /// Whether the message was published persistent (delivery mode 2).
    pub persistent: bool,
    /// 1 for the first delivery; RabbitMQ's `x-delivery-count` + 1 after redeliveries.
    pub attempt: u32,
    /// RabbitMQ's redelivered flag.
    pub redelivered: bool,
    /// For messages from the dead-letter queue: why and from where they were dead-lettered.
    pub death: Option<Death>,
    acker: Acker,
}

/// The first entry of a dead-lettered message's `x-death` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Death {
    /// "delivery_limit" (delivered more than the limit allows), "rejected" (a worker
    /// dead-lettered it), "expired" or "maxlen".
    pub reason: String,
    /// The queue it was dead-lettered from.
    pub queue: String,
    /// How many times it was dead-lettered for this reason from that queue.
    pub count: i64,
}

impl TaskDelivery {
    /// `max_task_bytes`: a longer body is not decoded (its `task` is a `TooLarge` error).
    fn new(d: Delivery, max_task_bytes: u64) -> Self {
        let headers = d.properties.headers().as_ref();
        let delivery_count = headers.and_then(|h| h.inner().get("x-delivery-count")).and_then(amqp_int).unwrap_or(0);
        let death = headers.and_then(|h| h.inner().get("x-death")).and_then(first_death);
        TaskDelivery {
            task: Task::decode_limited(&d.data, max_task_bytes),
            message_id: d.properties.message_id().as_ref().map(|s| s.as_str().to_owned()),
            job_header: headers.and_then(|h| h.inner().get("x-fitfleet-job")).and_then(amqp_str),
            content_type: d.properties.content_type().as_ref().map(|s| s.as_str().to_owned()),
            persistent: *d.properties.delivery_mode() == Some(2),
            attempt: u32::try_from(delivery_count.max(0)).unwrap_or(u32::MAX - 1) + 1,
            redelivered: d.redelivered,
            death,
            payload: d.data,
            acker: d.acker,
        }
    }

    /// Done with it (result stored, or deliberately skipped): remove it from the queue.
    pub async fn ack(&self) -> Result<(), AmqpError> {
        self.acker
            .ack(BasicAckOptions::default())
            .await
            .map(drop)
            .map_err(|e| AmqpError::channel("acknowledging a task", e))
    }

    /// Give it back for another try (counts towards the delivery limit).
    pub async fn requeue(&self) -> Result<(), AmqpError> {
        self.nack(true).await
    }

    /// Send it to the dead-letter queue now (e.g. undecodable bytes).
    pub async fn dead_letter(&self) -> Result<(), AmqpError> {
        self.nack(false).await
    }

    async fn nack(&self, requeue: bool) -> Result<(), AmqpError> {
        self.acker
            .nack(BasicNackOptions { requeue, ..Default::default() })
            .await
            .map(drop)
            .map_err(|e| AmqpError::channel("rejecting a task", e))
    }
}

fn amqp_int(v: &AMQPValue) -> Option<i64> {
    Some(match v {
        AMQPValue::ShortShortInt(x) => i64::from(*x),
        AMQPValue::ShortShortUInt(x) => i64::from(*x),
        AMQPValue::ShortInt(x) => i64::from(*x),
        AMQPValue::ShortUInt(x) => i64::from(*x),
        AMQPValue::LongInt(x) => i64::from(*x),
        AMQPValue::LongUInt(x) => i64::from(*x),
        AMQPValue::LongLongInt(x) => *x,
        _ => return None,
    })
}

fn amqp_str(v: &AMQPValue) -> Option<String> {
    match v {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

fn first_death(v: &AMQPValue) -> Option<Death> {
    let AMQPValue::FieldArray(entries) = v else {
        return None;
    };
    let AMQPValue::FieldTable(t) = entries.as_slice().first()? else {
        return None;
    };
    let t = t.inner();
    Some(Death {
        reason: t.get("reason").and_then(amqp_str).unwrap_or_default(),
        queue: t.get("queue").and_then(amqp_str).unwrap_or_default(),
        count: t.get("count").and_then(amqp_int).unwrap_or(1),
    })
}
