//! The compact JWS pipeline behind `PyJWS`: load, header checks, signature, and encode.
//!
//! Every step raises what PyJWT 2.15.1 raises, in the same order: the `algorithms` argument is
//! checked before the token is looked at, then segments, header JSON, payload, signature
//! segment, header parameters (`kid`, `crit`, `b64`), and finally the signature itself.

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::algorithms::{Algo, Remember};
use crate::args::{empty_str, given, Arg};
use crate::base64url::{self, PayloadRoom, SignatureRoom};
use crate::errors::{self, fail, token_unicode_error, warn, Exc, Warn};
use crate::ffi::guarded::{Guarded, Snapshot};
use crate::header_cache;
use crate::json;
use crate::limits;
use crate::py_refs::{package, refs};
use crate::segments::{self, Segments};

/// A token split and its header and signature decoded. The payload segment is checked here,
/// where PyJWT decodes it, but decoded only once nothing else can refuse the token: most
/// refusals never need its bytes.
pub struct Loaded<'t, 'py> {
    /// Shared with the header cache when `header_cached`: read it, never hand it out.
    pub header: Bound<'py, PyDict>,
    pub header_cached: bool,
    /// `header.get("alg")`.
    pub alg: Option<Bound<'py, PyAny>>,
    /// Whether `header.get("b64")` is `False`.
    pub b64_false: bool,
    /// The header segment, when it was parsed natively and may be cached once validated.
    pub cacheable_segment: Option<Vec<u8>>,
    /// Valid base64url, not yet decoded; empty when `b64_false`.
    payload_segment: &'t [u8],
    /// `header.payload` exactly as it appears in the token (padding included).
    pub signing_input: &'t [u8],
    /// Decoded into the room the caller lent [`load`].
    pub signature: &'t [u8],
}

impl Loaded<'_, '_> {
    /// The payload bytes (none when `b64_false`).
    pub fn payload(&self, py: Python<'_>) -> PyResult<Vec<u8>> {
        base64url::decode_named(py, self.payload_segment, "payload")
    }
}

/// The token's bytes: `str` as UTF-8, `bytes` as they are. A token over the length limit is
/// refused here, before it is encoded, split or decoded.
pub fn token_bytes<'a>(py: Python<'_>, jwt: &'a Bound<'_, PyAny>) -> PyResult<&'a [u8]> {
    if let Ok(text) = jwt.cast::<PyString>() {
        if let Some(ascii) = crate::ffi::compact_ascii_text(text) {
            limits::check_token_length(py, ascii.len())?;
            return Ok(ascii.as_bytes());
        }
        // A str has at least as many UTF-8 bytes as code points: refuse before encoding.
        // (Exact str only: a subclass's `__len__` could say anything.)
        if text.is_exact_instance_of::<PyString>() {
            limits::check_token_length(py, text.len()?)?;
        }
        match crate::ffi::str_text(text) {
            Some(s) => {
                limits::check_token_length(py, s.len())?;
                Ok(s.as_bytes())
            }
            None => {
                let err = text.call_method1("encode", ("utf-8",)).err();
                Err(err.map_or_else(
                    || Exc::DecodeError.err(py, "Invalid token type"),
                    |e| token_unicode_error(py, e),
                ))
            }
        }
    } else if let Ok(bytes) = jwt.cast::<PyBytes>() {
        limits::check_token_length(py, bytes.as_bytes().len())?;
        Ok(bytes.as_bytes())
    } else {
        fail(
            py,
            Exc::DecodeError,
            "Invalid token type. Token must be a <class 'bytes'>",
        )
    }
}

/// The token's segments, or PyJWT's `Not enough segments`.
pub fn split<'t>(py: Python<'_>, token: &'t [u8]) -> PyResult<Segments<'t>> {
    segments::split(token).ok_or_else(|| errors::not_enough_segments(py))
}

/// `PyJWS._load`: split at the last dot, then the first; decode header, payload, signature
/// (the signature into `room`).
pub fn load<'t, 'py>(
    py: Python<'py>,
    token: &'t [u8],
    room: &'t mut SignatureRoom,
) -> PyResult<Loaded<'t, 'py>> {
    let Segments {
        header: header_segment,
        payload: payload_segment,
        signing_input,
        signature: crypto_segment,
    } = split(py, token)?;
    let json_is_stdlib = refs(py)?.current_json_loads(py)?.is_none();
    let cached = if json_is_stdlib {
        header_cache::get(py, header_segment)
    } else {
        None
    };
    let header_cached = cached.is_some();
    let (header, alg, b64_false) = match cached {
        Some(header) => (
            header.dict,
            header.alg.map(|alg| alg.into_bound(py)),
            header.b64_false,
        ),
        None => {
            let header_json = base64url::decode_named(py, header_segment, "header")?;
            let header = json::load_object(py, &header_json, "header")?;
            let alg = header.get_item(intern!(py, "alg"))?;
            let b64_false = is_false(header.get_item(intern!(py, "b64"))?.as_ref());
            (header, alg, b64_false)
        }
    };
    let cacheable_segment = (json_is_stdlib && !header_cached).then(|| header_segment.to_vec());
    // RFC 7797 detached form: the segment must be empty, and is never decoded.
    if b64_false && !payload_segment.is_empty() {
        return fail(
            py,
            Exc::DecodeError,
            "Payload segment must be empty when 'b64' is false.",
        );
    }
    // Checked in PyJWT's place, before anything that can warn or call Python code; the
    // bytes are decoded only after the signature verifies (`Loaded::payload`).
    if !base64url::is_valid(payload_segment) {
        return fail(py, Exc::DecodeError, "Invalid payload padding");
    }
    let signature = room.decode_named(py, crypto_segment, "crypto")?;
    Ok(Loaded {
        header,
        header_cached,
        alg,
        b64_false,
        cacheable_segment,
        payload_segment,
        signing_input,
        signature,
    })
}

