//! The one module allowed `unsafe`: CPython C-API access that PyO3's safe API does not offer
//! and the hot path needs. Every block states why it is sound. Everything else in the crate
//! is `#![deny(unsafe_code)]` (see `Cargo.toml`).
#![allow(unsafe_code)]

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A number that changes whenever `dict` is modified, and that no other dict state has had:
/// CPython 3.11-3.13 give every dict a version from a global counter, bumped on every
/// insertion, deletion or update (PEP 509). `None` where the interpreter has none (3.14+,
/// where the field was removed, and PyPy): callers then read the dict each time.
#[cfg(all(not(Py_3_14), not(PyPy), not(GraalPy), not(Py_LIMITED_API)))]
pub fn dict_version(dict: &Bound<'_, PyDict>) -> Option<u64> {
    let raw = dict.as_ptr().cast::<ffi::PyDictObject>();
    // SAFETY: `dict` is a live `dict` (or subclass) instance, whose C layout starts with
    // `PyDictObject` on these interpreters; the GIL (or, free-threaded, the object's own
    // reference) keeps it alive for the read, and `ma_version_tag` is a plain integer
    // field. A torn read under free-threading could only make the version look changed,
    // which makes the caller read the dict again.
    #[allow(deprecated)] // deprecated in 3.12 and 3.13, still maintained by them
    let version = unsafe { std::ptr::addr_of!((*raw).ma_version_tag).read_volatile() };
    Some(version)
}

#[cfg(not(all(not(Py_3_14), not(PyPy), not(GraalPy), not(Py_LIMITED_API))))]
pub fn dict_version(_dict: &Bound<'_, PyDict>) -> Option<u64> {
    None
}
