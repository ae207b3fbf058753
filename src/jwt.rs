//! The JWT pipeline behind `PyJWT`: JWS decode, payload JSON, claim checks; and encode.
//!
//! `JwtEngine.decode` is the whole of `jwt.decode` in one native call: option merging, the
//! JWS steps, the payload into a dict and every claim check, with PyJWT's warnings and errors.

use std::cell::RefCell;

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyInt, PyList, PyString};

use crate::args::{empty_str, given, Arg};
use crate::base64url::{PayloadRoom, SignatureRoom};
use crate::batch::{self, BatchCall};
use crate::claims::{self, ClaimChecks, Claims, Expected};
use crate::errors::{warn, Warn};
use crate::ffi::guarded::{Guarded, Snapshot};
use crate::json;
use crate::jws::{self, JwsEngine, Payload, SignRequest, VerifyRequest};
use crate::py_refs::refs;
use crate::token_cache;

/// The claim checks PyJWT would switch off when a call turns signature verification off.
const VERIFY_CLAIMS: [&str; 7] = [
    "verify_exp",
    "verify_nbf",
    "verify_iat",
    "verify_aud",
    "verify_iss",
    "verify_sub",
    "verify_jti",
];

/// Native state of one `PyJWT`: its options dict and its `PyJWS`'s engine.
///
/// Frozen, with the bindings in a `Guarded` cell: every decode reads them, only `rebind`
/// replaces them. A mutable pyclass would take and release a borrow flag in the shared
/// object on every call, a cache line that threads decoding at once would fight over.
#[pyclass(frozen, module = "turbojwt._turbojwt")]
pub struct JwtEngine {
    bindings: Guarded<(Py<JwsEngine>, Py<PyDict>)>,
}

/// What a `JwtEngine` is bound to at one moment.
pub struct JwtBindings<'py> {
    snapshot: Snapshot<'py, (Py<JwsEngine>, Py<PyDict>)>,
}

impl<'py> JwtBindings<'py> {
    fn jws(&self) -> &Bound<'py, JwsEngine> {
        self.snapshot.view().0
    }

    fn options(&self) -> &Bound<'py, PyDict> {
        self.snapshot.view().1
    }
}

impl JwtEngine {
    /// The current bindings, held for one call.
    pub fn bindings<'py>(&self, py: Python<'py>) -> JwtBindings<'py> {
        JwtBindings {
            snapshot: self.bindings.get(py),
        }
    }
}

/// What an instance's options dict decides, for calls that pass no options of their own,
/// valid while the dict keeps the version it was read at. A version names one state of one
/// dict in the whole interpreter (see `ffi::dict_version`), so one memo per thread serves
/// every instance and needs no lock: threads never share it, so never contend for it.
struct OptionsMemo {
    version: u64,
    enforce: bool,
    flags: [bool; 8],
    /// The `require` value itself: a list can change in place, so it is read on each use.
    require: Option<Py<PyAny>>,
}

thread_local! {
    static OPTIONS_MEMO: RefCell<Option<OptionsMemo>> = const { RefCell::new(None) };
}

/// What the merged options decide for one call.
struct OptionState<'py> {
    verify_signature: bool,
    enforce: bool,
    /// The claim checks, when they could be read before the token (see `read_if_plain`).
    early_checks: Option<ClaimChecks<'py>>,
}

/// Per-call options laid over the instance's, by PyJWT's `_merge_options` rule.
struct MergedOptions<'a, 'py> {
    instance: &'a Bound<'py, PyDict>,
    call: Option<Bound<'py, PyDict>>,
    call_skips_signature: bool,
}

impl<'py> MergedOptions<'_, 'py> {
    fn get(&self, name: &Bound<'py, PyString>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if let Some(call) = &self.call {
            if let Some(value) = call.get_item(name)? {
                return Ok(Some(value));
            }
            if self.call_skips_signature && VERIFY_CLAIMS.contains(&name.to_str()?) {
                return Ok(Some(
                    pyo3::types::PyBool::new(call.py(), false)
                        .to_owned()
                        .into_any(),
                ));
            }
        }
        self.instance.get_item(name)
    }
}

#[pymethods]
impl JwtEngine {
    #[new]
    fn new(jws: Py<JwsEngine>, options: Py<PyDict>) -> Self {
        JwtEngine {
            bindings: Guarded::new((jws, options)),
        }
    }

