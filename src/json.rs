//! JSON for tokens, with the semantics of the stdlib `json` module that PyJWT uses.
//!
//! Reading: `jiter` builds Python objects straight from the bytes. It is used only where its
//! result provably equals `json.loads` (valid UTF-8, no encoding sniffing, no integer longer
//! than CPython's digit limit); every error and every other input goes to `json.loads` itself,
//! so messages and edge cases (BOMs, UTF-16, lone surrogates) are the stdlib's by construction.
//!
//! Writing: a native writer for the types JWT claims are made of reproduces
//! `json.dumps(obj, separators=(",", ":"))` byte for byte (`ensure_ascii`, `NaN`, float repr);
//! any other object falls back to `json.dumps`, which also raises its exact errors.

use jiter::{FloatMode, PartialMode, PythonParse, StringCacheMode};
use pyo3::exceptions::{PyRecursionError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::claims::Captured;
use crate::errors::{fail, Exc};
use crate::json_build::{string_stops, zero_bytes, HIGH_BITS, ONES};
use crate::py_refs::refs;

/// CPython's default `sys.int_max_str_digits`: `json.loads` refuses longer integers.
const INT_MAX_STR_DIGITS: usize = 4300;

/// Nesting beyond this is left to `json.dumps`, which reports cycles and recursion exactly.
const MAX_WRITE_DEPTH: usize = 64;

/// Parsers for one token and for batches. Key strings are shared between dicts (claims
/// dicts repeat the same keys, and sharing them keeps retained claims small); a batch also
/// shares repeated values (issuer, audience, scopes recur across a batch's tokens).
const PARSER: PythonParse = parser(StringCacheMode::Keys);
const BATCH_PARSER: PythonParse = parser(StringCacheMode::All);

const fn parser(cache_mode: StringCacheMode) -> PythonParse {
    PythonParse {
        allow_inf_nan: true,
        cache_mode,
        partial_mode: PartialMode::Off,
        catch_duplicate_keys: false,
        float_mode: FloatMode::Float,
    }
}

/// Which string sharing to parse with.
#[derive(Clone, Copy)]
pub enum Sharing {
    Keys,
    /// Only with the GIL: free-threaded batches build results in parallel, per-thread tables.
    #[cfg_attr(Py_GIL_DISABLED, allow(dead_code))]
    KeysAndValues,
}

/// Whether `json.loads(data)` would decode `data` as plain UTF-8 with no digit-limit error.
pub fn native_parse_is_exact(data: &[u8]) -> bool {
    native_text(data).is_some()
}

/// `data` as text, when `json.loads(data)` would decode it as plain UTF-8 with no
/// digit-limit error.
pub fn native_text(data: &[u8]) -> Option<&str> {
    utf8_text(data).filter(|_| within_digit_limit(data))
}

/// `data` as text, when `json.loads` reads it as UTF-8 (no UTF-16/32 sniffing, valid UTF-8).
fn utf8_text(data: &[u8]) -> Option<&str> {
    let sniffs_utf16_or_32 = data.first() == Some(&0) || data.get(1) == Some(&0);
    if sniffs_utf16_or_32 {
        return None;
    }
    // JWT claims are nearly always ASCII, which needs no decoding rules checked.
    crate::ffi::ascii_text(data).or_else(|| std::str::from_utf8(data).ok())
}

fn within_digit_limit(data: &[u8]) -> bool {
    data.len() <= INT_MAX_STR_DIGITS || longest_digit_run(data) <= INT_MAX_STR_DIGITS
}

fn longest_digit_run(data: &[u8]) -> usize {
    let (mut longest, mut current) = (0, 0);
    for byte in data {
        current = if byte.is_ascii_digit() {
            current + 1
        } else {
            0
        };
        longest = longest.max(current);
    }
    longest
}

/// `json.loads(data)` for a JWS header or payload, as PyJWT calls it: a `ValueError` or
/// `RecursionError` becomes `DecodeError("Invalid {what} string: ...")`, and the value must
/// be a JSON object.
pub fn load_object<'py>(py: Python<'py>, data: &[u8], what: &str) -> PyResult<Bound<'py, PyDict>> {
    load_object_sharing(py, data, what, Sharing::Keys)
}

