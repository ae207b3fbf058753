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
//! lookups (with interned names) match them by identity; other short strings come from the
//! recent-strings table (`string_cache`); ASCII strings are made directly.

use std::cell::RefCell;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyString};

use crate::claims::Captured;
use crate::string_cache::{StringTable, Strings};

/// Deeper documents go to the general parser (the depth limit was checked before).
const MAX_DEPTH: usize = 32;

/// An object's members, collected so its dict is made at its final size.
type Pairs = Vec<(Py<PyString>, Py<PyAny>)>;

/// What a parse reuses from the last one on its thread.
struct Scratch {
    /// The members of the objects being built, kept so a document costs no allocation for
    /// them; empty between parses.
    pairs: Pairs,
    strings: StringTable,
}

thread_local! {
    /// Borrowed for a whole parse: a nested parse (from a finaliser) finds it borrowed and
    /// goes without.
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch { pairs: Vec::new(), strings: StringTable::new() })
    };
}

/// `json.loads(text)` when `text` is a JSON object of the common shape, else `None`, with
/// the top-level registered claims' values as the dict holds them (the last value of a
/// repeated name). `text` must be the whole document (valid UTF-8, as `&str` guarantees).
pub fn parse_object<'py>(
    py: Python<'py>,
    text: &str,
) -> Option<(Bound<'py, PyDict>, Captured<'py>)> {
    let with_scratch = SCRATCH.try_with(|scratch| {
        let mut scratch = scratch.try_borrow_mut().ok()?;
        let Scratch { pairs, strings } = &mut *scratch;
        Some(parse_with(py, text, pairs, strings.strings()))
    });
    match with_scratch {
        Ok(Some(parsed)) => parsed,
        // Nested in a parse on this thread, or during its teardown: no reuse.
        _ => parse_with(py, text, &mut Vec::new(), Strings::none()),
    }
}

fn parse_with<'py, 'a>(
    py: Python<'py>,
    text: &'a str,
    pairs: &'a mut Pairs,
    strings: Strings<'a>,
) -> Option<(Bound<'py, PyDict>, Captured<'py>)> {
    let mut parser = Parser {
        py,
        text,
        bytes: text.as_bytes(),
        at: 0,
        captured: Captured::default(),
        strings,
        pairs,
    };
    parser.skip_whitespace();
    if parser.peek()? != b'{' {
        return None;
    }
    let object = parser.object(0)?;
    parser.skip_whitespace();
    (parser.at == parser.bytes.len()).then(|| (object, std::mem::take(&mut parser.captured)))
}

struct Parser<'py, 'a> {
    py: Python<'py>,
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    captured: Captured<'py>,
    strings: Strings<'a>,
    /// The members of every object still open, innermost last.
    pairs: &'a mut Pairs,
}

impl Drop for Parser<'_, '_> {
    fn drop(&mut self) {
        // Members left by a document given up on are released here, while attached.
        self.pairs.clear();
    }
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

    /// The next byte that is not whitespace, which is where [`Parser::skip_whitespace`] left
    /// `at`. Compact JSON (what JWT issuers write) takes the first branch every time.
    #[inline(always)]
    fn next_significant(&mut self) -> Option<u8> {
        match self.peek()? {
            byte @ b'!'..=u8::MAX => Some(byte),
            _ => {
                self.skip_whitespace();
                self.peek()
            }
        }
    }