    #[pyo3(signature = (*, jws=None, options=None))]
    fn rebind(&self, py: Python<'_>, jws: Option<Py<JwsEngine>>, options: Option<Py<PyDict>>) {
        self.bindings.update(py, |(current_jws, current_options)| {
            (
                jws.as_ref().unwrap_or(current_jws).clone_ref(py),
                options.as_ref().unwrap_or(current_options).clone_ref(py),
            )
        });
    }

    #[pyo3(
        signature = (jwt, key=Arg::Missing, algorithms=None, options=None, verify=None, detached_payload=None, audience=None, subject=None, issuer=None, leeway=Arg::Missing, **kwargs),
        text_signature = "(jwt, key='', algorithms=None, options=None, verify=None, detached_payload=None, audience=None, subject=None, issuer=None, leeway=0, **kwargs)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        jwt: &Bound<'py, PyAny>,
        key: Arg<'py>,
        algorithms: Option<Bound<'py, PyAny>>,
        options: Option<Bound<'py, PyAny>>,
        verify: Option<Bound<'py, PyAny>>,
        detached_payload: Option<Bound<'py, PyAny>>,
        audience: Option<Bound<'py, PyAny>>,
        subject: Option<Bound<'py, PyAny>>,
        issuer: Option<Bound<'py, PyAny>>,
        leeway: Arg<'py>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        jws::warn_extra_kwargs(py, "decode", kwargs)?;
        let passed = [&algorithms, &options, &verify, &detached_payload];
        let call = Call::of(jwt, &key, passed, [&audience, &subject, &issuer], &leeway);
        let mut room = SignatureRoom::new();
        Ok(self.bindings(py).decode_jwt(py, call, &mut room)?.payload)
    }

    #[pyo3(
        signature = (jwt, key=Arg::Missing, algorithms=None, options=None, verify=None, detached_payload=None, audience=None, issuer=None, subject=None, leeway=Arg::Missing, **kwargs),
        text_signature = "(jwt, key='', algorithms=None, options=None, verify=None, detached_payload=None, audience=None, issuer=None, subject=None, leeway=0, **kwargs)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn decode_complete<'py>(
        &self,
        py: Python<'py>,
        jwt: &Bound<'py, PyAny>,
        key: Arg<'py>,
        algorithms: Option<Bound<'py, PyAny>>,
        options: Option<Bound<'py, PyAny>>,
        verify: Option<Bound<'py, PyAny>>,
        detached_payload: Option<Bound<'py, PyAny>>,
        audience: Option<Bound<'py, PyAny>>,
        issuer: Option<Bound<'py, PyAny>>,
        subject: Option<Bound<'py, PyAny>>,
        leeway: Arg<'py>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        jws::warn_extra_kwargs(py, "decode_complete", kwargs)?;
        let passed = [&algorithms, &options, &verify, &detached_payload];
        let call = Call::of(jwt, &key, passed, [&audience, &subject, &issuer], &leeway);
        let mut room = SignatureRoom::new();
        self.bindings(py)
            .decode_jwt(py, call, &mut room)?
            .into_complete(py)
    }

    /// `PyJWT.encode`: payload checks, JSON, then `PyJWS.encode`.
    #[pyo3(
        signature = (payload, key, algorithm=Arg::Missing, headers=None, json_encoder=None, sort_headers=true),
        text_signature = "(payload, key, algorithm='HS256', headers=None, json_encoder=None, sort_headers=True)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
        key: &Bound<'py, PyAny>,
        algorithm: Arg<'py>,
        headers: Option<Bound<'py, PyAny>>,
        json_encoder: Option<Bound<'py, PyAny>>,
        sort_headers: bool,
    ) -> PyResult<Bound<'py, PyString>> {
        jws::with_encode_buffers(|buffers| {
            self.encode_into(
                py,
                payload,
                key,
                algorithm,
                headers,
                json_encoder,
                sort_headers,
                buffers,
            )
        })
    }
}

