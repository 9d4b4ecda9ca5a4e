//! Maximum sizes of what the fleet moves: a workspace, a patch and a task message, and of the
//! memory a model may take. The client checks them before publishing anything; a worker
//! checks a task message before decoding it, a fetched workspace before parsing it and a
//! model's estimated memory before building it, so that an oversized input becomes a failed
//! result with the reason instead of a worker holding gigabytes.
use fitfleet_engine::model::Footprint;

/// Which maximum size: each is a setting of the fleet (`fitfleet_fleet::FleetConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The workspace file's bytes as stored (gzip or not): `max_workspace_bytes`.
    Workspace,
    /// A patch's JSON Patch operations as JSON text: `max_patch_bytes`.
    Patch,
    /// A task's MessagePack message: `max_task_bytes`.
    Task,
}

impl Limit {
    /// The setting that holds the limit.
    pub fn key(self) -> &'static str {
        match self {
            Limit::Workspace => "max_workspace_bytes",
            Limit::Patch => "max_patch_bytes",
            Limit::Task => "max_task_bytes",
        }
    }
}

/// The maximum sizes in bytes (`fitfleet_fleet::FleetConfig::limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub workspace: u64,
    pub patch: u64,
    pub task: u64,
    /// The most memory a model may be estimated to take ([`Footprint`]), `max_model_bytes`.
    pub model: u64,
}

impl Limits {
    /// The defaults: room for every published workspace and patch; models up to 4 GiB (the
    /// fleet's settings default to a quarter of the machine's memory instead).
    pub const DEFAULT: Limits = Limits { workspace: 64 << 20, patch: 16 << 20, task: 32 << 20, model: 4 << 30 };

    /// `Ok` when the model of `what` (a workspace, a patch) with a batch of `batch` fits
    /// ([`crate::Work::batch`]) is estimated to fit the model budget; otherwise an error with
    /// the estimate, the counts behind it and the budget. The one check of the client (at
    /// submit) and the workers (before compiling, and on a cached model before other work).
    pub fn check_model(&self, what: impl Into<String>, footprint: &Footprint, batch: u64) -> Result<(), ModelTooLarge> {
        let bytes = footprint.bytes(batch);
        if bytes <= self.model {
            return Ok(());
        }
        Err(ModelTooLarge { what: what.into(), footprint: *footprint, batch, bytes, limit: self.model })
    }
}

/// A model larger than the fleet's model budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the model of {what} would take an estimated {} ({footprint}; {batch} fits at once), more than the {} that max_model_bytes allows",
    human(*bytes), human(*limit)
)]
pub struct ModelTooLarge {
    /// Whose model: "workspace BkgOnly.json", "patch C1N2_Wh_hbb_700_150".
    pub what: String,
    pub footprint: Footprint,
    /// Fits at once the work needs, and the estimate with them.
    pub batch: u64,
    pub bytes: u64,
    pub limit: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

impl Limits {
    /// The limit in bytes for `which`.
    pub fn get(&self, which: Limit) -> u64 {
        match which {
            Limit::Workspace => self.workspace,
            Limit::Patch => self.patch,
            Limit::Task => self.task,
        }
    }

    /// `Ok` when `size` bytes fit under the limit; otherwise an error naming `what` (a file, a
    /// patch, a task), the size, the limit and its setting.
    pub fn check(&self, which: Limit, what: impl Into<String>, size: u64) -> Result<(), TooLarge> {
        let limit = self.get(which);
        if size <= limit {
            return Ok(());
        }
        Err(TooLarge { what: what.into(), size, limit, key: which.key() })
    }
}

/// Something is larger than the fleet accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what} is {size} bytes ({}), more than the limit of {limit} bytes ({}) set by {key}",
    human(*size), human(*limit)
)]
pub struct TooLarge {
    /// What is too large, e.g. "workspace BkgOnly.json" or "patch C1N2_Wh_hbb_700_150".
    pub what: String,
    pub size: u64,
    pub limit: u64,
    /// The setting to raise: `max_workspace_bytes`, `max_patch_bytes` or `max_task_bytes`.
    pub key: &'static str,
}

/// "1.5 MiB", "12.0 KiB", "900 B".
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_the_thing_the_sizes_and_the_setting() {
        let limits = Limits { workspace: 1000, patch: 10, task: 5 << 20, ..Limits::DEFAULT };
        assert!(limits.check(Limit::Workspace, "workspace ws.json", 1000).is_ok());
        let e = limits.check(Limit::Workspace, "workspace ws.json", 1001).unwrap_err();
        assert_eq!(
            e.to_string(),
            "workspace ws.json is 1001 bytes (1001 B), more than the limit of 1000 bytes (1000 B) set by max_workspace_bytes"
        );
        let e = limits.check(Limit::Task, "task t", 6 << 20).unwrap_err();
        assert!(
            e.to_string().contains("(6.0 MiB)") && e.to_string().contains("(5.0 MiB) set by max_task_bytes"),
            "{e}"
        );
        assert_eq!(limits.check(Limit::Patch, "patch p", 11).unwrap_err().key, "max_patch_bytes");
    }

    #[test]
    fn defaults_fit_published_workspaces() {
        let l = Limits::default();
        assert_eq!((l.workspace, l.patch, l.task), (64 << 20, 16 << 20, 32 << 20));
    }
}
