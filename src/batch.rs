//! Many tokens per call: signatures and claims checked on every core, without the GIL.
//!
//! Exact by construction: the parallel pass only *accepts* tokens, under rules strict enough
//! that `decode` would accept them too (plain types, no duplicate JSON keys, no `crit`/`b64`,
//! a native key, nothing that warns). Every other token, invalid or merely unusual, then goes
//! through the ordinary `decode` path under the GIL, so its result or exception is exactly
//! `decode`'s. Accepted payloads are turned into dicts on the calling thread under the GIL,
//! or, on free-threaded builds, by the workers themselves.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::atomic::{self, AtomicU64};
use std::sync::{mpsc, Arc, LazyLock, Mutex};

use std::borrow::Cow;
use std::cell::RefCell;

use jiter::{Jiter, JsonValue};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFrozenSet, PyList, PySet, PyString, PyTuple};
use smallvec::SmallVec;

use crate::algorithms::Algo;
use crate::args::Arg;
use crate::asym_keys::{self, Use};
use crate::base64url;
use crate::claims::{cmp_i64_f64, ClaimChecks, Leeway};
use crate::claims_scan;
use crate::crypto::{Algorithm, AsymmetricKey};
use crate::ffi::sha256_lanes::{Lanes, LANES};
use crate::ffi::{self, hmac_state::LaneTags};
use crate::hmac_keys::{prepared_key, HmacHash, PreparedHmacKey};
use crate::json;
use crate::jws;
use crate::limits;
use crate::py_refs::refs;
use crate::segments::{self, Segments};

/// Batches smaller than this are checked on the calling thread (still without the GIL).
const PARALLEL_THRESHOLD: usize = 16;

/// A way to check one allowed algorithm's signatures natively.
enum Verifier {
    Hmac(Arc<PreparedHmacKey>),
    Asymmetric(Algorithm, Arc<AsymmetricKey>),
}

impl Verifier {
    fn verify(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        match self {
            Verifier::Hmac(key) => key.verify(signing_input, signature),
            Verifier::Asymmetric(algorithm, key) => key
                .verify(*algorithm, signing_input, signature)
                .unwrap_or(false),
        }
    }
}

/// Expected values given as a `str` or a collection of `str`.
enum Expected {
    Any,
    One(String),
    OneOf(Vec<String>),
}

impl Expected {
    fn contains(&self, value: &str) -> bool {
        match self {
            Expected::Any => true,
            Expected::One(one) => one == value,
            Expected::OneOf(all) => all.iter().any(|v| v == value),
        }
    }
}

/// One allowed way to check a signature: the `alg` it serves, the `kid` it is bound to
/// (only for the keys of a JWK set), and the verifier.
struct KeyUse {
    alg: String,
    kid: Option<String>,
    verifier: Verifier,
}

/// Everything the parallel pass needs, read from Python once per batch.
pub struct Plan {
    verifiers: Vec<KeyUse>,
    /// `false` for reading tokens without checking signatures or claims
    /// (`options={"verify_signature": False}` with nothing else set).
    verify_signature: bool,
    verify_iat: bool,
    verify_nbf: bool,
    verify_exp: bool,
    verify_iss: bool,
    verify_aud: bool,
    verify_sub: bool,
    verify_jti: bool,
    strict_aud: bool,
    require: Vec<String>,
    audience: Option<Expected>,
    issuer: Option<Expected>,
    subject: Option<String>,
    leeway: f64,
    now: f64,
}

impl Plan {
    /// An HS256 plan with PyJWT's default options (every claim verified, `strict_aud` off,
    /// nothing required, no `subject`), built without Python: for [`crate::fuzzing`].
    pub(crate) fn hs256_for_fuzzing(
        secret: &[u8],
        now: f64,
        leeway: f64,
        audience: Option<&str>,
        issuer: Option<&str>,
    ) -> Plan {
        let key = PreparedHmacKey::new_unvetted(HmacHash::Sha256, secret);
        Plan {
            verifiers: vec![KeyUse {
                alg: "HS256".to_owned(),
                kid: None,
                verifier: Verifier::Hmac(Arc::new(key)),
            }],
            verify_signature: true,
            verify_iat: true,
            verify_nbf: true,
            verify_exp: true,
            verify_iss: true,
            verify_aud: true,
            verify_sub: true,
            verify_jti: true,
            strict_aud: false,
            require: Vec::new(),
            audience: audience.map(|one| Expected::One(one.to_owned())),
            issuer: issuer.map(|one| Expected::One(one.to_owned())),
            subject: None,
            leeway,
            now,
        }
    }

    /// Reading tokens as `decode(token, options={"verify_signature": False})` does: the
    /// segments and JSON are checked, no signature and no claim.
    pub fn unverified(now: f64) -> Plan {
        Plan {
            verifiers: Vec::new(),
            verify_signature: false,
            verify_iat: false,
            verify_nbf: false,
            verify_exp: false,
            verify_iss: false,
            verify_aud: false,
            verify_sub: false,
            verify_jti: false,
            strict_aud: false,
            require: Vec::new(),
            audience: None,
            issuer: None,
            subject: None,
            leeway: 0.0,
            now,
        }
    }