/// Whether `key` is a `PyJWK` (secrets and PEM strings answer without an isinstance call).
pub fn is_pyjwk(py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
    if key.is_exact_instance_of::<PyString>() || key.is_exact_instance_of::<PyBytes>() {
        return Ok(false);
    }
    key.is_instance(package(py)?.pyjwk.bind(py))
}

/// `_load` then `_validate_headers`, remembering headers that pass.
pub fn load_validated<'t, 'py>(
    py: Python<'py>,
    token: &'t [u8],
    room: &'t mut SignatureRoom,
) -> PyResult<Loaded<'t, 'py>> {
    let loaded = load(py, token, room)?;
    if !loaded.header_cached {
        validate_headers(py, loaded.header.as_any(), false)?;
        if let Some(segment) = &loaded.cacheable_segment {
            let header = header_cache::Header {
                dict: loaded.header.clone(),
                alg: loaded.alg.as_ref().map(|alg| alg.clone().unbind()),
                b64_false: loaded.b64_false,
            };
            header_cache::put(segment, &header);
        }
    }
    Ok(loaded)
}

/// The header as handed to callers: never the cached dict itself.
pub fn owned_header<'py>(header: Bound<'py, PyDict>, cached: bool) -> PyResult<Bound<'py, PyDict>> {
    if cached {
        header.copy()
    } else {
        Ok(header)
    }
}

fn is_false(value: Option<&Bound<'_, PyAny>>) -> bool {
    value.is_some_and(|v| v.cast::<PyBool>().is_ok_and(|b| !b.is_true()))
}

/// `PyJWS._validate_headers`: `kid` must be a string; `crit` is checked when decoding.
pub fn validate_headers(py: Python<'_>, header: &Bound<'_, PyAny>, encoding: bool) -> PyResult<()> {
    if let Some(kid) = get(header, intern!(py, "kid"))? {
        if !kid.is_instance_of::<PyString>() {
            return fail(
                py,
                Exc::InvalidTokenError,
                "Key ID header parameter must be a string",
            );
        }
    }
    if !encoding {
        if let Some(crit) = get(header, intern!(py, "crit"))? {
            validate_crit(py, header, &crit)?;
        }
    }
    Ok(())
}

/// `header.get(name)` for a dict or any mapping (encode accepts mappings as headers).
fn get<'py>(
    header: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if let Ok(dict) = header.cast::<PyDict>() {
        return dict.get_item(name);
    }
    if header.contains(name)? {
        return header.get_item(name).map(Some);
    }
    Ok(None)
}

/// Only `b64` is an understood critical extension (RFC 7515 section 4.1.11).
fn validate_crit(
    py: Python<'_>,
    header: &Bound<'_, PyAny>,
    crit: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let Some(list) = crit.cast::<PyList>().ok().filter(|l| !l.is_empty()) else {
        return fail(
            py,
            Exc::InvalidTokenError,
            "Invalid 'crit' header: must be a non-empty list",
        );
    };
    for ext in list.iter() {
        let Ok(name) = ext.cast::<PyString>() else {
            return fail(
                py,
                Exc::InvalidTokenError,
                "Invalid 'crit' header: values must be strings",
            );
        };
        if name.to_str().ok() != Some("b64") {
            // Concatenated in Python: the name may hold lone surrogates, as PyJWT's f-string keeps.
            let message = PyString::new(py, "Unsupported critical extension: ").add(name)?;
            return Err(Exc::InvalidTokenError.err_with(py, message));
        }
        if !header.contains(name)? {
            return fail(
                py,
                Exc::InvalidTokenError,
                format!("Critical extension '{name}' is missing from headers"),
            );
        }
    }
    // Every entry is "b64" by now, so more than one is a duplicate, which RFC 7515
    // section 4.1.11 forbids (PyJWT 2.15.1 accepts it).
    if list.len() > 1 {
        return fail(
            py,
            Exc::InvalidTokenError,
            "Invalid 'crit' header: duplicate values",
        );
    }
    Ok(())
}

/// What `PyJWS.decode_complete` needs besides the token.
pub struct VerifyRequest<'a, 'py> {
    pub key: &'a Bound<'py, PyAny>,
    pub algorithms: Option<&'a Bound<'py, PyAny>>,
    pub verify_signature: bool,
    pub enforce_min_key_length: bool,
    pub detached_payload: Option<&'a Bound<'py, PyAny>>,
}

