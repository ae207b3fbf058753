//! The `Authorization: Bearer` parser on any bytes: it must never panic and must return
//! exactly the token an independent reference of the RFC 6750 grammar finds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    turbojwt_fuzz::bearer::check(data);
});
