//! `fitfleet results`: a job's results so far, as the results document (JSON) or CSV.
use std::process::ExitCode;

use anyhow::{Context, Result};

use fitfleet_fleet::FleetArgs;
use fitfleet_fleet::store::JobStatus;

use crate::args::{ResultsArgs, ResultsFormat, ResultsSourceArgs};
use crate::job_label::JobLabel;
use crate::results::ResultsDoc;
use crate::settings::ClientSettings;
use crate::{fleet, output, results_csv, toys_merge};

pub fn run(args: &ResultsArgs) -> Result<ExitCode> {
    let (doc, status) = job_document(&args.job.id, &args.connection)?;
    write(&doc, args)?;
    if !status.state.is_final() || status.remaining() > 0 {
        eprintln!(
            "fitfleet: job {} is {}: {} of {} tasks have results so far",
            status.job_id,
            status.state,
            status.done + status.failed,
            status.total
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The results document of a fleet job so far (toy shards merged), and the job's status.
pub fn job_document(id: &str, connection: &FleetArgs) -> Result<(ResultsDoc, JobStatus)> {
    let job = fleet::job_id(id)?;
    let settings = ClientSettings::load(connection)?;
    fleet::block_on(async {
        let store = fleet::store(&settings.broker).await?;
        let status = fleet::job_status(&store, &job).await?;
        let results = store.results(&job).await.with_context(|| format!("reading the results of job {job}"))?;
        let labels = JobLabel::parse(&status.label).labels;
        let shards = if status.work == "toys" {
            let tasks = store.job_tasks(&job).await.with_context(|| format!("reading the tasks of job {job}"))?;
            Some(toys_merge::shards_per_patch(tasks.iter().map(|t| t.patch.as_ref().map(|p| p.name.as_str()))))
        } else {
            None
        };
        anyhow::Ok((toys_merge::document(&results, &labels, shards.as_ref()), status))
    })?
}

/// The results `source` names: a fleet job's so far, or a results document.
pub(super) fn read(source: &ResultsSourceArgs) -> Result<ResultsDoc> {
    match (&source.which.job, &source.which.path) {
        (Some(job), _) => Ok(job_document(job, &source.connection)?.0),
        (None, Some(path)) => super::plot::read_doc(path),
        (None, None) => anyhow::bail!("give a job id or --results FILE"),
    }
}

fn write(doc: &ResultsDoc, args: &ResultsArgs) -> Result<()> {
    write_as(doc, args.format, args.output.out.as_deref())
}

/// Write `doc` as JSON or CSV, to `out` or standard output.
pub(super) fn write_as(doc: &ResultsDoc, format: ResultsFormat, out: Option<&std::path::Path>) -> Result<()> {
    match format {
        ResultsFormat::Json => output::json(doc, out),
        ResultsFormat::Csv => match out {
            Some(path) => {
                let file = std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
                results_csv::write(doc, std::io::BufWriter::new(file))
                    .with_context(|| format!("writing {}", path.display()))
            }
            None => results_csv::write(doc, std::io::stdout().lock()),
        },
    }
}
