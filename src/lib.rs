//! Rust core of turbojwt: the PyJWT 2.15.1 API's hot paths in one native call each.
//!
//! Module map (one concern each):
//! - [`base64url`]: the compact-JWS segment codec with PyJWT's acceptance rules
//! - [`json`]: JSON bytes to Python objects and back, with the stdlib `json` module's semantics
//! - [`hmac_keys`]: HMAC secrets, vetted once and cached as prepared keys
//! - [`algorithms`]: which algorithm an `alg` name resolves to, and signing/verifying with it
//! - [`claims`]: the registered-claim checks (exp, nbf, iat, iss, aud, sub, jti, require)
//! - [`jws`] / [`jwt`]: the decode and encode pipelines behind `PyJWS` and `PyJWT`
//! - [`bytes`]: in-line equality of the short byte strings compared on every decode
//! - [`errors`]: raising PyJWT's exception classes; [`py_refs`]: Python objects looked up once
//! - [`batch`]: many tokens judged on every core without the GIL
//! - [`column`] / [`verdicts`]: Arrow columns of tokens in, Arrow columns of verdicts out
//! - [`fuzzing`]: pure-Rust entry points of the token path for the fuzz targets (no Python needed)

mod algorithms;
mod args;
mod asym_keys;
mod base64url;
mod batch;
mod bearer;
mod bytes;
mod claims;
mod claims_scan;
mod column;
pub mod crypto;
mod errors;
mod ffi;
pub mod fuzzing;
mod header_cache;
mod hmac_keys;
mod json;
mod json_build;
mod jws;
mod jwt;
mod limits;
mod native_key;
mod py_refs;
mod segments;
mod string_cache;
mod token_cache;
mod verdicts;

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
mod _turbojwt {
    #[pymodule_export]
    use crate::base64url::decode_segment;
    #[pymodule_export]
    use crate::batch::batch_native_count;
    #[pymodule_export]
    use crate::bearer::extract_bearer;
    #[pymodule_export]
    use crate::claims::{
        validate_aud, validate_claims, validate_exp, validate_iat, validate_iss, validate_jti,
        validate_nbf, validate_required_claims, validate_sub,
    };
    #[pymodule_export]
    use crate::column::{verdict_fields, verify_arrow, VerdictArray, VerdictStream};
    #[pymodule_export]
    use crate::ffi::entry::fast_entry;
    #[pymodule_export]
    use crate::hmac_keys::{hmac_sign, hmac_verify, key_cache_info, set_key_cache_size};
    #[pymodule_export]
    use crate::json::{dumps_compact, loads_payload};
    #[pymodule_export]
    use crate::jws::JwsEngine;
    #[pymodule_export]
    use crate::jwt::{decode_batch, now, prepare_claims_py, JwtEngine};
    #[pymodule_export]
    use crate::limits::{get_limits, set_limits};
    #[pymodule_export]
    use crate::native_key::NativeKey;
    #[pymodule_export]
    use crate::token_cache::{clear_token_cache, set_token_cache, token_cache_info};

    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use pyo3::types::PyModuleMethods;
        crate::limits::init_default_depth(m.py());
        crate::token_cache::init_from_environment();
        // How this build was optimised ("release, profile-guided" for release wheels).
        m.add("__build__", env!("TURBOJWT_BUILD"))
    }
}
