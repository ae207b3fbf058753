//! Raising PyJWT's exceptions (defined in `turbojwt.exceptions`) and warnings from Rust.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyTuple, PyType};

/// The exception classes the core raises, by name in `turbojwt.exceptions`.
#[allow(clippy::enum_variant_names)] // PyJWT's class names
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exc {
    InvalidTokenError,
    DecodeError,
    InvalidSignatureError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidSubjectError,
    InvalidJTIError,
    MissingRequiredClaimError,
    InvalidKeyError,
    TokenUnicodeEncodeError,
    KeyTypeError,
}

const ALL: [Exc; 15] = [
    Exc::InvalidTokenError,
    Exc::DecodeError,
    Exc::InvalidSignatureError,
    Exc::ExpiredSignatureError,
    Exc::ImmatureSignatureError,
    Exc::InvalidAlgorithmError,
    Exc::InvalidAudienceError,
    Exc::InvalidIssuedAtError,
    Exc::InvalidIssuerError,
    Exc::InvalidSubjectError,
    Exc::InvalidJTIError,
    Exc::MissingRequiredClaimError,
    Exc::InvalidKeyError,
    Exc::TokenUnicodeEncodeError,
    Exc::KeyTypeError,
];

impl Exc {
    fn name(self) -> &'static str {
        match self {
            Exc::InvalidTokenError => "InvalidTokenError",
            Exc::DecodeError => "DecodeError",
            Exc::InvalidSignatureError => "InvalidSignatureError",
            Exc::ExpiredSignatureError => "ExpiredSignatureError",
            Exc::ImmatureSignatureError => "ImmatureSignatureError",
            Exc::InvalidAlgorithmError => "InvalidAlgorithmError",
            Exc::InvalidAudienceError => "InvalidAudienceError",
            Exc::InvalidIssuedAtError => "InvalidIssuedAtError",
            Exc::InvalidIssuerError => "InvalidIssuerError",
            Exc::InvalidSubjectError => "InvalidSubjectError",
            Exc::InvalidJTIError => "InvalidJTIError",
            Exc::MissingRequiredClaimError => "MissingRequiredClaimError",
            Exc::InvalidKeyError => "InvalidKeyError",
            Exc::TokenUnicodeEncodeError => "TokenUnicodeEncodeError",
            Exc::KeyTypeError => "KeyTypeError",
        }
    }

    pub fn class(self, py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
        let classes = CLASSES.get_or_try_init(py, || load_classes(py))?;
        let index = ALL.iter().position(|e| *e == self).unwrap_or(0);
        match classes.exceptions.get(index) {
            Some(class) => Ok(class.bind(py)),
            None => Err(pyo3::exceptions::PySystemError::new_err("exception table")),
        }
    }

    /// A ready-to-raise error of this class with a single message argument.
    pub fn err(self, py: Python<'_>, message: impl Into<String>) -> PyErr {
        match self.class(py) {
            Ok(class) => PyErr::from_type(class.clone(), message.into()),
            Err(e) => e,
        }
    }

    /// An error raised often (a forged-token flood), its message an interned string: no
    /// message copy per raise. Still raised through `PyErr_SetObject`, which chains the
    /// exception being handled as `__context__`, as a `raise` in PyJWT does.
    pub fn err_interned(self, py: Python<'_>, message: &Bound<'_, PyString>) -> PyErr {
        match self.class(py) {
            Ok(class) => PyErr::from_type(class.clone(), (message.clone().unbind(),)),
            Err(e) => e,
        }
    }

    /// An error whose message is a Python object (keeps lone surrogates a `String` cannot).
    pub fn err_with(self, py: Python<'_>, message: Bound<'_, PyAny>) -> PyErr {
        match self.class(py) {
            Ok(class) => PyErr::from_type(class.clone(), (message.unbind(),)),
            Err(e) => e,
        }
    }

    /// The error with `cause` set as its `__cause__`, as `raise ... from cause` does.
    pub fn err_from(self, py: Python<'_>, message: impl Into<String>, cause: PyErr) -> PyErr {
        let err = self.err(py, message);
        err.set_cause(py, Some(cause));
        err
    }
}

/// Shorthand for the error paths: `fail(py, Exc::DecodeError, "msg")?`.
pub fn fail<T>(py: Python<'_>, exc: Exc, message: impl Into<String>) -> PyResult<T> {
    Err(exc.err(py, message))
}

