//! The verified-token cache: a repeat of a token that decoded successfully is answered
//! without base64, JSON or signature work.
//!
//! An API sees the same bearer token on every request of a session. A decode's outcome
//! depends on the token and on everything the call says about how to check it; the entry is
//! keyed by both, and a hit is answered only when both are byte-for-byte what the successful
//! decode saw. What can change between two identical calls is the clock (re-checked on every
//! hit), the algorithm registry (the entry's `Algorithm` object must still be registered under
//! its name) and the process-wide limits (a generation counter). Failures are never kept.
//!
//! - Keys: a per-process randomly keyed hash (aHash) picks the slot, so an attacker cannot
//!   aim tokens at one slot; the token is then compared in constant time, so a hit or a miss
//!   reveals nothing about a cached token's bytes.
//! - Admission on second sight: a token is kept only once it has been seen before (a
//!   lock-free table of hashes remembers first sightings), so a stream of one-off tokens
//!   costs each a hash, a load and a store, and never evicts the tokens that do repeat.
//! - Bounds: entries and bytes, split over shards with a lock each; the oldest entries go
//!   first. Secret key bytes held in an entry's context are zeroed when it is dropped.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFrozenSet, PyList, PySet, PyString, PyTuple};
use zeroize::Zeroize;

use crate::claims::Captured;

pub const DEFAULT_MAX_ENTRIES: usize = 4096;
pub const DEFAULT_MAX_BYTES: usize = 16 * 1024 * 1024;
const SHARDS: usize = 8;
/// Bookkeeping per entry beyond the bytes it copies (dicts, handles, table slots).
const ENTRY_OVERHEAD: usize = 512;

static MAX_ENTRIES: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_ENTRIES);
static MAX_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_BYTES);
/// Bumped whenever something outside the call changes what a decode accepts (the limits).
static GENERATION: AtomicU64 = AtomicU64::new(0);
static HITS: Count = Count(AtomicU64::new(0));
static MISSES: Count = Count(AtomicU64::new(0));
static EVICTIONS: AtomicU64 = AtomicU64::new(0);

/// A count of probes, kept by threads attached to the interpreter.
struct Count(AtomicU64);

