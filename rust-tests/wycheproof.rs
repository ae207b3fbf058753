//! Project Wycheproof signature vectors, run under JWS rules.
//!
//! Every group's public key is loaded through each of our parsers the vector
//! offers (PEM, DER, JWK) and the loads must agree. A vector passes when
//! `verify` returns true exactly for `valid` results; `acceptable` results are
//! counted separately. Run with `--nocapture` for the per-file counts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use _turbojwt::crypto::{Algorithm, AsymmetricKey, CryptoError, JwkComponents};
use common::{array, field, get, hex, object, parse_json, read_wycheproof, text, Jwk};
use jiter::{JsonObject, JsonValue};

#[derive(Default, Debug)]
struct Tally {
    tests: usize,
    groups: usize,
    keys_refused: usize,
    valid_accepted: usize,
    invalid_rejected: usize,
    acceptable_accepted: usize,
    acceptable_rejected: usize,
    failures: Vec<String>,
}

/// What a file's vectors must produce under JWS.
#[derive(Clone, Copy, PartialEq)]
enum Expect {
    /// `valid` verifies, `invalid` does not.
    AsLabelled,
    /// Nothing verifies: the signatures are DER-encoded ECDSA, which JWS does not use.
    NothingVerifies,
    /// The file's PSS salt length is not the digest length JWS prescribes, so
    /// only the vectors re-signed with that length ("s_len changed to N",
    /// invalid for the file's parameters) verify.
    OnlyJwsSaltLength(usize),
}

fn run(file: &str, algorithm: Algorithm, expect: Expect) -> Tally {
    let bytes = read_wycheproof(file);
    let document = parse_json(&bytes);
    let mut tally = Tally::default();
    for group in array(field(object(&document), "testGroups")) {
        let group = object(group);
        let key = load_group_key(group);
        tally.groups += 1;
        tally.keys_refused += usize::from(key.is_err());
        for test in array(field(group, "tests")) {
            let test = object(test);
            tally.tests += 1;
            let id = match field(test, "tcId") {
                JsonValue::Int(id) => *id,
                other => panic!("tcId {other:?}"),
            };
            let result = text(test, "result");
            let verified = match &key {
                Ok(key) => key
                    .verify(algorithm, &hex(text(test, "msg")), &hex(text(test, "sig")))
                    .unwrap_or_else(|err| panic!("{file} #{id}: verify errored: {err}")),
                Err(_) => false,
            };
            let wanted = match (expect, result) {
                (Expect::NothingVerifies, _) => Some(false),
                (Expect::OnlyJwsSaltLength(salt), _) => {
                    Some(text(test, "comment") == format!("s_len changed to {salt}"))
                }
                (Expect::AsLabelled, "valid") => Some(true),
                (Expect::AsLabelled, "invalid") => Some(false),
                (Expect::AsLabelled, _) => None,
            };
            match (wanted, verified) {
                (Some(true), true) => tally.valid_accepted += 1,
                (Some(false), false) => tally.invalid_rejected += 1,
                (None, true) => tally.acceptable_accepted += 1,
                (None, false) => tally.acceptable_rejected += 1,
                (Some(_), _) => tally.failures.push(format!(
                    "{file} #{id} ({result}, {}): verify gave {verified}",
                    text(test, "comment")
                )),
            }
        }
    }
    println!(
        "{file}: {} tests in {} groups ({} keys refused); valid accepted {}, invalid/refused rejected {}, acceptable accepted {} / rejected {}, failures {}",
        tally.tests,
        tally.groups,
        tally.keys_refused,
        tally.valid_accepted,
        tally.invalid_rejected,
        tally.acceptable_accepted,
        tally.acceptable_rejected,
        tally.failures.len()
    );
    assert!(tally.tests > 0, "{file} has no tests");
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    tally
}

/// Loads a group's key from every encoding it carries; all must give the same key.
fn load_group_key(group: &JsonObject<'_>) -> Result<AsymmetricKey, CryptoError> {
    let pem = AsymmetricKey::from_pem(text(group, "publicKeyPem").as_bytes());
    let der = AsymmetricKey::from_der(&hex(text(group, "publicKeyDer")));
    let jwk = get(group, "publicKeyJwk")
        .or_else(|| get(group, "keyJwk"))
        .map(|jwk| AsymmetricKey::from_jwk(&Jwk(object(jwk))));
    let fingerprint = |key: &Result<AsymmetricKey, CryptoError>| match key {
        Ok(key) => Ok(public_fingerprint(key)),
        Err(err) => Err(err.clone()),
    };
    assert_eq!(fingerprint(&pem), fingerprint(&der), "PEM and DER disagree");
    if let Some(jwk) = &jwk {
        assert_eq!(
            fingerprint(&pem).is_ok(),
            fingerprint(jwk).is_ok(),
            "PEM and JWK disagree: {:?} / {:?}",
            fingerprint(&pem),
            fingerprint(jwk)
        );
        if pem.is_ok() {
            assert_eq!(fingerprint(&pem), fingerprint(jwk));
        }
    }
    pem
}