    /// One plan for the keys of a JWK set: each key's verifiers serve only tokens whose
    /// `kid` names it. The claim checks are the first plan's (every plan of one call has
    /// the same ones); `None` when no key could be checked natively.
    pub fn keyed(plans: Vec<(String, Plan)>) -> Option<Plan> {
        let mut verifiers = Vec::new();
        let mut checks = None;
        for (kid, plan) in plans {
            verifiers.extend(plan.verifiers.into_iter().map(|key_use| KeyUse {
                kid: Some(kid.clone()),
                ..key_use
            }));
            checks.get_or_insert(Plan {
                verifiers: Vec::new(),
                ..plan
            });
        }
        let mut plan = checks?;
        plan.verifiers = verifiers;
        Some(plan)
    }

    /// The clock the claim checks compare with, read again (for a long stream of batches).
    pub fn set_now(&mut self, now: f64) {
        self.now = now;
    }
}

/// What the parallel pass keeps of an accepted token (the header and signature only for
/// `decode_complete`, empty otherwise).
pub struct Accepted {
    pub header: Vec<u8>,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// The arguments of a batch call, as `decode` takes them.
pub struct BatchCall<'py> {
    pub key: Bound<'py, PyAny>,
    pub algorithms: Option<Bound<'py, PyAny>>,
    pub options: Option<Bound<'py, PyAny>>,
    pub audience: Option<Bound<'py, PyAny>>,
    pub issuer: Option<Bound<'py, PyAny>>,
    pub subject: Option<Bound<'py, PyAny>>,
    pub leeway: Bound<'py, PyAny>,
}

/// The plan for this call, or `None` when every token must take the ordinary path.
pub fn plan<'py>(
    py: Python<'py>,
    registry: &Bound<'py, PyDict>,
    checks: Option<ClaimChecks<'py>>,
    call: &BatchCall<'py>,
) -> PyResult<Option<Plan>> {
    let Some(checks) = checks else {
        return Ok(None);
    };
    if refs(py)?.current_json_loads(py)?.is_some() {
        return Ok(None);
    }
    // A PyJWK binds its own algorithm: with no `algorithms`, it is the only one allowed.
    let jwk = jws::is_pyjwk(py, &call.key)?.then_some(&call.key);
    let names = match (&call.algorithms, jwk) {
        (Some(algorithms), _) => str_list(algorithms)?,
        (None, Some(jwk)) => {
            exact_str(&jwk.getattr(intern!(py, "algorithm_name"))?).map(|name| vec![name])
        }
        (None, None) => None,
    };
    let Some(names) = names else {
        return Ok(None);
    };
    let require = match &checks.require {
        None => Vec::new(),
        Some(require) => match str_list(require)? {
            Some(names) => names,
            None => return Ok(None),
        },
    };
    let (Some(audience), Some(issuer)) = (
        expected(call.audience.as_ref())?,
        expected(call.issuer.as_ref())?,
    ) else {
        return Ok(None);
    };
    let subject = match &call.subject {
        None => None,
        Some(subject) => match exact_str(subject) {
            Some(subject) => Some(subject),
            None => return Ok(None),
        },
    };
    let Leeway::Seconds(leeway) = Leeway::from_py(py, &call.leeway)? else {
        return Ok(None);
    };
    let mut verifiers = Vec::new();
    for name in names {
        // The algorithm object and key material, as `PyJWS._verify_signature` picks them.
        let (alg_obj, key) = match jwk {
            Some(jwk) => {
                let bound_name = jwk.getattr(intern!(py, "algorithm_name"))?;
                if exact_str(&bound_name).as_deref() != Some(name.as_str()) {
                    continue; // a token of another alg fails in `decode`, as it should
                }
                (
                    jwk.getattr(intern!(py, "Algorithm"))?,
                    jwk.getattr(intern!(py, "key"))?,
                )
            }
            None => match registry.get_item(name.as_str())? {
                Some(alg_obj) => (alg_obj, call.key.clone()),
                None => continue,
            },
        };
        if let Some(verifier) = verifier(py, &Algo::of(py, &alg_obj)?, &key)? {
            verifiers.push(KeyUse {
                alg: name,
                kid: None,
                verifier,
            });
        }
    }
    Ok(Some(Plan {
        verifiers,
        verify_signature: true,
        verify_iat: checks.verify_iat,
        verify_nbf: checks.verify_nbf,
        verify_exp: checks.verify_exp,
        verify_iss: checks.verify_iss,
        verify_aud: checks.verify_aud,
        verify_sub: checks.verify_sub,
        verify_jti: checks.verify_jti,
        strict_aud: checks.strict_aud,
        require,
        audience: (!matches!(audience, Expected::Any)).then_some(audience),
        issuer: (!matches!(issuer, Expected::Any)).then_some(issuer),
        subject,
        leeway,
        now: refs(py)?.now(py)?,
    }))
}