impl Count {
    fn add_one(&self, _py: Python<'_>) {
        // With the GIL, attached threads take turns, so a load and a store count exactly,
        // without the locked increment that waits for the store buffer to drain (about 1%
        // of a rejected token's time). Free-threaded, they may run at once.
        #[cfg(not(Py_GIL_DISABLED))]
        self.0.store(
            self.0.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
        #[cfg(Py_GIL_DISABLED)]
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

static HASHER: LazyLock<ahash::RandomState> = LazyLock::new(ahash::RandomState::new);
/// Bytes of a token's end that pick its slot, with its length. Two tokens that end alike
/// share a slot and are told apart by the full comparison; tokens worth keeping end in a
/// signature, which no two of them share.
const HASHED_TAIL: usize = 64;
static TABLE: LazyLock<[Mutex<Shard>; SHARDS]> = LazyLock::new(Default::default);

/// Which token hashes have entries, readable without a shard's lock: a first-sight token or
/// a forgery (nearly all probes of a busy server) then costs the cache one load instead of a
/// lock and an unlock. A hint, direct-mapped: a slot holds the last hash marked there, so
/// two kept tokens that share a slot find only one marked (the other's next decode misses
/// and marks it again), and a stale mark only sends the probe on to the locked lookup,
/// which decides. Written only under the hash's shard lock.
static PRESENT: HashSlots = HashSlots::new();

/// The hashes of tokens seen once since they were last admitted, read and written without
/// a lock: a first-sight token (most of what a busy server decodes, and every token of a
/// flood of one-off tokens) costs admission a load and a store, where a shard's lock and
/// unlock were two locked instructions and a set insertion. Direct-mapped: a first sighting
/// replaces the one in its slot, so a token whose sighting was replaced (or whose two
/// sightings raced with another thread's) is admitted at its next sighting instead. Slots
/// are picked by the per-process random hash, so no one can aim tokens at another's slot.
static SEEN: HashSlots = HashSlots::new();

const HASH_SLOTS: usize = 16 * 1024;

/// A direct-mapped table of token hashes. Cache-line aligned, so no slot shares a line with
/// the counters threads increment.
#[repr(C, align(64))]
struct HashSlots([AtomicU64; HASH_SLOTS]);

impl HashSlots {
    const fn new() -> Self {
        HashSlots([const { AtomicU64::new(0) }; HASH_SLOTS])
    }

    /// The slot of `hash`, picked by bits that neither the shard (32 and up, mod 8) nor the
    /// shard's map index start from.
    fn slot(&self, hash: u64) -> Option<&AtomicU64> {
        self.0.get(usize::try_from(hash >> 40).ok()? % HASH_SLOTS)
    }

    fn clear(&self) {
        for slot in self.0.iter() {
            slot.store(0, Ordering::Relaxed);
        }
    }
}

fn is_present(hash: u64) -> bool {
    PRESENT
        .slot(hash)
        .is_some_and(|slot| slot.load(Ordering::Relaxed) == hash)
}

fn mark_present(hash: u64) {
    if let Some(slot) = PRESENT.slot(hash) {
        slot.store(hash, Ordering::Relaxed);
    }
}

fn unmark_present(hash: u64) {
    if let Some(slot) = PRESENT
        .slot(hash)
        .filter(|slot| slot.load(Ordering::Relaxed) == hash)
    {
        slot.store(0, Ordering::Relaxed);
    }
}

/// A decode the cache answered or may keep: the token's result as the caller receives it.
pub struct Hit<'py> {
    /// The caller's own dict.
    pub payload: Bound<'py, PyDict>,
    /// Shared with the cache: copy it before handing it out.
    pub header: Bound<'py, PyDict>,
    /// Immutable, so shared with the cache.
    pub signature: Bound<'py, PyBytes>,
    /// From a lookup: the payload's `exp`, `nbf` and `iat` as kept with the entry, which the
    /// time checks of every hit read without three dict lookups (the payload is a copy of
    /// the entry's own dict, which no caller can reach, so they are its values).
    pub times: Captured<'py>,
}

/// The time claims of a kept payload, and their integer values where they are exact `int`s
/// that fit an `i64` (`int(value)` is then the value itself).
struct TimeClaims {
    exp: Option<(Py<PyAny>, Option<i64>)>,
    nbf: Option<(Py<PyAny>, Option<i64>)>,
    iat: Option<(Py<PyAny>, Option<i64>)>,
}

impl TimeClaims {
    fn of(py: Python<'_>, payload: &Bound<'_, PyDict>) -> PyResult<Self> {
        let read = |name: &Bound<'_, PyString>| -> PyResult<Option<(Py<PyAny>, Option<i64>)>> {
            Ok(payload.get_item(name)?.map(|value| {
                let exact = value
                    .is_exact_instance_of::<pyo3::types::PyInt>()
                    .then(|| value.extract::<i64>().ok())
                    .flatten();
                (value.unbind(), exact)
            }))
        };
        Ok(TimeClaims {
            exp: read(pyo3::intern!(py, "exp"))?,
            nbf: read(pyo3::intern!(py, "nbf"))?,
            iat: read(pyo3::intern!(py, "iat"))?,
        })
    }

    fn captured<'py>(&self, py: Python<'py>) -> Captured<'py> {
        let object = |claim: &Option<(Py<PyAny>, Option<i64>)>| {
            claim.as_ref().map(|(value, _)| value.bind(py).clone())
        };
        let int = |claim: &Option<(Py<PyAny>, Option<i64>)>| claim.as_ref().and_then(|c| c.1);
        Captured {
            exp: object(&self.exp),
            nbf: object(&self.nbf),
            iat: object(&self.iat),
            exp_int: int(&self.exp),
            nbf_int: int(&self.nbf),
            iat_int: int(&self.iat),
            ..Captured::default()
        }
    }
}

