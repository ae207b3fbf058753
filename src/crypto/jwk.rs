//! JSON Web Keys (RFC 7517/7518/8037) with the member rules PyJWT applies.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use base64_simd::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::algorithm::{Curve, OkpCurve};
use super::error::{CryptoError, JwkProblem};
use super::pkix::{Material, RsaPrivateParts, RsaPublicParts};
use super::rsa::trim_leading_zeros;

/// One member of a JWK as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwkMember<'a> {
    Absent,
    Text(Cow<'a, str>),
    /// Present with a value that is not a JSON string.
    Other,
}

/// Read access to a JWK's members, so that one parser serves a Python dict,
/// a parsed JSON document or a plain map.
pub trait JwkMembers {
    fn member(&self, name: &str) -> JwkMember<'_>;
}

impl<S: BuildHasher> JwkMembers for HashMap<String, String, S> {
    fn member(&self, name: &str) -> JwkMember<'_> {
        self.get(name).map_or(JwkMember::Absent, |value| {
            JwkMember::Text(Cow::Borrowed(value))
        })
    }
}

impl JwkMembers for BTreeMap<String, String> {
    fn member(&self, name: &str) -> JwkMember<'_> {
        self.get(name).map_or(JwkMember::Absent, |value| {
            JwkMember::Text(Cow::Borrowed(value))
        })
    }
}

/// Takes a JWK apart; the key itself is validated when it is built.
pub(crate) fn decode(jwk: &impl JwkMembers) -> Result<Material, CryptoError> {
    match jwk.member("kty") {
        JwkMember::Text(kty) => match kty.as_ref() {
            "RSA" => rsa(jwk),
            "EC" => ec(jwk),
            "OKP" => okp(jwk),
            other => Err(JwkProblem::UnsupportedKty(Some(other.to_owned())).into()),
        },
        JwkMember::Absent | JwkMember::Other => Err(JwkProblem::UnsupportedKty(None).into()),
    }
}

fn rsa(jwk: &impl JwkMembers) -> Result<Material, CryptoError> {
    let has = |name| jwk.member(name) != JwkMember::Absent;
    let unsigned = |name| -> Result<Vec<u8>, CryptoError> {
        Ok(trim_leading_zeros(&required(jwk, name)?).to_vec())
    };
    let secret = |name| -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let bytes = required(jwk, name)?;
        Ok(Zeroizing::new(trim_leading_zeros(&bytes).to_vec()))
    };
    if !has("n") || !has("e") {
        let missing = if has("n") { "e" } else { "n" };
        return Err(JwkProblem::Missing(missing).into());
    }
    let public = RsaPublicParts {
        n: unsigned("n")?,
        e: unsigned("e")?,
    };
    if !has("d") {
        return Ok(Material::RsaPublic(public));
    }
    if has("oth") {
        return Err(JwkProblem::MultiPrime.into());
    }
    const CRT: [&str; 5] = ["p", "q", "dp", "dq", "qi"];
    let present = CRT.iter().filter(|name| has(name)).count();
    if present == 0 {
        return Ok(Material::RsaPrivateExponent {
            public,
            d: secret("d")?,
        });
    }
    if present != CRT.len() {
        return Err(JwkProblem::PartialCrtParameters.into());
    }
    Ok(Material::RsaPrivate(RsaPrivateParts {
        public,
        d: secret("d")?,
        p: secret("p")?,
        q: secret("q")?,
        dp: secret("dp")?,
        dq: secret("dq")?,
        qi: secret("qi")?,
    }))
}