impl JwtEngine {
    #[allow(clippy::too_many_arguments)]
    fn encode_into<'py>(
        &self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
        key: &Bound<'py, PyAny>,
        algorithm: Arg<'py>,
        headers: Option<Bound<'py, PyAny>>,
        json_encoder: Option<Bound<'py, PyAny>>,
        sort_headers: bool,
        buffers: &mut jws::EncodeBuffers,
    ) -> PyResult<Bound<'py, PyString>> {
        let json_encoder = json_encoder.filter(|e| !e.is_none());
        let payload_json = &mut buffers.payload_json;
        if json_encoder.is_some() || !dump_prepared_claims(py, payload, payload_json)? {
            payload_json.clear(); // whatever the native writer left before it gave up
            let claims = prepare_claims(py, payload)?;
            json::dump(py, &claims, false, json_encoder.as_ref(), payload_json)?;
        }
        let jws = self.bindings(py).jws().get().bindings(py);
        let enforce = jws
            .sig_option(None, intern!(py, "enforce_minimum_key_length"))?
            .map_or(Ok(false), |v| v.is_truthy())?;
        let request = SignRequest {
            key: key.clone(),
            algorithm,
            headers,
            json_encoder,
            is_payload_detached: false,
            sort_headers,
            enforce_min_key_length: enforce,
        };
        jws::encode(
            py,
            jws.registry(),
            jws.header_typ(),
            payload_json,
            request,
            &mut buffers.token,
        )
    }
}

/// Which of the two decode entry points a call is for.
#[derive(Clone, Copy)]
pub enum Which {
    Decode,
    Complete,
}

/// `decode` or `decode_complete` with arguments already placed by position (the
/// vectorcall entry point in `ffi::entry`): `slots` follow `decode`'s parameter order, or
/// `decode_complete`'s, where `issuer` and `subject` are swapped.
pub fn call_fast<'py>(
    engine: &Bound<'py, JwtEngine>,
    which: Which,
    slots: [Option<&Bound<'py, PyAny>>; 10],
) -> PyResult<Bound<'py, PyAny>> {
    let py = engine.py();
    let [jwt, key, algorithms, options, verify, detached_payload, audience, eighth, ninth, leeway] =
        slots;
    let (subject, issuer) = match which {
        Which::Decode => (eighth, ninth),
        Which::Complete => (ninth, eighth),
    };
    let Some(jwt) = jwt else {
        return Err(PyTypeError::new_err("missing required argument 'jwt'"));
    };
    let passed = [key, algorithms, options, verify, detached_payload];
    let call = Call::new(jwt, passed, [audience, subject, issuer, leeway]);
    let mut room = SignatureRoom::new();
    let decoded = engine.get().bindings(py).decode_jwt(py, call, &mut room)?;
    match which {
        Which::Decode => Ok(decoded.payload.into_any()),
        Which::Complete => Ok(decoded.into_complete(py)?.into_any()),
    }
}

/// The arguments of `PyJWT.decode` / `decode_complete`, borrowed from the caller: `None`
/// for one not passed (which `key` and `leeway` tell apart from an explicit `None`).
struct Call<'a, 'py> {
    jwt: &'a Bound<'py, PyAny>,
    key: Option<&'a Bound<'py, PyAny>>,
    algorithms: Option<&'a Bound<'py, PyAny>>,
    options: Option<&'a Bound<'py, PyAny>>,
    verify: Option<&'a Bound<'py, PyAny>>,
    detached_payload: Option<&'a Bound<'py, PyAny>>,
    audience: Option<&'a Bound<'py, PyAny>>,
    subject: Option<&'a Bound<'py, PyAny>>,
    issuer: Option<&'a Bound<'py, PyAny>>,
    leeway: Option<&'a Bound<'py, PyAny>>,
}

type Passed<'a, 'py> = Option<&'a Bound<'py, PyAny>>;

impl<'a, 'py> Call<'a, 'py> {
    /// `given` are `key`, `algorithms`, `options`, `verify` and `detached_payload`;
    /// `expected`, `audience`, `subject`, `issuer` and `leeway`.
    fn new(
        jwt: &'a Bound<'py, PyAny>,
        given: [Passed<'a, 'py>; 5],
        expected: [Passed<'a, 'py>; 4],
    ) -> Self {
        let [key, algorithms, options, verify, detached_payload] = given;
        let [audience, subject, issuer, leeway] = expected;
        Call {
            jwt,
            key,
            algorithms,
            options,
            verify,
            detached_payload,
            audience,
            subject,
            issuer,
            leeway,
        }
    }

    /// The arguments as the PyO3 methods receive them: `passed` are `algorithms`, `options`,
    /// `verify` and `detached_payload`; `expected` are `audience`, `subject` and `issuer`.
    fn of(
        jwt: &'a Bound<'py, PyAny>,
        key: &'a Arg<'py>,
        passed: [&'a Option<Bound<'py, PyAny>>; 4],
        expected: [&'a Option<Bound<'py, PyAny>>; 3],
        leeway: &'a Arg<'py>,
    ) -> Self {
        let [algorithms, options, verify, detached_payload] = passed.map(Option::as_ref);
        let [audience, subject, issuer] = expected.map(Option::as_ref);
        let given = [key.passed(), algorithms, options, verify, detached_payload];
        Call::new(jwt, given, [audience, subject, issuer, leeway.passed()])
    }
}