/// Everything besides the token that decides a decode's outcome, serialised so that two
/// calls are the same call exactly when their contexts are equal bytes.
pub struct Context {
    bytes: Vec<u8>,
    /// Where the key's bytes start: they come last, so only they need zeroing, and no
    /// reallocation ever leaves a copy of them behind.
    secret_from: usize,
}

thread_local! {
    /// A thread's spare context buffer: describing a call then allocates nothing, and a
    /// lookup (a cache hit) frees nothing.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Room for a typical call with its secret (about 180 bytes for `decode(token, secret,
/// algorithms=[...], audience=..., issuer=...)`): growing it would cost a reallocation.
const CONTEXT_ROOM: usize = 256;

impl Drop for Context {
    fn drop(&mut self) {
        // The context may hold an HMAC secret.
        if let Some(secret) = self.bytes.get_mut(self.secret_from..) {
            secret.zeroize();
        }
        if self.bytes.capacity() <= 4 * CONTEXT_ROOM {
            let mut spare = std::mem::take(&mut self.bytes);
            spare.clear();
            // A thread being torn down has no spare to keep; the buffer is then freed.
            let _ = SPARE.try_with(|slot| slot.set(spare));
        }
    }
}

/// Whether `key` is described by its address (every key but an exact `str` or `bytes`
/// secret): an entry then holds the key, so no other object can take that address while
/// the entry lives.
fn key_by_address(key: &Bound<'_, PyAny>) -> bool {
    !key.is_exact_instance_of::<PyString>() && !key.is_exact_instance_of::<PyBytes>()
}

/// Builds a [`Context`]; any part it cannot describe exactly makes the call uncacheable.
pub struct ContextBuilder {
    bytes: Vec<u8>,
}

impl ContextBuilder {
    /// `None` when the cache is off.
    pub fn new(complete: bool) -> Option<Self> {
        if MAX_ENTRIES.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut bytes = SPARE.try_with(Cell::take).unwrap_or_default();
        bytes.clear();
        bytes.reserve(CONTEXT_ROOM);
        bytes.extend_from_slice(&GENERATION.load(Ordering::Relaxed).to_le_bytes());
        bytes.push(u8::from(complete));
        Some(ContextBuilder { bytes })
    }

    fn field(&mut self, tag: u8, data: &[u8]) -> Option<()> {
        let length = u32::try_from(data.len()).ok()?;
        self.bytes.push(tag);
        self.bytes.extend_from_slice(&length.to_le_bytes());
        self.bytes.extend_from_slice(data);
        Some(())
    }

    pub fn flags(&mut self, flags: impl IntoIterator<Item = bool>) {
        let bits = flags
            .into_iter()
            .enumerate()
            .fold(0u32, |acc, (i, f)| acc | (u32::from(f) << i));
        self.bytes.push(b'f');
        self.bytes.extend_from_slice(&bits.to_le_bytes());
    }

    pub fn float(&mut self, value: f64) {
        self.bytes.push(b'l');
        self.bytes.extend_from_slice(&value.to_bits().to_le_bytes());
    }

    /// `None`, an exact `str`, or a list, tuple or set of exact `str`s.
    pub fn strings(&mut self, tag: u8, value: Option<&Bound<'_, PyAny>>) -> Option<()> {
        let Some(value) = value else {
            return self.field(tag, b"-");
        };
        if value.is_exact_instance_of::<PyString>() {
            let text = value.cast::<PyString>().ok()?.to_str().ok()?;
            self.field(tag, b"1")?;
            return self.field(b'.', text.as_bytes());
        }
        let is_collection = value.is_exact_instance_of::<PyList>()
            || value.is_exact_instance_of::<PyTuple>()
            || value.is_exact_instance_of::<PySet>()
            || value.is_exact_instance_of::<PyFrozenSet>();
        if !is_collection {
            return None;
        }
        self.field(tag, b"n")?;
        // A list or tuple is read in place: a Python iterator object would be allocated and
        // freed on every call for what is nearly always `algorithms=["HS256"]`.
        if let Ok(list) = value.cast::<PyList>() {
            for item in list.iter() {
                self.string_item(&item)?;
            }
        } else if let Ok(tuple) = value.cast::<PyTuple>() {
            for item in tuple.iter() {
                self.string_item(&item)?;
            }
        } else {
            for item in value.try_iter().ok()? {
                self.string_item(&item.ok()?)?;
            }
        }
        self.field(tag, b"$")
    }

    fn string_item(&mut self, item: &Bound<'_, PyAny>) -> Option<()> {
        if !item.is_exact_instance_of::<PyString>() {
            return None;
        }
        let text = item.cast::<PyString>().ok()?.to_str().ok()?;
        self.field(b'.', text.as_bytes())
    }

    /// The context, ending with the registry's and the key's identity: a `str`/`bytes`
    /// key by content, any other by address. `None` when the key cannot be described.
    pub fn finish(
        mut self,
        key: &Bound<'_, PyAny>,
        registry: &Bound<'_, PyDict>,
    ) -> Option<Context> {
        self.field(b'g', &(registry.as_ptr() as usize).to_le_bytes())?;
        let identity = (key.as_ptr() as usize).to_le_bytes();
        let (tag, data) = if let Ok(text) = key.cast_exact::<PyString>() {
            (b's', text.to_str().ok()?.as_bytes())
        } else if let Ok(bytes) = key.cast_exact::<PyBytes>() {
            (b'b', bytes.as_bytes())
        } else {
            (b'o', &identity[..])
        };
        // Room first: once the secret is written the buffer must never move.
        self.bytes.reserve_exact(1 + 4 + data.len());
        let secret_from = self.bytes.len();
        self.field(tag, data)?;
        Some(Context {
            bytes: std::mem::take(&mut self.bytes),
            secret_from,
        })
    }
}

struct Entry {
    token: Box<[u8]>,
    context: Context,
    /// The registry and a key described by address, held so that no other object takes
    /// the address the context names while the entry lives.
    registry: Py<PyDict>,
    _holds_key: Option<Py<PyAny>>,
    /// The header's `alg` and the `Algorithm` object the registry held for it.
    alg: Py<PyAny>,
    algorithm: Py<PyAny>,
    payload: Py<PyDict>,
    times: TimeClaims,
    /// No value of the payload is a dict or a list: a shallow copy is a fresh result.
    flat: bool,
    header: Py<PyDict>,
    signature: Py<PyBytes>,
    size: usize,
}

/// Contexts one token is kept under (a middleware and a handler may check it differently).
const CONTEXTS_PER_TOKEN: usize = 4;

#[derive(Default)]
struct Shard {
    /// By the token's hash: one entry per context the token decoded under.
    entries: HashMap<u64, Vec<Entry>, PassThrough>,
    /// Entries in all groups.
    count: usize,
    /// Insertion order of the groups, for eviction (stale slots are skipped).
    order: VecDeque<u64>,
    bytes: usize,
}

/// The shard maps' hasher: their keys are already keyed random hashes, so hashing them
/// again (SipHash, the default) would be wasted work.
type PassThrough = BuildHasherDefault<TokenHash>;

#[derive(Default)]
struct TokenHash(u64);

impl Hasher for TokenHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; this keeps any other use correct.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

impl Shard {
    fn evict_until_fits(&mut self, max_entries: usize, max_bytes: usize, incoming: usize) {
        while self.count > 0 && (self.count + 1 > max_entries || self.bytes + incoming > max_bytes)
        {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            unmark_present(oldest);
            for entry in self.entries.remove(&oldest).unwrap_or_default() {
                self.remove_accounting(&entry);
            }
        }
    }

    fn remove_accounting(&mut self, entry: &Entry) {
        self.count = self.count.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(entry.size);
        EVICTIONS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Where a token would sit, found from the token alone: a call's [`Context`] is described
/// only when the token has entries to compare it with, or is about to be admitted, so a
/// token seen once (first sight, a forgery) never pays for describing the call.
#[derive(Clone, Copy)]
pub struct Probe {
    hash: u64,
    /// The token was marked as kept when probed (a hint: the locked lookup decides).
    pub cached: bool,
}

/// Whether the cache is on.
pub fn enabled() -> bool {
    MAX_ENTRIES.load(Ordering::Relaxed) != 0
}

/// The token's slot, or `None` when the cache is off.
pub fn probe(token: &[u8]) -> Option<Probe> {
    if !enabled() {
        return None;
    }
    let mut hasher = HASHER.build_hasher();
    hasher.write_usize(token.len());
    hasher.write(token.get(token.len().saturating_sub(HASHED_TAIL)..)?);
    let hash = hasher.finish();
    let cached = is_present(hash);
    Some(Probe { hash, cached })
}

fn shard_of(hash: u64) -> Option<&'static Mutex<Shard>> {
    // Middle bits pick the shard: the map indexes by the low bits and tags by the top ones.
    TABLE.get(usize::try_from((hash >> 32) % SHARDS as u64).unwrap_or(0))
}

/// The cached result for `token` under `context`, as fresh objects the caller may mutate.
pub fn lookup<'py>(
    py: Python<'py>,
    token: &[u8],
    probe: Probe,
    context: &Context,
) -> Option<Hit<'py>> {
    let shard = shard_of(probe.hash)?;
    let found = {
        let guard = shard.lock().ok()?;
        let group = guard
            .entries
            .get(&probe.hash)
            .map_or(&[][..], Vec::as_slice);
        // Every entry's token is compared, with no early exit: the time taken says
        // nothing about the cached bytes.
        let mut matching = None;
        for entry in group {
            let same_token = constant_time_eq(&entry.token, token);
            let same_call = entry.context.bytes == context.bytes;
            if same_token && same_call {
                matching = Some(entry);
            }
        }
        // Bound clones: their drops skip the deferred-decref check a `Py` drop makes.
        matching.map(|entry| {
            (
                entry.alg.bind(py).clone(),
                entry.algorithm.bind(py).clone(),
                entry.payload.bind(py).clone(),
                entry.flat,
                entry.header.bind(py).clone(),
                entry.signature.bind(py).clone(),
                entry.times.captured(py),
                entry.registry.bind(py).clone(),
            )
        })
    };
    let Some((alg, algorithm, payload, flat, header, signature, times, registry)) = found else {
        MISSES.add_one(py);
        return None;
    };
    // The algorithm must still be registered as it was (register/unregister_algorithm).
    let registered = registry.get_item(&alg).ok()??;
    if !registered.is(&algorithm) {
        MISSES.add_one(py);
        return None;
    }
    let payload = if flat {
        payload.copy().ok()?
    } else {
        fresh_dict(py, &payload).ok()?
    };
    HITS.add_one(py);
    Some(Hit {
        payload,
        header,
        signature,
        times,
    })
}

