//! `fitfleet status`: where a job is: state, counts, times, and why tasks failed.
use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, Result};
use fitfleet_protocol::Status;

use crate::args::JobArgs;
use crate::fleet;
use crate::job_label::JobLabel;
use crate::settings::ClientSettings;
use crate::timings::TimingSummary;

/// How many distinct failure reasons are listed.
const REASONS_SHOWN: usize = 5;

pub fn run(args: &JobArgs) -> Result<ExitCode> {
    let job = fleet::job_id(&args.job.id)?;
    let settings = ClientSettings::load(&args.connection)?;
    fleet::block_on(async {
        let store = fleet::store(&settings.broker).await?;
        let s = fleet::job_status(&store, &job).await?;
        let now = fitfleet_protocol::now_ms();
        let label = JobLabel::parse(&s.label);
        println!("job       {}", s.job_id);
        println!("label     {}", label.summary);
        println!("state     {}", s.state);
        println!("tasks     {}: {} succeeded, {} failed, {} remaining", s.total, s.done, s.failed, s.remaining());
        println!("created   {} ago", fleet::human_duration(fleet::between(s.created_ms, now)));
        let end = s.finished_ms.unwrap_or(now);
        println!(
            "elapsed   {}{}",
            fleet::human_duration(fleet::between(s.created_ms, end)),
            if s.state.is_final() { "" } else { " so far" }
        );
        let results = if s.done + s.failed > 0 {
            store.results(&job).await.with_context(|| format!("reading the results of job {job}"))?
        } else {
            Vec::new()
        };
        if let Some(timings) = TimingSummary::of(&results) {
            println!("{timings}");
        }
        if s.failed > 0 {
            let mut reasons: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for r in &results {
                if let Status::Failed { reason } = &r.status {
                    let patch = r.patch.as_ref().map_or(r.task_id.as_str(), |p| p.name.as_str());
                    reasons.entry(reason.as_str()).or_default().push(patch);
                }
            }
            let mut reasons: Vec<(&str, Vec<&str>)> = reasons.into_iter().collect();
            reasons.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
            println!("failures  {}, {}:", plural(s.failed as usize, "task"), plural(reasons.len(), "reason"));
            for (reason, mut patches) in reasons.iter().take(REASONS_SHOWN).cloned() {
                patches.sort_unstable();
                let shown: Vec<&str> = patches.iter().take(3).copied().collect();
                println!(
                    "  {:>4} x {reason}  ({}{})",
                    patches.len(),
                    shown.join(", "),
                    if patches.len() > 3 { ", ..." } else { "" }
                );
            }
            if reasons.len() > REASONS_SHOWN {
                println!(
                    "  ... and {} more reasons (`fitfleet results {job} --format csv`)",
                    reasons.len() - REASONS_SHOWN
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })?
}

/// "1 task", "3 tasks".
fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}