/// A verified (or, with verification off, merely decoded) token.
pub struct Decoded<'t, 'py> {
    pub header: Bound<'py, PyDict>,
    pub header_cached: bool,
    pub payload: Payload<'t, 'py>,
    pub signature: &'t [u8],
    /// The signature was checked natively, without warnings: the token cache may keep it.
    pub rememberable: bool,
}

/// The payload: its segment (valid base64url, decoded where the bytes are used, into room
/// the caller provides), or the caller's detached payload object as it was given.
pub enum Payload<'t, 'py> {
    Encoded(&'t [u8]),
    Detached(Bound<'py, PyAny>),
}

impl<'py> Payload<'_, 'py> {
    pub fn to_object(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Payload::Encoded(segment) => {
                let mut room = PayloadRoom::new();
                Ok(PyBytes::new(py, room.decode_named(py, segment, "payload")?).into_any())
            }
            Payload::Detached(obj) => Ok(obj.clone()),
        }
    }
}

/// `PyJWS.decode_complete` after option merging; the signature is decoded into `room`.
/// `read` is `jwt`'s bytes when the caller already has them from [`token_bytes`].
pub fn decode<'t, 'py>(
    py: Python<'py>,
    registry: &Bound<'py, PyDict>,
    jwt: &'t Bound<'py, PyAny>,
    read: Option<&'t [u8]>,
    request: VerifyRequest<'_, 'py>,
    room: &'t mut SignatureRoom,
) -> PyResult<Decoded<'t, 'py>> {
    let is_jwk = is_pyjwk(py, request.key)?;
    let has_algorithms = match &request.algorithms {
        Some(algorithms) => algorithms.is_truthy()?,
        None => false,
    };
    if request.verify_signature && !has_algorithms && !is_jwk {
        return fail(
            py,
            Exc::DecodeError,
            "It is required that you pass in a value for the \"algorithms\" argument when calling decode().",
        );
    }
    let token = match read {
        Some(token) => token,
        None => token_bytes(py, jwt)?,
    };
    let loaded = load_validated(py, token, room)?;
    let detached = detached_form(py, &loaded, &request)?;
    let signing_input = detached
        .as_ref()
        .map_or(loaded.signing_input, |(_, input)| input.as_slice());
    let rememberable = request.verify_signature
        && verify_signature(
            py,
            registry,
            loaded.alg.as_ref(),
            signing_input,
            loaded.signature,
            &request,
            is_jwk,
        )?
        .0;
    let payload = match detached {
        Some((detached, _)) => Payload::Detached(detached),
        None => Payload::Encoded(loaded.payload_segment),
    };
    Ok(Decoded {
        header: loaded.header,
        header_cached: loaded.header_cached,
        payload,
        signature: loaded.signature,
        rememberable,
    })
}

/// The detached form's rules (RFC 7797): `None` for an ordinary token, else the caller's
/// payload and the signing input built from it.
fn detached_form<'py>(
    py: Python<'py>,
    loaded: &Loaded<'_, 'py>,
    request: &VerifyRequest<'_, 'py>,
) -> PyResult<Option<(Bound<'py, PyAny>, Vec<u8>)>> {
    if !loaded.b64_false {
        if request.detached_payload.is_some() {
            return fail(
                py,
                Exc::DecodeError,
                "It is only valid to pass \"detached_payload\" when the protected header has \"b64\" set to false.",
            );
        }
        return Ok(None);
    }
    let crit_lists_b64 = match loaded.header.get_item(intern!(py, "crit"))? {
        Some(crit) if crit.is_truthy()? => crit
            .cast::<PyList>()
            .map_or(Ok(false), |l| l.contains(intern!(py, "b64")))?,
        _ => false,
    };
    if !crit_lists_b64 {
        return fail(
            py,
            Exc::InvalidTokenError,
            "The 'b64' header parameter requires 'b64' to be listed in 'crit'.",
        );
    }
    let Some(detached) = request.detached_payload.cloned() else {
        return fail(
            py,
            Exc::DecodeError,
            "It is required that you pass in a value for the \"detached_payload\" argument to decode a message having the b64 header set to false.",
        );
    };
    let head = loaded
        .signing_input
        .split(|&b| b == b'.')
        .next()
        .unwrap_or_default();
    let mut signing_input = head.to_vec();
    signing_input.push(b'.');
    signing_input.extend_from_slice(&bytes_like(py, &detached)?);
    Ok(Some((detached, signing_input)))
}

/// The bytes of a bytes-like detached payload; other types fail as `b".".join` does.
fn bytes_like(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(bytes) = obj.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    if let Ok(array) = obj.cast::<PyByteArray>() {
        return Ok(array.to_vec());
    }
    let joined = PyBytes::new(py, b".").call_method1(
        "join",
        (PyList::new(
            py,
            [PyBytes::new(py, b"").into_any(), obj.clone()],
        )?,),
    )?;
    Ok(joined.extract::<Vec<u8>>()?.split_off(1))
}

