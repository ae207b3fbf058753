//! Pure-Rust entry points of the token path, for the fuzz targets in `fuzz/`.
//!
//! Everything here runs without a Python interpreter: the batch pass's `accept` (base64url,
//! JSON, header, HMAC and claim checks), its claims scanner, the segment decoder, the
//! `Bearer` header parser and the JSON depth check. The Python-facing functions wrap these same pieces.

use crate::base64url;
use crate::batch::{self, Plan};
use crate::bearer;
use crate::ffi::sha256_lanes::LANES;
use crate::limits;

/// The three decoded parts of a token `accept_hs256` accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedToken {
    pub header: Vec<u8>,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Whether the batch pass accepts `token` as an HS256 token under `secret`, with PyJWT's
/// default decode options, `now` as the current time and the given `leeway`, `audience`
/// and `issuer`. `None` means "not certainly valid", not necessarily "invalid".
///
/// The token is checked twice with one header memo, as consecutive batch tokens are: the
/// second check takes the memoised header and must reach the same verdict (a disagreement
/// panics, which is how a fuzz target reports it).
#[must_use]
pub fn accept_hs256(
    token: &[u8],
    secret: &[u8],
    now: f64,
    leeway: f64,
    audience: Option<&str>,
    issuer: Option<&str>,
) -> Option<AcceptedToken> {
    let plan = Plan::hs256_for_fuzzing(secret, now, leeway, audience, issuer);
    let mut memo = None;
    let first = batch::accept(&plan, token, &mut memo, true).map(into_token);
    let again = batch::accept(&plan, token, &mut memo, true).map(into_token);
    assert_eq!(first, again, "the header memo changed the verdict");
    first
}

/// What the batch pass made of a token: `judge_hs256`'s answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Certainly valid: its decoded parts.
    Accepted(AcceptedToken),
    /// Certainly refused by PyJWT with `InvalidSignatureError`.
    BadSignature,
    /// Certainly refused by PyJWT with `ExpiredSignatureError`.
    Expired,
    /// Left to the ordinary path.
    Undecided,
}

/// `accept_hs256`, reporting the refusals the batch pass makes itself as well: the column
/// path records them without asking `decode`, so each must be PyJWT's own. Checked twice
/// with one header memo, as [`accept_hs256`] is, then with the token's MAC computed in each
/// lane of a group of four, as the column path computes it.
#[must_use]
pub fn judge_hs256(
    token: &[u8],
    secret: &[u8],
    now: f64,
    leeway: f64,
    audience: Option<&str>,
    issuer: Option<&str>,
) -> Verdict {
    let plan = Plan::hs256_for_fuzzing(secret, now, leeway, audience, issuer);
    // The column path's MACs, computed for four tokens at once: this token in each lane,
    // shorter tokens beside it.
    let lanes = batch::MacLanes::new(&plan);
    let shorter = token.get(..token.len() / 2).unwrap_or_default();
    let groups: Vec<_> = (0..LANES)
        .filter_map(|lane| {
            let mut group = [Some(shorter); LANES];
            *group.get_mut(lane)? = Some(token);
            Some((lane, lanes.as_ref()?.sign(&group)?))
        })
        .collect();
    let mut memo = None;
    let mut judge = |mac| match batch::judge(&plan, token, &mut memo, mac, |parts| AcceptedToken {
        header: parts.header.to_vec(),
        payload: parts.claims_json.as_bytes().to_vec(),
        signature: parts.signature.to_vec(),
    }) {
        batch::Judged::Accepted(token) => Verdict::Accepted(token),
        batch::Judged::Rejected(batch::Rejection::BadSignature) => Verdict::BadSignature,
        batch::Judged::Rejected(batch::Rejection::Expired) => Verdict::Expired,
        batch::Judged::Undecided => Verdict::Undecided,
    };
    let first = judge(None);
    let again = judge(None);
    assert_eq!(first, again, "the header memo changed the verdict");
    for (lane, macs) in &groups {
        let in_lanes = judge(Some(macs.hint(*lane)));
        assert_eq!(
            first, in_lanes,
            "the MACs computed in lanes changed the verdict"
        );
    }
    first
}

fn into_token(accepted: batch::Accepted) -> AcceptedToken {
    AcceptedToken {
        header: accepted.header,
        payload: accepted.payload,
        signature: accepted.signature,
    }
}

/// One compact-JWS segment decoded under PyJWT's rules, or `None` where PyJWT raises.
#[must_use]
pub fn base64url_decode(segment: &[u8]) -> Option<Vec<u8>> {
    base64url::decode(segment).ok()
}

/// The token of an `Authorization: Bearer <token>` header value, or `None` if it has none.
#[must_use]
pub fn parse_bearer(value: &[u8]) -> Option<&[u8]> {
    bearer::parse(value).ok()
}

