//! `AsymmetricKey`: a key parsed once and used for any number of signatures.

use std::fmt;

use zeroize::Zeroizing;

use super::algorithm::{Algorithm, Curve, KeyKind, OkpCurve, Scheme};
use super::ec::{EcPrivateKey, EcPublicKey};
use super::error::CryptoError;
use super::jwk::{self, JwkMembers};
use super::okp::{OkpPrivateKey, OkpPublicKey};
use super::pem::{self, PemKind};
use super::pkix::{self, Material};
use super::rsa::{RsaPrivateKey, RsaPublicKey};
use super::{okp, openssh};

/// The encoding a key was loaded from, for callers that accept only some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEncoding {
    /// PKCS#1 `RSA PRIVATE KEY` / `RSA PUBLIC KEY`.
    Pkcs1,
    /// PKCS#8 `PRIVATE KEY`.
    Pkcs8,
    /// X.509 `PUBLIC KEY` (SubjectPublicKeyInfo).
    Spki,
    /// SEC1 `EC PRIVATE KEY`.
    Sec1,
    /// The subject key of an X.509 certificate.
    Certificate,
    /// A one-line OpenSSH public key.
    OpenSsh,
    Jwk,
}

/// A public or private RSA, EC or EdDSA key.
pub struct AsymmetricKey {
    inner: Inner,
    encoding: KeyEncoding,
}

enum Inner {
    RsaPublic(RsaPublicKey),
    RsaPrivate(RsaPrivateKey),
    EcPublic(EcPublicKey),
    EcPrivate(EcPrivateKey),
    OkpPublic(OkpPublicKey),
    OkpPrivate(OkpPrivateKey),
}

/// A key's JWK parameters as big-endian bytes (the Python layer base64url-encodes them).
pub enum JwkComponents {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        private: Option<RsaPrivateComponents>,
    },
    /// `x` and `y` (and `d`) are `coordinate_len` bytes long.
    Ec {
        curve: Curve,
        x: Vec<u8>,
        y: Vec<u8>,
        d: Option<Zeroizing<Vec<u8>>>,
    },
    Okp {
        curve: OkpCurve,
        x: Vec<u8>,
        d: Option<Zeroizing<Vec<u8>>>,
    },
}

/// RSA private parameters without leading zero bytes.
pub struct RsaPrivateComponents {
    pub d: Zeroizing<Vec<u8>>,
    pub p: Zeroizing<Vec<u8>>,
    pub q: Zeroizing<Vec<u8>>,
    pub dp: Zeroizing<Vec<u8>>,
    pub dq: Zeroizing<Vec<u8>>,
    pub qi: Zeroizing<Vec<u8>>,
}

impl AsymmetricKey {
    /// Loads the first key of a PEM document: PKCS#1, PKCS#8, SubjectPublicKeyInfo,
    /// SEC1 or an X.509 certificate (whose public key is taken).
    pub fn from_pem(pem: &[u8]) -> Result<Self, CryptoError> {
        let block = pem::decode(pem)?;
        let material = pkix::decode(block.kind, &block.der)?;
        Self::build(material, encoding_of(block.kind))
    }

    /// Loads DER of any of the types `from_pem` takes, recognised by its structure.
    pub fn from_der(der: &[u8]) -> Result<Self, CryptoError> {
        let (kind, material) = pkix::decode_any(der)?;
        Self::build(material, encoding_of(kind))
    }

    /// Loads a one-line OpenSSH public key (`ssh-rsa`, `ecdsa-sha2-nistp*`,
    /// `ssh-ed25519`, `ssh-ed448`).
    pub fn from_openssh_public(line: &[u8]) -> Result<Self, CryptoError> {
        Self::build(openssh::decode(line)?, KeyEncoding::OpenSsh)
    }

    /// Loads an RSA, EC or OKP JWK.
    pub fn from_jwk(jwk: &impl JwkMembers) -> Result<Self, CryptoError> {
        Self::build(jwk::decode(jwk)?, KeyEncoding::Jwk)
    }

