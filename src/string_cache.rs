//! Short strings that recur from token to token, made once.
//!
//! An issuer's tokens repeat most of their strings: claim names outside the registered set,
//! the issuer, the audience, roles, scopes, tenant names. Like jiter's string cache, this
//! keeps recently made short strings in a small table, so a recurring one costs a hash and a
//! compare instead of an allocation and a copy (and, for a dict key, the SipHash CPython
//! caches in the string). `str` is immutable, so results that share a string cannot tell.
//!
//! The table is two-way set-associative: a text has two slots to be in, and a miss replaces
//! the one used less recently. Two recurring strings that hash alike then both stay (in a
//! direct-mapped table they would evict each other on every token), and a token's one-off
//! strings (subjects, session ids) replace one-off strings before recurring ones.
//!
//! Some names carry a new value in nearly every token (`sub`, `jti`, session ids). Their
//! values only cost the table a lookup that misses, and a slot: each thread counts, per
//! claim name the JSON builder knows, the misses in a row, and after [`BYPASS_AFTER`] the
//! name's values are made directly, with one lookup in sixteen still made so that a name
//! whose values start to recur (one user's many requests) is seen again.
//!
//! Each thread has its own table (in the JSON builder's per-thread scratch), so decoding
//! threads share no lock or cache line (on a free-threaded build they run in parallel). A
//! parse borrows the thread's table for its whole document; a parse that finds it borrowed
//! (a re-entrant call from a finaliser) makes its strings directly.

use std::sync::LazyLock;

use pyo3::prelude::*;
use pyo3::types::PyString;

/// Longer strings are rarely repeated verbatim (subjects, session ids are per token).
const MAX_LEN: usize = 24;
/// A power of two: the bucket is the hash's low bits.
const BUCKETS: usize = 512;
/// Misses in a row after which a name's values skip the table.
const BYPASS_AFTER: u8 = 16;
/// Names whose misses are counted (the JSON builder's known names are numbered below it).
pub const COUNTED_NAMES: usize = 32;

#[derive(Default)]
struct Slot {
    text: Words,
    string: Option<Py<PyString>>,
}

#[derive(Default)]
struct Bucket {
    slots: [Slot; 2],
    /// Which of the two slots was used last.
    recent: usize,
}

/// A short text as its length and up to three little-endian words that together cover every
/// byte (they may overlap): two texts of the same length are equal exactly when their words
/// are. Made with a few loads instead of a copy, and compared without `memcmp`.
#[derive(Clone, Copy, Eq, Default)]
pub struct Words {
    len: usize,
    words: [u64; 3],
}

impl PartialEq for Words {
    /// Word by word. The derived comparison is vectorised, and a 16-byte load of two words
    /// stored one by one a moment before waits until both stores complete.
    fn eq(&self, other: &Self) -> bool {
        let [a0, a1, a2] = self.words;
        let [b0, b1, b2] = other.words;
        self.len == other.len && a0 == b0 && a1 == b1 && a2 == b2
    }
}

impl Words {
    /// `None` for texts longer than [`MAX_LEN`].
    pub fn of(bytes: &[u8]) -> Option<Self> {
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

    /// The bucket: the words mixed with this process's random seeds by folded multiplies.
    fn bucket(&self) -> usize {
        let [a, b, c] = self.words;
        let [s0, s1, s2, s3] = *SEEDS;
        let mixed = folded_multiply(a ^ s0, b ^ s1) ^ folded_multiply(c ^ s2, self.len as u64 ^ s3);
        (mixed as usize) & (BUCKETS - 1)
    }
}

/// The high and low halves of the 128-bit product, folded together (as ahash and wyhash mix).
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

type Table = Box<[Bucket]>;

fn new_table() -> Table {
    (0..BUCKETS).map(|_| Bucket::default()).collect()
}

/// Keyed per process, so no one can pick strings that share a slot (that would only evict,
/// but would keep one issuer's recurring strings out of the table).
static SEEDS: LazyLock<[u64; 4]> = LazyLock::new(|| {
    let random = ahash::RandomState::new();
    [0u64, 1, 2, 3].map(|index| random.hash_one(index) | 1)
});

/// A table of recent strings, made on first use, and the misses in a row of each counted
/// name's values.
pub struct StringTable {
    table: Option<Table>,
    misses: [u8; COUNTED_NAMES],
}

impl StringTable {
    pub const fn new() -> Self {
        StringTable {
            table: None,
            misses: [0; COUNTED_NAMES],
        }
    }

