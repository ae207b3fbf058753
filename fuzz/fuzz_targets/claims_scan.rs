//! The batch pass's claims scanner on any bytes: it must never panic, and whatever it reads
//! must be what Python's `json.loads` reads (checked against an independent reference).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    turbojwt_fuzz::claims_scan::check(data);
});