/// PyJWT's `alg and alg in algorithms` (the falsy test first, so a falsy alg never reaches
/// the `in` test).
fn alg_allowed(alg: &Bound<'_, PyAny>, algorithms: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
    let text = alg
        .cast_exact::<PyString>()
        .ok()
        .and_then(crate::ffi::str_text);
    if let (Some(text), Some(algorithms)) = (text.filter(|t| !t.is_empty()), algorithms) {
        if let Some(listed) = listed_plainly(algorithms, alg, text) {
            return Ok(listed);
        }
    }
    Ok(alg.is_truthy()? && algorithms.map_or(Ok(true), |a| a.contains(alg))?)
}

/// `alg in algorithms` for a list of plain `str`, where `==` is equality of the text; `None`
/// when `algorithms` is anything else.
fn listed_plainly(
    algorithms: &Bound<'_, PyAny>,
    alg: &Bound<'_, PyAny>,
    text: &str,
) -> Option<bool> {
    let list = algorithms.cast_exact::<PyList>().ok()?;
    // By index rather than `iter()`, which takes a new reference to the list: callers share
    // one `algorithms` list between threads, and on a free-threaded build every new reference
    // to it writes a line both threads then fight over.
    for index in 0..list.len() {
        let allowed = list.get_item(index).ok()?;
        if allowed.is(alg) {
            return Some(true);
        }
        let allowed = crate::ffi::str_text(allowed.cast_exact::<PyString>().ok()?)?;
        if crate::bytes::short_eq(allowed.as_bytes(), text.as_bytes()) {
            return Some(true);
        }
    }
    Some(false)
}

/// `PyJWS._verify_signature`.
fn verify_signature<'py>(
    py: Python<'py>,
    registry: &Bound<'py, PyDict>,
    alg: Option<&Bound<'py, PyAny>>,
    signing_input: &[u8],
    signature: &[u8],
    request: &VerifyRequest<'_, 'py>,
    is_jwk: bool,
) -> PyResult<Remember> {
    let key = request.key;
    let jwk_algorithms;
    let algorithms = match (request.algorithms, is_jwk) {
        (None, true) => {
            jwk_algorithms =
                PyList::new(py, [key.getattr(intern!(py, "algorithm_name"))?])?.into_any();
            Some(&jwk_algorithms)
        }
        (algorithms, _) => algorithms,
    };
    let Some(alg) = alg else {
        return fail(py, Exc::InvalidAlgorithmError, "Algorithm not specified");
    };
    if !alg_allowed(alg, algorithms)? {
        return fail(
            py,
            Exc::InvalidAlgorithmError,
            "The specified alg value is not allowed",
        );
    }
    let jwk_key;
    let (algo, key_material) = if is_jwk {
        let bound_name = key.getattr(intern!(py, "algorithm_name"))?;
        if alg.ne(&bound_name)? {
            let message = format!(
                "Token algorithm {} does not match the key's algorithm {}",
                alg.repr()?,
                bound_name.repr()?
            );
            return fail(py, Exc::InvalidAlgorithmError, message);
        }
        jwk_key = key.getattr(intern!(py, "key"))?;
        (
            Algo::of(py, &key.getattr(intern!(py, "Algorithm"))?)?,
            &jwk_key,
        )
    } else {
        match Algo::resolve(py, registry, alg)? {
            Some(algo) => (algo, key),
            None => return fail(py, Exc::InvalidAlgorithmError, "Algorithm not supported"),
        }
    };
    algo.verify(
        py,
        key_material,
        signing_input,
        signature,
        request.enforce_min_key_length,
    )
}

/// What `PyJWS.encode` needs besides the payload bytes.
pub struct SignRequest<'py> {
    pub key: Bound<'py, PyAny>,
    pub algorithm: Arg<'py>,
    pub headers: Option<Bound<'py, PyAny>>,
    pub json_encoder: Option<Bound<'py, PyAny>>,
    pub is_payload_detached: bool,
    pub sort_headers: bool,
    pub enforce_min_key_length: bool,
}

/// Buffers kept by each thread for `encode`: the payload's JSON and the token, so that
/// signing a token allocates nothing but the returned `str` (a `malloc` and a `free` each
/// cost more than the thread-local lookup that replaces them).
#[derive(Default)]
pub struct EncodeBuffers {
    pub payload_json: Vec<u8>,
    pub token: Vec<u8>,
}

/// A buffer that grew past this is released rather than kept for the next token.
const KEPT_BUFFER_BYTES: usize = 64 * 1024;

thread_local! {
    static ENCODE_BUFFERS: std::cell::Cell<EncodeBuffers> = const {
        std::cell::Cell::new(EncodeBuffers { payload_json: Vec::new(), token: Vec::new() })
    };
}

