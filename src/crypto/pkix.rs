//! Key containers: SubjectPublicKeyInfo, PKCS#8, PKCS#1, SEC1 and X.509 certificates.
//!
//! These functions only take the containers apart and name the key type; the
//! numbers and points themselves are validated by the backend when the key is
//! built (see `rsa`, `ec` and `okp`).

use zeroize::Zeroizing;

use super::algorithm::{Curve, OkpCurve};
use super::der::{self, oid, Reader};
use super::error::CryptoError;
use super::pem::PemKind;

/// RSA public numbers as big-endian bytes without leading zeros.
#[derive(Clone)]
pub(crate) struct RsaPublicParts {
    pub(crate) n: Vec<u8>,
    pub(crate) e: Vec<u8>,
}

/// RSA private numbers (two primes), big-endian, zeroized on drop.
pub(crate) struct RsaPrivateParts {
    pub(crate) public: RsaPublicParts,
    pub(crate) d: Zeroizing<Vec<u8>>,
    pub(crate) p: Zeroizing<Vec<u8>>,
    pub(crate) q: Zeroizing<Vec<u8>>,
    pub(crate) dp: Zeroizing<Vec<u8>>,
    pub(crate) dq: Zeroizing<Vec<u8>>,
    pub(crate) qi: Zeroizing<Vec<u8>>,
}

/// A key taken out of its container, not yet validated.
pub(crate) enum Material {
    RsaPublic(RsaPublicParts),
    RsaPrivate(RsaPrivateParts),
    /// A JWK with `d` but no CRT parameters: the primes must be recovered.
    RsaPrivateExponent {
        public: RsaPublicParts,
        d: Zeroizing<Vec<u8>>,
    },
    /// An encoded point (SEC1 uncompressed or compressed form).
    EcPublic {
        curve: Curve,
        point: Vec<u8>,
    },
    /// A PKCS#8 or SEC1 document, which the backend parses itself.
    EcPrivate {
        curve: Curve,
        der: Zeroizing<Vec<u8>>,
    },
    /// A JWK's fixed-length private scalar with its uncompressed public point.
    EcPrivateScalar {
        curve: Curve,
        d: Zeroizing<Vec<u8>>,
        point: Vec<u8>,
    },
    OkpPublic {
        curve: OkpCurve,
        x: Vec<u8>,
    },
    /// The RFC 8032 private key (seed), with the public key when the container has it.
    OkpPrivate {
        curve: OkpCurve,
        seed: Zeroizing<Vec<u8>>,
        x: Option<Vec<u8>>,
    },
}

/// Decodes the DER a PEM label announced.
pub(crate) fn decode(kind: PemKind, der: &[u8]) -> Result<Material, CryptoError> {
    match kind {
        PemKind::Pkcs1Private => rsa_private_key(der).map(Material::RsaPrivate),
        PemKind::Pkcs1Public => rsa_public_key(der).map(Material::RsaPublic),
        PemKind::Pkcs8 => private_key_info(der),
        PemKind::Spki => subject_public_key_info(der),
        PemKind::Sec1 => ec_private_key(der, None).map(|curve| Material::EcPrivate {
            curve,
            der: Zeroizing::new(der.to_vec()),
        }),
        PemKind::Certificate => certificate(der),
    }
}

/// Decodes DER of unknown type by trying each container in turn.
pub(crate) fn decode_any(der: &[u8]) -> Result<(PemKind, Material), CryptoError> {
    if is_encrypted_private_key_info(der) {
        return Err(CryptoError::Encrypted);
    }
    for kind in [
        PemKind::Spki,
        PemKind::Pkcs8,
        PemKind::Pkcs1Private,
        PemKind::Pkcs1Public,
        PemKind::Sec1,
        PemKind::Certificate,
    ] {
        match decode(kind, der) {
            Ok(material) => return Ok((kind, material)),
            // A container that parsed but held an unsupported key says more than "malformed".
            Err(err @ (CryptoError::UnsupportedKeyType(_) | CryptoError::UnsupportedCurve(_))) => {
                return Err(err)
            }
            Err(_) => {}
        }
    }
    Err(CryptoError::Unparseable("not a DER key or certificate"))
}

/// `SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }`
pub(crate) fn subject_public_key_info(der: &[u8]) -> Result<Material, CryptoError> {
    let mut spki = Reader::single(der, der::SEQUENCE)?;
    let algorithm = spki.expect(der::SEQUENCE)?;
    let key = spki.bit_string()?;
    spki.finish()?;
    match key_algorithm(algorithm)? {
        KeyAlgorithm::Rsa => rsa_public_key(key).map(Material::RsaPublic),
        KeyAlgorithm::Ec(curve) => Ok(Material::EcPublic {
            curve,
            point: key.to_vec(),
        }),
        KeyAlgorithm::Okp(curve) => Ok(Material::OkpPublic {
            curve,
            x: key.to_vec(),
        }),
    }
}

