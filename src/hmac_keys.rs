//! HMAC secrets: vetted once, prepared once, cached.
//!
//! PyJWT re-checks every HMAC secret on every call (PEM, SSH, DER and JWK sniffing) and lets
//! OpenSSL re-derive the padded key blocks each time. Here a secret is vetted the first time it
//! is seen (by the same Python rules, so the `InvalidKeyError`s are PyJWT's), then kept as
//! precomputed keyed hash states (see `ffi::hmac_state`) in a bounded, thread-safe LRU cache
//! keyed by (hash, secret bytes). Cached secrets and states are zeroed when evicted.
//!
//! Each thread looks in a small front of its own first: a hit there touches no line another
//! thread writes (no lock word, no reference count), so threads decoding at once on a
//! free-threaded build do not slow each other down. An eviction bumps a generation that
//! empties every front on its next use; an evicted key is zeroed once the cache and the
//! fronts holding it have let it go.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, RwLock};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use zeroize::Zeroize;

use crate::algorithms::Weakness;
use crate::bytes::short_eq;
use crate::ffi::hmac_state::{self, HmacStates, LaneTags, Tag};
use crate::ffi::sha256_lanes::{Lanes, LANES};
use crate::py_refs::package;

/// The HMAC hash functions JWS defines (RFC 7518 section 3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HmacHash {
    Sha256,
    Sha384,
    Sha512,
}

impl HmacHash {
    fn state_hash(self) -> hmac_state::Hash {
        match self {
            HmacHash::Sha256 => hmac_state::Hash::Sha256,
            HmacHash::Sha384 => hmac_state::Hash::Sha384,
            HmacHash::Sha512 => hmac_state::Hash::Sha512,
        }
    }

    pub fn digest_len(self) -> usize {
        match self {
            HmacHash::Sha256 => 32,
            HmacHash::Sha384 => 48,
            HmacHash::Sha512 => 64,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HmacHash::Sha256 => "SHA256",
            HmacHash::Sha384 => "SHA384",
            HmacHash::Sha512 => "SHA512",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "SHA256" | "sha256" => Some(HmacHash::Sha256),
            "SHA384" | "sha384" => Some(HmacHash::Sha384),
            "SHA512" | "sha512" => Some(HmacHash::Sha512),
            _ => None,
        }
    }
}

/// A vetted secret, ready to sign and verify.
pub struct PreparedHmacKey {
    states: HmacStates,
    secret_len: usize,
    last_used: AtomicU64,
}

impl PreparedHmacKey {
    /// A key straight from `secret`, without PyJWT's vetting or the cache: for the pure-Rust
    /// entry points of [`crate::fuzzing`], which have no interpreter to vet with.
    pub(crate) fn new_unvetted(hash: HmacHash, secret: &[u8]) -> Self {
        PreparedHmacKey {
            states: HmacStates::new(hash.state_hash(), secret),
            secret_len: secret.len(),
            last_used: AtomicU64::new(0),
        }
    }

    pub fn sign_into(&self, message: &[u8], tag: &mut Tag) {
        self.states.sign_into(message, tag);
    }

    /// The HMACs of [`LANES`] messages computed together; `None` unless SHA-256.
    pub fn sign_lanes(&self, lanes: Lanes, messages: [&[u8]; LANES]) -> Option<LaneTags> {
        self.states.sign_lanes(lanes, messages)
    }

    /// Constant-time comparison of `signature` against the MAC of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.states.verify(message, signature)
    }

    pub fn secret_len(&self) -> usize {
        self.secret_len
    }

    /// A secret shorter than the digest, by PyJWT's `check_key_length`.
    pub fn weakness(&self, hash: HmacHash) -> Option<Weakness> {
        Weakness::of_hmac(hash, self.secret_len)
    }
}

