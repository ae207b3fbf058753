//! Helpers shared by the integration tests: fixtures, JSON and hex.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::borrow::Cow;
use std::path::PathBuf;

use _turbojwt::crypto::{JwkMember, JwkMembers};
use jiter::{JsonObject, JsonValue};

/// The key fixtures, made by the `generate.py` kept with them.
const KEYS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/keys");

/// The Wycheproof vectors kept in the repository.
const WYCHEPROOF_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/wycheproof");

pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(KEYS_DIR).join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The Wycheproof folder: `WYCHEPROOF_DIR` if set, else the copy in the repository.
pub fn wycheproof_dir() -> PathBuf {
    std::env::var_os("WYCHEPROOF_DIR").map_or_else(|| PathBuf::from(WYCHEPROOF_DIR), PathBuf::from)
}

/// A Wycheproof file; a missing one fails the test rather than skipping it.
pub fn read_wycheproof(name: &str) -> Vec<u8> {
    let path = wycheproof_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|err| {
        panic!(
            "{}: {err} (set WYCHEPROOF_DIR to another copy of the vectors)",
            path.display()
        )
    })
}

pub fn parse_json(bytes: &[u8]) -> JsonValue<'_> {
    JsonValue::parse(bytes, false).expect("valid JSON")
}

pub fn get<'a, 's>(object: &'a JsonObject<'s>, name: &str) -> Option<&'a JsonValue<'s>> {
    object
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

pub fn object<'a, 's>(value: &'a JsonValue<'s>) -> &'a JsonObject<'s> {
    match value {
        JsonValue::Object(object) => object,
        other => panic!("expected an object, got {other:?}"),
    }
}

pub fn array<'a, 's>(value: &'a JsonValue<'s>) -> &'a [JsonValue<'s>] {
    match value {
        JsonValue::Array(array) => array,
        other => panic!("expected an array, got {other:?}"),
    }
}

pub fn string<'a>(value: &'a JsonValue<'_>) -> &'a str {
    match value {
        JsonValue::Str(text) => text,
        other => panic!("expected a string, got {other:?}"),
    }
}

pub fn field<'a, 's>(object: &'a JsonObject<'s>, name: &str) -> &'a JsonValue<'s> {
    get(object, name).unwrap_or_else(|| panic!("missing {name}"))
}

pub fn text<'a>(object: &'a JsonObject<'_>, name: &str) -> &'a str {
    string(field(object, name))
}

/// A parsed JSON object seen as a JWK.
pub struct Jwk<'a, 's>(pub &'a JsonObject<'s>);

impl JwkMembers for Jwk<'_, '_> {
    fn member(&self, name: &str) -> JwkMember<'_> {
        match get(self.0, name) {
            None => JwkMember::Absent,
            Some(JsonValue::Str(text)) => JwkMember::Text(Cow::Borrowed(text)),
            Some(_) => JwkMember::Other,
        }
    }
}

pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

pub fn base64url(text: &str) -> Vec<u8> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(text)
        .expect("base64url")
}
