//! `fitfleet submit`: check every input, upload the workspace once, record the job and
//! publish its tasks; print the job id and return (fire and forget).
use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use fitfleet_fleet::amqp::Publisher;
use fitfleet_fleet::store::JobSpec;
use fitfleet_protocol::JobId;

use crate::args::SubmitArgs;
use crate::job_label::JobLabel;
use crate::settings::ClientSettings;
use crate::{fleet, prepare, tasks};

/// A job on the fleet's queue.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub job: JobId,
    pub tasks: usize,
    /// What runs on what, for people.
    pub summary: String,
    /// Whether the workspace was uploaded now (not already stored).
    pub newly_stored: bool,
}

pub fn run(args: &SubmitArgs) -> Result<ExitCode> {
    let s = submit_job(args)?;
    println!("{}", s.job);
    eprintln!(
        "fitfleet: job {}: {} tasks queued ({}; {}); follow it with `fitfleet wait {}`",
        s.job,
        s.tasks,
        s.summary,
        if s.newly_stored { "workspace uploaded" } else { "workspace already stored" },
        s.job
    );
    Ok(ExitCode::SUCCESS)
}

/// Check the inputs, upload the workspace, record the job and publish its tasks: `fitfleet
/// submit` without the printing (the Python package's `Fleet.submit` too).
pub fn submit_job(args: &SubmitArgs) -> Result<Submitted> {
    // Everything that can be wrong with the inputs is found before any connection is made,
    // the sizes the fleet accepts included.
    let works = tasks::works(&args.work)?;
    let settings = ClientSettings::load(&args.connection)?;
    let limits = settings.broker.limits();
    let batch = works.iter().map(fitfleet_protocol::Work::batch).max().unwrap_or(1);
    let prepared = prepare::prepare(&args.input, tasks::needs_poi(&args.work), &limits, batch)?;
    let label = JobLabel {
        summary: format!("{} on {}", tasks::describe(&args.work), prepared.describe()),
        labels: prepared.labels.clone(),
    };
    let job = JobId::generate();
    let tasks = tasks::build(&job, &prepared, &works)?;
    tasks::check_sizes(&tasks, &limits)?;
    fleet::block_on(publish_job(&settings, &prepared, &job, &tasks, &label))?
}

/// Upload the workspace, record the job and publish its tasks (cancelling the job when the
/// publication fails).
pub(crate) async fn publish_job(
    settings: &ClientSettings,
    prepared: &prepare::Prepared,
    job: &JobId,
    tasks: &[fitfleet_protocol::Task],
    label: &JobLabel,
) -> Result<Submitted> {
    let cfg = &settings.broker;
    let store = fleet::store(cfg).await?;
    let mut publisher = Publisher::connect(cfg)
        .await
        .context("connecting to the fleet's broker (RabbitMQ; --broker-url, FITFLEET_BROKER_URL)")?;
    let put = store.put_workspace(&prepared.bytes).await.context("uploading the workspace")?;
    ensure!(
        put.digest == prepared.digest,
        "the store gave the workspace digest {}, expected {}",
        put.digest,
        prepared.digest
    );
    tracing::info!(digest = %put.digest, size = put.size, newly_stored = put.newly_stored, "workspace uploaded");

    store
        .create_job(&JobSpec::from_tasks(label.encode(), tasks))
        .await
        .with_context(|| format!("recording job {job}"))?;
    match publisher.publish(tasks).await {
        Ok(report) => tracing::info!(published = report.published, rate = report.rate(), "tasks published"),
        Err(e) => {
            // The record would wait forever for tasks that are not queued.
            if let Err(c) = store.cancel_job(job).await {
                tracing::warn!(error = %c, "cancelling the job after the failed publish");
            }
            publisher.close().await;
            return Err(e).with_context(|| format!("publishing the tasks of job {job} (the job is cancelled)"));
        }
    }
    publisher.close().await;
    Ok(Submitted {
        job: job.clone(),
        tasks: tasks.len(),
        summary: label.summary.clone(),
        newly_stored: put.newly_stored,
    })
}
