//! ECDSA keys on P-256, P-384, P-521 and secp256k1 through aws-lc-rs, with the
//! raw `r || s` signatures of JWS (RFC 7518 §3.4).

use aws_lc_rs::encoding::{AsBigEndian, EcPrivateKeyBin};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, KeyPair as _,
    ParsedPublicKey,
};
use num_bigint::BigUint;
use zeroize::Zeroizing;

use super::algorithm::Curve;
use super::error::CryptoError;

const fn verification_algorithm(curve: Curve) -> &'static EcdsaVerificationAlgorithm {
    match curve {
        Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
        Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
        Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
        Curve::Secp256k1 => &signature::ECDSA_P256K1_SHA256_FIXED,
    }
}

const fn signing_algorithm(curve: Curve) -> &'static EcdsaSigningAlgorithm {
    match curve {
        Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        Curve::Secp256k1 => &signature::ECDSA_P256K1_SHA256_FIXED_SIGNING,
    }
}

pub(crate) struct EcPublicKey {
    curve: Curve,
    /// SEC1 uncompressed form: `04 || x || y`.
    point: Vec<u8>,
    verifier: ParsedPublicKey,
}

impl EcPublicKey {
    /// Accepts a SEC1 point, uncompressed or compressed; the backend checks it is on the curve.
    pub(crate) fn new(curve: Curve, encoded: &[u8]) -> Result<Self, CryptoError> {
        let point = match encoded.first() {
            Some(0x04) => encoded.to_vec(),
            Some(0x02 | 0x03) => decompress(curve, encoded)?,
            _ => return Err(CryptoError::InvalidKey("unsupported EC point encoding")),
        };
        if point.len() != 1 + 2 * curve.coordinate_len() {
            return Err(CryptoError::InvalidKey("EC point has the wrong length"));
        }
        let verifier = ParsedPublicKey::new(verification_algorithm(curve), &point)
            .map_err(|_| CryptoError::InvalidKey("EC point is not on the curve"))?;
        Ok(Self {
            curve,
            point,
            verifier,
        })
    }

    pub(crate) const fn curve(&self) -> Curve {
        self.curve
    }

    /// The affine coordinates, each `coordinate_len` bytes.
    pub(crate) fn coordinates(&self) -> (&[u8], &[u8]) {
        let xy = self.point.get(1..).unwrap_or_default();
        xy.split_at_checked(self.curve.coordinate_len())
            .unwrap_or_default()
    }

    /// Verifies a raw `r || s` signature; any other length (DER included) is false.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        signature.len() == 2 * self.curve.coordinate_len()
            && self.verifier.verify_sig(message, signature).is_ok()
    }
}

pub(crate) struct EcPrivateKey {
    public: EcPublicKey,
    signer: EcdsaKeyPair,
}

impl EcPrivateKey {
    /// From PKCS#8 or SEC1 DER; the public point is derived if the document omits it.
    pub(crate) fn from_der(curve: Curve, der: &[u8]) -> Result<Self, CryptoError> {
        let signer = EcdsaKeyPair::from_private_key_der(signing_algorithm(curve), der)
            .map_err(|_| CryptoError::InvalidKey("the backend rejected the EC private key"))?;
        Self::with_signer(curve, signer)
    }

    /// From the fixed-length private scalar and the uncompressed public point (JWK).
    pub(crate) fn from_scalar(curve: Curve, d: &[u8], point: &[u8]) -> Result<Self, CryptoError> {
        // Validate the public half on its own first, so that an off-curve point and
        // a point of another key are told apart.
        EcPublicKey::new(curve, point)?;
        let signer =
            EcdsaKeyPair::from_private_key_and_public_key(signing_algorithm(curve), d, point)
                .map_err(|_| CryptoError::KeyMismatch)?;
        Self::with_signer(curve, signer)
    }

    fn with_signer(curve: Curve, signer: EcdsaKeyPair) -> Result<Self, CryptoError> {
        let public = EcPublicKey::new(curve, signer.public_key().as_ref())?;
        Ok(Self { public, signer })
    }

    pub(crate) const fn public(&self) -> &EcPublicKey {
        &self.public
    }

    /// The private scalar, `coordinate_len` bytes.
    pub(crate) fn scalar(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let bin: EcPrivateKeyBin<'static> = self
            .signer
            .private_key()
            .as_be_bytes()
            .map_err(|_| CryptoError::Backend)?;
        Ok(Zeroizing::new(bin.as_ref().to_vec()))
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let signature = self
            .signer
            .sign(&SystemRandom::new(), message)
            .map_err(|_| CryptoError::Backend)?;
        Ok(signature.as_ref().to_vec())
    }
}

/// Recovers `y` from a compressed point (SEC1 §2.3.4). All four curves have
/// p ≡ 3 (mod 4), so the square root is a single exponentiation. Public data only.
fn decompress(curve: Curve, encoded: &[u8]) -> Result<Vec<u8>, CryptoError> {
    const NOT_ON_CURVE: CryptoError = CryptoError::InvalidKey("EC point is not on the curve");
    let len = curve.coordinate_len();
    let (&prefix, x_bytes) = encoded.split_first().ok_or(NOT_ON_CURVE)?;
    if x_bytes.len() != len {
        return Err(CryptoError::InvalidKey("EC point has the wrong length"));
    }
    let (p, a_is_minus_3, b) = curve_equation(curve)?;
    let x = BigUint::from_bytes_be(x_bytes);
    if x >= p {
        return Err(NOT_ON_CURVE);
    }
    // y² = x³ + ax + b with a = -3 (NIST curves) or a = 0 (secp256k1)
    let mut rhs = (&x * &x * &x + &b) % &p;
    if a_is_minus_3 {
        rhs = (rhs + (&p - &x) * 3u8) % &p;
    }
    let exponent = (&p + 1u8) >> 2u8;
    let mut y = rhs.modpow(&exponent, &p);
    if (&y * &y) % &p != rhs {
        return Err(NOT_ON_CURVE);
    }
    if y.bit(0) != (prefix == 0x03) {
        if y == BigUint::ZERO {
            return Err(NOT_ON_CURVE);
        }
        y = &p - &y;
    }
    let y_bytes = y.to_bytes_be();
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(0x04);
    point.extend_from_slice(x_bytes);
    point.resize(1 + 2 * len - y_bytes.len(), 0);
    point.extend_from_slice(&y_bytes);
    Ok(point)
}

/// `(p, a == -3, b)` of the short Weierstrass equation.
fn curve_equation(curve: Curve) -> Result<(BigUint, bool, BigUint), CryptoError> {
    let power = |bits: u32| BigUint::from(1u8) << bits;
    let (p, a_is_minus_3, b_hex): (BigUint, bool, &[u8]) = match curve {
        Curve::P256 => (
            power(256) - power(224) + power(192) + power(96) - 1u8,
            true,
            b"5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
        ),
        Curve::P384 => (
            power(384) - power(128) - power(96) + power(32) - 1u8,
            true,
            b"b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
        ),
        Curve::P521 => (
            power(521) - 1u8,
            true,
            b"51953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
        ),
        Curve::Secp256k1 => (power(256) - power(32) - 977u16, false, b"07"),
    };
    let b = BigUint::parse_bytes(b_hex, 16).ok_or(CryptoError::Backend)?;
    Ok((p, a_is_minus_3, b))
}
