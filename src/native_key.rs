//! `NativeKey`: a parsed asymmetric key as a Python object, for installs without
//! `cryptography`.
//!
//! With `cryptography` installed, PyJWT's algorithm classes hand out `cryptography` key
//! objects and turbojwt keeps doing so. Without it, turbojwt's own classes
//! (`turbojwt._native_algorithms`) hand out `NativeKey`s instead, so RS*, PS*, ES* and EdDSA
//! keep working from PEM, OpenSSH and JWK input. The JWS engine uses the key inside directly.

use std::collections::HashMap;
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyBytes, PyDict};

use crate::base64url;
use crate::crypto::{Algorithm, AsymmetricKey, CryptoError, JwkComponents, KeyEncoding, KeyKind};
use crate::jws::{self, token_bytes};
use crate::segments::Segments;

#[pyclass(frozen, module = "turbojwt._turbojwt")]
pub struct NativeKey {
    pub key: Arc<AsymmetricKey>,
}

fn value_error(error: CryptoError) -> PyErr {
    PyValueError::new_err(error.to_string())
}

fn algorithm(name: &str) -> PyResult<Algorithm> {
    Algorithm::from_name(name).map_err(value_error)
}

#[pymethods]
impl NativeKey {
    /// A key from PEM text: PKCS#1, PKCS#8, SubjectPublicKeyInfo, SEC1 or a certificate.
    #[staticmethod]
    fn from_pem(data: &[u8]) -> PyResult<Self> {
        Ok(NativeKey {
            key: Arc::new(AsymmetricKey::from_pem(data).map_err(value_error)?),
        })
    }

    /// A key from DER of any of the types `from_pem` takes.
    #[staticmethod]
    fn from_der(data: &[u8]) -> PyResult<Self> {
        Ok(NativeKey {
            key: Arc::new(AsymmetricKey::from_der(data).map_err(value_error)?),
        })
    }

    /// A one-line OpenSSH public key.
    #[staticmethod]
    fn from_openssh(data: &[u8]) -> PyResult<Self> {
        Ok(NativeKey {
            key: Arc::new(AsymmetricKey::from_openssh_public(data).map_err(value_error)?),
        })
    }

    /// An RSA, EC or OKP JWK given as its string members.
    #[staticmethod]
    fn from_jwk(members: HashMap<String, String>) -> PyResult<Self> {
        Ok(NativeKey {
            key: Arc::new(AsymmetricKey::from_jwk(&members).map_err(value_error)?),
        })
    }

