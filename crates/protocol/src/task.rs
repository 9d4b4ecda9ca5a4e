//! What the client asks a worker to do: one task per signal patch, scan point or toy batch.
use crate::codec::{self, DecodeError, EncodeError, Message};
use crate::ids::{JobId, TaskId, WorkspaceDigest};
use fitfleet_engine::infer::{Calculator, TestStatistic};
use fitfleet_engine::model::ModelSettings;
use serde::{Deserialize, Serialize};

/// One unit of work: fit one patched workspace in one way.
///
/// The workspace travels by digest only (workers fetch it once from the store and cache
/// the compiled model); the patch travels in full since it is small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub job_id: JobId,
    /// Deterministic: see [`Task::derive_id`].
    pub task_id: TaskId,
    /// SHA-256 of the workspace bytes stored by [`crate::store::Store::put_workspace`].
    pub workspace: WorkspaceDigest,
    /// The signal patch applied to the workspace, or `None` for the workspace as it is.
    pub patch: Option<Patch>,
    pub settings: ModelSettings,
    pub work: Work,
    /// When the client published the task (unix milliseconds), to measure queue wait.
    pub enqueued_at_ms: u64,
}

impl Message for Task {
    const KIND: &'static str = "task";
    const READER: &'static str = "worker";
}

impl Task {
    /// A task whose id is derived from the job, the patch name and the work, so that
    /// publishing the same work again (after a client retry) gives the same id.
    pub fn new(
        job_id: JobId,
        workspace: WorkspaceDigest,
        patch: Option<Patch>,
        settings: ModelSettings,
        work: Work,
        enqueued_at_ms: u64,
    ) -> Self {
        let task_id = Self::derive_id(&job_id, patch.as_ref().map(|p| p.name.as_str()), &work);
        Task { job_id, task_id, workspace, patch, settings, work, enqueued_at_ms }
    }

    /// The task id for this work in this job: SHA-256 over the job id, the patch name and
    /// the MessagePack encoding of `work` (which is bit-exact for floats), first 128 bits.
    pub fn derive_id(job_id: &JobId, patch_name: Option<&str>, work: &Work) -> TaskId {
        // Encoding a `Work` cannot fail: it holds only numbers, enums and strings.
        let work_bytes = rmp_serde::to_vec_named(work).expect("Work encodes as MessagePack");
        let patch = match patch_name {
            Some(name) => [b"patch:".as_slice(), name.as_bytes()].concat(),
            None => b"no patch".to_vec(),
        };
        TaskId::from_defining_bytes(&[job_id.as_str().as_bytes(), &patch, &work_bytes])
    }

    /// SHA-256 (hex) of everything the task asks, the publication time aside: its job and task
    /// ids, its workspace digest, its patch (name, values, operations), its model settings and
    /// its work. The client records it per task in the job record at submit; a worker runs a
    /// task only if its digest is the one recorded, so that a task forged under a real job's
    /// ids (another patch, another question) is never run as that task.
    pub fn work_digest(&self) -> String {
        let Task { job_id, task_id, workspace, patch, settings, work, enqueued_at_ms: _ } = self;
        // Encoding cannot fail: numbers, enums, strings and maps with string keys.
        let defining = rmp_serde::to_vec_named(&(job_id, task_id, workspace, patch, settings, work))
            .expect("a task's defining fields encode as MessagePack");
        crate::ids::sha256_hex(&defining)
    }

    /// The MessagePack bytes published to the queue.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        codec::encode(self)
    }

    /// Read a task from a queue message; errors say what is wrong with the bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        codec::decode(bytes)
    }

    /// [`Task::decode`], refusing a message longer than `max_bytes` (`max_task_bytes`) unread.
    pub fn decode_limited(bytes: &[u8], max_bytes: u64) -> Result<Self, DecodeError> {
        codec::decode_limited(bytes, max_bytes)
    }

    /// A short label for logs and progress lines: the patch name or "(no patch)".
    pub fn label(&self) -> &str {
        self.patch.as_ref().map_or("(no patch)", |p| p.name.as_str())
    }
}

