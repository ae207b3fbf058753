//! Recently seen JWS headers, parsed and validated once.
//!
//! An issuer signs every token with the same few headers (`{"alg":"HS256","typ":"JWT"}`, one
//! per `kid`), so decoding the header segment again is wasted work. This keeps a handful of
//! parsed headers that passed the header checks, keyed by their exact base64url segment.
//! The cached dicts are never handed out: callers that return a header return a copy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyDict;

const SLOTS: usize = 8;
/// Longer segments are rare and not worth holding on to.
const MAX_SEGMENT_LEN: usize = 512;

type Slot = Option<(Box<[u8]>, Py<PyDict>)>;

static SLOTS_TABLE: Mutex<[Slot; SLOTS]> =
    Mutex::new([None, None, None, None, None, None, None, None]);
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The cached header for this exact segment, if any.
pub fn get<'py>(py: Python<'py>, segment: &[u8]) -> Option<Bound<'py, PyDict>> {
    let slots = SLOTS_TABLE.lock().ok()?;
    slots
        .iter()
        .flatten()
        .find(|(key, _)| **key == *segment)
        .map(|(_, header)| header.bind(py).clone())
}

/// Remember a header that was parsed natively and passed the header checks. A copy is kept:
/// the caller may hand `header` itself out.
pub fn put(segment: &[u8], header: &Bound<'_, PyDict>) {
    if segment.len() > MAX_SEGMENT_LEN {
        return;
    }
    let Ok(header) = header.copy() else { return };
    let Ok(mut slots) = SLOTS_TABLE.lock() else {
        return;
    };
    if slots.iter().flatten().any(|(key, _)| **key == *segment) {
        return;
    }
    let index = NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS;
    if let Some(slot) = slots.get_mut(index) {
        *slot = Some((segment.into(), header.unbind()));
    }
}

/// Forget every cached header (their checks may no longer hold, e.g. under a lower depth limit).
pub fn clear() {
    if let Ok(mut slots) = SLOTS_TABLE.lock() {
        *slots = Default::default();
    }
}
