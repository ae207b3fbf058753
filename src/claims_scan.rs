//! The members of a claims object that the checks read, taken without building the rest.
//!
//! The parallel pass of `decode_batch` and the column path read, for every token, a few
//! members of its claims object (the registered claims, and any the options require) and
//! need only know that the rest is valid JSON. For the shape issuers write, this scanner
//! does that in one pass over the text and allocates nothing but the member list: ASCII
//! text; strings without escapes; integers of at most 18 digits, strings, booleans, `null`
//! or arrays of strings for the members it returns; any other valid JSON for the members it
//! skips, nested up to [`MAX_DEPTH`]. Anything else (an escape, a float or a big integer in
//! a returned member, `NaN`, a repeated returned name, invalid JSON) makes it give up with
//! `None`, and the caller reads the object with the general parser, which handles all of
//! JSON. Where it finishes, the members are those `json.loads` would give the same names.

use std::borrow::Cow;
use std::sync::Arc;

use jiter::JsonValue;
use smallvec::SmallVec;

use crate::batch::{Member, Members};
use crate::ffi::AsciiText;

/// Deeper skipped values are left to the general parser (the depth limit is checked before).
const MAX_DEPTH: usize = 32;

/// Objects with more members go to the general parser: each name is compared with the
/// ones before it, which must stay cheap.
const MAX_MEMBERS: usize = 32;

/// A skipped number longer than this is left to the general parser, which applies
/// CPython's limit on integer digits.
const MAX_SKIPPED_NUMBER: usize = 64;