/// Count a miss for a token that had no entry to look at.
pub fn missed(py: Python<'_>) {
    MISSES.add_one(py);
}

/// Whether a successful decode of the probed token should be kept: it was seen before
/// (admission on second sight), or is kept already under another context. A first
/// sighting is remembered here.
pub fn admits(probe: Probe) -> bool {
    if !enabled() {
        return false;
    }
    // Marked present: kept under another context (or was, which is a sighting too).
    if probe.cached {
        return true;
    }
    let Some(slot) = SEEN.slot(probe.hash) else {
        return false;
    };
    if slot.load(Ordering::Relaxed) == probe.hash {
        slot.store(0, Ordering::Relaxed);
        return true;
    }
    slot.store(probe.hash, Ordering::Relaxed);
    false
}

/// Keep a successful decode that [`admits`] accepted.
/// `key` and `registry` are those `context` was described with.
pub fn admit(
    py: Python<'_>,
    token: &[u8],
    probe: Probe,
    (context, key, registry): (Context, &Bound<'_, PyAny>, &Bound<'_, PyDict>),
    hit: &Hit<'_>,
) {
    let max_entries = MAX_ENTRIES.load(Ordering::Relaxed);
    let max_bytes = MAX_BYTES.load(Ordering::Relaxed);
    let (per_shard_entries, per_shard_bytes) = (
        max_entries.div_ceil(SHARDS).max(1),
        max_bytes.div_ceil(SHARDS),
    );
    if max_entries == 0 {
        return;
    }
    let Some(shard) = shard_of(probe.hash) else {
        return;
    };
    let Some(alg) = hit.header.get_item(pyo3::intern!(py, "alg")).ok().flatten() else {
        return;
    };
    let Some(algorithm) = registry.get_item(&alg).ok().flatten() else {
        return;
    };
    // The entry keeps its own copies: the caller's dicts are theirs to mutate.
    let (Ok(payload), Ok(header)) = (fresh_dict(py, &hit.payload), fresh_dict(py, &hit.header))
    else {
        return;
    };
    let size = ENTRY_OVERHEAD
        + token.len() * 3
        + context.bytes.len()
        + hit.signature.as_bytes().len()
        + 64 * (payload.len() + header.len());
    if size > per_shard_bytes {
        return;
    }
    let Ok(times) = TimeClaims::of(py, &payload) else {
        return;
    };
    let flat = payload
        .values()
        .iter()
        .all(|v| !v.is_instance_of::<PyDict>() && !v.is_instance_of::<PyList>());
    let entry = Entry {
        token: token.into(),
        context,
        registry: registry.clone().unbind(),
        _holds_key: key_by_address(key).then(|| key.clone().unbind()),
        alg: alg.unbind(),
        algorithm: algorithm.unbind(),
        payload: payload.unbind(),
        times,
        flat,
        header: header.unbind(),
        signature: hit.signature.clone().unbind(),
        size,
    };
    let Ok(mut guard) = shard.lock() else { return };
    let shard = &mut *guard;
    if let Some(group) = shard.entries.get(&probe.hash) {
        let already = group.iter().any(|kept| {
            constant_time_eq(&kept.token, &entry.token) && kept.context.bytes == entry.context.bytes
        });
        if already {
            // Another thread kept the same decode meanwhile, or its mark was overwritten.
            mark_present(probe.hash);
            return;
        }
    }
    shard.evict_until_fits(per_shard_entries, per_shard_bytes, size);
    let group = match shard.entries.entry(probe.hash) {
        std::collections::hash_map::Entry::Occupied(slot) => slot.into_mut(),
        std::collections::hash_map::Entry::Vacant(slot) => {
            shard.order.push_back(probe.hash);
            slot.insert(Vec::with_capacity(1))
        }
    };
    // A token under too many contexts, or a different token with the same hash: the
    // group's oldest entry makes room.
    let displaced = if group.len() >= CONTEXTS_PER_TOKEN
        || group
            .first()
            .is_some_and(|kept| !constant_time_eq(&kept.token, token))
    {
        Some(group.remove(0))
    } else {
        None
    };
    group.push(entry);
    mark_present(probe.hash);
    shard.count += 1;
    shard.bytes += size;
    if let Some(displaced) = displaced {
        shard.remove_accounting(&displaced);
    }
}

