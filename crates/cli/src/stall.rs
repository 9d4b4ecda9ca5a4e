//! Why a job makes no progress: what `fitfleet wait` prints when no result has come for a
//! while. It asks Redis whether it takes writes (a full Redis holds every result back) and
//! RabbitMQ how many tasks wait and how many workers consume them.
use fitfleet_fleet::FleetConfig;
use fitfleet_fleet::amqp::{QueueStats, tasks_queue_stats};
use fitfleet_fleet::store::Store;

/// One line saying why no result has come, from what Redis and RabbitMQ answer now;
/// `remaining` is the job's tasks without a result.
pub async fn diagnose(cfg: &FleetConfig, store: &Store, remaining: u64) -> String {
    let redis = store.probe_write().await.err().map(|e| match e.pressure() {
        Some(cause) => format!(
            "Redis refuses writes ({cause}): workers hold their results and retry for up to 5 minutes \
             before giving the tasks back; free memory in Redis or raise its maxmemory"
        ),
        None => format!("Redis at {} does not take writes: {e}", cfg.redis_url_redacted()),
    });
    let queue = tasks_queue_stats(cfg).await;
    let queue = match queue {
        Ok(stats) => explain_queue(stats, remaining),
        Err(e) => format!("RabbitMQ at {} cannot be asked for the queue: {e}", cfg.broker_url_redacted()),
    };
    match redis {
        Some(redis) => format!("{redis}; {queue}"),
        None => queue,
    }
}

/// What the tasks queue's counts say about a job with `remaining` tasks to go.
pub fn explain_queue(stats: QueueStats, remaining: u64) -> String {
    let QueueStats { ready, consumers } = stats;
    match (consumers, ready) {
        (0, 0) => format!(
            "no worker consumes the task queue, and it is empty: the job's {remaining} remaining tasks are \
             not queued (published elsewhere, or lost with a broker that keeps no messages); `fitfleet status` \
             lists them"
        ),
        (0, _) => format!(
            "no worker consumes the task queue ({ready} tasks waiting): start workers \
             (`fitfleet-worker`, or `docker compose up --scale worker=N`)"
        ),
        (_, 0) => format!(
            "{consumers} workers consume and no task waits: they hold the job's {remaining} remaining tasks \
             (long toys or scans, or a stopped worker, whose tasks come back at RabbitMQ's consumer timeout)"
        ),
        _ => format!("{consumers} workers consume; {ready} tasks wait in the queue, other jobs' tasks maybe ahead"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_queue_state_says_what_to_do() {
        let no_workers = explain_queue(QueueStats { ready: 7, consumers: 0 }, 7);
        assert!(no_workers.contains("no worker consumes") && no_workers.contains("7 tasks waiting"), "{no_workers}");
        let busy = explain_queue(QueueStats { ready: 0, consumers: 2 }, 3);
        assert!(busy.contains("2 workers") && busy.contains("hold the job's 3 remaining"), "{busy}");
        let behind = explain_queue(QueueStats { ready: 40, consumers: 2 }, 3);
        assert!(behind.contains("40 tasks wait"), "{behind}");
        let lost = explain_queue(QueueStats { ready: 0, consumers: 0 }, 3);
        assert!(lost.contains("not queued"), "{lost}");
    }
}
