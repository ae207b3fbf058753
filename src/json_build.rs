//! JSON text to Python objects for the shapes token headers and claims take, at the cost of
//! the objects themselves.
//!
//! A header or claims set is a small object of short ASCII keys with strings, integers,
//! booleans and small arrays or objects as values. This builder handles exactly that
//! grammar and nothing else: any escape sequence, integer of 19 digits or more, nesting past
//! [`MAX_DEPTH`] or byte it does not expect makes it give up (`None`), and the caller parses
//! the document with the general parser, whose result and errors are the stdlib's. Where it
//! does finish, the result is the one `json.loads` returns: the grammar it accepts is a
//! subset of `json.loads`' with the same meaning (duplicate keys keep the first position and
//! the last value, `NaN` and `Infinity` are floats, `-0` is the integer 0).
//!
//! The registered header and claim names are interned once and reused, so the claim checks'
//! lookups (with interned names) match them by identity; ASCII strings are made directly.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyString};

/// Deeper documents go to the general parser (the depth limit was checked before).
const MAX_DEPTH: usize = 32;

/// `json.loads(text)` when `text` is a JSON object of the common shape, else `None`.
/// `text` must be the whole document (valid UTF-8, as `&str` guarantees).
pub fn parse_object<'py>(py: Python<'py>, text: &str) -> Option<Bound<'py, PyDict>> {
    let mut parser = Parser {
        py,
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    parser.skip_whitespace();
    if parser.peek()? != b'{' {
        return None;
    }
    let object = parser.object(0)?;
    parser.skip_whitespace();
    (parser.at == parser.bytes.len()).then_some(object)
}

