//! Loading keys made by OpenSSL / `cryptography` / PyJWT, and using them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use _turbojwt::crypto::{
    Algorithm, AsymmetricKey, CryptoError, Curve, JwkComponents, JwkProblem, KeyEncoding, KeyKind,
    OkpCurve,
};
use common::{array, base64url, fixture, hex, object, parse_json, text, Jwk};

fn pem(name: &str) -> AsymmetricKey {
    AsymmetricKey::from_pem(&fixture(name)).unwrap_or_else(|err| panic!("{name}: {err}"))
}

fn jwk(name: &str) -> AsymmetricKey {
    let bytes = fixture(name);
    let value = parse_json(&bytes);
    AsymmetricKey::from_jwk(&Jwk(object(&value))).unwrap_or_else(|err| panic!("{name}: {err}"))
}

fn ssh(name: &str) -> AsymmetricKey {
    AsymmetricKey::from_openssh_public(&fixture(name)).unwrap_or_else(|err| panic!("{name}: {err}"))
}

/// The DER inside a PEM fixture.
fn der(name: &str) -> Vec<u8> {
    let text = String::from_utf8(fixture(name)).unwrap();
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64_simd::STANDARD.decode_to_vec(body).unwrap()
}

/// Public parameters, for comparing keys loaded from different encodings.
fn public_parameters(key: &AsymmetricKey) -> Vec<Vec<u8>> {
    match key.to_jwk_components().unwrap() {
        JwkComponents::Rsa { n, e, .. } => vec![n, e],
        JwkComponents::Ec { x, y, .. } => vec![x, y],
        JwkComponents::Okp { x, .. } => vec![x],
    }
}

#[test]
fn every_fixture_loads_as_the_right_kind() {
    use KeyEncoding::{Certificate, OpenSsh, Pkcs1, Pkcs8, Sec1, Spki};
    let cases: &[(&str, KeyKind, KeyEncoding)] = &[
        ("rsa2048.pkcs8.pem", KeyKind::RsaPrivate, Pkcs8),
        ("rsa2048.trad.pem", KeyKind::RsaPrivate, Pkcs1),
        ("rsa2048.pub.pem", KeyKind::RsaPublic, Spki),
        ("rsa2048.pkcs1.pub.pem", KeyKind::RsaPublic, Pkcs1),
        ("rsa2048.cert.pem", KeyKind::RsaPublic, Certificate),
        ("rsa1024.trad.pem", KeyKind::RsaPrivate, Pkcs1),
        ("rsa3072_e3.pkcs8.pem", KeyKind::RsaPrivate, Pkcs8),
        ("rsa_pss.pkcs8.pem", KeyKind::RsaPrivate, Pkcs8),
        ("p256.pkcs8.pem", KeyKind::EcPrivate(Curve::P256), Pkcs8),
        ("p256.trad.pem", KeyKind::EcPrivate(Curve::P256), Sec1),
        ("p256.pub.pem", KeyKind::EcPublic(Curve::P256), Spki),
        ("p256.cert.pem", KeyKind::EcPublic(Curve::P256), Certificate),
        ("p384.trad.pem", KeyKind::EcPrivate(Curve::P384), Sec1),
        ("p384.pub.pem", KeyKind::EcPublic(Curve::P384), Spki),
        ("p521.pkcs8.pem", KeyKind::EcPrivate(Curve::P521), Pkcs8),
        ("p521.pub.pem", KeyKind::EcPublic(Curve::P521), Spki),
        (
            "secp256k1.trad.pem",
            KeyKind::EcPrivate(Curve::Secp256k1),
            Sec1,
        ),
        (
            "secp256k1.pub.pem",
            KeyKind::EcPublic(Curve::Secp256k1),
            Spki,
        ),
        (
            "ed25519.pkcs8.pem",
            KeyKind::OkpPrivate(OkpCurve::Ed25519),
            Pkcs8,
        ),
        (
            "ed25519.pub.pem",
            KeyKind::OkpPublic(OkpCurve::Ed25519),
            Spki,
        ),
        (
            "ed25519.cert.pem",
            KeyKind::OkpPublic(OkpCurve::Ed25519),
            Certificate,
        ),
        (
            "ed448.pkcs8.pem",
            KeyKind::OkpPrivate(OkpCurve::Ed448),
            Pkcs8,
        ),
        ("ed448.pub.pem", KeyKind::OkpPublic(OkpCurve::Ed448), Spki),
    ];
    for (name, kind, encoding) in cases {
        let key = pem(name);
        assert_eq!(key.kind(), *kind, "{name}");
        assert_eq!(key.encoding(), *encoding, "{name}");
        // The same DER, recognised without its label.
        let from_der = AsymmetricKey::from_der(&der(name)).unwrap();
        assert_eq!(from_der.kind(), *kind, "{name} as DER");
        assert_eq!(public_parameters(&from_der), public_parameters(&key));
    }
    for (name, kind) in [
        ("rsa2048.ssh.pub", KeyKind::RsaPublic),
        ("p256.ssh.pub", KeyKind::EcPublic(Curve::P256)),
        ("p384.ssh.pub", KeyKind::EcPublic(Curve::P384)),
        ("p521.ssh.pub", KeyKind::EcPublic(Curve::P521)),
        ("ed25519.ssh.pub", KeyKind::OkpPublic(OkpCurve::Ed25519)),
        ("ed448.ssh.pub", KeyKind::OkpPublic(OkpCurve::Ed448)),
    ] {
        let key = ssh(name);
        assert_eq!((key.kind(), key.encoding()), (kind, OpenSsh), "{name}");
    }
}

