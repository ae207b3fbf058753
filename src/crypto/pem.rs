//! PEM armour (RFC 7468), read as leniently as OpenSSL reads it.
//!
//! Written here rather than taken from a crate because the leniency is the
//! point: text around the block, CRLF or LF, indented lines, a preceding
//! `EC PARAMETERS` block and the RFC 1421 headers of legacy encrypted keys (which
//! must become a distinct error) are all accepted, and the decoded DER of a
//! private key is zeroized when dropped.

use base64_simd::STANDARD;
use zeroize::Zeroizing;

use super::error::CryptoError;

/// What a PEM label says the DER inside is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PemKind {
    /// `RSA PRIVATE KEY`: PKCS#1 `RSAPrivateKey`.
    Pkcs1Private,
    /// `RSA PUBLIC KEY`: PKCS#1 `RSAPublicKey`.
    Pkcs1Public,
    /// `PRIVATE KEY`: PKCS#8 `PrivateKeyInfo`.
    Pkcs8,
    /// `PUBLIC KEY`: X.509 `SubjectPublicKeyInfo`.
    Spki,
    /// `EC PRIVATE KEY`: SEC1 `ECPrivateKey`.
    Sec1,
    /// `CERTIFICATE`: an X.509 certificate.
    Certificate,
}

/// One decoded PEM block.
pub(crate) struct PemBlock {
    pub(crate) kind: PemKind,
    pub(crate) der: Zeroizing<Vec<u8>>,
}

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

/// Decodes the first key block of `input`, skipping `EC PARAMETERS` blocks.
pub(crate) fn decode(input: &[u8]) -> Result<PemBlock, CryptoError> {
    let mut rest = input;
    loop {
        let block = next_block(rest)?;
        rest = block.rest;
        let kind = match block.label {
            b"EC PARAMETERS" => continue,
            b"RSA PRIVATE KEY" => PemKind::Pkcs1Private,
            b"RSA PUBLIC KEY" => PemKind::Pkcs1Public,
            b"PRIVATE KEY" => PemKind::Pkcs8,
            b"PUBLIC KEY" => PemKind::Spki,
            b"EC PRIVATE KEY" => PemKind::Sec1,
            b"CERTIFICATE" | b"X509 CERTIFICATE" => PemKind::Certificate,
            b"ENCRYPTED PRIVATE KEY" => return Err(CryptoError::Encrypted),
            b"OPENSSH PRIVATE KEY" => {
                return Err(CryptoError::Unparseable(
                    "OpenSSH-format private keys are not supported",
                ))
            }
            b"DSA PRIVATE KEY" => return Err(CryptoError::UnsupportedKeyType("DSA".into())),
            _ => return Err(CryptoError::Unparseable("unsupported PEM label")),
        };
        let der = decode_body(block.body)?;
        return Ok(PemBlock { kind, der });
    }
}

/// A `BEGIN`/`END` pair found in the input.
struct Frame<'a> {
    label: &'a [u8],
    /// The text between the two lines.
    body: &'a [u8],
    /// The input after the `END` line.
    rest: &'a [u8],
}

fn next_block(input: &[u8]) -> Result<Frame<'_>, CryptoError> {
    const NO_BLOCK: CryptoError = CryptoError::Unparseable("no PEM block found");
    let begin_at = find(input, BEGIN).ok_or(NO_BLOCK)?;
    let after_begin = input.get(begin_at + BEGIN.len()..).ok_or(NO_BLOCK)?;
    let label_len = find(after_begin, DASHES).ok_or(NO_BLOCK)?;
    let (label, after_label) = after_begin.split_at_checked(label_len).ok_or(NO_BLOCK)?;
    let body_and_rest = after_label.get(DASHES.len()..).ok_or(NO_BLOCK)?;

    let mut end_line = Vec::with_capacity(END.len() + label.len() + DASHES.len());
    end_line.extend_from_slice(END);
    end_line.extend_from_slice(label);
    end_line.extend_from_slice(DASHES);
    let end_at = find(body_and_rest, &end_line).ok_or(CryptoError::Unparseable(
        "PEM block has no matching END line",
    ))?;
    let (body, end_and_rest) = body_and_rest.split_at_checked(end_at).ok_or(NO_BLOCK)?;
    let rest = end_and_rest.get(end_line.len()..).unwrap_or_default();
    Ok(Frame { label, body, rest })
}

/// Base64-decodes the body, refusing RFC 1421 encrypted keys.
fn decode_body(body: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut text = Zeroizing::new(Vec::with_capacity(body.len()));
    for line in body.split(|&b| b == b'\n') {
        if line.contains(&b':') {
            // `Proc-Type: 4,ENCRYPTED` / `DEK-Info: ...`; no other header is meaningful.
            if find(line, b"ENCRYPTED").is_some() || starts_with_ignoring_space(line, b"DEK-Info") {
                return Err(CryptoError::Encrypted);
            }
            continue;
        }
        text.extend(line.iter().filter(|b| !b.is_ascii_whitespace()));
    }
    let decoded = STANDARD
        .decode_to_vec(text.as_slice())
        .map_err(|_| CryptoError::Unparseable("PEM body is not base64"))?;
    Ok(Zeroizing::new(decoded))
}

fn starts_with_ignoring_space(line: &[u8], prefix: &[u8]) -> bool {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    line.get(start..).is_some_and(|l| l.starts_with(prefix))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const BODY: &str = "MAMCAQU="; // SEQUENCE { INTEGER 5 }

    #[test]
    fn tolerates_whitespace_crlf_and_surrounding_text() {
        let pem = "\r\n  junk before\r\n-----BEGIN PUBLIC KEY-----\r\n  MAMC\r\n AQU=  \r\n-----END PUBLIC KEY-----\r\n\r\ntrailer";
        let block = decode(pem.as_bytes()).unwrap();
        assert_eq!(block.kind, PemKind::Spki);
        assert_eq!(block.der.as_slice(), &[0x30, 0x03, 0x02, 0x01, 0x05]);
    }

    #[test]
    fn skips_ec_parameters() {
        let pem = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n-----BEGIN EC PRIVATE KEY-----\n{BODY}\n-----END EC PRIVATE KEY-----\n"
        );
        assert_eq!(decode(pem.as_bytes()).unwrap().kind, PemKind::Sec1);
    }

    #[test]
    fn encrypted_keys_are_reported_as_such() {
        let legacy = format!(
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n{BODY}\n-----END RSA PRIVATE KEY-----\n"
        );
        assert_eq!(
            decode(legacy.as_bytes()).err(),
            Some(CryptoError::Encrypted)
        );
        let pkcs8 = format!(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{BODY}\n-----END ENCRYPTED PRIVATE KEY-----"
        );
        assert_eq!(decode(pkcs8.as_bytes()).err(), Some(CryptoError::Encrypted));
    }

    #[test]
    fn malformed_blocks_are_unparseable() {
        for bad in [
            "no pem here".to_owned(),
            format!("-----BEGIN PUBLIC KEY-----\n{BODY}\n"),
            format!("-----BEGIN PUBLIC KEY-----\n{BODY}\n-----END PRIVATE KEY-----"),
            "-----BEGIN PUBLIC KEY-----\n@@@@\n-----END PUBLIC KEY-----".to_owned(),
            format!("-----BEGIN FOO-----\n{BODY}\n-----END FOO-----"),
        ] {
            assert!(
                matches!(decode(bad.as_bytes()), Err(CryptoError::Unparseable(_))),
                "{bad}"
            );
        }
    }
}
