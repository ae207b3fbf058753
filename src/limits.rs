//! Process-wide caps on what a decode looks at: the compact token's length and the JSON
//! nesting depth of its header and payload.
//!
//! Both are refused with `DecodeError` before any real work: the length before the token is
//! split or base64-decoded, the depth before the JSON parser sees the document. The defaults
//! are far above what any issuer produces. The values live in atomics, so reading them needs
//! no lock and no GIL (batch workers read them with the GIL released).

use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::errors::{fail, Exc};

/// 256 KiB: real tokens are a few hundred bytes to a few kilobytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 256 * 1024;

static MAX_TOKEN_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_TOKEN_BYTES);
/// "No depth limit", as Python sees it: `sys.maxsize`.
pub const NO_DEPTH_LIMIT: usize = isize::MAX.unsigned_abs();
/// The depth limit without an interpreter (the fuzz targets): CPython 3.11's default.
pub const UNINITIALISED_DEPTH: usize = 1000;
/// The depth limit; 0 until the module knows its interpreter (see [`init_default_depth`]).
static MAX_JSON_DEPTH: AtomicUsize = AtomicUsize::new(0);

pub fn max_token_bytes() -> usize {
    MAX_TOKEN_BYTES.load(Ordering::Relaxed)
}

pub fn max_json_depth() -> usize {
    match MAX_JSON_DEPTH.load(Ordering::Relaxed) {
        0 => UNINITIALISED_DEPTH,
        depth => depth,
    }
}

/// The default depth: the deepest document the interpreter's own `json.loads` can parse with
/// Python's default recursion limit, so the default refuses nothing PyJWT accepts. CPython
/// 3.11 and older bound the JSON scanner by the recursion limit (read at import, 1000 by
/// default); 3.12 by a C recursion limit of 1500; 3.13 by one of 10,000. 3.14 and newer
/// measure the C stack instead, so no fixed depth is safe to refuse there: the length limit
/// bounds the nesting alone.
pub fn default_json_depth(py: Python<'_>) -> usize {
    let version = py.version_info();
    if (version.major, version.minor) <= (3, 11) {
        let recursion_limit = py
            .import("sys")
            .and_then(|sys| {
                sys.getattr("getrecursionlimit")?
                    .call0()?
                    .extract::<usize>()
            })
            .unwrap_or(1000);
        recursion_limit.max(1000)
    } else if (version.major, version.minor) == (3, 12) {
        1500
    } else if (version.major, version.minor) == (3, 13) {
        10_000
    } else {
        NO_DEPTH_LIMIT
    }
}

/// Set the default depth once the module is loaded (an explicit `set_limits` wins).
pub fn init_default_depth(py: Python<'_>) {
    let depth = default_json_depth(py);
    let _ = MAX_JSON_DEPTH.compare_exchange(0, depth, Ordering::Relaxed, Ordering::Relaxed);
}

/// Whether a compact token of `len` bytes is over the length limit.
pub fn token_too_long(len: usize) -> bool {
    len > max_token_bytes()
}

/// Whether the JSON document `json` nests arrays and objects deeper than the depth limit.
///
/// Cheap on ordinary documents: depth can only exceed the limit if the document holds more
/// than `limit` `[`/`{` bytes, which a branch-free count settles; only then is the exact
/// scan (which skips string contents) run.
pub fn too_deep(json: &[u8]) -> bool {
    let limit = max_json_depth();
    json.len() > limit && count_openers(json) > limit && nesting_exceeds(json, limit)
}

/// `Err(DecodeError)` when a token of `len` bytes is over the length limit.
pub fn check_token_length(py: Python<'_>, len: usize) -> PyResult<()> {
    if token_too_long(len) {
        return fail(py, Exc::DecodeError, token_too_long_message());
    }
    Ok(())
}

/// `Err(DecodeError("Invalid {what} string: nesting deeper than N levels"))` for a document
/// over the depth limit; `what` is `header` or `payload`, as in PyJWT's JSON errors.
pub fn check_json_depth(py: Python<'_>, json: &[u8], what: &str) -> PyResult<()> {
    if too_deep(json) {
        return fail(py, Exc::DecodeError, too_deep_message(what));
    }
    Ok(())
}

pub fn token_too_long_message() -> String {
    format!("Invalid token: longer than {} bytes", max_token_bytes())
}

