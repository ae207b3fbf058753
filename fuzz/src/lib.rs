//! The checks behind the fuzz targets.
//!
//! Every key parser must return `Ok` or `Err` for any input, never panic. Whatever a parser
//! accepts must then be usable: every algorithm can be checked against it and verified with
//! arbitrary signatures, a private key signs what its public half verifies, and its JWK
//! components load back into the same key.
//!
//! The token path's checks live in [`token`] (the batch pass's `accept`, against the
//! independent `hmac_reference` and `pyjwt_reference`), [`claims_scan`] (the pass's claims
//! scanner, against `pyjwt_reference`) and [`bearer`] (the header parser).
//!
//! A broken expectation panics: that is how a fuzz target reports a finding.
#![allow(clippy::missing_panics_doc)]

pub mod bearer;
pub mod claims_scan;
mod hmac_reference;
mod pyjwt_reference;
mod rsa_reference;
pub mod token;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use _turbojwt::crypto::{
    Algorithm, AsymmetricKey, CryptoError, JwkComponents, JwkMember, JwkMembers,
    RsaPrivateComponents,
};
use base64_simd::URL_SAFE_NO_PAD;
use libfuzzer_sys::arbitrary::{Result as ArbitraryResult, Unstructured};

/// Signatures longer than this are cut: no algorithm's is longer (16384-bit RSA: 2048 bytes).
const MAX_SIGNATURE_LEN: usize = 2048;

/// Runs every operation on a parsed key; a parse error only has to be printable.
pub fn exercise(parsed: Result<AsymmetricKey, CryptoError>, data: &[u8]) {
    let key = match parsed {
        Ok(key) => key,
        Err(err) => {
            let _ = err.to_string();
            return;
        }
    };
    let _ = format!("{key:?} {} {:?}", key.kind(), key.encoding());
    let components = key
        .to_jwk_components()
        .unwrap_or_else(|err| panic!("{key:?}: to_jwk_components failed: {err}"));
    let public = reload_public(&key, &components);
    reload_private(&key, &components);
    for algorithm in Algorithm::ALL {
        if key.check_algorithm(algorithm).is_err() {
            assert!(key.verify(algorithm, data, data).is_err(), "{algorithm}");
            assert!(key.sign(algorithm, data).is_err(), "{algorithm}");
            continue;
        }
        for signature in candidate_signatures(&key, &components, algorithm, data) {
            let direct = key.verify(algorithm, data, &signature);
            let via_public = public.verify(algorithm, data, &signature);
            assert!(via_public.is_ok(), "{algorithm}: {via_public:?}");
            if let Ok(direct) = direct {
                assert_eq!(Ok(direct), via_public, "{key:?} {algorithm}");
            }
            check_verdict(&public, &components, algorithm, data, &signature);
        }
        if key.kind().is_private() {
            sign_and_verify(&key, &public, algorithm, data);
        }
    }
}

/// Signatures to try: empty, the right length made of the input's bytes, all zeros and all
/// ones of the right length, and the input itself.
fn candidate_signatures(
    key: &AsymmetricKey,
    components: &JwkComponents,
    algorithm: Algorithm,
    data: &[u8],
) -> Vec<Vec<u8>> {
    let len = expected_signature_len(key, components, algorithm);
    let from_input: Vec<u8> = data.iter().copied().cycle().take(len).collect();
    let whole = data
        .get(..data.len().min(MAX_SIGNATURE_LEN))
        .unwrap_or(data);
    vec![
        Vec::new(),
        from_input,
        vec![0; len],
        vec![0xff; len],
        whole.to_vec(),
    ]
}

fn expected_signature_len(
    key: &AsymmetricKey,
    components: &JwkComponents,
    algorithm: Algorithm,
) -> usize {
    match (key.rsa_bits(), algorithm) {
        (Some(bits), _) => bits.div_ceil(8),
        (None, Algorithm::ES256 | Algorithm::ES256K) => 64,
        (None, Algorithm::ES384) => 96,
        (None, Algorithm::ES512) => 132,
        (None, _) if is_ed448(components) => 114,
        (None, _) => 64,
    }
}

fn is_ed448(components: &JwkComponents) -> bool {
    matches!(components, JwkComponents::Okp { curve, .. } if curve.jwk_name() == "Ed448")
}

/// A verdict must not depend on anything but the message: a signature that verifies
/// `data` cannot also verify `data` with a byte appended. For RS*, the verdict must
/// also be that of an independent PKCS#1 v1.5 verifier.
fn check_verdict(
    public: &AsymmetricKey,
    components: &JwkComponents,
    algorithm: Algorithm,
    data: &[u8],
    signature: &[u8],
) {
    let Ok(valid) = public.verify(algorithm, data, signature) else {
        return;
    };
    if valid {
        let mut other = data.to_vec();
        other.push(0);
        assert_eq!(
            public.verify(algorithm, &other, signature),
            Ok(false),
            "{public:?} {algorithm}: one signature verifies two messages"
        );
    }
    if let JwkComponents::Rsa { n, e, .. } = components {
        if let Some(expected) = rsa_reference::verify_pkcs1v15(n, e, algorithm, data, signature) {
            assert_eq!(
                valid, expected,
                "{public:?} {algorithm}: differs from the reference"
            );
        }
    }
}

