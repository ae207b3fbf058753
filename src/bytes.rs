//! Equality of the short byte strings every decode compares: a header segment with the
//! cached ones, a secret with the prepared keys', an `alg` with the allowed names.
//!
//! Slice `==` on bytes is a call to libc's `memcmp`, whose entry and length dispatch cost
//! more than comparing a few dozen bytes: three such calls were 2% of refusing a forged
//! HS256 token (a sampling profile, CPython 3.12). These compare in line, a word at a time.

/// `a == b`, a word at a time; the last word overlaps the one before it, so no byte loop
/// runs on slices of eight bytes or more. Not constant-time: none of its callers compares
/// a value an attacker could learn something from by timing (see `token_cache` for those).
#[inline]
pub fn short_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let Some(last) = a.len().checked_sub(8) else {
        return a.iter().zip(b).all(|(x, y)| x == y);
    };
    let word = |bytes: &[u8], at: usize| {
        bytes
            .get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_ne_bytes)
    };
    let mut at = 0;
    while at < last {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    word(a, last) == word(b, last)
}

#[cfg(test)]
mod tests {
    use super::short_eq;

    #[test]
    fn agrees_with_slice_equality() {
        // Every length up to five words, equal and differing at each position.
        for len in 0..=40 {
            let a: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            assert!(short_eq(&a, &a.clone()), "{len}");
            for at in 0..len {
                let mut b = a.clone();
                if let Some(byte) = b.get_mut(at) {
                    *byte ^= 0x20;
                }
                assert!(!short_eq(&a, &b), "{len} {at}");
            }
            let mut longer = a.clone();
            longer.push(0);
            assert!(!short_eq(&a, &longer));
            assert!(!short_eq(&longer, &a));
        }
    }
}
