//! RSA signature verification for moduli outside aws-lc-rs's 2048-8192-bit range.
//!
//! Only public values are involved, so plain big-integer arithmetic is safe
//! here. PKCS#1 v1.5 is checked by re-encoding and comparing (RFC 8017 §8.2.2),
//! which leaves no parser to fool; PSS follows RFC 8017 §9.1.2 with the JWS
//! parameters (MGF1 over the same hash, salt as long as the digest). The tests
//! run every Wycheproof RSA vector through this path as well as the backend's.

use aws_lc_rs::digest;
use num_bigint::BigUint;
use subtle::ConstantTimeEq;

use super::algorithm::{Hash, RsaPadding};
use super::error::CryptoError;
use super::pkix::{RsaPrivateParts, RsaPublicParts};
use super::rsa::bit_length;

pub(crate) fn verify(
    key: &RsaPublicParts,
    padding: RsaPadding,
    hash: Hash,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let n = BigUint::from_bytes_be(&key.n);
    if signature.len() != key.n.len() || n == BigUint::ZERO {
        return false;
    }
    let s = BigUint::from_bytes_be(signature);
    if s >= n {
        return false;
    }
    let m = s.modpow(&BigUint::from_bytes_be(&key.e), &n);
    let digest = digest::digest(hash.digest(), message);
    match padding {
        RsaPadding::Pkcs1v15 => {
            let Some(em) = to_fixed_len(&m, key.n.len()) else {
                return false;
            };
            pkcs1v15_encoding(hash, digest.as_ref(), key.n.len())
                .is_some_and(|expected| bool::from(expected.as_slice().ct_eq(em.as_slice())))
        }
        RsaPadding::Pss => {
            let em_bits = bit_length(&key.n) - 1;
            let Some(em) = to_fixed_len(&m, em_bits.div_ceil(8)) else {
                return false;
            };
            pss_verify(hash, digest.as_ref(), &em, em_bits)
        }
    }
}

/// I2OSP: big-endian in exactly `len` bytes, `None` if the value does not fit.
fn to_fixed_len(value: &BigUint, len: usize) -> Option<Vec<u8>> {
    let bytes = value.to_bytes_be();
    let bytes = super::rsa::trim_leading_zeros(&bytes);
    let pad = len.checked_sub(bytes.len())?;
    let mut out = vec![0u8; pad];
    out.extend_from_slice(bytes);
    Some(out)
}

/// EMSA-PKCS1-v1_5 encoding of a digest (RFC 8017 §9.2).
fn pkcs1v15_encoding(hash: Hash, digest: &[u8], em_len: usize) -> Option<Vec<u8>> {
    // DER of DigestInfo { AlgorithmIdentifier { hash OID, NULL }, OCTET STRING } up to the digest.
    let prefix: &[u8] = match hash {
        Hash::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        Hash::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        Hash::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    };
    let t_len = prefix.len() + digest.len();
    let padding_len = em_len.checked_sub(t_len + 3).filter(|&len| len >= 8)?;
    let mut em = Vec::with_capacity(em_len);
    em.extend_from_slice(&[0x00, 0x01]);
    em.resize(2 + padding_len, 0xFF);
    em.push(0x00);
    em.extend_from_slice(prefix);
    em.extend_from_slice(digest);
    Some(em)
}

/// EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with sLen = hLen and MGF1 over `hash`.
fn pss_verify(hash: Hash, m_hash: &[u8], em: &[u8], em_bits: usize) -> bool {
    let h_len = hash.output_len();
    let s_len = h_len;
    let em_len = em.len();
    if em_len < h_len + s_len + 2 {
        return false;
    }
    let Some((&0xBC, masked_db_and_h)) = em.split_last() else {
        return false;
    };
    let Some((masked_db, h)) = masked_db_and_h.split_at_checked(em_len - h_len - 1) else {
        return false;
    };
    // The leftmost 8*emLen - emBits bits of maskedDB must be zero.
    let unused_bits = 8 * em_len - em_bits;
    let top_mask = 0xFFu8 >> (unused_bits % 8);
    let Some(&first) = masked_db.first() else {
        return false;
    };
    if first & !top_mask != 0 {
        return false;
    }
    let mut db: Vec<u8> = masked_db
        .iter()
        .zip(mgf1(hash, h, masked_db.len()))
        .map(|(a, b)| a ^ b)
        .collect();
    if let Some(first) = db.first_mut() {
        *first &= top_mask;
    }
    let zeros_len = em_len - h_len - s_len - 2;
    let Some((zeros, rest)) = db.split_at_checked(zeros_len) else {
        return false;
    };
    let Some((&0x01, salt)) = rest.split_first() else {
        return false;
    };
    if zeros.iter().any(|&b| b != 0) || salt.len() != s_len {
        return false;
    }
    let mut context = digest::Context::new(hash.digest());
    context.update(&[0u8; 8]);
    context.update(m_hash);
    context.update(salt);
    let h_prime = context.finish();
    db.clear();
    bool::from(h_prime.as_ref().ct_eq(h))
}

/// MGF1 (RFC 8017 §B.2.1).
fn mgf1(hash: Hash, seed: &[u8], len: usize) -> Vec<u8> {
    let mut mask = Vec::with_capacity(len + hash.output_len());
    let mut counter: u32 = 0;
    while mask.len() < len {
        let mut context = digest::Context::new(hash.digest());
        context.update(seed);
        context.update(&counter.to_be_bytes());
        mask.extend_from_slice(context.finish().as_ref());
        counter = counter.wrapping_add(1);
    }
    mask.truncate(len);
    mask
}