/// A native verifier for the key under this algorithm, when using it would neither fail
/// nor warn (those tokens take the ordinary path, which raises or warns exactly).
fn verifier(py: Python<'_>, algo: &Algo<'_>, key: &Bound<'_, PyAny>) -> PyResult<Option<Verifier>> {
    Ok(match algo {
        Algo::Hmac(hash) => match prepared_key(py, *hash, key) {
            Ok(prepared) if prepared.weakness(*hash).is_none() => Some(Verifier::Hmac(prepared)),
            _ => None,
        },
        Algo::Asymmetric(algorithm, _) => {
            match asym_keys::native_key(py, *algorithm, key, Use::Verify)? {
                Some(native) if asym_keys::weakness(&native).is_none() => {
                    Some(Verifier::Asymmetric(*algorithm, native))
                }
                _ => None,
            }
        }
        Algo::Unsigned | Algo::Python(_) => None,
    })
}

fn exact_str(obj: &Bound<'_, PyAny>) -> Option<String> {
    obj.cast::<PyString>()
        .ok()
        .filter(|s| s.is_exact_instance_of::<PyString>())
        .and_then(|s| s.to_str().ok().map(str::to_owned))
}

/// The strings of a list, tuple or set made only of exact `str`; `None` for anything else.
fn str_list(obj: &Bound<'_, PyAny>) -> PyResult<Option<Vec<String>>> {
    let collection = obj.is_exact_instance_of::<PyList>()
        || obj.is_exact_instance_of::<PyTuple>()
        || obj.is_exact_instance_of::<PySet>()
        || obj.is_exact_instance_of::<PyFrozenSet>();
    if !collection {
        return Ok(None);
    }
    let mut names = Vec::new();
    for item in obj.try_iter()? {
        match exact_str(&item?) {
            Some(name) => names.push(name),
            None => return Ok(None),
        }
    }
    Ok(Some(names))
}

/// `audience`/`issuer` as plain strings; `None` when it is something only Python can judge.
fn expected(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Expected>> {
    let Some(obj) = obj else {
        return Ok(Some(Expected::Any));
    };
    if let Some(one) = exact_str(obj) {
        return Ok(Some(Expected::One(one)));
    }
    Ok(str_list(obj)?.map(Expected::OneOf))
}

/// The last header segment a worker accepted, and how its tokens are checked. The tokens
/// of a batch nearly always share one header, so it is decoded and checked once per chunk.
pub struct HeaderMemo<'t> {
    segment: &'t [u8],
    key_use: KeyChoice,
    header: Vec<u8>,
}

/// How the tokens of one header are checked.
#[derive(Clone, Copy)]
enum KeyChoice {
    /// With `plan.verifiers[i]`.
    Verifier(usize),
    /// Not at all: the plan reads tokens unverified.
    Unverified,
}

/// A refusal the parallel pass is certain `decode` makes, with the same exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// A well-formed token of an allowed `alg` whose signature does not verify.
    BadSignature,
    /// A verified token whose claims pass every check before `exp`, which has passed.
    Expired,
}

impl Rejection {
    /// The PyJWT exception class `decode` raises, and its message.
    pub fn exception(self) -> (&'static str, &'static str) {
        match self {
            Rejection::BadSignature => ("InvalidSignatureError", "Signature verification failed"),
            Rejection::Expired => ("ExpiredSignatureError", "Signature has expired"),
        }
    }
}

/// The decoded parts of an accepted token, lent to the caller of [`judge`].
pub struct Parts<'a> {
    pub header: &'a [u8],
    /// The claims object's JSON text (the decoded payload).
    pub claims_json: &'a str,
    /// The members of the claims the checks read (see `claims_object`), in order.
    pub claims: &'a [Member<'a>],
    pub signature: &'a [u8],
}

/// The parallel pass's verdict on one token.
pub enum Judged<R> {
    /// `decode` accepts it: what the caller made of its parts.
    Accepted(R),
    /// `decode` refuses it, certainly with this exception.
    Rejected(Rejection),
    /// Only `decode` itself can tell (an invalid token, or an unusual one).
    Undecided,
}

/// Accept `token` if it certainly verifies and passes every claim check, else `None`.
pub fn accept<'t>(
    plan: &Plan,
    token: &'t [u8],
    memo: &mut Option<HeaderMemo<'t>>,
    complete: bool,
) -> Option<Accepted> {
    accept_with_mac(plan, token, memo, None, complete)
}

/// [`accept`], with the token's MAC from its group's (see [`MacLanes`]), if it has one.
fn accept_with_mac<'t>(
    plan: &Plan,
    token: &'t [u8],
    memo: &mut Option<HeaderMemo<'t>>,
    mac: Option<MacHint<'_>>,
    complete: bool,
) -> Option<Accepted> {
    // `decode` returns the payload alone: no copies of the header and signature for it.
    let copy = |bytes: &[u8]| if complete { bytes.to_vec() } else { Vec::new() };
    match judge(plan, token, memo, mac, |parts| Accepted {
        header: copy(parts.header),
        payload: parts.claims_json.as_bytes().to_vec(),
        signature: copy(parts.signature),
    }) {
        Judged::Accepted(accepted) => Some(accepted),
        Judged::Rejected(_) | Judged::Undecided => None,
    }
}

