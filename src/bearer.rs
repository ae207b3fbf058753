//! The `Authorization: Bearer <token>` header of RFC 6750 section 2.1, parsed natively.
//!
//! Grammar (RFC 7235 section 2.1 and RFC 6750 section 2.1):
//!
//! ```text
//! credentials = auth-scheme 1*SP b64token     ; scheme compared case-insensitively
//! b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//!
//! Leading and trailing whitespace (SP or HTAB, the OWS that frames a field value) is
//! ignored. Between the scheme and the token only spaces are allowed, as the grammar says.
//! `bytes` are read as Latin-1, so every input is a sequence of characters; a non-ASCII
//! character is never part of a valid header. No input panics: the parser is total.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyString, PyType};

/// Why a header value holds no usable bearer token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// No header, or only whitespace.
    Missing,
    /// A scheme other than `Bearer` (`Basic ...`, or a bare token without a scheme).
    UnsupportedScheme,
    /// `Bearer` and nothing after it.
    MissingToken,
    /// A tab between the scheme and the token (the grammar allows spaces only).
    TabSeparator,
    /// Whitespace inside the credentials: more than one token.
    SeveralTokens,
    /// Characters outside token68, or `=` anywhere but at the end.
    InvalidToken68,
}

impl Problem {
    fn message(self) -> &'static str {
        match self {
            Problem::Missing => "Authorization header is missing",
            Problem::UnsupportedScheme => "Authorization header does not use the Bearer scheme",
            Problem::MissingToken => "Authorization header has no Bearer token",
            Problem::TabSeparator => {
                "Authorization header must separate the scheme and the token with spaces"
            }
            Problem::SeveralTokens => "Authorization header must hold exactly one Bearer token",
            Problem::InvalidToken68 => {
                "Bearer token must be token68: letters, digits, -._~+/ and trailing = only"
            }
        }
    }

    fn to_err(self, py: Python<'_>) -> PyErr {
        let classes = match CLASSES.get_or_try_init(py, || BearerErrors::load(py)) {
            Ok(classes) => classes,
            Err(err) => return err,
        };
        let class = match self {
            Problem::Missing => &classes.missing,
            Problem::UnsupportedScheme => &classes.unsupported_scheme,
            Problem::MissingToken
            | Problem::TabSeparator
            | Problem::SeveralTokens
            | Problem::InvalidToken68 => &classes.malformed,
        };
        PyErr::from_type(class.bind(py).clone(), self.message())
    }
}

fn is_ows(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

fn is_token68_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|&b| !is_ows(b))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| !is_ows(b))
        .map_or(start, |last| last + 1);
    value.get(start..end).unwrap_or_default()
}

fn is_token68(token: &[u8]) -> bool {
    let chars = token.iter().take_while(|&&b| is_token68_char(b)).count();
    let padding = token.get(chars..).unwrap_or_default();
    chars > 0 && padding.iter().all(|&b| b == b'=')
}

/// The token of a `Bearer` header value (Latin-1 or UTF-8 bytes), or why there is none.
pub fn parse(value: &[u8]) -> Result<&[u8], Problem> {
    let value = trim_ows(value);
    if value.is_empty() {
        return Err(Problem::Missing);
    }
    let scheme_end = value.iter().position(|&b| is_ows(b)).unwrap_or(value.len());
    let (scheme, rest) = value.split_at_checked(scheme_end).unwrap_or((value, b""));
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(Problem::UnsupportedScheme);
    }
    let token_start = rest.iter().position(|&b| !is_ows(b)).unwrap_or(rest.len());
    let (separator, token) = rest.split_at_checked(token_start).unwrap_or((rest, b""));
    if token.is_empty() {
        return Err(Problem::MissingToken);
    }
    if separator.contains(&b'\t') {
        return Err(Problem::TabSeparator);
    }
    if token.iter().any(|&b| is_ows(b)) {
        return Err(Problem::SeveralTokens);
    }
    if !is_token68(token) {
        return Err(Problem::InvalidToken68);
    }
    Ok(token)
}

/// The exception classes of `turbojwt.auth.exceptions`, imported on first use (that module
/// imports this extension, so it cannot be looked up when the extension initialises).
struct BearerErrors {
    missing: Py<PyType>,
    unsupported_scheme: Py<PyType>,
    malformed: Py<PyType>,
}

