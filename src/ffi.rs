//! The one module allowed `unsafe`: CPython C-API access that PyO3's safe API does not offer
//! and the hot path needs. Every block states why it is sound. Everything else in the crate
//! is `#![deny(unsafe_code)]` (see `Cargo.toml`).
#![allow(unsafe_code)]

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A number that changes whenever `dict` is modified, and that no other dict state has had:
/// CPython 3.11-3.13 give every dict a version from a global counter, bumped on every
/// insertion, deletion or update (PEP 509). `None` where the interpreter has none (3.14+,
/// where the field was removed, and PyPy): callers then read the dict each time.
#[cfg(all(not(Py_3_14), not(PyPy), not(GraalPy), not(Py_LIMITED_API)))]
pub fn dict_version(dict: &Bound<'_, PyDict>) -> Option<u64> {
    let raw = dict.as_ptr().cast::<ffi::PyDictObject>();
    // SAFETY: `dict` is a live `dict` (or subclass) instance, whose C layout starts with
    // `PyDictObject` on these interpreters; the GIL (or, free-threaded, the object's own
    // reference) keeps it alive for the read, and `ma_version_tag` is a plain integer
    // field. A torn read under free-threading could only make the version look changed,
    // which makes the caller read the dict again.
    #[allow(deprecated)] // deprecated in 3.12 and 3.13, still maintained by them
    let version = unsafe { std::ptr::addr_of!((*raw).ma_version_tag).read_volatile() };
    Some(version)
}

#[cfg(not(all(not(Py_3_14), not(PyPy), not(GraalPy), not(Py_LIMITED_API))))]
pub fn dict_version(_dict: &Bound<'_, PyDict>) -> Option<u64> {
    None
}

/// A dict of `pairs` in order (a repeated key keeps its first position and takes the last
/// value, as `json.loads` does), allocated for its final size at once.
#[cfg(all(not(PyPy), not(GraalPy), not(Py_LIMITED_API)))]
pub fn dict_with_pairs<'py>(
    py: Python<'py>,
    pairs: Vec<(Bound<'py, pyo3::types::PyString>, Bound<'py, PyAny>)>,
) -> PyResult<Bound<'py, PyDict>> {
    let size = ffi::Py_ssize_t::try_from(pairs.len()).unwrap_or(0);
    // SAFETY: `_PyDict_NewPresized` returns a new empty dict (or null with an exception set,
    // which `from_owned_ptr_or_err` turns into `Err`); CPython 3.8-3.13 export it.
    let dict = unsafe { Bound::from_owned_ptr_or_err(py, ffi::_PyDict_NewPresized(size))? };
    // SAFETY: it is a dict: `_PyDict_NewPresized` makes nothing else.
    let dict = unsafe { dict.cast_into_unchecked::<PyDict>() };
    for (key, value) in pairs {
        dict.set_item(key, value)?;
    }
    Ok(dict)
}

#[cfg(not(all(not(PyPy), not(GraalPy), not(Py_LIMITED_API))))]
pub fn dict_with_pairs<'py>(
    py: Python<'py>,
    pairs: Vec<(Bound<'py, pyo3::types::PyString>, Bound<'py, PyAny>)>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in pairs {
        dict.set_item(key, value)?;
    }
    Ok(dict)
}

/// A `str` of the ASCII text `text`, made as `json.loads` makes it (a compact ASCII string),
/// without the UTF-8 decoder: one allocation and a copy.
#[cfg(all(not(PyPy), not(GraalPy), not(Py_LIMITED_API)))]
pub fn ascii_string<'py>(
    py: Python<'py>,
    text: &str,
) -> PyResult<Bound<'py, pyo3::types::PyString>> {
    if !text.is_ascii() {
        return Ok(pyo3::types::PyString::new(py, text));
    }
    let length = ffi::Py_ssize_t::try_from(text.len())
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("string too long"))?;
    // SAFETY: `PyUnicode_New(n, 127)` returns a new compact ASCII string with room for `n`
    // one-byte characters (or null with an exception set, handled by `from_owned_ptr_or_err`).
    let string = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyUnicode_New(length, 127))? };
    // SAFETY: the string is new, unshared and compact ASCII, so its data is `length` writable
    // bytes (plus the terminating NUL CPython wrote); `text` is `length` ASCII bytes, so the
    // result is a valid str. The two buffers cannot overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(
            text.as_ptr(),
            ffi::PyUnicode_1BYTE_DATA(string.as_ptr()),
            text.len(),
        );
    }
    // SAFETY: `PyUnicode_New` made a `str`.
    Ok(unsafe { string.cast_into_unchecked() })
}

#[cfg(not(all(not(PyPy), not(GraalPy), not(Py_LIMITED_API))))]
pub fn ascii_string<'py>(
    py: Python<'py>,
    text: &str,
) -> PyResult<Bound<'py, pyo3::types::PyString>> {
    Ok(pyo3::types::PyString::new(py, text))
}