/// A signal patch of a pyhf patchset: its name, the values of its signal-model parameters
/// (the patchset's `metadata.values`, e.g. masses) and its RFC 6902 operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patch {
    pub name: String,
    /// The patch's point in the signal-model plane, in the order of the patchset's
    /// `labels` (for exclusion-contour plots).
    pub values: Vec<PatchValue>,
    /// The JSON Patch operations as JSON text, carried verbatim so that MessagePack returns
    /// exactly what the client read from the patchset.
    pub operations: String,
}

impl Patch {
    /// A patch from its operations as a JSON value (serialised compactly).
    pub fn new(name: impl Into<String>, values: Vec<PatchValue>, operations: &serde_json::Value) -> Self {
        Patch { name: name.into(), values, operations: operations.to_string() }
    }

    /// The operations parsed back into JSON, ready for `json_patch`.
    pub fn operations_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.operations)
    }

    /// The name and values without the operations, for results and job records.
    pub fn label(&self) -> PatchLabel {
        PatchLabel { name: self.name.clone(), values: self.values.clone() }
    }
}

/// One of a patch's metadata values: pyhf allows numbers and strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PatchValue {
    Number(f64),
    Text(String),
}

impl PatchValue {
    /// The value as a number, if it is one (for plots).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PatchValue::Number(x) => Some(*x),
            PatchValue::Text(_) => None,
        }
    }
}

impl From<f64> for PatchValue {
    fn from(x: f64) -> Self {
        PatchValue::Number(x)
    }
}

impl std::fmt::Display for PatchValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PatchValue::Number(x) => write!(f, "{x}"),
            PatchValue::Text(s) => f.write_str(s),
        }
    }
}

/// A patch's name and metadata values, without its operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchLabel {
    pub name: String,
    pub values: Vec<PatchValue>,
}

/// What to compute on the patched model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Work {
    /// CLs at one POI value (pyhf's `infer.hypotest`): one task per patch or scan point.
    Hypotest { poi: f64, test_stat: TestStatistic, calculator: Calculator },
    /// Upper limit on the POI at confidence level `1 - alpha` (pyhf's `infer.intervals.upper_limits`).
    UpperLimit {
        /// 0.05 for 95% CL.
        alpha: f64,
        test_stat: TestStatistic,
        calculator: Calculator,
        /// `None`: bracket the limit and root-find (pyhf's `scan=None`); otherwise
        /// interpolate on this grid and return the scan for Brazil plots.
        scan: Option<ScanGrid>,
    },
    /// Maximum-likelihood fit with every parameter free.
    Fit,
    /// A shard of pseudo-experiments: toys `first .. first + count` of the stream `seed`;
    /// shards of one seed merge exactly into the full set.
    Toys { poi: f64, test_stat: TestStatistic, seed: u64, first: u64, count: u64 },
    /// Discovery significance (q0) of the observed data.
    Significance,
    /// The impacts on the POI of the named parameters (four fits each with the parameter
    /// fixed, from the free fit: `fitfleet_engine::infer::diagnostics::impacts`): one task per
    /// group of parameters of a ranking.
    Impacts { parameters: Vec<String> },
}

/// A number of a task's work that no worker runs: which field, its value and what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is {value}, {expected}")]
pub struct InvalidWork {
    /// The field, e.g. `work.poi`.
    pub field: &'static str,
    pub value: String,
    pub expected: String,
}

/// The most POI values an upper-limit scan may have: a Brazil plot needs tens to hundreds.
pub const MAX_SCAN_POINTS: u32 = 10_000;

/// The most parameters one impacts task may name (four fits each): a ranking of a model with
/// thousands of parameters is split into many tasks.
pub const MAX_IMPACTS_PER_TASK: usize = 1_000;

/// The longest parameter name a task may carry, in bytes (pyhf's names are tens of bytes).
pub const MAX_PARAMETER_NAME_BYTES: usize = 1_024;