fn ec(jwk: &impl JwkMembers) -> Result<Material, CryptoError> {
    let x = required(jwk, "x")?;
    let y = required(jwk, "y")?;
    let curve = match jwk.member("crv") {
        JwkMember::Text(crv) => Curve::from_jwk_name(&crv)
            .ok_or_else(|| JwkProblem::UnsupportedCrv(Some(crv.into_owned())))?,
        JwkMember::Absent | JwkMember::Other => return Err(JwkProblem::UnsupportedCrv(None).into()),
    };
    let len = curve.coordinate_len();
    if x.len() != len || y.len() != len {
        return Err(JwkProblem::CoordinateLength {
            crv: curve.jwk_name(),
            expected: len,
        }
        .into());
    }
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    match optional(jwk, "d")? {
        None => Ok(Material::EcPublic { curve, point }),
        Some(d) if d.len() == len => Ok(Material::EcPrivateScalar { curve, d, point }),
        Some(_) => Err(JwkProblem::PrivateLength {
            crv: curve.jwk_name(),
            expected: len,
        }
        .into()),
    }
}

fn okp(jwk: &impl JwkMembers) -> Result<Material, CryptoError> {
    let curve = match jwk.member("crv") {
        JwkMember::Text(crv) => OkpCurve::from_jwk_name(&crv)
            .ok_or_else(|| JwkProblem::UnsupportedCrv(Some(crv.into_owned())))?,
        JwkMember::Absent | JwkMember::Other => return Err(JwkProblem::UnsupportedCrv(None).into()),
    };
    let x = required(jwk, "x")?;
    match optional(jwk, "d")? {
        None => Ok(Material::OkpPublic {
            curve,
            x: x.to_vec(),
        }),
        Some(seed) => Ok(Material::OkpPrivate {
            curve,
            seed,
            x: Some(x.to_vec()),
        }),
    }
}

/// A base64url member that must be present.
fn required(jwk: &impl JwkMembers, name: &'static str) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    optional(jwk, name)?.ok_or_else(|| JwkProblem::Missing(name).into())
}

/// A base64url member that may be absent. Decoded into zeroizing memory since
/// it may be private.
fn optional(
    jwk: &impl JwkMembers,
    name: &'static str,
) -> Result<Option<Zeroizing<Vec<u8>>>, CryptoError> {
    match jwk.member(name) {
        JwkMember::Absent => Ok(None),
        JwkMember::Other => Err(JwkProblem::NotAString(name).into()),
        JwkMember::Text(text) => decode_base64url(text.as_bytes())
            .map(Some)
            .ok_or_else(|| JwkProblem::NotBase64(name).into()),
    }
}

