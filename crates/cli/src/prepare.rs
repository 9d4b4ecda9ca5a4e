//! Checking everything a batch of tasks needs before anything is queued: the workspace loads
//! and validates, the patchset belongs to it (pyhf's digest), every named patch exists, applies
//! and gives a workspace that builds a model. Errors name the file, the patch and the JSON path.
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use fitfleet_engine::model::{Footprint, Model, ModelSettings};
use fitfleet_engine::spec::{LoadedWorkspace, PatchSet, Workspace};
use fitfleet_protocol::{Limit, Limits, PatchValue, WorkspaceDigest};

use crate::args::BatchInputArgs;

/// How many failing patches an error lists.
const SHOWN_FAILURES: usize = 10;

/// A checked batch: the workspace's exact bytes and the patches to apply, in patchset order.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub workspace_path: PathBuf,
    /// The file's bytes as they are (gzip or not): what the fleet stores and workers read.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`: how tasks name the workspace.
    pub digest: WorkspaceDigest,
    pub patchset_path: Option<PathBuf>,
    /// The patchset's labels of the patch values (empty without a patchset).
    pub labels: Vec<String>,
    /// The patches, each to be one task (or one per toy shard); empty: the workspace alone.
    pub patches: Vec<fitfleet_protocol::Patch>,
    pub settings: ModelSettings,
}

impl Prepared {
    /// "BkgOnly.json + patchset.json (54 patches)" or "ws.json".
    pub fn describe(&self) -> String {
        let name =
            |p: &Path| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
        match &self.patchset_path {
            Some(ps) => {
                let n = self.patches.len();
                format!("{} + {} ({n} patch{})", name(&self.workspace_path), name(ps), if n == 1 { "" } else { "es" })
            }
            None => name(&self.workspace_path),
        }
    }
}

/// Read and check the inputs. `needs_poi`: the work is a test of the POI, so every model
/// must have one. `limits`: the fleet's maximum workspace and patch sizes.
/// `batch`: the most fits the work evaluates at once ([`fitfleet_protocol::Work::batch`]), for
/// the model budget.
pub fn prepare(input: &BatchInputArgs, needs_poi: bool, limits: &Limits, batch: u64) -> Result<Prepared> {
    let settings = input.model_settings.settings();
    // A pallet directory or archive gives both files; the files unpacked from an archive live
    // as long as `inputs`, and `Prepared` names the paths given.
    let inputs = crate::pallet_files::resolve(&input.workspace.path, input.patchset.path.as_deref())?;
    let path = &inputs.workspace;
    let given = &input.workspace.path;
    // The size first: a file too large for the fleet is not even read.
    let size = std::fs::metadata(path).with_context(|| format!("{}: cannot read the workspace", path.display()))?.len();
    limits.check(Limit::Workspace, format!("the workspace {}", path.display()), size)?;
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read the workspace", path.display()))?;
    limits.check(Limit::Workspace, format!("the workspace {}", path.display()), bytes.len() as u64)?;
    // A gzip-compressed workspace is bounded unpacked too, as workers bound it.
    let loaded = LoadedWorkspace::from_slice_within(&path.display().to_string(), &bytes, limits.workspace)?;
    let digest = WorkspaceDigest::of(&bytes);
    let Some(patchset_path) = &inputs.patchset else {
        if let Some(name) = input.patches.names.first() {
            bail!("--patch {name}: no patchset to take it from (--patchset FILE, or a pallet directory or archive)");
        }
        limits.check_model(format!("the workspace {}", given.display()), &Footprint::of(&loaded.workspace), batch)?;
        check_model(&loaded.workspace, &settings, needs_poi)
            .with_context(|| format!("{}: cannot build the model", path.display()))?;
        return Ok(Prepared {
            workspace_path: given.clone(),
            bytes,
            digest,
            patchset_path: None,
            labels: vec![],
            patches: vec![],
            settings,
        });
    };
    let set = PatchSet::from_path(patchset_path)?;
    set.verify_digest(&loaded.value)
        .with_context(|| format!("{}: not the workspace this patchset was made for", path.display()))?;
    let chosen: Vec<&fitfleet_engine::spec::Patch> = if input.patches.names.is_empty() {
        set.patches().iter().collect()
    } else {
        let mut seen = std::collections::HashSet::new();
        let mut chosen = Vec::new();
        for name in &input.patches.names {
            if seen.insert(name.as_str()) {
                chosen.push(set.find(name)?);
            }
        }
        chosen
    };
    for p in &chosen {
        let size = p.operations_json().len() as u64;
        limits.check(Limit::Patch, format!("{}: patch {} (patches[{}])", set.source_name, p.name(), p.index), size)?;
    }
    let failures = check_patches(&set, &loaded, &chosen, &settings, needs_poi, limits, batch);
    match failures.as_slice() {
        [] => {}
        [(_, reason)] => bail!("{reason}"),
        many => {
            let shown: Vec<String> = many
                .iter()
                .take(SHOWN_FAILURES)
                .map(|(i, reason)| format!("  {}: {reason}", chosen[*i].name()))
                .collect();
            bail!(
                "{} of the {} patches cannot be fitted:\n{}{}",
                many.len(),
                chosen.len(),
                shown.join("\n"),
                if many.len() > SHOWN_FAILURES {
                    format!("\n  ... and {} more", many.len() - SHOWN_FAILURES)
                } else {
                    String::new()
                }
            )
        }
    }
    let patches = chosen
        .iter()
        .map(|p| fitfleet_protocol::Patch {
            name: p.name().to_string(),
            values: p.values().iter().map(value).collect(),
            operations: p.operations_json().to_string(),
        })
        .collect();
    Ok(Prepared {
        workspace_path: given.clone(),
        bytes,
        digest,
        patchset_path: Some(input.patchset.path.clone().unwrap_or_else(|| given.clone())),
        labels: set.labels().to_vec(),
        patches,
        settings,
    })
}