/// Judge `token` as `decode` would, where that is certain without Python; `accept` turns
/// the parts of an accepted token into the caller's result. `mac` is the token's HS256 MAC
/// if it was computed among its group's (see [`MacLanes`]).
pub fn judge<'t, R>(
    plan: &Plan,
    token: &'t [u8],
    memo: &mut Option<HeaderMemo<'t>>,
    mac: Option<MacHint<'_>>,
    accept: impl FnOnce(Parts<'_>) -> R,
) -> Judged<R> {
    judge_parts(plan, token, memo, mac, accept).unwrap_or(Judged::Undecided)
}

/// The plan's HS256 key, for signing tokens [`LANES`] at a time where the CPU can (see
/// `ffi::sha256_lanes`): the column path verifies a group's MACs together, then judges its
/// tokens one by one with them.
pub struct MacLanes<'p> {
    verifier: usize,
    key: &'p PreparedHmacKey,
    lanes: Lanes,
}

impl<'p> MacLanes<'p> {
    /// `None` when the plan has no HS256 key or the CPU no SHA extensions.
    pub fn new(plan: &'p Plan) -> Option<Self> {
        let lanes = Lanes::detect()?;
        plan.verifiers
            .iter()
            .enumerate()
            .find_map(|(verifier, key_use)| match &key_use.verifier {
                Verifier::Hmac(key) if key_use.alg == "HS256" => Some(MacLanes {
                    verifier,
                    key,
                    lanes,
                }),
                _ => None,
            })
    }

    /// The MACs of up to [`LANES`] tokens' signing inputs (a null, oversized or
    /// unsplittable token's lane signs nothing useful, and is never asked about).
    pub fn sign(&self, tokens: &[Option<&[u8]>]) -> Option<GroupMacs> {
        let mut messages: [&[u8]; LANES] = [&[]; LANES];
        for (message, token) in messages.iter_mut().zip(tokens) {
            let segments = token
                .filter(|token| !limits::token_too_long(token.len()))
                .and_then(segments::split);
            if let Some(segments) = segments {
                *message = segments.signing_input;
            }
        }
        Some(GroupMacs {
            verifier: self.verifier,
            tags: self.key.sign_lanes(self.lanes, messages)?,
        })
    }
}

/// Each of `tokens` in order, with its row and, where `lanes` can sign, its HS256 MAC
/// computed among its group of [`LANES`]. The tokens two groups on are prefetched: each is
/// read from memory once, and its first read otherwise waits on it.
pub fn each_with_mac<'t>(
    lanes: Option<&MacLanes<'_>>,
    tokens: &[Option<&'t [u8]>],
    mut each: impl FnMut(usize, Option<&'t [u8]>, Option<MacHint<'_>>),
) {
    for (group_index, group) in tokens.chunks(LANES).enumerate() {
        let ahead = tokens.get((group_index + 2) * LANES..).unwrap_or_default();
        ahead
            .iter()
            .take(LANES)
            .flatten()
            .for_each(|token| ffi::prefetch(token));
        let macs = lanes.and_then(|lanes| lanes.sign(group));
        for (lane, token) in group.iter().enumerate() {
            let mac = macs.as_ref().map(|macs| macs.hint(lane));
            each(group_index * LANES + lane, *token, mac);
        }
    }
}

/// A group's MACs, and the verifier they were made with.
pub struct GroupMacs {
    verifier: usize,
    tags: LaneTags,
}

impl GroupMacs {
    /// What [`judge`] needs of the group's `lane`th token.
    pub fn hint(&self, lane: usize) -> MacHint<'_> {
        MacHint { macs: self, lane }
    }
}

/// One token's MAC among its group's.
#[derive(Clone, Copy)]
pub struct MacHint<'g> {
    macs: &'g GroupMacs,
    lane: usize,
}

fn judge_parts<'t, R>(
    plan: &Plan,
    token: &'t [u8],
    memo: &mut Option<HeaderMemo<'t>>,
    mac: Option<MacHint<'_>>,
    accept: impl FnOnce(Parts<'_>) -> R,
) -> Option<Judged<R>> {
    if limits::token_too_long(token.len()) {
        return None;
    }
    let Segments {
        header: header_segment,
        payload: payload_segment,
        signing_input,
        signature: signature_segment,
    } = segments::split(token)?;
    let key_choice = match memo {
        Some(memo) if memo.segment == header_segment => memo.key_use,
        _ => {
            let header = base64url::decode(header_segment).ok()?;
            let key_use = header_key_choice(plan, &header)?;
            *memo = Some(HeaderMemo {
                segment: header_segment,
                key_use,
                header,
            });
            key_use
        }
    };
    SCRATCH.with_borrow_mut(|scratch| {
        let Scratch {
            payload,
            signature,
            seen,
        } = scratch;
        base64url::decode_into(payload_segment, payload).ok()?;
        base64url::decode_into(signature_segment, signature).ok()?;
        judge_decoded(
            plan,
            signing_input,
            key_choice,
            mac,
            memo,
            payload,
            signature,
            seen,
            accept,
        )
    })
}

