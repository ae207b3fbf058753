//! The batch pass's `accept` on HS256 tokens signed over fuzzed header and payload JSON,
//! then maybe mutated: it must never panic, and every token it accepts must be one PyJWT
//! accepts (checked against independent HMAC, base64url, JSON and claim references).
#![no_main]

use libfuzzer_sys::fuzz_target;
use turbojwt_fuzz::token::TokenCase;

fuzz_target!(|data: &[u8]| {
    if let Some(case) = TokenCase::parse(data) {
        case.check();
    }
});
