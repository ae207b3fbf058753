//! The registered-claim checks of `PyJWT._validate_claims`, in PyJWT's order and with its
//! exact exceptions: audience type, require, iat, nbf, exp, iss, aud, sub, jti.
//!
//! Claims are coerced as PyJWT's `int(value)` does. Integers, bools and floats are handled
//! natively with exact int/float comparisons; anything else goes through Python's `int()` and
//! rich comparison, so odd inputs (numeric strings, huge values) behave exactly as in PyJWT.

use std::cmp::Ordering;

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};

use crate::errors::{fail, missing_claim, Exc};
use crate::py_refs::refs;

/// Which checks run, read from a merged PyJWT options mapping.
pub struct ClaimChecks<'py> {
    pub verify_iat: bool,
    pub verify_nbf: bool,
    pub verify_exp: bool,
    pub verify_iss: bool,
    pub verify_aud: bool,
    pub verify_sub: bool,
    pub verify_jti: bool,
    pub strict_aud: bool,
    pub require: Option<Bound<'py, PyAny>>,
}

impl<'py> ClaimChecks<'py> {
    /// Read the checks through `lookup(name)`, which returns the merged option or `None`.
    pub fn read(
        py: Python<'py>,
        mut lookup: impl FnMut(&Bound<'py, PyString>) -> PyResult<Option<Bound<'py, PyAny>>>,
    ) -> PyResult<Self> {
        let mut flag = |name: &Bound<'py, PyString>, default: bool| -> PyResult<bool> {
            match lookup(name)? {
                Some(value) => value.is_truthy(),
                None => Ok(default),
            }
        };
        Ok(ClaimChecks {
            verify_iat: flag(intern!(py, "verify_iat"), true)?,
            verify_nbf: flag(intern!(py, "verify_nbf"), true)?,
            verify_exp: flag(intern!(py, "verify_exp"), true)?,
            verify_iss: flag(intern!(py, "verify_iss"), true)?,
            verify_aud: flag(intern!(py, "verify_aud"), true)?,
            verify_sub: flag(intern!(py, "verify_sub"), true)?,
            verify_jti: flag(intern!(py, "verify_jti"), true)?,
            strict_aud: flag(intern!(py, "strict_aud"), false)?,
            require: lookup(intern!(py, "require"))?,
        })
    }
}

