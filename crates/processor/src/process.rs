//! One task, start to finish: model from cache or compiled, work run, result with timings.
use std::sync::{Arc, Mutex};
use std::time::Instant;

use candle_core::Device;
use fitfleet_engine::compute::{DeviceChoice, DeviceError};
use fitfleet_engine::infer::{Interrupt, StopReason};
use fitfleet_engine::spec::LoadedWorkspace;
use fitfleet_protocol::{Limit, Limits, Task, TaskResult, Timings, WorkerId, WorkspaceDigest};

use crate::cache::{ModelCache, ModelKey};
use crate::execute::ExecuteError;
use crate::{compile, execute};

/// Background workspaces kept parsed, most recent first: a pallet's tasks all patch the same
/// one, and parsing and validating it (about half of a 1Lbb model's compile time) is then
/// paid once per worker instead of once per patch.
const PARSED_WORKSPACES: usize = 2;

/// Why a task's stored workspace could not be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    /// The store holds no such workspace: the task fails with this reason.
    #[error("workspace {0} is not in the store (never uploaded, or expired): upload it and submit the job again")]
    Missing(WorkspaceDigest),
    /// The store did not answer: the task is fine and is to be tried again later.
    #[error(transparent)]
    Unavailable(#[from] StoreUnavailable),
    /// The store answered with an error: the task fails with this reason.
    #[error("fetching the workspace: {0}")]
    Store(String),
}

/// The store did not answer (a connection lost, a timeout): a transient condition.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the store did not answer: {0}")]
pub struct StoreUnavailable(pub String);

/// Why a task has no result, though nothing is wrong with it: it is to be skipped (its job was
/// cancelled) or tried again later (the store did not answer, the worker is shutting down).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unfinished {
    #[error(transparent)]
    StoreUnavailable(#[from] StoreUnavailable),
    /// Its interrupt stopped it: cancelled, or a shutdown (never for a time budget: a task past
    /// its budget is a failed result).
    #[error("the task was {0}")]
    Stopped(StopReason),
}

/// Processes tasks with a model cache shared by every fit slot of a worker.
pub struct Processor {
    pub cache: ModelCache,
    /// Parsed workspaces by digest, most recently used first (at most [`PARSED_WORKSPACES`]).
    parsed: Mutex<Vec<(String, Arc<LoadedWorkspace>)>>,
    pub worker: WorkerId,
    /// Patches and workspaces larger than these fail unread (`max_patch_bytes`,
    /// `max_workspace_bytes`); task messages are checked before decoding, by the consumer.
    pub limits: Limits,
    /// Where models are compiled and fitted (`device`), by name and opened.
    pub device_choice: DeviceChoice,
    device: Device,
}

impl Processor {
    pub fn new(cache: ModelCache, worker: WorkerId) -> Self {
        Processor {
            cache,
            parsed: Mutex::new(Vec::new()),
            worker,
            limits: Limits::default(),
            device_choice: DeviceChoice::Cpu,
            device: Device::Cpu,
        }
    }

    /// The same on another device, opened (a CUDA GPU is found now, or the error says why not).
    pub fn with_device(self, choice: DeviceChoice) -> Result<Self, DeviceError> {
        let device = choice.open()?;
        Ok(Processor { device_choice: choice, device, ..self })
    }

    /// The same with the fleet's size limits instead of the defaults.
    pub fn with_limits(self, limits: Limits) -> Self {
        Processor { limits, ..self }
    }

    /// The cache key of a task's model on this processor's device.
    pub fn key(&self, task: &Task) -> ModelKey {
        ModelKey {
            device: self.device_choice,
            workspace: task.workspace.as_str().to_string(),
            patch: task.patch.as_ref().map(|p| (p.name.clone(), p.operations.clone())),
            settings: task.settings.clone(),
        }
    }

    /// Whether the task's model is cached (then no workspace needs fetching).
    pub fn has_model(&self, task: &Task) -> bool {
        self.cache.get(&self.key(task)).is_some()
    }