#[test]
fn rsa_sizes_are_reported() {
    assert_eq!(pem("rsa2048.pub.pem").rsa_bits(), Some(2048));
    assert_eq!(pem("rsa1024.pkcs8.pem").rsa_bits(), Some(1024));
    assert_eq!(pem("rsa3072_e3.pub.pem").rsa_bits(), Some(3072));
    assert_eq!(pem("p256.pub.pem").rsa_bits(), None);
}

#[test]
fn all_encodings_of_a_key_agree() {
    let groups: &[&[AsymmetricKey]] = &[
        &[
            pem("rsa2048.pkcs8.pem"),
            pem("rsa2048.trad.pem"),
            pem("rsa2048.pub.pem"),
            pem("rsa2048.pkcs1.pub.pem"),
            pem("rsa2048.cert.pem"),
            ssh("rsa2048.ssh.pub"),
            jwk("rsa2048.jwk.json"),
            jwk("rsa2048.pub.jwk.json"),
        ],
        &[
            pem("p256.pkcs8.pem"),
            pem("p256.trad.pem"),
            pem("p256.pub.pem"),
            ssh("p256.ssh.pub"),
            jwk("p256.jwk.json"),
            jwk("p256.pub.jwk.json"),
        ],
        &[
            pem("p521.trad.pem"),
            ssh("p521.ssh.pub"),
            jwk("p521.pub.jwk.json"),
        ],
        &[pem("secp256k1.pkcs8.pem"), jwk("secp256k1.pub.jwk.json")],
        &[
            pem("ed25519.pkcs8.pem"),
            pem("ed25519.pub.pem"),
            ssh("ed25519.ssh.pub"),
            jwk("ed25519.jwk.json"),
        ],
        &[
            pem("ed448.pkcs8.pem"),
            pem("ed448.pub.pem"),
            ssh("ed448.ssh.pub"),
            jwk("ed448.jwk.json"),
        ],
    ];
    for keys in groups {
        let first = public_parameters(&keys[0]);
        for key in keys.iter() {
            assert_eq!(public_parameters(key), first, "{key:?}");
        }
    }
}