impl<'py> ClaimChecks<'py> {
    /// `read`, when every flag is an exact `bool` (or absent) and `require` is absent,
    /// `None`, a list or a tuple: then reading cannot run user code or raise, so it may
    /// happen before the token is looked at. `None` otherwise.
    pub fn read_if_plain(
        py: Python<'py>,
        mut lookup: impl FnMut(&Bound<'py, PyString>) -> PyResult<Option<Bound<'py, PyAny>>>,
    ) -> PyResult<Option<Self>> {
        let mut plain = true;
        let checks = Self::read(py, |name| {
            let value = lookup(name)?;
            if let Some(v) = &value {
                let ok = if name.is(intern!(py, "require")) {
                    v.is_none()
                        || v.is_exact_instance_of::<PyList>()
                        || v.is_exact_instance_of::<pyo3::types::PyTuple>()
                } else {
                    v.is_exact_instance_of::<PyBool>()
                };
                plain &= ok;
            }
            Ok(value)
        })?;
        Ok(plain.then_some(checks))
    }

    /// Checks from flags in [`Self::flags`]' order.
    pub fn from_flags(flags: [bool; 8], require: Option<Bound<'py, PyAny>>) -> Self {
        let [verify_iat, verify_nbf, verify_exp, verify_iss, verify_aud, verify_sub, verify_jti, strict_aud] =
            flags;
        ClaimChecks {
            verify_iat,
            verify_nbf,
            verify_exp,
            verify_iss,
            verify_aud,
            verify_sub,
            verify_jti,
            strict_aud,
            require,
        }
    }

    /// The flags in a fixed order, for the token cache's context and the options memo.
    pub fn flags(&self) -> [bool; 8] {
        [
            self.verify_iat,
            self.verify_nbf,
            self.verify_exp,
            self.verify_iss,
            self.verify_aud,
            self.verify_sub,
            self.verify_jti,
            self.strict_aud,
        ]
    }
}

/// The caller's expectations: `audience`, `issuer`, `subject` and `leeway` arguments.
pub struct Expected<'a, 'py> {
    pub audience: Option<&'a Bound<'py, PyAny>>,
    pub issuer: Option<&'a Bound<'py, PyAny>>,
    pub subject: Option<&'a Bound<'py, PyAny>>,
    /// `None` when not passed: PyJWT's default, 0.
    pub leeway: Option<&'a Bound<'py, PyAny>>,
}

/// The registered claims' values as the payload dict holds them, captured by the JSON
/// reader while it built the dict: each check then reads its claim without a dict lookup.
#[derive(Default)]
pub struct Captured<'py> {
    pub iss: Option<Bound<'py, PyAny>>,
    pub sub: Option<Bound<'py, PyAny>>,
    pub aud: Option<Bound<'py, PyAny>>,
    pub exp: Option<Bound<'py, PyAny>>,
    pub nbf: Option<Bound<'py, PyAny>>,
    pub iat: Option<Bound<'py, PyAny>>,
    pub jti: Option<Bound<'py, PyAny>>,
    /// The value of `exp`, `nbf` and `iat` when the JSON wrote it as an integer that fits
    /// an `i64`: `int(value)` without asking the object.
    pub exp_int: Option<i64>,
    pub nbf_int: Option<i64>,
    pub iat_int: Option<i64>,
}

/// The claims the checks read: the payload dict, and what was captured while it was built
/// if it was (the same values, without the lookups).
pub struct Claims<'a, 'py> {
    pub dict: &'a Bound<'py, PyDict>,
    pub captured: Option<&'a Captured<'py>>,
}

impl<'a, 'py> Claims<'a, 'py> {
    /// The claims of `dict`, read by lookups.
    pub fn of_dict(dict: &'a Bound<'py, PyDict>) -> Self {
        Claims {
            dict,
            captured: None,
        }
    }

    /// The claim's value: what was captured, else `dict[name()]`.
    fn get(
        &self,
        name: impl FnOnce() -> &'py Bound<'py, PyString>,
        captured: impl FnOnce(&'a Captured<'py>) -> &'a Option<Bound<'py, PyAny>>,
    ) -> PyResult<Option<ClaimValue<'a, 'py>>> {
        match self.captured {
            Some(values) => Ok(captured(values).as_ref().map(ClaimValue::Captured)),
            None => Ok(self.dict.get_item(name())?.map(ClaimValue::Looked)),
        }
    }
}

/// A claim's value: borrowed from what was captured, or owned when it was looked up.
enum ClaimValue<'a, 'py> {
    Captured(&'a Bound<'py, PyAny>),
    Looked(Bound<'py, PyAny>),
}

impl<'py> std::ops::Deref for ClaimValue<'_, 'py> {
    type Target = Bound<'py, PyAny>;

    fn deref(&self) -> &Bound<'py, PyAny> {
        match self {
            ClaimValue::Captured(value) => value,
            ClaimValue::Looked(value) => value,
        }
    }
}

/// All checks, as `PyJWT._validate_claims` runs them.
pub fn validate<'py>(
    py: Python<'py>,
    payload: &Claims<'_, 'py>,
    checks: &ClaimChecks<'py>,
    expected: &Expected<'_, 'py>,
) -> PyResult<()> {
    let leeway = match expected.leeway {
        Some(leeway) => Leeway::from_py(py, leeway)?,
        None => Leeway::Seconds(0.0),
    };
    if let Some(audience) = expected.audience {
        check_audience_type(py, audience)?;
    }
    if let Some(require) = &checks.require {
        if !requires_nothing(require) {
            required_claims(py, payload.dict, require)?;
        }
    }
    validate_times(py, payload, checks, &leeway)?;
    if checks.verify_iss {
        issuer(py, payload, expected.issuer)?;
    }
    if checks.verify_aud {
        audience(py, payload, expected.audience, checks.strict_aud)?;
    }
    if checks.verify_sub {
        subject(py, payload, expected.subject)?;
    }
    if checks.verify_jti {
        jwt_id(py, payload)?;
    }
    Ok(())
}