struct Classes {
    exceptions: Vec<Py<PyType>>,
    insecure_key_length: Py<PyType>,
    token_limit: Py<PyType>,
    removed_in_pyjwt3: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn load_classes(py: Python<'_>) -> PyResult<Classes> {
    let exceptions = py.import("turbojwt.exceptions")?;
    let warnings = py.import("turbojwt.warnings")?;
    let mut classes = Vec::with_capacity(ALL.len());
    for exc in ALL {
        classes.push(
            exceptions
                .getattr(exc.name())?
                .cast_into::<PyType>()?
                .unbind(),
        );
    }
    Ok(Classes {
        exceptions: classes,
        insecure_key_length: warnings
            .getattr("InsecureKeyLengthWarning")?
            .cast_into::<PyType>()?
            .unbind(),
        removed_in_pyjwt3: warnings
            .getattr("RemovedInPyjwt3Warning")?
            .cast_into::<PyType>()?
            .unbind(),
        token_limit: warnings
            .getattr("TokenLimitWarning")?
            .cast_into::<PyType>()?
            .unbind(),
    })
}

/// The warnings PyJWT emits, and turbojwt's one of its own (`TokenLimit`).
#[derive(Clone, Copy)]
pub enum Warn {
    InsecureKeyLength,
    RemovedInPyjwt3,
    Deprecation,
    /// `encode` produced a token that `decode` would refuse under the current limits.
    TokenLimit,
}

/// Emit a warning attributed to the Python code that called into the core.
pub fn warn(py: Python<'_>, kind: Warn, message: &str) -> PyResult<()> {
    let classes = CLASSES.get_or_try_init(py, || load_classes(py))?;
    let category = match kind {
        Warn::InsecureKeyLength => classes.insecure_key_length.bind(py).clone(),
        Warn::RemovedInPyjwt3 => classes.removed_in_pyjwt3.bind(py).clone(),
        Warn::Deprecation => py.get_type::<pyo3::exceptions::PyDeprecationWarning>(),
        Warn::TokenLimit => classes.token_limit.bind(py).clone(),
    };
    PyErr::warn(
        py,
        &category,
        &std::ffi::CString::new(message).unwrap_or_default(),
        1,
    )
}

/// `DecodeError("Not enough segments")`, raised as PyJWT raises it: `from` the `ValueError`
/// its segment unpacking failed with, which itself chains the exception being handled.
pub fn not_enough_segments(py: Python<'_>) -> PyErr {
    let unpacking =
        pyo3::exceptions::PyValueError::new_err("not enough values to unpack (expected 2, got 1)");
    let handled = py
        .import(pyo3::intern!(py, "sys"))
        .and_then(|sys| sys.call_method0(pyo3::intern!(py, "exception")));
    if let Some(handled) = handled.ok().filter(|h| !h.is_none()) {
        // Best effort: a chain that cannot be set leaves the error itself unchanged.
        let _ = unpacking
            .value(py)
            .setattr(pyo3::intern!(py, "__context__"), handled);
    }
    Exc::DecodeError.err_from(py, "Not enough segments", unpacking)
}

/// `MissingRequiredClaimError(claim)`: its constructor takes the claim, not a message.
pub fn missing_claim(py: Python<'_>, claim: &Bound<'_, PyAny>) -> PyErr {
    match Exc::MissingRequiredClaimError.class(py) {
        Ok(class) => PyErr::from_type(class.clone(), (claim.clone().unbind(),)),
        Err(e) => e,
    }
}

/// Re-raise a builtin `UnicodeEncodeError` as `TokenUnicodeEncodeError`, which is both
/// a `DecodeError` and a `UnicodeEncodeError`, keeping its arguments.
pub fn token_unicode_error(py: Python<'_>, original: PyErr) -> PyErr {
    let args = original
        .value(py)
        .getattr("args")
        .and_then(|a| a.cast_into::<PyTuple>().map_err(Into::into));
    match (Exc::TokenUnicodeEncodeError.class(py), args) {
        (Ok(class), Ok(args)) => match class.call1(args) {
            Ok(instance) => PyErr::from_value(instance),
            Err(e) => e,
        },
        (Err(e), _) | (_, Err(e)) => e,
    }
}
