//! One-line OpenSSH public keys (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4).

use base64_simd::STANDARD;

use super::algorithm::{Curve, OkpCurve};
use super::error::CryptoError;
use super::pkix::{Material, RsaPublicParts};

const MALFORMED: CryptoError = CryptoError::Unparseable("malformed OpenSSH public key");

/// Decodes `<type> <base64 blob> [comment]`.
pub(crate) fn decode(line: &[u8]) -> Result<Material, CryptoError> {
    let line = std::str::from_utf8(line).map_err(|_| MALFORMED)?.trim();
    if line.contains(['\n', '\r']) {
        return Err(CryptoError::Unparseable(
            "an OpenSSH public key is a single line",
        ));
    }
    let mut fields = line.split_ascii_whitespace();
    let key_type = fields.next().ok_or(MALFORMED)?;
    if !SUPPORTED.contains(&key_type) {
        return Err(unsupported(key_type));
    }
    let blob = STANDARD
        .decode_to_vec(fields.next().ok_or(MALFORMED)?)
        .map_err(|_| MALFORMED)?;

    let mut blob = Blob(&blob);
    if blob.string()? != key_type.as_bytes() {
        return Err(CryptoError::Unparseable(
            "OpenSSH key type and blob disagree",
        ));
    }
    let material = match key_type {
        "ssh-rsa" => {
            let e = blob.mpint()?.to_vec();
            let n = blob.mpint()?.to_vec();
            Material::RsaPublic(RsaPublicParts { n, e })
        }
        "ecdsa-sha2-nistp256" => ecdsa(&mut blob, b"nistp256", Curve::P256)?,
        "ecdsa-sha2-nistp384" => ecdsa(&mut blob, b"nistp384", Curve::P384)?,
        "ecdsa-sha2-nistp521" => ecdsa(&mut blob, b"nistp521", Curve::P521)?,
        "ssh-ed25519" => Material::OkpPublic {
            curve: OkpCurve::Ed25519,
            x: blob.string()?.to_vec(),
        },
        "ssh-ed448" => Material::OkpPublic {
            curve: OkpCurve::Ed448,
            x: blob.string()?.to_vec(),
        },
        _ => return Err(unsupported(key_type)),
    };
    if !blob.0.is_empty() {
        return Err(MALFORMED);
    }
    Ok(material)
}

const SUPPORTED: [&str; 6] = [
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-ed25519",
    "ssh-ed448",
];

fn unsupported(key_type: &str) -> CryptoError {
    match key_type {
        "ssh-dss" => CryptoError::UnsupportedKeyType("DSA".into()),
        _ if key_type.starts_with("ssh-")
            || key_type.starts_with("ecdsa-")
            || key_type.starts_with("sk-") =>
        {
            CryptoError::UnsupportedKeyType(key_type.to_owned())
        }
        _ => MALFORMED,
    }
}

fn ecdsa(blob: &mut Blob<'_>, identifier: &[u8], curve: Curve) -> Result<Material, CryptoError> {
    if blob.string()? != identifier {
        return Err(CryptoError::Unparseable(
            "OpenSSH key type and curve disagree",
        ));
    }
    Ok(Material::EcPublic {
        curve,
        point: blob.string()?.to_vec(),
    })
}

/// The SSH wire encoding: length-prefixed strings.
struct Blob<'a>(&'a [u8]);

impl<'a> Blob<'a> {
    fn string(&mut self) -> Result<&'a [u8], CryptoError> {
        let (len, rest) = self.0.split_first_chunk::<4>().ok_or(MALFORMED)?;
        let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| MALFORMED)?;
        let (value, rest) = rest.split_at_checked(len).ok_or(MALFORMED)?;
        self.0 = rest;
        Ok(value)
    }

    /// A non-negative two's-complement integer, returned without leading zeros.
    fn mpint(&mut self) -> Result<&'a [u8], CryptoError> {
        match self.string()? {
            [first, ..] if first & 0x80 != 0 => Err(MALFORMED),
            [0, second, ..] if second & 0x80 == 0 => Err(MALFORMED), // non-minimal
            [0, rest @ ..] => Ok(rest),
            value => Ok(value),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn line(parts: &[&[u8]]) -> String {
        let mut blob = Vec::new();
        for part in parts {
            blob.extend(u32::try_from(part.len()).unwrap().to_be_bytes());
            blob.extend_from_slice(part);
        }
        STANDARD.encode_to_string(blob)
    }

    #[test]
    fn type_in_blob_must_match_prefix() {
        let key = line(&[b"ssh-ed25519", &[9; 32]]);
        assert!(decode(format!("ssh-ed25519 {key} me@host\n").as_bytes()).is_ok());
        assert!(decode(format!("ssh-ed448 {key}").as_bytes()).is_err());
    }

    #[test]
    fn rejects_trailing_bytes_and_negative_mpints() {
        let trailing = line(&[b"ssh-ed25519", &[9; 32], b""]);
        assert!(decode(format!("ssh-ed25519 {trailing}").as_bytes()).is_err());
        let negative = line(&[b"ssh-rsa", &[0x81], &[0x00, 0xC1]]);
        assert!(decode(format!("ssh-rsa {negative}").as_bytes()).is_err());
    }

    #[test]
    fn rejects_multiple_lines_and_unknown_types() {
        let key = line(&[b"ssh-ed25519", &[9; 32]]);
        assert!(decode(format!("ssh-ed25519 {key}\nssh-ed25519 {key}").as_bytes()).is_err());
        assert_eq!(
            decode(b"ssh-dss AAAA").err(),
            Some(CryptoError::UnsupportedKeyType("DSA".into()))
        );
    }
}