/// A decoded and validated token: the claims, and what `decode_complete` adds to them.
pub struct DecodedJwt<'s, 'py> {
    pub payload: Bound<'py, PyDict>,
    /// Shared with the header cache when `header_shared`: copy it before handing it out.
    header: Bound<'py, PyDict>,
    header_shared: bool,
    signature: Signature<'s, 'py>,
}

/// A token's signature: decoded into the caller's room, or the token cache's `bytes`.
enum Signature<'s, 'py> {
    Decoded(&'s [u8]),
    Cached(Bound<'py, PyBytes>),
}

impl<'py> Signature<'_, 'py> {
    fn to_bytes(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        match self {
            Signature::Decoded(bytes) => PyBytes::new(py, bytes),
            Signature::Cached(bytes) => bytes.clone(),
        }
    }
}

impl<'py> DecodedJwt<'_, 'py> {
    /// `{"payload", "header", "signature"}`, as `decode_complete` returns it.
    fn into_complete(self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let result = PyDict::new(py);
        result.set_item(intern!(py, "payload"), self.payload)?;
        result.set_item(
            intern!(py, "header"),
            jws::owned_header(self.header, self.header_shared)?,
        )?;
        result.set_item(intern!(py, "signature"), self.signature.to_bytes(py))?;
        Ok(result)
    }
}

impl<'py> JwtBindings<'py> {
    /// `PyJWT.decode_complete` after argument parsing; the signature is decoded into `room`.
    fn decode_jwt<'s>(
        &self,
        py: Python<'py>,
        call: Call<'s, 'py>,
        room: &'s mut SignatureRoom,
    ) -> PyResult<DecodedJwt<'s, 'py>> {
        let (state, merged) = match self.default_options(py, &call)? {
            Some(state) => (state, None),
            None => {
                let (state, merged) = self.merge_options(py, &call)?;
                (state, Some(merged))
            }
        };
        let OptionState {
            verify_signature,
            enforce,
            early_checks,
        } = state;

        let default_key;
        let key = match call.key {
            Some(key) => key,
            None => {
                default_key = empty_str(py);
                &default_key
            }
        };
        let expected = Expected {
            audience: given(call.audience),
            issuer: given(call.issuer),
            subject: given(call.subject),
            leeway: call.leeway,
        };
        let jws = self.jws().get().bindings(py);
        let registry = jws.registry();
        // The token cache: the token alone finds its slot; the call is described only when
        // there are entries to compare it with, or a success to keep.
        let cached = match &early_checks {
            // A token that cannot be read is left to the full path, which raises its error in
            // PyJWT's order.
            Some(checks) if verify_signature && token_cache::enabled() => {
                jws::token_bytes(py, call.jwt)
                    .ok()
                    .and_then(|token| Some((token, token_cache::probe(token)?, checks)))
            }
            _ => None,
        };
        let context_of = || {
            let algorithms = given(call.algorithms);
            let detached = given(call.detached_payload).is_some();
            cached.as_ref().map_or(Ok(None), |(_, _, checks)| {
                cache_context(
                    py, key, algorithms, detached, registry, checks, enforce, &expected,
                )
            })
        };
        let mut described = None;
        if let Some((token, probe, checks)) = &cached {
            if !probe.cached {
                token_cache::missed(py);
            } else if let Some((context, plain_leeway)) = context_of()? {
                if let Some(hit) = token_cache::lookup(py, token, *probe, &context) {
                    let times = Claims {
                        dict: &hit.payload,
                        captured: Some(&hit.times),
                    };
                    claims::validate_times(py, &times, checks, &plain_leeway)?;
                    return Ok(DecodedJwt {
                        payload: hit.payload,
                        header: hit.header,
                        header_shared: true,
                        signature: Signature::Cached(hit.signature),
                    });
                }
                described = Some(context);
            }
        }

        let request = VerifyRequest {
            key,
            algorithms: given(call.algorithms),
            verify_signature,
            enforce_min_key_length: enforce,
            detached_payload: given(call.detached_payload),
        };
        let read = cached.as_ref().map(|(token, _, _)| *token);
        let decoded = jws::decode(py, registry, call.jwt, read, request, room)?;
        let mut payload_room = PayloadRoom::new();
        let (payload, captured) = match &decoded.payload {
            Payload::Encoded(segment) => {
                json::load_claims(py, payload_room.decode_named(py, segment, "payload")?)?
            }
            Payload::Detached(obj) => (load_detached(py, obj)?, None),
        };
        let read_checks;
        let checks = match (&early_checks, &merged) {
            (Some(checks), _) => checks,
            (None, Some(merged)) => {
                read_checks = ClaimChecks::read(py, |name| merged.get(name))?;
                &read_checks
            }
            (None, None) => {
                read_checks = ClaimChecks::read(py, |name| self.options().get_item(name))?;
                &read_checks
            }
        };
        let claims = Claims {
            dict: &payload,
            captured: captured.as_ref(),
        };
        claims::validate(py, &claims, checks, &expected)?;
        let result = DecodedJwt {
            payload,
            header: decoded.header,
            header_shared: decoded.header_cached,
            signature: Signature::Decoded(decoded.signature),
        };
        if let (Some((token, probe, _)), true) = (&cached, decoded.rememberable) {
            if token_cache::admits(*probe) {
                let context = match described {
                    Some(context) => Some(context),
                    None => context_of()?.map(|(context, _)| context),
                };
                if let Some(context) = context {
                    token_cache::admit(
                        py,
                        token,
                        *probe,
                        (context, key, registry),
                        &result.as_hit(py),
                    );
                }
            }
        }
        Ok(result)
    }
}