/// The `iat`, `nbf` and `exp` checks alone: the only ones whose verdict changes with time,
/// run again on every token-cache hit.
pub fn validate_times<'py>(
    py: Python<'py>,
    payload: &Claims<'_, 'py>,
    checks: &ClaimChecks<'py>,
    leeway: &Leeway<'py>,
) -> PyResult<()> {
    let mut now = None;
    for (enabled, claim) in [
        (checks.verify_iat, TimeClaim::Iat),
        (checks.verify_nbf, TimeClaim::Nbf),
        (checks.verify_exp, TimeClaim::Exp),
    ] {
        if !enabled {
            continue;
        }
        if let Some(value) = payload.get(|| claim.key(py), |c| claim.captured(c))? {
            let now = match now {
                Some(now) => now,
                None => *now.insert(refs(py)?.now(py)?),
            };
            let known = payload.captured.and_then(|c| claim.captured_int(c));
            check_time_claim(py, claim, &value, known, now, leeway)?;
        }
    }
    Ok(())
}

fn check_audience_type(py: Python<'_>, audience: &Bound<'_, PyAny>) -> PyResult<()> {
    if audience.is_instance_of::<PyString>() || audience.is_instance_of::<PyList>() {
        return Ok(());
    }
    if audience.is_instance(refs(py)?.iterable_abc.bind(py))? {
        return Ok(());
    }
    Err(PyTypeError::new_err(
        "audience must be a string, iterable or None",
    ))
}

/// Whether `require` is PyJWT's default, an empty list, which needs no iterator.
pub fn requires_nothing(require: &Bound<'_, PyAny>) -> bool {
    require
        .cast_exact::<PyList>()
        .is_ok_and(|list| list.is_empty())
}

fn required_claims(
    py: Python<'_>,
    payload: &Bound<'_, PyDict>,
    claims: &Bound<'_, PyAny>,
) -> PyResult<()> {
    for claim in claims.try_iter()? {
        let claim = claim?;
        match payload.get_item(&claim)? {
            Some(value) if !value.is_none() => {}
            _ => return Err(missing_claim(py, &claim)),
        }
    }
    Ok(())
}

/// `leeway` as PyJWT uses it: a `timedelta` counts its seconds; numbers are added to floats;
/// anything else is left to Python's `+`, whose `TypeError` then surfaces as in PyJWT.
pub enum Leeway<'py> {
    Seconds(f64),
    Other(Bound<'py, PyAny>),
}

impl<'py> Leeway<'py> {
    pub fn from_py(py: Python<'py>, leeway: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(float) = leeway.cast::<PyFloat>() {
            return Ok(Leeway::Seconds(float.value()));
        }
        if leeway.is_instance_of::<PyInt>() {
            // The common case (the default 0, a few seconds) without the float conversion.
            if leeway.is_exact_instance_of::<PyInt>() {
                if let Ok(seconds) = leeway.extract::<i32>() {
                    return Ok(Leeway::Seconds(f64::from(seconds)));
                }
            }
            // `float + int` converts the int to float first; a huge int raises there.
            if let Ok(seconds) = leeway.extract::<f64>() {
                return Ok(Leeway::Seconds(seconds));
            }
        } else if leeway.is_instance(refs(py)?.timedelta.bind(py))? {
            return Ok(Leeway::Seconds(
                leeway.call_method0("total_seconds")?.extract()?,
            ));
        }
        Ok(Leeway::Other(leeway.clone()))
    }

    /// `now + leeway` (`sign` = 1) or `now - leeway` (`sign` = -1), as Python computes it.
    fn bound(&self, py: Python<'py>, now: f64, sign: f64) -> PyResult<Bound2<'py>> {
        match self {
            Leeway::Seconds(seconds) => Ok(Bound2::Float(now + sign * seconds)),
            Leeway::Other(obj) => {
                let now = PyFloat::new(py, now);
                let result = if sign > 0.0 {
                    now.add(obj)?
                } else {
                    now.sub(obj)?
                };
                Ok(Bound2::Object(result))
            }
        }
    }
}

