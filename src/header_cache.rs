//! Recently seen JWS headers, parsed and validated once.
//!
//! An issuer signs every token with the same few headers (`{"alg":"HS256","typ":"JWT"}`, one
//! per `kid`), so decoding the header segment again is wasted work. This keeps a handful of
//! parsed headers that passed the header checks, keyed by their exact base64url segment.
//! The cached dicts are never handed out: callers that return a header return a copy, so
//! what was read from one once (its `alg` value, whether `b64` is false) stays true.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyDict;

const SLOTS: usize = 8;
/// Longer segments are rare and not worth holding on to.
const MAX_SEGMENT_LEN: usize = 512;

/// A parsed, validated header and what every decode reads from it.
pub struct Header<T> {
    pub dict: T,
    /// `header.get("alg")`.
    pub alg: Option<Py<PyAny>>,
    /// Whether `header.get("b64")` is `False` (RFC 7797's unencoded payload).
    pub b64_false: bool,
}

type Slot = Option<(Box<[u8]>, Header<Py<PyDict>>)>;

static SLOTS_TABLE: Mutex<[Slot; SLOTS]> =
    Mutex::new([None, None, None, None, None, None, None, None]);
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The cached header for this exact segment, if any.
pub fn get<'py>(py: Python<'py>, segment: &[u8]) -> Option<Header<Bound<'py, PyDict>>> {
    let slots = SLOTS_TABLE.lock().ok()?;
    slots
        .iter()
        .flatten()
        .find(|(key, _)| **key == *segment)
        .map(|(_, header)| Header {
            dict: header.dict.bind(py).clone(),
            alg: header.alg.as_ref().map(|alg| alg.clone_ref(py)),
            b64_false: header.b64_false,
        })
}

/// Remember a header that was parsed natively and passed the header checks. A copy of the
/// dict is kept: the caller may hand its own out.
pub fn put(segment: &[u8], header: &Header<Bound<'_, PyDict>>) {
    if segment.len() > MAX_SEGMENT_LEN {
        return;
    }
    let Ok(dict) = header.dict.copy() else { return };
    let py = dict.py();
    let header = Header {
        dict: dict.unbind(),
        alg: header.alg.as_ref().map(|alg| alg.clone_ref(py)),
        b64_false: header.b64_false,
    };
    let Ok(mut slots) = SLOTS_TABLE.lock() else {
        return;
    };
    if slots.iter().flatten().any(|(key, _)| **key == *segment) {
        return;
    }
    let index = NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS;
    if let Some(slot) = slots.get_mut(index) {
        *slot = Some((segment.into(), header));
    }
}

/// Forget every cached header (their checks may no longer hold, e.g. under a lower depth limit).
pub fn clear() {
    if let Ok(mut slots) = SLOTS_TABLE.lock() {
        *slots = Default::default();
    }
}
