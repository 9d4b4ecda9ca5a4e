//! The native module of the `fitfleet` Python package (`fitfleet._native`): a thin layer over
//! the engine (workspaces, patchsets, models, fits and tests), the command line's fleet client
//! and embedded run, and the plots. No statistics live here; results cross into Python as the
//! JSON the command line writes, and the Python side (`python/fitfleet/`) gives them pyhf's
//! shapes. Every call that fits or waits on the network releases the GIL.
mod errors;
mod fleet;
mod infer;
mod model;
mod workspace;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // One Candle thread per fit, as the command line and the workers run.
    fitfleet_engine::compute::configure_cpu_threads();
    m.add("FitfleetError", m.py().get_type::<errors::FitfleetError>())?;
    m.add_class::<workspace::PyWorkspace>()?;
    m.add_class::<workspace::PyPatchSet>()?;
    m.add_class::<model::PyModel>()?;
    m.add_function(wrap_pyfunction!(infer::fit, m)?)?;
    m.add_function(wrap_pyfunction!(infer::hypotest, m)?)?;
    m.add_function(wrap_pyfunction!(infer::upper_limit, m)?)?;
    m.add_function(wrap_pyfunction!(infer::significance, m)?)?;
    m.add_function(wrap_pyfunction!(infer::ranking, m)?)?;
    m.add_function(wrap_pyfunction!(infer::scan, m)?)?;
    m.add_function(wrap_pyfunction!(fleet::command, m)?)?;
    m.add_function(wrap_pyfunction!(fleet::plot, m)?)?;
    m.add_function(wrap_pyfunction!(fleet::results_csv, m)?)?;
    m.add_function(wrap_pyfunction!(fleet::example_pallet, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