/// `work` with this thread's encode buffers, empty. Taken out of the thread-local for the
/// call, so a nested `encode` (from a custom JSON encoder) finds none and makes its own.
pub fn with_encode_buffers<R>(work: impl FnOnce(&mut EncodeBuffers) -> R) -> R {
    let mut buffers = ENCODE_BUFFERS.take();
    buffers.payload_json.clear();
    buffers.token.clear();
    let result = work(&mut buffers);
    if buffers.payload_json.capacity() <= KEPT_BUFFER_BYTES
        && buffers.token.capacity() <= KEPT_BUFFER_BYTES
    {
        ENCODE_BUFFERS.set(buffers);
    }
    result
}

/// `PyJWS.encode`: header, segments, signature; returns the compact token, built in `token`.
pub fn encode<'py>(
    py: Python<'py>,
    registry: &Bound<'py, PyDict>,
    header_typ: &Bound<'py, PyAny>,
    payload: &[u8],
    request: SignRequest<'py>,
    token: &mut Vec<u8>,
) -> PyResult<Bound<'py, PyString>> {
    let key = &request.key;
    let is_jwk = is_pyjwk(py, key)?;
    let jwk_algorithm = || key.getattr(intern!(py, "algorithm_name"));
    let mut alg = match &request.algorithm {
        Arg::Missing if is_jwk => jwk_algorithm()?,
        Arg::Missing => intern!(py, "HS256").clone().into_any(),
        Arg::Given(a) if a.is_none() && is_jwk => jwk_algorithm()?,
        Arg::Given(a) if a.is_none() => PyString::new(py, "none").into_any(),
        Arg::Given(a) => a.clone(),
    };
    let mut detached = request.is_payload_detached;
    let headers = match &request.headers {
        Some(h) if h.is_truthy()? => Some(h),
        _ => None,
    };
    if let Some(headers) = headers {
        if let Some(header_alg) = get(headers, intern!(py, "alg"))? {
            if header_alg.is_truthy()? {
                alg = header_alg;
            }
        }
        if is_false(get(headers, intern!(py, "b64"))?.as_ref()) {
            detached = true;
        }
    }

    let plain = plain_header(py, header_typ, &alg, headers, detached, &request)?;
    let standard = plain
        .filter(|_| request.sort_headers)
        .and_then(|(typ, alg)| standard_header_segment(typ, alg));
    let header_json = match (standard, plain) {
        // Its JSON is only needed for the limits check, which a two-field header passes.
        (Some(_), _) => Vec::new(),
        (None, Some((typ, alg))) => plain_header_json(typ, alg, request.sort_headers),
        (None, None) => header_json(py, header_typ, &alg, headers, detached, &request)?,
    };
    token.reserve(header_json.len() * 2 + payload.len() * 2 + 96);
    match standard {
        Some(segment) => token.extend_from_slice(segment.as_bytes()),
        None => base64url::encode_into(&header_json, token),
    }
    token.push(b'.');
    let payload_start = token.len();
    if detached {
        token.extend_from_slice(payload);
    } else {
        base64url::encode_into(payload, token);
    }

    let Some(algo) = Algo::resolve(py, registry, &alg)? else {
        return Err(pyo3::exceptions::PyNotImplementedError::new_err(
            "Algorithm not supported",
        ));
    };
    let key_material = if is_jwk {
        key.getattr(intern!(py, "key"))?
    } else {
        key.clone()
    };
    let signature = algo.sign(py, &key_material, token, request.enforce_min_key_length)?;

    if detached {
        token.truncate(payload_start);
    }
    token.push(b'.');
    base64url::encode_into(signature.as_ref(), token);
    warn_if_over_limits(py, token, &header_json, payload)?;
    // Only base64url characters and dots: always ASCII.
    crate::ffi::string_of_ascii_bytes(py, token)
}

/// Warn when `decode` would refuse the token `encode` just made: the limits are turbojwt's,
/// so a token PyJWT would accept must not fail silently on the way back.
fn warn_if_over_limits(
    py: Python<'_>,
    token: &[u8],
    header_json: &[u8],
    payload_json: &[u8],
) -> PyResult<()> {
    let reason = if limits::token_too_long(token.len()) {
        format!(
            "the token is {} bytes long, over the limit of {} bytes",
            token.len(),
            limits::max_token_bytes()
        )
    } else if limits::too_deep(header_json) || limits::too_deep(payload_json) {
        format!(
            "its JSON nests deeper than the limit of {} levels",
            limits::max_json_depth()
        )
    } else {
        return Ok(());
    };
    warn(
        py,
        Warn::TokenLimit,
        &format!("turbojwt.decode will refuse this token: {reason}; see turbojwt.set_limits()"),
    )
}

/// `typ` and `alg` when they alone make the header: no extra headers, no detached payload,
/// no custom encoder, both exact non-empty `str`s (typ) and `json.dumps` not replaced.
fn plain_header<'a>(
    py: Python<'_>,
    header_typ: &'a Bound<'_, PyAny>,
    alg: &'a Bound<'_, PyAny>,
    headers: Option<&Bound<'_, PyAny>>,
    detached: bool,
    request: &SignRequest<'_>,
) -> PyResult<Option<(&'a str, &'a str)>> {
    if headers.is_some() || detached || request.json_encoder.is_some() {
        return Ok(None);
    }
    let (Ok(typ), Ok(alg)) = (
        header_typ.cast_exact::<PyString>(),
        alg.cast_exact::<PyString>(),
    ) else {
        return Ok(None);
    };
    let (Some(typ), Some(alg)) = (crate::ffi::str_text(typ), crate::ffi::str_text(alg)) else {
        return Ok(None);
    };
    if typ.is_empty() || refs(py)?.current_json_dumps(py)?.is_some() {
        return Ok(None);
    }
    Ok(Some((typ, alg)))
}

