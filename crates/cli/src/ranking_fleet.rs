//! `fitfleet ranking --fleet`: the impacts as the fleet's tasks. The free fit is made here (it
//! names the parameters and gives the POI's best fit); the ranked parameters are split into
//! tasks of `--per-task` parameters (`Work::Impacts`), published as one job like `submit`'s,
//! followed with a progress bar like `wait`, and the tasks' impacts gathered into one ranking.
//! Each worker repeats the free fit (the same model and code give the same numbers) and fits its
//! parameters' four points.
use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use fitfleet_engine::infer::FitOptions;
use fitfleet_engine::infer::diagnostics::{Impact, Ranking, Reference, ranked_parameters};
use fitfleet_fleet::store::JobState;
use fitfleet_protocol::{JobId, Outcome, Status, Work};

use crate::args::RankingArgs;
use crate::commands::submit::publish_job;
use crate::job_label::JobLabel;
use crate::settings::ClientSettings;
use crate::{fleet, input, prepare, tasks};

/// Without a result for this long, say why (as `fitfleet wait --stall-secs`).
const STALL: Duration = Duration::from_secs(60);
/// How many failed tasks' reasons an error lists.
const SHOWN_FAILURES: usize = 5;

/// The ranking of the model of `args`, its fixed fits made by the fleet.
pub fn ranking(args: &RankingArgs) -> Result<Ranking> {
    ensure!(args.per_task >= 1, "--per-task 0: a task ranks at least one parameter");
    let loaded = input::load(&args.model)?;
    let model = &loaded.compiled;
    let reference = Reference::fit(model, &loaded.data, &FitOptions::default()).context("the free fit")?;
    let names: Vec<String> =
        ranked_parameters(model)?.into_iter().map(|i| model.config().par_names[i].clone()).collect();
    ensure!(!names.is_empty(), "the model has no parameter to rank (every parameter is the POI or fixed)");
    let per_task = args.per_task.min(fitfleet_protocol::MAX_IMPACTS_PER_TASK);
    let works: Vec<Work> = names.chunks(per_task).map(|c| Work::Impacts { parameters: c.to_vec() }).collect();
    for w in &works {
        tasks::check_work(w)?;
    }

    let settings = ClientSettings::load(&args.connection)?;
    let limits = settings.broker.limits();
    let batch = works.iter().map(Work::batch).max().unwrap_or(1);
    let prepared = prepare::prepare(&args.model.batch_input(), true, &limits, batch)?;
    ensure!(
        prepared.patches.len() <= 1,
        "a ranking is of one model: choose one patch of the patchset with --patch ({} patches)",
        prepared.patches.len()
    );
    let job = JobId::generate();
    let label = JobLabel {
        summary: format!("ranking of {} parameters ({} per task) on {}", names.len(), per_task, prepared.describe()),
        labels: prepared.labels.clone(),
    };
    let tasks = tasks::build(&job, &prepared, &works)?;
    tasks::check_sizes(&tasks, &limits)?;
    let impacts = fleet::block_on(async {
        let submitted = publish_job(&settings, &prepared, &job, &tasks, &label).await?;
        eprintln!("fitfleet: job {job}: {} ({} tasks)", label.summary, submitted.tasks);
        let store = fleet::store(&settings.broker).await?;
        let (state, (done, failed, total)) =
            crate::commands::wait::follow_with_bar(&settings, &store, &job, STALL).await?;
        let results = store.results(&job).await.with_context(|| format!("reading the results of job {job}"))?;
        if state == JobState::Cancelled {
            bail!("job {job} was cancelled: {done} of {total} tasks succeeded");
        }
        let mut impacts: HashMap<String, Impact> = HashMap::new();
        let mut reasons = Vec::new();
        for r in &results {
            match (&r.status, &r.outcome) {
                (Status::Succeeded, Some(Outcome::Impacts(v))) => {
                    impacts.extend(v.iter().map(|i| (i.parameter.clone(), i.clone())));
                }
                (Status::Failed { reason }, _) => reasons.push(reason.clone()),
                (_, other) => reasons.push(format!("a task answered {other:?}, not impacts")),
            }
        }
        if failed > 0 || !reasons.is_empty() {
            let shown: Vec<&str> = reasons.iter().take(SHOWN_FAILURES).map(String::as_str).collect();
            bail!(
                "job {job}: {failed} of {total} tasks failed (`fitfleet status {job}` lists them): {}",
                shown.join("; ")
            );
        }
        anyhow::Ok(impacts)
    })??;
    let mut out = Vec::with_capacity(names.len());
    for name in &names {
        match impacts.get(name) {
            Some(i) => out.push(i.clone()),
            None => bail!("job {job}: no task answered for parameter {name}"),
        }
    }
    Ok(Ranking::new(model, &reference, out)?)
}