pub fn too_deep_message(what: &str) -> String {
    format!(
        "Invalid {what} string: nesting deeper than {} levels",
        max_json_depth()
    )
}

/// How many bytes are `[` or `{`. The two differ only in bit 0x20, and no other byte
/// becomes `{` when that bit is set, so one comparison per byte suffices; byte-wide counters
/// over chunks that cannot overflow them let the loop run 16 or 32 bytes per step.
fn count_openers(json: &[u8]) -> usize {
    json.chunks(usize::from(u8::MAX))
        .map(|chunk| {
            let count = chunk
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(b | 0x20 == b'{')));
            usize::from(count)
        })
        .sum()
}

/// The exact depth check: brackets inside strings do not count, and `\"` does not end a
/// string. Up to the first byte a JSON parser would reject, this tracks the parser's own
/// state, so no document it accepts (or starts parsing) is misjudged. The exception is
/// UTF-16/32 text, which only `json.loads` reads (after decoding it); `json.loads` bounds
/// its own recursion, so a misjudged document still ends in `DecodeError`.
fn nesting_exceeds(json: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Change the limits (`None` keeps a value). Validated again in `turbojwt.limits`.
#[pyfunction]
#[pyo3(signature = (*, max_token_bytes=None, max_json_depth=None))]
pub fn set_limits(max_token_bytes: Option<usize>, max_json_depth: Option<usize>) -> PyResult<()> {
    if max_token_bytes == Some(0) || max_json_depth == Some(0) {
        return Err(PyValueError::new_err("limits must be positive"));
    }
    if let Some(bytes) = max_token_bytes {
        MAX_TOKEN_BYTES.store(bytes, Ordering::Relaxed);
    }
    // Tokens remembered as valid were accepted under the old limits.
    crate::token_cache::invalidate();
    if let Some(depth) = max_json_depth {
        MAX_JSON_DEPTH.store(depth, Ordering::Relaxed);
        // Cached headers were checked against the old depth limit.
        crate::header_cache::clear();
    }
    Ok(())
}

/// `(max_token_bytes, max_json_depth)`.
#[pyfunction]
pub fn get_limits() -> (usize, usize) {
    (max_token_bytes(), max_json_depth())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> Vec<u8> {
        let mut doc = b"{\"a\":".repeat(depth.saturating_sub(1));
        doc.extend_from_slice(b"{}");
        doc.extend_from_slice(&b"}".repeat(depth.saturating_sub(1)));
        doc
    }

    #[test]
    fn counts_only_brackets_and_braces() {
        assert_eq!(count_openers(b"[{}]{[x"), 4);
        let others = (0..=255u8).filter(|b| b | 0x20 == b'{').collect::<Vec<_>>();
        assert_eq!(others, vec![b'[', b'{']);
    }

    #[test]
    fn exact_depth_at_the_boundary() {
        assert!(!nesting_exceeds(&nested(64), 64));
        assert!(nesting_exceeds(&nested(65), 64));
        assert!(!nesting_exceeds(&b"[".repeat(64), 64));
        assert!(nesting_exceeds(&b"[".repeat(65), 64));
    }

    #[test]
    fn siblings_do_not_add_up() {
        let doc = [b"[".as_slice(), &b"[[]],".repeat(100), b"[]]"].concat();
        assert!(!nesting_exceeds(&doc, 3));
        assert!(nesting_exceeds(&doc, 2));
    }

    #[test]
    fn strings_are_skipped_with_their_escapes() {
        let doc = [b"{\"k\":\"".as_slice(), &b"[{".repeat(100), b"\"}"].concat();
        assert!(!nesting_exceeds(&doc, 1));
        // An escaped quote does not end the string, an escaped backslash does not escape it.
        let escaped_quote = [b"[\"\\\"".as_slice(), &b"[".repeat(10), b"\"]"].concat();
        assert!(!nesting_exceeds(&escaped_quote, 1));
        let escaped_backslash = [b"[\"\\\\\"".as_slice(), &b"[".repeat(10)].concat();
        assert!(nesting_exceeds(&escaped_backslash, 1));
    }

    #[test]
    fn closers_never_go_negative() {
        assert!(nesting_exceeds(
            &[&b"]".repeat(10)[..], &b"[".repeat(3)].concat(),
            2
        ));
    }
}
