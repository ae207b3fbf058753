//! The `bearer` target: any bytes as an `Authorization` header value.
//!
//! The core's parser must never panic, must agree with the reference below (the grammar of
//! RFC 7235 section 2.1 and RFC 6750 section 2.1, as `tests/test_auth_bearer.py` states it
//! with regular expressions), and a token it returns must be non-empty token68 that the
//! trimmed value ends with, after a case-insensitive `bearer` and one or more spaces.

use _turbojwt::fuzzing::parse_bearer;

const SCHEME: &[u8] = b"bearer";

/// Judge one header value; panic on any disagreement.
pub fn check(value: &[u8]) {
    let parsed = parse_bearer(value);
    assert_eq!(
        parsed,
        reference(value),
        "header {:?}",
        String::from_utf8_lossy(value)
    );
    if let Some(token) = parsed {
        check_token(value, token);
    }
}

fn check_token(value: &[u8], token: &[u8]) {
    let context = || format!("header {:?}", String::from_utf8_lossy(value));
    assert!(is_token68(token), "{}", context());
    let trimmed = trim_ows(value);
    assert!(trimmed.ends_with(token), "{}", context());
    let before = &trimmed[..trimmed.len() - token.len()];
    assert!(before.len() > SCHEME.len(), "{}", context());
    let (scheme, separator) = before.split_at(SCHEME.len());
    assert!(scheme.eq_ignore_ascii_case(SCHEME), "{}", context());
    assert!(separator.iter().all(|&b| b == b' '), "{}", context());
    // The token is a slice of the input, not a copy.
    let range = value.as_ptr_range();
    assert!(
        range.contains(&token.as_ptr()) && token.as_ptr_range().end <= range.end,
        "{}",
        context()
    );
}

/// `[A-Za-z0-9\-._~+/]+=*`
fn is_token68(token: &[u8]) -> bool {
    let body = token
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
        .count();
    body > 0 && token[body..].iter().all(|&b| b == b'=')
}

fn trim_ows(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().take_while(|b| is_ows(b)).count();
    let end = value.len()
        - value[start..]
            .iter()
            .rev()
            .take_while(|b| is_ows(b))
            .count();
    &value[start..end]
}

/// Where the reference automaton is after the scheme.
#[derive(Clone, Copy)]
enum State {
    /// In the spaces after the scheme (how many so far).
    Separator(usize),
    /// In the token's characters.
    Token,
    /// In the `=` that may end the token.
    Padding,
}

/// The grammar as one left-to-right automaton over the trimmed value: the token, or `None`
/// for every kind of refusal (missing, another scheme, malformed).
fn reference(value: &[u8]) -> Option<&[u8]> {
    let credentials = trim_ows(value);
    if credentials.len() < SCHEME.len() || !credentials[..SCHEME.len()].eq_ignore_ascii_case(SCHEME)
    {
        return None;
    }
    let rest = &credentials[SCHEME.len()..];
    let mut state = State::Separator(0);
    for &byte in rest {
        let token_char = byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte);
        state = match (state, byte) {
            (State::Separator(spaces), b' ') => State::Separator(spaces + 1),
            // A tab in the separator is malformed; any other byte right after the scheme
            // makes the scheme something other than `bearer`.
            (State::Separator(0), _) | (State::Separator(_), b'\t') => return None,
            (State::Separator(_) | State::Token, _) if token_char => State::Token,
            (State::Token | State::Padding, b'=') => State::Padding,
            _ => return None,
        };
    }
    match state {
        State::Separator(_) => None,
        State::Token | State::Padding => {
            let spaces = rest.iter().take_while(|&&b| b == b' ').count();
            Some(&rest[spaces..])
        }
    }
}
