//! From the command line's work options and a checked batch to the fleet's tasks: one per
//! patch, or one per shard of pseudo-experiments per patch. `fitfleet submit` publishes them;
//! `fitfleet run` processes the very same values in process.
use anyhow::{Result, anyhow, bail};
use fitfleet_engine::infer::Calculator;
use fitfleet_protocol::{InvalidJob, JobId, JobSize, Limit, Limits, Task, Work};

use crate::args::{CalcType, WorkArgs};
use crate::prepare::Prepared;

/// The work of each patch's tasks (several for toys: one per shard), checked as workers
/// check it ([`Work::check`]); the number of shards is bounded ([`JobSize::toy_shards`])
/// before they are listed.
pub fn works(args: &WorkArgs) -> Result<Vec<Work>> {
    let works = plan(args)?;
    for w in &works {
        check_work(w)?;
    }
    Ok(works)
}

/// [`Work::check`], the worker's own check, for work the client runs or publishes: the
/// refusal in the worker's words, followed by the flags that set the field.
pub fn check_work(work: &Work) -> Result<()> {
    work.check().map_err(|e| {
        let flags = match e.field {
            "work.poi" => "--poi",
            "work.alpha" => "--alpha",
            "work.calculator.ntoys" => "--ntoys",
            "work.count" | "work.first" => "--ntoys, --toys-per-task",
            f if f.starts_with("work.scan") => "--scan",
            _ => "--poi, --alpha, --scan, --ntoys, --toys-per-task",
        };
        anyhow!("the work asked for cannot run: {e} ({flags})")
    })
}

/// A job too large for the fleet ([`JobSize`]): the reason, then the flags that set the count.
fn job_refused(e: &InvalidJob) -> anyhow::Error {
    let flags = match e.field {
        "job.ntoys" => "--ntoys",
        "job.toys_per_task" => "--toys-per-task",
        _ => "--ntoys, --toys-per-task, --patch",
    };
    anyhow!("the job asked for cannot run: {e} ({flags})")
}

fn plan(args: &WorkArgs) -> Result<Vec<Work>> {
    let test_stat = args.test.test_stat.into();
    let toys = args.test.calctype == CalcType::Toys;
    if args.limit.scan.is_some() && !args.upper_limit {
        bail!("--scan is for upper limits: add --upper-limit");
    }
    if toys && (args.upper_limit || args.fit || args.significance) {
        bail!(
            "--calctype toys is for hypothesis tests (CLs at --poi); upper limits, fits and significances are asymptotic"
        );
    }
    if args.upper_limit {
        return Ok(vec![Work::UpperLimit {
            alpha: args.limit.alpha.alpha,
            test_stat,
            calculator: Calculator::Asymptotics,
            scan: args.limit.grid()?,
        }]);
    }
    if args.fit {
        return Ok(vec![Work::Fit]);
    }
    if args.significance {
        return Ok(vec![Work::Significance]);
    }
    if !toys {
        return Ok(vec![Work::Hypotest { poi: args.poi.poi, test_stat, calculator: Calculator::Asymptotics }]);
    }
    let (ntoys, per_task) = (u64::try_from(args.test.ntoys).unwrap_or(u64::MAX), args.toys_per_task);
    // Bounded before anything is listed: at most MAX_TASKS_PER_JOB shards.
    let shards = JobSize::toy_shards(ntoys, per_task).map_err(|e| job_refused(&e))?;
    Ok((0..shards)
        .map(|i| {
            let first = i * per_task;
            Work::Toys { poi: args.poi.poi, test_stat, seed: args.test.seed, first, count: per_task.min(ntoys - first) }
        })
        .collect())
}

/// Whether the work tests the POI (so every model must have one).
pub fn needs_poi(args: &WorkArgs) -> bool {
    !args.fit
}

/// What the work is, for people: "hypotest mu=1 (asymptotics, qtilde)".
pub fn describe(args: &WorkArgs) -> String {
    let stat = format!("{:?}", args.test.test_stat.test_stat).to_lowercase();
    if args.upper_limit {
        match &args.limit.scan {
            Some(s) => format!(
                "upper limits at {}% CL, scan {} to {} ({} points), {stat}",
                100.0 * (1.0 - args.limit.alpha.alpha),
                s[0],
                s[1],
                s[2]
            ),
            None => format!("upper limits at {}% CL, {stat}", 100.0 * (1.0 - args.limit.alpha.alpha)),
        }
    } else if args.fit {
        "fits".to_string()
    } else if args.significance {
        "significances (q0)".to_string()
    } else if args.test.calctype == CalcType::Toys {
        format!(
            "hypotests mu={} with {} toys (seed {}, {} per task), {stat}",
            args.poi.poi, args.test.ntoys, args.test.seed, args.toys_per_task
        )
    } else {
        format!("hypotests mu={} (asymptotics), {stat}", args.poi.poi)
    }
}

/// The tasks of a job: for each patch (or the workspace alone), one task per work. Their
/// number is checked against [`fitfleet_protocol::MAX_TASKS_PER_JOB`] before any is built.
pub fn build(job: &JobId, prepared: &Prepared, works: &[Work]) -> Result<Vec<Task>> {
    JobSize::new(prepared.patches.len().max(1), works.len()).tasks().map_err(|e| job_refused(&e))?;
    let now = fitfleet_protocol::now_ms();
    let patches: Vec<Option<&fitfleet_protocol::Patch>> =
        if prepared.patches.is_empty() { vec![None] } else { prepared.patches.iter().map(Some).collect() };
    Ok(patches
        .into_iter()
        .flat_map(|patch| {
            works.iter().map(move |work| {
                Task::new(
                    job.clone(),
                    prepared.digest.clone(),
                    patch.cloned(),
                    prepared.settings.clone(),
                    work.clone(),
                    now,
                )
            })
        })
        .collect())
}

/// Every task's message fits under `max_task_bytes` (workers refuse longer ones unread); the
/// error names the first that does not.
pub fn check_sizes(tasks: &[Task], limits: &Limits) -> Result<()> {
    for t in tasks {
        let size = t.encode()?.len() as u64;
        limits.check(Limit::Task, format!("the task of patch {}", t.label()), size)?;
    }
    Ok(())
}