/// The most pseudo-experiments one toys task may run (a job splits more into several tasks).
pub const MAX_TOYS_PER_TASK: u64 = 1_000_000;

/// The most pseudo-experiments one patch of a job may ask for (`--ntoys` of `run` and
/// `submit`, split into shards of at most [`MAX_TOYS_PER_TASK`]): ten times one task's bound
/// and a thousand times the 10 000 toys of a careful CLs, so no real analysis meets it, while a
/// count like 2^63 is refused before anything is computed from it.
pub const MAX_TOYS_PER_PATCH: u64 = 10_000_000;

/// The most tasks one job may have (patches times the tasks of each patch). A pallet has about
/// 125 patches; 10 000 toys per patch in shards of 500 over 125 patches make 2 500 tasks, so
/// 100 000 leaves a factor 40 for larger pallets and finer shards. Each task is a message of
/// its own (its patch included) and an entry in the job's record, so the bound keeps the
/// client's list of tasks, the queue and the store in the hundreds of megabytes at most.
pub const MAX_TASKS_PER_JOB: u64 = 100_000;

/// A count of a job that no fleet runs: which count, its value and what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is {value}, {expected}")]
pub struct InvalidJob {
    /// The count, e.g. `job.ntoys` or `job.tasks`.
    pub field: &'static str,
    pub value: String,
    pub expected: String,
}

/// How many tasks a job has: its patches (1 for the workspace alone) times the tasks of each
/// patch (1, or one per shard of toys). The client checks it before it builds the tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSize {
    pub patches: u64,
    pub tasks_per_patch: u64,
}

impl JobSize {
    /// The size of a job from lengths as the client holds them (a length past `u64` counts as
    /// `u64::MAX`, which no check lets through).
    pub fn new(patches: usize, tasks_per_patch: usize) -> Self {
        let wide = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        JobSize { patches: wide(patches), tasks_per_patch: wide(tasks_per_patch) }
    }

    /// The number of tasks, if it is at most [`MAX_TASKS_PER_JOB`]; the product is computed
    /// without overflow.
    pub fn tasks(&self) -> Result<u64, InvalidJob> {
        let JobSize { patches, tasks_per_patch } = *self;
        let expected = || format!("more than the {MAX_TASKS_PER_JOB} tasks a job may have");
        match patches.checked_mul(tasks_per_patch) {
            Some(n) if n <= MAX_TASKS_PER_JOB => Ok(n),
            Some(n) => Err(InvalidJob {
                field: "job.tasks",
                value: format!("{n} ({patches} patches x {tasks_per_patch} tasks each)"),
                expected: expected(),
            }),
            None => Err(InvalidJob {
                field: "job.tasks",
                value: format!("{patches} patches x {tasks_per_patch} tasks each (more than {})", u64::MAX),
                expected: expected(),
            }),
        }
    }

    /// The number of shards (tasks) of one patch's `ntoys` toys in shards of `toys_per_task`:
    /// `ntoys` from 1 to [`MAX_TOYS_PER_PATCH`], `toys_per_task` at least 1, and at most
    /// [`MAX_TASKS_PER_JOB`] shards. Checked before the shards are listed; no overflow.
    pub fn toy_shards(ntoys: u64, toys_per_task: u64) -> Result<u64, InvalidJob> {
        if ntoys == 0 || ntoys > MAX_TOYS_PER_PATCH {
            return Err(InvalidJob {
                field: "job.ntoys",
                value: format!("{ntoys} toys per patch"),
                expected: format!("not from 1 to {MAX_TOYS_PER_PATCH}"),
            });
        }
        if toys_per_task == 0 {
            return Err(InvalidJob {
                field: "job.toys_per_task",
                value: "0".into(),
                expected: "not at least 1".into(),
            });
        }
        // `div_ceil` cannot overflow: the quotient is at most `ntoys`.
        let shards = ntoys.div_ceil(toys_per_task);
        if shards > MAX_TASKS_PER_JOB {
            return Err(InvalidJob {
                field: "job.tasks",
                value: format!("{shards} per patch ({ntoys} toys in shards of {toys_per_task})"),
                expected: format!("more than the {MAX_TASKS_PER_JOB} tasks a job may have"),
            });
        }
        Ok(shards)
    }
}