    /// The JWK `kty`: "RSA", "EC" or "OKP".
    #[getter]
    fn kty(&self) -> &'static str {
        self.key.kind().kty()
    }

    /// The JWK `crv` of an EC or OKP key ("P-256", "Ed25519", ...), else `None`.
    #[getter]
    fn curve(&self) -> Option<&'static str> {
        match self.key.kind() {
            KeyKind::EcPublic(curve) | KeyKind::EcPrivate(curve) => Some(curve.jwk_name()),
            KeyKind::OkpPublic(curve) | KeyKind::OkpPrivate(curve) => Some(curve.jwk_name()),
            KeyKind::RsaPublic | KeyKind::RsaPrivate => None,
        }
    }

    #[getter]
    fn is_private(&self) -> bool {
        self.key.kind().is_private()
    }

    /// The modulus size of an RSA key, else `None`.
    #[getter]
    fn key_size(&self) -> Option<usize> {
        self.key.rsa_bits()
    }

    /// Where the key came from: "certificate" keys verify but PyJWT's classes refuse them.
    #[getter]
    fn encoding(&self) -> &'static str {
        match self.key.encoding() {
            KeyEncoding::Pkcs1 => "pkcs1",
            KeyEncoding::Pkcs8 => "pkcs8",
            KeyEncoding::Spki => "spki",
            KeyEncoding::Sec1 => "sec1",
            KeyEncoding::Certificate => "certificate",
            KeyEncoding::OpenSsh => "openssh",
            KeyEncoding::Jwk => "jwk",
        }
    }

    /// Sign `msg` with JWS algorithm `alg` (the GIL is released while signing).
    fn sign<'py>(&self, py: Python<'py>, alg: &str, msg: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let algorithm = algorithm(alg)?;
        let key = Arc::clone(&self.key);
        let signature = py
            .detach(|| key.sign(algorithm, msg))
            .map_err(value_error)?;
        Ok(PyBytes::new(py, &signature))
    }

    /// Whether `sig` is a valid `alg` signature of `msg` (the GIL is released meanwhile).
    fn verify(&self, py: Python<'_>, alg: &str, msg: &[u8], sig: &[u8]) -> PyResult<bool> {
        let algorithm = algorithm(alg)?;
        let key = Arc::clone(&self.key);
        match py.detach(|| key.verify(algorithm, msg, sig)) {
            Ok(valid) => Ok(valid),
            Err(error @ (CryptoError::WrongFamily { .. } | CryptoError::CurveMismatch { .. })) => {
                Err(PyTypeError::new_err(error.to_string()))
            }
            Err(_) => Ok(false),
        }
    }

    /// The payload of compact JWS `token` if its signature is a valid `alg` signature by
    /// this key, else `None`; its header segment is not looked at (the caller has checked
    /// it). Malformed segments raise `DecodeError`s with `PyJWS`'s messages, and a token
    /// over the length limit is refused first, as `JwsEngine.load` does. The GIL is
    /// released while verifying.
    fn verify_jws<'py>(
        &self,
        py: Python<'py>,
        alg: &str,
        token: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let token = token_bytes(py, token)?;
        // The segments as `jws::load` splits them (and with its errors).
        let Segments {
            payload: payload_segment,
            signing_input,
            signature: crypto_segment,
            ..
        } = jws::split(py, token)?;
        let payload = base64url::decode_named(py, payload_segment, "payload")?;
        let signature = base64url::decode_named(py, crypto_segment, "crypto")?;
        // Whatever keeps the signature from verifying (an unknown algorithm, a key of
        // another family, a signature of the wrong length) is a `None`, not an error.
        let Ok(algorithm) = Algorithm::from_name(alg) else {
            return Ok(None);
        };
        let key = &self.key;
        let valid = py.detach(|| key.verify(algorithm, signing_input, &signature));
        Ok(matches!(valid, Ok(true)).then(|| PyBytes::new(py, &payload)))
    }

    /// The JWK parameters as big-endian bytes, private ones included for a private key.
    fn jwk_components<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let components = PyDict::new(py);
        let put = |name: &str, value: &[u8]| components.set_item(name, PyBytes::new(py, value));
        match self.key.to_jwk_components().map_err(value_error)? {
            JwkComponents::Rsa { n, e, private } => {
                put("n", &n)?;
                put("e", &e)?;
                if let Some(private) = private {
                    for (name, value) in [
                        ("d", &private.d),
                        ("p", &private.p),
                        ("q", &private.q),
                        ("dp", &private.dp),
                        ("dq", &private.dq),
                        ("qi", &private.qi),
                    ] {
                        put(name, value)?;
                    }
                }
            }
            JwkComponents::Ec { x, y, d, .. } => {
                put("x", &x)?;
                put("y", &y)?;
                if let Some(d) = d {
                    put("d", &d)?;
                }
            }
            JwkComponents::Okp { x, d, .. } => {
                put("x", &x)?;
                if let Some(d) = d {
                    put("d", &d)?;
                }
            }
        }
        Ok(components)
    }

    fn __repr__(&self) -> String {
        let half = if self.is_private() {
            "private"
        } else {
            "public"
        };
        match self.curve() {
            Some(curve) => format!("<NativeKey {} {curve} {half}>", self.kty()),
            None => format!(
                "<NativeKey {} {} {half}>",
                self.kty(),
                self.key_size().unwrap_or(0)
            ),
        }
    }
}
