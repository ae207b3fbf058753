//! Asymmetric keys as PyJWT users pass them, parsed once into native keys and cached.
//!
//! A key may be PEM or OpenSSH text (`str` or `bytes`), or a `cryptography` key object. Text
//! is cached by its bytes; an object by its identity (the cache holds a reference, so the
//! identity cannot be reused while cached). The cache is bounded (LRU) and thread-safe.
//!
//! Only keys that the matching PyJWT algorithm class would accept, of the family and curve it
//! requires, are used natively. For anything else `native_key` answers `None` and the caller
//! runs the Python class, which raises PyJWT's exact error (or accepts what this module does
//! not know).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, RwLock};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::algorithms::Weakness;
use crate::crypto::{Algorithm, AsymmetricKey, KeyEncoding, KeyKind};
use crate::native_key::NativeKey;
use crate::py_refs::package;

/// What the key is about to be used for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Verify,
    Sign,
}

/// Where a cached key came from.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Source {
    Text(Box<[u8]>),
    Object(usize),
}

struct Entry {
    key: Arc<AsymmetricKey>,
    /// Keeps a cached key object alive, so its address keeps naming it.
    _object: Option<Py<PyAny>>,
    last_used: AtomicU64,
}

struct KeyCache {
    entries: RwLock<HashMap<Source, Entry>>,
    capacity: AtomicUsize,
    clock: AtomicU64,
}

static CACHE: LazyLock<KeyCache> = LazyLock::new(|| KeyCache {
    entries: RwLock::new(HashMap::new()),
    capacity: AtomicUsize::new(256),
    clock: AtomicU64::new(0),
});

impl KeyCache {
    fn get(&self, source: &Source) -> Option<Arc<AsymmetricKey>> {
        let entries = self.entries.read().ok()?;
        let entry = entries.get(source)?;
        entry.last_used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        Some(Arc::clone(&entry.key))
    }

    fn insert(&self, source: Source, key: Arc<AsymmetricKey>, object: Option<Py<PyAny>>) {
        let capacity = self.capacity.load(Ordering::Relaxed);
        if capacity == 0 {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        evict_down_to(&mut entries, capacity.saturating_sub(1));
        let last_used = AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed));
        entries.insert(
            source,
            Entry {
                key,
                _object: object,
                last_used,
            },
        );
    }
}

fn evict_down_to(entries: &mut HashMap<Source, Entry>, size: usize) {
    while entries.len() > size {
        let oldest = entries
            .iter()
            .min_by_key(|(_, entry)| entry.last_used.load(Ordering::Relaxed))
            .map(|(source, _)| source.clone());
        match oldest {
            Some(source) => entries.remove(&source),
            None => break,
        };
    }
}

/// Bound the number of cached asymmetric keys (0 disables caching).
pub fn set_capacity(size: usize) {
    CACHE.capacity.store(size, Ordering::Relaxed);
    if let Ok(mut entries) = CACHE.entries.write() {
        evict_down_to(&mut entries, size);
    }
}

pub fn cached_count() -> usize {
    CACHE
        .entries
        .read()
        .map(|entries| entries.len())
        .unwrap_or(0)
}

/// The native key for `key` under `algorithm`, or `None` to run the Python class instead.
pub fn native_key(
    py: Python<'_>,
    algorithm: Algorithm,
    key: &Bound<'_, PyAny>,
    purpose: Use,
) -> PyResult<Option<Arc<AsymmetricKey>>> {
    let Some(parsed) = parsed_key(py, algorithm, key)? else {
        return Ok(None);
    };
    if parsed.check_algorithm(algorithm).is_err() {
        return Ok(None); // wrong family or curve: PyJWT's class raises the exact error
    }
    let usable = match (purpose, parsed.kind()) {
        // PyJWT verifies RS*/PS* with `key.verify`, which a private key lacks.
        (Use::Verify, KeyKind::RsaPrivate) => false,
        (Use::Verify, _) => true,
        (Use::Sign, kind) => kind.is_private(),
    };
    Ok(usable.then_some(parsed))
}

fn parsed_key(
    py: Python<'_>,
    algorithm: Algorithm,
    key: &Bound<'_, PyAny>,
) -> PyResult<Option<Arc<AsymmetricKey>>> {
    if let Ok(text) = key.cast::<PyString>() {
        return Ok(match text.to_str() {
            Ok(text) => from_text(algorithm, text.as_bytes()),
            Err(_) => None,
        });
    }
    if let Ok(bytes) = key.cast::<PyBytes>() {
        return Ok(from_text(algorithm, bytes.as_bytes()));
    }
    if let Ok(native) = key.cast::<NativeKey>() {
        return Ok(Some(Arc::clone(&native.get().key)));
    }
    from_object(py, key)
}

/// Key texts longer than this are parsed on every use rather than cached (real PEM keys,
/// even RSA-16384 private keys, are far shorter).
const MAX_CACHED_TEXT: usize = 32 * 1024;

