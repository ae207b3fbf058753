//! RSA keys: PKCS#1 v1.5 and PSS signatures through aws-lc-rs.
//!
//! aws-lc-rs signs and verifies with moduli of 2048 to 8192 bits only, while
//! PyJWT accepts smaller keys (with a warning). Verification with such keys is a
//! public-key computation, so it falls back to `rsa_fallback`; signing with them
//! is refused rather than done with non-constant-time arithmetic.

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeyPairComponents, PublicKeyComponents};
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaEncoding, RsaParameters};
use num_bigint::BigUint;
use zeroize::Zeroizing;

use super::algorithm::{Hash, RsaPadding};
use super::error::CryptoError;
use super::pkix::{RsaPrivateParts, RsaPublicParts};
use super::rsa_fallback;

/// Modulus sizes the backend signs and verifies with.
const BACKEND_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;
/// Modulus sizes accepted at all; the upper bound keeps fallback verification cheap.
const ACCEPTED_BITS: std::ops::RangeInclusive<usize> = 512..=16384;

/// The backend's parameters for an RSA algorithm, and its slot in `RsaPublicKey::verifiers`.
const fn verify_parameters(padding: RsaPadding, hash: Hash) -> (usize, &'static RsaParameters) {
    match (padding, hash) {
        (RsaPadding::Pkcs1v15, Hash::Sha256) => (0, &signature::RSA_PKCS1_2048_8192_SHA256),
        (RsaPadding::Pkcs1v15, Hash::Sha384) => (1, &signature::RSA_PKCS1_2048_8192_SHA384),
        (RsaPadding::Pkcs1v15, Hash::Sha512) => (2, &signature::RSA_PKCS1_2048_8192_SHA512),
        (RsaPadding::Pss, Hash::Sha256) => (3, &signature::RSA_PSS_2048_8192_SHA256),
        (RsaPadding::Pss, Hash::Sha384) => (4, &signature::RSA_PSS_2048_8192_SHA384),
        (RsaPadding::Pss, Hash::Sha512) => (5, &signature::RSA_PSS_2048_8192_SHA512),
    }
}

pub(crate) struct RsaPublicKey {
    parts: RsaPublicParts,
    bits: usize,
    /// aws-lc-rs binds a parsed key to one padding and hash, so each algorithm
    /// gets its own, built on first use and then reused. Boxed to keep keys small.
    verifiers: Box<[OnceLock<ParsedPublicKey>; 6]>,
}

impl RsaPublicKey {
    pub(crate) fn new(parts: RsaPublicParts) -> Result<Self, CryptoError> {
        let bits = bit_length(&parts.n);
        if !ACCEPTED_BITS.contains(&bits) {
            return Err(CryptoError::InvalidKey(
                "RSA modulus must have 512 to 16384 bits",
            ));
        }
        if parts.n.last().is_none_or(|b| b & 1 == 0) {
            return Err(CryptoError::InvalidKey("RSA modulus must be odd"));
        }
        // The backend's limits on the exponent, applied to every key for uniform behaviour.
        let e_bits = bit_length(&parts.e);
        if !(2..=33).contains(&e_bits) || parts.e.last().is_none_or(|b| b & 1 == 0) {
            return Err(CryptoError::InvalidKey(
                "RSA public exponent must be odd, at least 3 and at most 33 bits",
            ));
        }
        let key = Self {
            parts,
            bits,
            verifiers: Default::default(),
        };
        if BACKEND_BITS.contains(&bits) {
            // Let the backend judge the key now, so that a key it refuses fails to
            // load instead of failing at the first verification. RS256 is the
            // likeliest use of the parsed copy.
            key.verifier(RsaPadding::Pkcs1v15, Hash::Sha256)?;
        }
        Ok(key)
    }

    pub(crate) const fn bits(&self) -> usize {
        self.bits
    }

    pub(crate) const fn parts(&self) -> &RsaPublicParts {
        &self.parts
    }

    pub(crate) fn verify(
        &self,
        padding: RsaPadding,
        hash: Hash,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        if !BACKEND_BITS.contains(&self.bits) {
            return Ok(rsa_fallback::verify(
                &self.parts,
                padding,
                hash,
                message,
                signature,
            ));
        }
        let verifier = self.verifier(padding, hash)?;
        Ok(verifier.verify_sig(message, signature).is_ok())
    }