    fn value(&mut self, depth: usize) -> Option<Bound<'py, PyAny>> {
        let py = self.py;
        self.skip_whitespace();
        match self.peek()? {
            b'{' => self.object(depth + 1).map(Bound::into_any),
            b'[' => self.array(depth + 1).map(Bound::into_any),
            b'"' => self.string_value(),
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
            b'-' | b'0'..=b'9' => self.number().map(|(number, _)| number),
            _ => None,
        }
    }

    #[inline(always)]
    fn string_value(&mut self) -> Option<Bound<'py, PyAny>> {
        let text = self.string()?;
        self.strings.get(self.py, text).map(Bound::into_any)
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
        let first = self.pairs.len();
        self.skip_whitespace();
        if self.peek()? == b'}' {
            self.at += 1;
            return self.dict_from(first);
        }
        loop {
            if self.next_significant()? != b'"' {
                return None;
            }
            let (key, known) = self.key()?;
            if self.next_significant()? != b':' {
                return None;
            }
            self.at += 1;
            // Most members are strings or numbers: read here, without `value`'s dispatch
            // and frame, and a number's integer value kept for the time claims.
            let (value, integer) = match self.next_significant()? {
                b'"' => match known {
                    Some(name) => {
                        let text = self.string()?;
                        let value = self.strings.get_for_name(self.py, text, name)?;
                        (value.into_any(), None)
                    }
                    None => (self.string_value()?, None),
                },
                b'0'..=b'9' => self.number()?,
                _ => (self.value(depth)?, None),
            };
            if depth == 0 {
                if let Some(index) = known {
                    self.captured.set(index, &value, integer);
                }
            }
            self.pairs.push((key.unbind(), value.unbind()));
            match self.next_significant()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return self.dict_from(first);
                }
                _ => return None,
            }
        }
    }

    /// The dict of the members collected from `first` on (the object just closed).
    fn dict_from(&mut self, first: usize) -> Option<Bound<'py, PyDict>> {
        let py = self.py;
        let members = self.pairs.drain(first..);
        let members = members.map(|(key, value)| (key.into_bound(py), value.into_bound(py)));
        crate::ffi::dict_with_pairs(py, members).ok()
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
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        let start = self.at + 1;
        let rest = self.bytes.get(start..)?;
        let len = first_stop(rest)?;
        if rest.get(len) != Some(&b'"') {
            return None; // an escape or a control character: the general parser decides
        }
        self.at = start + len + 1;
        // Both ends are at ASCII bytes, so this is a slice at character boundaries.
        self.text.get(start..start + len)
    }

    /// The key, and its index in [`KNOWN_KEYS`] if it is one of them.
    fn key(&mut self) -> Option<(Bound<'py, PyString>, Option<usize>)> {
        let py = self.py;
        let text = self.string()?;
        match known_key(py, text) {
            Some((index, interned)) => Some((interned, Some(index))),
            None => Some((self.strings.get(py, text)?, None)),
        }
    }

    /// Python's `json` number rule: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`; an
    /// integer becomes an `int`, anything with a fraction or exponent a `float`. With the
    /// number, its value when it is an integer that fits an `i64`.
    fn number(&mut self) -> Option<(Bound<'py, PyAny>, Option<i64>)> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        let integer_start = start + usize::from(negative);
        // The integer part, accumulated as it is scanned (used only when it has at most 18
        // digits, which cannot overflow).
        let mut at = integer_start;
        let mut magnitude = 0i64;
        // Eight digits at a time first: time claims have ten.
        while let Some(value) = self.bytes.get(at..at + 8).and_then(eight_digits) {
            magnitude = magnitude.wrapping_mul(100_000_000).wrapping_add(value);
            at += 8;
        }
        while let Some(&digit @ b'0'..=b'9') = self.bytes.get(at) {
            magnitude = magnitude
                .wrapping_mul(10)
                .wrapping_add(i64::from(digit - b'0'));
            at += 1;
        }
        let integer_digits = at - integer_start;
        if integer_digits == 0
            || (self.bytes.get(integer_start) == Some(&b'0') && integer_digits > 1)
        {
            return None;
        }
        self.at = at;
        if !matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            if integer_digits > 18 {
                return None; // may not fit an i64: the general parser makes the int
            }
            let value = if negative { -magnitude } else { magnitude };
            let number = value.into_pyobject(self.py).ok()?.into_any();
            return Some((number, Some(value)));
        }
        let digits = |parser: &mut Self| {
            let from = parser.at;
            while matches!(parser.peek(), Some(b'0'..=b'9')) {
                parser.at += 1;
            }
            parser.at - from
        };
        // A fraction, an exponent or both: a float.
        if self.peek() == Some(b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return None;
            }
        }
        let text = self.text.get(start..self.at)?;
        // Rust's parse is correctly rounded, as CPython's float() is.
        Some((
            PyFloat::new(self.py, text.parse::<f64>().ok()?).into_any(),
            None,
        ))
    }
}

