//! RabbitMQ against the real server on 127.0.0.1:5672 (fails if it is not running).
use fitfleet_testkit as common;

use fitfleet_fleet::amqp::{Publisher, Source, TaskConsumer, TaskDelivery};
use fitfleet_fleet::store::{JobSpec, JobState, RecordOutcome};
use fitfleet_protocol::{JobId, Status, WorkerId};
use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

async fn next(consumer: &mut TaskConsumer) -> TaskDelivery {
    tokio::time::timeout(Duration::from_secs(30), consumer.next())
        .await
        .expect("a delivery within 30 s")
        .expect("consumer works")
}

fn rabbitmqctl(args: &[&str]) -> String {
    let out = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("this test needs rabbitmqctl (from the rabbitmq-server package): {e}"));
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Make the broker close every connection whose name mentions `needle` (what a broker
/// restart does to clients), returning how many it closed.
fn broker_closes_connections(needle: &str) -> usize {
    let listing = rabbitmqctl(&["list_connections", "-q", "--no-table-headers", "pid", "client_properties"]);
    let pids: Vec<&str> =
        listing.lines().filter(|l| l.contains(needle)).filter_map(|l| l.split_whitespace().next()).collect();
    for pid in &pids {
        rabbitmqctl(&["close_connection", pid, "test: simulated broker restart"]);
    }
    pids.len()
}

#[tokio::test]
async fn server_version_is_read_from_the_handshake() {
    let cfg = common::config("version");
    let _cleanup = common::services::Cleanup::amqp(&cfg);
    common::services::require_rabbitmq(&cfg).await;
    let server = fitfleet_fleet::amqp::check(&cfg).await.unwrap();
    assert_eq!(server.product, "RabbitMQ");
    let (major, minor, _) = server.version_triple().expect("numeric version");
    assert!(major >= 3, "{server}");
    // Debian's 3.10 here: no per-queue consumer timeout; 3.12+ elsewhere.
    assert_eq!(server.supports_queue_consumer_timeout(), (major, minor) >= (3, 12));
    let spec = fitfleet_fleet::amqp::Topology::new(&cfg).tasks_queue_spec(&server);
    assert_eq!(spec.arguments.contains_key("x-consumer-timeout"), server.supports_queue_consumer_timeout());
}

#[tokio::test]
async fn topology_is_idempotent_and_refuses_another_delivery_limit() {
    let cfg = common::config("topology");
    let _cleanup = common::services::Cleanup::amqp(&cfg);
    common::services::require_rabbitmq(&cfg).await;
    fitfleet_fleet::amqp::check(&cfg).await.expect("second declaration is a no-op");
    let mut other = cfg.clone();
    other.delivery_limit = cfg.delivery_limit + 1;
    let err = fitfleet_fleet::amqp::check(&other).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("PRECONDITION_FAILED") || msg.contains("406") || msg.contains("inequivalent"), "{msg}");
    assert!(msg.contains("delivery limit"), "the error hints at the cause: {msg}");
    assert!(!err.is_transient());
}

/// The definitions file, imported by RabbitMQ itself into a scratch vhost, is accepted by
/// the code's declarations there (RabbitMQ refuses a declaration whose arguments differ).
#[tokio::test]
async fn definitions_file_imports_and_agrees_with_the_code() {
    let cfg = common::config("defs");
    let _cleanup = common::services::Cleanup::amqp(&cfg);
    common::services::require_rabbitmq(&cfg).await;
    let vhost = cfg.queue_prefix.trim_end_matches('.').to_owned();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/rabbitmq/definitions.json");
    let text = std::fs::read_to_string(path).unwrap();
    let mut defs: serde_json::Value = serde_json::from_str(&text).unwrap();
    for section in ["vhosts", "queues", "exchanges", "bindings"] {
        for item in defs[section].as_array_mut().unwrap() {
            let field = if section == "vhosts" { "name" } else { "vhost" };
            item[field] = serde_json::Value::from(vhost.as_str());
        }
    }
    let file = std::env::temp_dir().join(format!("{vhost}.json"));
    std::fs::write(&file, serde_json::to_vec(&defs).unwrap()).unwrap();
    struct DropVhost(String);
    impl Drop for DropVhost {
        fn drop(&mut self) {
            let _ = Command::new("rabbitmqctl").args(["delete_vhost", &self.0]).output();
        }
    }
    let _drop = DropVhost(vhost.clone());
    rabbitmqctl(&["import_definitions", file.to_str().unwrap()]);
    let _ = std::fs::remove_file(&file);
    rabbitmqctl(&["set_permissions", "-p", &vhost, "guest", ".*", ".*", ".*"]);

    let in_vhost = fitfleet_fleet::FleetConfig {
        broker_url: format!("amqp://guest:guest@127.0.0.1:5672/{}", vhost.replace('.', "%2E")),
        ..Default::default()
    };
    fitfleet_fleet::amqp::check(&in_vhost).await.expect("the code's declarations match the imported definitions");
    let mut other = in_vhost.clone();
    other.delivery_limit += 1;
    assert!(fitfleet_fleet::amqp::check(&other).await.is_err(), "a different topology would be refused");
}