/// `load_object` for a payload, with its registered claims' values where the common-shape
/// reader built it (see [`Captured`]).
pub fn load_claims<'py>(
    py: Python<'py>,
    data: &[u8],
) -> PyResult<(Bound<'py, PyDict>, Option<Captured<'py>>)> {
    load_object_capturing(py, data, "payload", Sharing::Keys)
}

/// `load_object` with a choice of string sharing.
pub fn load_object_sharing<'py>(
    py: Python<'py>,
    data: &[u8],
    what: &str,
    sharing: Sharing,
) -> PyResult<Bound<'py, PyDict>> {
    load_object_capturing(py, data, what, sharing).map(|(object, _)| object)
}

fn load_object_capturing<'py>(
    py: Python<'py>,
    data: &[u8],
    what: &str,
    sharing: Sharing,
) -> PyResult<(Bound<'py, PyDict>, Option<Captured<'py>>)> {
    // The depth limit applies to JSON text: bytes `json.loads` cannot read as UTF-8 get its
    // own error (or, for UTF-16/32, its own decoding and recursion limit), as in PyJWT.
    let text = utf8_text(data);
    let utf8_text = text.is_some();
    if utf8_text {
        crate::limits::check_json_depth(py, data, what)?;
    }
    let parser = match sharing {
        Sharing::Keys => &PARSER,
        Sharing::KeysAndValues => &BATCH_PARSER,
    };
    let refs = refs(py)?;
    let native = utf8_text && within_digit_limit(data);
    let value = match refs.current_json_loads(py)? {
        Some(patched) => call_loads(py, &patched, data, what)?,
        None => {
            // The common shape first, then the general native parser, then `json.loads`.
            let common = match (native, sharing, text) {
                (true, Sharing::Keys, Some(text)) => crate::json_build::parse_object(py, text),
                _ => None,
            };
            match common {
                Some((dict, captured)) => return Ok((dict, Some(captured))),
                None => match native.then(|| parser.python_parse(py, data)) {
                    Some(Ok(value)) => value,
                    _ => call_loads(py, refs.json_loads.bind(py), data, what)?,
                },
            }
        }
    };
    match value.cast_into::<PyDict>() {
        Ok(dict) => Ok((dict, None)),
        Err(_) => fail(
            py,
            Exc::DecodeError,
            format!("Invalid {what} string: must be a json object"),
        ),
    }
}

/// A batch payload the parallel pass already found to be a plain, duplicate-free JSON object
/// within the limits, read with value sharing and without checking it all again (with the
/// GIL only; see `Sharing::KeysAndValues`).
#[cfg_attr(Py_GIL_DISABLED, allow(dead_code))]
pub fn load_accepted_object<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    match BATCH_PARSER
        .python_parse(py, data)
        .map(|value| value.cast_into::<PyDict>())
    {
        Ok(Ok(dict)) => Ok(dict),
        _ => load_object_sharing(py, data, "payload", Sharing::KeysAndValues),
    }
}

fn call_loads<'py>(
    py: Python<'py>,
    loads: &Bound<'py, PyAny>,
    data: &[u8],
    what: &str,
) -> PyResult<Bound<'py, PyAny>> {
    loads.call1((PyBytes::new(py, data),)).map_err(|err| {
        if err.is_instance_of::<PyValueError>(py) || err.is_instance_of::<PyRecursionError>(py) {
            let message = format!("Invalid {what} string: {}", err.value(py));
            Exc::DecodeError.err_from(py, message, err)
        } else {
            err
        }
    })
}

/// `PyJWT._decode_payload`'s JSON step, for the Python layer.
#[pyfunction]
pub fn loads_payload<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    load_object(py, data, "payload")
}