struct Parser<'py, 'a> {
    py: Python<'py>,
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'py, 'a> Parser<'py, 'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn value(&mut self, depth: usize) -> Option<Bound<'py, PyAny>> {
        let py = self.py;
        self.skip_whitespace();
        match self.peek()? {
            b'{' => self.object(depth + 1).map(Bound::into_any),
            b'[' => self.array(depth + 1).map(Bound::into_any),
            b'"' => {
                let text = self.string()?;
                crate::ffi::ascii_string(py, text).ok().map(Bound::into_any)
            }
            b't' => self.literal("true", || PyBool::new(py, true).to_owned().into_any()),
            b'f' => self.literal("false", || PyBool::new(py, false).to_owned().into_any()),
            b'n' => self.literal("null", || py.None().into_bound(py)),
            b'N' => self.literal("NaN", || PyFloat::new(py, f64::NAN).into_any()),
            b'I' => self.literal("Infinity", || PyFloat::new(py, f64::INFINITY).into_any()),
            b'-' if self.bytes.get(self.at + 1) == Some(&b'I') => {
                self.at += 1;
                self.literal("Infinity", || {
                    PyFloat::new(py, f64::NEG_INFINITY).into_any()
                })
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(
        &mut self,
        word: &str,
        make: impl FnOnce() -> Bound<'py, PyAny>,
    ) -> Option<Bound<'py, PyAny>> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word.as_bytes()).then(|| {
            self.at = end;
            make()
        })
    }

    fn object(&mut self, depth: usize) -> Option<Bound<'py, PyDict>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.at += 1; // `{`
                      // Pairs first, so the dict is made at its final size (no resizing while filling).
        let mut pairs: Vec<(Bound<'py, PyString>, Bound<'py, PyAny>)> = Vec::with_capacity(16);
        self.skip_whitespace();
        if self.peek()? == b'}' {
            self.at += 1;
            return crate::ffi::dict_with_pairs(self.py, pairs).ok();
        }
        loop {
            self.skip_whitespace();
            if self.peek()? != b'"' {
                return None;
            }
            let key = self.key()?;
            self.expect(b':')?;
            let value = self.value(depth)?;
            pairs.push((key, value));
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return crate::ffi::dict_with_pairs(self.py, pairs).ok();
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<Bound<'py, PyList>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.at += 1; // `[`
        let list = PyList::empty(self.py);
        self.skip_whitespace();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(list);
        }
        loop {
            list.append(self.value(depth)?).ok()?;
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(list);
                }
                _ => return None,
            }
        }
    }

    /// The contents of a string with no escapes and no control characters, or `None`.
    fn string(&mut self) -> Option<&'a str> {
        let start = self.at + 1;
        let mut end = start;
        loop {
            let byte = *self.bytes.get(end)?;
            if byte == b'"' {
                break;
            }
            if byte == b'\\' || byte < 0x20 {
                return None; // an escape or a control character: the general parser decides
            }
            end += 1;
        }
        self.at = end + 1;
        // Both ends are at ASCII bytes, so this is a slice at character boundaries.
        self.text.get(start..end)
    }

    fn key(&mut self) -> Option<Bound<'py, PyString>> {
        let py = self.py;
        let text = self.string()?;
        match known_key(py, text) {
            Some(interned) => Some(interned),
            None => crate::ffi::ascii_string(py, text).ok(),
        }
    }

    /// Python's `json` number rule: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`; an
    /// integer becomes an `int`, anything with a fraction or exponent a `float`.
    fn number(&mut self) -> Option<Bound<'py, PyAny>> {
        let start = self.at;
        let digits = |parser: &mut Self| {
            let from = parser.at;
            while matches!(parser.peek(), Some(b'0'..=b'9')) {
                parser.at += 1;
            }
            parser.at - from
        };
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let first = self.peek()?;
        let integer_digits = digits(self);
        if integer_digits == 0 || (first == b'0' && integer_digits > 1) {
            return None;
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return None;
            }
            is_float = true;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return None;
            }
            is_float = true;
        }
        let text = self.text.get(start..self.at)?;
        if is_float {
            // Rust's parse is correctly rounded, as CPython's float() is.
            return Some(PyFloat::new(self.py, text.parse::<f64>().ok()?).into_any());
        }
        if integer_digits > 18 {
            return None; // may not fit an i64: the general parser makes the int
        }
        // At most 18 digits: no overflow.
        let (negative, digits) = match text.strip_prefix('-') {
            Some(digits) => (true, digits),
            None => (false, text),
        };
        let magnitude = digits
            .bytes()
            .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
        let value = if negative { -magnitude } else { magnitude };
        value.into_pyobject(self.py).ok().map(Bound::into_any)
    }
}

/// Names that recur in JWS headers and JWT claims, interned once: every token reuses them,
/// and the claim checks look them up with the same interned strings.
const KNOWN_KEYS: [&str; 24] = [
    "alg",
    "typ",
    "kid",
    "cty",
    "crit",
    "b64",
    "jku",
    "x5u",
    "x5t",
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "scope",
    "scp",
    "client_id",
    "azp",
    "roles",
    "name",
    "email",
    "sid",
];

static INTERNED: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();

fn known_key<'py>(py: Python<'py>, text: &str) -> Option<Bound<'py, PyString>> {
    // A `match` on the text compiles to a length switch and a few compares.
    let index = match text {
        "alg" => 0,
        "typ" => 1,
        "kid" => 2,
        "cty" => 3,
        "crit" => 4,
        "b64" => 5,
        "jku" => 6,
        "x5u" => 7,
        "x5t" => 8,
        "iss" => 9,
        "sub" => 10,
        "aud" => 11,
        "exp" => 12,
        "nbf" => 13,
        "iat" => 14,
        "jti" => 15,
        "scope" => 16,
        "scp" => 17,
        "client_id" => 18,
        "azp" => 19,
        "roles" => 20,
        "name" => 21,
        "email" => 22,
        "sid" => 23,
        _ => return None,
    };
    let interned = INTERNED.get_or_init(py, || {
        KNOWN_KEYS
            .iter()
            .map(|name| PyString::intern(py, name).unbind())
            .collect()
    });
    interned.get(index).map(|name| name.bind(py).clone())
}