/// The text of `data` and, in order, its members whose names `wanted` accepts, when `data`
/// is a JSON object this scanner reads exactly (see the module documentation) and no name
/// repeats at its top level.
pub fn scan<'a>(data: &'a [u8], wanted: impl Fn(&str) -> bool) -> Option<(&'a str, Members<'a>)> {
    let text = AsciiText::new(data)?;
    let mut scanner = Scanner {
        text,
        bytes: data,
        at: 0,
    };
    if scanner.next_significant()? != b'{' {
        return None;
    }
    scanner.at += 1;
    // More members than these go to the general parser.
    let mut slots: [Member<'a>; 8] = std::array::from_fn(|_| (Cow::Borrowed(""), JsonValue::Null));
    let mut count = 0;
    let mut names = SmallVec::<[&str; MAX_MEMBERS]>::new();
    if scanner.next_significant()? == b'}' {
        scanner.at += 1;
    } else {
        loop {
            if scanner.next_significant()? != b'"' {
                return None;
            }
            let name = scanner.string()?;
            if scanner.next_significant()? != b':' {
                return None;
            }
            scanner.at += 1;
            // `json.loads` keeps a repeated name's last value: the general parser decides.
            if names.len() == MAX_MEMBERS || names.iter().any(|known| same_text(known, name)) {
                return None;
            }
            names.push(name);
            if wanted(name) {
                // The member is written where it stays: built on the stack and then moved,
                // its fresh fields stalled the wider loads that copied it (a store not yet
                // written cannot be forwarded to a load wider than itself).
                let (key, value) = slots.get_mut(count)?;
                *key = Cow::Borrowed(name);
                scanner.member_value(value)?;
                count += 1;
            } else {
                scanner.skip_value(0)?;
            }
            match scanner.next_significant()? {
                b',' => scanner.at += 1,
                b'}' => {
                    scanner.at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    scanner.skip_whitespace();
    (scanner.at == scanner.bytes.len())
        .then(|| (text.as_str(), Members::from_buf_and_len(slots, count)))
}

/// Claim names are short: compared in line, not by a `memcmp` call each.
pub fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

struct Scanner<'a> {
    text: AsciiText<'a>,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// What `json.loads` skips between tokens: space, tab, newline, carriage return.
    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// The next byte that is not whitespace, with `at` on it. Compact JSON takes the first
    /// branch every time.
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

    /// The contents of the string at `at` when it has no escape and no control character.
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        let start = self.at + 1;
        let rest = self.bytes.get(start..)?;
        let len = crate::json_build::first_stop(rest)?;
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.at = start + len + 1;
        self.text.slice(start, start + len)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// A returned member's value, as the general parser gives it, written to `value`.
    fn member_value(&mut self, value: &mut JsonValue<'a>) -> Option<()> {
        *value = match self.next_significant()? {
            b'"' => JsonValue::Str(Cow::Borrowed(self.string()?)),
            b'-' | b'0'..=b'9' => JsonValue::Int(self.integer()?),
            b't' => {
                self.literal(b"true")?;
                JsonValue::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                JsonValue::Bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                JsonValue::Null
            }
            b'[' => JsonValue::Array(Arc::new(self.strings()?)),
            _ => return None,
        };
        Some(())
    }

    /// An array of strings (an `aud` list).
    fn strings(&mut self) -> Option<Vec<JsonValue<'a>>> {
        self.at += 1; // `[`
        let mut items = Vec::new();
        if self.next_significant()? == b']' {
            self.at += 1;
            return Some(items);
        }
        loop {
            if self.next_significant()? != b'"' {
                return None;
            }
            items.push(JsonValue::Str(Cow::Borrowed(self.string()?)));
            match self.next_significant()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(items);
                }
                _ => return None,
            }
        }
    }

    /// An integer of at most 18 digits (which cannot overflow), without fraction or
    /// exponent; `-0` is left to the general parser.
    fn integer(&mut self) -> Option<i64> {
        let negative = self.peek() == Some(b'-');
        let digits_start = self.at + usize::from(negative);
        let mut at = digits_start;
        let mut magnitude = 0i64;
        while let Some(&digit @ b'0'..=b'9') = self.bytes.get(at) {
            if at - digits_start == 18 {
                return None; // a 19th digit may not fit an i64
            }
            magnitude = magnitude * 10 + i64::from(digit - b'0');
            at += 1;
        }
        let digits = at - digits_start;
        let leading_zero = digits > 1 && self.bytes.get(digits_start) == Some(&b'0');
        if digits == 0 || leading_zero || (negative && magnitude == 0) {
            return None;
        }
        self.at = at;
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(if negative { -magnitude } else { magnitude })
    }

    /// Past the value at the next significant byte, which must be valid JSON.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        match self.next_significant()? {
            b'"' => self.string().map(drop),
            b'-' | b'0'..=b'9' => self.skip_number(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'[' => self.skip_array(depth + 1),
            b'{' => self.skip_object(depth + 1),
            _ => None,
        }
    }

    fn skip_array(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.at += 1; // `[`
        if self.next_significant()? == b']' {
            self.at += 1;
            return Some(());
        }
        loop {
            self.skip_value(depth)?;
            match self.next_significant()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn skip_object(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.at += 1; // `{`
        if self.next_significant()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            if self.next_significant()? != b'"' {
                return None;
            }
            self.string()?;
            if self.next_significant()? != b':' {
                return None;
            }
            self.at += 1;
            self.skip_value(depth)?;
            match self.next_significant()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Python's `json` number rule: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`.
    fn skip_number(&mut self) -> Option<()> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let integer_start = self.at;
        let integer_digits = self.digits();
        let leading_zero = integer_digits > 1 && self.bytes.get(integer_start) == Some(&b'0');
        if integer_digits == 0 || leading_zero {
            return None;
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        (self.at - start <= MAX_SKIPPED_NUMBER).then_some(())
    }

    fn digits(&mut self) -> usize {
        let from = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - from
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANTED: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

    fn wanted(name: &str) -> bool {
        WANTED.contains(&name)
    }

    /// The members the general parser gives the wanted names, when the document is an
    /// object with no repeated name.
    fn reference(data: &[u8]) -> Option<Vec<(String, JsonValue<'static>)>> {
        let JsonValue::Object(members) = JsonValue::parse(data, true).ok()? else {
            return None;
        };
        let mut names: Vec<&str> = members.iter().map(|(name, _)| name.as_ref()).collect();
        names.sort_unstable();
        if names.windows(2).any(|pair| pair.first() == pair.get(1)) {
            return None;
        }
        let found = members.iter().filter(|(name, _)| wanted(name));
        Some(
            found
                .map(|(name, value)| (name.to_string(), value.clone().into_static()))
                .collect(),
        )
    }

    fn scanned(data: &[u8]) -> Option<Vec<(String, JsonValue<'static>)>> {
        let (text, members) = scan(data, wanted)?;
        assert_eq!(text.as_bytes(), data);
        Some(
            members
                .into_iter()
                .map(|(name, value)| (name.into_owned(), value.into_static()))
                .collect(),
        )
    }

    #[test]
    fn reads_what_the_general_parser_reads() {
        let documents: &[&str] = &[
            r#"{"sub":"user-1","iat":1700000000,"exp":4000000000,"iss":"https://issuer","aud":"api","name":"Jane","email":"j@x.io","role":"admin","n":1.5e3,"flags":[true,false,null],"nested":{"a":[1,{"b":"c"}],"d":{}},"x":-12}"#,
            r#"{"aud":["a","b"],"exp":-5,"nbf":0,"jti":"","sub":null,"iss":true}"#,
            r#" { "exp" : 1 , "custom" : [ ] , "o" : { } } "#,
            "{\"exp\":\t1,\n\"iat\":\r2}",
            r#"{}"#,
            r#"{"iat":999999999999999999}"#,
            r#"{"weird\u0041":1,"sub":"s"}"#,
        ];
        for document in documents {
            let data = document.as_bytes();
            let fast = scanned(data);
            if let Some(fast) = &fast {
                assert_eq!(Some(fast), reference(data).as_ref(), "{document}");
            }
        }
        // The common shapes take the fast path.
        for document in documents.iter().take(6) {
            assert!(scanned(document.as_bytes()).is_some(), "{document}");
        }
    }

    #[test]
    fn gives_up_on_what_it_does_not_read_exactly() {
        let documents: &[&str] = &[
            // Not read exactly here: the general parser decides.
            r#"{"sub":"a\"b"}"#,
            r#"{"exp":1.5}"#,
            r#"{"exp":1e3}"#,
            r#"{"exp":-0}"#,
            r#"{"exp":1234567890123456789}"#,
            r#"{"exp":9999999999999999999}"#,
            r#"{"exp":-9999999999999999999}"#,
            r#"{"exp":1,"exp":2}"#,
            r#"{"x":1,"exp":2,"x":3}"#,
            r#"{"aud":["a",1]}"#,
            r#"{"n":NaN}"#,
            r#"{"n":-Infinity}"#,
            "{\"sub\":\"caf\u{e9}\"}",
            // Invalid JSON.
            r#"{"exp":01}"#,
            r#"{"n":01}"#,
            r#"{"n":1.}"#,
            r#"{"n":.5}"#,
            r#"{"n":1e}"#,
            r#"{"n":-}"#,
            r#"{"n":[1,]}"#,
            r#"{"n":{"a":1,}}"#,
            r#"{"n":{"a"}}"#,
            r#"{"n":tru}"#,
            r#"{"exp":1,}"#,
            r#"{"exp":1}x"#,
            r#"{"exp":1"#,
            "{\"sub\":\"a\u{1}b\"}",
            "{\"exp\":1}\u{0}",
            r#"["exp",1]"#,
            r#"{'exp':1}"#,
            r#"{"exp" 1}"#,
            "",
        ];
        for document in documents {
            assert!(scanned(document.as_bytes()).is_none(), "{document}");
        }
        let many: Vec<String> = (0..=MAX_MEMBERS).map(|i| format!("\"m{i}\":{i}")).collect();
        let many = format!("{{{}}}", many.join(","));
        assert!(scanned(many.as_bytes()).is_none());
        let few: Vec<String> = (0..MAX_MEMBERS).map(|i| format!("\"m{i}\":{i}")).collect();
        let few = format!("{{{}}}", few.join(","));
        assert!(scanned(few.as_bytes()).is_some());
        let deep = format!("{{\"n\":{}{}}}", "[".repeat(40), "]".repeat(40));
        assert!(scanned(deep.as_bytes()).is_none());
    }

    #[test]
    fn every_prefix_and_byte_flip_agrees_with_the_general_parser() {
        let document =
            br#"{"sub":"user-1","aud":["x","y"],"exp":4000000000,"n":[1.5,{"k":null}],"b":false}"#;
        for end in 0..=document.len() {
            let prefix = document.get(..end).unwrap_or_default();
            if let Some(fast) = scanned(prefix) {
                assert_eq!(Some(fast), reference(prefix));
            }
        }
        for at in 0..document.len() {
            for byte in [
                b'"', b',', b':', b'{', b'}', b'[', b']', b'0', b'-', b' ', b'x', 0,
            ] {
                let mut changed = document.to_vec();
                if let Some(slot) = changed.get_mut(at) {
                    *slot = byte;
                }
                if let Some(fast) = scanned(&changed) {
                    assert_eq!(Some(fast), reference(&changed), "{at} {byte}");
                }
            }
        }
    }
}
