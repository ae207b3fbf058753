//! Makes PyO3's interpreter cfgs (`Py_3_14`, `PyPy`, `Py_LIMITED_API`, ...) visible to this
//! crate, for the version-specific C-API access in `src/ffi.rs`, and records how the crate
//! was optimised, for `turbojwt help` and the benchmark report.
fn main() {
    pyo3_build_config::print_expected_cfgs();
    pyo3_build_config::use_pyo3_cfgs();
    println!("cargo:rustc-env=TURBOJWT_BUILD={}", build_kind());
}

/// "release", "release, profile-guided" or "debug": release wheels are profile-guided and
/// builds from source are not, and they differ in speed (docs/design.md).
fn build_kind() -> String {
    let profile = std::env::var("PROFILE").unwrap_or_default();
    let kind = if profile == "release" {
        "release"
    } else {
        "debug"
    };
    // The flags cargo passes to rustc for this crate, separated by 0x1f.
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let mut flags = flags.split('\x1f');
    let mut guided = false;
    while let Some(flag) = flags.next() {
        let option = if flag == "-C" {
            flags.next().unwrap_or("")
        } else {
            flag.trim_start_matches("-C")
        };
        guided |= option.starts_with("profile-use");
    }
    if guided {
        format!("{kind}, profile-guided")
    } else {
        kind.to_string()
    }
}