/// `decode` and `decode_complete` as CPython vectorcall functions bound to a `JwtEngine`.
///
/// A PyO3 method taking `**kwargs` is called with a tuple and a dict built for every call;
/// these take the arguments as CPython passes them (an array and the keyword names) and
/// match the names against interned strings. Anything unusual (an unknown or repeated
/// keyword, too many arguments, no token) is handed unchanged to the PyO3 method, which
/// raises or warns exactly as before.
pub mod entry {
    use std::ffi::CStr;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use pyo3::ffi;
    use pyo3::prelude::*;
    use pyo3::sync::PyOnceLock;
    use pyo3::types::{PyString, PyTuple};

    use crate::jwt::{JwtEngine, Which};

    /// `decode`'s parameters in order; `decode_complete` swaps `issuer` and `subject`.
    const DECODE: [&str; 10] = [
        "jwt",
        "key",
        "algorithms",
        "options",
        "verify",
        "detached_payload",
        "audience",
        "subject",
        "issuer",
        "leeway",
    ];
    const DECODE_COMPLETE: [&str; 10] = [
        "jwt",
        "key",
        "algorithms",
        "options",
        "verify",
        "detached_payload",
        "audience",
        "issuer",
        "subject",
        "leeway",
    ];

    static NAMES: PyOnceLock<[[Py<PyString>; 10]; 2]> = PyOnceLock::new();

    fn names(py: Python<'_>, which: Which) -> &[Py<PyString>; 10] {
        let [decode, complete] = NAMES.get_or_init(py, || {
            let intern = |list: [&str; 10]| list.map(|name| PyString::intern(py, name).unbind());
            [intern(DECODE), intern(DECODE_COMPLETE)]
        });
        match which {
            Which::Decode => decode,
            Which::Complete => complete,
        }
    }

    /// The method definitions CPython reads (never writes) for the lifetime of the process.
    struct Defs([ffi::PyMethodDef; 2]);
    // SAFETY: the definitions hold only pointers to 'static C strings and to functions, and
    // nothing ever mutates them; sharing them between threads is sharing constants.
    unsafe impl Sync for Defs {}

