//! An independent RSASSA-PKCS1-v1_5 verifier (RFC 8017 §8.2.2), written from the RFC with
//! `num-bigint` and `sha2`, to compare the RS* verdicts of the backend and of the fallback with.

use _turbojwt::crypto::Algorithm;
use num_bigint::BigUint;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// The DER `DigestInfo` prefixes of RFC 8017 §9.2, note 1.
const SHA256_PREFIX: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const SHA384_PREFIX: &[u8] = &[
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];
const SHA512_PREFIX: &[u8] = &[
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

/// The verdict for RS256/RS384/RS512, or `None` for any other algorithm.
#[allow(clippy::many_single_char_names)] // n, e, k, s, m: RFC 8017's names
pub fn verify_pkcs1v15(
    n: &[u8],
    e: &[u8],
    algorithm: Algorithm,
    message: &[u8],
    signature: &[u8],
) -> Option<bool> {
    let mut digest_info = match algorithm {
        Algorithm::RS256 => SHA256_PREFIX.to_vec(),
        Algorithm::RS384 => SHA384_PREFIX.to_vec(),
        Algorithm::RS512 => SHA512_PREFIX.to_vec(),
        _ => return None,
    };
    digest_info.extend_from_slice(&match algorithm {
        Algorithm::RS256 => Sha256::digest(message).to_vec(),
        Algorithm::RS384 => Sha384::digest(message).to_vec(),
        _ => Sha512::digest(message).to_vec(),
    });
    let modulus = BigUint::from_bytes_be(n);
    let k = usize::try_from(modulus.bits().div_ceil(8)).ok()?;
    // §8.2.2 step 1: the signature is exactly k octets; §5.2.2: its value is below n.
    if signature.len() != k {
        return Some(false);
    }
    let s = BigUint::from_bytes_be(signature);
    if s >= modulus {
        return Some(false);
    }
    let m = s.modpow(&BigUint::from_bytes_be(e), &modulus).to_bytes_be();
    // §9.2: EM = 0x00 || 0x01 || PS (0xff, at least 8) || 0x00 || T.
    let Some(padding_len) = k.checked_sub(3 + digest_info.len()).filter(|&len| len >= 8) else {
        return Some(false);
    };
    let mut expected = vec![0x00, 0x01];
    expected.resize(2 + padding_len, 0xff);
    expected.push(0x00);
    expected.extend_from_slice(&digest_info);
    let mut actual = vec![0u8; k.saturating_sub(m.len())];
    actual.extend_from_slice(&m);
    Some(actual == expected)
}
