//! Makes PyO3's interpreter cfgs (`Py_3_14`, `PyPy`, `Py_LIMITED_API`, ...) visible to this
//! crate, for the version-specific C-API access in `src/ffi.rs`.
fn main() {
    pyo3_build_config::print_expected_cfgs();
    pyo3_build_config::use_pyo3_cfgs();
}