    fn build(material: Material, encoding: KeyEncoding) -> Result<Self, CryptoError> {
        let inner = match material {
            Material::RsaPublic(parts) => Inner::RsaPublic(RsaPublicKey::new(parts)?),
            Material::RsaPrivate(parts) => Inner::RsaPrivate(RsaPrivateKey::new(parts)?),
            Material::RsaPrivateExponent { public, d } => {
                Inner::RsaPrivate(RsaPrivateKey::from_private_exponent(public, d)?)
            }
            Material::EcPublic { curve, point } => {
                Inner::EcPublic(EcPublicKey::new(curve, &point)?)
            }
            Material::EcPrivate { curve, der } => {
                Inner::EcPrivate(EcPrivateKey::from_der(curve, &der)?)
            }
            Material::EcPrivateScalar { curve, d, point } => {
                Inner::EcPrivate(EcPrivateKey::from_scalar(curve, &d, &point)?)
            }
            Material::OkpPublic { curve, x } => Inner::OkpPublic(OkpPublicKey::new(curve, &x)?),
            Material::OkpPrivate { curve, seed, x } => {
                Inner::OkpPrivate(okp::OkpPrivateKey::new(curve, &seed, x.as_deref())?)
            }
        };
        Ok(Self { inner, encoding })
    }

    pub fn kind(&self) -> KeyKind {
        match &self.inner {
            Inner::RsaPublic(_) => KeyKind::RsaPublic,
            Inner::RsaPrivate(_) => KeyKind::RsaPrivate,
            Inner::EcPublic(key) => KeyKind::EcPublic(key.curve()),
            Inner::EcPrivate(key) => KeyKind::EcPrivate(key.public().curve()),
            Inner::OkpPublic(key) => KeyKind::OkpPublic(key.curve()),
            Inner::OkpPrivate(key) => KeyKind::OkpPrivate(key.public().curve()),
        }
    }

    pub const fn encoding(&self) -> KeyEncoding {
        self.encoding
    }

    /// The modulus size of an RSA key.
    pub fn rsa_bits(&self) -> Option<usize> {
        match &self.inner {
            Inner::RsaPublic(key) => Some(key.bits()),
            Inner::RsaPrivate(key) => Some(key.public().bits()),
            _ => None,
        }
    }

    /// The public (and for a private key, private) JWK parameters.
    pub fn to_jwk_components(&self) -> Result<JwkComponents, CryptoError> {
        let rsa_public = |key: &RsaPublicKey| (key.parts().n.clone(), key.parts().e.clone());
        let ec_public = |key: &EcPublicKey| {
            let (x, y) = key.coordinates();
            (key.curve(), x.to_vec(), y.to_vec())
        };
        Ok(match &self.inner {
            Inner::RsaPublic(key) => {
                let (n, e) = rsa_public(key);
                JwkComponents::Rsa {
                    n,
                    e,
                    private: None,
                }
            }
            Inner::RsaPrivate(key) => {
                let (n, e) = rsa_public(key.public());
                let secret = key.secret();
                let copy = |value: &Zeroizing<Vec<u8>>| Zeroizing::new(value.to_vec());
                JwkComponents::Rsa {
                    n,
                    e,
                    private: Some(RsaPrivateComponents {
                        d: copy(&secret.d),
                        p: copy(&secret.p),
                        q: copy(&secret.q),
                        dp: copy(&secret.dp),
                        dq: copy(&secret.dq),
                        qi: copy(&secret.qi),
                    }),
                }
            }
            Inner::EcPublic(key) => {
                let (curve, x, y) = ec_public(key);
                JwkComponents::Ec {
                    curve,
                    x,
                    y,
                    d: None,
                }
            }
            Inner::EcPrivate(key) => {
                let (curve, x, y) = ec_public(key.public());
                JwkComponents::Ec {
                    curve,
                    x,
                    y,
                    d: Some(key.scalar()?),
                }
            }
            Inner::OkpPublic(key) => JwkComponents::Okp {
                curve: key.curve(),
                x: key.x(),
                d: None,
            },
            Inner::OkpPrivate(key) => JwkComponents::Okp {
                curve: key.public().curve(),
                x: key.public().x(),
                d: Some(key.seed()?),
            },
        })
    }