/// Our JWK parameters equal the ones PyJWT's `to_jwk` wrote for the same key.
#[test]
fn jwk_components_match_pyjwt() {
    for (pem_name, jwk_name) in [
        ("rsa2048.trad.pem", "rsa2048.jwk.json"),
        ("rsa1024.pkcs8.pem", "rsa1024.jwk.json"),
        ("p256.trad.pem", "p256.jwk.json"),
        ("p384.pkcs8.pem", "p384.jwk.json"),
        ("p521.trad.pem", "p521.jwk.json"),
        ("secp256k1.trad.pem", "secp256k1.jwk.json"),
        ("ed25519.pkcs8.pem", "ed25519.jwk.json"),
        ("ed448.pkcs8.pem", "ed448.jwk.json"),
        ("rsa2048.pub.pem", "rsa2048.pub.jwk.json"),
        ("p256.pub.pem", "p256.pub.jwk.json"),
    ] {
        let bytes = fixture(jwk_name);
        let value = parse_json(&bytes);
        let expected = |name: &str| base64url(text(object(&value), name));
        let mut found: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
        match pem(pem_name).to_jwk_components().unwrap() {
            JwkComponents::Rsa { n, e, private } => {
                found.insert("n", n);
                found.insert("e", e);
                if let Some(private) = private {
                    for (name, value) in [
                        ("d", private.d),
                        ("p", private.p),
                        ("q", private.q),
                        ("dp", private.dp),
                        ("dq", private.dq),
                        ("qi", private.qi),
                    ] {
                        found.insert(name, value.to_vec());
                    }
                }
            }
            JwkComponents::Ec { x, y, d, curve } => {
                assert_eq!(curve.jwk_name(), text(object(&value), "crv"));
                found.insert("x", x);
                found.insert("y", y);
                if let Some(d) = d {
                    found.insert("d", d.to_vec());
                }
            }
            JwkComponents::Okp { x, d, curve } => {
                assert_eq!(curve.jwk_name(), text(object(&value), "crv"));
                found.insert("x", x);
                if let Some(d) = d {
                    found.insert("d", d.to_vec());
                }
            }
        }
        let expected_names: Vec<&str> = object(&value)
            .iter()
            .map(|(name, _)| name.as_ref())
            .filter(|name| !["kty", "crv", "key_ops"].contains(name))
            .collect();
        assert_eq!(found.len(), expected_names.len(), "{pem_name}");
        for name in expected_names {
            assert_eq!(found[name], expected(name), "{pem_name}: {name}");
        }
    }
}

/// A JWK with `d` but without the CRT parameters: the primes are recovered.
#[test]
fn rsa_jwk_primes_are_recovered() {
    let bytes = fixture("rsa2048.jwk.json");
    let value = parse_json(&bytes);
    let mut members: BTreeMap<String, String> = BTreeMap::new();
    for name in ["kty", "n", "e", "d"] {
        members.insert(name.into(), text(object(&value), name).into());
    }
    let recovered = AsymmetricKey::from_jwk(&members).unwrap();
    assert_eq!(recovered.kind(), KeyKind::RsaPrivate);
    let JwkComponents::Rsa {
        private: Some(recovered_private),
        ..
    } = recovered.to_jwk_components().unwrap()
    else {
        panic!("not an RSA private key")
    };
    let original = |name: &str| base64url(text(object(&value), name));
    let (p, q) = (recovered_private.p.to_vec(), recovered_private.q.to_vec());
    assert!(p > q, "p > q as cryptography orders them");
    let mut expected_primes = [original("p"), original("q")];
    expected_primes.sort();
    assert_eq!([q.clone(), p.clone()], expected_primes);
    let (dp, dq, qi) = if p == original("p") {
        (original("dp"), original("dq"), original("qi"))
    } else {
        (
            recovered_private.dp.to_vec(),
            recovered_private.dq.to_vec(),
            recovered_private.qi.to_vec(),
        )
    };
    assert_eq!(recovered_private.dp.to_vec(), dp);
    assert_eq!(recovered_private.dq.to_vec(), dq);
    assert_eq!(recovered_private.qi.to_vec(), qi);

    let signature = recovered.sign(Algorithm::RS256, b"message").unwrap();
    assert!(pem("rsa2048.pub.pem")
        .verify(Algorithm::RS256, b"message", &signature)
        .unwrap());
}