impl<'py> DecodedJwt<'_, 'py> {
    fn as_hit(&self, py: Python<'py>) -> token_cache::Hit<'py> {
        token_cache::Hit {
            payload: self.payload.clone(),
            header: self.header.clone(),
            signature: self.signature.to_bytes(py),
            times: claims::Captured::default(), // read from the kept copy on admission
        }
    }
}

impl<'py> JwtBindings<'py> {
    /// The options' verdicts for a call that passes neither `options` nor `verify`, from the
    /// memo while the instance's dict is unchanged. `None` when the call passes either, or
    /// the instance options hold something other than plain flags.
    fn default_options(
        &self,
        py: Python<'py>,
        call: &Call<'_, 'py>,
    ) -> PyResult<Option<OptionState<'py>>> {
        if given(call.options).is_some() || given(call.verify).is_some() {
            return Ok(None);
        }
        let instance = self.options();
        let Some(version) = crate::ffi::dict_version(instance) else {
            return Ok(None);
        };
        let remembered = |memo: &OptionsMemo| OptionState {
            verify_signature: true,
            enforce: memo.enforce,
            early_checks: Some(ClaimChecks::from_flags(
                memo.flags,
                // PyJWT's default, an empty list, is left behind rather than taken: a new
                // reference to an object every thread shares is an atomic write to its
                // count on a free-threaded build, and both threads would write that line.
                memo.require
                    .as_ref()
                    .map(|r| r.bind(py))
                    .filter(|r| !claims::requires_nothing(r))
                    .cloned(),
            )),
        };
        let hit = OPTIONS_MEMO.try_with(|slot| {
            let slot = slot.try_borrow().ok()?;
            slot.as_ref()
                .filter(|memo| memo.version == version)
                .map(remembered)
        });
        if let Ok(Some(state)) = hit {
            return Ok(Some(state));
        }
        let enforce = instance
            .get_item(intern!(py, "enforce_minimum_key_length"))?
            .map_or(Ok(false), |v| v.is_truthy())?;
        let Some(checks) = ClaimChecks::read_if_plain(py, |name| instance.get_item(name))? else {
            return Ok(None);
        };
        let memo = OptionsMemo {
            version,
            enforce,
            flags: checks.flags(),
            require: checks.require.as_ref().map(|r| r.clone().unbind()),
        };
        let state = remembered(&memo);
        // The replaced memo's `require` is released here, while the thread is attached.
        let _ =
            OPTIONS_MEMO.try_with(|slot| slot.try_borrow_mut().map(|mut slot| slot.replace(memo)));
        Ok(Some(state))
    }

    /// The options' verdicts by PyJWT's rules, for any call: `verify` compared with
    /// `verify_signature` (warning on a mismatch), the call's options laid over the
    /// instance's, and the claim checks read early where that cannot run user code.
    fn merge_options<'a>(
        &'a self,
        py: Python<'py>,
        call: &Call<'_, 'py>,
    ) -> PyResult<(OptionState<'py>, MergedOptions<'a, 'py>)> {
        let options = given(call.options).cloned();
        // PyJWT reads `verify_signature` from the per-call options only (a mapping with `.get`).
        let verify_signature_value = match &options {
            None => None,
            Some(o) => match o.cast::<PyDict>() {
                Ok(dict) => dict.get_item(intern!(py, "verify_signature"))?,
                Err(_) => Some(o.call_method1(intern!(py, "get"), ("verify_signature", true))?),
            },
        };
        let verify_signature = verify_signature_value
            .as_ref()
            .map_or(Ok(true), |v| v.is_truthy())?;
        if let Some(verify) = given(call.verify) {
            // PyJWT compares `verify` with the option's value itself, not its truthiness.
            let differs = match &verify_signature_value {
                Some(value) => verify.ne(value)?,
                None => verify.ne(true)?,
            };
            if differs {
                warn(
                    py,
                    Warn::Deprecation,
                    "The `verify` argument to `decode` does nothing in PyJWT 2.0 and newer. The equivalent is \
                     setting `verify_signature` to False in the `options` dictionary. This invocation has a \
                     mismatch between the kwarg and the option entry.",
                )?;
            }
        }
        let call_options = match options {
            None => None,
            Some(o) => Some(match o.cast_into::<PyDict>() {
                Ok(dict) => dict,
                Err(e) => py
                    .get_type::<PyDict>()
                    .call1((e.into_inner(),))?
                    .cast_into::<PyDict>()?,
            }),
        };
        let call_skips_signature = match &call_options {
            Some(o) => !o
                .get_item(intern!(py, "verify_signature"))?
                .map_or(Ok(true), |v| v.is_truthy())?,
            None => false,
        };
        let merged = MergedOptions {
            instance: self.options(),
            call: call_options,
            call_skips_signature,
        };
        let enforce = merged
            .get(intern!(py, "enforce_minimum_key_length"))?
            .map_or(Ok(false), |v| v.is_truthy())?;
        let early_checks = ClaimChecks::read_if_plain(py, |name| merged.get(name))?;
        let state = OptionState {
            verify_signature,
            enforce,
            early_checks,
        };
        Ok((state, merged))
    }
}

