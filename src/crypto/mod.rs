//! Asymmetric JWS signatures: RS*, PS*, ES* and EdDSA.
//!
//! Keys are loaded once from PEM, DER, OpenSSH or JWK into an [`AsymmetricKey`]
//! and then sign and verify without further parsing. The cryptography is done by
//! aws-lc-rs, except Ed448 (`ed448-goldilocks`) and RSA verification with keys
//! outside aws-lc-rs's 2048-8192-bit range (see `rsa_fallback`).

mod algorithm;
mod der;
mod ec;
mod error;
mod jwk;
mod key;
mod okp;
mod openssh;
mod pem;
mod pkix;
mod rsa;
mod rsa_fallback;

pub use algorithm::{Algorithm, Curve, KeyKind, OkpCurve};
pub use error::{CryptoError, JwkProblem};
pub use jwk::{JwkMember, JwkMembers};
pub use key::{AsymmetricKey, JwkComponents, KeyEncoding, RsaPrivateComponents};