    fn verifier(&self, padding: RsaPadding, hash: Hash) -> Result<&ParsedPublicKey, CryptoError> {
        let (slot, parameters) = verify_parameters(padding, hash);
        let cell = self.verifiers.get(slot).ok_or(CryptoError::Backend)?;
        if let Some(parsed) = cell.get() {
            return Ok(parsed);
        }
        let components = PublicKeyComponents {
            n: self.parts.n.as_slice(),
            e: self.parts.e.as_slice(),
        };
        let parsed = components
            .to_parsed_public_key(parameters)
            .map_err(|_| CryptoError::InvalidKey("the backend rejected the RSA public key"))?;
        // Another thread may have won the race; either value is the same key.
        let _ = cell.set(parsed);
        cell.get().ok_or(CryptoError::Backend)
    }
}

pub(crate) struct RsaPrivateKey {
    public: RsaPublicKey,
    secret: RsaPrivateParts,
    /// `None` when the modulus is outside the backend's range.
    signer: Option<KeyPair>,
}

impl RsaPrivateKey {
    pub(crate) fn new(secret: RsaPrivateParts) -> Result<Self, CryptoError> {
        let public = RsaPublicKey::new(secret.public.clone())?;
        let signer = if BACKEND_BITS.contains(&public.bits) {
            let components = KeyPairComponents {
                public_key: PublicKeyComponents {
                    n: secret.public.n.as_slice(),
                    e: secret.public.e.as_slice(),
                },
                d: secret.d.as_slice(),
                p: secret.p.as_slice(),
                q: secret.q.as_slice(),
                dP: secret.dp.as_slice(),
                dQ: secret.dq.as_slice(),
                qInv: secret.qi.as_slice(),
            };
            let pair = KeyPair::from_components(&components)
                .map_err(|_| CryptoError::InvalidKey("inconsistent RSA private key"))?;
            Some(pair)
        } else {
            rsa_fallback::check_consistency(&secret)?;
            None
        };
        Ok(Self {
            public,
            secret,
            signer,
        })
    }

    /// Builds a key from `n`, `e`, `d` alone, recovering the primes as PyJWT does.
    pub(crate) fn from_private_exponent(
        public: RsaPublicParts,
        d: Zeroizing<Vec<u8>>,
    ) -> Result<Self, CryptoError> {
        // The size limits bound the cost of the recovery.
        RsaPublicKey::new(public.clone())?;
        let secret = recover_crt_parameters(public, d)?;
        Self::new(secret)
    }

    pub(crate) const fn public(&self) -> &RsaPublicKey {
        &self.public
    }

    pub(crate) const fn secret(&self) -> &RsaPrivateParts {
        &self.secret
    }

    pub(crate) fn sign(
        &self,
        padding: RsaPadding,
        hash: Hash,
        message: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let signer = self
            .signer
            .as_ref()
            .ok_or(CryptoError::UnsupportedKeySize {
                bits: self.public.bits,
            })?;
        let encoding: &'static dyn RsaEncoding = match (padding, hash) {
            (RsaPadding::Pkcs1v15, Hash::Sha256) => &signature::RSA_PKCS1_SHA256,
            (RsaPadding::Pkcs1v15, Hash::Sha384) => &signature::RSA_PKCS1_SHA384,
            (RsaPadding::Pkcs1v15, Hash::Sha512) => &signature::RSA_PKCS1_SHA512,
            (RsaPadding::Pss, Hash::Sha256) => &signature::RSA_PSS_SHA256,
            (RsaPadding::Pss, Hash::Sha384) => &signature::RSA_PSS_SHA384,
            (RsaPadding::Pss, Hash::Sha512) => &signature::RSA_PSS_SHA512,
        };
        let mut out = vec![0u8; signer.public_modulus_len()];
        // aws-lc-rs draws the PSS salt from its own DRBG; the argument is kept for API parity.
        signer
            .sign(encoding, &SystemRandom::new(), message, &mut out)
            .map_err(|_| CryptoError::Backend)?;
        Ok(out)
    }
}

/// Number of significant bits in a big-endian magnitude.
pub(crate) fn bit_length(bytes: &[u8]) -> usize {
    let trimmed = trim_leading_zeros(bytes);
    trimmed.first().map_or(0, |&first| {
        8 * trimmed.len() - first.leading_zeros() as usize
    })
}

