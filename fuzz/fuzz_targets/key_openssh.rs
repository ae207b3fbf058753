//! `AsymmetricKey::from_openssh_public` on arbitrary bytes, then every use of whatever it
//! accepts.
#![no_main]

use _turbojwt::crypto::AsymmetricKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    turbojwt_fuzz::exercise(AsymmetricKey::from_openssh_public(data), data);
});
