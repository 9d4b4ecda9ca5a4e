//! `fitfleet results`: a job's results so far, as the results document (JSON) or CSV.
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::args::{ResultsArgs, ResultsFormat};
use crate::job_label::JobLabel;
use crate::results::ResultsDoc;
use crate::settings::ClientSettings;
use crate::{fleet, output, results_csv, toys_merge};

pub fn run(args: &ResultsArgs) -> Result<ExitCode> {
    let job = fleet::job_id(&args.job.id)?;
    let settings = ClientSettings::load(&args.connection)?;
    let (doc, status) = fleet::block_on(async {
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
    })??;
    write(&doc, args)?;
    if !status.state.is_final() || status.remaining() > 0 {
        eprintln!(
            "fitfleet: job {job} is {}: {} of {} tasks have results so far",
            status.state,
            status.done + status.failed,
            status.total
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn write(doc: &ResultsDoc, args: &ResultsArgs) -> Result<()> {
    let out = args.output.out.as_deref();
    match args.format {
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
