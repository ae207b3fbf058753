//! Splitting a compact JWS into its segments, as PyJWT's `_load` does: the last dot ends
//! the signing input, whose first dot ends the header.
//!
//! The dots are found eight bytes at a time: a token is a few hundred bytes, and scanning
//! them one by one was a visible part of a rejection's cost.

/// A token's segments, still base64url.
#[derive(Debug, PartialEq, Eq)]
pub struct Segments<'t> {
    pub header: &'t [u8],
    pub payload: &'t [u8],
    /// `header.payload`, exactly as it appears in the token.
    pub signing_input: &'t [u8],
    pub signature: &'t [u8],
}

/// `None` when the token has fewer than two dots (PyJWT's "Not enough segments").
pub fn split(token: &[u8]) -> Option<Segments<'_>> {
    let last_dot = last_dot(token)?;
    let signing_input = token.get(..last_dot)?;
    let first_dot = first_dot(signing_input)?;
    Some(Segments {
        header: signing_input.get(..first_dot)?,
        payload: signing_input.get(first_dot + 1..)?,
        signing_input,
        signature: token.get(last_dot + 1..)?,
    })
}

const LOW_SEVEN: u64 = u64::from_ne_bytes([0x7f; 8]);
const DOTS: u64 = u64::from_ne_bytes([b'.'; 8]);

/// The high bit of each byte of `word` that is a dot, and no other bit (exact, so the
/// highest flag is as trustworthy as the lowest).
fn dot_flags(word: [u8; 8]) -> u64 {
    let x = u64::from_le_bytes(word) ^ DOTS;
    !(((x & LOW_SEVEN) + LOW_SEVEN) | x | LOW_SEVEN)
}

fn word(chunk: &[u8]) -> [u8; 8] {
    chunk.try_into().unwrap_or([0; 8])
}

fn first_dot(bytes: &[u8]) -> Option<usize> {
    let chunks = bytes.chunks_exact(8);
    let tail_start = bytes.len() - chunks.remainder().len();
    for (index, chunk) in chunks.enumerate() {
        let flags = dot_flags(word(chunk));
        if flags != 0 {
            return Some(index * 8 + flags.trailing_zeros() as usize / 8);
        }
    }
    let tail = bytes.get(tail_start..)?;
    Some(tail_start + tail.iter().position(|&b| b == b'.')?)
}

fn last_dot(bytes: &[u8]) -> Option<usize> {
    let chunks = bytes.rchunks_exact(8);
    let head = chunks.remainder();
    for (index, chunk) in chunks.enumerate() {
        let flags = dot_flags(word(chunk));
        if flags != 0 {
            let start = bytes.len() - (index + 1) * 8;
            return Some(start + 7 - flags.leading_zeros() as usize / 8);
        }
    }
    head.iter().rposition(|&b| b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(token: &[u8]) -> Option<(usize, usize)> {
        let last = token.iter().rposition(|&b| b == b'.')?;
        let first = token.get(..last)?.iter().position(|&b| b == b'.')?;
        Some((first, last))
    }

    #[test]
    fn agrees_with_a_byte_by_byte_split() {
        // Dots at every pair of positions in tokens of every length up to three words,
        // around bytes whose dot test could carry into a neighbour (0x2d, 0x2f, 0xae, 0x00).
        for len in 0..=24 {
            for filler in [b'a', b'-', b'/', 0xae, 0x00, 0xff] {
                for first in 0..len {
                    for last in first..len {
                        let token: Vec<u8> = (0..len)
                            .map(|i| {
                                if i == first || i == last {
                                    b'.'
                                } else {
                                    filler
                                }
                            })
                            .collect();
                        let split = split(&token);
                        let found = split
                            .as_ref()
                            .map(|s| (s.header.len(), s.signing_input.len()));
                        assert_eq!(found, reference(&token), "{token:?}");
                        if let Some(s) = split {
                            let after = |n: usize| token.get(n + 1..).unwrap_or_default();
                            assert_eq!(s.signature, after(s.signing_input.len()));
                            assert!(after(s.header.len()).starts_with(s.payload));
                        }
                    }
                }
            }
        }
        assert_eq!(split(b"abc"), None);
        assert_eq!(split(b"a.b"), None);
        let many = split(b"a.b.c.d").map(|s| (s.header, s.payload, s.signature));
        assert_eq!(many, Some((&b"a"[..], &b"b.c"[..], &b"d"[..])));
    }
}