/// The right-hand side of a time comparison.
enum Bound2<'py> {
    Float(f64),
    Object(Bound<'py, PyAny>),
}

/// A claim after PyJWT's `int(value)`.
enum ClaimInt<'py> {
    Small(i64),
    Big(Bound<'py, PyAny>),
}

#[derive(Clone, Copy)]
enum TimeClaim {
    Iat,
    Nbf,
    Exp,
}

impl TimeClaim {
    fn name(self) -> &'static str {
        match self {
            TimeClaim::Iat => "iat",
            TimeClaim::Nbf => "nbf",
            TimeClaim::Exp => "exp",
        }
    }

    fn captured<'a, 'py>(self, values: &'a Captured<'py>) -> &'a Option<Bound<'py, PyAny>> {
        match self {
            TimeClaim::Iat => &values.iat,
            TimeClaim::Nbf => &values.nbf,
            TimeClaim::Exp => &values.exp,
        }
    }

    fn captured_int(self, values: &Captured<'_>) -> Option<i64> {
        match self {
            TimeClaim::Iat => values.iat_int,
            TimeClaim::Nbf => values.nbf_int,
            TimeClaim::Exp => values.exp_int,
        }
    }

    fn key<'py>(self, py: Python<'py>) -> &'py Bound<'py, PyString> {
        match self {
            TimeClaim::Iat => intern!(py, "iat"),
            TimeClaim::Nbf => intern!(py, "nbf"),
            TimeClaim::Exp => intern!(py, "exp"),
        }
    }
}

/// `value` is the claim's value; `known`, its integer value when the JSON reader made it
/// from an integer literal.
fn check_time_claim<'py>(
    py: Python<'py>,
    claim: TimeClaim,
    value: &Bound<'py, PyAny>,
    known: Option<i64>,
    now: f64,
    leeway: &Leeway<'py>,
) -> PyResult<()> {
    // `iat`/`nbf` later than `now + leeway`, or `exp` not after `now - leeway`, fails.
    let (sign, fails): (f64, fn(Ordering) -> bool) = match claim {
        TimeClaim::Iat | TimeClaim::Nbf => (1.0, |order| order == Ordering::Greater),
        TimeClaim::Exp => (-1.0, |order| order != Ordering::Greater),
    };
    let order = match (known, leeway) {
        // An integer literal against a number of seconds, the usual case: plain arithmetic,
        // the same `now + sign * leeway` Python computes, compared exactly.
        (Some(n), Leeway::Seconds(seconds)) => cmp_i64_f64(n, now + sign * seconds),
        _ => {
            let number = match known {
                Some(n) => Some(ClaimInt::Small(n)),
                None => coerce_int(value)?,
            };
            let Some(number) = number else {
                return match claim {
                    TimeClaim::Iat => fail(
                        py,
                        Exc::InvalidIssuedAtError,
                        "Issued At claim (iat) must be an integer.",
                    ),
                    TimeClaim::Nbf => fail(
                        py,
                        Exc::DecodeError,
                        "Not Before claim (nbf) must be an integer.",
                    ),
                    TimeClaim::Exp => fail(
                        py,
                        Exc::DecodeError,
                        "Expiration Time claim (exp) must be an integer.",
                    ),
                };
            };
            compare(py, &number, &leeway.bound(py, now, sign)?)?
        }
    };
    if !order.is_some_and(fails) {
        return Ok(());
    }
    match claim {
        TimeClaim::Iat | TimeClaim::Nbf => {
            let which = claim.name();
            fail(
                py,
                Exc::ImmatureSignatureError,
                format!("The token is not yet valid ({which})"),
            )
        }
        TimeClaim::Exp => fail(py, Exc::ExpiredSignatureError, "Signature has expired"),
    }
}

