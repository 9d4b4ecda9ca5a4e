//! Forged tasks against real `fitfleet-worker` processes, RabbitMQ and Redis: a task published
//! under a real task id with another patch, a message whose ids disagree with its body, and a
//! task its job does not list. None is run as the task it pretends to be; the genuine tasks
//! and other jobs are untouched, and the worker goes on.
mod fleet_common;

use std::time::Duration;

use fitfleet_protocol::{Status, Task, TaskId};
use fleet_common::*;

#[test]
fn forged_tasks_are_never_run_as_the_tasks_they_name() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("forgery");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        let (ws, ps) = pallet_1lbb();
        let digest = store.put_workspace(&ws).await.unwrap().digest;
        let patches: Vec<_> = ps.patches().iter().take(4).collect();
        let tasks = tasks_for(&digest, &patches, &hypotest_mu1());
        store.create_job(&fitfleet_fleet::store::JobSpec::from_tasks("forgery", &tasks)).await.unwrap();
        let job = &tasks[0].job_id;
        let encode = |t: &Task| t.encode().unwrap();

        // 1. Task 0's ids with task 1's patch: the attack that stored a wrong CLs as task 0's.
        let victim = &tasks[0];
        let forged = Task { patch: tasks[1].patch.clone(), ..victim.clone() };
        // 2. Task 2's body under task 3's message id: which one is meant cannot be told.
        // 3. A task id this job never listed, in a real job.
        let stranger = Task { task_id: TaskId::parse("00000000000000000000000000000000").unwrap(), ..tasks[3].clone() };
        publish_raw(
            &cfg,
            &[
                (encode(&forged), Some((job, &victim.task_id))),
                (encode(&tasks[2]), Some((job, &tasks[3].task_id))),
                (encode(&stranger), Some((job, &stranger.task_id))),
            ],
        )
        .await;
        let w = spawn_worker(&cfg, "guard", 1, &[]);
        // The forgeries are settled before the genuine tasks are published.
        wait_ready(&cfg, 0, Duration::from_secs(60)).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while metric(&w.metrics(), r#"fitfleet_worker_tasks_total{outcome="rejected"}"#) < 3.0 {
            assert!(std::time::Instant::now() < deadline, "{}\n{}", w.metrics(), w.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut publisher = fitfleet_fleet::amqp::Publisher::connect(&cfg).await.unwrap();
        publisher.publish(&tasks).await.unwrap();
        publisher.close().await;

        let status = wait_done(&store, job, Duration::from_secs(120)).await;
        assert_eq!((status.total, status.done, status.failed), (4, 3, 1));
        let results = assert_exactly_once(&store, &tasks).await;
        let of = |t: &Task| results.iter().find(|r| r.task_id == t.task_id).unwrap();
        // The victim's result is the forgery's rejection, naming it and the recorded patch: no
        // wrong number was stored as its answer.
        match &of(victim).status {
            Status::Failed { reason } => {
                assert!(reason.contains("does not match its job record") && reason.contains("not run"), "{reason}")
            }
            Status::Succeeded => panic!("the forged task was run as {}", victim.task_id),
        }
        assert_eq!(of(victim).patch, victim.patch.as_ref().map(|p| p.label()));
        assert!(of(victim).outcome.is_none());
        // The others are the genuine tasks' answers, from their own deliveries.
        for t in &tasks[1..] {
            assert!(of(t).is_success(), "{:?}", of(t).status);
            assert_eq!(of(t).patch, t.patch.as_ref().map(|p| p.label()));
        }
        let log = w.log_text();
        assert!(log.contains("rejecting a forged message") && log.contains("differs from its body"), "{log}");
        assert!(log.contains("rejecting a task its job does not list"), "{log}");
        assert_eq!(metric(&w.metrics(), r#"fitfleet_worker_tasks_total{outcome="rejected"}"#), 3.0);
    });
}
