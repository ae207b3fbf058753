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
    text: Words,
    string: Option<Py<PyString>>,
}

/// A short text as its length and up to three little-endian words that together cover every
/// byte (they may overlap): two texts of the same length are equal exactly when their words
/// are. Made with a few loads instead of a copy, and compared without `memcmp`.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
struct Words {
    len: usize,
    words: [u64; 3],
}

impl Words {
    /// `None` for texts longer than [`MAX_LEN`].
    fn of(bytes: &[u8]) -> Option<Self> {
        let len = bytes.len();
        let word = |at: usize| -> Option<u64> {
            Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
        };
        let half = |at: usize| -> Option<u64> {
            Some(u64::from(u32::from_le_bytes(
                bytes.get(at..at + 4)?.try_into().ok()?,
            )))
        };
        let words = match len {
            0 => [0; 3],
            1..=3 => {
                let byte = |at: usize| bytes.get(at).map_or(0, |&b| u64::from(b));
                [byte(0) | byte(len / 2) << 8 | byte(len - 1) << 16, 0, 0]
            }
            4..=7 => [half(0)? | half(len - 4)? << 32, 0, 0],
            8..=16 => [word(0)?, word(len - 8)?, 0],
            17..=MAX_LEN => [word(0)?, word(8)?, word(len - 8)?],
            _ => return None,
        };
        Some(Words { len, words })
    }

    /// The slot: the words mixed with this process's random seeds by folded multiplies.
    fn slot(&self) -> usize {
        let [a, b, c] = self.words;
        let [s0, s1, s2, s3] = *SEEDS;
        let mixed = folded_multiply(a ^ s0, b ^ s1) ^ folded_multiply(c ^ s2, self.len as u64 ^ s3);
        (mixed as usize) & (SLOTS - 1)
    }
}

/// The high and low halves of the 128-bit product, folded together (as ahash and wyhash mix).
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

type Table = Box<[Slot]>;

fn new_table() -> Table {
    (0..SLOTS)
        .map(|_| Slot {
            text: Words::default(),
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

/// Keyed per process, so no one can pick strings that share a slot (that would only evict,
/// but would keep one issuer's recurring strings out of the table).
static SEEDS: LazyLock<[u64; 4]> = LazyLock::new(|| {
    let random = ahash::RandomState::new();
    [0u64, 1, 2, 3].map(|index| random.hash_one(index) | 1)
});

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
        let Some(words) = Words::of(text.as_bytes()) else {
            return crate::ffi::ascii_string(py, text);
        };
        let Some(slot) = table.get_mut(words.slot()) else {
            return crate::ffi::ascii_string(py, text);
        };
        if slot.text == words {
            if let Some(string) = &slot.string {
                return Ok(string.bind(py).clone());
            }
        }
        let made = crate::ffi::ascii_string(py, text)?;
        slot.text = words;
        // The string it replaces is dropped here: a `str` has no finaliser to run.
        slot.string = Some(made.clone().unbind());
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

    /// Equal words exactly when equal texts, for every length the table keeps.
    #[test]
    fn words_tell_texts_apart_at_every_byte() {
        for len in 0..=MAX_LEN {
            let base: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let words = Words::of(&base);
            assert!(words.is_some());
            assert!(words == Words::of(&base.clone()));
            for at in 0..len {
                let mut other = base.clone();
                if let Some(byte) = other.get_mut(at) {
                    *byte = b'Z';
                }
                assert!(Words::of(&other) != words, "length {len}, byte {at}");
            }
            let mut longer = base.clone();
            longer.push(0);
            assert!(
                Words::of(&longer) != words || len == MAX_LEN,
                "length {len}"
            );
        }
        assert!(Words::of(&[b'x'; MAX_LEN + 1]).is_none());
    }

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
