//! Workspaces and patchsets: read from JSON text or files (JSON, gzip, a pallet directory or
//! archive), patched and built into models with the command line's checks and messages.
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::ValueEnum;
use fitfleet::args::{HistosysCode, NormsysCode};
use fitfleet_engine::model::ModelSettings;
use fitfleet_engine::spec::{LoadedWorkspace, PatchSet, PatchValue, PatchedWorkspace};
use pyo3::prelude::*;

use crate::errors::OrPy;
use crate::model::PyModel;

/// A validated workspace, with the file it came from (what a fleet job uploads as it is).
#[pyclass(name = "Workspace", module = "fitfleet._native", frozen)]
pub struct PyWorkspace {
    pub loaded: Arc<LoadedWorkspace>,
    /// The file or pallet it was read from; `None` when made from JSON text or a patch.
    pub path: Option<PathBuf>,
    /// The patchset of a pallet it was read from.
    pub patchset: Option<Arc<PatchSet>>,
}

/// A patchset, with the file it came from.
#[pyclass(name = "PatchSet", module = "fitfleet._native", frozen)]
pub struct PyPatchSet {
    pub set: Arc<PatchSet>,
    pub path: Option<PathBuf>,
}

#[pymethods]
impl PyWorkspace {
    /// Parse and validate a workspace from JSON text; `name` names it in errors.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str, name: &str) -> PyResult<Self> {
        let loaded = py.detach(|| LoadedWorkspace::from_slice(name, text.as_bytes())).or_py()?;
        Ok(PyWorkspace { loaded: Arc::new(loaded), path: None, patchset: None })
    }

    /// Read a workspace file (.json, .json.gz) or a pallet (directory or .tar.gz holding
    /// BkgOnly.json and patchset.json: then the patchset comes along).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| {
            let inputs = fitfleet::pallet_files::resolve(&path, None)?;
            let loaded = LoadedWorkspace::from_path(&inputs.workspace)?;
            let patchset = inputs.patchset.as_deref().map(PatchSet::from_path).transpose()?.map(Arc::new);
            anyhow::Ok(PyWorkspace { loaded: Arc::new(loaded), path: Some(path.clone()), patchset })
        })
        .or_py()
    }

    /// The workspace's JSON.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.loaded.value).or_py()
    }

    /// pyhf's digest of the workspace (`pyhf.utils.digest`).
    #[getter]
    fn digest(&self) -> String {
        self.loaded.digest.clone()
    }

    /// The name errors give it: the file, or the name given with the JSON.
    #[getter]
    fn source_name(&self) -> String {
        self.loaded.source_name.clone()
    }

    /// The file or pallet it was read from, if any.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }

    /// The patchset of the pallet it was read from, if any.
    #[getter]
    fn patchset(&self) -> Option<PyPatchSet> {
        self.patchset.as_ref().map(|set| PyPatchSet { set: set.clone(), path: self.path.clone() })
    }

    /// Build and compile the model, with `patch` of `patchset` (or of the pallet's) applied
    /// when given; `measurement`, `normsys`, `histosys` as the command line's flags.
    #[pyo3(signature = (patch=None, patchset=None, measurement=None, normsys="code4", histosys="code4p", device="cpu"))]
    #[allow(clippy::too_many_arguments)]
    fn model(
        &self,
        py: Python<'_>,
        patch: Option<&str>,
        patchset: Option<PyRef<'_, PyPatchSet>>,
        measurement: Option<String>,
        normsys: &str,
        histosys: &str,
        device: &str,
    ) -> PyResult<PyModel> {
        let settings = model_settings(measurement, normsys, histosys).or_py()?;
        let set = patchset.map(|p| p.set.clone()).or_else(|| self.patchset.clone());
        py.detach(|| {
            let ws = match patch {
                Some(name) => PatchedWorkspace::new((*self.loaded).clone(), set.as_deref(), Some(name))?.workspace,
                None => self.loaded.workspace.clone(),
            };
            PyModel::build(&ws, &settings, &self.loaded.source_name, device)
        })
        .or_py()
    }
}