#[test]
fn every_algorithm_round_trips() {
    let cases = [
        (
            Algorithm::RS256,
            "rsa2048.pkcs8.pem",
            "rsa2048.pub.pem",
            256,
        ),
        (
            Algorithm::RS384,
            "rsa2048.trad.pem",
            "rsa2048.pkcs1.pub.pem",
            256,
        ),
        (
            Algorithm::RS512,
            "rsa3072_e3.pkcs8.pem",
            "rsa3072_e3.pub.pem",
            384,
        ),
        (
            Algorithm::PS256,
            "rsa2048.pkcs8.pem",
            "rsa2048.pub.pem",
            256,
        ),
        (
            Algorithm::PS384,
            "rsa_pss.pkcs8.pem",
            "rsa_pss.pkcs8.pem",
            256,
        ),
        (
            Algorithm::PS512,
            "rsa3072_e3.pkcs8.pem",
            "rsa3072_e3.pub.pem",
            384,
        ),
        (Algorithm::ES256, "p256.trad.pem", "p256.pub.pem", 64),
        (
            Algorithm::ES256K,
            "secp256k1.pkcs8.pem",
            "secp256k1.pub.pem",
            64,
        ),
        (Algorithm::ES384, "p384.pkcs8.pem", "p384.pub.pem", 96),
        (Algorithm::ES512, "p521.trad.pem", "p521.pub.pem", 132),
        (Algorithm::EdDSA, "ed25519.pkcs8.pem", "ed25519.pub.pem", 64),
        (Algorithm::EdDSA, "ed448.pkcs8.pem", "ed448.pub.pem", 114),
    ];
    for (algorithm, private_name, public_name, length) in cases {
        let private = pem(private_name);
        // PS384 with an RSA-PSS key: verified with its own public half below.
        let public = if private_name == public_name {
            None
        } else {
            Some(pem(public_name))
        };
        let message = b"eyJhbGciOiJ0ZXN0In0.eyJzdWIiOiIxIn0";
        for _ in 0..2 {
            let signature = private.sign(algorithm, message).unwrap();
            assert_eq!(signature.len(), length, "{algorithm} {private_name}");
            let verifier = public.as_ref().unwrap_or(&private);
            if verifier.kind() == KeyKind::RsaPrivate {
                continue;
            }
            assert!(verifier.verify(algorithm, message, &signature).unwrap());
            assert!(!verifier.verify(algorithm, b"other", &signature).unwrap());
            let mut tampered = signature.clone();
            tampered[length / 2] ^= 1;
            assert!(!verifier.verify(algorithm, message, &tampered).unwrap());
            assert!(!verifier
                .verify(algorithm, message, &signature[1..])
                .unwrap());
            // ECDSA and EdDSA verify with the private key too.
            if !matches!(private.kind(), KeyKind::RsaPrivate) {
                assert!(private.verify(algorithm, message, &signature).unwrap());
            }
        }
    }
}

/// Signatures made by PyJWT (on OpenSSL) verify, including with a 1024-bit key,
/// which takes the fallback path.
#[test]
fn pyjwt_tokens_verify() {
    let bytes = fixture("tokens.json");
    let tokens = parse_json(&bytes);
    let mut count = 0;
    for entry in array(&tokens) {
        let entry = object(entry);
        let algorithm = Algorithm::from_name(text(entry, "alg")).unwrap();
        let key = pem(text(entry, "key"));
        let token = text(entry, "token");
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let signature = base64url(signature);
        assert!(
            key.verify(algorithm, signing_input.as_bytes(), &signature)
                .unwrap(),
            "{algorithm} {}",
            text(entry, "key")
        );
        assert!(!key.verify(algorithm, b"x", &signature).unwrap());
        count += 1;
    }
    assert_eq!(count, 17); // 6 RSA-2048, 5 RSA-1024 (no PS512), 4 ECDSA, 2 EdDSA
}

