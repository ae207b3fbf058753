//! `AsymmetricKey::verify` with valid keys of every family, any algorithm, and arbitrary
//! messages and signatures: it must answer `Ok(true)`, `Ok(false)` or a key/algorithm error,
//! never panic, and never accept a signature that does not match the message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use turbojwt_fuzz::VerifyCase;

fuzz_target!(|data: &[u8]| {
    if let Some(case) = VerifyCase::parse(data) {
        case.check();
    }
});