    /// Checks that the key's family (and curve) serve `algorithm`, without using it.
    pub fn check_algorithm(&self, algorithm: Algorithm) -> Result<(), CryptoError> {
        let wrong_family = || CryptoError::WrongFamily {
            algorithm,
            key: self.kind(),
        };
        match (algorithm.scheme(), &self.inner) {
            (Scheme::Rsa(..), Inner::RsaPublic(_) | Inner::RsaPrivate(_))
            | (Scheme::EdDsa, Inner::OkpPublic(_) | Inner::OkpPrivate(_)) => Ok(()),
            (Scheme::Ecdsa(expected), Inner::EcPublic(key)) => {
                check_curve(algorithm, expected, key)
            }
            (Scheme::Ecdsa(expected), Inner::EcPrivate(key)) => {
                check_curve(algorithm, expected, key.public())
            }
            _ => Err(wrong_family()),
        }
    }

    /// Signs `message`. ECDSA signatures are raw `r || s`, each half the curve's
    /// coordinate length; EdDSA uses the key's curve.
    pub fn sign(&self, algorithm: Algorithm, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.check_algorithm(algorithm)?;
        match (algorithm.scheme(), &self.inner) {
            (Scheme::Rsa(padding, hash), Inner::RsaPrivate(key)) => {
                key.sign(padding, hash, message)
            }
            (Scheme::Ecdsa(_), Inner::EcPrivate(key)) => key.sign(message),
            (Scheme::EdDsa, Inner::OkpPrivate(key)) => key.sign(message),
            _ => Err(CryptoError::NotPrivate),
        }
    }

    /// Verifies `signature` over `message`. `Ok(false)` means the signature does
    /// not verify (including a DER or otherwise wrongly sized ECDSA signature);
    /// errors are reserved for a key that cannot serve the algorithm.
    pub fn verify(
        &self,
        algorithm: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, CryptoError> {
        self.check_algorithm(algorithm)?;
        match (algorithm.scheme(), &self.inner) {
            (Scheme::Rsa(padding, hash), Inner::RsaPublic(key)) => {
                key.verify(padding, hash, message, signature)
            }
            (Scheme::Rsa(..), Inner::RsaPrivate(_)) => Err(CryptoError::NotPublic),
            (Scheme::Ecdsa(_), Inner::EcPublic(key)) => Ok(key.verify(message, signature)),
            (Scheme::Ecdsa(_), Inner::EcPrivate(key)) => {
                Ok(key.public().verify(message, signature))
            }
            (Scheme::EdDsa, Inner::OkpPublic(key)) => Ok(key.verify(message, signature)),
            (Scheme::EdDsa, Inner::OkpPrivate(key)) => Ok(key.public().verify(message, signature)),
            _ => Err(CryptoError::Backend),
        }
    }
}

fn check_curve(
    algorithm: Algorithm,
    expected: Curve,
    key: &EcPublicKey,
) -> Result<(), CryptoError> {
    if key.curve() == expected {
        Ok(())
    } else {
        Err(CryptoError::CurveMismatch {
            algorithm,
            key: key.curve(),
            expected,
        })
    }
}

const fn encoding_of(kind: PemKind) -> KeyEncoding {
    match kind {
        PemKind::Pkcs1Private | PemKind::Pkcs1Public => KeyEncoding::Pkcs1,
        PemKind::Pkcs8 => KeyEncoding::Pkcs8,
        PemKind::Spki => KeyEncoding::Spki,
        PemKind::Sec1 => KeyEncoding::Sec1,
        PemKind::Certificate => KeyEncoding::Certificate,
    }
}

/// Names the key without printing any of its material.
impl fmt::Debug for AsymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsymmetricKey")
            .field("kind", &self.kind())
            .field("encoding", &self.encoding)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<AsymmetricKey>();
    }
}