/// What the token cache must see besides the token, or `None` when a part of the call cannot
/// be described exactly (a detached payload, a replaced `json.loads`, a leeway or
/// expectation of an unusual type...): such calls are never cached.
#[allow(clippy::too_many_arguments)] // each is a part of the call the context must describe
fn cache_context<'py>(
    py: Python<'py>,
    key: &Bound<'py, PyAny>,
    algorithms: Option<&Bound<'py, PyAny>>,
    detached_payload: bool,
    registry: &Bound<'py, PyDict>,
    checks: &ClaimChecks<'py>,
    enforce: bool,
    expected: &Expected<'_, 'py>,
) -> PyResult<Option<(token_cache::Context, claims::Leeway<'py>)>> {
    let Some(mut builder) = token_cache::ContextBuilder::new(false) else {
        return Ok(None);
    };
    if detached_payload || refs(py)?.current_json_loads(py)?.is_some() {
        return Ok(None);
    }
    let seconds = match expected.leeway {
        None => 0.0,
        Some(leeway) => {
            let plain_leeway = leeway.is_exact_instance_of::<pyo3::types::PyFloat>()
                || leeway.is_exact_instance_of::<pyo3::types::PyInt>()
                || leeway.get_type().is(refs(py)?.timedelta.bind(py));
            if !plain_leeway {
                return Ok(None);
            }
            let claims::Leeway::Seconds(seconds) = claims::Leeway::from_py(py, leeway)? else {
                return Ok(None);
            };
            seconds
        }
    };
    // Without `algorithms` the call fails, or takes them from a PyJWK: not cached.
    let Some(algorithms) = algorithms else {
        return Ok(None);
    };
    builder.flags(checks.flags().iter().copied().chain([enforce]));
    builder.float(seconds);
    let described = builder
        .strings(b'a', Some(algorithms))
        .and_then(|()| builder.strings(b'r', checks.require.as_ref().filter(|r| !r.is_none())))
        .and_then(|()| builder.strings(b'u', expected.audience))
        .and_then(|()| builder.strings(b'i', expected.issuer))
        .and_then(|()| builder.strings(b's', expected.subject));
    Ok(described
        .and_then(|()| builder.finish(key, registry))
        .map(|context| (context, claims::Leeway::Seconds(seconds))))
}

