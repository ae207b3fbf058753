//! A strict reader for the few DER structures keys come in.
//!
//! Only what key containers use is supported: single-byte tags and definite,
//! minimally encoded lengths. Values are borrowed from the input; the caller
//! decides what they mean and the backend validates the key material itself.

use super::error::CryptoError;

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const NULL: u8 = 0x05;
pub(crate) const OID: u8 = 0x06;
/// `[0]` and `[1]`, constructed (EXPLICIT tagging or IMPLICIT over a constructed type).
pub(crate) const CONTEXT_0: u8 = 0xA0;
pub(crate) const CONTEXT_1: u8 = 0xA1;
/// `[1]` IMPLICIT over a primitive type (PKCS#8 v2 `publicKey`).
pub(crate) const CONTEXT_1_PRIMITIVE: u8 = 0x81;

const MALFORMED: CryptoError = CryptoError::Unparseable("malformed DER");

/// A cursor over a run of DER elements.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) const fn new(input: &'a [u8]) -> Self {
        Self { rest: input }
    }

    /// Reads the single element `input` must consist of, which must have `tag`,
    /// and returns a reader over its contents.
    pub(crate) fn single(input: &'a [u8], tag: u8) -> Result<Self, CryptoError> {
        let mut outer = Self::new(input);
        let contents = outer.expect(tag)?;
        outer.finish()?;
        Ok(Self::new(contents))
    }

    /// The unread input.
    pub(crate) const fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Fails unless every element has been read.
    pub(crate) fn finish(&self) -> Result<(), CryptoError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(MALFORMED)
        }
    }

    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads one element: its tag and its contents.
    pub(crate) fn read_any(&mut self) -> Result<(u8, &'a [u8]), CryptoError> {
        let (&tag, after_tag) = self.rest.split_first().ok_or(MALFORMED)?;
        if tag & 0x1F == 0x1F {
            return Err(MALFORMED); // multi-byte tags never occur in key structures
        }
        let (&first, after_first) = after_tag.split_first().ok_or(MALFORMED)?;
        let (len, after_len) = if first < 0x80 {
            (usize::from(first), after_first)
        } else {
            let count = usize::from(first & 0x7F);
            if count == 0 || count > 4 {
                return Err(MALFORMED); // indefinite (BER) or absurdly long
            }
            let (len_bytes, after) = after_first.split_at_checked(count).ok_or(MALFORMED)?;
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            let minimal = len >= 0x80 && len_bytes.first().is_some_and(|&b| b != 0);
            if !minimal {
                return Err(MALFORMED);
            }
            (len, after)
        };
        let (contents, rest) = after_len.split_at_checked(len).ok_or(MALFORMED)?;
        self.rest = rest;
        Ok((tag, contents))
    }

    /// Reads one element that must have `tag`.
    pub(crate) fn expect(&mut self, tag: u8) -> Result<&'a [u8], CryptoError> {
        match self.read_any()? {
            (found, contents) if found == tag => Ok(contents),
            _ => Err(MALFORMED),
        }
    }

    /// Reads the next element only if it has `tag`.
    pub(crate) fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, CryptoError> {
        if self.peek_tag() == Some(tag) {
            self.expect(tag).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads a non-negative INTEGER as big-endian bytes without leading zeros
    /// (zero itself is empty).
    pub(crate) fn unsigned_integer(&mut self) -> Result<&'a [u8], CryptoError> {
        unsigned_integer(self.expect(INTEGER)?)
    }

    /// Reads a small non-negative INTEGER such as a version number.
    pub(crate) fn small_integer(&mut self) -> Result<u32, CryptoError> {
        let bytes = self.unsigned_integer()?;
        if bytes.len() > 4 {
            return Err(MALFORMED);
        }
        Ok(bytes.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
    }

    /// Reads a BIT STRING that holds whole bytes (every key in one does).
    pub(crate) fn bit_string(&mut self) -> Result<&'a [u8], CryptoError> {
        match self.expect(BIT_STRING)?.split_first() {
            Some((0, bytes)) => Ok(bytes),
            _ => Err(MALFORMED),
        }
    }
}

/// Checks DER INTEGER contents and returns the magnitude without leading zeros.
fn unsigned_integer(contents: &[u8]) -> Result<&[u8], CryptoError> {
    match contents {
        [] => Err(MALFORMED),
        [first, ..] if first & 0x80 != 0 => Err(CryptoError::InvalidKey("negative integer")),
        [0, second, ..] if second & 0x80 == 0 => Err(MALFORMED), // non-minimal
        [0, rest @ ..] => Ok(rest),
        _ => Ok(contents),
    }
}