/// PyJWT's `int(value)`, or `None` where it raises ValueError, TypeError or OverflowError.
fn coerce_int<'py>(value: &Bound<'py, PyAny>) -> PyResult<Option<ClaimInt<'py>>> {
    if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyBool>() {
        return Ok(Some(match value.extract::<i64>() {
            Ok(n) => ClaimInt::Small(n),
            Err(_) => ClaimInt::Big(value.clone()),
        }));
    }
    if let Ok(float) = value.cast::<PyFloat>() {
        let v = float.value().trunc();
        if !v.is_finite() {
            return Ok(None);
        }
        // |v| < 2**63: the truncated value converts to i64 exactly.
        if v.abs() < 9_223_372_036_854_775_808.0 {
            #[allow(clippy::cast_possible_truncation)]
            return Ok(Some(ClaimInt::Small(v as i64)));
        }
    }
    let py = value.py();
    match py.get_type::<PyInt>().call1((value,)) {
        Ok(int) => Ok(Some(ClaimInt::Big(int))),
        Err(err)
            if err.is_instance_of::<PyValueError>(py)
                || err.is_instance_of::<PyTypeError>(py)
                || err.is_instance_of::<PyOverflowError>(py) =>
        {
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// `number <=> limit` with Python's exact int/float comparison; `None` when unordered (NaN).
fn compare<'py>(
    py: Python<'py>,
    number: &ClaimInt<'py>,
    limit: &Bound2<'py>,
) -> PyResult<Option<Ordering>> {
    if let (ClaimInt::Small(n), Bound2::Float(f)) = (number, limit) {
        return Ok(cmp_i64_f64(*n, *f));
    }
    let left = match number {
        ClaimInt::Small(n) => PyInt::new(py, *n).into_any(),
        ClaimInt::Big(obj) => obj.clone(),
    };
    let right = match limit {
        Bound2::Float(f) => PyFloat::new(py, *f).into_any(),
        Bound2::Object(obj) => obj.clone(),
    };
    if left.gt(&right)? {
        Ok(Some(Ordering::Greater))
    } else if left.lt(&right)? {
        Ok(Some(Ordering::Less))
    } else if left.eq(&right)? {
        Ok(Some(Ordering::Equal))
    } else {
        Ok(None)
    }
}

/// Exact comparison of an integer with a float, as Python's `int < float` does.
pub fn cmp_i64_f64(i: i64, f: f64) -> Option<Ordering> {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return None;
    }
    if f >= TWO_POW_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_POW_63 {
        return Some(Ordering::Greater);
    }
    // Truncation by conversion, exact in this range: `f64::trunc` is a libm call on
    // baseline x86-64, and a float's integer part is itself a float, so it converts back.
    #[allow(clippy::cast_possible_truncation)]
    let whole_int = f as i64;
    #[allow(clippy::cast_precision_loss)]
    let whole = whole_int as f64;
    Some(i.cmp(&whole_int).then_with(|| {
        let fraction = f - whole;
        if fraction > 0.0 {
            Ordering::Less
        } else if fraction < 0.0 {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    }))
}

fn issuer<'py>(
    py: Python<'py>,
    payload: &Claims<'_, 'py>,
    issuer: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let Some(expected) = issuer else {
        return Ok(());
    };
    let Some(iss) = payload.get(|| intern!(py, "iss"), |c| &c.iss)? else {
        return Err(missing_claim(py, intern!(py, "iss")));
    };
    let Ok(iss) = iss.cast::<PyString>() else {
        return fail(
            py,
            Exc::InvalidIssuerError,
            "Payload Issuer (iss) must be a string",
        );
    };
    if expected.is_instance_of::<PyString>() {
        if !str_eq(iss, expected)? {
            return fail(py, Exc::InvalidIssuerError, "Invalid issuer");
        }
        return Ok(());
    }
    match expected.contains(iss) {
        Ok(true) => Ok(()),
        Ok(false) => fail(py, Exc::InvalidIssuerError, "Invalid issuer"),
        Err(err) if err.is_instance_of::<PyTypeError>(py) => fail(
            py,
            Exc::InvalidIssuerError,
            "Issuer param must be \"str\" or \"Container[str]\"",
        ),
        Err(err) => Err(err),
    }
}

