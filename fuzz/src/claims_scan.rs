//! The `claims_scan` target: the batch pass's claims scanner on any bytes, against the
//! independent reading of Python's `json` in `pyjwt_reference`.
//!
//! The scanner may leave any object to the general parser. What it reads must be an object
//! `json.loads` reads, with no name repeated at the top level, and the registered claims it
//! returns must be that object's, in order, with the same values: a string, an integer that
//! fits an `i64` (written without fraction or exponent), a boolean, `null`, or an array of
//! strings.

use _turbojwt::fuzzing::{scan_claims, ScannedValue};
use serde_json::Value;

use crate::pyjwt_reference::{duplicate_name, object_members};

const REGISTERED: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// Panics when the scanner reads `json` other than `json.loads` does.
pub fn check(json: &[u8]) {
    let Some(scanned) = scan_claims(json) else {
        return;
    };
    let members = object_members(json)
        .unwrap_or_else(|why| panic!("the scanner read what json.loads refuses ({why}): {json:?}"));
    if let Some(name) = duplicate_name(&members) {
        panic!("the scanner read an object repeating {name:?}: {json:?}");
    }
    let expected: Vec<(String, Value)> = members
        .into_iter()
        .filter(|(name, _)| REGISTERED.contains(&name.as_str()))
        .collect();
    assert_eq!(
        scanned
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        expected
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        "other registered claims: {json:?}"
    );
    for ((name, value), (_, reference)) in scanned.iter().zip(&expected) {
        assert!(
            same(value, reference),
            "{name}: the scanner read {value:?}, json.loads {reference:?}: {json:?}"
        );
    }
}

fn same(value: &ScannedValue, reference: &Value) -> bool {
    match (value, reference) {
        (ScannedValue::Null, Value::Null) => true,
        (ScannedValue::Bool(a), Value::Bool(b)) => a == b,
        (ScannedValue::Str(a), Value::String(b)) => a == b,
        // Numbers keep their literal text (serde_json's arbitrary precision): an integer the
        // scanner returns was written as one, and Python's int() reads it to the same value.
        (ScannedValue::Int(a), Value::Number(n)) => {
            !n.as_str().contains(['.', 'e', 'E']) && n.as_str().parse::<i64>() == Ok(*a)
        }
        (ScannedValue::Array(items), Value::Array(reference)) => {
            items.len() == reference.len()
                && items.iter().zip(reference).all(|(item, reference)| {
                    matches!((item, reference), (Some(a), Value::String(b)) if a == b)
                })
        }
        _ => false,
    }
}
