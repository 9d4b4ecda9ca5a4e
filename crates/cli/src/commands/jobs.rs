//! `fitfleet jobs`: the jobs still in the store, newest first, as a table.
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::args::JobsArgs;
use crate::fleet;
use crate::job_label::JobLabel;
use crate::settings::ClientSettings;

pub fn run(args: &JobsArgs) -> Result<ExitCode> {
    let settings = ClientSettings::load(&args.connection)?;
    fleet::block_on(async {
        let store = fleet::store(&settings.broker).await?;
        let jobs = store.list_jobs().await.context("listing jobs")?;
        if jobs.is_empty() {
            eprintln!("fitfleet: no jobs under key prefix {:?}", settings.broker.key_prefix);
            return Ok(ExitCode::SUCCESS);
        }
        let now = fitfleet_protocol::now_ms();
        println!("{:<32}  {:<9}  {:>11}  {:>6}  {:>9}  LABEL", "JOB", "STATE", "FINISHED", "FAILED", "AGE");
        for s in jobs.iter().take(args.limit) {
            println!(
                "{:<32}  {:<9}  {:>11}  {:>6}  {:>9}  {}",
                s.job_id,
                s.state,
                format!("{}/{}", s.done + s.failed, s.total),
                s.failed,
                fleet::human_duration(fleet::between(s.created_ms, now)),
                JobLabel::parse(&s.label).summary
            );
        }
        if jobs.len() > args.limit {
            eprintln!("fitfleet: {} older jobs not shown (--limit)", jobs.len() - args.limit);
        }
        Ok(ExitCode::SUCCESS)
    })?
}
