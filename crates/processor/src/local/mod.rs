//! The fleet on one machine: an in-process [`LocalQueue`] stands for RabbitMQ, a
//! [`LocalStore`] for Redis, and [`run_slots`] runs fit slots, one thread each, that take
//! tasks from the queue, process them and record their results, as workers do.
mod queue;
mod store;

use std::time::Instant;

use fitfleet_engine::infer::Interrupt;
use fitfleet_protocol::{Task, TaskResult};

pub use queue::LocalQueue;
pub use store::LocalStore;

use crate::{FetchError, Processor};

/// Process every task of `queue` on `slots` threads (at least one), with the workspaces of
/// `store`, recording each result there; `on_result` sees each task and its result as it is recorded
/// (for progress). Returns when the queue is empty and every slot has finished.
pub fn run_slots(
    queue: &LocalQueue,
    store: &LocalStore,
    processor: &Processor,
    slots: usize,
    on_result: &(dyn Fn(&Task, &TaskResult) + Sync),
) {
    std::thread::scope(|s| {
        for slot in 0..slots.max(1) {
            std::thread::Builder::new()
                .name(format!("fit-slot-{slot}"))
                .spawn_scoped(s, move || {
                    while let Some(task) = queue.next() {
                        let processed = processor.process(&task, 1, &Interrupt::none(), || {
                            let t = Instant::now();
                            let bytes = store
                                .get_workspace(&task.workspace)
                                .ok_or_else(|| FetchError::Missing(task.workspace.clone()))?;
                            Ok((bytes.as_ref().clone(), t.elapsed().as_secs_f64()))
                        });
                        // The in-process store always answers, and nothing interrupts.
                        let result = processed.expect("the in-process store answers");
                        on_result(&task, &result);
                        store.record_result(result);
                    }
                })
                .expect("spawning a fit slot");
        }
    });
}