/// `a == b` for a str claim, natively when both are exact `str`.
fn str_eq(claim: &Bound<'_, PyString>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
    if claim.is_exact_instance_of::<PyString>() && other.is_exact_instance_of::<PyString>() {
        let other = other.cast::<PyString>()?;
        if let (Some(a), Some(b)) = (crate::ffi::str_text(claim), crate::ffi::str_text(other)) {
            return Ok(a == b);
        }
    }
    claim.as_any().eq(other)
}

fn audience<'py>(
    py: Python<'py>,
    payload: &Claims<'_, 'py>,
    audience: Option<&Bound<'_, PyAny>>,
    strict: bool,
) -> PyResult<()> {
    let claim = payload.get(|| intern!(py, "aud"), |c| &c.aud)?;
    let claim = match &claim {
        Some(value) if value.is_truthy()? => Some(value),
        _ => None,
    };
    let Some(audience) = audience else {
        return match claim {
            None => Ok(()),
            Some(_) => fail(py, Exc::InvalidAudienceError, "Invalid audience"),
        };
    };
    let Some(claim) = claim else {
        return Err(missing_claim(py, intern!(py, "aud")));
    };
    if strict {
        if !audience.is_instance_of::<PyString>() {
            return fail(py, Exc::InvalidAudienceError, "Invalid audience (strict)");
        }
        let Ok(claim) = claim.cast::<PyString>() else {
            return fail(
                py,
                Exc::InvalidAudienceError,
                "Invalid claim format in token (strict)",
            );
        };
        if !audience.eq(claim)? {
            return fail(
                py,
                Exc::InvalidAudienceError,
                "Audience doesn't match (strict)",
            );
        }
        return Ok(());
    }
    // A str claim stands for a one-element list, compared without building the list.
    let single = claim.cast::<PyString>().ok();
    let list = match single {
        Some(_) => None,
        None => match claim.cast::<PyList>() {
            Ok(list) => Some(list),
            Err(_) => {
                return fail(
                    py,
                    Exc::InvalidAudienceError,
                    "Invalid claim format in token",
                )
            }
        },
    };
    if let Some(list) = list {
        if list.iter().any(|c| !c.is_instance_of::<PyString>()) {
            return fail(
                py,
                Exc::InvalidAudienceError,
                "Invalid claim format in token",
            );
        }
    }
    // `aud in claims`, as list membership tests it: identity, then `claim == aud`.
    let claims_contain = |aud: &Bound<'_, PyAny>| -> PyResult<bool> {
        match (single, list) {
            (Some(only), _) => Ok(only.is(aud) || str_eq(only, aud)?),
            (None, Some(list)) => list.contains(aud),
            (None, None) => Ok(false),
        }
    };
    let matched = if audience.is_instance_of::<PyString>() {
        claims_contain(audience)?
    } else {
        let mut any = false;
        for aud in audience.try_iter()? {
            if claims_contain(&aud?)? {
                any = true;
                break;
            }
        }
        any
    };
    if !matched {
        return fail(py, Exc::InvalidAudienceError, "Audience doesn't match");
    }
    Ok(())
}

