//! The in-process queue of `fitfleet run`: the job's tasks in publishing order, taken one at
//! a time by the fit slots. It stands for the fleet's RabbitMQ queue; every task is delivered
//! exactly once (attempt 1), since nothing here can crash apart from the whole process.
use std::collections::VecDeque;
use std::sync::Mutex;

use fitfleet_protocol::Task;

#[derive(Debug, Default)]
pub struct LocalQueue {
    tasks: Mutex<VecDeque<Task>>,
}

impl LocalQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queue tasks behind those already there.
    pub fn publish(&self, tasks: impl IntoIterator<Item = Task>) {
        self.lock().extend(tasks);
    }

    /// The next task, or `None` when the queue is empty.
    pub fn next(&self) -> Option<Task> {
        self.lock().pop_front()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Task>> {
        // Each operation is one step on the deque: a panicking holder leaves it consistent.
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }
}