/// A detached payload goes through `json.loads` as the caller gave it (bytes or str).
fn load_detached<'py>(py: Python<'py>, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    if let Ok(bytes) = obj.cast::<PyBytes>() {
        return json::load_object(py, bytes.as_bytes(), "payload");
    }
    let text = obj
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err("detached_payload must be bytes or str"))?;
    json::load_object(py, text.to_str()?.as_bytes(), "payload")
}

/// `PyJWT.encode`'s payload rules: a dict; datetimes in exp/iat/nbf become ints; str `iss`.
fn prepare_claims<'py>(
    py: Python<'py>,
    payload: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let Ok(dict) = payload.cast::<PyDict>() else {
        return Err(PyTypeError::new_err(
            "Expecting a dict object, as JWT only supports JSON objects as payloads.",
        ));
    };
    let refs = refs(py)?;
    // PyJWT tests `isinstance(payload.get(claim), datetime)` through its module's name, so a
    // replaced `api_jwt.datetime` is asked about every claim, present or not.
    let replaced = refs.replaced_datetime(py)?;
    let datetime = replaced.as_ref().unwrap_or(refs.datetime.bind(py).as_any());
    let mut claims = if dict.is_exact_instance_of::<PyDict>() {
        dict.clone()
    } else {
        dict.call_method0("copy")?.cast_into::<PyDict>()?
    };
    for name in [intern!(py, "exp"), intern!(py, "iat"), intern!(py, "nbf")] {
        let value = match claims.get_item(name)? {
            Some(value) => Some(value),
            None if replaced.is_some() => Some(py.None().into_bound(py)),
            None => None,
        };
        if let Some(value) = value {
            // An exact int or float is no datetime; only a replaced class must be asked.
            let plain_number = replaced.is_none()
                && (value.is_exact_instance_of::<PyInt>()
                    || value.is_exact_instance_of::<PyFloat>());
            if !plain_number && value.is_instance(datetime)? {
                if claims.is(dict) {
                    claims = dict.copy()?;
                }
                let seconds = refs
                    .timegm
                    .bind(py)
                    .call1((value.call_method0("utctimetuple")?,))?;
                claims.set_item(name, seconds)?;
            }
        }
    }
    if let Some(iss) = claims.get_item(intern!(py, "iss"))? {
        if !iss.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err("Issuer (iss) must be a string."));
        }
    }
    Ok(claims.into_any())
}

/// The payload's JSON in one pass when `prepare_claims` would return it unchanged: a plain
/// dict whose time claims are plain numbers and whose `iss` is a str, with PyJWT's
/// `datetime` not replaced. `Ok(false)` (nothing written) otherwise.
fn dump_prepared_claims(
    py: Python<'_>,
    payload: &Bound<'_, PyAny>,
    out: &mut Vec<u8>,
) -> PyResult<bool> {
    let Ok(dict) = payload.cast_exact::<PyDict>() else {
        return Ok(false);
    };
    if refs(py)?.replaced_datetime(py)?.is_some() {
        return Ok(false);
    }
    let unchanged_by_preparing = |name: &str, value: &Bound<'_, PyAny>| match name {
        "exp" | "iat" | "nbf" => {
            value.is_exact_instance_of::<PyInt>() || value.is_exact_instance_of::<PyFloat>()
        }
        "iss" => value.is_instance_of::<PyString>(),
        _ => true,
    };
    json::dump_dict_if(py, dict, &unchanged_by_preparing, out)
}

/// `PyJWT.encode`'s payload preparation, for the Python composition path.
#[pyfunction(name = "prepare_claims")]
pub fn prepare_claims_py<'py>(
    py: Python<'py>,
    payload: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let claims = prepare_claims(py, payload)?;
    if claims.is(payload) {
        return Ok(payload.cast::<PyDict>()?.copy()?.into_any());
    }
    Ok(claims)
}

/// The clock the claim checks use (honours a replaced `time.time`).
#[pyfunction]
pub fn now(py: Python<'_>) -> PyResult<f64> {
    refs(py)?.now(py)
}

impl<'py> JwtBindings<'py> {
    /// The claim checks a batch applies natively: `None` when the call turns signature
    /// verification off or passes options that are not a plain dict (every token then takes
    /// the ordinary path, which handles those exactly).
    fn batch_checks(
        &self,
        py: Python<'py>,
        options: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<ClaimChecks<'py>>> {
        let call = match options {
            None => None,
            Some(o) if o.is_exact_instance_of::<PyDict>() => Some(o.cast::<PyDict>()?.clone()),
            Some(_) => return Ok(None),
        };
        if let Some(call) = &call {
            let verify = call.get_item(intern!(py, "verify_signature"))?;
            if !verify.map_or(Ok(true), |v| v.is_truthy())? {
                return Ok(None);
            }
        }
        let merged = MergedOptions {
            instance: self.options(),
            call,
            call_skips_signature: false,
        };
        Ok(Some(ClaimChecks::read(py, |name| merged.get(name))?))
    }
}