#[tokio::test]
async fn publish_a_batch_with_confirms_and_consume_it_with_manual_acks() {
    let cfg = common::config("roundtrip");
    let _cleanup = common::services::Cleanup::amqp(&cfg);
    common::services::require_rabbitmq(&cfg).await;
    let job = JobId::generate();
    let tasks = common::jobs::fake_tasks(&job, 200);

    let mut publisher = Publisher::connect(&cfg).await.unwrap();
    let report = publisher.publish(&tasks).await.unwrap();
    assert_eq!(report.published, 200);
    assert_eq!(report.reconnects, 0);
    let queue = publisher.topology().tasks_queue.clone();
    // All confirmed tasks are in the queue.
    common::queues::wait_ready_in_queue(&cfg, &queue, 200, std::time::Duration::from_secs(10)).await;

    let mut consumer = TaskConsumer::connect(&cfg, Source::Tasks, 50).await.unwrap();
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let d = next(&mut consumer).await;
        let task = d.task.as_ref().expect("decodes");
        assert_eq!(d.message_id.as_deref(), Some(task.task_id.as_str()));
        assert_eq!(d.job_header.as_deref(), Some(job.as_str()));
        assert_eq!(d.content_type.as_deref(), Some("application/msgpack"));
        assert!(d.persistent, "delivery mode 2");
        assert_eq!(d.attempt, 1);
        let original = tasks.iter().find(|t| t.task_id == task.task_id).expect("one of ours");
        assert_eq!(task, original);
        assert!(seen.insert(task.task_id.clone()), "each task delivered once");
        d.ack().await.unwrap();
    }
    consumer.close().await;
    // Acked tasks are gone. (AMQP does not confirm acks: under heavy load a quorum queue may
    // still return a few acked just before the close. Those must be redeliveries of tasks we
    // acked, and few; a broken ack path would return them all.)
    let mut left = 0;
    for _ in 0..20 {
        left = common::queues::ready_in_queue(&cfg, &queue).await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if left > 0 {
        println!("note: {left} acked tasks came back after the consumer closed");
        assert!(left <= 20, "{left} of 200 acked tasks came back: acks are not reaching RabbitMQ");
        let mut again = TaskConsumer::connect(&cfg, Source::Tasks, 50).await.unwrap();
        for _ in 0..left {
            let d = next(&mut again).await;
            assert!(d.attempt >= 2 && seen.contains(&d.task.as_ref().unwrap().task_id));
            d.ack().await.unwrap();
        }
        again.close().await;
    }
    publisher.close().await;
}

#[tokio::test]
async fn unacked_tasks_come_back_with_their_attempt_number() {
    let cfg = common::config("redeliver");
    let _cleanup = common::services::Cleanup::amqp(&cfg);
    common::services::require_rabbitmq(&cfg).await;
    let tasks = common::jobs::fake_tasks(&JobId::generate(), 1);
    let mut publisher = Publisher::connect(&cfg).await.unwrap();
    publisher.publish(&tasks).await.unwrap();

    // A worker dies holding the task: closing its connection requeues it.
    let mut consumer = TaskConsumer::connect(&cfg, Source::Tasks, 1).await.unwrap();
    let d = next(&mut consumer).await;
    assert_eq!(d.attempt, 1);
    consumer.close().await;
    let mut consumer = TaskConsumer::connect(&cfg, Source::Tasks, 1).await.unwrap();
    let d = next(&mut consumer).await;
    assert_eq!(d.attempt, 2, "RabbitMQ counts the lost delivery");
    assert!(d.redelivered);
    d.requeue().await.unwrap();
    let d = next(&mut consumer).await;
    assert_eq!(d.attempt, 3, "a requeue counts too");
    d.ack().await.unwrap();
    consumer.close().await;
    publisher.close().await;
}

