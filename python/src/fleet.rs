//! The command line's fleet client and embedded run, from Python: each call is a subcommand's
//! arguments (the flags of `crates/cli/src/args.rs`, so the defaults, checks and messages are
//! the command line's), parsed by the command line's own parser and run by its library
//! functions; the answer is JSON.
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use clap::Parser;
use fitfleet::args::{Cli, Command};
use fitfleet::job_label::JobLabel;
use fitfleet::results::ResultsDoc;
use fitfleet::settings::ClientSettings;
use fitfleet::{commands, fleet};
use fitfleet_fleet::store::{CancelOutcome, JobStatus};
use pyo3::prelude::*;
use serde_json::{Value, json};

use crate::errors::OrPy;

/// Run `fitfleet ARGV...` for one of submit, run, status, jobs, cancel and results; its
/// answer as JSON.
#[pyfunction]
pub fn command(py: Python<'_>, argv: Vec<String>) -> PyResult<String> {
    let cli = parse(&argv).or_py()?;
    py.detach(|| run(cli.command)).or_py().map(|v| v.to_string())
}

/// Draw a results document (JSON text) with `fitfleet plot --results - ARGV...`'s options;
/// the lines that say what was drawn.
#[pyfunction]
pub fn plot(py: Python<'_>, doc: &str, argv: Vec<String>) -> PyResult<Vec<String>> {
    let mut full = vec!["plot".to_string(), "--results".to_string(), "-".to_string()];
    full.extend(argv);
    let Command::Plot(args) = parse(&full).or_py()?.command else { unreachable!("parsed as plot") };
    let doc: ResultsDoc = serde_json::from_str(doc)
        .context("the results: not a results document (a dict keyed by patch name)")
        .or_py()?;
    py.detach(|| commands::plot::draw(&doc, &args)).or_py()
}

/// Write the bundled example pallet into `out_dir`: the paths of BkgOnly.json and patchset.json.
#[pyfunction]
pub fn example_pallet(py: Python<'_>, out_dir: PathBuf) -> PyResult<(PathBuf, PathBuf)> {
    py.detach(|| fitfleet::pallet::write(&out_dir)).or_py().map(|[w, p]| (w, p))
}

fn parse(argv: &[String]) -> anyhow::Result<Cli> {
    let full = std::iter::once("fitfleet".to_string()).chain(argv.iter().cloned());
    Cli::try_parse_from(full).map_err(|e| anyhow!("{}", e.render().to_string().trim_end()))
}

fn run(command: Command) -> anyhow::Result<Value> {
    match command {
        Command::Submit(a) => {
            let s = commands::submit::submit_job(&a)?;
            Ok(
                json!({"job": s.job.to_string(), "tasks": s.tasks, "summary": s.summary, "newly_stored": s.newly_stored}),
            )
        }
        Command::Run(a) => {
            let (doc, s) = commands::run::run_document(&a)?;
            Ok(json!({"results": doc, "total": s.total, "failed": s.failed, "slots": s.slots, "seconds": s.seconds}))
        }
        Command::Results(a) => {
            let (doc, status) = commands::results::job_document(&a.job.id, &a.connection)?;
            Ok(json!({"results": doc, "status": status_json(&status)}))
        }
        Command::Status(a) => {
            let job = fleet::job_id(&a.job.id)?;
            let settings = ClientSettings::load(&a.connection)?;
            fleet::block_on(async {
                let store = fleet::store(&settings.broker).await?;
                anyhow::Ok(status_json(&fleet::job_status(&store, &job).await?))
            })?
        }
        Command::Jobs(a) => {
            let settings = ClientSettings::load(&a.connection)?;
            fleet::block_on(async {
                let store = fleet::store(&settings.broker).await?;
                let jobs = store.list_jobs().await.context("listing jobs")?;
                anyhow::Ok(Value::Array(jobs.iter().take(a.limit).map(status_json).collect()))
            })?
        }
        Command::Cancel(a) => {
            let job = fleet::job_id(&a.job.id)?;
            let settings = ClientSettings::load(&a.connection)?;
            fleet::block_on(async {
                let store = fleet::store(&settings.broker).await?;
                fleet::job_status(&store, &job).await?;
                let outcome = store.cancel_job(&job).await.with_context(|| format!("cancelling job {job}"))?;
                anyhow::Ok(match outcome {
                    CancelOutcome::Cancelled => json!({"cancelled": true, "state": "cancelled"}),
                    CancelOutcome::AlreadyFinal(state) => json!({"cancelled": false, "state": state.to_string()}),
                })
            })?
        }
        _ => bail!("only submit, run, status, jobs, cancel and results run through this call"),
    }
}

/// A job's record for Python: state, counts, times (unix ms) and label.
fn status_json(s: &JobStatus) -> Value {
    let label = JobLabel::parse(&s.label);
    json!({
        "job": s.job_id.to_string(),
        "state": s.state.to_string(),
        "final": s.state.is_final(),
        "summary": label.summary,
        "labels": label.labels,
        "work": s.work,
        "total": s.total,
        "done": s.done,
        "failed": s.failed,
        "remaining": s.remaining(),
        "created_ms": s.created_ms,
        "started_ms": s.started_ms,
        "finished_ms": s.finished_ms,
    })
}

/// A results document (JSON text) as the table `fitfleet results --format csv` writes.
#[pyfunction]
pub fn results_csv(doc: &str) -> PyResult<String> {
    let doc: ResultsDoc = serde_json::from_str(doc)
        .context("the results: not a results document (a dict keyed by patch name)")
        .or_py()?;
    let mut out = Vec::new();
    fitfleet::results_csv::write(&doc, &mut out).or_py()?;
    String::from_utf8(out).or_py()
}
