//! One task, start to finish: model from cache or compiled, work run, result with timings.
use std::sync::Arc;
use std::time::Instant;

use broker::{Limit, Limits, Task, TaskResult, Timings, WorkerId};
use candle_core::Device;

use crate::cache::{ModelCache, ModelKey};
use crate::{compile, execute};

/// Processes tasks with a model cache shared by every fit slot of a worker.
pub struct Processor {
    pub cache: ModelCache,
    pub worker: WorkerId,
    /// Patches and workspaces larger than these fail unread (`max_patch_bytes`,
    /// `max_workspace_bytes`); task messages are checked before decoding, by the consumer.
    pub limits: Limits,
    device: Device,
}

impl Processor {
    pub fn new(cache: ModelCache, worker: WorkerId) -> Self {
        Processor { cache, worker, limits: Limits::default(), device: Device::Cpu }
    }

    /// The same with the fleet's size limits instead of the defaults.
    pub fn with_limits(self, limits: Limits) -> Self {
        Processor { limits, ..self }
    }

    /// The cache key of a task's model.
    pub fn key(task: &Task) -> ModelKey {
        ModelKey {
            workspace: task.workspace.as_str().to_string(),
            patch: task.patch.as_ref().map(|p| (p.name.clone(), p.operations.clone())),
            settings: task.settings.clone(),
        }
    }

    /// Whether the task's model is cached (then no workspace needs fetching).
    pub fn has_model(&self, task: &Task) -> bool {
        self.cache.get(&Self::key(task)).is_some()
    }

    /// Run `task`. `workspace` gives the stored workspace bytes (called only on a cache miss)
    /// and the seconds fetching them took; `attempt` is the delivery count.
    pub fn process(
        &self,
        task: &Task,
        attempt: u32,
        workspace: impl FnOnce() -> Result<(Vec<u8>, f64), String>,
    ) -> TaskResult {
        let mut timings = Timings {
            queue_wait_s: broker::now_ms().saturating_sub(task.enqueued_at_ms) as f64 / 1000.0,
            ..Timings::default()
        };
        if let Some(p) = &task.patch {
            let size = p.operations.len() as u64;
            if let Err(e) = self.limits.check(Limit::Patch, format!("patch {}", p.name), size) {
                return TaskResult::failed(task, e.to_string(), self.worker.clone(), attempt, timings);
            }
        }
        let key = Self::key(task);
        let model = match self.cache.get(&key) {
            Some(model) => {
                timings.model_cache_hit = true;
                model
            }
            None => {
                let (bytes, fetch_s) = match workspace() {
                    Ok(w) => w,
                    Err(reason) => return TaskResult::failed(task, reason, self.worker.clone(), attempt, timings),
                };
                timings.workspace_fetch_s = fetch_s;
                let what = format!("workspace {}", task.workspace);
                if let Err(e) = self.limits.check(Limit::Workspace, what, bytes.len() as u64) {
                    return TaskResult::failed(task, e.to_string(), self.worker.clone(), attempt, timings);
                }
                let t = Instant::now();
                let compiled = compile::compile(&bytes, task.workspace.as_str(), task.patch.as_ref(), &task.settings, &self.device);
                timings.compile_s = t.elapsed().as_secs_f64();
                match compiled {
                    Ok(m) => {
                        let m = Arc::new(m);
                        self.cache.insert(key, m.clone());
                        m
                    }
                    Err(reason) => return TaskResult::failed(task, reason, self.worker.clone(), attempt, timings),
                }
            }
        };
        let t = Instant::now();
        let outcome = execute::execute(&model, &task.work);
        timings.fit_s = t.elapsed().as_secs_f64();
        match outcome {
            Ok(o) => TaskResult::succeeded(task, o, self.worker.clone(), attempt, timings),
            Err(reason) => TaskResult::failed(task, reason, self.worker.clone(), attempt, timings),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker::{JobId, Patch, Status, Work, WorkspaceDigest};
    use engine::model::ModelSettings;

    fn task(patch: Option<Patch>) -> Task {
        let ws = WorkspaceDigest::of(b"never parsed");
        Task::new(JobId::generate(), ws, patch, ModelSettings::default(), Work::Fit, broker::now_ms())
    }

    fn reason(r: &TaskResult) -> &str {
        match &r.status {
            Status::Failed { reason } => reason,
            Status::Succeeded => panic!("succeeded"),
        }
    }

    #[test]
    fn oversized_patches_and_workspaces_fail_unread() {
        let limits = Limits { workspace: 100, patch: 10, task: 1 << 20 };
        let p = Processor::new(ModelCache::new(4, 1 << 20), WorkerId::current()).with_limits(limits);
        let big_patch = Patch { name: "wide".into(), values: vec![], operations: format!("[{}]", " ".repeat(20)) };
        let r = p.process(&task(Some(big_patch)), 1, || panic!("an oversized patch fetches no workspace"));
        let why = reason(&r);
        assert!(why.contains("patch wide is 22 bytes") && why.contains("max_patch_bytes"), "{why}");

        let t = task(None);
        let r = p.process(&t, 1, || Ok((vec![b' '; 101], 0.0)));
        let why = reason(&r);
        assert!(
            why.contains(&format!("workspace {} is 101 bytes", t.workspace)) && why.contains("max_workspace_bytes"),
            "{why}"
        );
        // At the limit it is read (and here fails to parse, for another reason).
        let r = p.process(&t, 1, || Ok((vec![b' '; 100], 0.0)));
        assert!(!reason(&r).contains("max_workspace_bytes"), "{}", reason(&r));
    }
}
