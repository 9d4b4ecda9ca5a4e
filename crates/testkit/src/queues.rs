//! Raw AMQP for tests: counting a queue's ready messages, and publishing what a fitfleet
//! client would not (malformed, forged or bare bodies).
use std::time::{Duration, Instant};

use fitfleet_fleet::FleetConfig;
use fitfleet_protocol::{JobId, TaskId};

use crate::services::runtime;

/// A raw AMQP connection and channel.
pub async fn raw_channel(cfg: &FleetConfig) -> (lapin::Connection, lapin::Channel) {
    let conn = lapin::Connection::connect(&cfg.broker_url, lapin::ConnectionProperties::default())
        .await
        .expect("raw AMQP connection");
    let ch = conn.create_channel().await.expect("raw channel");
    (conn, ch)
}

/// Messages ready in the queue named `queue` in full, or `None` when it does not exist
/// (a passive declare).
pub async fn queue_ready(cfg: &FleetConfig, queue: &str) -> Option<u32> {
    let (conn, ch) = raw_channel(cfg).await;
    let declared = ch
        .queue_declare(
            queue.into(),
            lapin::options::QueueDeclareOptions { passive: true, ..Default::default() },
            Default::default(),
        )
        .await;
    let _ = conn.close(200, "bye".into()).await;
    declared.ok().map(|q| q.message_count())
}

/// Messages ready in the queue named `queue` in full; panics when it does not exist.
pub async fn ready_in_queue(cfg: &FleetConfig, queue: &str) -> u32 {
    queue_ready(cfg, queue).await.unwrap_or_else(|| panic!("the queue {queue} does not exist"))
}

/// Messages ready in the test's queue `{queue_prefix}{name}` ("tasks", "tasks.dead").
pub async fn ready_in(cfg: &FleetConfig, name: &str) -> u32 {
    ready_in_queue(cfg, &format!("{}{name}", cfg.queue_prefix)).await
}

/// Messages ready in the test's tasks queue (a quorum queue's counts settle a moment after
/// acks: poll with [`wait_ready`]).
pub async fn ready_count(cfg: &FleetConfig) -> u32 {
    ready_in(cfg, "tasks").await
}

/// Wait until the queue named `queue` in full holds `expected` ready messages (a quorum queue
/// applies acks and publishes through its Raft log, so its counts settle a moment later);
/// panics after `timeout`.
pub async fn wait_ready_in_queue(cfg: &FleetConfig, queue: &str, expected: u32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let n = queue_ready(cfg, queue).await;
        if n == Some(expected) {
            return;
        }
        assert!(Instant::now() < deadline, "the queue {queue} holds {n:?} ready messages, expected {expected}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait until the test's queue `{queue_prefix}{name}` holds `expected` ready messages.
pub async fn wait_ready_in(cfg: &FleetConfig, name: &str, expected: u32, timeout: Duration) {
    wait_ready_in_queue(cfg, &format!("{}{name}", cfg.queue_prefix), expected, timeout).await
}

/// Wait until the tasks queue holds `expected` ready messages; panics after `timeout`.
pub async fn wait_ready(cfg: &FleetConfig, expected: u32, timeout: Duration) {
    wait_ready_in(cfg, "tasks", expected, timeout).await
}

/// Messages in the tasks queue, or `None` when the queue does not exist (nothing was ever
/// published or declared), from synchronous code.
pub fn tasks_in_queue(cfg: &FleetConfig) -> Option<u32> {
    runtime().block_on(queue_ready(cfg, &format!("{}tasks", cfg.queue_prefix)))
}

/// Wait until the tasks queue holds `expected` messages, from synchronous code; panics after
/// 10 s.
pub fn wait_tasks_in_queue(cfg: &FleetConfig, expected: u32) {
    runtime().block_on(wait_ready(cfg, expected, Duration::from_secs(10)))
}

/// A raw message body, with the job and task it claims to be, if any.
pub type RawMessage<'a> = (Vec<u8>, Option<(&'a JobId, &'a TaskId)>);

/// Publish raw bodies to the tasks queue, as a buggy or hostile publisher would: each with
/// the `message_id` and `x-fitfleet-job` header of a task when `ids` are given, else bare.
pub async fn publish_raw(cfg: &FleetConfig, messages: &[RawMessage<'_>]) {
    use lapin::types::{AMQPValue, FieldTable};
    let (conn, ch) = raw_channel(cfg).await;
    ch.confirm_select(Default::default()).await.expect("confirms");
    let queue = format!("{}tasks", cfg.queue_prefix);
    let mut confirms = Vec::with_capacity(messages.len());
    for (payload, ids) in messages {
        let mut props = lapin::BasicProperties::default().with_delivery_mode(2);
        if let Some((job, task)) = ids {
            let mut headers = FieldTable::default();
            headers.insert("x-fitfleet-job".into(), AMQPValue::LongString(job.as_str().into()));
            props = props.with_message_id(task.as_str().into()).with_headers(headers);
        }
        let c = ch
            .basic_publish("".into(), queue.as_str().into(), Default::default(), payload, props)
            .await
            .expect("raw publish");
        confirms.push(c);
    }
    for c in confirms {
        assert!(c.await.expect("raw publish confirmed").is_ack(), "RabbitMQ refused a raw message");
    }
    let _ = conn.close(200, "bye".into()).await;
}
