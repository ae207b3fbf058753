//! `AsymmetricKey::from_jwk` on arbitrary member maps, then every use of whatever it accepts.
//!
//! An input that is a JSON object is read as a JWK (string members are text, any other value
//! is a non-string member), so the seed corpus can be real JWKs; any other input is decoded
//! into an arbitrary member map by `Members::from_unstructured`.
#![no_main]

use _turbojwt::crypto::AsymmetricKey;
use libfuzzer_sys::fuzz_target;
use turbojwt_fuzz::Members;

fuzz_target!(|data: &[u8]| {
    let members = Members::from_json(data).unwrap_or_else(|| Members::from_unstructured(data));
    turbojwt_fuzz::exercise(AsymmetricKey::from_jwk(&members), data);
});