/// Buffers a worker thread decodes every token's payload and signature into.
#[derive(Default)]
struct Scratch {
    payload: Vec<u8>,
    signature: Vec<u8>,
    seen: Vec<u64>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

#[allow(clippy::too_many_arguments)] // the parts of one token, split so the scratch is reused
fn judge_decoded<'t, R>(
    plan: &Plan,
    signing_input: &[u8],
    key_choice: KeyChoice,
    mac: Option<MacHint<'_>>,
    memo: &Option<HeaderMemo<'t>>,
    payload: &[u8],
    signature: &[u8],
    seen: &mut Vec<u64>,
    accept: impl FnOnce(Parts<'_>) -> R,
) -> Option<Judged<R>> {
    if limits::too_deep(payload) {
        return None;
    }
    if let KeyChoice::Verifier(index) = key_choice {
        let key_use = plan.verifiers.get(index)?;
        let verified = match mac {
            // Computed with this verifier's key over this token's signing input.
            Some(MacHint { macs, lane }) if macs.verifier == index => {
                macs.tags.matches(lane, signature)
            }
            _ => key_use.verifier.verify(signing_input, signature),
        };
        if !verified {
            return Some(Judged::Rejected(Rejection::BadSignature));
        }
    }
    let (claims_json, claims) = claims_object(plan, payload, seen)?;
    match claims_verdict(plan, &claims)? {
        ClaimsVerdict::Pass => {
            let header = memo.as_ref().map_or(&[][..], |memo| &memo.header);
            Some(Judged::Accepted(accept(Parts {
                header,
                claims_json,
                claims: &claims,
                signature,
            })))
        }
        ClaimsVerdict::Expired => Some(Judged::Rejected(Rejection::Expired)),
    }
}

/// How tokens with this header are checked, when `decode` would accept the header without
/// comment: a JSON object with no `b64`/`crit`, a string `kid` if any, and (verifying) a
/// string `alg` the plan verifies, with the key its `kid` names if the plan has a JWK set.
fn header_key_choice(plan: &Plan, header: &[u8]) -> Option<KeyChoice> {
    if limits::too_deep(header) {
        return None;
    }
    let header_fields = object(header)?;
    if ["b64", "crit"]
        .iter()
        .any(|name| member(&header_fields, name).is_some())
    {
        return None;
    }
    let kid = match member(&header_fields, "kid") {
        None => None,
        Some(JsonValue::Str(kid)) => Some(kid.as_ref()),
        Some(_) => return None,
    };
    if !plan.verify_signature {
        return Some(KeyChoice::Unverified);
    }
    let JsonValue::Str(alg) = member(&header_fields, "alg")? else {
        return None;
    };
    plan.verifiers
        .iter()
        .position(|key_use| {
            key_use.alg == alg.as_ref() && key_use.kid.as_deref().is_none_or(|k| Some(k) == kid)
        })
        .map(KeyChoice::Verifier)
}

/// A JSON object's member: its name and value.
pub type Member<'a> = (Cow<'a, str>, JsonValue<'a>);

/// The members read from a JSON object, inline up to the registered claims and one more.
pub type Members<'a> = SmallVec<[Member<'a>; 8]>;

/// The claims the checks and the verdict columns read (the registered ones, and any the
/// plan requires) of a JSON object, with the object as text: `None` unless `json.loads`
/// reads the same object (valid UTF-8 JSON, no repeated name at the top level).
///
/// One pass, values of other members skipped rather than built: a claims object is read
/// for every token, and its custom claims are left to whoever reads the JSON text.
fn claims_object<'a>(
    plan: &Plan,
    data: &'a [u8],
    seen: &mut Vec<u64>,
) -> Option<(&'a str, Members<'a>)> {
    let wanted = |name: &str| {
        registered_index(name).is_some() || plan.require.iter().any(|required| required == name)
    };
    // The shape issuers write is read without a parser; anything else goes to jiter.
    if let Some(read) = claims_scan::scan(data, wanted) {
        return Some(read);
    }
    let text = json::native_text(data)?;
    let mut jiter = Jiter::new(data).with_allow_inf_nan();
    let mut name = jiter.next_object().ok()?;
    seen.clear();
    let mut members = Members::with_capacity(8);
    while let Some(key) = name {
        // Names are compared by a keyed hash: equal names collide by construction, and two
        // different names colliding only send the token to the ordinary path.
        let hash = NAME_HASHER.hash_one(key);
        if seen.contains(&hash) {
            return None;
        }
        seen.push(hash);
        let wanted = registered_name(key).map(Cow::Borrowed).or_else(|| {
            plan.require
                .iter()
                .any(|required| required == key)
                .then(|| Cow::Owned(key.to_owned()))
        });
        match wanted {
            Some(key) => members.push((key, jiter.next_value().ok()?)),
            None => jiter.next_skip().ok()?,
        }
        name = jiter.next_key().ok()?;
    }
    jiter.finish().ok()?;
    Some((text, members))
}