/// Secret bytes used as a cache key; zeroed when dropped.
struct SecretBytes(Box<[u8]>);

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}
impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for SecretBytes {}
impl Hash for SecretBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}
impl Borrow<[u8]> for SecretBytes {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

/// A cache key the fronts can hold too without copying the secret.
#[derive(Clone, PartialEq, Eq, Hash)]
struct SharedSecret(Arc<SecretBytes>);

impl Borrow<[u8]> for SharedSecret {
    fn borrow(&self) -> &[u8] {
        &self.0 .0
    }
}

/// aHash (randomly keyed per process) is several times cheaper than SipHash on short keys.
type Shard = HashMap<SharedSecret, Arc<PreparedHmacKey>, ahash::RandomState>;

struct KeyCache {
    shards: [RwLock<Shard>; 3],
    capacity: AtomicUsize,
    /// The LRU clock: advanced by insertions only, so a hit writes a key's stamp only
    /// when an insertion happened since its last use.
    clock: AtomicU64,
    /// Bumped whenever a key leaves the cache: the fronts then empty themselves.
    generation: AtomicU64,
}

const DEFAULT_CAPACITY: usize = 256;
/// Longer secrets are vetted and prepared on every use rather than held in the cache.
const MAX_CACHED_SECRET: usize = 4096;

static CACHE: LazyLock<KeyCache> = LazyLock::new(|| KeyCache {
    shards: Default::default(),
    capacity: AtomicUsize::new(DEFAULT_CAPACITY),
    clock: AtomicU64::new(0),
    generation: AtomicU64::new(0),
});

impl KeyCache {
    fn shard(&self, hash: HmacHash) -> &RwLock<Shard> {
        let [a, b, c] = &self.shards;
        match hash {
            HmacHash::Sha256 => a,
            HmacHash::Sha384 => b,
            HmacHash::Sha512 => c,
        }
    }

    /// Advance the LRU clock. A load and a store rather than an atomic add: a tick two
    /// threads take at once may repeat, which only blurs the eviction order.
    fn tick(&self) -> u64 {
        let now = self.clock.load(Ordering::Relaxed).wrapping_add(1);
        self.clock.store(now, Ordering::Relaxed);
        now
    }

    /// Mark `key` used now; a write only when the clock moved since its last use.
    fn touch(&self, key: &PreparedHmacKey) {
        let now = self.clock.load(Ordering::Relaxed);
        if key.last_used.load(Ordering::Relaxed) != now {
            key.last_used.store(now, Ordering::Relaxed);
        }
    }

    /// The cached key for `secret` and the cache's own copy of the secret.
    fn get(&self, hash: HmacHash, secret: &[u8]) -> Option<(SharedSecret, Arc<PreparedHmacKey>)> {
        let shard = self.shard(hash).read().ok()?;
        let (secret, key) = shard.get_key_value(secret)?;
        self.touch(key);
        Some((secret.clone(), Arc::clone(key)))
    }

    fn insert(&self, hash: HmacHash, secret: &[u8], key: Arc<PreparedHmacKey>) {
        let capacity = self.capacity.load(Ordering::Relaxed);
        if capacity == 0 {
            return;
        }
        let Ok(mut shard) = self.shard(hash).write() else {
            return;
        };
        if evict_down_to(&mut shard, capacity - 1) {
            self.generation.fetch_add(1, Ordering::Release);
        }
        shard.insert(SharedSecret(Arc::new(SecretBytes(secret.into()))), key);
    }