fn subject<'py>(
    py: Python<'py>,
    payload: &Claims<'_, 'py>,
    subject: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let Some(sub) = payload.get(|| intern!(py, "sub"), |c| &c.sub)? else {
        return Ok(());
    };
    let Ok(sub) = sub.cast::<PyString>() else {
        return fail(py, Exc::InvalidSubjectError, "Subject must be a string");
    };
    if let Some(expected) = subject {
        if !str_eq(sub, expected)? {
            return fail(py, Exc::InvalidSubjectError, "Invalid subject");
        }
    }
    Ok(())
}

fn jwt_id<'py>(py: Python<'py>, payload: &Claims<'_, 'py>) -> PyResult<()> {
    match payload.get(|| intern!(py, "jti"), |c| &c.jti)? {
        Some(jti) if !jti.is_instance_of::<PyString>() => {
            fail(py, Exc::InvalidJTIError, "JWT ID must be a string")
        }
        _ => Ok(()),
    }
}

fn not_none<'py>(value: Option<Bound<'py, PyAny>>) -> Option<Bound<'py, PyAny>> {
    value.filter(|v| !v.is_none())
}

// The per-check functions behind `PyJWT._validate_*`, which PyJWT's tests and subclasses call.

#[pyfunction]
#[pyo3(signature = (payload, options, audience=None, issuer=None, subject=None, leeway=crate::args::Arg::Missing))]
pub fn validate_claims<'py>(
    py: Python<'py>,
    payload: &Bound<'py, PyDict>,
    options: &Bound<'py, PyAny>,
    audience: Option<Bound<'py, PyAny>>,
    issuer: Option<Bound<'py, PyAny>>,
    subject: Option<Bound<'py, PyAny>>,
    leeway: crate::args::Arg<'py>,
) -> PyResult<()> {
    // PyJWT indexes the options (a missing key raises KeyError) except `strict_aud` (`.get`).
    let checks = ClaimChecks::read(py, |name| match options.get_item(name) {
        Ok(value) => Ok(Some(value)),
        Err(err)
            if name.to_str()? == "strict_aud"
                && err.is_instance_of::<pyo3::exceptions::PyKeyError>(py) =>
        {
            Ok(None)
        }
        Err(err) => Err(err),
    })?;
    let (audience, issuer, subject) = (not_none(audience), not_none(issuer), not_none(subject));
    let expected = Expected {
        audience: audience.as_ref(),
        issuer: issuer.as_ref(),
        subject: subject.as_ref(),
        leeway: leeway.passed(),
    };
    validate(py, &Claims::of_dict(payload), &checks, &expected)
}

#[pyfunction]
pub fn validate_required_claims(
    py: Python<'_>,
    payload: &Bound<'_, PyDict>,
    claims: &Bound<'_, PyAny>,
) -> PyResult<()> {
    required_claims(py, payload, claims)
}

fn validate_one<'py>(
    py: Python<'py>,
    claim: TimeClaim,
    payload: &Bound<'py, PyDict>,
    now: f64,
    leeway: &Bound<'py, PyAny>,
) -> PyResult<()> {
    let value = payload
        .get_item(claim.key(py))?
        .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(claim.name()))?;
    check_time_claim(py, claim, &value, None, now, &Leeway::from_py(py, leeway)?)
}

#[pyfunction]
pub fn validate_iat<'py>(
    py: Python<'py>,
    payload: &Bound<'py, PyDict>,
    now: f64,
    leeway: &Bound<'py, PyAny>,
) -> PyResult<()> {
    validate_one(py, TimeClaim::Iat, payload, now, leeway)
}

#[pyfunction]
pub fn validate_nbf<'py>(
    py: Python<'py>,
    payload: &Bound<'py, PyDict>,
    now: f64,
    leeway: &Bound<'py, PyAny>,
) -> PyResult<()> {
    validate_one(py, TimeClaim::Nbf, payload, now, leeway)
}

#[pyfunction]
pub fn validate_exp<'py>(
    py: Python<'py>,
    payload: &Bound<'py, PyDict>,
    now: f64,
    leeway: &Bound<'py, PyAny>,
) -> PyResult<()> {
    validate_one(py, TimeClaim::Exp, payload, now, leeway)
}

