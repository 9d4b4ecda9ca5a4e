//! The in-process store of `fitfleet run`: it stands for the fleet's Redis, with the same
//! rules: workspaces by the digest of their bytes, one result per task, first writer wins.
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use fitfleet_protocol::{TaskId, TaskResult, WorkspaceDigest};

#[derive(Debug, Default)]
pub struct LocalStore {
    workspaces: Mutex<HashMap<WorkspaceDigest, Arc<Vec<u8>>>>,
    results: Mutex<BTreeMap<TaskId, TaskResult>>,
}

impl LocalStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep a workspace's bytes under their digest.
    pub fn put_workspace(&self, bytes: Vec<u8>) -> WorkspaceDigest {
        let digest = WorkspaceDigest::of(&bytes);
        lock(&self.workspaces).entry(digest.clone()).or_insert_with(|| Arc::new(bytes));
        digest
    }

    pub fn get_workspace(&self, digest: &WorkspaceDigest) -> Option<Arc<Vec<u8>>> {
        lock(&self.workspaces).get(digest).cloned()
    }

    /// Record a task's result unless it has one; whether this one was recorded.
    pub fn record_result(&self, result: TaskResult) -> bool {
        let mut results = lock(&self.results);
        if results.contains_key(&result.task_id) {
            return false;
        }
        results.insert(result.task_id.clone(), result);
        true
    }

    /// Every result so far, by task id.
    pub fn results(&self) -> Vec<TaskResult> {
        lock(&self.results).values().cloned().collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