#[test]
fn small_rsa_keys_verify_but_do_not_sign() {
    let key = pem("rsa1024.pkcs8.pem");
    assert_eq!(
        key.sign(Algorithm::RS256, b"m"),
        Err(CryptoError::UnsupportedKeySize { bits: 1024 })
    );
    // The JWK form loads too, with the numbers checked for consistency.
    assert_eq!(jwk("rsa1024.jwk.json").kind(), KeyKind::RsaPrivate);
}

#[test]
fn keys_of_the_wrong_family_or_curve_are_refused() {
    let rsa = pem("rsa2048.pkcs8.pem");
    let p384 = pem("p384.pkcs8.pem");
    let ed = pem("ed25519.pub.pem");
    assert_eq!(
        rsa.sign(Algorithm::ES256, b"m"),
        Err(CryptoError::WrongFamily {
            algorithm: Algorithm::ES256,
            key: KeyKind::RsaPrivate
        })
    );
    let mismatch = CryptoError::CurveMismatch {
        algorithm: Algorithm::ES256,
        key: Curve::P384,
        expected: Curve::P256,
    };
    assert_eq!(p384.sign(Algorithm::ES256, b"m"), Err(mismatch.clone()));
    assert_eq!(
        p384.verify(Algorithm::ES256, b"m", &[0; 64]),
        Err(mismatch.clone())
    );
    assert_eq!(
        mismatch.to_string(),
        "the key's curve 'secp384r1' does not match the expected curve 'secp256r1' for ES256"
    );
    assert!(matches!(
        ed.verify(Algorithm::RS256, b"m", &[0; 64]),
        Err(CryptoError::WrongFamily { .. })
    ));
    assert_eq!(
        ed.sign(Algorithm::EdDSA, b"m"),
        Err(CryptoError::NotPrivate)
    );
    assert_eq!(
        rsa.verify(Algorithm::RS256, b"m", &[0; 256]),
        Err(CryptoError::NotPublic)
    );
    // ES521 is the same algorithm as ES512.
    let p521 = pem("p521.pkcs8.pem");
    let signature = p521
        .sign(Algorithm::from_name("ES521").unwrap(), b"m")
        .unwrap();
    assert!(p521.verify(Algorithm::ES512, b"m", &signature).unwrap());
}

/// A valid ES256 signature re-encoded as DER is refused.
#[test]
fn der_ecdsa_signatures_are_refused() {
    let key = pem("p256.pkcs8.pem");
    let raw = key.sign(Algorithm::ES256, b"m").unwrap();
    let integer = |bytes: &[u8]| {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|&b| b == 0).collect();
        let mut out = vec![0x02];
        let needs_zero = trimmed[0] & 0x80 != 0;
        out.push(u8::try_from(trimmed.len() + usize::from(needs_zero)).unwrap());
        if needs_zero {
            out.push(0);
        }
        out.extend(trimmed);
        out
    };
    let body = [integer(&raw[..32]), integer(&raw[32..])].concat();
    let der = [vec![0x30, u8::try_from(body.len()).unwrap()], body].concat();
    assert!(key.verify(Algorithm::ES256, b"m", &raw).unwrap());
    assert!(!key.verify(Algorithm::ES256, b"m", &der).unwrap());
}