/// Apply and build every patch (on every core); the failures, in patchset order, each with
/// its reason.
fn check_patches(
    set: &PatchSet,
    loaded: &LoadedWorkspace,
    chosen: &[&fitfleet_engine::spec::Patch],
    settings: &ModelSettings,
    needs_poi: bool,
    limits: &Limits,
    batch: u64,
) -> Vec<(usize, String)> {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(chosen.len()).max(1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(patch) = chosen.get(i) else { break };
                    let checked = set.apply_to(loaded, patch).map_err(anyhow::Error::from).and_then(|ws| {
                        // The workers' words: the same check, before the model is built.
                        limits.check_model(format!("patch {}", patch.name()), &Footprint::of(&ws), batch)?;
                        check_model(&ws, settings, needs_poi).with_context(|| {
                            format!(
                                "{}: patch {} ({} patches[{}]): cannot build the model",
                                loaded.source_name,
                                patch.name(),
                                set.source_name,
                                patch.index
                            )
                        })
                    });
                    if let Err(e) = checked {
                        failures.lock().unwrap_or_else(|e| e.into_inner()).push((i, format!("{e:#}")));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    failures.sort_by_key(|(i, _)| *i);
    failures
}

fn check_model(ws: &Workspace, settings: &ModelSettings, needs_poi: bool) -> Result<()> {
    let model = Model::new(ws, settings)?;
    if needs_poi && model.poi_index.is_none() {
        match &model.poi_note {
            Some(note) => bail!("no parameter of interest to test: {note}"),
            None => bail!("no parameter of interest to test"),
        }
    }
    Ok(())
}

fn value(v: &fitfleet_engine::spec::PatchValue) -> PatchValue {
    match v {
        fitfleet_engine::spec::PatchValue::Number(n) => {
            n.as_f64().map_or_else(|| PatchValue::Text(n.to_string()), PatchValue::Number)
        }
        fitfleet_engine::spec::PatchValue::Text(s) => PatchValue::Text(s.clone()),
    }
}
