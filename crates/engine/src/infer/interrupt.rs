//! Stopping long work between batches: toys and scan points check an [`Interrupt`] before each
//! batch, so that a cancelled job, a shutting-down worker or a task past its time budget frees
//! its thread within one batch instead of running to the end.
//!
//! The engine does no I/O: whoever runs the work decides when to stop (a watcher of the job's
//! state, a signal handler) and calls [`Interrupt::stop`] from any thread; the time budget is
//! checked against the clock.
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use super::InferError;

/// Why work was stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The caller cancelled it (the job was cancelled).
    Cancelled,
    /// The caller is shutting down (the work can be done again elsewhere).
    Shutdown,
    /// It ran past its time budget.
    OutOfTime { budget: Duration },
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Cancelled => f.write_str("cancelled"),
            StopReason::Shutdown => f.write_str("stopped by a shutdown"),
            StopReason::OutOfTime { budget } => write!(f, "ran past its time budget of {} s", budget.as_secs_f64()),
        }
    }
}

/// A flag shared by the work and whoever may stop it, with an optional deadline. Cheap to
/// clone (clones share the flag); [`Interrupt::none`] never stops.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Option<Arc<Inner>>);

#[derive(Debug)]
struct Inner {
    /// 0: running; otherwise a [`StopReason`] code.
    stop: AtomicU8,
    deadline: Option<(Instant, Duration)>,
}

const RUNNING: u8 = 0;
const CANCELLED: u8 = 1;
const SHUTDOWN: u8 = 2;

impl Interrupt {
    /// Never stops.
    pub fn none() -> Self {
        Interrupt(None)
    }

    /// Stops when [`Interrupt::stop`] is called, and once `budget` has passed from now, if given.
    pub fn new(budget: Option<Duration>) -> Self {
        let deadline = budget.map(|b| (Instant::now() + b, b));
        Interrupt(Some(Arc::new(Inner { stop: AtomicU8::new(RUNNING), deadline })))
    }

    /// Ask the work to stop at its next check (the first reason given is kept). A deadline is
    /// not a reason one gives: it is the clock's.
    pub fn stop(&self, reason: StopReason) {
        let code = match reason {
            StopReason::Cancelled => CANCELLED,
            StopReason::Shutdown => SHUTDOWN,
            StopReason::OutOfTime { .. } => return,
        };
        if let Some(inner) = &self.0 {
            let _ = inner.stop.compare_exchange(RUNNING, code, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    /// Why the work should stop now, if it should.
    pub fn reason(&self) -> Option<StopReason> {
        let inner = self.0.as_ref()?;
        match inner.stop.load(Ordering::SeqCst) {
            CANCELLED => return Some(StopReason::Cancelled),
            SHUTDOWN => return Some(StopReason::Shutdown),
            _ => {}
        }
        match inner.deadline {
            Some((at, budget)) if Instant::now() >= at => Some(StopReason::OutOfTime { budget }),
            _ => None,
        }
    }

    /// `Err(InferError::Interrupted)` when the work should stop: call between batches.
    pub fn check(&self) -> Result<(), InferError> {
        match self.reason() {
            None => Ok(()),
            Some(reason) => Err(InferError::Interrupted(reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_never_stops_and_stop_keeps_the_first_reason() {
        let never = Interrupt::none();
        never.stop(StopReason::Cancelled);
        assert!(never.check().is_ok());

        let i = Interrupt::new(None);
        let seen_by_work = i.clone();
        assert_eq!(seen_by_work.reason(), None);
        i.stop(StopReason::Shutdown);
        i.stop(StopReason::Cancelled);
        assert_eq!(seen_by_work.reason(), Some(StopReason::Shutdown));
        assert!(matches!(seen_by_work.check(), Err(InferError::Interrupted(StopReason::Shutdown))));
    }

    #[test]
    fn a_budget_runs_out_on_the_clock() {
        let i = Interrupt::new(Some(Duration::from_millis(30)));
        assert!(i.check().is_ok());
        std::thread::sleep(Duration::from_millis(40));
        let e = i.check().unwrap_err();
        assert_eq!(e.to_string(), "interrupted: ran past its time budget of 0.03 s");
    }
}
