//! A model built and compiled once, with pyhf's `model.config` answers.
use std::sync::Arc;

use anyhow::Context;
use fitfleet_engine::compute::{CompiledModel, DeviceChoice};
use fitfleet_engine::model::{Model, ModelSettings};
use fitfleet_engine::spec::Workspace;
use pyo3::prelude::*;

use crate::errors::OrPy;

/// A model (pyhf's semantics) and its compiled form, shared by every fit on it.
#[pyclass(name = "Model", module = "fitfleet._native", frozen)]
pub struct PyModel {
    pub model: Arc<Model>,
    pub compiled: Arc<CompiledModel>,
}

impl PyModel {
    /// Build the model of `ws` as the command line does; `source` names the workspace in errors.
    pub fn build(ws: &Workspace, settings: &ModelSettings, source: &str, device: &str) -> anyhow::Result<PyModel> {
        let model = Model::new(ws, settings).with_context(|| format!("{source}: cannot build the model"))?;
        if let Some(note) = &model.poi_note {
            tracing::warn!("{note}");
        }
        let choice: DeviceChoice = device.parse()?;
        let compiled = CompiledModel::new(&model, &choice.open()?).context("compiling the model")?;
        Ok(PyModel { model: Arc::new(model), compiled: Arc::new(compiled) })
    }
}

#[pymethods]
impl PyModel {
    /// Parameter names, one per component (pyhf's `config.par_names`).
    #[getter]
    fn par_names(&self) -> Vec<String> {
        self.model.par_names()
    }

    /// Parameter sets in order (pyhf's `config.par_order`).
    #[getter]
    fn par_order(&self) -> Vec<String> {
        self.model.par_order().into_iter().map(str::to_string).collect()
    }

    /// Each parameter set's name, first component and length.
    #[getter]
    fn par_slices(&self) -> Vec<(String, usize, usize)> {
        self.model.paramsets.iter().map(|s| (s.name.clone(), s.offset, s.len())).collect()
    }

    #[getter]
    fn npars(&self) -> usize {
        self.model.npars()
    }

    /// Main bins (pyhf's `config.nmaindata`).
    #[getter]
    fn nbins(&self) -> usize {
        self.model.nbins()
    }

    #[getter]
    fn poi_name(&self) -> Option<String> {
        self.model.poi_name().map(str::to_string)
    }

    #[getter]
    fn poi_index(&self) -> Option<usize> {
        self.model.poi_index
    }

    /// Why the model has no POI, or which the measurement named, when worth saying.
    #[getter]
    fn poi_note(&self) -> Option<String> {
        self.model.poi_note.clone()
    }

    fn suggested_init(&self) -> Vec<f64> {
        self.model.suggested_init()
    }

    fn suggested_bounds(&self) -> Vec<(f64, f64)> {
        self.model.suggested_bounds().into_iter().map(|[a, b]| (a, b)).collect()
    }

    fn suggested_fixed(&self) -> Vec<bool> {
        self.model.suggested_fixed()
    }

    /// The auxiliary data (pyhf's `config.auxdata`).
    #[getter]
    fn auxdata(&self) -> Vec<f64> {
        self.model.auxdata()
    }

    /// The observed main data then the auxiliary data of the workspace the model was built from.
    #[getter]
    fn observed_data(&self) -> Vec<f64> {
        self.compiled.config().observed_data.clone()
    }

    /// Channels and their bins, in the model's order.
    #[getter]
    fn channels(&self) -> Vec<(String, usize)> {
        self.model.channels.iter().map(|c| (c.name.clone(), c.nbins)).collect()
    }

    /// Expected main data then auxiliary data at `pars` (pyhf's `model.expected_data`).
    fn expected_data(&self, py: Python<'_>, pars: Vec<f64>) -> PyResult<Vec<f64>> {
        py.detach(|| self.compiled.expected_data(&[pars])).or_py().map(|mut v| v.remove(0))
    }
}