    fn clear_over(&self, capacity: usize) {
        for shard in &self.shards {
            if let Ok(mut shard) = shard.write() {
                evict_down_to(&mut shard, capacity);
            }
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().map(|s| s.len()).unwrap_or(0))
            .sum()
    }
}

/// Drop least recently used keys until at most `size` remain (their secrets are zeroed
/// when no front holds them any more). `true` when a key was dropped.
fn evict_down_to(shard: &mut Shard, size: usize) -> bool {
    let mut evicted = false;
    while shard.len() > size {
        let oldest = shard
            .iter()
            .min_by_key(|(_, v)| v.last_used.load(Ordering::Relaxed))
            .map(|(k, _)| k.clone());
        match oldest {
            Some(oldest) => evicted |= shard.remove(&oldest).is_some(),
            None => break,
        };
    }
    evicted
}

/// A thread's own few most recently used keys, valid while the cache's generation is the
/// one they were taken at.
struct Front {
    generation: u64,
    next: usize,
    entries: [Option<(HmacHash, SharedSecret, Arc<PreparedHmacKey>)>; FRONT_SIZE],
}

const FRONT_SIZE: usize = 4;

thread_local! {
    static FRONT: RefCell<Front> = const {
        RefCell::new(Front { generation: 0, next: 0, entries: [None, None, None, None] })
    };
}

impl Front {
    fn find(&mut self, hash: HmacHash, secret: &[u8]) -> Option<&PreparedHmacKey> {
        let generation = CACHE.generation.load(Ordering::Acquire);
        if self.generation != generation {
            self.entries = Default::default();
            self.generation = generation;
            return None;
        }
        let (_, _, key) = self
            .entries
            .iter()
            .flatten()
            .find(|(h, s, _)| *h == hash && short_eq(&s.0 .0, secret))?;
        CACHE.touch(key);
        Some(key)
    }

    fn remember(&mut self, hash: HmacHash, secret: SharedSecret, key: Arc<PreparedHmacKey>) {
        if let Some(slot) = self.entries.get_mut(self.next) {
            *slot = Some((hash, secret, key));
        }
        self.next = (self.next + 1) % FRONT_SIZE;
    }
}

/// PyJWT's `force_bytes(key)`: `str` as UTF-8, `bytes` as they are, anything else a TypeError.
pub fn with_secret_bytes<R>(
    key: &Bound<'_, PyAny>,
    f: impl FnOnce(&[u8]) -> PyResult<R>,
) -> PyResult<R> {
    if let Ok(text) = key.cast::<PyString>() {
        match crate::ffi::str_text(text).ok_or(()) {
            Ok(s) => f(s.as_bytes()),
            // Lone surrogates: the UnicodeEncodeError of PyJWT's `key.encode("utf-8")`.
            Err(_) => Err(text
                .call_method1("encode", ("utf-8",))
                .err()
                .unwrap_or_else(not_str_or_bytes)),
        }
    } else if let Ok(bytes) = key.cast::<PyBytes>() {
        f(bytes.as_bytes())
    } else {
        Err(not_str_or_bytes())
    }
}

/// PyJWT's `TypeError`, as `KeyTypeError` (both an `InvalidKeyError` and a `TypeError`).
fn not_str_or_bytes() -> PyErr {
    Python::attach(|py| {
        crate::errors::Exc::KeyTypeError.err(py, "Expected a string or bytes value")
    })
}

/// `f` of the prepared key for `key` under `hash` (vetted and cached on first sight),
/// without taking a reference to a cached key. `f` must not call into Python.
pub fn with_prepared_key<R>(
    py: Python<'_>,
    hash: HmacHash,
    key: &Bound<'_, PyAny>,
    f: impl FnOnce(&PreparedHmacKey) -> R,
) -> PyResult<R> {
    /// Where the thread's front left the lookup.
    enum Lookup {
        Applied,
        Shared(Arc<PreparedHmacKey>),
        Missed,
    }
    // The result is written in place: passed back through the layers below as a value, it
    // was copied at every layer, and the copies stalled on the stores just made.
    let mut f = Some(f);
    let mut out = None;
    with_secret_bytes(key, |secret| {
        let mut apply = |prepared: &PreparedHmacKey| {
            if let Some(f) = f.take() {
                out = Some(f(prepared));
            }
        };
        // `f` cannot reach Python, so nothing re-enters this thread's front while it runs.
        let step = FRONT.try_with(|front| {
            let Ok(mut front) = front.try_borrow_mut() else {
                return Lookup::Missed;
            };
            if let Some(found) = front.find(hash, secret) {
                apply(found);
                return Lookup::Applied;
            }
            match CACHE.get(hash, secret) {
                Some((shared, found)) => {
                    front.remember(hash, shared, Arc::clone(&found));
                    Lookup::Shared(found)
                }
                None => Lookup::Missed,
            }
        });
        match step.unwrap_or(Lookup::Missed) {
            Lookup::Applied => {}
            Lookup::Shared(found) => apply(&found),
            Lookup::Missed => apply(&*prepared_key_for(py, hash, secret)?),
        }
        Ok(())
    })?;
    out.ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("key callback did not run"))
}