/// `a == b` in time that depends only on the lengths: no early exit on the first differing
/// byte, so comparing a forged token with a cached one reveals nothing about the latter.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (words_a, words_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = words_a
        .remainder()
        .iter()
        .zip(words_b.remainder())
        .fold(0u64, |acc, (x, y)| acc | u64::from(x ^ y));
    let word = |chunk: &[u8]| u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
    let difference = words_a
        .zip(words_b)
        .fold(tail, |acc, (x, y)| acc | (word(x) ^ word(y)));
    // Keep the compiler from turning the fold into an early-exit comparison.
    std::hint::black_box(difference) == 0
}

/// A copy of a JSON-made dict whose nested dicts and lists are copies too (strings,
/// numbers, booleans and `None` are immutable and shared).
pub fn fresh_dict<'py>(py: Python<'py>, dict: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyDict>> {
    let copy = dict.copy()?;
    for (key, value) in dict.iter() {
        if let Some(fresh) = fresh_container(py, &value)? {
            copy.set_item(key, fresh)?;
        }
    }
    Ok(copy)
}

fn fresh_container<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if let Ok(dict) = value.cast::<PyDict>() {
        return Ok(Some(fresh_dict(py, dict)?.into_any()));
    }
    if let Ok(list) = value.cast::<PyList>() {
        let items = list
            .iter()
            .map(|item| Ok(fresh_container(py, &item)?.unwrap_or(item)))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Some(PyList::new(py, items)?.into_any()));
    }
    Ok(None)
}

