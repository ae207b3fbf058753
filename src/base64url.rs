//! Base64url for compact JWS segments, with exactly PyJWT 2.15.1's acceptance rules.
//!
//! A segment is accepted when, after removing at most two trailing `=` (allowed only when the
//! whole segment's length is a multiple of four, as AWS ALB tokens have), it is canonical
//! unpadded base64url: alphabet characters only, a length that is not 1 mod 4, and zero
//! trailing bits. Anything else is `DecodeError("Invalid <name> padding")`.

use std::mem::MaybeUninit;

use base64_simd::{Out, URL_SAFE_NO_PAD};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{fail, Exc};

/// Why a segment was refused; the caller names the segment in the message.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidSegment;

/// Decode one segment under PyJWT's rules.
pub fn decode(segment: &[u8]) -> Result<Vec<u8>, InvalidSegment> {
    // Room for the decoded bytes up front: growing the buffer costs a reallocation.
    let mut out = Vec::with_capacity(segment.len() / 4 * 3 + 2);
    decode_into(segment, &mut out)?;
    Ok(out)
}

/// [`decode`] into `out` (cleared first), reusing its allocation.
pub fn decode_into(segment: &[u8], out: &mut Vec<u8>) -> Result<(), InvalidSegment> {
    out.clear();
    let symbols = unpadded(segment).ok_or(InvalidSegment)?;
    URL_SAFE_NO_PAD
        .decode_append(symbols, out)
        .map_err(|_| InvalidSegment)
}

/// Room for one decoded segment: on the stack up to `N` bytes, so decoding a payload or a
/// signature costs no allocation; a longer segment goes to the heap.
pub struct Room<const N: usize> {
    stack: [MaybeUninit<u8>; N],
    heap: Vec<u8>,
}

/// Room for the usual claims.
pub type PayloadRoom = Room<2048>;
/// Room for every signature but RSA's: ES512's 132 bytes are the longest of the others
/// (HMAC tags are at most 64 bytes, Ed448's signature 114).
pub type SignatureRoom = Room<132>;

impl<const N: usize> Room<N> {
    pub fn new() -> Self {
        Room {
            stack: [MaybeUninit::uninit(); N],
            heap: Vec::new(),
        }
    }

    /// [`decode`], into this room; the bytes live as long as the borrow of the room.
    pub fn decode(&mut self, segment: &[u8]) -> Result<&[u8], InvalidSegment> {
        let symbols = unpadded(segment).ok_or(InvalidSegment)?;
        let len = URL_SAFE_NO_PAD
            .decoded_length(symbols)
            .map_err(|_| InvalidSegment)?;
        match self.stack.get_mut(..len) {
            // `decode` writes all `len` bytes before they are handed out as initialised.
            Some(room) => URL_SAFE_NO_PAD
                .decode(symbols, Out::from_uninit_slice(room))
                .map(|bytes| &*bytes)
                .map_err(|_| InvalidSegment),
            None => {
                decode_into(segment, &mut self.heap)?;
                Ok(&self.heap)
            }
        }
    }

    /// [`Room::decode`], or PyJWT's `DecodeError("Invalid {name} padding")`.
    pub fn decode_named(&mut self, py: Python<'_>, segment: &[u8], name: &str) -> PyResult<&[u8]> {
        match self.decode(segment) {
            Ok(bytes) => Ok(bytes),
            Err(InvalidSegment) => fail(py, Exc::DecodeError, format!("Invalid {name} padding")),
        }
    }
}

impl<const N: usize> Default for Room<N> {
    fn default() -> Self {
        Room::new()
    }
}

/// Whether [`decode`] would accept `segment`, without decoding it.
pub fn is_valid(segment: &[u8]) -> bool {
    unpadded(segment).is_some_and(|symbols| URL_SAFE_NO_PAD.check(symbols).is_ok())
}

/// The segment without its trailing `=`, or `None` when the padding itself breaks the rules:
/// more than two, or any at all on a segment whose length is not a multiple of four.
fn unpadded(segment: &[u8]) -> Option<&[u8]> {
    let padding = segment.iter().rev().take_while(|&&b| b == b'=').count();
    if padding > 2 || (padding > 0 && segment.len() % 4 != 0) {
        return None;
    }
    segment.get(..segment.len() - padding)
}