/// A claim value as the batch pass's claims scanner returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScannedValue {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    /// An array of strings; `None` stands for any other item (which the scanner refuses).
    Array(Vec<Option<String>>),
    /// Anything else (which the scanner never returns).
    Other,
}

/// The registered claims (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`) the batch pass's
/// claims scanner reads from `json`, in order, or `None` where it leaves the object to the
/// general parser. The scanner also returns the text it read, which must be `json` itself
/// (a difference panics).
#[must_use]
pub fn scan_claims(json: &[u8]) -> Option<Vec<(String, ScannedValue)>> {
    use jiter::JsonValue;
    let registered = |name: &str| batch::REGISTERED.contains(&name);
    let (text, members) = crate::claims_scan::scan(json, registered)?;
    assert_eq!(text.as_bytes(), json, "the scanner returned other text");
    let value = |value: &JsonValue<'_>| match value {
        JsonValue::Null => ScannedValue::Null,
        JsonValue::Bool(b) => ScannedValue::Bool(*b),
        JsonValue::Int(i) => ScannedValue::Int(*i),
        JsonValue::Str(s) => ScannedValue::Str(s.to_string()),
        JsonValue::Array(items) => ScannedValue::Array(
            items
                .iter()
                .map(|item| match item {
                    JsonValue::Str(s) => Some(s.to_string()),
                    _ => None,
                })
                .collect(),
        ),
        _ => ScannedValue::Other,
    };
    Some(
        members
            .iter()
            .map(|(name, member)| (name.to_string(), value(member)))
            .collect(),
    )
}

/// Whether `json` nests deeper than the process-wide depth limit (1000 without an interpreter).
#[must_use]
pub fn json_too_deep(json: &[u8]) -> bool {
    limits::too_deep(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// jwt.io's example token, HS256 under `your-256-bit-secret`, payload
    /// `{"sub":"1234567890","name":"John Doe","iat":1516239022}`.
    const TOKEN: &[u8] = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
        eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.\
        SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    const SECRET: &[u8] = b"your-256-bit-secret";
    const NOW: f64 = 1_700_000_000.0;

    #[test]
    fn accepts_a_valid_token_and_returns_its_parts() {
        let accepted = accept_hs256(TOKEN, SECRET, NOW, 0.0, None, None);
        assert!(accepted.is_some_and(|token| {
            token.header == br#"{"alg":"HS256","typ":"JWT"}"#
                && token.payload.starts_with(br#"{"sub":"1234567890""#)
                && token.signature.len() == 32
        }));
    }

    #[test]
    fn refuses_what_would_not_verify_or_validate() {
        assert_eq!(
            accept_hs256(TOKEN, b"another secret", NOW, 0.0, None, None),
            None
        );
        // `iat` is in the future at 0.
        assert_eq!(accept_hs256(TOKEN, SECRET, 0.0, 0.0, None, None), None);
        // An expected audience with no `aud` claim, an expected issuer with no `iss`.
        assert_eq!(
            accept_hs256(TOKEN, SECRET, NOW, 0.0, Some("api"), None),
            None
        );
        assert_eq!(
            accept_hs256(TOKEN, SECRET, NOW, 0.0, None, Some("me")),
            None
        );
        let mut tampered = TOKEN.to_vec();
        if let Some(last) = tampered.last_mut() {
            *last = b'd';
        }
        assert_eq!(accept_hs256(&tampered, SECRET, NOW, 0.0, None, None), None);
    }

    #[test]
    fn reports_bad_signatures_and_expiry_it_is_sure_of() {
        let mut tampered = TOKEN.to_vec();
        if let Some(last) = tampered.last_mut() {
            *last = b'd';
        }
        assert_eq!(
            judge_hs256(TOKEN, b"another secret", NOW, 0.0, None, None),
            Verdict::BadSignature
        );
        // `d` leaves stray bits in the last symbol: PyJWT refuses the padding first.
        assert_eq!(
            judge_hs256(&tampered, SECRET, NOW, 0.0, None, None),
            Verdict::Undecided
        );
        assert!(matches!(
            judge_hs256(TOKEN, SECRET, NOW, 0.0, None, None),
            Verdict::Accepted(_)
        ));
        // The jwt.io token has no `exp`; `iat` in the future is not an expiry.
        assert_eq!(
            judge_hs256(TOKEN, SECRET, 0.0, 0.0, None, None),
            Verdict::Undecided
        );
    }

    #[test]
    fn wraps_the_segment_bearer_and_depth_helpers() {
        assert_eq!(base64url_decode(b"e30="), Some(b"{}".to_vec()));
        assert_eq!(base64url_decode(b"e30=="), None);
        assert_eq!(parse_bearer(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(parse_bearer(b"Basic abc"), None);
        let nested = |depth: usize| [vec![b'['; depth], vec![b']'; depth]].concat();
        assert!(json_too_deep(&nested(1001)));
        assert!(!json_too_deep(&nested(1000)));
    }
}
