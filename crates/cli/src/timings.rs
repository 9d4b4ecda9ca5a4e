//! Where a job's time went: medians of the per-task timings that workers report, and how
//! often a worker found the compiled model in its cache. `fitfleet status` prints it.
use std::fmt;

use fitfleet_protocol::TaskResult;

/// Medians over a job's results (seconds), and the model-cache hit count.
#[derive(Debug, Clone, PartialEq)]
pub struct TimingSummary {
    pub results: usize,
    pub queue_wait_s: f64,
    pub workspace_fetch_s: f64,
    pub compile_s: f64,
    pub fit_s: f64,
    /// The slowest task's fit time.
    pub fit_max_s: f64,
    pub model_cache_hits: usize,
    /// Distinct workers that wrote results.
    pub workers: usize,
}

impl TimingSummary {
    /// The summary of `results`; `None` when there are none.
    pub fn of(results: &[TaskResult]) -> Option<Self> {
        if results.is_empty() {
            return None;
        }
        let med = |f: fn(&TaskResult) -> f64| median(results.iter().map(f).collect());
        let workers: std::collections::HashSet<_> = results.iter().map(|r| &r.worker).collect();
        Some(TimingSummary {
            results: results.len(),
            queue_wait_s: med(|r| r.timings.queue_wait_s),
            workspace_fetch_s: med(|r| r.timings.workspace_fetch_s),
            compile_s: med(|r| r.timings.compile_s),
            fit_s: med(|r| r.timings.fit_s),
            fit_max_s: results.iter().map(|r| r.timings.fit_s).fold(0.0, f64::max),
            model_cache_hits: results.iter().filter(|r| r.timings.model_cache_hit).count(),
            workers: workers.len(),
        })
    }

    /// Model-cache hits as a fraction of results.
    pub fn cache_hit_rate(&self) -> f64 {
        self.model_cache_hits as f64 / self.results as f64
    }
}

/// The median of `v` (the mean of the middle two for an even count); `v` is not empty.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) }
}

fn ms(s: f64) -> String {
    format!("{:.1} ms", s * 1e3)
}

impl fmt::Display for TimingSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "per task  median of {}: queue wait {}, workspace fetch {}, compile {}, fit {} (slowest fit {})",
            self.results,
            ms(self.queue_wait_s),
            ms(self.workspace_fetch_s),
            ms(self.compile_s),
            ms(self.fit_s),
            ms(self.fit_max_s)
        )?;
        write!(
            f,
            "cache     {} of {} models from a worker's cache ({:.0}%), {} worker{}",
            self.model_cache_hits,
            self.results,
            100.0 * self.cache_hit_rate(),
            self.workers,
            if self.workers == 1 { "" } else { "s" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fitfleet_protocol::{JobId, Timings, WorkerId};

    fn result(pid: u32, fit_s: f64, hit: bool) -> TaskResult {
        let task = fitfleet_protocol::Task::new(
            JobId::generate(),
            fitfleet_protocol::WorkspaceDigest::of(b"{}"),
            None,
            fitfleet_engine::model::ModelSettings::default(),
            fitfleet_protocol::Work::Fit,
            0,
        );
        let timings =
            Timings { queue_wait_s: 2.0 * fit_s, workspace_fetch_s: 0.0, compile_s: 0.5, model_cache_hit: hit, fit_s };
        TaskResult::failed(&task, "x", WorkerId { host: "h".into(), pid }, 1, timings)
    }

    #[test]
    fn medians_hits_and_workers() {
        let rs = [result(1, 0.010, true), result(2, 0.030, false), result(1, 0.020, true), result(1, 0.100, false)];
        let s = TimingSummary::of(&rs).unwrap();
        assert_eq!(s.results, 4);
        assert!((s.fit_s - 0.025).abs() < 1e-12, "{s:?}");
        assert!((s.queue_wait_s - 0.050).abs() < 1e-12, "{s:?}");
        assert_eq!(s.fit_max_s, 0.100);
        assert_eq!((s.model_cache_hits, s.workers), (2, 2));
        assert_eq!(s.cache_hit_rate(), 0.5);
        let text = s.to_string();
        assert!(text.contains("fit 25.0 ms") && text.contains("2 of 4 models") && text.contains("(50%)"), "{text}");
        assert!(TimingSummary::of(&[]).is_none());
    }
}