#[test]
fn unsupported_and_broken_inputs_have_distinct_errors() {
    for name in [
        "rsa2048.encrypted.pkcs8.pem",
        "rsa2048.encrypted.trad.pem",
        "p256.encrypted.sec1.pem",
    ] {
        assert_eq!(
            AsymmetricKey::from_pem(&fixture(name)).err(),
            Some(CryptoError::Encrypted),
            "{name}"
        );
    }
    let encrypted_der = der("rsa2048.encrypted.pkcs8.pem");
    assert_eq!(
        AsymmetricKey::from_der(&encrypted_der).err(),
        Some(CryptoError::Encrypted)
    );
    for name in ["p192.pkcs8.pem", "p192.trad.pem", "p192.pub.pem"] {
        assert_eq!(
            AsymmetricKey::from_pem(&fixture(name)).err(),
            Some(CryptoError::UnsupportedCurve("secp192r1".into())),
            "{name}"
        );
    }
    assert_eq!(
        AsymmetricKey::from_pem(&fixture("dsa.pub.pem")).err(),
        Some(CryptoError::UnsupportedKeyType("DSA".into()))
    );
    assert_eq!(
        AsymmetricKey::from_pem(&fixture("x25519.pkcs8.pem")).err(),
        Some(CryptoError::UnsupportedKeyType("X25519".into()))
    );
    for input in [
        fixture("rsa2048.openssh.priv"),
        b"not a key".to_vec(),
        b"-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n".to_vec(),
    ] {
        assert!(
            matches!(
                AsymmetricKey::from_pem(&input),
                Err(CryptoError::Unparseable(_))
            ),
            "{}",
            String::from_utf8_lossy(&input)
        );
    }
    assert!(matches!(
        AsymmetricKey::from_openssh_public(b"ssh-rsa AAAA"),
        Err(CryptoError::Unparseable(_))
    ));
    assert!(matches!(
        AsymmetricKey::from_der(b"\x30\x00"),
        Err(CryptoError::Unparseable(_))
    ));
}

#[test]
fn pem_tolerates_crlf_and_surrounding_whitespace() {
    for name in ["rsa2048.pkcs8.pem", "p256.trad.pem", "ed448.pub.pem"] {
        let text = String::from_utf8(fixture(name)).unwrap();
        let crlf = format!("\r\n \t{}\r\n\r\n  ", text.replace('\n', "\r\n"));
        let key = AsymmetricKey::from_pem(crlf.as_bytes()).unwrap();
        assert_eq!(public_parameters(&key), public_parameters(&pem(name)));
    }
}

#[test]
fn jwk_private_halves_must_match() {
    let ed = fixture("ed25519.jwk.json");
    let ed = parse_json(&ed);
    let other_x = text(object(&parse_json(&fixture("ed448.jwk.json"))), "x").to_owned();
    let mut members: BTreeMap<String, String> = object(&ed)
        .iter()
        .map(|(name, value)| (name.to_string(), common::string(value).to_owned()))
        .collect();
    members.insert("x".into(), other_x[..43].to_owned());
    assert_eq!(
        AsymmetricKey::from_jwk(&members).err(),
        Some(CryptoError::KeyMismatch)
    );

    let p256 = fixture("p256.jwk.json");
    let p256 = parse_json(&p256);
    let mut members: BTreeMap<String, String> = object(&p256)
        .iter()
        .map(|(name, value)| (name.to_string(), common::string(value).to_owned()))
        .collect();
    use base64_simd::URL_SAFE_NO_PAD;
    // d of another key: a mismatch; y altered: not on the curve.
    members.insert("d".into(), URL_SAFE_NO_PAD.encode_to_string([1u8; 32]));
    assert_eq!(
        AsymmetricKey::from_jwk(&members).err(),
        Some(CryptoError::KeyMismatch)
    );
    let mut y = base64url(&members["y"]);
    y[31] ^= 1;
    members.insert("y".into(), URL_SAFE_NO_PAD.encode_to_string(y));
    assert!(matches!(
        AsymmetricKey::from_jwk(&members),
        Err(CryptoError::InvalidKey(_))
    ));
    members.insert("x".into(), "AQ".into());
    assert_eq!(
        AsymmetricKey::from_jwk(&members).err(),
        Some(CryptoError::InvalidJwk(JwkProblem::CoordinateLength {
            crv: "P-256",
            expected: 32
        }))
    );
}