/// The encoded segment of `{"alg":alg,"typ":"JWT"}` (keys sorted, PyJWT's default) for the
/// registered algorithms: nearly every token's header, so it is not rebuilt per call.
fn standard_header_segment(typ: &str, alg: &str) -> Option<&'static str> {
    if typ != "JWT" {
        return None;
    }
    STANDARD_HEADER_SEGMENTS
        .iter()
        .find(|(name, _)| *name == alg)
        .map(|(_, segment)| *segment)
}

const STANDARD_HEADER_SEGMENTS: [(&str, &str); 15] = [
    ("HS256", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"),
    ("HS384", "eyJhbGciOiJIUzM4NCIsInR5cCI6IkpXVCJ9"),
    ("HS512", "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9"),
    ("RS256", "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"),
    ("RS384", "eyJhbGciOiJSUzM4NCIsInR5cCI6IkpXVCJ9"),
    ("RS512", "eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9"),
    ("PS256", "eyJhbGciOiJQUzI1NiIsInR5cCI6IkpXVCJ9"),
    ("PS384", "eyJhbGciOiJQUzM4NCIsInR5cCI6IkpXVCJ9"),
    ("PS512", "eyJhbGciOiJQUzUxMiIsInR5cCI6IkpXVCJ9"),
    ("ES256", "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9"),
    ("ES256K", "eyJhbGciOiJFUzI1NksiLCJ0eXAiOiJKV1QifQ"),
    ("ES384", "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCJ9"),
    ("ES512", "eyJhbGciOiJFUzUxMiIsInR5cCI6IkpXVCJ9"),
    ("EdDSA", "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9"),
    ("none", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"),
];

/// `{"alg":alg,"typ":typ}` (or `typ` first, unsorted), as `json.dumps` writes it.
fn plain_header_json(typ: &str, alg: &str, sort_headers: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + typ.len() + alg.len());
    let fields = if sort_headers {
        [("alg", alg), ("typ", typ)]
    } else {
        [("typ", typ), ("alg", alg)]
    };
    out.push(b'{');
    for (i, (name, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::write_ascii_string(&mut out, name);
        out.push(b':');
        json::write_ascii_string(&mut out, value);
    }
    out.push(b'}');
    out
}

/// `PyJWS.encode`'s header: `{"typ", "alg"}` updated with `headers`, `typ` dropped when
/// falsy, `b64`/`crit` for a detached payload, then JSON.
fn header_json(
    py: Python<'_>,
    header_typ: &Bound<'_, PyAny>,
    alg: &Bound<'_, PyAny>,
    headers: Option<&Bound<'_, PyAny>>,
    detached: bool,
    request: &SignRequest<'_>,
) -> PyResult<Vec<u8>> {
    let header = PyDict::new(py);
    header.set_item(intern!(py, "typ"), header_typ)?;
    header.set_item(intern!(py, "alg"), alg)?;
    if let Some(headers) = headers {
        validate_headers(py, headers, true)?;
        header.call_method1(intern!(py, "update"), (headers,))?;
    }
    if !header
        .get_item(intern!(py, "typ"))?
        .map_or(Ok(false), |t| t.is_truthy())?
    {
        header.del_item(intern!(py, "typ"))?;
    }
    if detached {
        header.set_item(intern!(py, "b64"), false)?;
        let crit = header
            .get_item(intern!(py, "crit"))?
            .unwrap_or_else(|| PyList::empty(py).into_any());
        let Ok(crit) = crit.cast_into::<PyList>() else {
            return fail(
                py,
                Exc::InvalidTokenError,
                "Invalid 'crit' header: must be a list",
            );
        };
        if !crit.contains(intern!(py, "b64"))? {
            let extended = PyList::new(py, crit.iter())?;
            extended.append("b64")?;
            header.set_item(intern!(py, "crit"), extended)?;
        }
    } else if header.contains(intern!(py, "b64"))? {
        header.del_item(intern!(py, "b64"))?;
    }

    let mut header_json = Vec::with_capacity(64);
    json::dump(
        py,
        header.as_any(),
        request.sort_headers,
        request.json_encoder.as_ref(),
        &mut header_json,
    )?;
    Ok(header_json)
}

/// `{**obj}`: a dict as it is, another mapping copied, anything else a TypeError.
pub fn as_dict<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    if let Ok(dict) = obj.cast::<PyDict>() {
        return Ok(dict.clone());
    }
    let Ok(mapping) = obj.cast::<pyo3::types::PyMapping>() else {
        let type_name = obj.get_type().name()?;
        return Err(PyTypeError::new_err(format!(
            "'{type_name}' object is not a mapping"
        )));
    };
    let dict = PyDict::new(obj.py());
    dict.update(mapping)?;
    Ok(dict)
}

/// The `**kwargs` deprecation PyJWT emits for unknown keyword arguments.
pub fn warn_extra_kwargs(
    py: Python<'_>,
    function: &str,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    let Some(kwargs) = kwargs.filter(|k| !k.is_empty()) else {
        return Ok(());
    };
    let names = PyTuple::new(py, kwargs.keys())?;
    let message = format!(
        "passing additional kwargs to {function}() is deprecated and will be removed in pyjwt version 3. \
         Unsupported kwargs: {}",
        names.repr()?
    );
    warn(py, Warn::RemovedInPyjwt3, &message)
}

/// A payload given to `PyJWS.encode`: bytes-like only, as `base64.urlsafe_b64encode` wants.
fn payload_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(bytes) = obj.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    if let Ok(array) = obj.cast::<PyByteArray>() {
        return Ok(array.to_vec());
    }
    let type_name = obj.get_type().name()?;
    Err(PyTypeError::new_err(format!(
        "a bytes-like object is required, not '{type_name}'"
    )))
}