/// `json.dumps(obj, separators=(",", ":"), sort_keys=sort_keys, cls=cls).encode()`.
pub fn dump<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    sort_keys: bool,
    cls: Option<&Bound<'py, PyAny>>,
    out: &mut Vec<u8>,
) -> PyResult<()> {
    let refs = refs(py)?;
    let patched = refs.current_json_dumps(py)?;
    if cls.is_none() && patched.is_none() {
        let start = out.len();
        let mut writer = Writer {
            out: &mut *out,
            sort_keys,
        };
        if writer.value(obj, 0)? {
            return Ok(());
        }
        out.truncate(start);
    }
    let dumps = patched.unwrap_or_else(|| refs.json_dumps.bind(py).clone());
    let kwargs = PyDict::new(py);
    kwargs.set_item("separators", (",", ":"))?;
    kwargs.set_item("cls", cls)?;
    if sort_keys {
        kwargs.set_item("sort_keys", true)?;
    }
    let text = dumps.call((obj,), Some(&kwargs))?;
    let text = text.cast_into::<PyString>()?;
    out.extend_from_slice(text.to_str()?.as_bytes());
    Ok(())
}

/// [`dump`] of a plain dict without `cls` or `sort_keys`, done only natively and only while
/// `accept(key, value)` holds for every member. `Ok(false)` leaves `out` as it was, for the
/// caller's general path.
pub fn dump_dict_if(
    py: Python<'_>,
    dict: &Bound<'_, PyDict>,
    accept: &impl Fn(&str, &Bound<'_, PyAny>) -> bool,
    out: &mut Vec<u8>,
) -> PyResult<bool> {
    if !dict.is_exact_instance_of::<PyDict>() || refs(py)?.current_json_dumps(py)?.is_some() {
        return Ok(false);
    }
    let start = out.len();
    let written = Writer {
        out: &mut *out,
        sort_keys: false,
    }
    .object_if(dict, 0, accept)?;
    if !written {
        out.truncate(start);
    }
    Ok(written)
}

/// `json.dumps(obj, separators=(",", ":"))` as bytes, for the Python layer.
#[pyfunction]
#[pyo3(signature = (obj, cls=None, sort_keys=false))]
pub fn dumps_compact<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    cls: Option<&Bound<'py, PyAny>>,
    sort_keys: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(256);
    dump(py, obj, sort_keys, cls.filter(|c| !c.is_none()), &mut out)?;
    Ok(PyBytes::new(py, &out))
}

/// The native writer. Each method returns `Ok(false)` when it meets something only
/// `json.dumps` can judge (an unknown type, a non-str key, a lone surrogate, deep nesting).
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    sort_keys: bool,
}

