//! `AsymmetricKey::from_pem` on arbitrary bytes, then every use of whatever it accepts.
#![no_main]

use _turbojwt::crypto::AsymmetricKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    turbojwt_fuzz::exercise(AsymmetricKey::from_pem(data), data);
});
