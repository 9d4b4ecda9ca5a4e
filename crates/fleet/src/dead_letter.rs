//! Accounting for tasks RabbitMQ gave up on: each dead-lettered task gets a failed result
//! ("dead-lettered after N deliveries"), through the same first-writer-wins script as
//! workers' results, so that its job still completes and a late worker result for the same
//! task cannot double-count.
use crate::amqp::{AmqpError, Source, TaskConsumer, TaskDelivery};
use crate::settings::FleetConfig;
use crate::store::{RecordOutcome, Store, StoreError};
use fitfleet_protocol::{JobId, TaskId};
use fitfleet_protocol::{Status, TaskResult, Timings, WorkerId};
use std::future::Future;
use std::time::Duration;
use tracing::{error, info, warn};

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error(transparent)]
    Amqp(#[from] AmqpError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Record a failed result for a dead-lettered task (`delivery_limit`: the fleet's, for the
/// message). Returns `None` when the message cannot
/// be tied to a task (neither its body nor its properties name one); the caller should ack
/// it anyway, as nothing can be done with it.
pub async fn record_dead_letter(
    store: &Store,
    delivery: &TaskDelivery,
    recorder: &WorkerId,
    delivery_limit: u32,
) -> Result<Option<RecordOutcome>, StoreError> {
    // RabbitMQ dead-letters a task when its delivery count exceeds the limit, i.e. after
    // limit + 1 deliveries. (The dead-lettered message's own x-delivery-count restarts.)
    let deliveries = delivery_limit.saturating_add(1);
    let reason = match &delivery.death {
        Some(d) if d.reason == "delivery_limit" => {
            format!(
                "dead-lettered after {deliveries} deliveries (the delivery limit is {delivery_limit}): \
                 no delivery ended with a stored result; a worker crashed or timed out, or gave the task \
                 back because it could not use Redis (out of memory, busy or unreachable for minutes): \
                 the workers' logs ('giving the task back to the queue') and their \
                 fitfleet_worker_store_gave_up_total metric name the cause"
            )
        }
        Some(d) if d.reason == "rejected" => "dead-lettered: a worker rejected the task as unprocessable".to_owned(),
        Some(d) => format!("dead-lettered ({}) from queue {}", d.reason, d.queue),
        None => "dead-lettered".to_owned(),
    };
    let attempt = match &delivery.death {
        Some(d) if d.reason == "delivery_limit" => deliveries,
        _ => 1,
    };
    let result = match &delivery.task {
        Ok(task) => TaskResult::failed(task, reason, recorder.clone(), attempt, Timings::default()),
        Err(decode) => {
            // Undecodable body: account for it through the message's properties if we can.
            let ids = delivery
                .job_header
                .as_deref()
                .and_then(|j| JobId::parse(j).ok())
                .zip(delivery.message_id.as_deref().and_then(|t| TaskId::parse(t).ok()));
            let Some((job_id, task_id)) = ids else {
                error!(error = %decode, "dead-lettered message names no task; dropping it");
                return Ok(None);
            };
            TaskResult {
                job_id,
                task_id,
                patch: None,
                status: Status::Failed { reason: format!("{reason}; its message could not be read: {decode}") },
                outcome: None,
                worker: recorder.clone(),
                attempt,
                timings: Timings::default(),
                finished_at_ms: fitfleet_protocol::now_ms(),
            }
        }
    };
    let outcome = store.record_result(&result).await?;
    info!(job = %result.job_id, task = %result.task_id, duplicate = outcome.is_duplicate(), "dead-lettered task recorded as failed");
    Ok(Some(outcome))
}

/// Consume the dead-letter queue until `shutdown` completes, recording each message with
/// [`record_dead_letter`]. Run one (or a few) per fleet: in a worker or a client.
pub async fn run_dead_letter_recorder(
    cfg: &FleetConfig,
    store: Store,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DeadLetterError> {
    let me = WorkerId::current();
    let mut consumer = TaskConsumer::connect(cfg, Source::DeadLetters, 16).await?;
    tokio::pin!(shutdown);
    loop {
        let delivery = tokio::select! {
            () = &mut shutdown => break,
            d = consumer.next() => d?,
        };
        match record_dead_letter(&store, &delivery, &me, cfg.delivery_limit).await {
            Ok(_) | Err(StoreError::UnknownJob(_) | StoreError::UnknownTask { .. }) => {
                if let Err(e) = delivery.ack().await {
                    warn!(error = %e, "could not ack a dead letter; it will come again");
                }
            }
            Err(e) => {
                warn!(error = %e, "cannot record a dead letter now; retrying later");
                tokio::time::sleep(Duration::from_secs(1)).await;
                let _ = delivery.requeue().await;
            }
        }
    }
    consumer.close().await;
    Ok(())
}