/// `decode`/`decode_complete` over many tokens: element i is what the call would return
/// for `tokens[i]`, or the exception it would raise. See `batch` for how it stays exact.
#[pyfunction]
#[pyo3(signature = (engine, tokens, key=Arg::Missing, algorithms=None, options=None, audience=None, issuer=None, subject=None, leeway=Arg::Missing, complete=false, threads=None))]
#[allow(clippy::too_many_arguments)] // decode's own parameters
pub fn decode_batch<'py>(
    py: Python<'py>,
    engine: &Bound<'py, JwtEngine>,
    tokens: &Bound<'py, PyAny>,
    key: Arg<'py>,
    algorithms: Option<Bound<'py, PyAny>>,
    options: Option<Bound<'py, PyAny>>,
    audience: Option<Bound<'py, PyAny>>,
    issuer: Option<Bound<'py, PyAny>>,
    subject: Option<Bound<'py, PyAny>>,
    leeway: Arg<'py>,
    complete: bool,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyList>> {
    let tokens = tokens.try_iter()?.collect::<PyResult<Vec<_>>>()?;
    let engine = engine.get().bindings(py);
    let call = BatchCall {
        key: key.or_else(|| empty_str(py)),
        algorithms: given(algorithms.as_ref()).cloned(),
        options: given(options.as_ref()).cloned(),
        audience: given(audience.as_ref()).cloned(),
        issuer: given(issuer.as_ref()).cloned(),
        subject: given(subject.as_ref()).cloned(),
        leeway: batch::leeway_or_zero(py, leeway),
    };
    let plan = batch_plan(py, &engine, &call)?;
    let results = PyList::new(py, tokens.iter().map(|_| py.None()))?;
    let Some(plan) = plan else {
        for (index, token) in tokens.iter().enumerate() {
            results.set_item(index, engine.decode_one(py, token, &call, complete))?;
        }
        return Ok(results);
    };
    let slices = batch::token_slices(&tokens);
    batch::accept_streaming(py, &plan, &slices, threads, complete, |start, chunk| {
        for (offset, outcome) in chunk.into_iter().enumerate() {
            let index = start + offset;
            let Some(token) = tokens.get(index) else {
                continue;
            };
            let native = match outcome {
                Some(batch::Outcome::Built(built)) => Some(built.into_bound(py)),
                Some(batch::Outcome::Accepted(accepted)) => {
                    batch::accepted_result(py, &accepted, complete)
                }
                None => None,
            };
            let item = match native {
                Some(item) => item,
                None => engine.decode_one(py, token, &call, complete),
            };
            results.set_item(index, item)?;
        }
        Ok(())
    })?;
    Ok(results)
}

/// The batch pass's plan for `call` on `engine`: `None` when every token must take the
/// ordinary path.
pub(crate) fn batch_plan<'py>(
    py: Python<'py>,
    engine: &JwtBindings<'py>,
    call: &BatchCall<'py>,
) -> PyResult<Option<batch::Plan>> {
    let checks = engine.batch_checks(py, call.options.as_ref())?;
    let jws = engine.jws().get().bindings(py);
    batch::plan(py, jws.registry(), checks, call)
}

impl<'py> JwtBindings<'py> {
    /// One token through the ordinary path: its result, or the exception it raises.
    fn decode_one(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        call: &BatchCall<'py>,
        complete: bool,
    ) -> Bound<'py, PyAny> {
        let given = [
            Some(&call.key),
            call.algorithms.as_ref(),
            call.options.as_ref(),
            None,
            None,
        ];
        let expected = [&call.audience, &call.subject, &call.issuer].map(Option::as_ref);
        let [audience, subject, issuer] = expected;
        let one = Call::new(
            token,
            given,
            [audience, subject, issuer, Some(&call.leeway)],
        );
        let mut room = SignatureRoom::new();
        let outcome = self.decode_jwt(py, one, &mut room).and_then(|decoded| {
            if complete {
                Ok(decoded.into_complete(py)?.into_any())
            } else {
                Ok(decoded.payload.into_any())
            }
        });
        match outcome {
            Ok(item) => item,
            Err(err) => err.into_value(py).into_bound(py).into_any(),
        }
    }
}