    /// The parsed workspace of `digest`, if kept; marks it most recently used.
    fn parsed_workspace(&self, digest: &str) -> Option<Arc<LoadedWorkspace>> {
        let mut parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
        let i = parsed.iter().position(|(d, _)| d == digest)?;
        let entry = parsed.remove(i);
        let w = entry.1.clone();
        parsed.insert(0, entry);
        Some(w)
    }

    fn keep_parsed_workspace(&self, digest: &str, w: Arc<LoadedWorkspace>) {
        let mut parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
        parsed.retain(|(d, _)| d != digest);
        parsed.insert(0, (digest.to_owned(), w));
        parsed.truncate(PARSED_WORKSPACES);
    }

    /// Run `task`. `workspace` gives the stored workspace bytes (called only when neither the
    /// model nor the parsed workspace is kept) and the seconds fetching them took; `attempt`
    /// is the delivery count. `interrupt` is checked after the compile and between batches of
    /// toys and scan points.
    ///
    /// Every failure of the task becomes a failed result with its reason, running past the
    /// interrupt's time budget included (the reason names the budget). The errors are what
    /// leaves the task without a result though nothing is wrong with it ([`Unfinished`]): a
    /// store that did not answer ([`FetchError::Unavailable`]), a cancellation or a shutdown.
    pub fn process(
        &self,
        task: &Task,
        attempt: u32,
        interrupt: &Interrupt,
        workspace: impl FnOnce() -> Result<(Vec<u8>, f64), FetchError>,
    ) -> Result<TaskResult, Unfinished> {
        let mut timings = Timings {
            queue_wait_s: fitfleet_protocol::now_ms().saturating_sub(task.enqueued_at_ms) as f64 / 1000.0,
            ..Timings::default()
        };
        let fail = |reason: String, timings: Timings| {
            Ok(TaskResult::failed(task, reason, self.worker.clone(), attempt, timings))
        };
        if let Some(p) = &task.patch {
            let size = p.operations.len() as u64;
            if let Err(e) = self.limits.check(Limit::Patch, format!("patch {}", p.name), size) {
                return fail(e.to_string(), timings);
            }
        }
        let key = self.key(task);
        let batch = task.work.batch();
        let model = match self.cache.get(&key) {
            Some(model) => {
                timings.model_cache_hit = true;
                // Compiled for other work, maybe with fewer fits at once than this one needs.
                if let Some(footprint) = self.cache.footprint(&key) {
                    let whose = compile::whose(task.patch.as_ref(), task.workspace.as_str());
                    if let Err(e) = self.limits.check_model(whose, &footprint, batch) {
                        return fail(e.to_string(), timings);
                    }
                }
                model
            }
            None => {
                let digest = task.workspace.as_str();
                let loaded = match self.parsed_workspace(digest) {
                    Some(w) => w,
                    None => {
                        let (bytes, fetch_s) = match workspace() {
                            Ok(w) => w,
                            Err(FetchError::Unavailable(e)) => return Err(e.into()),
                            Err(e) => return fail(e.to_string(), timings),
                        };
                        timings.workspace_fetch_s = fetch_s;
                        let what = format!("workspace {}", task.workspace);
                        if let Err(e) = self.limits.check(Limit::Workspace, what, bytes.len() as u64) {
                            return fail(e.to_string(), timings);
                        }
                        let t = Instant::now();
                        let parsed = compile::parse_workspace(&bytes, digest, self.limits.workspace);
                        timings.compile_s = t.elapsed().as_secs_f64();
                        match parsed {
                            Ok(w) => {
                                let w = Arc::new(w);
                                self.keep_parsed_workspace(digest, w.clone());
                                w
                            }
                            Err(e) => return fail(e.to_string(), timings),
                        }
                    }
                };
                let t_compile = Instant::now();
                let compiled = compile::compile(
                    &loaded,
                    digest,
                    task.patch.as_ref(),
                    &task.settings,
                    &self.device,
                    &self.limits,
                    batch,
                );
                timings.compile_s += t_compile.elapsed().as_secs_f64();
                match compiled {
                    Ok((m, footprint)) => {
                        let m = Arc::new(m);
                        self.cache.insert_with_footprint(key, m.clone(), footprint);
                        m
                    }
                    Err(e) => return fail(e.to_string(), timings),
                }
            }
        };
        let t = Instant::now();
        let outcome = execute::execute(&model, &task.work, interrupt);
        timings.fit_s = t.elapsed().as_secs_f64();
        match outcome {
            Ok(o) => Ok(TaskResult::succeeded(task, o, self.worker.clone(), attempt, timings)),
            Err(ExecuteError::Stopped(StopReason::OutOfTime { budget })) => fail(
                format!(
                    "the task ran past its time budget of {} s (task_time_budget_secs) and was stopped",
                    budget.as_secs_f64()
                ),
                timings,
            ),
            Err(ExecuteError::Stopped(reason)) => Err(Unfinished::Stopped(reason)),
            Err(e) => fail(e.to_string(), timings),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fitfleet_engine::model::ModelSettings;
    use fitfleet_protocol::{JobId, Patch, Status, Work, WorkspaceDigest};

    fn task(patch: Option<Patch>) -> Task {
        let ws = WorkspaceDigest::of(b"never parsed");
        Task::new(JobId::generate(), ws, patch, ModelSettings::default(), Work::Fit, fitfleet_protocol::now_ms())
    }

    fn reason(r: &TaskResult) -> &str {
        match &r.status {
            Status::Failed { reason } => reason,
            Status::Succeeded => panic!("succeeded"),
        }
    }

    #[test]
    fn oversized_patches_and_workspaces_fail_unread() {
        let limits = Limits { workspace: 100, patch: 10, task: 1 << 20, ..Limits::DEFAULT };
        let p = Processor::new(ModelCache::new(4, 1 << 20), WorkerId::current()).with_limits(limits);
        let big_patch = Patch { name: "wide".into(), values: vec![], operations: format!("[{}]", " ".repeat(20)) };
        let r = p
            .process(&task(Some(big_patch)), 1, &Interrupt::none(), || {
                panic!("an oversized patch fetches no workspace")
            })
            .unwrap();
        let why = reason(&r);
        assert!(why.contains("patch wide is 22 bytes") && why.contains("max_patch_bytes"), "{why}");

        let t = task(None);
        let r = p.process(&t, 1, &Interrupt::none(), || Ok((vec![b' '; 101], 0.0))).unwrap();
        let why = reason(&r);
        assert!(
            why.contains(&format!("workspace {} is 101 bytes", t.workspace)) && why.contains("max_workspace_bytes"),
            "{why}"
        );
        // At the limit it is read (and here fails to parse, for another reason).
        let r = p.process(&t, 1, &Interrupt::none(), || Ok((vec![b' '; 100], 0.0))).unwrap();
        assert!(!reason(&r).contains("max_workspace_bytes"), "{}", reason(&r));
    }

    #[test]
    fn a_model_over_the_budget_fails_unbuilt_naming_it() {
        let limits = Limits { model: 1000, ..Limits::DEFAULT };
        let p = Processor::new(ModelCache::new(4, 1 << 20), WorkerId::current()).with_limits(limits);
        let t = Task::new(
            JobId::generate(),
            WorkspaceDigest::of(COUNTING.as_bytes()),
            None,
            Default::default(),
            Work::Fit,
            0,
        );
        let r = p.process(&t, 1, &Interrupt::none(), || Ok((COUNTING.as_bytes().to_vec(), 0.0))).unwrap();
        let why = reason(&r);
        assert!(
            why.starts_with(&format!("the model of workspace {} would take an estimated", &t.workspace.as_str()[..12])),
            "{why}"
        );
        assert!(why.contains("(2 samples x 1 bins, 1 parameters (0 histosys, 0 normsys); 4 fits at once)"), "{why}");
        assert!(why.ends_with("more than the 1000 B that max_model_bytes allows"), "{why}");
        assert_eq!(p.cache.stats().models, 0, "nothing was built");
    }

    #[test]
    fn a_missing_workspace_fails_the_task_and_a_silent_store_is_an_error() {
        let p = Processor::new(ModelCache::new(4, 1 << 20), WorkerId::current());
        let t = task(None);
        let r = p.process(&t, 1, &Interrupt::none(), || Err(FetchError::Missing(t.workspace.clone()))).unwrap();
        assert!(reason(&r).contains("is not in the store (never uploaded, or expired)"), "{}", reason(&r));
        let e = p
            .process(&t, 1, &Interrupt::none(), || Err(StoreUnavailable("connection refused".into()).into()))
            .unwrap_err();
        assert_eq!(e.to_string(), "the store did not answer: connection refused");
    }

    /// A one-bin workspace with a signal sample that patches scale.
    const COUNTING: &str = r#"{"channels": [{"name": "sr", "samples": [
        {"name": "bkg", "data": [50.0], "modifiers": []},
        {"name": "sig", "data": [5.0], "modifiers": [{"name": "mu", "type": "normfactor", "data": null}]}]}],
      "observations": [{"name": "sr", "data": [52.0]}],
      "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}], "version": "1.0.0"}"#;

    #[test]
    fn patches_of_one_workspace_fetch_and_parse_it_once() {
        let p = Processor::new(ModelCache::new(4, 1 << 30), WorkerId::current());
        let digest = WorkspaceDigest::of(COUNTING.as_bytes());
        let fetches = std::cell::Cell::new(0);
        let fetch = || {
            fetches.set(fetches.get() + 1);
            Ok((COUNTING.as_bytes().to_vec(), 0.5))
        };
        for (i, signal) in [3.0, 7.0, 11.0].into_iter().enumerate() {
            let ops = format!(r#"[{{"op": "replace", "path": "/channels/0/samples/1/data", "value": [{signal}]}}]"#);
            let patch = Patch { name: format!("sig{signal}"), values: vec![], operations: ops };
            let t = Task::new(JobId::generate(), digest.clone(), Some(patch), ModelSettings::default(), Work::Fit, 0);
            let r = p.process(&t, 1, &Interrupt::none(), fetch).unwrap();
            assert!(r.is_success(), "{:?}", r.status);
            assert!(!r.timings.model_cache_hit && r.timings.compile_s > 0.0);
            // Only the first task fetched (and paid for) the workspace.
            assert_eq!(r.timings.workspace_fetch_s, if i == 0 { 0.5 } else { 0.0 });
        }
        assert_eq!(fetches.get(), 1);
    }

    /// A toy task far longer than the test: stopped between batches, by a cancellation, a
    /// shutdown or its time budget.
    #[test]
    fn long_toys_stop_at_the_interrupt() {
        let p = Processor::new(ModelCache::new(4, 1 << 30), WorkerId::current());
        let digest = WorkspaceDigest::of(COUNTING.as_bytes());
        let work = Work::Toys { poi: 1.0, test_stat: Default::default(), seed: 1, first: 0, count: 1_000_000 };
        let t = Task::new(JobId::generate(), digest, None, ModelSettings::default(), work, 0);
        let fetch = || Ok((COUNTING.as_bytes().to_vec(), 0.0));
        for reason in [StopReason::Cancelled, StopReason::Shutdown] {
            let interrupt = Interrupt::new(None);
            let stopper = interrupt.clone();
            let started = std::time::Instant::now();
            let stop = std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(200));
                stopper.stop(reason);
            });
            let e = p.process(&t, 1, &interrupt, fetch).unwrap_err();
            stop.join().unwrap();
            assert!(matches!(e, Unfinished::Stopped(r) if r == reason), "{e}");
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
        }
        let budget = Interrupt::new(Some(std::time::Duration::from_millis(300)));
        let r = p.process(&t, 1, &budget, fetch).unwrap();
        assert_eq!(reason(&r), "the task ran past its time budget of 0.3 s (task_time_budget_secs) and was stopped");
    }
}