/// A private key signs; its public half accepts the signature and refuses a corrupted one.
fn sign_and_verify(key: &AsymmetricKey, public: &AsymmetricKey, algorithm: Algorithm, data: &[u8]) {
    let signature = match key.sign(algorithm, data) {
        Ok(signature) => signature,
        // The backend signs with 2048 to 8192-bit RSA keys only.
        Err(CryptoError::UnsupportedKeySize { .. }) => return,
        Err(err) => panic!("{key:?} {algorithm}: signing failed: {err}"),
    };
    assert_eq!(
        public.verify(algorithm, data, &signature),
        Ok(true),
        "{key:?} {algorithm}: own signature refused"
    );
    let mut corrupted = signature.clone();
    if let Some(first) = corrupted.first_mut() {
        *first ^= 0x80;
    }
    assert_eq!(
        public.verify(algorithm, data, &corrupted),
        Ok(false),
        "{key:?} {algorithm}: corrupted signature accepted"
    );
}

/// The public half, loaded back from the key's JWK components.
fn reload_public(key: &AsymmetricKey, components: &JwkComponents) -> AsymmetricKey {
    let members = public_members(components);
    let public = AsymmetricKey::from_jwk(&members)
        .unwrap_or_else(|err| panic!("{key:?}: its public JWK does not load: {err}"));
    let reloaded = public
        .to_jwk_components()
        .unwrap_or_else(|err| panic!("{public:?}: {err}"));
    assert_eq!(
        public_members(&reloaded),
        members,
        "{key:?}: public JWK round trip"
    );
    public
}

/// A private key's full JWK loads back into the same key.
fn reload_private(key: &AsymmetricKey, components: &JwkComponents) {
    let members = private_members(components);
    if !members.contains_key("d") {
        return;
    }
    let reloaded = AsymmetricKey::from_jwk(&members)
        .unwrap_or_else(|err| panic!("{key:?}: its private JWK does not load: {err}"));
    assert_eq!(reloaded.kind(), key.kind());
    let again = reloaded
        .to_jwk_components()
        .unwrap_or_else(|err| panic!("{reloaded:?}: {err}"));
    assert_eq!(
        private_members(&again),
        members,
        "{key:?}: private JWK round trip"
    );
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode_to_string(bytes)
}

fn public_members(components: &JwkComponents) -> BTreeMap<String, String> {
    let mut members = BTreeMap::new();
    let mut put = |name: &str, value: String| {
        members.insert(name.to_owned(), value);
    };
    match components {
        JwkComponents::Rsa { n, e, .. } => {
            put("kty", "RSA".into());
            put("n", b64(n));
            put("e", b64(e));
        }
        JwkComponents::Ec { curve, x, y, .. } => {
            put("kty", "EC".into());
            put("crv", curve.jwk_name().into());
            put("x", b64(x));
            put("y", b64(y));
        }
        JwkComponents::Okp { curve, x, .. } => {
            put("kty", "OKP".into());
            put("crv", curve.jwk_name().into());
            put("x", b64(x));
        }
    }
    members
}

fn private_members(components: &JwkComponents) -> BTreeMap<String, String> {
    let mut members = public_members(components);
    let mut put = |name: &str, value: &[u8]| {
        members.insert(name.to_owned(), b64(value));
    };
    match components {
        JwkComponents::Rsa {
            private:
                Some(RsaPrivateComponents {
                    d,
                    p,
                    q,
                    dp,
                    dq,
                    qi,
                }),
            ..
        } => {
            put("d", d);
            put("p", p);
            put("q", q);
            put("dp", dp);
            put("dq", dq);
            put("qi", qi);
        }
        JwkComponents::Ec { d: Some(d), .. } | JwkComponents::Okp { d: Some(d), .. } => {
            put("d", d);
        }
        _ => {}
    }
    members
}

/// A JWK member map in which members may also be non-strings.
#[derive(Debug, Default)]
pub struct Members(BTreeMap<String, Option<String>>);

/// Member names the parsers look at, so that arbitrary maps hit them often.
const MEMBER_NAMES: [&str; 14] = [
    "kty", "crv", "n", "e", "d", "p", "q", "dp", "dq", "qi", "oth", "x", "y", "k",
];
const MEMBER_VALUES: [&str; 8] = [
    "RSA",
    "EC",
    "OKP",
    "P-256",
    "P-384",
    "P-521",
    "secp256k1",
    "Ed25519",
];

