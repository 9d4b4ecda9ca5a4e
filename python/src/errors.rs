//! fitfleet's errors as one Python exception, with the command line's message (what follows
//! `fitfleet: error: `).
use pyo3::PyErr;

pyo3::create_exception!(
    fitfleet,
    FitfleetError,
    pyo3::exceptions::PyException,
    "An error of fitfleet: the message the command line prints after `fitfleet: error: `."
);

/// The error, its causes joined as the command line joins them.
pub fn to_py(e: anyhow::Error) -> PyErr {
    FitfleetError::new_err(fitfleet::render(&e))
}

/// `?` for fitfleet's results in functions that return to Python.
pub trait OrPy<T> {
    fn or_py(self) -> Result<T, PyErr>;
}

impl<T, E: Into<anyhow::Error>> OrPy<T> for Result<T, E> {
    fn or_py(self) -> Result<T, PyErr> {
        self.map_err(|e| to_py(e.into()))
    }
}