impl Work {
    /// The most fits a worker evaluates at once for this work, as admission control budgets
    /// the model's memory for it: a batch of toys, a batch of scan points (two fits each, see
    /// the processor's scan batches), or the few fits of a test.
    pub fn batch(&self) -> u64 {
        match self {
            Work::Toys { .. } | Work::Hypotest { calculator: Calculator::Toys { .. }, .. } => {
                fitfleet_engine::model::footprint::TOYS_BATCH
            }
            Work::UpperLimit { .. } => 32,
            // Eight parameters' four fits from three starts each.
            Work::Impacts { .. } => 96,
            Work::Hypotest { .. } | Work::Fit | Work::Significance => 4,
        }
    }

    /// Whether the numbers of the work are ones a worker can run: finite POI values, `alpha`
    /// in (0, 1), a scan of at most [`MAX_SCAN_POINTS`] finite points, at most
    /// [`MAX_TOYS_PER_TASK`] toys. A task is data from anywhere: the worker checks before it
    /// allocates or fits, and the client before it publishes. The reason names the field.
    pub fn check(&self) -> Result<(), InvalidWork> {
        let invalid = |field, value: String, expected: String| Err(InvalidWork { field, value, expected });
        let finite = |field, v: f64| {
            if v.is_finite() { Ok(()) } else { invalid(field, v.to_string(), "not a finite number".into()) }
        };
        let toys = |field, n: u64| {
            if n == 0 || n > MAX_TOYS_PER_TASK {
                invalid(field, format!("{n} toys"), format!("not from 1 to {MAX_TOYS_PER_TASK}"))
            } else {
                Ok(())
            }
        };
        // The toys of a calculator are run by one task: the same bound as a shard's.
        let calculator_toys = |calculator: &Calculator| match calculator {
            Calculator::Toys { ntoys, .. } => toys("work.calculator.ntoys", u64::try_from(*ntoys).unwrap_or(u64::MAX)),
            Calculator::Asymptotics => Ok(()),
        };
        match self {
            Work::Hypotest { poi, calculator, .. } => {
                finite("work.poi", *poi)?;
                calculator_toys(calculator)
            }
            Work::UpperLimit { alpha, scan, calculator, .. } => {
                calculator_toys(calculator)?;
                if !(*alpha > 0.0 && *alpha < 1.0) {
                    return invalid("work.alpha", alpha.to_string(), "not between 0 and 1".into());
                }
                if let Some(grid) = scan {
                    finite("work.scan.start", grid.start)?;
                    finite("work.scan.stop", grid.stop)?;
                    if grid.points < 2 || grid.points > MAX_SCAN_POINTS {
                        return invalid(
                            "work.scan.points",
                            grid.points.to_string(),
                            format!("not from 2 to {MAX_SCAN_POINTS}"),
                        );
                    }
                }
                Ok(())
            }
            Work::Toys { poi, first, count, .. } => {
                finite("work.poi", *poi)?;
                toys("work.count", *count)?;
                if first.checked_add(*count).is_none() {
                    return invalid("work.first", first.to_string(), format!("too large for {count} more toys"));
                }
                Ok(())
            }
            Work::Impacts { parameters } => {
                if parameters.is_empty() || parameters.len() > MAX_IMPACTS_PER_TASK {
                    return invalid(
                        "work.parameters",
                        format!("{} names", parameters.len()),
                        format!("not from 1 to {MAX_IMPACTS_PER_TASK}"),
                    );
                }
                if let Some(long) = parameters.iter().find(|p| p.len() > MAX_PARAMETER_NAME_BYTES) {
                    return invalid(
                        "work.parameters",
                        format!("a name of {} bytes", long.len()),
                        format!("longer than {MAX_PARAMETER_NAME_BYTES} bytes"),
                    );
                }
                Ok(())
            }
            Work::Fit | Work::Significance => Ok(()),
        }
    }