/// `PrivateKeyInfo`/`OneAsymmetricKey` (RFC 5208, RFC 5958).
fn private_key_info(der: &[u8]) -> Result<Material, CryptoError> {
    let mut info = Reader::single(der, der::SEQUENCE)?;
    let version = info.small_integer()?;
    if version > 1 {
        return Err(CryptoError::Unparseable("unknown PKCS#8 version"));
    }
    let algorithm = info.expect(der::SEQUENCE)?;
    let private_key = info.expect(der::OCTET_STRING)?;
    let _attributes = info.optional(der::CONTEXT_0)?;
    let public_key = match info.optional(der::CONTEXT_1_PRIMITIVE)? {
        Some([0, key @ ..]) => Some(key),
        Some(_) => return Err(CryptoError::Unparseable("malformed DER")),
        None => None,
    };
    info.finish()?;

    match key_algorithm(algorithm)? {
        KeyAlgorithm::Rsa => rsa_private_key(private_key).map(Material::RsaPrivate),
        KeyAlgorithm::Ec(curve) => {
            ec_private_key(private_key, Some(curve))?;
            Ok(Material::EcPrivate {
                curve,
                der: Zeroizing::new(der.to_vec()),
            })
        }
        KeyAlgorithm::Okp(curve) => {
            // CurvePrivateKey ::= OCTET STRING (RFC 8410 §7)
            let seed = Reader::single(private_key, der::OCTET_STRING)?.remaining();
            let seed = Zeroizing::new(seed.to_vec());
            Ok(Material::OkpPrivate {
                curve,
                seed,
                x: public_key.map(<[u8]>::to_vec),
            })
        }
    }
}