fn public_fingerprint(key: &AsymmetricKey) -> Vec<u8> {
    match key.to_jwk_components().unwrap() {
        JwkComponents::Rsa { n, e, .. } => [n, e].concat(),
        JwkComponents::Ec { x, y, .. } => [x, y].concat(),
        JwkComponents::Okp { x, .. } => x,
    }
}

#[test]
fn rsa_pkcs1v15() {
    for (file, algorithm) in [
        ("rsa_signature_2048_sha256_test.json", Algorithm::RS256),
        ("rsa_signature_2048_sha384_test.json", Algorithm::RS384),
        ("rsa_signature_2048_sha512_test.json", Algorithm::RS512),
        ("rsa_signature_3072_sha256_test.json", Algorithm::RS256),
        ("rsa_signature_4096_sha512_test.json", Algorithm::RS512),
    ] {
        let tally = run(file, algorithm, Expect::AsLabelled);
        assert!(tally.valid_accepted >= 7);
    }
}

#[test]
fn rsa_pss_with_jws_parameters() {
    for (file, algorithm) in [
        ("rsa_pss_2048_sha256_mgf1_32_test.json", Algorithm::PS256),
        ("rsa_pss_2048_sha384_mgf1_48_test.json", Algorithm::PS384),
        ("rsa_pss_3072_sha256_mgf1_32_test.json", Algorithm::PS256),
        ("rsa_pss_4096_sha256_mgf1_32_test.json", Algorithm::PS256),
        ("rsa_pss_4096_sha384_mgf1_48_test.json", Algorithm::PS384),
        ("rsa_pss_4096_sha512_mgf1_64_test.json", Algorithm::PS512),
    ] {
        let tally = run(file, algorithm, Expect::AsLabelled);
        assert!(tally.valid_accepted >= 60);
    }
}

/// PS256 fixes the salt at 32 bytes and PS512 at 64: signatures with a salt of
/// 0 bytes, or of 32 bytes under SHA-512, are valid PSS but not valid JWS.
#[test]
fn rsa_pss_with_other_salt_lengths_do_not_verify() {
    let tally = run(
        "rsa_pss_2048_sha256_mgf1_0_test.json",
        Algorithm::PS256,
        Expect::OnlyJwsSaltLength(32),
    );
    assert_eq!(tally.valid_accepted, 1); // #69, re-signed with a 32-byte salt
    let tally = run(
        "rsa_pss_4096_sha512_mgf1_32_test.json",
        Algorithm::PS512,
        Expect::OnlyJwsSaltLength(64),
    );
    assert_eq!(tally.valid_accepted, 0);
}

#[test]
fn ecdsa_raw_signatures() {
    for (file, algorithm) in [
        ("ecdsa_secp256r1_sha256_p1363_test.json", Algorithm::ES256),
        ("ecdsa_secp384r1_sha384_p1363_test.json", Algorithm::ES384),
        ("ecdsa_secp521r1_sha512_p1363_test.json", Algorithm::ES512),
        ("ecdsa_secp256k1_sha256_p1363_test.json", Algorithm::ES256K),
    ] {
        let tally = run(file, algorithm, Expect::AsLabelled);
        assert!(tally.valid_accepted >= 160);
    }
}

/// JWS signatures are raw `r || s`; a DER signature is refused even when valid.
#[test]
fn ecdsa_der_signatures_are_refused() {
    for (file, algorithm) in [
        ("ecdsa_secp256r1_sha256_test.json", Algorithm::ES256),
        ("ecdsa_secp384r1_sha384_test.json", Algorithm::ES384),
        ("ecdsa_secp521r1_sha512_test.json", Algorithm::ES512),
        ("ecdsa_secp256k1_sha256_test.json", Algorithm::ES256K),
    ] {
        run(file, algorithm, Expect::NothingVerifies);
    }
}

#[test]
fn eddsa() {
    run("ed25519_test.json", Algorithm::EdDSA, Expect::AsLabelled);
    run("ed448_test.json", Algorithm::EdDSA, Expect::AsLabelled);
}