    /// The kind of work as a word, for logs and job records.
    pub fn kind(&self) -> &'static str {
        match self {
            Work::Hypotest { .. } => "hypotest",
            Work::UpperLimit { .. } => "upper_limit",
            Work::Fit => "fit",
            Work::Toys { .. } => "toys",
            Work::Significance => "significance",
            Work::Impacts { .. } => "impacts",
        }
    }
}

/// A grid of POI values, like `numpy.linspace(start, stop, points)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScanGrid {
    pub start: f64,
    pub stop: f64,
    pub points: u32,
}

impl ScanGrid {
    /// The grid's POI values, ends included.
    pub fn values(&self) -> Vec<f64> {
        match self.points {
            0 => vec![],
            1 => vec![self.start],
            n => {
                let step = (self.stop - self.start) / f64::from(n - 1);
                (0..n).map(|i| if i == n - 1 { self.stop } else { self.start + step * f64::from(i) }).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use fitfleet_engine::infer::{Calculator, TestStatistic};

    use super::*;

    fn limit(alpha: f64, scan: Option<ScanGrid>) -> Work {
        Work::UpperLimit { alpha, test_stat: TestStatistic::QmuTilde, calculator: Calculator::Asymptotics, scan }
    }

    fn toys(poi: f64, count: u64) -> Work {
        Work::Toys { poi, test_stat: TestStatistic::QmuTilde, seed: 1, first: 0, count }
    }

    fn toys_hypotest(ntoys: usize) -> Work {
        Work::Hypotest { poi: 1.0, test_stat: TestStatistic::QmuTilde, calculator: Calculator::Toys { ntoys, seed: 1 } }
    }

    #[test]
    fn work_a_worker_can_run_passes_the_check() {
        let grid = ScanGrid { start: 0.0, stop: 5.0, points: MAX_SCAN_POINTS };
        for w in [
            limit(0.05, Some(grid)),
            limit(0.05, None),
            toys(1.0, MAX_TOYS_PER_TASK),
            toys_hypotest(MAX_TOYS_PER_TASK as usize),
            Work::Impacts { parameters: vec!["alpha_x".into(); MAX_IMPACTS_PER_TASK] },
            Work::Fit,
            Work::Significance,
        ] {
            assert_eq!(w.check(), Ok(()), "{w:?}");
        }
    }

    #[test]
    fn work_that_would_exhaust_a_worker_or_means_nothing_is_refused_naming_the_field() {
        let grid = |start: f64, points: u32| Some(ScanGrid { start, stop: 5.0, points });
        let hypotest =
            Work::Hypotest { poi: f64::NAN, test_stat: TestStatistic::QmuTilde, calculator: Calculator::Asymptotics };
        for (w, field) in [
            (hypotest, "work.poi is NaN"),
            (limit(0.05, grid(0.0, u32::MAX)), "work.scan.points is 4294967295, not from 2 to 10000"),
            (limit(0.05, grid(0.0, 1)), "work.scan.points is 1"),
            (limit(0.05, grid(f64::NEG_INFINITY, 10)), "work.scan.start is -inf"),
            (limit(1.5, None), "work.alpha is 1.5"),
            (toys(1.0, u64::MAX), "work.count is 18446744073709551615 toys"),
            (toys(1.0, 0), "work.count is 0 toys"),
            (toys(f64::INFINITY, 10), "work.poi is inf"),
            (
                Work::Toys { poi: 1.0, test_stat: TestStatistic::QmuTilde, seed: 1, first: u64::MAX - 5, count: 10 },
                "work.first is 18446744073709551610, too large for 10",
            ),
            (toys_hypotest(1 << 40), "work.calculator.ntoys is 1099511627776 toys, not from 1 to 1000000"),
            (toys_hypotest(0), "work.calculator.ntoys is 0 toys"),
            (Work::Impacts { parameters: vec![] }, "work.parameters is 0 names, not from 1 to 1000"),
            (Work::Impacts { parameters: vec!["a".into(); MAX_IMPACTS_PER_TASK + 1] }, "work.parameters is 1001 names"),
            (
                Work::Impacts { parameters: vec!["a".repeat(MAX_PARAMETER_NAME_BYTES + 1)] },
                "work.parameters is a name of 1025 bytes, longer than 1024 bytes",
            ),
        ] {
            let e = w.check().unwrap_err().to_string();
            assert!(e.starts_with(field), "{e}");
        }
    }

    #[test]
    fn a_job_of_real_size_passes_the_job_checks() {
        // The example: 10 000 toys per patch in shards of 500 over 125 patches.
        let shards = JobSize::toy_shards(10_000, 500).unwrap();
        assert_eq!(shards, 20);
        assert_eq!(JobSize { patches: 125, tasks_per_patch: shards }.tasks(), Ok(2_500));
        assert_eq!(JobSize::toy_shards(MAX_TOYS_PER_PATCH, MAX_TOYS_PER_TASK), Ok(10));
        assert_eq!(JobSize::toy_shards(1, u64::MAX), Ok(1));
        assert_eq!(JobSize::toy_shards(MAX_TASKS_PER_JOB, 1), Ok(MAX_TASKS_PER_JOB));
        assert_eq!(JobSize::new(1, MAX_TASKS_PER_JOB as usize).tasks(), Ok(MAX_TASKS_PER_JOB));
        assert_eq!(JobSize::new(0, usize::MAX).tasks(), Ok(0));
    }

    #[test]
    fn job_counts_at_the_edges_are_refused_without_overflow_naming_the_count() {
        let e = |r: Result<u64, InvalidJob>| r.unwrap_err().to_string();
        assert_eq!(
            e(JobSize::toy_shards(1 << 63, 500)),
            "job.ntoys is 9223372036854775808 toys per patch, not from 1 to 10000000"
        );
        assert!(e(JobSize::toy_shards(u64::MAX, 1)).starts_with("job.ntoys is 18446744073709551615 toys"));
        assert!(e(JobSize::toy_shards(MAX_TOYS_PER_PATCH + 1, u64::MAX)).starts_with("job.ntoys is 10000001"));
        assert!(e(JobSize::toy_shards(0, 1)).starts_with("job.ntoys is 0 toys"));
        assert_eq!(e(JobSize::toy_shards(10, 0)), "job.toys_per_task is 0, not at least 1");
        assert_eq!(
            e(JobSize::toy_shards(MAX_TASKS_PER_JOB + 1, 1)),
            "job.tasks is 100001 per patch (100001 toys in shards of 1), more than the 100000 tasks a job may have"
        );
        assert_eq!(
            e(JobSize { patches: 125, tasks_per_patch: 801 }.tasks()),
            "job.tasks is 100125 (125 patches x 801 tasks each), more than the 100000 tasks a job may have"
        );
        assert_eq!(
            e(JobSize { patches: u64::MAX, tasks_per_patch: 2 }.tasks()),
            "job.tasks is 18446744073709551615 patches x 2 tasks each (more than 18446744073709551615), \
             more than the 100000 tasks a job may have"
        );
        assert!(
            e(JobSize { patches: u64::MAX, tasks_per_patch: 1 }.tasks())
                .starts_with("job.tasks is 18446744073709551615 (")
        );
        assert!(e(JobSize::new(usize::MAX, usize::MAX).tasks()).starts_with("job.tasks is "));
        assert!(e(JobSize::new(usize::MAX, 1).tasks()).starts_with("job.tasks is "));
        assert!(e(JobSize::new(2, usize::MAX / 2 + 1).tasks()).contains("more than 18446744073709551615"));
    }
}