/// The prepared key for `key` under `hash`, vetting and caching it on first sight.
pub fn prepared_key(
    py: Python<'_>,
    hash: HmacHash,
    key: &Bound<'_, PyAny>,
) -> PyResult<Arc<PreparedHmacKey>> {
    with_secret_bytes(key, |secret| prepared_key_for(py, hash, secret))
}

fn prepared_key_for(
    py: Python<'_>,
    hash: HmacHash,
    secret: &[u8],
) -> PyResult<Arc<PreparedHmacKey>> {
    match CACHE.get(hash, secret) {
        Some((_, found)) => Ok(found),
        None => prepare(py, hash, secret),
    }
}

/// Vet `secret` by PyJWT's rules, prepare it and cache it.
fn prepare(py: Python<'_>, hash: HmacHash, secret: &[u8]) -> PyResult<Arc<PreparedHmacKey>> {
    // First sight: PyJWT's rules (empty, PEM, SSH, DER, JWK-looking secrets are refused).
    package(py)?
        .vet_hmac_secret
        .bind(py)
        .call1((PyBytes::new(py, secret),))?;
    let prepared = Arc::new(PreparedHmacKey {
        states: HmacStates::new(hash.state_hash(), secret),
        secret_len: secret.len(),
        last_used: AtomicU64::new(CACHE.tick()),
    });
    if secret.len() <= MAX_CACHED_SECRET {
        CACHE.insert(hash, secret, Arc::clone(&prepared));
    }
    Ok(prepared)
}

fn hash_named(name: &str) -> PyResult<HmacHash> {
    HmacHash::from_name(name).ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err(format!("unsupported HMAC hash {name}"))
    })
}

/// HMAC of `msg` under raw `key` bytes, for `HMACAlgorithm.sign` (which, like PyJWT's,
/// does not vet the key: `prepare_key` does).
#[pyfunction]
pub fn hmac_sign<'py>(
    py: Python<'py>,
    hash: &str,
    key: &[u8],
    msg: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let tag = HmacStates::new(hash_named(hash)?.state_hash(), key).sign(msg);
    Ok(PyBytes::new(py, tag.as_ref()))
}

/// Constant-time HMAC verification, for `HMACAlgorithm.verify`.
#[pyfunction]
pub fn hmac_verify(hash: &str, key: &[u8], msg: &[u8], sig: &[u8]) -> PyResult<bool> {
    Ok(HmacStates::new(hash_named(hash)?.state_hash(), key).verify(msg, sig))
}

/// Bound the number of cached prepared keys: HMAC keys (per hash) and asymmetric keys
/// (0 disables caching).
#[pyfunction]
pub fn set_key_cache_size(size: usize) {
    CACHE.capacity.store(size, Ordering::Relaxed);
    CACHE.clear_over(size);
    crate::asym_keys::set_capacity(size);
}

/// `{"capacity": bound, "hmac": cached HMAC keys, "asymmetric": cached asymmetric keys}`.
#[pyfunction]
pub fn key_cache_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let info = PyDict::new(py);
    info.set_item("capacity", CACHE.capacity.load(Ordering::Relaxed))?;
    info.set_item("hmac", CACHE.len())?;
    info.set_item("asymmetric", crate::asym_keys::cached_count())?;
    Ok(info)
}