#[pymethods]
impl PyPatchSet {
    /// Parse and validate a patchset from JSON text; `name` names it in errors.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str, name: &str) -> PyResult<Self> {
        let set = py.detach(|| PatchSet::from_slice(name, text.as_bytes())).or_py()?;
        Ok(PyPatchSet { set: Arc::new(set), path: None })
    }

    /// Read a patchset file, or the patchset of a pallet (directory or archive).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| {
            let is_pallet = path.is_dir() || {
                let name = path.to_string_lossy();
                name.ends_with(".tar.gz") || name.ends_with(".tgz")
            };
            let set = if is_pallet {
                let inputs = fitfleet::pallet_files::resolve(&path, None)?;
                let file = inputs.patchset.with_context(|| format!("{}: no patchset.json in it", path.display()))?;
                PatchSet::from_path(file)?
            } else {
                PatchSet::from_path(&path)?
            };
            anyhow::Ok(PyPatchSet { set: Arc::new(set), path: Some(path.clone()) })
        })
        .or_py()
    }

    /// The labels of the patches' values, e.g. ["m1", "m2"].
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.set.labels().to_vec()
    }

    /// The patches' names, in patchset order.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.set.patch_names().into_iter().map(str::to_string).collect()
    }

    /// The file or pallet it was read from, if any.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }

    /// Each patch's values, in patchset order: numbers as floats, text as str.
    fn values(&self, py: Python<'_>) -> PyResult<Vec<Vec<Py<PyAny>>>> {
        self.set.patches().iter().map(|p| p.values().iter().map(|v| value(py, v)).collect()).collect()
    }

    /// The JSON Patch operations of a patch, as JSON text.
    fn operations(&self, key: &str) -> PyResult<String> {
        Ok(self.set.find(key).or_py()?.operations_json().to_string())
    }

    /// The name of the patch a key finds: its name, or its values comma-separated ("1000,0").
    fn find(&self, key: &str) -> PyResult<String> {
        Ok(self.set.find(key).or_py()?.name().to_string())
    }

    /// Apply the patch `key` finds to `workspace`, after checking the patchset was made for
    /// it (pyhf's digest), as the command line's `--patch`.
    fn apply(&self, py: Python<'_>, workspace: PyRef<'_, PyWorkspace>, key: &str) -> PyResult<PyWorkspace> {
        let loaded = workspace.loaded.clone();
        py.detach(|| {
            let source = loaded.source_name.clone();
            let patched = PatchedWorkspace::new((*loaded).clone(), Some(&self.set), Some(key))?;
            let digest = fitfleet_engine::spec::digest(&patched.value);
            let loaded =
                LoadedWorkspace { source_name: source, value: patched.value, workspace: patched.workspace, digest };
            anyhow::Ok(PyWorkspace { loaded: Arc::new(loaded), path: None, patchset: None })
        })
        .or_py()
    }
}

/// A patch value for Python: float or str.
fn value(py: Python<'_>, v: &PatchValue) -> PyResult<Py<PyAny>> {
    Ok(match v {
        PatchValue::Number(n) => match n.as_f64() {
            Some(f) => f.into_pyobject(py)?.into_any().unbind(),
            None => n.to_string().into_pyobject(py)?.into_any().unbind(),
        },
        PatchValue::Text(s) => s.into_pyobject(py)?.into_any().unbind(),
    })
}

/// Model settings from the command line's names of the interpolation codes.
pub fn model_settings(measurement: Option<String>, normsys: &str, histosys: &str) -> anyhow::Result<ModelSettings> {
    let normsys = NormsysCode::from_str(normsys, true)
        .map_err(|_| anyhow!("normsys interpolation {normsys:?}: expected code4 or code1"))?;
    let histosys = HistosysCode::from_str(histosys, true)
        .map_err(|_| anyhow!("histosys interpolation {histosys:?}: expected code4p, code0 or code2"))?;
    Ok(ModelSettings { measurement, normsys: normsys.into(), histosys: histosys.into() })
}
