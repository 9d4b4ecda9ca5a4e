//! `fitfleet run`: the fleet on one machine. The same tasks `submit` would publish go through
//! an in-process queue ([`LocalQueue`]) to one fit slot per core, each a thread driving the
//! workers' [`Processor`] ([`run_slots`]); results land in an in-process store ([`LocalStore`]) and
//! become the same results document `fitfleet results` writes.
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use fitfleet_processor::local::{LocalQueue, LocalStore, run_slots};
use fitfleet_processor::{ModelCache, Processor};
use fitfleet_protocol::{JobId, WorkerId};

use crate::args::RunArgs;
use crate::job_label::JobLabel;
use crate::results::ResultsDoc;
use crate::settings::ClientSettings;
use crate::{output, prepare, progress, tasks, toys_merge};

/// What an embedded run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub total: u64,
    pub failed: u64,
    pub slots: usize,
    pub seconds: f64,
}

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let (doc, s) = run_document(args)?;
    output::json(&doc, args.output.out.as_deref()).context("writing the results document")?;
    let (total, failed, slots) = (s.total, s.failed, s.slots);
    eprintln!(
        "fitfleet: {total} task{} in {:.1} s on {slots} slot{}: {} succeeded, {failed} failed{}",
        if total == 1 { "" } else { "s" },
        s.seconds,
        if slots == 1 { "" } else { "s" },
        total - failed,
        args.output.out.as_ref().map_or_else(String::new, |p| format!("; results in {}", p.display()))
    );
    Ok(if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Run every task in process and return the results document: `fitfleet run` without the
/// writing (the Python package's `fitfleet.run` too).
pub fn run_document(args: &RunArgs) -> Result<(ResultsDoc, RunSummary)> {
    let works = tasks::works(&args.work)?;
    // The fleet's size limits hold here too, so that what runs here also runs on the fleet.
    let settings = ClientSettings::from_environment()?;
    let limits = settings.broker.limits();
    let batch = works.iter().map(fitfleet_protocol::Work::batch).max().unwrap_or(1);
    let prepared = prepare::prepare(&args.input, tasks::needs_poi(&args.work), &limits, batch)?;
    let slots = args.slots.unwrap_or(settings.slots);
    let slots = if slots == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { slots };

    let store = LocalStore::new();
    let digest = store.put_workspace(prepared.bytes.clone());
    debug_assert_eq!(digest, prepared.digest);
    let job = JobId::generate();
    let all = tasks::build(&job, &prepared, &works)?;
    tasks::check_sizes(&all, &limits)?;
    let total = all.len() as u64;
    let toys = matches!(works.first(), Some(fitfleet_protocol::Work::Toys { .. }));
    let shards =
        toys.then(|| toys_merge::shards_per_patch(all.iter().map(|t| t.patch.as_ref().map(|p| p.name.as_str()))));
    let label = JobLabel {
        summary: format!("{} on {}", tasks::describe(&args.work), prepared.describe()),
        labels: prepared.labels.clone(),
    };
    tracing::info!(job = %job, tasks = total, slots, "{}", label.summary);
    let queue = LocalQueue::new();
    queue.publish(all);

    let processor =
        Processor::new(ModelCache::new(ModelCache::DEFAULT_MODELS, ModelCache::DEFAULT_BYTES), WorkerId::current())
            .with_limits(limits)
            .with_device(args.device.open()?.0)?;
    let bar = progress::tasks_bar(total);
    let failed = AtomicU64::new(0);
    let start = Instant::now();
    run_slots(&queue, &store, &processor, slots.min(total as usize), &|task, result| {
        if let fitfleet_protocol::Status::Failed { reason } = &result.status {
            let n = failed.fetch_add(1, Ordering::Relaxed) + 1;
            bar.set_message(progress::failures_message(n));
            tracing::warn!(patch = task.label(), "task failed: {reason}");
        }
        bar.inc(1);
    });
    bar.finish_and_clear();
    let results = store.results();
    let doc = toys_merge::document(&results, &label.labels, shards.as_ref());
    let summary = RunSummary { total, failed: failed.into_inner(), slots, seconds: start.elapsed().as_secs_f64() };
    Ok((doc, summary))
}
