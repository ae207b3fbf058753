//! The one error type of the asymmetric layer.

use std::fmt;

use super::algorithm::{Algorithm, Curve, KeyKind};

/// Why a key could not be loaded or used.
///
/// Each kind is distinct so that the Python layer can pick the exception and
/// message PyJWT gives for the same situation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// The input is not a key in any accepted encoding (the reason is for humans).
    Unparseable(&'static str),
    /// A password-protected private key; passwords are not supported.
    Encrypted,
    /// A well-formed key of a type JWS has no algorithm for (DSA, X25519, ...).
    UnsupportedKeyType(String),
    /// An elliptic curve other than P-256, P-384, P-521 and secp256k1; holds its
    /// OpenSSL-style name (`secp192r1`) or dotted OID.
    UnsupportedCurve(String),
    /// The key is recognised but its values are invalid or inconsistent.
    InvalidKey(&'static str),
    /// The private and public halves given together do not belong to each other.
    KeyMismatch,
    /// A JWK member is missing, of the wrong type, not base64url or of the wrong length.
    InvalidJwk(JwkProblem),
    /// The algorithm is not one this layer implements (HS256, none, ...).
    UnknownAlgorithm(String),
    /// The key's family does not serve the algorithm (an RSA key for ES256, ...).
    WrongFamily { algorithm: Algorithm, key: KeyKind },
    /// An EC key on another curve than the one the algorithm is defined on.
    CurveMismatch {
        algorithm: Algorithm,
        key: Curve,
        expected: Curve,
    },
    /// Signing needs a private key.
    NotPrivate,
    /// RSA verification needs a public key (as in PyJWT, where a private key fails).
    NotPublic,
    /// The backend cannot sign with an RSA key of this size (it signs with 2048 to 8192 bits).
    UnsupportedKeySize { bits: usize },
    /// The backend failed in a way the inputs do not explain.
    Backend,
}

/// What is wrong with a JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwkProblem {
    /// `kty` is absent or names no supported key type; holds its value if it was a string.
    UnsupportedKty(Option<String>),
    /// `crv` names no supported curve; holds its value if it was a string.
    UnsupportedCrv(Option<String>),
    /// A member the key type requires is absent.
    Missing(&'static str),
    /// A member is present but is not a JSON string.
    NotAString(&'static str),
    /// A member is not valid base64url.
    NotBase64(&'static str),
    /// An EC coordinate has the wrong length for the curve.
    CoordinateLength { crv: &'static str, expected: usize },
    /// An EC `d` does not have the length of `x`.
    PrivateLength { crv: &'static str, expected: usize },
    /// An RSA private key lists some of `p`, `q`, `dp`, `dq`, `qi` but not all.
    PartialCrtParameters,
    /// An RSA private key with `oth` (more than two primes).
    MultiPrime,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unparseable(reason) => write!(f, "could not parse the key: {reason}"),
            Self::Encrypted => f.write_str("the private key is encrypted"),
            Self::UnsupportedKeyType(name) => write!(f, "unsupported key type: {name}"),
            Self::UnsupportedCurve(name) => write!(f, "unsupported curve: {name}"),
            Self::InvalidKey(reason) => write!(f, "invalid key: {reason}"),
            Self::KeyMismatch => f.write_str("public key does not match private key"),
            Self::InvalidJwk(problem) => write!(f, "invalid JWK: {problem}"),
            Self::UnknownAlgorithm(name) => write!(f, "unknown algorithm: {name}"),
            Self::WrongFamily { algorithm, key } => {
                write!(f, "an {key} key cannot be used with {algorithm}")
            }
            Self::CurveMismatch {
                key,
                expected,
                algorithm,
            } => write!(
                f,
                "the key's curve '{}' does not match the expected curve '{}' for {algorithm}",
                key.openssl_name(),
                expected.openssl_name()
            ),
            Self::NotPrivate => f.write_str("signing requires a private key"),
            Self::NotPublic => f.write_str("RSA verification requires a public key"),
            Self::UnsupportedKeySize { bits } => {
                write!(
                    f,
                    "cannot sign with a {bits}-bit RSA key (2048 to 8192 bits are supported)"
                )
            }
            Self::Backend => f.write_str("the cryptographic backend failed"),
        }
    }
}

impl fmt::Display for JwkProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedKty(Some(kty)) => write!(f, "unsupported kty {kty:?}"),
            Self::UnsupportedKty(None) => f.write_str("missing or non-string kty"),
            Self::UnsupportedCrv(Some(crv)) => write!(f, "unsupported crv {crv:?}"),
            Self::UnsupportedCrv(None) => f.write_str("missing or non-string crv"),
            Self::Missing(name) => write!(f, "missing member {name:?}"),
            Self::NotAString(name) => write!(f, "member {name:?} is not a string"),
            Self::NotBase64(name) => write!(f, "member {name:?} is not base64url"),
            Self::CoordinateLength { crv, expected } => {
                write!(f, "coordinates should be {expected} bytes for curve {crv}")
            }
            Self::PrivateLength { crv, expected } => {
                write!(f, "d should be {expected} bytes for curve {crv}")
            }
            Self::PartialCrtParameters => {
                f.write_str("RSA key must include all of p, q, dp, dq, qi if any is present")
            }
            Self::MultiPrime => f.write_str("RSA keys with more than two primes are not supported"),
        }
    }
}

impl std::error::Error for CryptoError {}

impl From<JwkProblem> for CryptoError {
    fn from(problem: JwkProblem) -> Self {
        Self::InvalidJwk(problem)
    }
}