/// SubjectPublicKeyInfo with a compressed point loads as the same key.
#[test]
fn compressed_ec_points_are_decompressed() {
    let spki = |oid: &[u8], point: &[u8]| {
        let ec_public_key = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
        let algorithm = [&ec_public_key[..], oid].concat();
        let algorithm = [
            vec![0x30, u8::try_from(algorithm.len()).unwrap()],
            algorithm,
        ]
        .concat();
        let bits = [
            vec![0x03, u8::try_from(point.len() + 1).unwrap(), 0x00],
            point.to_vec(),
        ]
        .concat();
        let body = [algorithm, bits].concat();
        [vec![0x30, u8::try_from(body.len()).unwrap()], body].concat()
    };
    let p256 = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
    let p384 = [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22];
    let p521 = [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23];
    let k256 = [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x0A];
    for (stem, oid) in [
        ("p256", &p256[..]),
        ("p384", &p384[..]),
        ("p521", &p521[..]),
    ] {
        let compressed = hex(
            String::from_utf8(fixture(&format!("{stem}.compressed.hex")))
                .unwrap()
                .trim(),
        );
        let key = AsymmetricKey::from_der(&spki(oid, &compressed)).unwrap();
        assert_eq!(
            public_parameters(&key),
            public_parameters(&pem(&format!("{stem}.pub.pem")))
        );
    }
    // secp256k1 (a = 0): compress the fixture key by hand, both parities checked.
    let full = public_parameters(&pem("secp256k1.pub.pem"));
    let prefix = 0x02 | (full[1][31] & 1);
    let compressed = [vec![prefix], full[0].clone()].concat();
    let key = AsymmetricKey::from_der(&spki(&k256, &compressed)).unwrap();
    assert_eq!(public_parameters(&key), full);
    let flipped = [vec![prefix ^ 1], full[0].clone()].concat();
    let other = AsymmetricKey::from_der(&spki(&k256, &flipped)).unwrap();
    assert_ne!(public_parameters(&other)[1], full[1]);
    // x with no point on the curve
    let mut off_curve = compressed.clone();
    for candidate in 0u8..=255 {
        off_curve[32] = candidate;
        if AsymmetricKey::from_der(&spki(&k256, &off_curve)).is_err() {
            return;
        }
    }
    panic!("every x had a point, which is impossible for half of the field");
}

#[test]
fn one_key_serves_many_threads() {
    let private = Arc::new(pem("p256.pkcs8.pem"));
    let public = Arc::new(pem("rsa2048.pub.pem"));
    let rsa_signature = pem("rsa2048.pkcs8.pem")
        .sign(Algorithm::PS256, b"m")
        .unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let private = Arc::clone(&private);
            let public = Arc::clone(&public);
            let rsa_signature = rsa_signature.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    let message = format!("message {i}");
                    let signature = private.sign(Algorithm::ES256, message.as_bytes()).unwrap();
                    assert!(private
                        .verify(Algorithm::ES256, message.as_bytes(), &signature)
                        .unwrap());
                    assert!(public
                        .verify(Algorithm::PS256, b"m", &rsa_signature)
                        .unwrap());
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn rsa_jwk_with_a_wrong_private_exponent_is_refused() {
    let bytes = fixture("rsa2048.jwk.json");
    let value = parse_json(&bytes);
    let mut members: BTreeMap<String, String> = BTreeMap::new();
    for name in ["kty", "n", "e", "d"] {
        members.insert(name.into(), text(object(&value), name).into());
    }
    let mut d = base64url(&members["d"]);
    d[100] ^= 0x10;
    members.insert("d".into(), base64_simd::URL_SAFE_NO_PAD.encode_to_string(d));
    assert!(matches!(
        AsymmetricKey::from_jwk(&members),
        Err(CryptoError::InvalidKey(_))
    ));
}