static NAME_HASHER: LazyLock<ahash::RandomState> =
    LazyLock::new(|| ahash::RandomState::with_seeds(0x7475, 0x7262, 0x6f6a, 0x7774));

/// The registered claim names the checks and the columns read.
pub const REGISTERED: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

fn registered_name(name: &str) -> Option<&'static str> {
    REGISTERED.get(registered_index(name)?).copied()
}

/// `name`'s index in [`REGISTERED`], matched byte by byte (no string comparison call).
fn registered_index(name: &str) -> Option<usize> {
    Some(match name.as_bytes() {
        b"iss" => 0,
        b"sub" => 1,
        b"aud" => 2,
        b"exp" => 3,
        b"nbf" => 4,
        b"iat" => 5,
        b"jti" => 6,
        _ => return None,
    })
}

/// A JSON object's members, when `json.loads` would read the same object (no duplicates).
fn object(data: &[u8]) -> Option<Members<'_>> {
    if !json::native_parse_is_exact(data) {
        return None;
    }
    let JsonValue::Object(members) = JsonValue::parse(data, true).ok()? else {
        return None;
    };
    let members = Members::from_vec(Arc::unwrap_or_clone(members));
    let mut names: Vec<&str> = members.iter().map(|(name, _)| name.as_ref()).collect();
    names.sort_unstable();
    let unique = names.windows(2).all(|pair| pair.first() != pair.get(1));
    unique.then_some(members)
}

pub fn member<'m, 'a>(members: &'m [Member<'a>], name: &str) -> Option<&'m JsonValue<'a>> {
    members
        .iter()
        .find(|(key, _)| claims_scan::same_text(key, name))
        .map(|(_, value)| value)
}

fn truthy(value: &JsonValue<'_>) -> bool {
    match value {
        JsonValue::Null => false,
        JsonValue::Bool(b) => *b,
        JsonValue::Int(i) => *i != 0,
        JsonValue::BigInt(_) => true,
        JsonValue::Float(f) => *f != 0.0,
        JsonValue::Str(s) => !s.is_empty(),
        JsonValue::Array(items) => !items.is_empty(),
        JsonValue::Object(members) => !members.is_empty(),
    }
}

/// PyJWT's `int(value)` for the plain cases: ints, and finite floats (truncated).
fn plain_int(value: &JsonValue<'_>) -> Option<i64> {
    match value {
        JsonValue::Int(i) => Some(*i),
        JsonValue::Float(f) if f.is_finite() && f.trunc().abs() < 9_223_372_036_854_775_808.0 =>
        {
            #[allow(clippy::cast_possible_truncation)]
            Some(f.trunc() as i64)
        }
        _ => None,
    }
}

/// What the claim checks make of an object of claims, where that is certain.
enum ClaimsVerdict {
    Pass,
    /// Every check before `exp` passes, and `exp` (a plain number) has passed.
    Expired,
}