    /// The table, for one document's strings.
    pub fn strings(&mut self) -> Strings<'_> {
        Strings {
            table: Some(self.table.get_or_insert_with(new_table)),
            misses: Some(&mut self.misses),
        }
    }
}

impl Default for StringTable {
    fn default() -> Self {
        Self::new()
    }
}

/// One document's strings: through a table, or (`none`) made directly.
pub struct Strings<'t> {
    table: Option<&'t mut Table>,
    misses: Option<&'t mut [u8; COUNTED_NAMES]>,
}

impl Strings<'_> {
    /// Strings made directly, for a parse that has no table.
    pub fn none() -> Self {
        Strings {
            table: None,
            misses: None,
        }
    }

    /// `str(text)` for the value of the counted name `name` (below [`COUNTED_NAMES`]):
    /// through the table unless that name's values have kept missing it. `None` if
    /// Python could not make the string.
    ///
    /// (These functions return an `Option`, which comes back in a register: a returned
    /// `PyResult` is written to memory field by field and read back at once with wider
    /// loads, which stall until the fields are written.)
    pub fn get_for_name<'py>(
        &mut self,
        py: Python<'py>,
        text: &str,
        name: usize,
    ) -> Option<Bound<'py, PyString>> {
        let count = self
            .misses
            .as_deref()
            .and_then(|all| all.get(name))
            .copied()
            .unwrap_or(0);
        let (string, next) = if count >= BYPASS_AFTER {
            // Counts on through 255 and wraps to 0: then sixteen lookups in a row, one
            // bypassed run of 240 values in every 256.
            (
                crate::ffi::ascii_string(py, text).ok()?,
                count.wrapping_add(1),
            )
        } else {
            let (string, hit) = self.lookup(py, text)?;
            (string, if hit { 0 } else { count + 1 })
        };
        if let Some(slot) = self.misses.as_deref_mut().and_then(|all| all.get_mut(name)) {
            *slot = next;
        }
        Some(string)
    }

    /// `str(text)`, the cached object when `text` was made recently; `None` if Python
    /// could not make the string.
    pub fn get<'py>(&mut self, py: Python<'py>, text: &str) -> Option<Bound<'py, PyString>> {
        self.lookup(py, text).map(|(string, _)| string)
    }

    /// `str(text)`, and whether it came from the table.
    fn lookup<'py>(&mut self, py: Python<'py>, text: &str) -> Option<(Bound<'py, PyString>, bool)> {
        let made = |py| {
            crate::ffi::ascii_string(py, text)
                .ok()
                .map(|string| (string, false))
        };
        let Some(table) = self.table.as_mut() else {
            return made(py);
        };
        let Some(words) = Words::of(text.as_bytes()) else {
            return made(py);
        };
        let Some(bucket) = table.get_mut(words.bucket()) else {
            return made(py);
        };
        for (way, slot) in bucket.slots.iter().enumerate() {
            if let (true, Some(string)) = (slot.text == words, &slot.string) {
                bucket.recent = way;
                return Some((string.bind(py).clone(), true));
            }
        }
        let made = crate::ffi::ascii_string(py, text).ok()?;
        let way = 1 - bucket.recent;
        bucket.recent = way;
        let Some(slot) = bucket.slots.get_mut(way) else {
            return Some((made, false));
        };
        slot.text = words;
        // The string it replaces is released here (a `str` has no finaliser to run), as a
        // `Bound`: dropping a `Py` would first ask whether this thread is attached.
        let replaced = slot.string.replace(made.clone().unbind());
        drop(replaced.map(|string| string.into_bound(py)));
        Some((made, false))
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
            let mut table = StringTable::new();
            let mut strings = table.strings();
            let first = strings.get(py, "admin").map(Bound::unbind);
            let again = strings.get(py, "admin").map(Bound::unbind);
            let other = strings.get(py, "admins").map(Bound::unbind);
            let long = "x".repeat(MAX_LEN + 1);
            let long_made = strings.get(py, &long).map(|s| s.to_string());
            assert!(matches!((&first, &again), (Some(a), Some(b)) if a.is(b)));
            assert!(matches!(&other, Some(o) if o.bind(py).to_str().ok() == Some("admins")));
            assert_eq!(long_made, Some(long));
            // A document without the table still gets its strings.
            let mut nested = Strings::none();
            assert!(matches!(nested.get(py, "admin"), Some(s) if s.to_str().ok() == Some("admin")));
        });
    }

    /// Two recurring strings that share a bucket both stay; a third string replaces the one
    /// of them used less recently.
    #[test]
    fn strings_that_share_a_bucket_both_stay() {
        Python::initialize();
        Python::attach(|py| {
            let bucket_of = |text: &str| Words::of(text.as_bytes()).map(|words| words.bucket());
            let target = bucket_of("s0");
            let same: Vec<String> = (1..1_000_000)
                .map(|i| format!("s{i}"))
                .filter(|text| bucket_of(text) == target)
                .take(2)
                .collect();
            let [second, third] = same.as_slice() else {
                unreachable!("512 buckets: a million texts fill each one many times over");
            };
            let mut table = StringTable::new();
            let mut strings = table.strings();
            let mut get = |text: &str| strings.get(py, text).map(Bound::unbind);
            let (first_made, second_made) = (get("s0"), get(second));
            let same_object = |a: &Option<Py<PyString>>, b: &Option<Py<PyString>>| matches!((a, b), (Some(a), Some(b)) if a.is(b));
            assert!(same_object(&get("s0"), &first_made));
            assert!(same_object(&get(second), &second_made));
            // "s0" is now the less recently used: the third string takes its slot.
            let _ = get(third);
            assert!(same_object(&get(second), &second_made));
            assert!(!same_object(&get("s0"), &first_made));
        });
    }

    #[test]
    fn a_name_whose_values_keep_missing_skips_the_table_for_a_while() {
        Python::initialize();
        Python::attach(|py| {
            let mut table = StringTable::new();
            let mut strings = table.strings();
            let (name, other) = (3, 4);
            let same = |a: &Option<Bound<'_, PyString>>, b: &Option<Bound<'_, PyString>>| matches!((a, b), (Some(a), Some(b)) if a.is(b));
            let mut get = |text: &str, name| strings.get_for_name(py, text, name);
            let first = get("tenant-a", name);
            assert!(same(&first, &get("tenant-a", name)));
            for i in 0..BYPASS_AFTER {
                let _ = get(&format!("one-off-{i}"), name);
            }
            // Made directly now: the same text twice is two objects, with the right text.
            let (made, again) = (get("tenant-b", name), get("tenant-b", name));
            assert!(!same(&made, &again));
            assert!(matches!(&made, Some(s) if s.to_str().ok() == Some("tenant-b")));
            // Another name's values still go through the table.
            let shared = get("tenant-c", other);
            assert!(same(&shared, &get("tenant-c", other)));
            // After the bypassed run (two values of it above), lookups resume.
            for i in 2..(256 - usize::from(BYPASS_AFTER)) {
                let _ = get(&format!("skipped-{i}"), name);
            }
            let made = get("tenant-d", name);
            assert!(same(&made, &get("tenant-d", name)));
        });
    }
}