/// Encoded object identifiers, as they appear in the contents of an OID element.
pub(crate) mod oid {
    pub(crate) const RSA_ENCRYPTION: &[u8] =
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
    pub(crate) const RSASSA_PSS: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A];
    pub(crate) const EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
    pub(crate) const ED25519: &[u8] = &[0x2B, 0x65, 0x70];
    pub(crate) const ED448: &[u8] = &[0x2B, 0x65, 0x71];
    pub(crate) const X25519: &[u8] = &[0x2B, 0x65, 0x6E];
    pub(crate) const X448: &[u8] = &[0x2B, 0x65, 0x6F];
    pub(crate) const DSA: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x38, 0x04, 0x01];
    pub(crate) const DH: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3E, 0x02, 0x01];

    pub(crate) const P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
    pub(crate) const P384: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];
    pub(crate) const P521: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x23];
    pub(crate) const SECP256K1: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x0A];
    /// Curves that are recognised only to be named in the error.
    pub(crate) const OTHER_CURVES: &[(&[u8], &str)] = &[
        (
            &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x01],
            "secp192r1",
        ),
        (&[0x2B, 0x81, 0x04, 0x00, 0x21], "secp224r1"),
        (&[0x2B, 0x81, 0x04, 0x00, 0x1F], "secp192k1"),
        (&[0x2B, 0x81, 0x04, 0x00, 0x20], "secp224k1"),
        (
            &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07],
            "brainpoolP256r1",
        ),
        (
            &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0B],
            "brainpoolP384r1",
        ),
        (
            &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0D],
            "brainpoolP512r1",
        ),
    ];

    /// Dotted-decimal form, for messages about identifiers we do not know.
    pub(crate) fn dotted(contents: &[u8]) -> String {
        let mut arcs: Vec<u128> = Vec::new();
        let mut value: u128 = 0;
        for &byte in contents {
            value = (value << 7) | u128::from(byte & 0x7F);
            if byte & 0x80 == 0 {
                arcs.push(value);
                value = 0;
            }
        }
        let mut text = String::new();
        if let Some((&first, rest)) = arcs.split_first() {
            let (a, b) = match first {
                0..=39 => (0, first),
                40..=79 => (1, first - 40),
                _ => (2, first - 80),
            };
            text = format!("{a}.{b}");
            for arc in rest {
                text.push('.');
                text.push_str(&arc.to_string());
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut long = vec![OCTET_STRING, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        let mut reader = Reader::new(&long);
        assert_eq!(reader.expect(OCTET_STRING).map(<[u8]>::len), Ok(0x80));
        assert!(reader.is_empty());

        let mut short = Reader::new(&[INTEGER, 0x01, 0x05, NULL, 0x00]);
        assert_eq!(short.small_integer(), Ok(5));
        assert_eq!(short.expect(NULL), Ok(&[][..]));
        assert_eq!(short.finish(), Ok(()));
    }

    #[test]
    fn rejects_ber_and_truncation() {
        for bad in [
            &[OCTET_STRING, 0x80, 0x00, 0x00][..],      // indefinite length
            &[OCTET_STRING, 0x81, 0x05, 1, 2, 3, 4, 5], // long form for a short length
            &[OCTET_STRING, 0x82, 0x00, 0x85],          // leading zero in the length
            &[OCTET_STRING, 0x03, 1, 2],                // truncated contents
            &[0x1F, 0x01, 0x00],                        // multi-byte tag
            &[OCTET_STRING],                            // no length
        ] {
            assert!(Reader::new(bad).read_any().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn integers_must_be_minimal_and_non_negative() {
        assert_eq!(unsigned_integer(&[0x00, 0x80]), Ok(&[0x80][..]));
        assert_eq!(unsigned_integer(&[0x7F]), Ok(&[0x7F][..]));
        assert_eq!(unsigned_integer(&[0x00]), Ok(&[][..]));
        assert!(unsigned_integer(&[0x00, 0x7F]).is_err());
        assert!(unsigned_integer(&[0x80]).is_err());
        assert!(unsigned_integer(&[]).is_err());
    }

    #[test]
    fn bit_strings_must_hold_whole_bytes() {
        assert_eq!(
            Reader::new(&[BIT_STRING, 2, 0, 9]).bit_string(),
            Ok(&[9][..])
        );
        assert!(Reader::new(&[BIT_STRING, 2, 1, 8]).bit_string().is_err());
        assert!(Reader::new(&[BIT_STRING, 0]).bit_string().is_err());
    }

    #[test]
    fn dotted_oids() {
        assert_eq!(oid::dotted(oid::P256), "1.2.840.10045.3.1.7");
        assert_eq!(oid::dotted(oid::ED448), "1.3.101.113");
        assert_eq!(oid::dotted(&[]), "");
    }
}