/// Checks that RSA private numbers belong together, for keys the backend does not take.
pub(crate) fn check_consistency(key: &RsaPrivateParts) -> Result<(), CryptoError> {
    const INCONSISTENT: CryptoError = CryptoError::InvalidKey("inconsistent RSA private key");
    let [n, e, d, p, q, dp, dq, qi] = [
        &key.public.n,
        &key.public.e,
        &*key.d,
        &*key.p,
        &*key.q,
        &*key.dp,
        &*key.dq,
        &*key.qi,
    ]
    .map(|bytes| BigUint::from_bytes_be(bytes));
    let one = BigUint::from(1u8);
    if p <= one || q <= one {
        return Err(INCONSISTENT);
    }
    let p1 = &p - &one;
    let q1 = &q - &one;
    let consistent = n == &p * &q
        && (&d * &e) % &p1 == one
        && (&d * &e) % &q1 == one
        && dp == &d % &p1
        && dq == &d % &q1
        && (&qi * &q) % &p == one;
    if consistent {
        Ok(())
    } else {
        Err(INCONSISTENT)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pkcs1_encoding_needs_eight_bytes_of_padding() {
        let digest = [0u8; 32];
        let em = pkcs1v15_encoding(Hash::Sha256, &digest, 62).unwrap();
        assert_eq!(em.len(), 62);
        assert!(pkcs1v15_encoding(Hash::Sha256, &digest, 61).is_none());
    }

    #[test]
    fn mgf1_matches_its_definition() {
        let mask = mgf1(Hash::Sha256, b"seed", 40);
        let mut first = b"seed".to_vec();
        first.extend([0, 0, 0, 0]);
        let block0 = digest::digest(&digest::SHA256, &first);
        assert_eq!(mask.get(..32), Some(block0.as_ref()));
        assert_eq!(mask.len(), 40);
    }

    #[test]
    fn fixed_length_conversion() {
        assert_eq!(
            to_fixed_len(&BigUint::from(0x0102u32), 4),
            Some(vec![0, 0, 1, 2])
        );
        assert_eq!(to_fixed_len(&BigUint::from(0x0102u32), 1), None);
        assert_eq!(to_fixed_len(&BigUint::ZERO, 2), Some(vec![0, 0]));
    }
}

/// The fallback must agree with the backend on every Wycheproof RSA vector.
#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod wycheproof {
    use jiter::JsonValue;

    use super::*;
    use crate::crypto::pkix::{self, Material};

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn member<'a, 's>(value: &'a JsonValue<'s>, name: &str) -> &'a JsonValue<'s> {
        let JsonValue::Object(object) = value else {
            panic!("not an object")
        };
        &object.iter().find(|(key, _)| key == name).expect(name).1
    }

    fn text<'a>(value: &'a JsonValue<'_>, name: &str) -> &'a str {
        match member(value, name) {
            JsonValue::Str(text) => text,
            _ => panic!("{name} is not a string"),
        }
    }

    fn items<'a, 's>(value: &'a JsonValue<'s>, name: &str) -> &'a [JsonValue<'s>] {
        match member(value, name) {
            JsonValue::Array(items) => items,
            _ => panic!("{name} is not an array"),
        }
    }

    fn check(file: &str, padding: RsaPadding, hash: Hash, salt_matches_jws: bool) -> usize {
        let dir = std::env::var("WYCHEPROOF_DIR")
            .unwrap_or_else(|_| "/work/shared/vectors/wycheproof".to_owned());
        let bytes = std::fs::read(format!("{dir}/{file}")).unwrap();
        let document = JsonValue::parse(&bytes, false).unwrap();
        let mut checked = 0;
        for group in items(&document, "testGroups") {
            let Ok(Material::RsaPublic(key)) =
                pkix::subject_public_key_info(&hex(text(group, "publicKeyDer")))
            else {
                panic!("{file}: not an RSA key")
            };
            for test in items(group, "tests") {
                let verified = verify(
                    &key,
                    padding,
                    hash,
                    &hex(text(test, "msg")),
                    &hex(text(test, "sig")),
                );
                let comment = text(test, "comment");
                let expected = match text(test, "result") {
                    "valid" => salt_matches_jws,
                    "acceptable" => false, // the one "missing NULL" vector, refused as by aws-lc
                    _ => {
                        !salt_matches_jws
                            && comment == format!("s_len changed to {}", hash.output_len())
                    }
                };
                assert_eq!(verified, expected, "{file}: {comment}");
                checked += 1;
            }
        }
        checked
    }

    #[test]
    fn pkcs1v15_vectors() {
        let mut checked = 0;
        for (file, hash) in [
            ("rsa_signature_2048_sha256_test.json", Hash::Sha256),
            ("rsa_signature_2048_sha384_test.json", Hash::Sha384),
            ("rsa_signature_2048_sha512_test.json", Hash::Sha512),
            ("rsa_signature_3072_sha256_test.json", Hash::Sha256),
            ("rsa_signature_4096_sha512_test.json", Hash::Sha512),
        ] {
            checked += check(file, RsaPadding::Pkcs1v15, hash, true);
        }
        assert_eq!(checked, 1294);
    }

    #[test]
    fn pss_vectors() {
        let mut checked = 0;
        for (file, hash, salt_matches_jws) in [
            ("rsa_pss_2048_sha256_mgf1_0_test.json", Hash::Sha256, false),
            ("rsa_pss_2048_sha256_mgf1_32_test.json", Hash::Sha256, true),
            ("rsa_pss_2048_sha384_mgf1_48_test.json", Hash::Sha384, true),
            ("rsa_pss_3072_sha256_mgf1_32_test.json", Hash::Sha256, true),
            ("rsa_pss_4096_sha256_mgf1_32_test.json", Hash::Sha256, true),
            ("rsa_pss_4096_sha384_mgf1_48_test.json", Hash::Sha384, true),
            ("rsa_pss_4096_sha512_mgf1_32_test.json", Hash::Sha512, false),
            ("rsa_pss_4096_sha512_mgf1_64_test.json", Hash::Sha512, true),
        ] {
            checked += check(file, RsaPadding::Pss, hash, salt_matches_jws);
        }
        assert_eq!(checked, 1065);
    }
}