/// The claim checks in PyJWT's order; `None` when a check fails other than by expiry.
fn claims_verdict(plan: &Plan, claims: &[Member<'_>]) -> Option<ClaimsVerdict> {
    let present = |name: &str| member(claims, name);
    if plan
        .require
        .iter()
        .any(|name| present(name).is_none_or(|v| matches!(v, JsonValue::Null)))
    {
        return None;
    }
    let not_before = |name: &str| {
        present(name).is_none_or(|value| {
            plain_int(value)
                .is_some_and(|n| cmp_i64_f64(n, plan.now + plan.leeway) != Some(Ordering::Greater))
        })
    };
    if (plan.verify_iat && !not_before("iat")) || (plan.verify_nbf && !not_before("nbf")) {
        return None;
    }
    if plan.verify_exp {
        if let Some(exp) = present("exp") {
            // PyJWT's `exp <= now - leeway`; a NaN leeway compares as neither.
            match cmp_i64_f64(plain_int(exp)?, plan.now - plan.leeway)? {
                Ordering::Greater => {}
                Ordering::Less | Ordering::Equal => return Some(ClaimsVerdict::Expired),
            }
        }
    }
    claims_after_exp_pass(plan, claims).then_some(ClaimsVerdict::Pass)
}

/// The checks PyJWT makes after `exp`: `iss`, `aud`, `sub`, `jti`.
fn claims_after_exp_pass(plan: &Plan, claims: &[Member<'_>]) -> bool {
    let present = |name: &str| member(claims, name);
    if plan.verify_iss {
        if let Some(issuer) = &plan.issuer {
            let Some(JsonValue::Str(iss)) = present("iss") else {
                return false;
            };
            if !issuer.contains(iss) {
                return false;
            }
        }
    }
    if plan.verify_aud && !audience_passes(plan, present("aud")) {
        return false;
    }
    if plan.verify_sub {
        let subject_ok = match present("sub") {
            None => true,
            Some(JsonValue::Str(sub)) => plan.subject.as_ref().is_none_or(|subject| subject == sub),
            Some(_) => false,
        };
        if !subject_ok {
            return false;
        }
    }
    !(plan.verify_jti && present("jti").is_some_and(|jti| !matches!(jti, JsonValue::Str(_))))
}

fn audience_passes(plan: &Plan, claim: Option<&JsonValue<'_>>) -> bool {
    let claim = claim.filter(|value| truthy(value));
    let Some(audience) = &plan.audience else {
        return claim.is_none();
    };
    let Some(claim) = claim else { return false };
    if plan.strict_aud {
        return matches!((audience, claim), (Expected::One(one), JsonValue::Str(aud)) if one == aud);
    }
    match claim {
        JsonValue::Str(aud) => audience.contains(aud),
        JsonValue::Array(items) => {
            let all_str = items.iter().all(|item| matches!(item, JsonValue::Str(_)));
            all_str
                && items
                    .iter()
                    .any(|item| matches!(item, JsonValue::Str(aud) if audience.contains(aud)))
        }
        _ => false,
    }
}

/// Tokens accepted by the parallel pass since the process started (for tests and tuning).
static NATIVELY_ACCEPTED: AtomicU64 = AtomicU64::new(0);

/// What the parallel pass hands the calling thread for one accepted token.
pub enum Outcome {
    /// Its Python result is still to be built, on the calling thread.
    Accepted(Accepted),
    /// Its Python result, already built on the worker that verified it (free-threaded
    /// builds, where workers attached to the interpreter run in parallel).
    #[cfg_attr(not(Py_GIL_DISABLED), allow(dead_code))] // made only without the GIL
    Built(Py<PyAny>),
}

/// Run `accept` over every token on `threads` threads (all cores when `None`), handing each
/// finished chunk to `consume` on the calling thread, which holds the GIL meanwhile.
///
/// The calling thread consumes one chunk while the pool verifies the next ones, so the
/// GIL-bound half of the work overlaps the parallel half instead of following it. It waits
/// for chunks with the GIL released. With the GIL, `consume` builds the results
/// ([`accepted_result`]); without it, each worker builds its own chunk's, in parallel.
pub fn accept_streaming<'py>(
    py: Python<'py>,
    plan: &Plan,
    tokens: &[Option<&[u8]>],
    threads: Option<usize>,
    complete: bool,
    mut consume: impl FnMut(usize, Vec<Option<Outcome>>) -> PyResult<()>,
) -> PyResult<()> {
    if tokens.len() < PARALLEL_THRESHOLD || threads == Some(1) {
        let accepted = py.detach(|| accept_run(plan, tokens, complete));
        count_accepted(&accepted);
        return consume(0, to_build(accepted));
    }
    let pool = pool(threads);
    let workers = pool
        .as_ref()
        .map_or_else(rayon::current_num_threads, |pool| {
            pool.current_num_threads()
        });
    let chunk = chunk_size(tokens.len(), workers);
    let outcome = match &pool {
        Some(pool) => pool.in_place_scope_fifo(|scope| {
            pipeline(scope, py, plan, tokens, chunk, complete, consume)
        }),
        None => rayon::in_place_scope_fifo(|scope| {
            pipeline(scope, py, plan, tokens, chunk, complete, consume)
        }),
    };
    #[cfg(Py_GIL_DISABLED)]
    py.detach(|| {
        let release = |_: rayon::BroadcastContext<'_>| crate::ffi::worker_state::release();
        match &pool {
            Some(pool) => drop(pool.broadcast(release)),
            None => drop(rayon::broadcast(release)),
        }
    });
    outcome
}

/// Spawn one verification job per chunk, then consume chunks as they finish.
fn pipeline<'scope, 'py>(
    scope: &rayon::ScopeFifo<'scope>,
    py: Python<'py>,
    plan: &'scope Plan,
    tokens: &'scope [Option<&'scope [u8]>],
    chunk: usize,
    complete: bool,
    mut consume: impl FnMut(usize, Vec<Option<Outcome>>) -> PyResult<()>,
) -> PyResult<()> {
    let (sender, mut receiver) = mpsc::channel::<(usize, Vec<Option<Outcome>>)>();
    for (index, piece) in tokens.chunks(chunk).enumerate() {
        let sender = sender.clone();
        scope.spawn_fifo(move |_| {
            let accepted = accept_run(plan, piece, complete);
            count_accepted(&accepted);
            let outcomes = on_worker(accepted, complete);
            // The receiver lives until every job has run, so sending cannot fail.
            let _ = sender.send((index * chunk, outcomes));
        });
    }
    drop(sender);
    let mut outcome = Ok(());
    loop {
        let (returned, message) = py.detach(move || {
            let message = receiver.recv();
            (receiver, message)
        });
        receiver = returned;
        let Ok((start, outcomes)) = message else {
            return outcome; // every chunk has been delivered
        };
        if outcome.is_ok() {
            outcome = consume(start, outcomes);
        }
    }
}

/// Results left for the calling thread to build.
fn to_build(accepted: Vec<Option<Accepted>>) -> Vec<Option<Outcome>> {
    accepted
        .into_iter()
        .map(|accepted| accepted.map(Outcome::Accepted))
        .collect()
}

