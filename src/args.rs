//! Argument helpers for the PyJWT-shaped native signatures.

use pyo3::prelude::*;
use pyo3::types::PyString;

/// A parameter that tells "not passed" apart from an explicit `None`, which PyJWT
/// distinguishes (e.g. `algorithm=None` means `"none"`, an omitted one means `"HS256"`).
pub enum Arg<'py> {
    Missing,
    Given(Bound<'py, PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Arg<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Arg::Given(obj.to_owned()))
    }
}

impl<'py> Arg<'py> {
    /// The value, with `default` standing in when it was not passed.
    pub fn or_else(self, default: impl FnOnce() -> Bound<'py, PyAny>) -> Bound<'py, PyAny> {
        match self {
            Arg::Missing => default(),
            Arg::Given(value) => value,
        }
    }

    /// The value, or `None` when it was not passed.
    pub fn passed(&self) -> Option<&Bound<'py, PyAny>> {
        match self {
            Arg::Missing => None,
            Arg::Given(value) => Some(value),
        }
    }
}

/// The empty string, PyJWT's default `key`.
pub fn empty_str(py: Python<'_>) -> Bound<'_, PyAny> {
    PyString::new(py, "").into_any()
}

/// `None` passed or omitted alike.
pub fn given<'a, 'py>(value: Option<&'a Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    value.filter(|v| !v.is_none())
}