/// The value of `chunk` when it is eight ASCII digits, computed a word at a time: the digits'
/// pairs, then quadruples, are combined with multiplies instead of eight multiply-adds.
fn eight_digits(chunk: &[u8]) -> Option<i64> {
    let word = u64::from_le_bytes(chunk.try_into().ok()?);
    // Every byte is 0x30..=0x39: its high nibble is 3, and adding 6 keeps it 3.
    let high_nibbles = 0xF0F0_F0F0_F0F0_F0F0;
    let all_digits = word & high_nibbles == ONES * 0x30
        && word.wrapping_add(ONES * 0x06) & high_nibbles == ONES * 0x30;
    if !all_digits {
        return None;
    }
    // The first digit is the lowest byte. Pairs: byte 2k holds 10 * d[2k] + d[2k+1].
    let digits = word - ONES * 0x30;
    let pairs = digits.wrapping_mul(10).wrapping_add(digits >> 8);
    let low_pairs = pairs & 0x0000_00FF_0000_00FF;
    let high_pairs = (pairs >> 16) & 0x0000_00FF_0000_00FF;
    let value = (low_pairs.wrapping_mul(100 + (1_000_000 << 32))
        + high_pairs.wrapping_mul(1 + (10_000 << 32)))
        >> 32;
    i64::try_from(value).ok()
}

/// Eight bytes at a time: a byte repeated across a word is `ONES * byte`.
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
pub(crate) const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The classic zero-byte trick: `(x - 0x01..) & !x` has the high bit of the lowest zero byte
/// of `x` set (and of none below it: a borrow only runs upward from a zero byte).
pub(crate) fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x
}

/// High bits at the bytes of `word` that end a plain JSON string: `"`, `\\` and control
/// characters (exact for the lowest such byte, see [`zero_bytes`]).
pub(crate) fn string_stops(word: u64) -> u64 {
    (zero_bytes(word ^ (ONES * u64::from(b'"')))
        | zero_bytes(word ^ (ONES * u64::from(b'\\')))
        | (word.wrapping_sub(ONES * 0x20) & !word))
        & HIGH_BITS
}

