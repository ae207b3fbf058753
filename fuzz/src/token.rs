//! The `token` target: compact HS256 tokens over fuzzed header and payload JSON, signed by an
//! independent HMAC, optionally mutated, then judged by the core's batch pass.
//!
//! The pass may refuse anything (refused tokens take the ordinary `decode` path), but what
//! it accepts must be valid by PyJWT's rules, re-checked here by `pyjwt_reference`: the
//! signature is the HMAC of the signing input, every segment decodes, the header is an
//! `HS256` JSON object without `crit`/`b64` and with a string `kid` if any, the payload is a
//! UTF-8 JSON object without duplicate names that passes PyJWT's default claim checks.

use _turbojwt::fuzzing::{base64url_decode, json_too_deep, judge_hs256, AcceptedToken, Verdict};

use crate::hmac_reference::hmac_sha256;
use crate::pyjwt_reference::{
    check_claims, check_header, decode_segment, encode_segment, nesting_depth, object_members,
    Expected, PYTHON_JSON_DEPTH,
};

/// The core's default token length limit (256 KiB); nothing in the fuzz process changes it.
const MAX_TOKEN_BYTES: usize = 256 * 1024;
/// The core's JSON depth limit when no interpreter has set one: the depth CPython 3.11's
/// `json.loads` parses.
const MAX_JSON_DEPTH: usize = PYTHON_JSON_DEPTH;

const SECRETS: [&[u8]; 4] = [
    b"a-32-byte-secret-for-hs256-token",
    b"another 32-byte secret, also ok!",
    b"",
    // Longer than the SHA-256 block: HMAC hashes it first.
    b"a secret longer than one SHA-256 block, which HMAC hashes before use: 0123456789",
];
const NOWS: [f64; 8] = [
    1_700_000_000.0,
    1_700_000_000.25,
    1_700_000_000.75,
    0.0,
    -0.5,
    9_223_372_036_854_775_808.0, // 2**63
    1e300,
    f64::NAN,
];
const LEEWAYS: [f64; 10] = [
    0.0,
    0.5,
    10.0,
    3600.0,
    -10.0,
    -0.5,
    1e20,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
];
const AUDIENCES: [Option<&str>; 5] = [
    None,
    Some("api"),
    Some("other"),
    Some(""),
    Some("caf\u{e9}"),
];
const ISSUERS: [Option<&str>; 4] = [
    None,
    Some("issuer"),
    Some(""),
    Some("https://issuer.example"),
];
/// Bytes the `Insert` mutation puts into a token.
const INSERTS: [u8; 8] = [b'.', b'=', b'A', b' ', b'+', b'/', b'-', b'_'];

/// How the signed token is changed before it is judged.
#[derive(Clone, Copy, Debug)]
enum Mutation {
    None,
    /// XOR the byte at `position` (modulo the length) with `mask`.
    Flip {
        position: usize,
        mask: u8,
    },
    /// Append `count` `=` to segment `segment` (modulo the number of segments).
    Pad {
        segment: usize,
        count: usize,
    },
    Truncate {
        len: usize,
    },
    SwapHeaderAndPayload,
    Insert {
        position: usize,
        byte: u8,
    },
    /// The input after the fixed fields, as it is, is the whole token.
    Raw,
}

/// One `token` input:
/// `[secret][now][leeway][audience][issuer][mutation][argument, u16 LE][header length, u16 LE]
/// [header JSON][payload JSON]`. Choices index the tables above, wrapping around; bit 7 of
/// the mutation byte re-signs the token after mutating it. `fuzz/make_corpus.py` writes
/// seeds in this layout.
#[derive(Debug)]
pub struct TokenCase<'a> {
    secret: &'static [u8],
    expected: Expected<'static>,
    mutation: Mutation,
    resign: bool,
    header: &'a [u8],
    payload: &'a [u8],
    raw: &'a [u8],
}

