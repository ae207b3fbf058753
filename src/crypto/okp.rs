//! EdDSA keys (RFC 8037): Ed25519 through aws-lc-rs, Ed448 through
//! `ed448-goldilocks`.
//!
//! aws-lc-rs has no Ed448. `ed448-goldilocks` is the RustCrypto project's
//! implementation (repository RustCrypto/elliptic-curves, maintained with its
//! p256/p384/k256 crates, signature types from RustCrypto's `ed448` crate):
//! pure Rust without `unsafe` in its signing path, constant-time field and
//! scalar arithmetic, and a `SigningKey` that zeroizes itself on drop. Its
//! only rival, `ed448-goldilocks-plus`, is a single-maintainer fork of the same
//! code. Its 0.14 line is still a pre-release, hence the exact version pin;
//! the Wycheproof Ed448 vectors run against it in the tests.

use aws_lc_rs::encoding::{AsBigEndian, Curve25519SeedBin};
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair as _, ParsedPublicKey};
use ed448_goldilocks as ed448;
use zeroize::Zeroizing;

use super::algorithm::OkpCurve;
use super::error::CryptoError;

pub(crate) enum OkpPublicKey {
    Ed25519 {
        x: Vec<u8>,
        verifier: ParsedPublicKey,
    },
    /// Boxed: the expanded point is several times the size of the other variant.
    Ed448(Box<ed448::VerifyingKey>),
}

impl OkpPublicKey {
    pub(crate) fn new(curve: OkpCurve, x: &[u8]) -> Result<Self, CryptoError> {
        const BAD_POINT: CryptoError = CryptoError::InvalidKey("invalid EdDSA public key");
        if x.len() != curve.key_len() {
            return Err(CryptoError::InvalidKey(
                "EdDSA public key has the wrong length",
            ));
        }
        match curve {
            OkpCurve::Ed25519 => {
                let verifier =
                    ParsedPublicKey::new(&signature::ED25519, x).map_err(|_| BAD_POINT)?;
                Ok(Self::Ed25519 {
                    x: x.to_vec(),
                    verifier,
                })
            }
            OkpCurve::Ed448 => {
                if !ed448_encoding_is_canonical(x) {
                    return Err(BAD_POINT);
                }
                let bytes: &[u8; 57] = x.try_into().map_err(|_| BAD_POINT)?;
                let key = ed448::VerifyingKey::from_bytes(bytes).map_err(|_| BAD_POINT)?;
                Ok(Self::Ed448(Box::new(key)))
            }
        }
    }

    pub(crate) const fn curve(&self) -> OkpCurve {
        match self {
            Self::Ed25519 { .. } => OkpCurve::Ed25519,
            Self::Ed448(_) => OkpCurve::Ed448,
        }
    }

    pub(crate) fn x(&self) -> Vec<u8> {
        match self {
            Self::Ed25519 { x, .. } => x.clone(),
            Self::Ed448(key) => key.to_bytes().to_vec(),
        }
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        if signature.len() != self.curve().signature_len() {
            return false;
        }
        match self {
            Self::Ed25519 { verifier, .. } => verifier.verify_sig(message, signature).is_ok(),
            Self::Ed448(key) => {
                let r = signature
                    .get(..OkpCurve::Ed448.key_len())
                    .unwrap_or_default();
                ed448_encoding_is_canonical(r)
                    && ed448::Signature::try_from(signature)
                        .is_ok_and(|signature| key.verify_raw(&signature, message).is_ok())
            }
        }
    }
}

/// RFC 8032 §5.2.3: in an encoded Ed448 point, bits 448 to 454 (the low bits of
/// the last byte, below the sign bit of x) must be zero. `ed448-goldilocks`
/// ignores them, which would let a signature's R be re-encoded in 127 more
/// ways (Wycheproof ed448 #63-65); checked here for R and for public keys.
fn ed448_encoding_is_canonical(point: &[u8]) -> bool {
    point.len() == OkpCurve::Ed448.key_len() && point.last().is_some_and(|&last| last & 0x7F == 0)
}

pub(crate) enum OkpSigner {
    Ed25519(Ed25519KeyPair),
    /// Boxed for size; the key zeroizes itself when the box is dropped.
    Ed448(Box<ed448::SigningKey>),
}

pub(crate) struct OkpPrivateKey {
    public: OkpPublicKey,
    signer: OkpSigner,
}

impl OkpPrivateKey {
    /// From the RFC 8032 private key; `x`, when given, must be its public key.
    pub(crate) fn new(curve: OkpCurve, seed: &[u8], x: Option<&[u8]>) -> Result<Self, CryptoError> {
        if seed.len() != curve.key_len() {
            return Err(CryptoError::InvalidKey(
                "EdDSA private key has the wrong length",
            ));
        }
        let signer = match curve {
            OkpCurve::Ed25519 => OkpSigner::Ed25519(
                Ed25519KeyPair::from_seed_unchecked(seed)
                    .map_err(|_| CryptoError::InvalidKey("invalid Ed25519 private key"))?,
            ),
            OkpCurve::Ed448 => OkpSigner::Ed448(Box::new(
                ed448::SigningKey::try_from(seed)
                    .map_err(|_| CryptoError::InvalidKey("invalid Ed448 private key"))?,
            )),
        };
        let public = match &signer {
            OkpSigner::Ed25519(pair) => OkpPublicKey::new(curve, pair.public_key().as_ref())?,
            // Taken as it is: decoding its bytes again would cost a square root.
            OkpSigner::Ed448(key) => OkpPublicKey::Ed448(Box::new(key.verifying_key())),
        };
        if let Some(x) = x {
            // Compared in constant time although public, for uniformity with the rest.
            if !bool::from(subtle::ConstantTimeEq::ct_eq(x, public.x().as_slice())) {
                return Err(CryptoError::KeyMismatch);
            }
        }
        Ok(Self { public, signer })
    }

    pub(crate) const fn public(&self) -> &OkpPublicKey {
        &self.public
    }

    /// The RFC 8032 private key (the seed).
    pub(crate) fn seed(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        match &self.signer {
            OkpSigner::Ed25519(pair) => {
                let seed: Curve25519SeedBin<'static> = pair
                    .seed()
                    .and_then(|seed| seed.as_be_bytes())
                    .map_err(|_| CryptoError::Backend)?;
                Ok(Zeroizing::new(seed.as_ref().to_vec()))
            }
            OkpSigner::Ed448(key) => Ok(Zeroizing::new(key.as_bytes().to_vec())),
        }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match &self.signer {
            OkpSigner::Ed25519(pair) => pair
                .try_sign(message)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| CryptoError::Backend),
            OkpSigner::Ed448(key) => Ok(key.sign_raw(message).to_bytes().to_vec()),
        }
    }
}
