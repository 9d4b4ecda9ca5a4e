//! `fitfleet cancel`: workers skip the job's remaining tasks; results already in stay.
use std::process::ExitCode;

use anyhow::{Context, Result};
use fitfleet_fleet::store::CancelOutcome;

use crate::args::JobArgs;
use crate::fleet;
use crate::settings::ClientSettings;

pub fn run(args: &JobArgs) -> Result<ExitCode> {
    let job = fleet::job_id(&args.job.id)?;
    let settings = ClientSettings::load(&args.connection)?;
    fleet::block_on(async {
        let store = fleet::store(&settings.broker).await?;
        let before = fleet::job_status(&store, &job).await?;
        match store.cancel_job(&job).await.with_context(|| format!("cancelling job {job}"))? {
            CancelOutcome::Cancelled => println!(
                "job {job} cancelled: {} of {} tasks had finished; workers skip the rest",
                before.done + before.failed,
                before.total
            ),
            CancelOutcome::AlreadyFinal(state) => println!("job {job} is already {state}: nothing to cancel"),
        }
        Ok(ExitCode::SUCCESS)
    })?
}