/// Native state of one `PyJWS`: its algorithm registry and options, shared by reference.
/// Frozen, its bindings in a `Guarded` cell, for the reason `JwtEngine` gives.
#[pyclass(frozen, module = "turbojwt._turbojwt")]
pub struct JwsEngine {
    bindings: Guarded<(Py<PyDict>, Py<PyDict>, Py<PyAny>)>,
}

/// What a `JwsEngine` is bound to at one moment.
pub struct JwsBindings<'py> {
    snapshot: Snapshot<'py, (Py<PyDict>, Py<PyDict>, Py<PyAny>)>,
}

impl JwsEngine {
    /// The current bindings, held for one call.
    pub fn bindings<'py>(&self, py: Python<'py>) -> JwsBindings<'py> {
        JwsBindings {
            snapshot: self.bindings.get(py),
        }
    }
}

impl<'py> JwsBindings<'py> {
    pub fn registry(&self) -> &Bound<'py, PyDict> {
        self.snapshot.view().0
    }

    fn options(&self) -> &Bound<'py, PyDict> {
        self.snapshot.view().1
    }

    pub fn header_typ(&self) -> &Bound<'py, PyAny> {
        self.snapshot.view().2
    }

    /// `{**self.options, **options}[name]`, without building the merged dict.
    pub fn sig_option(
        &self,
        options: Option<&Bound<'py, PyAny>>,
        name: &Bound<'py, PyString>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if let Some(options) = options {
            if let Some(value) = get(options, name)? {
                return Ok(Some(value));
            }
        }
        self.options().get_item(name)
    }
}

#[pymethods]
impl JwsEngine {
    #[new]
    fn new(registry: Py<PyDict>, options: Py<PyDict>, header_typ: Py<PyAny>) -> Self {
        JwsEngine {
            bindings: Guarded::new((registry, options, header_typ)),
        }
    }

    /// Point the engine at a replaced registry or options dict.
    #[pyo3(signature = (*, registry=None, options=None, header_typ=None))]
    fn rebind(
        &self,
        py: Python<'_>,
        registry: Option<Py<PyDict>>,
        options: Option<Py<PyDict>>,
        header_typ: Option<Py<PyAny>>,
    ) {
        self.bindings
            .update(py, |(current_registry, current_options, current_typ)| {
                (
                    registry.as_ref().unwrap_or(current_registry).clone_ref(py),
                    options.as_ref().unwrap_or(current_options).clone_ref(py),
                    header_typ.as_ref().unwrap_or(current_typ).clone_ref(py),
                )
            });
    }