impl BearerErrors {
    fn load(py: Python<'_>) -> PyResult<Self> {
        let module = py.import("turbojwt.auth.exceptions")?;
        let class = |name: &str| -> PyResult<Py<PyType>> {
            Ok(module.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        Ok(BearerErrors {
            missing: class("MissingAuthorizationError")?,
            unsupported_scheme: class("UnsupportedSchemeError")?,
            malformed: class("MalformedAuthorizationError")?,
        })
    }
}

static CLASSES: PyOnceLock<BearerErrors> = PyOnceLock::new();

fn token_string<'py>(py: Python<'py>, value: &[u8]) -> PyResult<Bound<'py, PyString>> {
    let token = parse(value).map_err(|problem| problem.to_err(py))?;
    // A token68 token is ASCII, so this conversion cannot fail; map it rather than panic.
    let token = std::str::from_utf8(token).map_err(|_| Problem::InvalidToken68.to_err(py))?;
    Ok(PyString::new(py, token))
}

/// `extract_bearer(authorization)`: the token of an `Authorization` header value (`str`,
/// `bytes` or `None`), else `MissingAuthorizationError`, `UnsupportedSchemeError` or
/// `MalformedAuthorizationError`.
#[pyfunction]
pub fn extract_bearer<'py>(
    py: Python<'py>,
    authorization: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyString>> {
    if authorization.is_none() {
        return Err(Problem::Missing.to_err(py));
    }
    if let Ok(text) = authorization.cast::<PyString>() {
        return match text.to_str() {
            Ok(utf8) => token_string(py, utf8.as_bytes()),
            // Lone surrogates: U+FFFD stands in for them, and is refused like any non-ASCII.
            Err(_) => token_string(py, text.to_string_lossy().as_bytes()),
        };
    }
    if let Ok(bytes) = authorization.cast::<PyBytes>() {
        return token_string(py, bytes.as_bytes());
    }
    Err(PyTypeError::new_err(format!(
        "Authorization header must be str, bytes or None, not {}",
        authorization.get_type().name()?
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc6750_headers() {
        assert_eq!(parse(b"Bearer abc"), Ok(&b"abc"[..]));
        assert_eq!(parse(b"bearer abc"), Ok(&b"abc"[..]));
        assert_eq!(
            parse(b"BEARER a.b-c_d~e+f/g=="),
            Ok(&b"a.b-c_d~e+f/g=="[..])
        );
        assert_eq!(parse(b" \tBearer    abc \t"), Ok(&b"abc"[..]));
    }

    #[test]
    fn names_each_problem() {
        assert_eq!(parse(b""), Err(Problem::Missing));
        assert_eq!(parse(b" \t "), Err(Problem::Missing));
        assert_eq!(parse(b"Basic abc"), Err(Problem::UnsupportedScheme));
        assert_eq!(parse(b"abc"), Err(Problem::UnsupportedScheme));
        assert_eq!(parse(b"Bearerabc"), Err(Problem::UnsupportedScheme));
        assert_eq!(parse(b"Bearer"), Err(Problem::MissingToken));
        assert_eq!(parse(b"Bearer   "), Err(Problem::MissingToken));
        assert_eq!(parse(b"Bearer\tabc"), Err(Problem::TabSeparator));
        assert_eq!(parse(b"Bearer a b"), Err(Problem::SeveralTokens));
        assert_eq!(parse(b"Bearer a\tb"), Err(Problem::SeveralTokens));
        assert_eq!(parse(b"Bearer a=b"), Err(Problem::InvalidToken68));
        assert_eq!(parse(b"Bearer ==="), Err(Problem::InvalidToken68));
        assert_eq!(parse(b"Bearer a,b"), Err(Problem::InvalidToken68));
        assert_eq!(
            parse("Bearer caf\u{e9}".as_bytes()),
            Err(Problem::InvalidToken68)
        );
        assert_eq!(parse(b"Bearer \xff"), Err(Problem::InvalidToken68));
    }

    #[test]
    fn every_short_input_is_handled() {
        let alphabet = [
            b' ', b'\t', b'B', b'e', b'a', b'r', b'=', b'x', b'\xff', b',',
        ];
        for first in alphabet {
            for second in alphabet {
                for third in alphabet {
                    let value = [b'B', b'e', b'a', b'r', b'e', b'r', first, second, third];
                    if let Ok(token) = parse(&value) {
                        assert!(is_token68(token));
                    }
                }
            }
        }
    }
}
