//! The RabbitMQ users of deploy/compose/rabbitmq-entrypoint.sh, on a private RabbitMQ node
//! loaded with the definitions it writes: the client publishes tasks and the workers consume
//! them (dead letters included) through fitfleet's own code, without configure permission;
//! and what each has no business doing is refused (403 ACCESS_REFUSED), each refusal asserted.
//!
//! Needs `rabbitmq-server` and `rabbitmqctl` (the node is started on spare loopback ports with
//! a data directory of its own and stopped at the end, also on panic) and `bash`.
use fitfleet_testkit as common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::servers::RabbitServer;
use fitfleet_fleet::FleetConfig;
use fitfleet_fleet::amqp::{Publisher, Source, TaskConsumer, TaskDelivery, Topology};
use fitfleet_protocol::JobId;
use lapin::options::{
    BasicConsumeOptions, BasicGetOptions, ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions,
    QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions, QueuePurgeOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

const ADMIN: &str = "fleet-admin";
const ADMIN_PASSWORD: &str = "rabbit-test-admin-password";
const WORKER_PASSWORD: &str = "rabbit-test-worker-password";
const CLIENT_PASSWORD: &str = "rabbit-test-client-password";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The definitions the compose deployment loads, written by its entrypoint script.
fn deployment_definitions(dir: &Path) -> PathBuf {
    let out = dir.join("definitions.json");
    let run = Command::new("bash")
        .arg(repo().join("deploy/compose/rabbitmq-entrypoint.sh"))
        .arg("true")
        .env("RABBITMQ_USER", ADMIN)
        .env("RABBITMQ_PASSWORD", ADMIN_PASSWORD)
        .env("RABBITMQ_WORKER_PASSWORD", WORKER_PASSWORD)
        .env("RABBITMQ_CLIENT_PASSWORD", CLIENT_PASSWORD)
        .env("FITFLEET_TOPOLOGY", repo().join("crates/fleet/rabbitmq/definitions.json"))
        .env("FITFLEET_DEFINITIONS_OUT", &out)
        .output()
        .expect("running bash deploy/compose/rabbitmq-entrypoint.sh");
    assert!(run.status.success(), "rabbitmq-entrypoint.sh failed: {}", String::from_utf8_lossy(&run.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    for pw in [ADMIN_PASSWORD, WORKER_PASSWORD, CLIENT_PASSWORD] {
        assert!(!text.contains(pw), "a password in clear in the definitions");
    }
    out
}

fn config(rabbit: &RabbitServer, user: &str, password: &str) -> FleetConfig {
    FleetConfig { broker_url: rabbit.url_as(user, password), ..FleetConfig::default() }
}

async fn connect(url: &str) -> Connection {
    Connection::connect(url, ConnectionProperties::default()).await.expect("an AMQP connection")
}

/// The result must be RabbitMQ's 403 ACCESS_REFUSED.
fn assert_refused<T: std::fmt::Debug>(what: &str, r: Result<T, lapin::Error>) {
    match r {
        Err(e) if matches!(e.kind(), lapin::ErrorKind::ProtocolError(amqp) if amqp.get_id() == 403) => {}
        other => panic!("{what} must be refused with 403 ACCESS_REFUSED, got {other:?}"),
    }
}

/// A publish on a channel with confirms, as its error or confirmation.
async fn publish(ch: &Channel, exchange: &str, routing_key: &str) -> Result<lapin::Confirmation, lapin::Error> {
    ch.confirm_select(ConfirmSelectOptions::default()).await?;
    let confirm = ch
        .basic_publish(exchange.into(), routing_key.into(), Default::default(), b"forged", BasicProperties::default())
        .await?;
    confirm.await
}

/// What neither fleet user may do to the topology, each on a fresh channel of `conn`
/// (a refusal closes its channel).
async fn assert_cannot_configure(who: &str, conn: &Connection, t: &Topology) {
    let ch = || async { conn.create_channel().await.expect("a channel") };
    let durable = QueueDeclareOptions { durable: true, ..Default::default() };
    let declare = ch().await.queue_declare(t.tasks_queue.as_str().into(), durable, FieldTable::default()).await;
    assert_refused(&format!("{who}: declaring the tasks queue"), declare);
    let declare = ch().await.queue_declare("fitfleet.mine".into(), durable, FieldTable::default()).await;
    assert_refused(&format!("{who}: declaring a queue of its own"), declare);
    for q in [&t.tasks_queue, &t.dead_letter_queue] {
        let deleted = ch().await.queue_delete(q.as_str().into(), QueueDeleteOptions::default()).await;
        assert_refused(&format!("{who}: deleting {q}"), deleted);
    }
    let declared = ch()
        .await
        .exchange_declare(
            "fitfleet.mine".into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await;
    assert_refused(&format!("{who}: declaring an exchange"), declared);
    for ex in [&t.submit_exchange, &t.dead_letter_exchange] {
        let deleted = ch().await.exchange_delete(ex.as_str().into(), ExchangeDeleteOptions::default()).await;
        assert_refused(&format!("{who}: deleting {ex}"), deleted);
    }
    let bound = ch()
        .await
        .queue_bind(
            t.dead_letter_queue.as_str().into(),
            t.submit_exchange.as_str().into(),
            t.tasks_queue.as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await;
    assert_refused(&format!("{who}: binding the dead letters to the submit exchange"), bound);
}

async fn next(consumer: &mut TaskConsumer) -> TaskDelivery {
    tokio::time::timeout(Duration::from_secs(30), consumer.next())
        .await
        .expect("a delivery within 30 s")
        .expect("consumer works")
}

/// One private RabbitMQ node at a time: nodes starting together on 2 cores time out.
static ONE_NODE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn client_and_worker_users_do_their_work_and_nothing_else() {
    let _node = ONE_NODE.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut rabbit = RabbitServer::start();
    rabbit.import_definitions(&deployment_definitions(dir.path()));
    let client_cfg = config(&rabbit, "fitfleet-client", CLIENT_PASSWORD);
    let worker_cfg = config(&rabbit, "fitfleet-worker", WORKER_PASSWORD);
    let topology = Topology::new(&client_cfg);

    // The client publishes tasks (the topology exists: it checks instead of declaring) and
    // reads the tasks queue's counts (`fitfleet wait`).
    let tasks = common::jobs::fake_tasks(&JobId::generate(), 3);
    let mut publisher = Publisher::connect(&client_cfg).await.expect("the client user connects");
    assert_eq!(publisher.publish(&tasks).await.expect("the client user publishes tasks").published, 3);
    publisher.close().await;
    let stats = fitfleet_fleet::amqp::tasks_queue_stats(&client_cfg).await.expect("the client reads the counts");
    assert_eq!((stats.ready, stats.consumers), (3, 0));

    // What the client must not do.
    let conn = connect(&client_cfg.broker_url).await;
    let ch = conn.create_channel().await.unwrap();
    let consumed = ch
        .basic_consume(
            topology.tasks_queue.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await;
    assert_refused("client: consuming tasks", consumed);
    let got = conn
        .create_channel()
        .await
        .unwrap()
        .basic_get(topology.tasks_queue.as_str().into(), BasicGetOptions::default())
        .await;
    assert_refused("client: getting a task", got);
    let purged = conn
        .create_channel()
        .await
        .unwrap()
        .queue_purge(topology.tasks_queue.as_str().into(), QueuePurgeOptions::default())
        .await;
    assert_refused("client: purging the tasks queue", purged);
    let dead = publish(&conn.create_channel().await.unwrap(), "", &topology.dead_letter_queue).await;
    assert_refused("client: publishing to the dead letters through the default exchange", dead);
    let dlx =
        publish(&conn.create_channel().await.unwrap(), &topology.dead_letter_exchange, &topology.dead_letter_queue)
            .await;
    assert_refused("client: publishing to the dead-letter exchange", dlx);
    assert_cannot_configure("client", &conn, &topology).await;
    let _ = conn.close(200, "bye".into()).await;

    // The worker consumes the tasks, and gives one up: RabbitMQ dead-letters it, and the
    // worker's dead-letter recorder consumes it.
    let mut consumer = TaskConsumer::connect(&worker_cfg, Source::Tasks, 10).await.expect("the worker user connects");
    let mut ids = Vec::new();
    for i in 0..3 {
        let d = next(&mut consumer).await;
        ids.push(d.task.as_ref().expect("a task").task_id.clone());
        if i == 0 {
            d.dead_letter().await.expect("the worker rejects a task")
        } else {
            d.ack().await.expect("the worker acks")
        }
    }
    ids.sort();
    let mut want: Vec<_> = tasks.iter().map(|t| t.task_id.clone()).collect();
    want.sort();
    assert_eq!(ids, want);
    consumer.close().await;
    let mut recorder = TaskConsumer::connect(&worker_cfg, Source::DeadLetters, 1).await.expect("the recorder connects");
    let d = next(&mut recorder).await;
    assert_eq!(d.death.as_ref().expect("a dead letter").reason, "rejected");
    d.ack().await.unwrap();
    recorder.close().await;

    // What the worker must not do.
    let conn = connect(&worker_cfg.broker_url).await;
    let submit = publish(&conn.create_channel().await.unwrap(), &topology.submit_exchange, &topology.tasks_queue).await;
    assert_refused("worker: publishing tasks", submit);
    let direct = publish(&conn.create_channel().await.unwrap(), "", &topology.tasks_queue).await;
    assert_refused("worker: publishing to the tasks queue through the default exchange", direct);
    let dlx =
        publish(&conn.create_channel().await.unwrap(), &topology.dead_letter_exchange, &topology.dead_letter_queue)
            .await;
    assert_refused("worker: publishing to the dead-letter exchange", dlx);
    assert_cannot_configure("worker", &conn, &topology).await;
    let _ = conn.close(200, "bye".into()).await;

    // The refusals changed nothing: the queues are there and empty.
    let admin = config(&rabbit, ADMIN, ADMIN_PASSWORD);
    assert_eq!(common::queues::ready_in_queue(&admin, &topology.tasks_queue).await, 0);
    assert_eq!(common::queues::ready_in_queue(&admin, &topology.dead_letter_queue).await, 0);
    rabbit.stop();
}

#[tokio::test]
async fn a_user_without_configure_permission_is_told_when_the_topology_is_missing() {
    let _node = ONE_NODE.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut rabbit = RabbitServer::start();
    rabbit.import_definitions(&deployment_definitions(dir.path()));
    // The users exist, the queues do not (an operator deleted them).
    let admin = config(&rabbit, ADMIN, ADMIN_PASSWORD);
    fitfleet_fleet::amqp::delete_topology(&admin).await.expect("the administrator deletes the topology");
    let err = Publisher::connect(&config(&rabbit, "fitfleet-client", CLIENT_PASSWORD))
        .await
        .err()
        .expect("no publisher without the topology");
    let text = err.to_string();
    assert!(text.contains("does not exist") && text.contains("definitions"), "{text}");
    // The administrator (configure permission) declares it again, and the client can publish.
    fitfleet_fleet::amqp::check(&admin).await.expect("the administrator declares the topology");
    let mut publisher = Publisher::connect(&config(&rabbit, "fitfleet-client", CLIENT_PASSWORD)).await.unwrap();
    publisher.publish(&common::jobs::fake_tasks(&JobId::generate(), 1)).await.unwrap();
    publisher.close().await;
    rabbit.stop();
}