/// PEM or OpenSSH text, parsed as the algorithm's PyJWT class would accept it.
fn from_text(algorithm: Algorithm, text: &[u8]) -> Option<Arc<AsymmetricKey>> {
    if text.len() > MAX_CACHED_TEXT {
        let key = parse_text(text)?;
        return accepted_text_form(algorithm, &key, text).then(|| Arc::new(key));
    }
    let source = Source::Text(text.into());
    let key = match CACHE.get(&source) {
        Some(key) => key,
        None => {
            let key = Arc::new(parse_text(text)?);
            CACHE.insert(source, Arc::clone(&key), None);
            key
        }
    };
    accepted_text_form(algorithm, &key, text).then_some(key)
}

fn parse_text(text: &[u8]) -> Option<AsymmetricKey> {
    if text.starts_with(b"ssh-") || text.starts_with(b"ecdsa-sha2-") {
        AsymmetricKey::from_openssh_public(text).ok()
    } else {
        AsymmetricKey::from_pem(text).ok()
    }
}

/// The text forms each PyJWT class loads: RSA reads `ssh-rsa` lines and PEM keys, EC reads
/// `ecdsa-sha2-*` lines and PEM keys, OKP reads `ssh-*` lines and PKCS#8/SPKI PEM. None of
/// them takes a certificate.
fn accepted_text_form(algorithm: Algorithm, key: &AsymmetricKey, text: &[u8]) -> bool {
    let encoding = key.encoding();
    let ssh_prefix: &[u8] = match algorithm {
        Algorithm::EdDSA => b"ssh-",
        Algorithm::ES256 | Algorithm::ES256K | Algorithm::ES384 | Algorithm::ES512 => {
            b"ecdsa-sha2-"
        }
        _ => b"ssh-rsa",
    };
    if text.starts_with(ssh_prefix) {
        return encoding == KeyEncoding::OpenSsh;
    }
    match algorithm {
        Algorithm::EdDSA => matches!(encoding, KeyEncoding::Spki | KeyEncoding::Pkcs8),
        _ => matches!(
            encoding,
            KeyEncoding::Pkcs1 | KeyEncoding::Pkcs8 | KeyEncoding::Spki | KeyEncoding::Sec1
        ),
    }
}

/// A `cryptography` key object, exported once as DER and cached by identity.
fn from_object(py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Option<Arc<AsymmetricKey>>> {
    let source = Source::Object(key.as_ptr() as usize);
    if let Some(found) = CACHE.get(&source) {
        return Ok(Some(found));
    }
    let Some(export) = package(py)?.export_key_der.as_ref() else {
        return Ok(None);
    };
    let der = export.bind(py).call1((key,))?;
    if der.is_none() {
        return Ok(None); // not a cryptography key object
    }
    let der = der.cast_into::<PyBytes>()?;
    let Ok(parsed) = AsymmetricKey::from_der(der.as_bytes()) else {
        return Ok(None);
    };
    let parsed = Arc::new(parsed);
    CACHE.insert(source, Arc::clone(&parsed), Some(key.clone().unbind()));
    Ok(Some(parsed))
}

/// An RSA key under 2048 bits, by PyJWT's `RSAAlgorithm.check_key_length`.
pub fn weakness(key: &AsymmetricKey) -> Option<Weakness> {
    let bits = key.rsa_bits()?;
    (bits < 2048).then_some(Weakness::Rsa { bits })
}

/// The JWS algorithm a `turbojwt.algorithms` object of one of the asymmetric classes
/// stands for, when it is one PyJWT registers (`None` for custom hash/curve combinations).
pub fn algorithm_of(py: Python<'_>, alg_obj: &Bound<'_, PyAny>) -> PyResult<Option<Algorithm>> {
    let pkg = package(py)?;
    let Some(asym) = pkg.asymmetric.as_ref() else {
        return Ok(None);
    };
    let class = alg_obj.get_type();
    if class.is(asym.okp.bind(py)) {
        return Ok(Some(Algorithm::EdDSA));
    }
    let is_rsa = class.is(asym.rsa.bind(py));
    let is_pss = class.is(asym.rsa_pss.bind(py));
    let is_ec = class.is(asym.ec.bind(py));
    if !(is_rsa || is_pss || is_ec) {
        return Ok(None);
    }
    let hash = alg_obj.getattr(intern!(py, "hash_alg"))?;
    let hash_index = asym.hashes.iter().position(|h| hash.is(h.bind(py)));
    let algorithm = match (hash_index, is_rsa, is_pss) {
        (Some(0), true, _) => Some(Algorithm::RS256),
        (Some(1), true, _) => Some(Algorithm::RS384),
        (Some(2), true, _) => Some(Algorithm::RS512),
        (Some(0), _, true) => Some(Algorithm::PS256),
        (Some(1), _, true) => Some(Algorithm::PS384),
        (Some(2), _, true) => Some(Algorithm::PS512),
        (Some(index), false, false) => {
            let curve = alg_obj.getattr(intern!(py, "expected_curve"))?;
            let curve_index = asym.curves.iter().position(|c| curve.is(c.bind(py)));
            match (index, curve_index) {
                (0, Some(0)) => Some(Algorithm::ES256),
                (0, Some(1)) => Some(Algorithm::ES256K),
                (1, Some(2)) => Some(Algorithm::ES384),
                (2, Some(3)) => Some(Algorithm::ES512),
                _ => None,
            }
        }
        _ => None,
    };
    Ok(algorithm)
}
