//! PyJWT 2.15.1's rules for a compact token, written again from its behaviour: segment
//! decoding, `json.loads` as far as a JSON object's members go, the header checks of
//! `PyJWS` and the default claim checks of `PyJWT._validate_claims`.
//!
//! Each function says whether PyJWT would accept, and if not, why: the `token` target asserts
//! that every token the core's batch pass accepts passes all of them.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use num_bigint::BigInt;
use num_traits::{FromPrimitive, Zero};
use serde::de::{Deserializer as _, MapAccess, Visitor};
use serde_json::Value;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// CPython's `sys.int_info.default_max_str_digits`: `json.loads` refuses longer int literals.
const INT_MAX_STR_DIGITS: usize = 4300;

/// The deepest nesting CPython 3.11's `json.loads` parses under the default recursion limit.
pub const PYTHON_JSON_DEPTH: usize = 1000;

/// Unpadded base64url.
#[must_use]
pub fn encode_segment(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(bits >> (18 - 6 * i)) as usize & 63]);
        }
    }
    out
}

/// `PyJWS._decode_base64url_segment`: at most two trailing `=` and only in a segment whose
/// length is a multiple of four; then alphabet characters only, a length that is not 1 mod 4,
/// and a canonical encoding (the decoded bytes must encode back to the same text).
#[must_use]
pub fn decode_segment(segment: &[u8]) -> Option<Vec<u8>> {
    let padding = segment.iter().rev().take_while(|&&b| b == b'=').count();
    if padding > 2 || (padding > 0 && !segment.len().is_multiple_of(4)) {
        return None;
    }
    let stripped = &segment[..segment.len() - padding];
    if stripped.len() % 4 == 1 {
        return None;
    }
    let mut decoded = Vec::with_capacity(stripped.len() / 4 * 3 + 2);
    let (mut bits, mut nbits) = (0u32, 0u32);
    for &symbol in stripped {
        let value = ALPHABET.iter().position(|&a| a == symbol)?;
        bits = (bits << 6) | value as u32;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            decoded.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    (encode_segment(&decoded) == stripped).then_some(decoded)
}

/// What stands in for `NaN`, `Infinity` and `-Infinity`, which `json.loads` reads as floats
/// and `serde_json` refuses: like them it is truthy, neither a string nor a number `int()`
/// accepts (`int(nan)` and `int(inf)` raise), and it cannot be mistaken for a claim value.
const NON_FINITE: &[u8] = br#"{"\u0000non-finite float":0}"#;

/// The text with the non-finite literals `json.loads` accepts (outside strings) replaced
/// by [`NON_FINITE`], so that `serde_json` reads what Python reads.
#[must_use]
pub fn python_json_text(json: &[u8]) -> Cow<'_, [u8]> {
    const LITERALS: [&[u8]; 3] = [b"-Infinity", b"Infinity", b"NaN"];
    let mut out: Option<Vec<u8>> = None;
    let (mut in_string, mut escaped, mut i) = (false, false, 0);
    while i < json.len() {
        let byte = json[i];
        if !in_string {
            if let Some(literal) = LITERALS.iter().find(|l| json[i..].starts_with(l)) {
                let out = out.get_or_insert_with(|| json[..i].to_vec());
                out.extend_from_slice(NON_FINITE);
                i += literal.len();
                continue;
            }
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else if byte == b'"' {
            in_string = true;
        }
        if let Some(out) = out.as_mut() {
            out.push(byte);
        }
        i += 1;
    }
    out.map_or(Cow::Borrowed(json), Cow::Owned)
}

/// A JSON object's top-level members in document order, duplicates included.
pub type Members = Vec<(String, Value)>;

/// The members of `json` if `json.loads` reads it as an object, else why not.
///
/// # Errors
/// The reason `json.loads` would fail or return something other than an object.
pub fn object_members(json: &[u8]) -> Result<Members, String> {
    if nesting_depth(json) > PYTHON_JSON_DEPTH {
        return Err("json.loads raises RecursionError".into());
    }
    let text = python_json_text(json);
    let mut deserializer = serde_json::Deserializer::from_slice(&text);
    // The depth is bounded above, as Python bounds it; serde_json's own limit is 128.
    deserializer.disable_recursion_limit();
    let members = deserializer
        .deserialize_any(MembersVisitor)
        .and_then(|members| deserializer.end().map(|()| members))
        .map_err(|err| format!("not a JSON object json.loads reads: {err}"))?;
    for (_, value) in &members {
        check_int_literals(value)?;
    }
    Ok(members)
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry::<String, Value>()? {
            members.push(member);
        }
        Ok(members)
    }
}

/// `int()` refuses decimal literals longer than [`INT_MAX_STR_DIGITS`], so `json.loads` does.
fn check_int_literals(value: &Value) -> Result<(), String> {
    match value {
        Value::Number(number) => {
            let text = number.as_str();
            let digits = text.trim_start_matches('-');
            if is_int_literal(text) && digits.len() > INT_MAX_STR_DIGITS {
                return Err(format!("an int literal of {} digits", digits.len()));
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(check_int_literals),
        Value::Object(members) => members.values().try_for_each(check_int_literals),
        _ => Ok(()),
    }
}

fn is_int_literal(text: &str) -> bool {
    !text.contains(['.', 'e', 'E'])
}

/// The first name that occurs twice (`json.loads` would keep the last value silently).
#[must_use]
pub fn duplicate_name(members: &Members) -> Option<&str> {
    members.iter().enumerate().find_map(|(i, (name, _))| {
        members[..i]
            .iter()
            .any(|(earlier, _)| earlier == name)
            .then_some(name.as_str())
    })
}

fn member<'m>(members: &'m Members, name: &str) -> Option<&'m Value> {
    members.iter().find(|(key, _)| key == name).map(|(_, v)| v)
}