/// Forget every entry and every first sighting.
pub fn clear() {
    for shard in TABLE.iter() {
        if let Ok(mut guard) = shard.lock() {
            *guard = Shard::default();
        }
    }
    // After the shards: a probe that still finds a mark goes on to an empty shard.
    PRESENT.clear();
    SEEN.clear();
}

/// Something that changes what decodes accept (the limits) happened: old entries are void.
pub fn invalidate() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
    clear();
}

/// Disable the cache when `TURBOJWT_TOKEN_CACHE=0` (or `off`, `false`, `no`).
pub fn init_from_environment() {
    if let Ok(value) = std::env::var("TURBOJWT_TOKEN_CACHE") {
        if matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "0" | "off" | "false" | "no"
        ) {
            MAX_ENTRIES.store(0, Ordering::Relaxed);
        }
    }
}

/// Change the bounds (`None` keeps one); 0 entries turns the cache off and empties it.
#[pyfunction]
#[pyo3(signature = (*, max_entries=None, max_bytes=None))]
pub fn set_token_cache(max_entries: Option<usize>, max_bytes: Option<usize>) {
    if let Some(entries) = max_entries {
        MAX_ENTRIES.store(entries, Ordering::Relaxed);
    }
    if let Some(bytes) = max_bytes {
        MAX_BYTES.store(bytes, Ordering::Relaxed);
    }
    // Entries kept under the old bounds are dropped rather than trimmed one by one.
    clear();
}

