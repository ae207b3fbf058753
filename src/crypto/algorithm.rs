//! JWS asymmetric algorithm names, curves and key kinds.

use std::fmt;

use super::error::CryptoError;

/// A JWS signature algorithm based on a key pair (RFC 7518 §3.3-3.5, RFC 8037, RFC 8812).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES256K,
    ES384,
    /// ECDSA on P-521 with SHA-512; PyJWT also calls it ES521.
    ES512,
    /// Ed25519 or Ed448, whichever the key is.
    EdDSA,
}

/// The hash a signature algorithm applies to the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// Digest length in bytes; also the PSS salt length JWS prescribes.
    pub(crate) const fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    pub(crate) fn digest(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            Self::Sha256 => &aws_lc_rs::digest::SHA256,
            Self::Sha384 => &aws_lc_rs::digest::SHA384,
            Self::Sha512 => &aws_lc_rs::digest::SHA512,
        }
    }
}

/// The RSA signature padding of an algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RsaPadding {
    Pkcs1v15,
    /// PSS with MGF1 over the same hash and a salt as long as the digest.
    Pss,
}

/// How an algorithm signs: which key family and with which parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Rsa(RsaPadding, Hash),
    Ecdsa(Curve),
    EdDsa,
}

impl Algorithm {
    /// Every algorithm, in a stable order.
    pub const ALL: [Self; 11] = [
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES256K,
        Self::ES384,
        Self::ES512,
        Self::EdDSA,
    ];

    /// Looks up a JWS `alg` name; `ES521` is accepted as PyJWT's alias of `ES512`.
    pub fn from_name(name: &str) -> Result<Self, CryptoError> {
        Ok(match name {
            "RS256" => Self::RS256,
            "RS384" => Self::RS384,
            "RS512" => Self::RS512,
            "PS256" => Self::PS256,
            "PS384" => Self::PS384,
            "PS512" => Self::PS512,
            "ES256" => Self::ES256,
            "ES256K" => Self::ES256K,
            "ES384" => Self::ES384,
            "ES512" | "ES521" => Self::ES512,
            "EdDSA" => Self::EdDSA,
            other => return Err(CryptoError::UnknownAlgorithm(other.to_owned())),
        })
    }

    /// The RFC name (`ES512` for both of its spellings).
    pub const fn name(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES256K => "ES256K",
            Self::ES384 => "ES384",
            Self::ES512 => "ES512",
            Self::EdDSA => "EdDSA",
        }
    }

    pub(crate) const fn scheme(self) -> Scheme {
        match self {
            Self::RS256 => Scheme::Rsa(RsaPadding::Pkcs1v15, Hash::Sha256),
            Self::RS384 => Scheme::Rsa(RsaPadding::Pkcs1v15, Hash::Sha384),
            Self::RS512 => Scheme::Rsa(RsaPadding::Pkcs1v15, Hash::Sha512),
            Self::PS256 => Scheme::Rsa(RsaPadding::Pss, Hash::Sha256),
            Self::PS384 => Scheme::Rsa(RsaPadding::Pss, Hash::Sha384),
            Self::PS512 => Scheme::Rsa(RsaPadding::Pss, Hash::Sha512),
            Self::ES256 => Scheme::Ecdsa(Curve::P256),
            Self::ES256K => Scheme::Ecdsa(Curve::Secp256k1),
            Self::ES384 => Scheme::Ecdsa(Curve::P384),
            Self::ES512 => Scheme::Ecdsa(Curve::P521),
            Self::EdDSA => Scheme::EdDsa,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The elliptic curves of JWS ECDSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    P256,
    P384,
    P521,
    Secp256k1,
}

impl Curve {
    /// Bytes in one coordinate, in the private scalar, and in each half of a raw signature.
    pub const fn coordinate_len(self) -> usize {
        match self {
            Self::P256 | Self::Secp256k1 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }

    /// The JWK `crv` name.
    pub const fn jwk_name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
            Self::Secp256k1 => "secp256k1",
        }
    }

    /// The OpenSSL / `cryptography` name, which PyJWT puts in its messages.
    pub const fn openssl_name(self) -> &'static str {
        match self {
            Self::P256 => "secp256r1",
            Self::P384 => "secp384r1",
            Self::P521 => "secp521r1",
            Self::Secp256k1 => "secp256k1",
        }
    }

    /// The algorithm defined on this curve.
    pub const fn algorithm(self) -> Algorithm {
        match self {
            Self::P256 => Algorithm::ES256,
            Self::P384 => Algorithm::ES384,
            Self::P521 => Algorithm::ES512,
            Self::Secp256k1 => Algorithm::ES256K,
        }
    }

    pub(crate) fn from_jwk_name(name: &str) -> Option<Self> {
        match name {
            "P-256" => Some(Self::P256),
            "P-384" => Some(Self::P384),
            "P-521" => Some(Self::P521),
            "secp256k1" => Some(Self::Secp256k1),
            _ => None,
        }
    }
}