pub(crate) fn trim_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// Factors `n` from `(n, e, d)` (the method of NIST SP 800-56B rev. 2 Appendix C.2,
/// as used by `cryptography`'s `rsa_recover_prime_factors`) and derives the CRT
/// parameters. The primes are ordered `p > q`, like `cryptography`'s.
///
/// This runs once per key load on variable-time arithmetic, as in `cryptography`;
/// the temporaries of `num-bigint` are not zeroized.
fn recover_crt_parameters(
    public: RsaPublicParts,
    d: Zeroizing<Vec<u8>>,
) -> Result<RsaPrivateParts, CryptoError> {
    const NOT_FACTORED: CryptoError =
        CryptoError::InvalidKey("could not recover the RSA primes from n, e and d");
    let n = BigUint::from_bytes_be(&public.n);
    let e = BigUint::from_bytes_be(&public.e);
    let d_int = BigUint::from_bytes_be(&d);
    let one = BigUint::from(1u8);
    if n <= one || d_int <= one || d_int >= n || e <= one {
        return Err(NOT_FACTORED);
    }
    let n_minus_one = &n - &one;

    // d*e - 1 = 2^s * t with t odd. For a witness a, squaring x = a^t up to s
    // times must reach 1 (else d does not invert e, and we stop at once); a
    // square root of 1 met on the way other than ±1 gives the factor gcd(x + 1, n).
    let k = &d_int * &e - &one;
    let s = k.trailing_zeros().ok_or(NOT_FACTORED)?;
    let t = &k >> s;
    let mut factor = None;
    'witnesses: for a in (2u32..200).step_by(2) {
        let mut x = BigUint::from(a).modpow(&t, &n);
        if x == one || x == n_minus_one {
            continue; // this witness cannot split n
        }
        for _ in 0..s {
            let square = (&x * &x) % &n;
            if square == one {
                factor = Some(gcd(&x + &one, n.clone()));
                break 'witnesses;
            }
            if square == n_minus_one {
                continue 'witnesses;
            }
            x = square;
        }
        return Err(NOT_FACTORED);
    }
    let p = factor.ok_or(NOT_FACTORED)?;
    if p <= one || p >= n || (&n % &p) != BigUint::ZERO {
        return Err(NOT_FACTORED);
    }
    let q = &n / &p;
    let (p, q) = if p > q { (p, q) } else { (q, p) };

    let dp = &d_int % (&p - &one);
    let dq = &d_int % (&q - &one);
    let qi = q.modinv(&p).ok_or(NOT_FACTORED)?;
    let secret = |value: &BigUint| Zeroizing::new(value.to_bytes_be());
    Ok(RsaPrivateParts {
        public,
        d: Zeroizing::new(trim_leading_zeros(&d).to_vec()),
        p: secret(&p),
        q: secret(&q),
        dp: secret(&dp),
        dq: secret(&dq),
        qi: secret(&qi),
    })
}

fn gcd(mut a: BigUint, mut b: BigUint) -> BigUint {
    while b != BigUint::ZERO {
        let r = &a % &b;
        a = b;
        b = r;
    }
    a
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[0, 1]), 1);
        assert_eq!(bit_length(&[0x80, 0]), 16);
    }

    #[test]
    fn recovers_small_textbook_primes() {
        // n = 61 * 53, e = 17, d = 2753 (the classic example, far below real sizes)
        let public = RsaPublicParts {
            n: BigUint::from(3233u32).to_bytes_be(),
            e: vec![17],
        };
        let parts =
            recover_crt_parameters(public, Zeroizing::new(BigUint::from(2753u32).to_bytes_be()))
                .unwrap();
        assert_eq!(parts.p.as_slice(), &[61]);
        assert_eq!(parts.q.as_slice(), &[53]);
        assert_eq!(
            BigUint::from_bytes_be(&parts.dp),
            BigUint::from(2753u32 % 60)
        );
        assert_eq!(
            BigUint::from_bytes_be(&parts.dq),
            BigUint::from(2753u32 % 52)
        );
        // 53 * 38 = 2014 = 33 * 61 + 1
        assert_eq!(parts.qi.as_slice(), &[38]);
    }

    #[test]
    fn refuses_a_wrong_private_exponent() {
        let public = RsaPublicParts {
            n: BigUint::from(3233u32).to_bytes_be(),
            e: vec![17],
        };
        let result = recover_crt_parameters(public, Zeroizing::new(vec![0x0A, 0xC2]));
        assert!(result.is_err());
    }
}