/// With the GIL, a worker that attached to build results would only queue for it.
#[cfg(not(Py_GIL_DISABLED))]
fn on_worker(accepted: Vec<Option<Accepted>>, _complete: bool) -> Vec<Option<Outcome>> {
    to_build(accepted)
}

/// Without the GIL, attached workers build their results in parallel. A token whose result
/// cannot be built natively takes the ordinary path, as on the calling thread.
#[cfg(Py_GIL_DISABLED)]
fn on_worker(accepted: Vec<Option<Accepted>>, complete: bool) -> Vec<Option<Outcome>> {
    crate::ffi::worker_state::keep();
    Python::attach(|py| {
        accepted
            .into_iter()
            .map(|accepted| {
                accepted_result(py, &accepted?, complete)
                    .map(|built| Outcome::Built(built.unbind()))
            })
            .collect()
    })
}

/// `accept` over consecutive tokens, sharing one header memo, with their HS256 MACs
/// computed [`LANES`] at a time where the CPU can.
fn accept_run(plan: &Plan, tokens: &[Option<&[u8]>], complete: bool) -> Vec<Option<Accepted>> {
    let mut memo = None;
    let mut accepted = Vec::with_capacity(tokens.len());
    let mac_lanes = MacLanes::new(plan);
    each_with_mac(mac_lanes.as_ref(), tokens, |_, token, mac| {
        accepted
            .push(token.and_then(|token| accept_with_mac(plan, token, &mut memo, mac, complete)));
    });
    accepted
}

/// Chunks small enough that the pipeline's last, unoverlapped chunk is short, and large
/// enough that handing chunks over costs nothing measurable.
fn chunk_size(tokens: usize, workers: usize) -> usize {
    (tokens / (workers.max(1) * 16)).clamp(32, 512)
}

fn count_accepted(accepted: &[Option<Accepted>]) {
    let count = accepted.iter().filter(|a| a.is_some()).count();
    NATIVELY_ACCEPTED.fetch_add(
        u64::try_from(count).unwrap_or(u64::MAX),
        atomic::Ordering::Relaxed,
    );
}

/// How many batch tokens the parallel pass has accepted so far in this process.
#[pyfunction]
pub fn batch_native_count() -> u64 {
    NATIVELY_ACCEPTED.load(atomic::Ordering::Relaxed)
}

/// A dedicated pool per requested size (built once), or `None` for rayon's global pool.
pub(crate) fn pool(threads: Option<usize>) -> Option<Arc<rayon::ThreadPool>> {
    static POOLS: LazyLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> =
        LazyLock::new(Default::default);
    let threads = threads?;
    let mut pools = POOLS.lock().ok()?;
    if let Some(pool) = pools.get(&threads) {
        return Some(Arc::clone(pool));
    }
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .ok()?,
    );
    pools.insert(threads, Arc::clone(&pool));
    Some(pool)
}

/// The bytes of each token that is a `str` or `bytes` (`None` for other types), borrowed
/// from the token objects, which outlive the batch call.
pub fn token_slices<'a>(tokens: &'a [Bound<'_, PyAny>]) -> Vec<Option<&'a [u8]>> {
    tokens
        .iter()
        .map(|token| {
            if let Ok(text) = token.cast::<PyString>() {
                text.to_str().ok().map(str::as_bytes)
            } else {
                token.cast::<PyBytes>().ok().map(|bytes| bytes.as_bytes())
            }
        })
        .collect()
}

/// What `decode` (or `decode_complete`) returns for an accepted token; `None` sends the
/// token down the ordinary path instead.
pub fn accepted_result<'py>(
    py: Python<'py>,
    accepted: &Accepted,
    complete: bool,
) -> Option<Bound<'py, PyAny>> {
    // Workers building results at once must not share jiter's string cache, which is one
    // global mutex: free-threaded builds read the payload with the per-thread tables that
    // `decode` uses.
    #[cfg(Py_GIL_DISABLED)]
    let payload = json::load_object(py, &accepted.payload, "payload").ok()?;
    #[cfg(not(Py_GIL_DISABLED))]
    let payload = json::load_accepted_object(py, &accepted.payload).ok()?;
    if complete {
        complete_result(py, accepted, payload)
            .ok()
            .map(Bound::into_any)
    } else {
        Some(payload.into_any())
    }
}

/// The result `decode_complete` returns for an accepted token.
pub fn complete_result<'py>(
    py: Python<'py>,
    accepted: &Accepted,
    payload: Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let result = PyDict::new(py);
    result.set_item(intern!(py, "payload"), payload)?;
    result.set_item(
        intern!(py, "header"),
        json::load_object(py, &accepted.header, "header")?,
    )?;
    result.set_item(
        intern!(py, "signature"),
        PyBytes::new(py, &accepted.signature),
    )?;
    Ok(result)
}

/// `decode`'s default `leeway` when the caller passed none.
pub fn leeway_or_zero<'py>(py: Python<'py>, leeway: Arg<'py>) -> Bound<'py, PyAny> {
    leeway.or_else(|| pyo3::types::PyInt::new(py, 0).into_any())
}