/// Whether `byte` ends the fast string path: the closing quote, an escape or a control
/// character.
fn is_stop(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

/// The index of the first byte of `bytes` that [`is_stop`]: sixteen bytes at a time with
/// SSE2 while sixteen remain, then eight at a time.
#[cfg(target_arch = "x86_64")]
pub fn first_stop(bytes: &[u8]) -> Option<usize> {
    let (offset, rest) = crate::ffi::first_string_stop_sse2(bytes);
    match offset {
        Some(found) => Some(found),
        None => Some(bytes.len() - rest.len() + first_stop_by_words(rest)?),
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub fn first_stop(bytes: &[u8]) -> Option<usize> {
    first_stop_by_words(bytes)
}

/// [`first_stop`] eight bytes at a time: the lowest flag of [`string_stops`] is the first
/// stop. (Not inlined: on x86-64 it only sees a document's last bytes, and inlined its
/// registers would cost every string.)
#[cfg_attr(target_arch = "x86_64", inline(never))]
fn first_stop_by_words(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).ok()?);
        let flags = string_stops(word);
        if flags != 0 {
            return Some(offset + (flags.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    let tail = chunks.remainder().iter().position(|&byte| is_stop(byte))?;
    Some(offset + tail)
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

// Each known name has its own miss count in the string table.
const _: () = assert!(KNOWN_KEYS.len() <= crate::string_cache::COUNTED_NAMES);

static INTERNED: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();

fn known_key<'py>(py: Python<'py>, text: &str) -> Option<(usize, Bound<'py, PyString>)> {
    let index = known_index(text)?;
    let interned = INTERNED.get_or_init(py, || {
        KNOWN_KEYS
            .iter()
            .map(|name| PyString::intern(py, name).unbind())
            .collect()
    });
    interned
        .get(index)
        .map(|name| (index, name.bind(py).clone()))
}

/// The index of `text` in [`KNOWN_KEYS`], if it is there.
fn known_index(text: &str) -> Option<usize> {
    // Byte patterns, which compile to a switch on each byte in turn; a `match` on `&str`
    // (or on byte strings) compares the names one after another.
    Some(match *text.as_bytes() {
        [b'a', b'l', b'g'] => 0,
        [b't', b'y', b'p'] => 1,
        [b'k', b'i', b'd'] => 2,
        [b'c', b't', b'y'] => 3,
        [b'c', b'r', b'i', b't'] => 4,
        [b'b', b'6', b'4'] => 5,
        [b'j', b'k', b'u'] => 6,
        [b'x', b'5', b'u'] => 7,
        [b'x', b'5', b't'] => 8,
        [b'i', b's', b's'] => 9,
        [b's', b'u', b'b'] => 10,
        [b'a', b'u', b'd'] => 11,
        [b'e', b'x', b'p'] => 12,
        [b'n', b'b', b'f'] => 13,
        [b'i', b'a', b't'] => 14,
        [b'j', b't', b'i'] => 15,
        [b's', b'c', b'o', b'p', b'e'] => 16,
        [b's', b'c', b'p'] => 17,
        [b'c', b'l', b'i', b'e', b'n', b't', b'_', b'i', b'd'] => 18,
        [b'a', b'z', b'p'] => 19,
        [b'r', b'o', b'l', b'e', b's'] => 20,
        [b'n', b'a', b'm', b'e'] => 21,
        [b'e', b'm', b'a', b'i', b'l'] => 22,
        [b's', b'i', b'd'] => 23,
        _ => return None,
    })
}

impl<'py> Captured<'py> {
    /// Keep `value` if [`KNOWN_KEYS`]`[index]` is a registered claim (a repeated name keeps
    /// its last value, as the dict does); `integer` is its value if it is an integer.
    fn set(&mut self, index: usize, value: &Bound<'py, PyAny>, integer: Option<i64>) {
        let slot = match index {
            9 => &mut self.iss,
            10 => &mut self.sub,
            11 => &mut self.aud,
            12 => {
                self.exp_int = integer;
                &mut self.exp
            }
            13 => {
                self.nbf_int = integer;
                &mut self.nbf
            }
            14 => {
                self.iat_int = integer;
                &mut self.iat
            }
            15 => &mut self.jti,
            _ => return,
        };
        *slot = Some(value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::{eight_digits, first_stop, is_stop, known_index, KNOWN_KEYS};

    #[test]
    fn eight_digits_reads_exactly_eight_digit_runs() {
        for value in [
            0, 1, 9, 10, 12_345_678, 99_999_999, 40_000_000, 17_000_000, 10_000_001,
        ] {
            let text = format!("{value:08}");
            assert_eq!(eight_digits(text.as_bytes()), Some(value), "{text}");
        }
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..10_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let value = (seed % 100_000_000) as i64;
            assert_eq!(eight_digits(format!("{value:08}").as_bytes()), Some(value));
        }
        // Any byte that is not a digit, at any position, and any length but eight.
        for position in 0..8 {
            for byte in (0..=255u8).filter(|b| !b.is_ascii_digit()) {
                let mut chunk = *b"12345678";
                if let Some(slot) = chunk.get_mut(position) {
                    *slot = byte;
                }
                assert_eq!(eight_digits(&chunk), None, "{byte} at {position}");
            }
        }
        assert_eq!(eight_digits(b"1234567"), None);
        assert_eq!(eight_digits(b"123456789"), None);
    }

    #[test]
    fn every_known_key_and_nothing_else_is_found() {
        for (index, name) in KNOWN_KEYS.iter().enumerate() {
            assert_eq!(known_index(name), Some(index), "{name}");
        }
        for other in [
            "",
            "al",
            "algs",
            "Alg",
            "scopes",
            "client_ie",
            "x5t#S256",
            "ema1l",
        ] {
            assert_eq!(known_index(other), None, "{other}");
        }
    }

    /// The block- and word-at-a-time scan finds what a byte-at-a-time one finds, for a stop
    /// byte of every value at every position, behind every other byte value.
    #[test]
    fn first_stop_matches_the_plain_scan() {
        // Past 32 bytes: two sixteen-byte blocks, then words and single bytes.
        for len in 0..44 {
            for position in 0..=len {
                for stop in 0..=255u8 {
                    for filler in [b'a', b' ', 0x7f, 0x80, 0xff, 0x21, 0x1f, b'"'] {
                        let mut bytes = vec![filler; len];
                        if let Some(byte) = bytes.get_mut(position) {
                            *byte = stop;
                        }
                        let plain = bytes.iter().position(|&byte| is_stop(byte));
                        assert_eq!(first_stop(&bytes), plain, "{bytes:?}");
                    }
                }
            }
        }
    }
}