impl<'a> TokenCase<'a> {
    #[must_use]
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        let (prefix, raw) = data.split_first_chunk::<10>()?;
        let [secret, now, leeway, audience, issuer, mutation, arg_low, arg_high, len_low, len_high] =
            *prefix;
        let pick = |choice: u8, len: usize| usize::from(choice) % len;
        let argument = usize::from(u16::from_le_bytes([arg_low, arg_high]));
        let header_len = usize::from(u16::from_le_bytes([len_low, len_high])).min(raw.len());
        let (header, payload) = raw.split_at(header_len);
        let resign = mutation & 0x80 != 0;
        let mutation = match (mutation & 0x7f) % 7 {
            0 => Mutation::None,
            1 => Mutation::Flip {
                position: argument,
                mask: arg_high.max(1),
            },
            2 => Mutation::Pad {
                segment: argument % 3,
                count: 1 + argument / 3 % 3,
            },
            3 => Mutation::Truncate { len: argument },
            4 => Mutation::SwapHeaderAndPayload,
            5 => Mutation::Insert {
                position: argument,
                byte: INSERTS[pick(arg_high, INSERTS.len())],
            },
            _ => Mutation::Raw,
        };
        Some(Self {
            secret: SECRETS[pick(secret, SECRETS.len())],
            expected: Expected {
                now: NOWS[pick(now, NOWS.len())],
                leeway: LEEWAYS[pick(leeway, LEEWAYS.len())],
                audience: AUDIENCES[pick(audience, AUDIENCES.len())],
                issuer: ISSUERS[pick(issuer, ISSUERS.len())],
            },
            mutation,
            resign,
            header,
            payload,
            raw,
        })
    }

    /// The token to judge: signed by the reference HMAC, then mutated (and maybe re-signed).
    #[must_use]
    pub fn token(&self) -> Vec<u8> {
        if let Mutation::Raw = self.mutation {
            return self.raw.to_vec();
        }
        let mut signing_input = encode_segment(self.header);
        signing_input.push(b'.');
        signing_input.extend_from_slice(&encode_segment(self.payload));
        let mut token = sign(self.secret, &signing_input);
        match self.mutation {
            Mutation::None | Mutation::Raw => {}
            Mutation::Flip { position, mask } => {
                let len = token.len();
                token[position % len] ^= mask;
            }
            Mutation::Pad { segment, count } => {
                let end = token
                    .iter()
                    .enumerate()
                    .filter(|&(_, &b)| b == b'.')
                    .map(|(i, _)| i)
                    .chain([token.len()])
                    .nth(segment)
                    .unwrap_or(token.len());
                token.splice(end..end, std::iter::repeat_n(b'=', count));
            }
            Mutation::Truncate { len } => token.truncate(len % (token.len() + 1)),
            Mutation::SwapHeaderAndPayload => {
                let header_len = encode_segment(self.header).len();
                let payload = encode_segment(self.payload);
                let mut swapped = payload.clone();
                swapped.push(b'.');
                swapped.extend_from_slice(&token[..header_len]);
                token.splice(..header_len + 1 + payload.len(), swapped);
            }
            Mutation::Insert { position, byte } => {
                token.insert(position % (token.len() + 1), byte);
            }
        }
        if self.resign {
            if let Some(last_dot) = token.iter().rposition(|&b| b == b'.') {
                token = sign(self.secret, &token[..last_dot]);
            }
        }
        token
    }

    /// Judge the token; panic on any accepted token PyJWT would refuse.
    pub fn check(&self) {
        check_depth(self.header);
        check_depth(self.payload);
        let token = self.token();
        for segment in token.split(|&b| b == b'.') {
            check_segment_codec(segment);
        }
        let expected = &self.expected;
        let verdict = judge_hs256(
            &token,
            self.secret,
            expected.now,
            expected.leeway,
            expected.audience,
            expected.issuer,
        );
        let checked = match &verdict {
            Verdict::Accepted(accepted) => self.confirm(&token, accepted),
            Verdict::BadSignature => self.confirm_bad_signature(&token),
            Verdict::Expired => self.confirm_expired(&token),
            Verdict::Undecided => Ok(()),
        };
        if let Err(reason) = checked {
            panic!(
                "{verdict:?} for a token PyJWT judges otherwise: {reason}\n  token: {}\n  case: {self:?}",
                String::from_utf8_lossy(&token)
            );
        }
    }

    /// The decoded parts of a token PyJWT reads up to its signature check, and the
    /// signing input, or why PyJWT refuses it before that.
    fn well_formed(&self, token: &[u8]) -> Result<(Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>), String> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(format!("{} bytes, over the length limit", token.len()));
        }
        let last_dot = token.iter().rposition(|&b| b == b'.').ok_or("no dot")?;
        let (signing_input, signature_segment) = (&token[..last_dot], &token[last_dot + 1..]);
        let first_dot = signing_input
            .iter()
            .position(|&b| b == b'.')
            .ok_or("only one dot")?;
        let (header_segment, payload_segment) =
            (&signing_input[..first_dot], &signing_input[first_dot + 1..]);
        let decoded = |segment: &[u8], name: &str| {
            decode_segment(segment).ok_or_else(|| format!("{name} segment does not decode"))
        };
        let header = decoded(header_segment, "header")?;
        let payload = decoded(payload_segment, "payload")?;
        let signature = decoded(signature_segment, "signature")?;
        if nesting_depth(&header) > MAX_JSON_DEPTH {
            return Err(format!("header nests deeper than {MAX_JSON_DEPTH}"));
        }
        let members = object_members(&header).map_err(|err| format!("header: {err}"))?;
        check_header(&members)?;
        Ok((signing_input.to_vec(), header, payload, signature))
    }

    /// PyJWT raises `InvalidSignatureError`: a well-formed token whose HMAC differs.
    fn confirm_bad_signature(&self, token: &[u8]) -> Result<(), String> {
        let (signing_input, _, payload, signature) = self.well_formed(token)?;
        if nesting_depth(&payload) > MAX_JSON_DEPTH {
            return Err(format!("payload nests deeper than {MAX_JSON_DEPTH}"));
        }
        if signature == hmac_sha256(self.secret, &signing_input) {
            return Err("the signature is the HMAC of the signing input".into());
        }
        Ok(())
    }

    /// PyJWT raises `ExpiredSignatureError`: a verified token whose first failing claim
    /// check is `exp`.
    fn confirm_expired(&self, token: &[u8]) -> Result<(), String> {
        let (signing_input, _, payload, signature) = self.well_formed(token)?;
        if signature != hmac_sha256(self.secret, &signing_input) {
            return Err("the signature is not the HMAC of the signing input".into());
        }
        if nesting_depth(&payload) > MAX_JSON_DEPTH {
            return Err(format!("payload nests deeper than {MAX_JSON_DEPTH}"));
        }
        if std::str::from_utf8(&payload).is_err() {
            return Err("payload is not UTF-8".into());
        }
        let claims = object_members(&payload).map_err(|err| format!("payload: {err}"))?;
        match check_claims(&claims, &self.expected) {
            Err(reason) if reason.starts_with("exp ") && reason.contains("<= now - leeway") => {
                Ok(())
            }
            Err(reason) => Err(format!("PyJWT refuses it otherwise: {reason}")),
            Ok(()) => Err("PyJWT accepts it".into()),
        }
    }

    /// PyJWT accepts it: a well-formed token, decoded as the core decoded it, with the
    /// HMAC of its signing input and claims that pass PyJWT's default checks.
    fn confirm(&self, token: &[u8], accepted: &AcceptedToken) -> Result<(), String> {
        let (signing_input, header, payload, signature) = self.well_formed(token)?;
        if (&header, &payload, &signature)
            != (&accepted.header, &accepted.payload, &accepted.signature)
        {
            return Err(format!(
                "decoded parts differ from the reference's: {accepted:?}"
            ));
        }
        if signature != hmac_sha256(self.secret, &signing_input) {
            return Err("the signature is not the HMAC of the signing input".into());
        }
        if nesting_depth(&payload) > MAX_JSON_DEPTH {
            return Err(format!("payload nests deeper than {MAX_JSON_DEPTH}"));
        }
        if std::str::from_utf8(&payload).is_err() {
            return Err("payload is not UTF-8".into());
        }
        let claims = object_members(&payload).map_err(|err| format!("payload: {err}"))?;
        check_claims(&claims, &self.expected)
    }
}

/// `header.payload` with the reference HMAC-SHA256 signature appended.
fn sign(secret: &[u8], signing_input: &[u8]) -> Vec<u8> {
    let mut token = signing_input.to_vec();
    token.push(b'.');
    token.extend_from_slice(&encode_segment(&hmac_sha256(secret, signing_input)));
    token
}

/// The core's segment decoder agrees with the reference (and so does its depth check on
/// what the segment decodes to).
fn check_segment_codec(segment: &[u8]) {
    let decoded = decode_segment(segment);
    assert_eq!(
        base64url_decode(segment),
        decoded,
        "segment {:?}",
        String::from_utf8_lossy(segment)
    );
    if let Some(json) = decoded {
        check_depth(&json);
    }
}

/// On a document `json.loads` reads as an object, the core's depth check is exact.
fn check_depth(json: &[u8]) {
    if object_members(json).is_ok() {
        assert_eq!(
            json_too_deep(json),
            nesting_depth(json) > MAX_JSON_DEPTH,
            "depth of {:?}",
            String::from_utf8_lossy(json)
        );
    }
}