/// base64url with or without padding, ignoring non-zero trailing bits, as
/// Python's `urlsafe_b64decode` (which PyJWT uses) does. Stricter than Python in
/// what it refuses: symbols outside the base64url alphabet, and padding that is
/// not at the end of the last group of four (`AQ=` is accepted, `AQ===` is not).
fn decode_base64url(text: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let padding = text.iter().rev().take_while(|&&b| b == b'=').count();
    let mut symbols = Zeroizing::new(text.get(..text.len() - padding)?.to_vec());
    let partial = symbols.len() % 4;
    if padding > 0 && (partial < 2 || partial + padding > 4) {
        return None;
    }
    // base64-simd refuses a last symbol with spare bits set, so clear them first.
    let spare_bits = match partial {
        2 => 0b1111,
        3 => 0b11,
        _ => 0,
    };
    if spare_bits != 0 {
        let charset = URL_SAFE_NO_PAD.charset();
        let last = symbols.last_mut()?;
        let value = charset.iter().position(|symbol| symbol == last)?;
        *last = *charset.get(value & !spare_bits)?;
    }
    let len = URL_SAFE_NO_PAD.decode_inplace(&mut symbols).ok()?.len();
    symbols.truncate(len);
    Some(symbols)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn map(members: &[(&str, &str)]) -> BTreeMap<String, String> {
        members
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn problem(members: &[(&str, &str)]) -> Option<JwkProblem> {
        match decode(&map(members)) {
            Err(CryptoError::InvalidJwk(problem)) => Some(problem),
            _ => None,
        }
    }

    #[test]
    fn kty_and_crv_are_checked() {
        assert_eq!(problem(&[]), Some(JwkProblem::UnsupportedKty(None)));
        assert_eq!(
            problem(&[("kty", "oct"), ("k", "AA")]),
            Some(JwkProblem::UnsupportedKty(Some("oct".into())))
        );
        let x32 = URL_SAFE_NO_PAD.encode_to_string([1u8; 32]);
        assert_eq!(
            problem(&[("kty", "EC"), ("crv", "P-192"), ("x", &x32), ("y", &x32)]),
            Some(JwkProblem::UnsupportedCrv(Some("P-192".into())))
        );
        assert_eq!(
            problem(&[("kty", "OKP"), ("x", &x32)]),
            Some(JwkProblem::UnsupportedCrv(None))
        );
    }

    #[test]
    fn ec_lengths_follow_the_curve() {
        let x32 = URL_SAFE_NO_PAD.encode_to_string([1u8; 32]);
        let x31 = URL_SAFE_NO_PAD.encode_to_string([1u8; 31]);
        assert_eq!(
            problem(&[("kty", "EC"), ("crv", "P-384"), ("x", &x32), ("y", &x32)]),
            Some(JwkProblem::CoordinateLength {
                crv: "P-384",
                expected: 48
            })
        );
        assert_eq!(
            problem(&[
                ("kty", "EC"),
                ("crv", "P-256"),
                ("x", &x32),
                ("y", &x32),
                ("d", &x31)
            ]),
            Some(JwkProblem::PrivateLength {
                crv: "P-256",
                expected: 32
            })
        );
    }

    #[test]
    fn rsa_private_members_are_all_or_nothing() {
        let base = [("kty", "RSA"), ("n", "AQAB"), ("e", "AQAB"), ("d", "AQAB")];
        let mut partial = base.to_vec();
        partial.push(("p", "AQAB"));
        assert_eq!(problem(&partial), Some(JwkProblem::PartialCrtParameters));
        let mut multi = base.to_vec();
        multi.push(("oth", "x"));
        assert_eq!(problem(&multi), Some(JwkProblem::MultiPrime));
        assert!(matches!(
            decode(&map(&base)),
            Ok(Material::RsaPrivateExponent { .. })
        ));
        assert_eq!(
            problem(&[("kty", "RSA"), ("n", "AQAB")]),
            Some(JwkProblem::Missing("e"))
        );
    }

    #[test]
    fn base64url_is_checked_but_padding_is_optional() {
        let padded = [("kty", "OKP"), ("crv", "Ed25519"), ("x", "AQ==")];
        assert!(matches!(
            decode(&map(&padded)),
            Ok(Material::OkpPublic { .. })
        ));
        assert_eq!(
            problem(&[("kty", "OKP"), ("crv", "Ed25519"), ("x", "A+/B")]),
            Some(JwkProblem::NotBase64("x"))
        );
    }

    #[test]
    fn base64url_padding_may_be_short_and_spare_bits_are_ignored() {
        let decoded = |text: &str| decode_base64url(text.as_bytes()).map(|bytes| bytes.to_vec());
        for (text, bytes) in [
            ("", &[][..]),
            ("AQ", &[1]),
            ("AQ=", &[1]),
            ("AQ==", &[1]),
            ("AR", &[1]),
            ("AQE", &[1, 1]),
            ("AQH=", &[1, 1]),
            ("-_8", &[0xfb, 0xff]),
        ] {
            assert_eq!(decoded(text).as_deref(), Some(bytes), "{text}");
        }
        for text in [
            "A", "=", "AQ===", "AQE==", "AAAA=", "AQ==AQ==", "A+/B", "AQ.", "A Q",
        ] {
            assert_eq!(decoded(text), None, "{text}");
        }
    }

    struct NonString;
    impl JwkMembers for NonString {
        fn member(&self, name: &str) -> JwkMember<'_> {
            match name {
                "kty" => JwkMember::Text("OKP".into()),
                "crv" => JwkMember::Text("Ed448".into()),
                _ => JwkMember::Other,
            }
        }
    }

    #[test]
    fn non_string_members_are_reported() {
        assert_eq!(
            decode(&NonString).err(),
            Some(CryptoError::InvalidJwk(JwkProblem::NotAString("x")))
        );
    }
}
