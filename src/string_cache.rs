//! Short strings that recur from token to token, made once.
//!
//! An issuer's tokens repeat most of their strings: claim names outside the registered set,
//! the issuer, the audience, roles, scopes, tenant names. Like jiter's string cache, this
//! keeps recently made short strings in a small direct-mapped table, so a recurring one costs
//! a hash and a compare instead of an allocation and a copy (and, for a dict key, the
//! SipHash CPython caches in the string). `str` is immutable, so results that share a string
//! cannot tell.
//!
//! Each thread has its own table, so decoding threads share no lock or cache line (on a
//! free-threaded build they run in parallel). A parse takes the thread's table for its
//! whole document and puts it back when done; a parse that finds it taken (a re-entrant
//! call from a finaliser) makes its strings directly.

use std::cell::Cell;
use std::sync::LazyLock;

use pyo3::prelude::*;
use pyo3::types::PyString;

/// Longer strings are rarely repeated verbatim (subjects, session ids are per token).
const MAX_LEN: usize = 24;
/// A power of two: the slot is the hash's low bits.
const SLOTS: usize = 1024;

struct Slot {
    len: u8,
    bytes: [u8; MAX_LEN],
    string: Option<Py<PyString>>,
}

type Table = Box<[Slot]>;

fn new_table() -> Table {
    (0..SLOTS)
        .map(|_| Slot {
            len: 0,
            bytes: [0; MAX_LEN],
            string: None,
        })
        .collect()
}

thread_local! {
    /// `None` while a parse of this thread has the table (or before its first parse).
    static TABLE: Cell<Option<Table>> = const { Cell::new(None) };
    /// Whether this thread has made its table yet.
    static MADE: Cell<bool> = const { Cell::new(false) };
}

/// Keyed per process, so no one can pick strings that collide (a collision would only
/// evict, but a flood of them would empty the cache).
static HASHER: LazyLock<ahash::RandomState> = LazyLock::new(ahash::RandomState::new);

/// This thread's table, for one document's strings; returned to the thread when dropped.
pub struct Strings {
    table: Option<Table>,
}

impl Strings {
    pub fn open() -> Self {
        let table = TABLE.try_with(Cell::take).ok().flatten().or_else(|| {
            // The first parse on this thread makes the table; a nested one goes without.
            let first = MADE.try_with(|made| !made.replace(true)).unwrap_or(false);
            first.then(new_table)
        });
        Strings { table }
    }

    /// `str(text)`, the cached object when `text` was made recently.
    pub fn get<'py>(&mut self, py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyString>> {
        let Some(table) = self.table.as_mut() else {
            return crate::ffi::ascii_string(py, text);
        };
        let bytes = text.as_bytes();
        let (Some(len), true) = (u8::try_from(bytes.len()).ok(), bytes.len() <= MAX_LEN) else {
            return crate::ffi::ascii_string(py, text);
        };
        let index = (HASHER.hash_one(bytes) as usize) & (SLOTS - 1);
        let Some(slot) = table.get_mut(index) else {
            return crate::ffi::ascii_string(py, text);
        };
        if slot.len == len && slot.bytes.get(..bytes.len()) == Some(bytes) {
            if let Some(string) = &slot.string {
                return Ok(string.bind(py).clone());
            }
        }
        let made = crate::ffi::ascii_string(py, text)?;
        if let Some(prefix) = slot.bytes.get_mut(..bytes.len()) {
            prefix.copy_from_slice(bytes);
            slot.len = len;
            // The string it replaces is dropped here: a `str` has no finaliser to run.
            slot.string = Some(made.clone().unbind());
        }
        Ok(made)
    }
}

impl Drop for Strings {
    fn drop(&mut self) {
        if let Some(table) = self.table.take() {
            // Fails only while the thread is being torn down: the table is dropped then.
            let _ = TABLE.try_with(|slot| slot.set(Some(table)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recurring_string_is_one_object_with_the_same_text() {
        Python::initialize();
        Python::attach(|py| {
            let mut strings = Strings::open();
            let first = strings.get(py, "admin").map(Bound::unbind);
            let again = strings.get(py, "admin").map(Bound::unbind);
            let other = strings.get(py, "admins").map(Bound::unbind);
            let long = "x".repeat(MAX_LEN + 1);
            let long_made = strings.get(py, &long).map(|s| s.to_string());
            assert!(matches!((&first, &again), (Ok(a), Ok(b)) if a.is(b)));
            assert!(matches!(&other, Ok(o) if o.bind(py).to_str().ok() == Some("admins")));
            assert_eq!(long_made.ok(), Some(long));
            // A second document while the first has the table still gets its strings.
            let mut nested = Strings::open();
            assert!(matches!(nested.get(py, "admin"), Ok(s) if s.to_str().ok() == Some("admin")));
        });
    }
}