/// Unpadded base64url, appended to `out`.
pub fn encode_into(data: &[u8], out: &mut Vec<u8>) {
    URL_SAFE_NO_PAD.encode_append(data, out);
}

/// Decode a segment or raise PyJWT's `DecodeError("Invalid {name} padding")`.
pub fn decode_named(py: Python<'_>, segment: &[u8], name: &str) -> PyResult<Vec<u8>> {
    match decode(segment) {
        Ok(bytes) => Ok(bytes),
        Err(InvalidSegment) => fail(py, Exc::DecodeError, format!("Invalid {name} padding")),
    }
}

/// `PyJWS._decode_base64url_segment(segment, name)`.
#[pyfunction]
pub fn decode_segment<'py>(
    py: Python<'py>,
    segment: &[u8],
    name: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = decode_named(py, segment, name)?;
    Ok(PyBytes::new(py, &bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_canonical_and_alb_padding() {
        assert_eq!(decode(b"e30"), Ok(b"{}".to_vec()));
        assert_eq!(decode(b"e30="), Ok(b"{}".to_vec()));
        assert_eq!(decode(b"YQ=="), Ok(b"a".to_vec()));
        assert_eq!(decode(b""), Ok(Vec::new()));
    }

    #[test]
    fn refuses_what_pyjwt_refuses() {
        for bad in [
            &b"e30=="[..],
            b"YQ===",
            b"YQ=",
            b"e31",
            b"a",
            b"sig!!!!",
            b"e3+0",
            b"e3/0",
            b"=",
        ] {
            assert_eq!(
                decode(bad),
                Err(InvalidSegment),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // Non-canonical: the last symbol carries non-zero spare bits.
        assert_eq!(decode(b"YR"), Err(InvalidSegment));
        assert_eq!(decode(b"YQ"), Ok(b"a".to_vec()));
    }

    #[test]
    fn is_valid_agrees_with_decode() {
        let segments: [&[u8]; 14] = [
            b"",
            b"e30",
            b"e30=",
            b"YQ==",
            b"YQ",
            b"YR",
            b"e30==",
            b"YQ===",
            b"YQ=",
            b"a",
            b"sig!!!!",
            b"e3+0",
            b"=",
            b"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0",
        ];
        for segment in segments {
            assert_eq!(
                is_valid(segment),
                decode(segment).is_ok(),
                "{:?}",
                String::from_utf8_lossy(segment)
            );
        }
        // Long enough for the vector path, with one bad byte at each position.
        let long = b"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ";
        assert!(is_valid(long));
        for position in 0..long.len() {
            let mut bad = long.to_vec();
            if let Some(byte) = bad.get_mut(position) {
                *byte = b'+';
            }
            assert!(!is_valid(&bad), "bad byte at {position}");
        }
    }

    #[test]
    fn rooms_agree_with_decode() {
        // Lengths on both sides of each room's stack size, valid and invalid.
        let (mut payload_room, mut signature_room) = (PayloadRoom::new(), SignatureRoom::new());
        for len in [
            0, 1, 2, 3, 63, 64, 131, 132, 133, 256, 2047, 2048, 2049, 5000,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let mut segment = Vec::new();
            encode_into(&data, &mut segment);
            assert_eq!(decode(&segment).as_deref(), Ok(&data[..]), "{len}");
            assert_eq!(payload_room.decode(&segment), Ok(&data[..]), "{len}");
            assert_eq!(signature_room.decode(&segment), Ok(&data[..]), "{len}");
            segment.push(b'!');
            assert_eq!(payload_room.decode(&segment), Err(InvalidSegment), "{len}");
            assert_eq!(
                signature_room.decode(&segment),
                Err(InvalidSegment),
                "{len}"
            );
        }
        for room_decode in [
            |s: &[u8]| PayloadRoom::new().decode(s).map(<[u8]>::to_vec),
            |s: &[u8]| SignatureRoom::new().decode(s).map(<[u8]>::to_vec),
        ] {
            assert_eq!(room_decode(b"YR"), Err(InvalidSegment));
            assert_eq!(room_decode(b"YQ=="), Ok(b"a".to_vec()));
            assert_eq!(room_decode(b"YQ="), Err(InvalidSegment));
        }
    }

    #[test]
    fn encodes_without_padding() {
        let mut out = Vec::new();
        encode_into(b"\xfb\xff", &mut out);
        assert_eq!(out, b"-_8");
    }
}