impl Writer<'_> {
    fn value(&mut self, obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<bool> {
        if depth > MAX_WRITE_DEPTH {
            return Ok(false);
        }
        if obj.is_none() {
            self.out.extend_from_slice(b"null");
        } else if let Ok(flag) = obj.cast::<PyBool>() {
            self.out
                .extend_from_slice(if flag.is_true() { b"true" } else { b"false" });
        } else if let Ok(text) = obj.cast::<PyString>() {
            return self.string(text);
        } else if let Ok(int) = obj.cast::<PyInt>() {
            return self.int(int);
        } else if let Ok(float) = obj.cast::<PyFloat>() {
            self.float(float)?;
        } else if let Ok(list) = obj.cast::<PyList>() {
            return self.array(list.iter(), depth);
        } else if let Ok(tuple) = obj.cast::<PyTuple>() {
            return self.array(tuple.iter(), depth);
        } else if obj.is_exact_instance_of::<PyDict>() {
            return self.object(obj.cast::<PyDict>()?, depth);
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    fn string(&mut self, text: &Bound<'_, PyString>) -> PyResult<bool> {
        match crate::ffi::str_text(text) {
            Some(s) => {
                write_ascii_string(self.out, s);
                Ok(true)
            }
            // Lone surrogates: `json.dumps` escapes them; let it.
            None => Ok(false),
        }
    }

    fn int(&mut self, int: &Bound<'_, PyInt>) -> PyResult<bool> {
        match int.extract::<i64>() {
            Ok(n) => {
                self.out
                    .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
                Ok(true)
            }
            // Big integers: `int.__repr__`, including CPython's digit limit error.
            Err(_) => Ok(false),
        }
    }

    fn float(&mut self, float: &Bound<'_, PyFloat>) -> PyResult<()> {
        let v = float.value();
        if v.is_nan() {
            self.out.extend_from_slice(b"NaN");
        } else if v.is_infinite() {
            self.out
                .extend_from_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
        } else {
            // `float.__repr__` of the value: exact by construction, and floats are rare in claims.
            let repr = PyFloat::new(float.py(), v).repr()?;
            self.out.extend_from_slice(repr.to_str()?.as_bytes());
        }
        Ok(())
    }

    fn array<'py>(
        &mut self,
        items: impl Iterator<Item = Bound<'py, PyAny>>,
        depth: usize,
    ) -> PyResult<bool> {
        self.out.push(b'[');
        for (i, item) in items.enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            if !self.value(&item, depth + 1)? {
                return Ok(false);
            }
        }
        self.out.push(b']');
        Ok(true)
    }

    fn object(&mut self, dict: &Bound<'_, PyDict>, depth: usize) -> PyResult<bool> {
        self.object_if(dict, depth, &|_, _| true)
    }

    /// An object whose members all satisfy `accept(key, value)`; `Ok(false)` at the first
    /// that does not.
    fn object_if(
        &mut self,
        dict: &Bound<'_, PyDict>,
        depth: usize,
        accept: &impl Fn(&str, &Bound<'_, PyAny>) -> bool,
    ) -> PyResult<bool> {
        if self.sort_keys {
            return self.sorted_object(dict, depth, accept);
        }
        self.members(dict.iter(), depth, accept)
    }

    fn sorted_object(
        &mut self,
        dict: &Bound<'_, PyDict>,
        depth: usize,
        accept: &impl Fn(&str, &Bound<'_, PyAny>) -> bool,
    ) -> PyResult<bool> {
        let mut entries = Vec::with_capacity(dict.len());
        for (key, value) in dict.iter() {
            let Some(text) = key
                .cast::<PyString>()
                .ok()
                .and_then(|k| k.to_str().ok().map(str::to_owned))
            else {
                return Ok(false);
            };
            entries.push((text, key, value));
        }
        // UTF-8 byte order is code point order, which is how Python sorts str.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let members = entries.into_iter().map(|(_, key, value)| (key, value));
        self.members(members, depth, accept)
    }

    /// `{` the members, comma-separated, `}`.
    fn members<'py>(
        &mut self,
        members: impl Iterator<Item = (Bound<'py, PyAny>, Bound<'py, PyAny>)>,
        depth: usize,
        accept: &impl Fn(&str, &Bound<'_, PyAny>) -> bool,
    ) -> PyResult<bool> {
        self.out.push(b'{');
        for (i, (key, value)) in members.enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            if !self.member(&key, &value, depth, accept)? {
                return Ok(false);
            }
        }
        self.out.push(b'}');
        Ok(true)
    }

    /// `"key":value`. A key that is not a `str`, or not valid UTF-8 (a lone surrogate), is
    /// left to `json.dumps`.
    fn member(
        &mut self,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        depth: usize,
        accept: &impl Fn(&str, &Bound<'_, PyAny>) -> bool,
    ) -> PyResult<bool> {
        let Ok(key) = key.cast::<PyString>() else {
            return Ok(false);
        };
        let Some(name) = crate::ffi::str_text(key) else {
            return Ok(false);
        };
        if !accept(name, value) {
            return Ok(false);
        }
        write_ascii_string(self.out, name);
        self.out.push(b':');
        self.value(value, depth + 1)
    }
}

/// Bytes `json.dumps` (with `ensure_ascii`) does not copy as they are: controls, `"`, `\\`,
/// DEL and every byte of a non-ASCII character.
fn escaped(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\' || byte >= 0x7f
}

/// Whether any byte of `bytes` is [`escaped`], eight bytes at a time: the reader's string
/// stops, plus DEL and every byte with its high bit set. Short strings, the usual case,
/// take one or two words instead of a vector loop's set-up.
fn any_escaped(bytes: &[u8]) -> bool {
    let word_escapes =
        |x: u64| (string_stops(x) | zero_bytes(x ^ (ONES * 0x7f)) | x) & HIGH_BITS != 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        if <[u8; 8]>::try_from(chunk).map_or(true, |word| word_escapes(u64::from_le_bytes(word))) {
            return true;
        }
    }
    let tail = chunks.remainder();
    if tail.is_empty() {
        return false;
    }
    // The last few bytes as one word: the string's last eight bytes when it has them (some
    // already checked, which is harmless), else two overlapping four-byte reads, else the
    // bytes topped up with one that needs no escape.
    let word = if let Some(last) = bytes.len().checked_sub(8).and_then(|at| bytes.get(at..)) {
        <[u8; 8]>::try_from(last).map_or(u64::MAX, u64::from_le_bytes)
    } else if let (Some(head), Some(last)) = (
        tail.get(..4),
        tail.len().checked_sub(4).and_then(|at| tail.get(at..)),
    ) {
        let read = |four: &[u8]| <[u8; 4]>::try_from(four).map_or(u32::MAX, u32::from_le_bytes);
        u64::from(read(head)) | (u64::from(read(last)) << 32)
    } else {
        tail.iter()
            .rev()
            .fold(ONES * u64::from(b'a'), |word, &byte| {
                (word << 8) | u64::from(byte)
            })
    };
    word_escapes(word)
}

/// A JSON string with `ensure_ascii=True` escaping: everything outside `' '..='~'` is escaped.
pub fn write_ascii_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // The common case, no byte to escape, is settled by one pass a word at a time.
    if !any_escaped(bytes) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut run_start = 0;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if !escaped(byte) {
            i += 1;
            continue;
        }
        out.extend_from_slice(bytes.get(run_start..i).unwrap_or_default());
        // `i` is at a character boundary: every byte before it was ASCII or a whole character.
        let ch = s
            .get(i..)
            .and_then(|rest| rest.chars().next())
            .unwrap_or('\u{fffd}');
        i += ch.len_utf8();
        run_start = i;
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            _ => {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    out.extend_from_slice(b"\\u");
                    for shift in [12, 8, 4, 0] {
                        out.push(
                            HEX.get(usize::from((*unit >> shift) & 0xf))
                                .copied()
                                .unwrap_or(b'0'),
                        );
                    }
                }
            }
        }
    }
    out.extend_from_slice(bytes.get(run_start..).unwrap_or_default());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        write_ascii_string(&mut out, s);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn escapes_like_ensure_ascii() {
        assert_eq!(escaped("plain"), "\"plain\"");
        assert_eq!(escaped("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(
            escaped("\n\r\t\u{8}\u{c}\u{1}"),
            "\"\\n\\r\\t\\b\\f\\u0001\""
        );
        assert_eq!(escaped("\u{7f}é"), "\"\\u007f\\u00e9\"");
        assert_eq!(escaped("😀"), "\"\\ud83d\\ude00\"");
    }

    #[test]
    fn sniffs_what_json_loads_would_decode_differently() {
        assert!(native_parse_is_exact(b"{\"a\":1}"));
        assert!(!native_parse_is_exact(b"{\x00\"\x00"));
        assert!(!native_parse_is_exact(b"\xef\xbb\xbf{}\xff"));
        assert_eq!(longest_digit_run(b"a123b45"), 3);
    }
}

#[cfg(test)]
mod escape_tests {
    use super::{any_escaped, escaped};

    /// The word-at-a-time test agrees with the byte test for every byte value at every
    /// position of strings up to three words long.
    #[test]
    fn any_escaped_matches_the_byte_test() {
        for len in 1..=24 {
            for position in 0..len {
                for byte in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    if let Some(slot) = bytes.get_mut(position) {
                        *slot = byte;
                    }
                    assert_eq!(any_escaped(&bytes), escaped(byte), "{bytes:?}");
                }
            }
        }
        assert!(!any_escaped(b""));
        assert!(!any_escaped(b" !#~ plain text, longer than a word ~"));
    }
}
