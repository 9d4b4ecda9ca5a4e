//! Admission control against real `fitfleet-worker` processes, RabbitMQ and Redis: a task whose
//! model would need more memory than the worker's budget (`max_model_bytes`) fails unbuilt,
//! naming the estimate and the budget, while the worker stays small and goes on with the next
//! job.
mod fleet_common;

use std::time::Duration;

use fitfleet_engine::model::ModelSettings;
use fitfleet_protocol::{JobId, Status, Task, Work};
use fleet_common::*;

/// `channels` channels of `bins` bins, each with a sample name of its own: a small file (a few
/// MB) whose grid of sample names times bins is `channels^2 * bins`.
fn wide_workspace(channels: usize, bins: usize) -> Vec<u8> {
    let chans: Vec<serde_json::Value> = (0..channels)
        .map(|c| {
            serde_json::json!({"name": format!("ch{c}"), "samples": [
                {"name": "signal", "data": vec![1.0; bins], "modifiers": [{"name": "mu", "type": "normfactor", "data": null}]},
                {"name": format!("background_{c}"), "data": vec![10.0; bins], "modifiers": []}]})
        })
        .collect();
    let obs: Vec<serde_json::Value> =
        (0..channels).map(|c| serde_json::json!({"name": format!("ch{c}"), "data": vec![10.0; bins]})).collect();
    serde_json::to_vec(&serde_json::json!({"channels": chans, "observations": obs, "version": "1.0.0",
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}]}))
    .unwrap()
}

#[test]
fn a_model_over_the_budget_fails_unbuilt_and_the_worker_goes_on() {
    let _serial = serial();
    runtime().block_on(async {
        let cfg = config("admission");
        let store = require_services(&cfg).await;
        let _cleanup = Cleanup::both(&cfg);
        let mut w = spawn_worker(&cfg, "guarded", 1, &["--max-model-bytes", &(2u64 << 30).to_string()]);

        // 400 channels of 400 bins: 0.6 MB of JSON, a 401 x 160,000 grid of rates.
        let wide = wide_workspace(400, 400);
        let digest = store.put_workspace(&wide).await.unwrap().digest;
        let job = JobId::generate();
        let task =
            Task::new(job.clone(), digest, None, ModelSettings::default(), Work::Fit, fitfleet_protocol::now_ms());
        create_and_publish(&cfg, &store, std::slice::from_ref(&task)).await;
        let status = wait_done(&store, &job, Duration::from_secs(60)).await;
        assert_eq!((status.done, status.failed), (0, 1));
        let results = assert_exactly_once(&store, std::slice::from_ref(&task)).await;
        match &results[0].status {
            Status::Failed { reason } => {
                assert!(
                    reason.contains("would take an estimated") && reason.contains("401 samples x 160000 bins"),
                    "{reason}"
                );
                assert!(reason.ends_with("more than the 2.0 GiB that max_model_bytes allows"), "{reason}");
            }
            Status::Succeeded => panic!("a model over the budget was built"),
        }
        assert_eq!(results[0].attempt, 1, "refused on its first delivery");
        let rss = rss_kib(w.pid()).expect("the worker runs");
        println!("admission: the worker's resident memory after refusing it: {} MiB", rss / 1024);
        assert!(rss < 1 << 20, "the worker held {rss} KiB");

        // The next job runs as usual.
        let (ws, ps) = pallet_1lbb();
        let next = submit(&cfg, &store, &ws, &ps.patches().iter().take(2).collect::<Vec<_>>()).await;
        let done = wait_done(&store, &next[0].job_id, Duration::from_secs(60)).await;
        assert_eq!((done.done, done.failed), (2, 0));
        assert!(w.exited().is_none(), "{}", w.log_text());
    });
}