/// A task given back more often than the delivery limit allows lands in the dead-letter
/// queue, and the dead-letter recorder turns it into a failed result that completes the job.
#[tokio::test]
async fn a_task_past_the_delivery_limit_is_dead_lettered_and_recorded_as_failed() {
    let mut cfg = common::config("deadletter");
    cfg.delivery_limit = 2;
    let _cleanup = common::services::Cleanup::both(&cfg);
    common::services::require_rabbitmq(&cfg).await;
    let store = common::services::require_redis(&cfg).await;
    let job = JobId::generate();
    let tasks = common::jobs::fake_tasks(&job, 2);
    store.create_job(&JobSpec::from_tasks("dead letters", &tasks)).await.unwrap();
    let mut publisher = Publisher::connect(&cfg).await.unwrap();
    publisher.publish(&tasks[..1]).await.unwrap();

    let mut consumer = TaskConsumer::connect(&cfg, Source::Tasks, 1).await.unwrap();
    // Deliveries 1 and 2 are allowed; after the third is given back RabbitMQ dead-letters.
    for attempt in 1..=3 {
        let d = next(&mut consumer).await;
        assert_eq!(d.attempt, attempt);
        d.requeue().await.unwrap();
    }
    let topology = consumer.topology().clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    while common::queues::ready_in_queue(&cfg, &topology.dead_letter_queue).await == 0 {
        assert!(Instant::now() < deadline, "task did not reach the dead-letter queue");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    common::queues::wait_ready_in_queue(&cfg, &topology.tasks_queue, 0, std::time::Duration::from_secs(10)).await;
    consumer.close().await;

    // The recorder, as a worker or the client would run it.
    let mut dead = TaskConsumer::connect(&cfg, Source::DeadLetters, 1).await.unwrap();
    let d = next(&mut dead).await;
    let death = d.death.clone().expect("x-death header");
    assert_eq!(death.reason, "delivery_limit");
    assert_eq!(death.queue, topology.tasks_queue);
    assert_eq!(d.task.as_ref().unwrap(), &tasks[0]);
    let outcome = fitfleet_fleet::record_dead_letter(&store, &d, &WorkerId::current(), cfg.delivery_limit)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(outcome, RecordOutcome::Recorded(_)));
    d.ack().await.unwrap();
    dead.close().await;

    let r = store.result(&job, &tasks[0].task_id).await.unwrap().unwrap();
    let Status::Failed { reason } = &r.status else { panic!("dead letter is a failure") };
    assert!(reason.starts_with("dead-lettered after 3 deliveries"), "{reason}");
    // A worker finishing the same task late cannot overwrite or double-count it.
    let late = fitfleet_protocol::TaskResult::failed(&tasks[0], "late", WorkerId::current(), 4, Default::default());
    assert!(store.record_result(&late).await.unwrap().is_duplicate());
    let status = store.job_status(&job).await.unwrap().unwrap();
    assert_eq!((status.failed, status.done, status.state), (1, 0, JobState::Running));
    publisher.close().await;
}

/// A worker that rejects undecodable bytes sends them to the dead-letter queue; the
/// recorder still accounts for the task through the message's properties.
#[tokio::test]
async fn garbage_is_dead_lettered_and_still_accounted_for() {
    let cfg = common::config("garbage");
    let _cleanup = common::services::Cleanup::both(&cfg);
    common::services::require_rabbitmq(&cfg).await;
    let store = common::services::require_redis(&cfg).await;
    let job = JobId::generate();
    let tasks = common::jobs::fake_tasks(&job, 1);
    store.create_job(&JobSpec::from_tasks("garbage", &tasks)).await.unwrap();
    fitfleet_fleet::amqp::check(&cfg).await.unwrap();
    let topology = fitfleet_fleet::amqp::Topology::new(&cfg);

    let (conn, ch) = common::queues::raw_channel(&cfg).await;
    let mut headers = lapin::types::FieldTable::default();
    headers.insert("x-fitfleet-job".into(), lapin::types::AMQPValue::LongString(job.as_str().into()));
    ch.basic_publish(
        "".into(),
        topology.tasks_queue.as_str().into(),
        Default::default(),
        b"\x93\x01\x02",
        lapin::BasicProperties::default().with_message_id(tasks[0].task_id.as_str().into()).with_headers(headers),
    )
    .await
    .unwrap();
    let _ = conn.close(200, "bye".into()).await;

    let mut consumer = TaskConsumer::connect(&cfg, Source::Tasks, 1).await.unwrap();
    let d = next(&mut consumer).await;
    let err = d.task.as_ref().unwrap_err();
    assert!(err.to_string().contains("not a fitfleet message"), "{err}");
    d.dead_letter().await.unwrap();
    common::queues::wait_ready_in_queue(&cfg, &topology.dead_letter_queue, 1, std::time::Duration::from_secs(10)).await;
    consumer.close().await;

    let mut dead = TaskConsumer::connect(&cfg, Source::DeadLetters, 1).await.unwrap();
    let d = next(&mut dead).await;
    assert_eq!(d.death.as_ref().unwrap().reason, "rejected");
    fitfleet_fleet::record_dead_letter(&store, &d, &WorkerId::current(), cfg.delivery_limit).await.unwrap().unwrap();
    d.ack().await.unwrap();
    dead.close().await;
    let status = store.job_status(&job).await.unwrap().unwrap();
    assert_eq!((status.failed, status.state), (1, JobState::Done));
    let r = store.result(&job, &tasks[0].task_id).await.unwrap().unwrap();
    let Status::Failed { reason } = r.status else { panic!() };
    assert!(reason.contains("rejected") && reason.contains("not a fitfleet message"), "{reason}");
}

