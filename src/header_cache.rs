//! Recently seen JWS headers, parsed and validated once.
//!
//! An issuer signs every token with the same few headers (`{"alg":"HS256","typ":"JWT"}`, one
//! per `kid`), so decoding the header segment again is wasted work. This keeps a handful of
//! parsed headers that passed the header checks, keyed by their exact base64url segment.
//! The cached dicts are never handed out: callers that return a header return a copy, so
//! what was read from one once (its `alg` value, whether `b64` is false) stays true.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::bytes::short_eq;

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

/// One thread's headers. Per thread, so decoding threads share no lock or cache line (on a
/// free-threaded build they run in parallel); each thread keeps at most `SLOTS` headers.
#[derive(Default)]
struct Table {
    generation: u64,
    next: usize,
    slots: [Slot; SLOTS],
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::default();
}

/// Bumped by [`clear`]: a table filled under an older generation is emptied before use.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// `f` of this thread's table, or `None` if it is in use further up this thread's stack
/// or being torn down with the thread.
fn with_table<R>(f: impl FnOnce(&mut Table) -> R) -> Option<R> {
    TABLE
        .try_with(|table| {
            let mut table = table.try_borrow_mut().ok()?;
            let generation = GENERATION.load(Ordering::Acquire);
            if table.generation != generation {
                table.slots = Default::default();
                table.generation = generation;
            }
            Some(f(&mut table))
        })
        .ok()
        .flatten()
}

/// The cached header for this exact segment, if any.
pub fn get<'py>(py: Python<'py>, segment: &[u8]) -> Option<Header<Bound<'py, PyDict>>> {
    with_table(|table| {
        table
            .slots
            .iter()
            .flatten()
            .find(|(key, _)| short_eq(key, segment))
            .map(|(_, header)| Header {
                dict: header.dict.bind(py).clone(),
                alg: header.alg.as_ref().map(|alg| alg.clone_ref(py)),
                b64_false: header.b64_false,
            })
    })
    .flatten()
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
        alg: header
            .alg
            .as_ref()
            .map(|alg| interned(alg.bind(py)).unbind()),
        b64_false: header.b64_false,
    };
    with_table(|table| {
        if table
            .slots
            .iter()
            .flatten()
            .any(|(key, _)| short_eq(key, segment))
        {
            return;
        }
        let index = table.next % SLOTS;
        table.next = table.next.wrapping_add(1);
        if let Some(slot) = table.slots.get_mut(index) {
            // The header it replaces is dropped here: a dict of JSON values runs no code.
            *slot = Some((segment.into(), header));
        }
    });
}

/// `alg` as the interpreter's interned string of the same text, when it is a plain `str`:
/// the names in `algorithms=["HS256"]` are interned literals, so the allow-list test then
/// matches by identity, before comparing any text.
fn interned<'py>(alg: &Bound<'py, PyAny>) -> Bound<'py, PyAny> {
    let text = alg
        .cast_exact::<PyString>()
        .ok()
        .and_then(crate::ffi::str_text);
    match text {
        Some(text) => PyString::intern(alg.py(), text).into_any(),
        None => alg.clone(),
    }
}

/// Forget every cached header, in every thread (their checks may no longer hold, e.g.
/// under a lower depth limit).
pub fn clear() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}