/// The Edwards curves of JWS EdDSA (RFC 8037).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OkpCurve {
    Ed25519,
    Ed448,
}

impl OkpCurve {
    /// Length of the public key and of the private seed.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Ed25519 => 32,
            Self::Ed448 => 57,
        }
    }

    /// Length of a signature.
    pub const fn signature_len(self) -> usize {
        2 * self.key_len()
    }

    /// The JWK `crv` name, which is also the `cryptography` class stem.
    pub const fn jwk_name(self) -> &'static str {
        match self {
            Self::Ed25519 => "Ed25519",
            Self::Ed448 => "Ed448",
        }
    }

    pub(crate) fn from_jwk_name(name: &str) -> Option<Self> {
        match name {
            "Ed25519" => Some(Self::Ed25519),
            "Ed448" => Some(Self::Ed448),
            _ => None,
        }
    }
}

/// What a loaded key is: family, curve and whether it holds the private half.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    RsaPublic,
    RsaPrivate,
    EcPublic(Curve),
    EcPrivate(Curve),
    OkpPublic(OkpCurve),
    OkpPrivate(OkpCurve),
}

impl KeyKind {
    pub const fn is_private(self) -> bool {
        matches!(
            self,
            Self::RsaPrivate | Self::EcPrivate(_) | Self::OkpPrivate(_)
        )
    }

    /// The JWK `kty` of the family.
    pub const fn kty(self) -> &'static str {
        match self {
            Self::RsaPublic | Self::RsaPrivate => "RSA",
            Self::EcPublic(_) | Self::EcPrivate(_) => "EC",
            Self::OkpPublic(_) | Self::OkpPrivate(_) => "OKP",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let half = if self.is_private() {
            "private"
        } else {
            "public"
        };
        match self {
            Self::RsaPublic | Self::RsaPrivate => write!(f, "RSA {half}"),
            Self::EcPublic(curve) | Self::EcPrivate(curve) => {
                write!(f, "EC {} {half}", curve.jwk_name())
            }
            Self::OkpPublic(curve) | Self::OkpPrivate(curve) => {
                write!(f, "{} {half}", curve.jwk_name())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_es521_is_es512() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Ok(alg));
        }
        assert_eq!(Algorithm::from_name("ES521"), Ok(Algorithm::ES512));
        assert_eq!(
            Algorithm::from_name("HS256"),
            Err(CryptoError::UnknownAlgorithm("HS256".into()))
        );
        assert!(Algorithm::from_name("es256").is_err());
    }

    #[test]
    fn each_curve_belongs_to_one_algorithm() {
        for curve in [Curve::P256, Curve::P384, Curve::P521, Curve::Secp256k1] {
            assert_eq!(curve.algorithm().scheme(), Scheme::Ecdsa(curve));
            assert_eq!(Curve::from_jwk_name(curve.jwk_name()), Some(curve));
        }
    }
}
