//! One task, start to finish: model from cache or compiled, work run, result with timings.
use std::sync::Arc;
use std::time::Instant;

use broker::{Task, TaskResult, Timings, WorkerId};
use candle_core::Device;

use crate::cache::{ModelCache, ModelKey};
use crate::{compile, execute};

/// Processes tasks with a model cache shared by every fit slot of a worker.
pub struct Processor {
    pub cache: ModelCache,
    pub worker: WorkerId,
    device: Device,
}

impl Processor {
    pub fn new(cache: ModelCache, worker: WorkerId) -> Self {
        Processor { cache, worker, device: Device::Cpu }
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