    const DECODE_DOC: &CStr = c"decode($self, /, jwt, key='', algorithms=None, options=None, verify=None, detached_payload=None, audience=None, subject=None, issuer=None, leeway=0, **kwargs)
--

Verify ``jwt`` and return its claims, as PyJWT's ``decode``.";
    const COMPLETE_DOC: &CStr = c"decode_complete($self, /, jwt, key='', algorithms=None, options=None, verify=None, detached_payload=None, audience=None, issuer=None, subject=None, leeway=0, **kwargs)
--

Like ``decode``, returning ``{\"payload\", \"header\", \"signature\"}``.";

    static DEFS: Defs = Defs([
        ffi::PyMethodDef {
            ml_name: c"decode".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunctionFastWithKeywords: decode_vectorcall,
            },
            ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
            ml_doc: DECODE_DOC.as_ptr(),
        },
        ffi::PyMethodDef {
            ml_name: c"decode_complete".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunctionFastWithKeywords: complete_vectorcall,
            },
            ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
            ml_doc: COMPLETE_DOC.as_ptr(),
        },
    ]);

    /// The bound function for `engine`: `which` is `"decode"` or `"decode_complete"`.
    #[pyfunction]
    pub fn fast_entry<'py>(
        engine: &Bound<'py, JwtEngine>,
        which: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = engine.py();
        let [decode, complete] = &DEFS.0;
        let def = match which {
            "decode" => decode,
            "decode_complete" => complete,
            _ => {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "which must be 'decode' or 'decode_complete'",
                ))
            }
        };
        let def = std::ptr::from_ref(def).cast_mut();
        // SAFETY: `def` points into a 'static that CPython only reads; `engine` is a live
        // object that the new function object takes a reference to. A null result carries
        // a Python exception, which `from_owned_ptr_or_err` turns into `Err`.
        unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyCFunction_NewEx(def, engine.as_ptr(), std::ptr::null_mut()),
            )
        }
    }

    unsafe extern "C" fn decode_vectorcall(
        slf: *mut ffi::PyObject,
        args: *const *mut ffi::PyObject,
        nargs: ffi::Py_ssize_t,
        kwnames: *mut ffi::PyObject,
    ) -> *mut ffi::PyObject {
        // SAFETY: CPython calls this with the conventions `vectorcall` documents (see `call`).
        unsafe { call(Which::Decode, slf, args, nargs, kwnames) }
    }

    unsafe extern "C" fn complete_vectorcall(
        slf: *mut ffi::PyObject,
        args: *const *mut ffi::PyObject,
        nargs: ffi::Py_ssize_t,
        kwnames: *mut ffi::PyObject,
    ) -> *mut ffi::PyObject {
        // SAFETY: as for `decode_vectorcall`.
        unsafe { call(Which::Complete, slf, args, nargs, kwnames) }
    }

    /// # Safety
    /// Called by CPython for a `METH_FASTCALL | METH_KEYWORDS` function: the calling thread
    /// is attached to the interpreter; `slf` is the object the function was bound to;
    /// `args` holds `nargs` positional values followed by one value per name in `kwnames`
    /// (a tuple of `str`, or null), all borrowed for the duration of the call.
    unsafe fn call(
        which: Which,
        slf: *mut ffi::PyObject,
        args: *const *mut ffi::PyObject,
        nargs: ffi::Py_ssize_t,
        kwnames: *mut ffi::PyObject,
    ) -> *mut ffi::PyObject {
        // SAFETY: the caller is CPython, on a thread attached to the interpreter.
        let py = unsafe { Python::assume_attached() };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the pointers follow the vectorcall convention stated above.
            let arguments = unsafe { Arguments::read(py, which, slf, args, nargs, kwnames) };
            let engine = arguments.engine.cast::<JwtEngine>()?;
            match arguments.slots {
                Some(slots) => crate::jwt::call_fast(engine, which, slots),
                // The PyO3 method, with the same arguments: its errors and warnings.
                None => {
                    let method = engine.getattr(match which {
                        Which::Decode => pyo3::intern!(py, "decode"),
                        Which::Complete => pyo3::intern!(py, "decode_complete"),
                    })?;
                    // SAFETY: forwards exactly what CPython passed to this call.
                    unsafe {
                        Bound::from_owned_ptr_or_err(
                            py,
                            ffi::PyObject_Vectorcall(
                                method.as_ptr(),
                                args,
                                usize::try_from(nargs).unwrap_or_default(),
                                kwnames,
                            ),
                        )
                    }
                }
            }
        }));
        match outcome {
            Ok(Ok(result)) => result.into_ptr(),
            Ok(Err(error)) => {
                error.restore(py);
                std::ptr::null_mut()
            }
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic in turbojwt".to_owned());
                pyo3::panic::PanicException::new_err(message).restore(py);
                std::ptr::null_mut()
            }
        }
    }

    /// The call's arguments by parameter position, or `None` for the slow path.
    struct Arguments<'py> {
        engine: Bound<'py, PyAny>,
        slots: Option<[Option<Bound<'py, PyAny>>; 10]>,
    }

    impl<'py> Arguments<'py> {
        /// # Safety
        /// As for [`call`].
        unsafe fn read(
            py: Python<'py>,
            which: Which,
            slf: *mut ffi::PyObject,
            args: *const *mut ffi::PyObject,
            nargs: ffi::Py_ssize_t,
            kwnames: *mut ffi::PyObject,
        ) -> Self {
            // SAFETY: `slf` is the live bound object.
            let engine = unsafe { Borrowed::from_ptr(py, slf) }.to_owned();
            let positional = usize::try_from(nargs).unwrap_or(usize::MAX);
            let keywords = if kwnames.is_null() {
                None
            } else {
                // SAFETY: a non-null `kwnames` is a live tuple of `str`.
                Some(
                    unsafe { Borrowed::from_ptr(py, kwnames) }
                        .to_owned()
                        .cast_into::<PyTuple>(),
                )
            };
            if let Some(Err(_)) = &keywords {
                return Arguments {
                    engine,
                    slots: None,
                };
            }
            if positional > 10 || positional == usize::MAX {
                return Arguments {
                    engine,
                    slots: None,
                };
            }
            let value = |index: usize| {
                // SAFETY: `args` holds `nargs + len(kwnames)` live objects; `index` is below
                // that count.
                unsafe { Borrowed::from_ptr(py, *args.add(index)) }.to_owned()
            };
            let mut slots: [Option<Bound<'py, PyAny>>; 10] = Default::default();
            for (index, slot) in slots.iter_mut().enumerate().take(positional) {
                *slot = Some(value(index));
            }
            if let Some(Ok(keyword_names)) = keywords {
                let known = names(py, which);
                for (offset, name) in keyword_names.iter_borrowed().enumerate() {
                    let Some(index) = position(py, known, &name) else {
                        return Arguments {
                            engine,
                            slots: None,
                        };
                    };
                    match slots.get_mut(index) {
                        Some(slot @ None) => *slot = Some(value(positional + offset)),
                        _ => {
                            return Arguments {
                                engine,
                                slots: None,
                            }
                        }
                    }
                }
            }
            if slots.first().is_none_or(Option::is_none) {
                return Arguments {
                    engine,
                    slots: None,
                };
            }
            Arguments {
                engine,
                slots: Some(slots),
            }
        }
    }

    /// The parameter `name` stands for: by identity (keyword names in code are interned),
    /// else by value.
    fn position(
        py: Python<'_>,
        known: &[Py<PyString>; 10],
        name: &Borrowed<'_, '_, PyAny>,
    ) -> Option<usize> {
        if let Some(index) = known.iter().position(|k| k.as_ptr() == name.as_ptr()) {
            return Some(index);
        }
        let name = name.cast::<PyString>().ok()?;
        let name = name.to_str().ok()?;
        known
            .iter()
            .position(|k| k.bind(py).to_str().is_ok_and(|k| k == name))
    }
}