impl Members {
    /// A JSON object: its string members as text, any other value as a non-string member.
    #[must_use]
    pub fn from_json(data: &[u8]) -> Option<Self> {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(data).ok()?;
        let members = object
            .into_iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => (name, Some(text)),
                _ => (name, None),
            })
            .collect();
        Some(Self(members))
    }

    /// Any bytes, read as a sequence of members with known or arbitrary names and values.
    #[must_use]
    pub fn from_unstructured(data: &[u8]) -> Self {
        let mut members = Self::default();
        let mut input = Unstructured::new(data);
        while !input.is_empty() {
            if members.add_one(&mut input).is_err() {
                break;
            }
        }
        members
    }

    fn add_one(&mut self, input: &mut Unstructured<'_>) -> ArbitraryResult<()> {
        let name = if input.ratio(3, 4)? {
            (*input.choose(&MEMBER_NAMES)?).to_owned()
        } else {
            input.arbitrary::<String>()?
        };
        let value = match input.choose_index(4)? {
            0 => None,
            1 => Some((*input.choose(&MEMBER_VALUES)?).to_owned()),
            2 => Some(input.arbitrary::<String>()?),
            _ => Some(b64(input.arbitrary::<&[u8]>()?)),
        };
        self.0.insert(name, value);
        Ok(())
    }
}

impl JwkMembers for Members {
    fn member(&self, name: &str) -> JwkMember<'_> {
        match self.0.get(name) {
            None => JwkMember::Absent,
            Some(None) => JwkMember::Other,
            Some(Some(text)) => JwkMember::Text(Cow::Borrowed(text)),
        }
    }
}

/// The public keys `verify` fuzzes against, one per family and size class. RSA 1024 is
/// verified by the fallback implementation, RSA 2048/3072 by the backend.
const VERIFY_KEYS: [&[u8]; 10] = [
    include_bytes!("../../tests/vectors/keys/rsa1024.pub.pem"),
    include_bytes!("../../tests/vectors/keys/rsa2048.pub.pem"),
    include_bytes!("../../tests/vectors/keys/rsa3072_e3.pub.pem"),
    include_bytes!("../../tests/vectors/keys/p256.pub.pem"),
    include_bytes!("../../tests/vectors/keys/p384.pub.pem"),
    include_bytes!("../../tests/vectors/keys/p521.pub.pem"),
    include_bytes!("../../tests/vectors/keys/secp256k1.pub.pem"),
    include_bytes!("../../tests/vectors/keys/ed25519.pub.pem"),
    include_bytes!("../../tests/vectors/keys/ed448.pub.pem"),
    // A private EC key verifies through its public half.
    include_bytes!("../../tests/vectors/keys/p256.pkcs8.pem"),
];

struct LoadedKey {
    key: AsymmetricKey,
    components: JwkComponents,
}

fn verify_keys() -> &'static [LoadedKey] {
    static KEYS: OnceLock<Vec<LoadedKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        VERIFY_KEYS
            .iter()
            .map(|pem| {
                let key = AsymmetricKey::from_pem(pem).unwrap_or_else(|err| panic!("{err}"));
                let components = key
                    .to_jwk_components()
                    .unwrap_or_else(|err| panic!("{err}"));
                LoadedKey { key, components }
            })
            .collect()
    })
}

/// One `verify` input: `[key index][algorithm index][message length, u16 LE][message][signature]`.
/// Indices wrap around; `fuzz/make_verify_seeds.py` writes valid cases in this layout.
pub struct VerifyCase<'a> {
    key: &'static LoadedKey,
    algorithm: Algorithm,
    message: &'a [u8],
    signature: &'a [u8],
}

impl<'a> VerifyCase<'a> {
    #[must_use]
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        let (&[key, algorithm, len_low, len_high], rest) = data.split_first_chunk::<4>()?;
        let keys = verify_keys();
        let key = keys.get(usize::from(key) % keys.len())?;
        let algorithm = *Algorithm::ALL.get(usize::from(algorithm) % Algorithm::ALL.len())?;
        let len = usize::from(u16::from_le_bytes([len_low, len_high])).min(rest.len());
        let (message, signature) = rest.split_at(len);
        Some(Self {
            key,
            algorithm,
            message,
            signature,
        })
    }

    pub fn check(&self) {
        let key = &self.key.key;
        match key.verify(self.algorithm, self.message, self.signature) {
            Ok(_) => {
                check_verdict(
                    key,
                    &self.key.components,
                    self.algorithm,
                    self.message,
                    self.signature,
                );
            }
            Err(err) => {
                assert!(
                    key.check_algorithm(self.algorithm).is_err(),
                    "{key:?} {}: verify failed with {err} though the key serves it",
                    self.algorithm
                );
            }
        }
    }
}