/// `RSAPrivateKey` (RFC 8017 §A.1.2), two-prime form only.
fn rsa_private_key(der: &[u8]) -> Result<RsaPrivateParts, CryptoError> {
    let mut key = Reader::single(der, der::SEQUENCE)?;
    match key.small_integer()? {
        0 => {}
        // Version 1 with a modulus next is multi-prime; SEC1 keys also start with 1.
        1 if key.peek_tag() == Some(der::INTEGER) => {
            return Err(CryptoError::UnsupportedKeyType("multi-prime RSA".into()))
        }
        _ => return Err(CryptoError::Unparseable("unknown RSAPrivateKey version")),
    }
    let public = RsaPublicParts {
        n: key.unsigned_integer()?.to_vec(),
        e: key.unsigned_integer()?.to_vec(),
    };
    let mut secret = || -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        Ok(Zeroizing::new(key.unsigned_integer()?.to_vec()))
    };
    let parts = RsaPrivateParts {
        public,
        d: secret()?,
        p: secret()?,
        q: secret()?,
        dp: secret()?,
        dq: secret()?,
        qi: secret()?,
    };
    key.finish()?;
    Ok(parts)
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`
fn rsa_public_key(der: &[u8]) -> Result<RsaPublicParts, CryptoError> {
    let mut key = Reader::single(der, der::SEQUENCE)?;
    let n = key.unsigned_integer()?.to_vec();
    let e = key.unsigned_integer()?.to_vec();
    key.finish()?;
    Ok(RsaPublicParts { n, e })
}

/// Checks the shape of a SEC1 `ECPrivateKey` (RFC 5915) and returns its curve:
/// the one in its own parameters, else `outer` (from the PKCS#8 algorithm).
fn ec_private_key(der: &[u8], outer: Option<Curve>) -> Result<Curve, CryptoError> {
    let mut key = Reader::single(der, der::SEQUENCE)?;
    if key.small_integer()? != 1 {
        return Err(CryptoError::Unparseable("unknown ECPrivateKey version"));
    }
    let _scalar = key.expect(der::OCTET_STRING)?;
    let inner = match key.optional(der::CONTEXT_0)? {
        Some(parameters) => Some(named_curve(parameters)?),
        None => None,
    };
    let _public_key = key.optional(der::CONTEXT_1)?;
    key.finish()?;
    match (inner, outer) {
        (Some(a), Some(b)) if a != b => Err(CryptoError::InvalidKey(
            "the EC private key names two different curves",
        )),
        (Some(curve), _) | (None, Some(curve)) => Ok(curve),
        (None, None) => Err(CryptoError::Unparseable(
            "the EC private key does not name its curve",
        )),
    }
}

/// An X.509 certificate's subject public key.
fn certificate(der: &[u8]) -> Result<Material, CryptoError> {
    let mut certificate = Reader::single(der, der::SEQUENCE)?;
    let mut tbs = Reader::new(certificate.expect(der::SEQUENCE)?);
    let _signature_algorithm = certificate.expect(der::SEQUENCE)?;
    let _signature = certificate.expect(der::BIT_STRING)?;
    certificate.finish()?;

    let _version = tbs.optional(der::CONTEXT_0)?;
    let _serial = tbs.expect(der::INTEGER)?;
    let _signature = tbs.expect(der::SEQUENCE)?;
    let _issuer = tbs.expect(der::SEQUENCE)?;
    let _validity = tbs.expect(der::SEQUENCE)?;
    let _subject = tbs.expect(der::SEQUENCE)?;
    // Re-wrap the SubjectPublicKeyInfo so that it is read exactly as a PUBLIC KEY block is.
    let spki_start = tbs;
    let _spki = tbs.expect(der::SEQUENCE)?;
    let spki_len = spki_start.remaining().len() - tbs.remaining().len();
    let spki = spki_start
        .remaining()
        .get(..spki_len)
        .ok_or(CryptoError::Unparseable("malformed DER"))?;
    subject_public_key_info(spki)
}

/// `EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }`, whose
/// algorithm is a password-based scheme; told apart from the key containers by shape.
fn is_encrypted_private_key_info(der: &[u8]) -> bool {
    let Ok(mut info) = Reader::single(der, der::SEQUENCE) else {
        return false;
    };
    let Ok(algorithm) = info.expect(der::SEQUENCE) else {
        return false;
    };
    let Ok(oid) = Reader::new(algorithm).expect(der::OID) else {
        return false;
    };
    // 1.2.840.113549.1.5 (PKCS#5) and 1.2.840.113549.1.12.1 (PKCS#12 PBE)
    let password_based = oid.starts_with(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05])
        || oid.starts_with(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x01]);
    password_based && info.expect(der::OCTET_STRING).is_ok() && info.is_empty()
}

enum KeyAlgorithm {
    Rsa,
    Ec(Curve),
    Okp(OkpCurve),
}

/// Reads an `AlgorithmIdentifier` of a key.
fn key_algorithm(contents: &[u8]) -> Result<KeyAlgorithm, CryptoError> {
    let mut algorithm = Reader::new(contents);
    let id = algorithm.expect(der::OID)?;
    let found = match id {
        // RSASSA-PSS keys are used as plain RSA keys, as `cryptography` does.
        oid::RSA_ENCRYPTION | oid::RSASSA_PSS => {
            let _parameters = algorithm.optional(der::NULL)?;
            let _pss_parameters = algorithm.optional(der::SEQUENCE)?;
            KeyAlgorithm::Rsa
        }
        oid::EC_PUBLIC_KEY => {
            let (tag, parameters) = algorithm.read_any()?;
            if tag != der::OID {
                return Err(CryptoError::UnsupportedCurve(
                    "explicit curve parameters".into(),
                ));
            }
            KeyAlgorithm::Ec(curve_from_oid(parameters)?)
        }
        oid::ED25519 => KeyAlgorithm::Okp(OkpCurve::Ed25519),
        oid::ED448 => KeyAlgorithm::Okp(OkpCurve::Ed448),
        other => return Err(CryptoError::UnsupportedKeyType(key_type_name(other))),
    };
    algorithm.finish()?;
    Ok(found)
}

/// ECParameters as found in SEC1 `[0]`: only `namedCurve` is supported.
fn named_curve(parameters: &[u8]) -> Result<Curve, CryptoError> {
    let mut reader = Reader::new(parameters);
    let (tag, contents) = reader.read_any()?;
    reader.finish()?;
    if tag == der::OID {
        curve_from_oid(contents)
    } else {
        Err(CryptoError::UnsupportedCurve(
            "explicit curve parameters".into(),
        ))
    }
}

fn curve_from_oid(id: &[u8]) -> Result<Curve, CryptoError> {
    match id {
        oid::P256 => Ok(Curve::P256),
        oid::P384 => Ok(Curve::P384),
        oid::P521 => Ok(Curve::P521),
        oid::SECP256K1 => Ok(Curve::Secp256k1),
        other => {
            let name = oid::OTHER_CURVES
                .iter()
                .find(|(known, _)| *known == other)
                .map_or_else(|| oid::dotted(other), |(_, name)| (*name).to_owned());
            Err(CryptoError::UnsupportedCurve(name))
        }
    }
}

fn key_type_name(id: &[u8]) -> String {
    match id {
        oid::X25519 => "X25519".into(),
        oid::X448 => "X448".into(),
        oid::DSA => "DSA".into(),
        oid::DH => "DH".into(),
        other => oid::dotted(other),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn unknown_curves_are_named() {
        let secp192r1 = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x01];
        assert_eq!(
            curve_from_oid(&secp192r1).err(),
            Some(CryptoError::UnsupportedCurve("secp192r1".into()))
        );
        assert_eq!(
            curve_from_oid(&[0x2B, 0x06, 0x01]).err(),
            Some(CryptoError::UnsupportedCurve("1.3.6.1".into()))
        );
    }

    #[test]
    fn rejects_multi_prime_and_trailing_data() {
        // SEQUENCE { INTEGER 1, INTEGER 11, ... } is the multi-prime version
        let multi = [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x0B];
        assert_eq!(
            rsa_private_key(&multi).err(),
            Some(CryptoError::UnsupportedKeyType("multi-prime RSA".into()))
        );
        // RSAPublicKey { 0x0B, 0x03 } followed by a stray byte
        let trailing = [0x30, 0x06, 0x02, 0x01, 0x0B, 0x02, 0x01, 0x03, 0x00];
        assert!(rsa_public_key(&trailing).is_err());
        assert!(rsa_public_key(&trailing[..8]).is_ok());
    }
}
