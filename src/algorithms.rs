//! Resolving an `Algorithm` object to its implementation, and signing/verifying with it.
//!
//! The algorithm registry stays PyJWT's: a dict of `Algorithm` objects per `PyJWS`. Objects of
//! turbojwt's own classes run natively; any other object (a user's `register_algorithm`
//! subclass) is called through its Python methods, exactly as PyJWT calls it.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::asym_keys::{self, Use};
use crate::crypto;
use crate::errors::{fail, warn, Exc, Warn};
use crate::ffi::hmac_state::Tag;
use crate::hmac_keys::{with_prepared_key, HmacHash};
use crate::py_refs::package;

/// Whether a successful verification may be remembered by the token cache: only a native
/// check that warned about nothing (a hit must emit what a fresh decode emits).
#[derive(Clone, Copy)]
pub struct Remember(pub bool);

/// A signature as `sign` made it: an HMAC tag stays on the stack, others are allocated.
pub enum Signature {
    Tag(Tag),
    Bytes(Vec<u8>),
}

impl AsRef<[u8]> for Signature {
    fn as_ref(&self) -> &[u8] {
        match self {
            Signature::Tag(tag) => tag.as_ref(),
            Signature::Bytes(bytes) => bytes,
        }
    }
}

/// How an algorithm object is carried out.
pub enum Algo<'py> {
    Hmac(HmacHash),
    Unsigned,
    /// An asymmetric class of turbojwt's: native when the key is one it can load, else its
    /// Python methods (which raise PyJWT's errors for keys it refuses).
    Asymmetric(crypto::Algorithm, Bound<'py, PyAny>),
    Python(Bound<'py, PyAny>),
}

impl<'py> Algo<'py> {
    /// `registry[alg]` as an [`Algo`], or `None` when the registry has no such algorithm.
    ///
    /// A native HMAC or `none` resolution is remembered per thread, keyed by the registry
    /// dict's identity and version (a global counter CPython bumps on every change to the
    /// dict, so an edited or replaced registry is looked up again) and the name's text. A
    /// hit touches no Python object: no dict lookup, no `hash_alg` attribute read, and on a
    /// free-threaded build no reference-count write to the algorithm object every thread
    /// shares. The object behind a remembered name is taken as it was when first resolved:
    /// its class and `hash_alg`, which nothing in PyJWT changes after construction.
    #[inline]
    pub fn resolve(
        py: Python<'py>,
        registry: &Bound<'py, PyDict>,
        alg: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Self>> {
        let version = crate::ffi::dict_version(registry);
        let name = alg
            .cast_exact::<PyString>()
            .ok()
            .and_then(crate::ffi::str_text)
            .and_then(|text| memo::Name::of(text.as_bytes()));
        let slot = version.zip(name).map(|(version, name)| memo::Slot {
            registry: registry.as_ptr() as usize,
            version,
            name,
        });
        if let Some(native) = slot.and_then(memo::find) {
            return Ok(Some(native));
        }
        Self::look_up(py, registry, alg, slot)
    }

    /// [`Algo::resolve`] past its memo. Kept out of line so that `resolve` inlines: its
    /// result, returned through memory, was read back with wide loads that stalled.
    #[inline(never)]
    fn look_up(
        py: Python<'py>,
        registry: &Bound<'py, PyDict>,
        alg: &Bound<'py, PyAny>,
        slot: Option<memo::Slot>,
    ) -> PyResult<Option<Self>> {
        let Some(alg_obj) = registry.get_item(alg)? else {
            return Ok(None);
        };
        let algo = Algo::of(py, &alg_obj)?;
        if let Some(slot) = slot {
            memo::remember(slot, &algo);
        }
        Ok(Some(algo))
    }

    pub fn of(py: Python<'py>, alg_obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let pkg = package(py)?;
        let class = alg_obj.get_type();
        if class.is(pkg.hmac_algorithm.bind(py)) {
            let hash = alg_obj.getattr(intern!(py, "hash_alg"))?;
            let native = if hash.is(pkg.hashlib_sha256.bind(py)) {
                Some(HmacHash::Sha256)
            } else if hash.is(pkg.hashlib_sha384.bind(py)) {
                Some(HmacHash::Sha384)
            } else if hash.is(pkg.hashlib_sha512.bind(py)) {
                Some(HmacHash::Sha512)
            } else {
                None
            };
            if let Some(hash) = native {
                return Ok(Algo::Hmac(hash));
            }
        } else if class.is(pkg.none_algorithm.bind(py)) {
            return Ok(Algo::Unsigned);
        } else if let Some(algorithm) = asym_keys::algorithm_of(py, alg_obj)? {
            return Ok(Algo::Asymmetric(algorithm, alg_obj.clone()));
        }
        Ok(Algo::Python(alg_obj.clone()))
    }

    /// Verify `signature` over `signing_input`, raising PyJWT's errors: the key's own
    /// errors from preparing it, the key-length policy, then `InvalidSignatureError`.
    /// Returns whether the verdict may be remembered: checked natively, with no warning.
    pub fn verify(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        signing_input: &[u8],
        signature: &[u8],
        enforce_min_key_length: bool,
    ) -> PyResult<Remember> {
        let (valid, remember) = match self {
            Algo::Hmac(hash) => {
                // The MAC is checked before the key-length policy runs (it may warn, which
                // runs Python), so no Python runs while the cached key is borrowed. The
                // verdict is only reported after the policy, in PyJWT's order.
                let (secret_len, valid) = with_prepared_key(py, *hash, key, |prepared| {
                    (
                        prepared.secret_len(),
                        prepared.verify(signing_input, signature),
                    )
                })?;
                let weakness = Weakness::of_hmac(*hash, secret_len);
                let remember = Remember(weakness.is_none());
                key_length_policy(py, weakness, enforce_min_key_length)?;
                (valid, remember)
            }
            Algo::Unsigned => {
                check_unsigned_key(py, key)?;
                (false, Remember(false))
            }
            Algo::Asymmetric(algorithm, alg_obj) => {
                match asym_keys::native_key(py, *algorithm, key, Use::Verify)? {
                    Some(native) => {
                        let weakness = asym_keys::weakness(&native);
                        let remember = Remember(weakness.is_none());
                        key_length_policy(py, weakness, enforce_min_key_length)?;
                        let algorithm = *algorithm;
                        // The signature check runs without the GIL: threads verify in parallel.
                        let valid = py
                            .detach(|| native.verify(algorithm, signing_input, signature))
                            .unwrap_or(false);
                        (valid, remember)
                    }
                    None => (
                        python_verify(
                            py,
                            alg_obj,
                            key,
                            signing_input,
                            signature,
                            enforce_min_key_length,
                        )?,
                        Remember(false),
                    ),
                }
            }
            Algo::Python(alg_obj) => (
                python_verify(
                    py,
                    alg_obj,
                    key,
                    signing_input,
                    signature,
                    enforce_min_key_length,
                )?,
                Remember(false),
            ),
        };
        if valid {
            Ok(remember)
        } else {
            Err(Exc::InvalidSignatureError
                .err_interned(py, intern!(py, "Signature verification failed")))
        }
    }

    /// Sign `signing_input`, applying the key-length policy first as PyJWT does.
    pub fn sign(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        signing_input: &[u8],
        enforce_min_key_length: bool,
    ) -> PyResult<Signature> {
        match self {
            Algo::Hmac(hash) => {
                let mut tag = Tag::empty();
                let secret_len = with_prepared_key(py, *hash, key, |prepared| {
                    prepared.sign_into(signing_input, &mut tag);
                    prepared.secret_len()
                })?;
                let weakness = Weakness::of_hmac(*hash, secret_len);
                key_length_policy(py, weakness, enforce_min_key_length)?;
                Ok(Signature::Tag(tag))
            }
            Algo::Unsigned => {
                check_unsigned_key(py, key)?;
                Ok(Signature::Bytes(Vec::new()))
            }
            Algo::Asymmetric(algorithm, alg_obj) => {
                match asym_keys::native_key(py, *algorithm, key, Use::Sign)? {
                    Some(native) => {
                        key_length_policy(
                            py,
                            asym_keys::weakness(&native),
                            enforce_min_key_length,
                        )?;
                        let algorithm = *algorithm;
                        match py.detach(|| native.sign(algorithm, signing_input)) {
                            Ok(signature) => Ok(Signature::Bytes(signature)),
                            // A key size the backend does not sign with: PyJWT's path can
                            // (its length check already ran above).
                            Err(_) => python_sign_unchecked(py, alg_obj, key, signing_input)
                                .map(Signature::Bytes),
                        }
                    }
                    None => python_sign(py, alg_obj, key, signing_input, enforce_min_key_length)
                        .map(Signature::Bytes),
                }
            }
            Algo::Python(alg_obj) => {
                python_sign(py, alg_obj, key, signing_input, enforce_min_key_length)
                    .map(Signature::Bytes)
            }
        }
    }
}

/// PyJWT's steps with a Python `Algorithm` object: prepare, check the length, verify.
fn python_verify(
    py: Python<'_>,
    alg_obj: &Bound<'_, PyAny>,
    key: &Bound<'_, PyAny>,
    signing_input: &[u8],
    signature: &[u8],
    enforce_min_key_length: bool,
) -> PyResult<bool> {
    let prepared = alg_obj.call_method1(intern!(py, "prepare_key"), (key,))?;
    python_key_length_policy(py, alg_obj, &prepared, enforce_min_key_length)?;
    let args = (
        PyBytes::new(py, signing_input),
        prepared,
        PyBytes::new(py, signature),
    );
    alg_obj
        .call_method1(intern!(py, "verify"), args)?
        .is_truthy()
}

/// PyJWT's steps with a Python `Algorithm` object: prepare, check the length, sign.
fn python_sign(
    py: Python<'_>,
    alg_obj: &Bound<'_, PyAny>,
    key: &Bound<'_, PyAny>,
    signing_input: &[u8],
    enforce_min_key_length: bool,
) -> PyResult<Vec<u8>> {
    let prepared = alg_obj.call_method1(intern!(py, "prepare_key"), (key,))?;
    python_key_length_policy(py, alg_obj, &prepared, enforce_min_key_length)?;
    let signature = alg_obj.call_method1(
        intern!(py, "sign"),
        (PyBytes::new(py, signing_input), prepared),
    )?;
    signature.extract::<Vec<u8>>()
}

/// `prepare_key` then `sign`, for a key whose length policy was already applied.
fn python_sign_unchecked(
    py: Python<'_>,
    alg_obj: &Bound<'_, PyAny>,
    key: &Bound<'_, PyAny>,
    signing_input: &[u8],
) -> PyResult<Vec<u8>> {
    let prepared = alg_obj.call_method1(intern!(py, "prepare_key"), (key,))?;
    let signature = alg_obj.call_method1(
        intern!(py, "sign"),
        (PyBytes::new(py, signing_input), prepared),
    )?;
    signature.extract::<Vec<u8>>()
}

/// `NoneAlgorithm.prepare_key`: only `None` or `""` may stand for "no key".
fn check_unsigned_key(py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
    if key.is_none() || key.eq(PyString::new(py, ""))? {
        Ok(())
    } else {
        fail(
            py,
            Exc::InvalidKeyError,
            "When alg = \"none\", key value must be None.",
        )
    }
}

/// A key shorter than PyJWT recommends. Small and `Copy`, so the hot path returns it in
/// registers; its message is only made when it is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weakness {
    Hmac { secret_len: usize, hash: HmacHash },
    Rsa { bits: usize },
}

impl Weakness {
    /// An HMAC secret shorter than the digest, by PyJWT's `check_key_length`.
    pub fn of_hmac(hash: HmacHash, secret_len: usize) -> Option<Self> {
        (secret_len < hash.digest_len()).then_some(Weakness::Hmac { secret_len, hash })
    }

    /// PyJWT's `check_key_length` message.
    pub fn message(self) -> String {
        match self {
            Weakness::Hmac { secret_len, hash } => format!(
                "The HMAC key is {secret_len} bytes long, which is below the minimum recommended \
                 length of {} bytes for {}. See RFC 7518 Section 3.2.",
                hash.digest_len(),
                hash.name()
            ),
            Weakness::Rsa { bits } => format!(
                "The RSA key is {bits} bits long, which is below the minimum recommended size of \
                 2048 bits. See NIST SP 800-131A."
            ),
        }
    }
}

/// A weak key is an `InsecureKeyLengthWarning`, or `InvalidKeyError` when enforced.
fn key_length_policy(py: Python<'_>, weakness: Option<Weakness>, enforce: bool) -> PyResult<()> {
    match weakness {
        None => Ok(()),
        Some(weakness) if enforce => fail(py, Exc::InvalidKeyError, weakness.message()),
        Some(weakness) => warn(py, Warn::InsecureKeyLength, &weakness.message()),
    }
}

fn python_key_length_policy(
    py: Python<'_>,
    alg_obj: &Bound<'_, PyAny>,
    prepared: &Bound<'_, PyAny>,
    enforce: bool,
) -> PyResult<()> {
    let message = alg_obj.call_method1(intern!(py, "check_key_length"), (prepared,))?;
    if !message.is_truthy()? {
        return Ok(());
    }
    if enforce {
        return Err(PyErr::from_type(
            Exc::InvalidKeyError.class(py)?.clone(),
            (message.unbind(),),
        ));
    }
    let text = message.str()?;
    warn(py, Warn::InsecureKeyLength, text.to_str()?)
}

/// The per-thread memo behind [`Algo::resolve`]: a few slots, most recent first (a service
/// verifies with one or two algorithms).
mod memo {
    use std::cell::RefCell;

    use super::Algo;
    use crate::hmac_keys::HmacHash;

    const SLOTS: usize = 4;

    /// A name's text as a few words made in registers (names longer than the string
    /// table's, none of JWA's, are always looked up). A byte-wise copy into an array here
    /// was read back at once with wide loads, and each of them stalled.
    pub type Name = crate::string_cache::Words;

    /// A registry (by address and version) and a name in it.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct Slot {
        pub registry: usize,
        pub version: u64,
        pub name: Name,
    }

    #[derive(Clone, Copy)]
    enum Native {
        Hmac(HmacHash),
        Unsigned,
    }

    thread_local! {
        static MEMO: RefCell<[Option<(Slot, Native)>; SLOTS]> = const { RefCell::new([None; SLOTS]) };
    }

    /// Inlined, with the slot by value: built in registers and compared there, rather than
    /// stored and read back with wider loads that wait for the stores.
    #[inline]
    pub fn find<'py>(slot: Slot) -> Option<Algo<'py>> {
        let native = MEMO
            .try_with(|memo| {
                memo.borrow()
                    .iter()
                    .flatten()
                    .find(|(known, _)| *known == slot)
                    .map(|&(_, native)| native)
            })
            .ok()??;
        Some(match native {
            Native::Hmac(hash) => Algo::Hmac(hash),
            Native::Unsigned => Algo::Unsigned,
        })
    }

    pub fn remember(slot: Slot, algo: &Algo<'_>) {
        let native = match algo {
            Algo::Hmac(hash) => Native::Hmac(*hash),
            Algo::Unsigned => Native::Unsigned,
            Algo::Asymmetric(..) | Algo::Python(_) => return,
        };
        let _ = MEMO.try_with(|memo| {
            let mut memo = memo.borrow_mut();
            memo.rotate_right(1);
            if let Some(first) = memo.first_mut() {
                *first = Some((slot, native));
            }
        });
    }
}