    #[pyo3(signature = (jwt, key=Arg::Missing, algorithms=None, options=None, detached_payload=None, **kwargs))]
    #[allow(clippy::too_many_arguments)] // PyJWT's signature
    fn decode_complete<'py>(
        &self,
        py: Python<'py>,
        jwt: &Bound<'py, PyAny>,
        key: Arg<'py>,
        algorithms: Option<Bound<'py, PyAny>>,
        options: Option<Bound<'py, PyAny>>,
        detached_payload: Option<Bound<'py, PyAny>>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        warn_extra_kwargs(py, "decode_complete", kwargs)?;
        let args = (jwt, key, algorithms, options, detached_payload);
        self.decode_jws(py, args, |decoded| {
            let result = PyDict::new(py);
            result.set_item(intern!(py, "payload"), decoded.payload.to_object(py)?)?;
            result.set_item(
                intern!(py, "header"),
                owned_header(decoded.header, decoded.header_cached)?,
            )?;
            result.set_item(
                intern!(py, "signature"),
                PyBytes::new(py, decoded.signature),
            )?;
            Ok(result)
        })
    }

    #[pyo3(signature = (jwt, key=Arg::Missing, algorithms=None, options=None, detached_payload=None, **kwargs))]
    #[allow(clippy::too_many_arguments)] // PyJWT's signature
    fn decode<'py>(
        &self,
        py: Python<'py>,
        jwt: &Bound<'py, PyAny>,
        key: Arg<'py>,
        algorithms: Option<Bound<'py, PyAny>>,
        options: Option<Bound<'py, PyAny>>,
        detached_payload: Option<Bound<'py, PyAny>>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        warn_extra_kwargs(py, "decode", kwargs)?;
        let args = (jwt, key, algorithms, options, detached_payload);
        self.decode_jws(py, args, |decoded| decoded.payload.to_object(py))
    }

    #[pyo3(signature = (payload, key, algorithm=Arg::Missing, headers=None, json_encoder=None, is_payload_detached=false, sort_headers=true))]
    #[allow(clippy::too_many_arguments)]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
        key: &Bound<'py, PyAny>,
        algorithm: Arg<'py>,
        headers: Option<Bound<'py, PyAny>>,
        json_encoder: Option<Bound<'py, PyAny>>,
        is_payload_detached: bool,
        sort_headers: bool,
    ) -> PyResult<Bound<'py, PyString>> {
        let this = self.bindings(py);
        let enforce = this
            .sig_option(None, intern!(py, "enforce_minimum_key_length"))?
            .map_or(Ok(false), |v| v.is_truthy())?;
        let request = SignRequest {
            key: key.clone(),
            algorithm,
            headers,
            json_encoder: json_encoder.filter(|e| !e.is_none()),
            is_payload_detached,
            sort_headers,
            enforce_min_key_length: enforce,
        };
        let payload = payload_bytes(payload)?;
        with_encode_buffers(|buffers| {
            encode(
                py,
                this.registry(),
                this.header_typ(),
                &payload,
                request,
                &mut buffers.token,
            )
        })
    }

    /// `PyJWS.get_unverified_header`: load and check the header, verify nothing.
    fn get_unverified_header<'py>(
        &self,
        py: Python<'py>,
        jwt: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let mut room = SignatureRoom::new();
        let loaded = load_validated(py, token_bytes(py, jwt)?, &mut room)?;
        owned_header(loaded.header, loaded.header_cached)
    }

    /// `PyJWS._load`: `(payload, signing_input, header, signature)`.
    fn load<'py>(&self, py: Python<'py>, jwt: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
        let mut room = SignatureRoom::new();
        let loaded = load(py, token_bytes(py, jwt)?, &mut room)?;
        PyTuple::new(
            py,
            [
                PyBytes::new(py, &loaded.payload(py)?).into_any(),
                PyBytes::new(py, loaded.signing_input).into_any(),
                owned_header(loaded.header, loaded.header_cached)?.into_any(),
                PyBytes::new(py, loaded.signature).into_any(),
            ],
        )
    }

    /// `PyJWS._validate_headers`.
    #[pyo3(signature = (headers, *, encoding=false))]
    fn validate_headers(
        &self,
        py: Python<'_>,
        headers: &Bound<'_, PyAny>,
        encoding: bool,
    ) -> PyResult<()> {
        validate_headers(py, headers, encoding)
    }
}

/// `PyJWS.decode`'s arguments: `jwt`, `key`, `algorithms`, `options`, `detached_payload`.
type JwsArgs<'a, 'py> = (
    &'a Bound<'py, PyAny>,
    Arg<'py>,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
    Option<Bound<'py, PyAny>>,
);

impl JwsEngine {
    /// `then` of the decoded token, whose signature lives in room on this frame.
    fn decode_jws<'py, R>(
        &self,
        py: Python<'py>,
        (jwt, key, algorithms, options, detached_payload): JwsArgs<'_, 'py>,
        then: impl FnOnce(Decoded<'_, 'py>) -> PyResult<R>,
    ) -> PyResult<R> {
        let options = match options.filter(|o| !o.is_none()) {
            Some(o) => Some(as_dict(&o)?.into_any()),
            None => None,
        };
        let this = self.bindings(py);
        let flag = |name: &Bound<'py, PyString>, default: bool| -> PyResult<bool> {
            this.sig_option(options.as_ref(), name)?
                .map_or(Ok(default), |v| v.is_truthy())
        };
        let key = key.or_else(|| empty_str(py));
        let request = VerifyRequest {
            key: &key,
            algorithms: given(algorithms.as_ref()),
            verify_signature: flag(intern!(py, "verify_signature"), true)?,
            enforce_min_key_length: flag(intern!(py, "enforce_minimum_key_length"), false)?,
            detached_payload: given(detached_payload.as_ref()),
        };
        let mut room = SignatureRoom::new();
        then(decode(py, this.registry(), jwt, None, request, &mut room)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_header_segments_are_the_sorted_headers_encoded() {
        for (alg, segment) in STANDARD_HEADER_SEGMENTS {
            let mut expected = Vec::new();
            base64url::encode_into(&plain_header_json("JWT", alg, true), &mut expected);
            assert_eq!(segment.as_bytes(), expected, "{alg}");
            assert_eq!(standard_header_segment("JWT", alg), Some(segment));
        }
        assert_eq!(standard_header_segment("at+jwt", "HS256"), None);
        assert_eq!(standard_header_segment("JWT", "HS257"), None);
    }
}