#[pyfunction]
#[pyo3(signature = (payload, issuer))]
pub fn validate_iss(
    py: Python<'_>,
    payload: &Bound<'_, PyDict>,
    issuer: Option<Bound<'_, PyAny>>,
) -> PyResult<()> {
    self::issuer(py, &Claims::of_dict(payload), not_none(issuer).as_ref())
}

#[pyfunction]
#[pyo3(signature = (payload, audience, strict=false))]
pub fn validate_aud(
    py: Python<'_>,
    payload: &Bound<'_, PyDict>,
    audience: Option<Bound<'_, PyAny>>,
    strict: bool,
) -> PyResult<()> {
    self::audience(
        py,
        &Claims::of_dict(payload),
        not_none(audience).as_ref(),
        strict,
    )
}

#[pyfunction]
#[pyo3(signature = (payload, subject=None))]
pub fn validate_sub(
    py: Python<'_>,
    payload: &Bound<'_, PyDict>,
    subject: Option<Bound<'_, PyAny>>,
) -> PyResult<()> {
    self::subject(py, &Claims::of_dict(payload), not_none(subject).as_ref())
}

#[pyfunction]
pub fn validate_jti(py: Python<'_>, payload: &Bound<'_, PyDict>) -> PyResult<()> {
    jwt_id(py, &Claims::of_dict(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_float_comparison_is_exact() {
        assert_eq!(cmp_i64_f64(5, 5.0), Some(Ordering::Equal));
        assert_eq!(cmp_i64_f64(5, 5.5), Some(Ordering::Less));
        assert_eq!(cmp_i64_f64(-5, -5.5), Some(Ordering::Greater));
        assert_eq!(
            cmp_i64_f64(i64::MAX, 9.223_372_036_854_776e18),
            Some(Ordering::Less)
        );
        assert_eq!(
            cmp_i64_f64((1 << 53) + 1, (1u64 << 53) as f64),
            Some(Ordering::Greater)
        );
        assert_eq!(cmp_i64_f64(0, f64::NAN), None);
        assert_eq!(cmp_i64_f64(0, f64::NEG_INFINITY), Some(Ordering::Greater));
        assert_eq!(cmp_i64_f64(0, -0.5), Some(Ordering::Greater));
        assert_eq!(cmp_i64_f64(0, 0.999_999_999), Some(Ordering::Less));
        #[allow(clippy::cast_precision_loss)] // -2^63 converts exactly
        let min = i64::MIN as f64;
        assert_eq!(cmp_i64_f64(i64::MIN, min), Some(Ordering::Equal));
    }

    /// Against exact rational arithmetic (i128 numerators over a power of two) on the
    /// values a time check meets: timestamps with fractions, and the extremes.
    #[test]
    fn int_float_comparison_matches_exact_arithmetic() {
        let floats = [
            1_700_000_000.25,
            1_700_000_000.0,
            1_699_999_999.75,
            -1.5,
            -0.0,
            0.0,
            0.5,
            4.5e15,
            9.007_199_254_740_993e15,
            -9.0e18,
            9.0e18,
        ];
        for &f in &floats {
            for i in [
                0i64,
                1,
                -1,
                1_700_000_000,
                1_699_999_999,
                1_700_000_001,
                4_500_000_000_000_000,
                9_007_199_254_740_992,
                -9_000_000_000_000_000_000,
                9_000_000_000_000_000_000,
            ] {
                // f = m * 2^-10 exactly for these values; compare i * 2^10 with m.
                let scaled = f * 1024.0;
                #[allow(clippy::cast_possible_truncation)]
                let m = scaled as i128;
                assert_eq!(m as f64, scaled, "{f} is not a multiple of 2^-10");
                let expected = (i128::from(i) * 1024).cmp(&m);
                assert_eq!(cmp_i64_f64(i, f), Some(expected), "{i} <=> {f}");
            }
        }
    }
}