/// After the broker drops their connections (as in a restart), the consumer resumes
/// consuming and the publisher publishes again, both by reconnecting on their own.
#[tokio::test]
async fn consumer_and_publisher_reconnect_after_the_broker_drops_them() {
    let cfg = common::config("reconnect");
    let _cleanup = common::services::Cleanup::amqp(&cfg);
    common::services::require_rabbitmq(&cfg).await;
    let tasks = common::jobs::fake_tasks(&JobId::generate(), 4);
    let mut publisher = Publisher::connect(&cfg).await.unwrap();
    publisher.publish(&tasks[..2]).await.unwrap();
    let mut consumer = TaskConsumer::connect(&cfg, Source::Tasks, 1).await.unwrap();
    let d = next(&mut consumer).await;
    d.ack().await.unwrap();

    // Both connections carry the test's unique queue name in their connection name.
    let queue = consumer.topology().tasks_queue.clone();
    let closed = tokio::task::spawn_blocking(move || broker_closes_connections(&queue)).await.unwrap();
    assert!(closed >= 2, "closed {closed} connections");

    // The consumer reconnects and gets the rest: the second task again (its delivery on
    // the lost connection was never acked) and those published after the reconnection.
    let report = publisher.publish(&tasks[2..]).await.expect("publisher reconnects");
    assert_eq!(report.published, 2);
    let expected: HashSet<_> = tasks[1..].iter().map(|t| t.task_id.clone()).collect();
    let mut acked = HashSet::new();
    while acked != expected {
        let d = next(&mut consumer).await;
        let id = d.task.as_ref().unwrap().task_id.clone();
        assert!(expected.contains(&id), "only our tasks");
        // An ack on the lost channel fails; RabbitMQ redelivers that task.
        if d.ack().await.is_ok() {
            acked.insert(id);
        }
    }
    common::queues::wait_ready_in_queue(&cfg, &consumer.topology().tasks_queue, 0, std::time::Duration::from_secs(10))
        .await;
    consumer.close().await;
    publisher.close().await;
}

/// Awaiting confirms per batch against awaiting each message's confirm before the next.
#[tokio::test]
async fn batch_confirms_are_much_faster_than_confirming_each_message() {
    let cfg = common::config("rate");
    let _cleanup = common::services::Cleanup::amqp(&cfg);
    common::services::require_rabbitmq(&cfg).await;
    let n = 1000;
    let tasks = common::jobs::fake_tasks(&JobId::generate(), n);
    let mut publisher = Publisher::connect(&cfg).await.unwrap();
    publisher.publish(&tasks[..50]).await.unwrap(); // warm up
    let each = publisher.publish_one_by_one(&tasks).await.unwrap();
    let batch = publisher.publish(&tasks).await.unwrap();
    println!(
        "publish {n} tasks to a quorum queue: batch confirms {:.0} msg/s ({:?}), one by one {:.0} msg/s ({:?}): {:.1}x",
        batch.rate(),
        batch.elapsed,
        each.rate(),
        each.elapsed,
        batch.rate() / each.rate()
    );
    assert_eq!((batch.published, each.published), (n, n));
    assert!(batch.rate() > 2.0 * each.rate(), "batching pays: {:.0} vs {:.0} msg/s", batch.rate(), each.rate());
    publisher.close().await;
}

/// The definitions file for the compose deployment is the code's topology, for the default
/// configuration (regenerate it with `cargo run -p fitfleet-fleet --example definitions`).
#[test]
fn definitions_file_is_what_the_code_declares() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/rabbitmq/definitions.json");
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let code = fitfleet_fleet::amqp::Topology::new(&fitfleet_fleet::FleetConfig::default()).definitions(
        "/",
        &fitfleet_fleet::amqp::ServerInfo::rabbitmq(fitfleet_fleet::amqp::DEFINITIONS_SERVER_VERSION),
    );
    assert_eq!(
        file, code,
        "crates/fleet/rabbitmq/definitions.json is stale: regenerate it with \
         `cargo run -p fitfleet-fleet --example definitions > crates/fleet/rabbitmq/definitions.json`"
    );
}