/// The header checks of `PyJWS.decode` with `algorithms=["HS256"]`, and what the batch pass
/// additionally demands: no `b64` or `crit` member at all.
///
/// # Errors
/// Why the header is not one PyJWT accepts without comment.
pub fn check_header(members: &Members) -> Result<(), String> {
    if let Some(name) = duplicate_name(members) {
        return Err(format!("duplicate header member {name:?}"));
    }
    match member(members, "alg") {
        Some(Value::String(alg)) if alg == "HS256" => {}
        other => return Err(format!("alg is {other:?}, not \"HS256\"")),
    }
    for name in ["crit", "b64"] {
        if member(members, name).is_some() {
            return Err(format!("header has {name}"));
        }
    }
    match member(members, "kid") {
        None | Some(Value::String(_)) => Ok(()),
        Some(kid) => Err(format!("kid {kid} is not a string")),
    }
}

/// The expectations of one decode call.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    pub now: f64,
    pub leeway: f64,
    pub audience: Option<&'a str>,
    pub issuer: Option<&'a str>,
}

/// `PyJWT._validate_claims` with the default options (every claim verified, `strict_aud`
/// off, nothing required, no `subject`), except that time claims must be JSON numbers: the
/// batch pass leaves `int()` of strings and booleans to the ordinary path.
///
/// # Errors
/// Which check fails, as PyJWT would raise it.
pub fn check_claims(members: &Members, expected: &Expected<'_>) -> Result<(), String> {
    if let Some(name) = duplicate_name(members) {
        return Err(format!("duplicate payload member {name:?}"));
    }
    let claim = |name| member(members, name);
    let Expected {
        now,
        leeway,
        audience,
        issuer,
    } = *expected;
    for name in ["iat", "nbf"] {
        if let Some(value) = claim(name) {
            let n = python_int(value).ok_or_else(|| format!("{name} {value} is not a number"))?;
            if python_gt(&n, now + leeway) {
                return Err(format!("{name} {n} > now + leeway ({})", now + leeway));
            }
        }
    }
    if let Some(value) = claim("exp") {
        let n = python_int(value).ok_or_else(|| format!("exp {value} is not a number"))?;
        if python_le(&n, now - leeway) {
            return Err(format!("exp {n} <= now - leeway ({})", now - leeway));
        }
    }
    if let Some(issuer) = issuer {
        match claim("iss") {
            Some(Value::String(iss)) if iss == issuer => {}
            other => return Err(format!("iss {other:?} is not {issuer:?}")),
        }
    }
    check_audience(claim("aud"), audience)?;
    for name in ["sub", "jti"] {
        match claim(name) {
            None | Some(Value::String(_)) => {}
            Some(value) => return Err(format!("{name} {value} is not a string")),
        }
    }
    Ok(())
}

/// `_validate_aud` without `strict_aud`.
fn check_audience(claim: Option<&Value>, audience: Option<&str>) -> Result<(), String> {
    let claim = claim.filter(|value| python_truthy(value));
    let Some(audience) = audience else {
        return match claim {
            None => Ok(()),
            Some(aud) => Err(format!("aud {aud} without an expected audience")),
        };
    };
    let Some(claim) = claim else {
        return Err(format!("no truthy aud, expected {audience:?}"));
    };
    let claims: Vec<&Value> = match claim {
        Value::Array(items) => items.iter().collect(),
        Value::String(_) => vec![claim],
        other => return Err(format!("aud {other} is neither a string nor a list")),
    };
    let mut strings = Vec::new();
    for item in claims {
        match item {
            Value::String(text) => strings.push(text.as_str()),
            other => return Err(format!("aud member {other} is not a string")),
        }
    }
    if strings.contains(&audience) {
        Ok(())
    } else {
        Err(format!("aud {strings:?} does not hold {audience:?}"))
    }
}

/// `int(value)` for the number `json.loads` reads from a JSON number: an int literal is an
/// `int` of any size, anything else a float (`int()` truncates it, and refuses infinities,
/// which the literal overflows to).
fn python_int(value: &Value) -> Option<BigInt> {
    let Value::Number(number) = value else {
        return None;
    };
    let text = number.as_str();
    if is_int_literal(text) {
        return BigInt::from_str(text).ok();
    }
    let float: f64 = text.parse().ok()?;
    float
        .is_finite()
        .then(|| BigInt::from_f64(float.trunc()))
        .flatten()
}

/// Python's exact `int > float` (false when the float is NaN).
fn python_gt(n: &BigInt, t: f64) -> bool {
    if t.is_nan() || t == f64::INFINITY {
        return false;
    }
    if t == f64::NEG_INFINITY {
        return true;
    }
    // For an integer n, n > t exactly when n > floor(t); floor(t) is an integer-valued float,
    // which converts exactly.
    BigInt::from_f64(t.floor()).is_some_and(|floor| *n > floor)
}

/// Python's exact `int <= float` (false when the float is NaN).
fn python_le(n: &BigInt, t: f64) -> bool {
    !t.is_nan() && !python_gt(n, t)
}

/// Python's `bool()` of the value `json.loads` returns.
fn python_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(number) => {
            let text = number.as_str();
            if is_int_literal(text) {
                BigInt::from_str(text).is_ok_and(|n| !n.is_zero())
            } else {
                text.parse::<f64>().is_ok_and(|f| f != 0.0)
            }
        }
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(members) => !members.is_empty(),
    }
}

/// The greatest nesting depth of arrays and objects in valid JSON `json`.
#[must_use]
pub fn nesting_depth(json: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for &byte in json {
        match (in_string, escaped, byte) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') | (false, _, b'"') => in_string = !in_string,
            (false, _, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}