/// The bounds, the current size and the counters since start-up.
#[pyfunction]
pub fn token_cache_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let (mut entries, mut bytes) = (0usize, 0usize);
    for shard in TABLE.iter() {
        if let Ok(guard) = shard.lock() {
            entries += guard.count;
            bytes += guard.bytes;
        }
    }
    let info = PyDict::new(py);
    info.set_item("max_entries", MAX_ENTRIES.load(Ordering::Relaxed))?;
    info.set_item("max_bytes", MAX_BYTES.load(Ordering::Relaxed))?;
    info.set_item("entries", entries)?;
    info.set_item("bytes", bytes)?;
    info.set_item("hits", HITS.get())?;
    info.set_item("misses", MISSES.get())?;
    info.set_item("evictions", EVICTIONS.load(Ordering::Relaxed))?;
    info.set_item(
        "enabled",
        PyBool::new(py, MAX_ENTRIES.load(Ordering::Relaxed) > 0),
    )?;
    Ok(info)
}

/// Empty the cache (the counters keep counting).
#[pyfunction]
pub fn clear_token_cache() {
    clear();
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_eq_is_equality() {
        let token = b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl".to_vec();
        assert!(constant_time_eq(&token, &token.clone()));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(
            &token,
            token.get(1..).unwrap_or_default()
        ));
        for position in 0..token.len() {
            let mut other = token.clone();
            if let Some(byte) = other.get_mut(position) {
                *byte ^= 1;
            }
            assert!(
                !constant_time_eq(&token, &other),
                "difference at {position}"
            );
        }
    }
}
