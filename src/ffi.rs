//! The one module allowed `unsafe`: CPython C-API access that PyO3's safe API does not offer
//! and the hot path needs, aws-lc's SHA-2 state functions for HMAC, the SSE2 scan for the
//! end of a JSON string, the GIL-guarded bindings of the engines, and taking Arrow data out
//! of the C Data Interface's capsules. Every
//! block states why it is sound. Everything else in the crate is `#![deny(unsafe_code)]`
//! (see `Cargo.toml`).
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

#[cfg(all(not(PyPy), not(GraalPy), not(Py_LIMITED_API)))]
extern "C" {
    // Private in CPython's headers but exported by every version turbojwt builds for; PyO3
    // 0.28 stopped declaring it. orjson and msgspec build their dicts with it too.
    fn _PyDict_NewPresized(minused: ffi::Py_ssize_t) -> *mut ffi::PyObject;
}

/// A dict of `pairs` in order (a repeated key keeps its first position and takes the last
/// value, as `json.loads` does), allocated for its final size at once.
#[cfg(all(not(PyPy), not(GraalPy), not(Py_LIMITED_API)))]
pub fn dict_with_pairs<'py>(
    py: Python<'py>,
    pairs: impl ExactSizeIterator<Item = (Bound<'py, pyo3::types::PyString>, Bound<'py, PyAny>)>,
) -> PyResult<Bound<'py, PyDict>> {
    let size = ffi::Py_ssize_t::try_from(pairs.len()).unwrap_or(0);
    // SAFETY: `_PyDict_NewPresized` returns a new empty dict (or null with an exception set,
    // which `from_owned_ptr_or_err` turns into `Err`); CPython 3.8-3.13 export it.
    let dict = unsafe { Bound::from_owned_ptr_or_err(py, _PyDict_NewPresized(size))? };
    for (key, value) in pairs {
        // SAFETY: all three are live objects the caller holds references to, the dict is
        // one (`_PyDict_NewPresized` makes nothing else), and `PyDict_SetItem` takes its own
        // references to the key and value. It returns -1 with an exception set on failure.
        if unsafe { ffi::PyDict_SetItem(dict.as_ptr(), key.as_ptr(), value.as_ptr()) } < 0 {
            return Err(PyErr::fetch(py));
        }
    }
    // SAFETY: it is a dict, as above.
    Ok(unsafe { dict.cast_into_unchecked::<PyDict>() })
}

#[cfg(not(all(not(PyPy), not(GraalPy), not(Py_LIMITED_API))))]
pub fn dict_with_pairs<'py>(
    py: Python<'py>,
    pairs: impl ExactSizeIterator<Item = (Bound<'py, pyo3::types::PyString>, Bound<'py, PyAny>)>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in pairs {
        dict.set_item(key, value)?;
    }
    Ok(dict)
}

/// The index of the first `"`, `\\` or control character in `bytes`, looking sixteen bytes
/// at a time; or `None` and the last fewer than sixteen bytes, which it did not look at.
#[cfg(target_arch = "x86_64")]
pub fn first_string_stop_sse2(bytes: &[u8]) -> (Option<usize>, &[u8]) {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let mut chunks = bytes.chunks_exact(16);
    let mut offset = 0;
    // SAFETY: SSE2 is part of x86-64 itself (every x86_64 target enables it), so these
    // intrinsics are available; each load reads one 16-byte chunk of `bytes`, unaligned
    // loads being what `_mm_loadu_si128` is for.
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let last_control = _mm_set1_epi8(0x1f);
        for chunk in &mut chunks {
            let block = _mm_loadu_si128(chunk.as_ptr().cast());
            // A byte is a control character when `min(byte, 0x1f) == byte` (unsigned).
            let control = _mm_cmpeq_epi8(_mm_min_epu8(block, last_control), block);
            let special = _mm_or_si128(
                _mm_cmpeq_epi8(block, quote),
                _mm_cmpeq_epi8(block, backslash),
            );
            let mask = _mm_movemask_epi8(_mm_or_si128(special, control));
            if mask != 0 {
                return (Some(offset + mask.trailing_zeros() as usize), &[]);
            }
            offset += 16;
        }
    }
    (None, chunks.remainder())
}

/// Ask the CPU to bring `bytes` into its caches ahead of their use: the column path's tokens
/// are read from memory once, and their first read otherwise waits on it.
pub fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        // SAFETY: SSE is part of x86-64 itself; a prefetch is a hint that neither faults nor
        // changes memory, and the address is inside `bytes` anyway.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// A `str` of the ASCII text `text`, made as `json.loads` makes it (a compact ASCII string),
/// without the UTF-8 decoder: one allocation and a copy.
pub fn ascii_string<'py>(
    py: Python<'py>,
    text: &str,
) -> PyResult<Bound<'py, pyo3::types::PyString>> {
    if !text.is_ascii() {
        return Ok(pyo3::types::PyString::new(py, text));
    }
    string_of_ascii(py, text.as_bytes())
}

/// [`ascii_string`] for bytes the caller knows are ASCII (a token it just encoded):
/// `ValueError` if they are not.
pub fn string_of_ascii_bytes<'py>(
    py: Python<'py>,
    bytes: &[u8],
) -> PyResult<Bound<'py, pyo3::types::PyString>> {
    if !bytes.is_ascii() {
        return Err(pyo3::exceptions::PyValueError::new_err("not ASCII"));
    }
    string_of_ascii(py, bytes)
}

/// A compact ASCII `str` of `ascii`, which the caller has checked is ASCII.
#[cfg(all(not(PyPy), not(GraalPy), not(Py_LIMITED_API)))]
fn string_of_ascii<'py>(
    py: Python<'py>,
    ascii: &[u8],
) -> PyResult<Bound<'py, pyo3::types::PyString>> {
    let length = ffi::Py_ssize_t::try_from(ascii.len())
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("string too long"))?;
    // SAFETY: `PyUnicode_New(n, 127)` returns a new compact ASCII string with room for `n`
    // one-byte characters (or null with an exception set, handled by `from_owned_ptr_or_err`).
    let string = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyUnicode_New(length, 127))? };
    // SAFETY: the string is new, unshared and compact ASCII, so its data is `length` writable
    // bytes (plus the terminating NUL CPython wrote); `ascii` is `length` ASCII bytes (both
    // callers check), so the result is a valid str. The two buffers cannot overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(
            ascii.as_ptr(),
            ffi::PyUnicode_1BYTE_DATA(string.as_ptr()),
            ascii.len(),
        );
    }
    // SAFETY: `PyUnicode_New` made a `str`.
    Ok(unsafe { string.cast_into_unchecked() })
}

#[cfg(not(all(not(PyPy), not(GraalPy), not(Py_LIMITED_API))))]
fn string_of_ascii<'py>(
    py: Python<'py>,
    ascii: &[u8],
) -> PyResult<Bound<'py, pyo3::types::PyString>> {
    let text = std::str::from_utf8(ascii)
        .map_err(|_| pyo3::exceptions::PyValueError::new_err("not ASCII"))?;
    Ok(pyo3::types::PyString::new(py, text))
}

/// The UTF-8 text of `string`, or `None` if it has lone surrogates. A compact ASCII string
/// (any str built from ASCII: literals, JSON, most claims) is read in place, without
/// `PyUnicode_AsUTF8AndSize`'s call and checks.
#[cfg(all(not(Py_3_14), not(PyPy), not(GraalPy), not(Py_LIMITED_API)))]
pub fn str_text<'a>(string: &'a Bound<'_, pyo3::types::PyString>) -> Option<&'a str> {
    compact_ascii_text(string).or_else(|| string.to_str().ok())
}

/// The text of a compact ASCII `str`, read in place; `None` for any other string. Its
/// length in bytes is its length in code points, with no call to ask for either.
#[cfg(all(not(Py_3_14), not(PyPy), not(GraalPy), not(Py_LIMITED_API)))]
pub fn compact_ascii_text<'a>(string: &'a Bound<'_, pyo3::types::PyString>) -> Option<&'a str> {
    let raw = string.as_ptr();
    // SAFETY: `raw` is a live `str` (the borrow keeps it alive); the macro reads its state
    // bits, which never change after creation.
    if unsafe { ffi::PyUnicode_IS_COMPACT_ASCII(raw) } == 0 {
        return None;
    }
    // SAFETY: a compact ASCII string holds its `length` one-byte characters inline, right
    // after the object header, for as long as it lives; `str` is immutable, and the
    // returned slice borrows `string`, so it cannot outlive the object.
    let bytes = unsafe {
        let length = usize::try_from(ffi::PyUnicode_GET_LENGTH(raw)).unwrap_or(0);
        std::slice::from_raw_parts(ffi::PyUnicode_DATA(raw).cast::<u8>(), length)
    };
    // SAFETY: every byte of a compact ASCII string is below 0x80, so valid UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(bytes) })
}

#[cfg(not(all(not(Py_3_14), not(PyPy), not(GraalPy), not(Py_LIMITED_API))))]
pub fn str_text<'a>(string: &'a Bound<'_, pyo3::types::PyString>) -> Option<&'a str> {
    string.to_str().ok()
}

#[cfg(not(all(not(Py_3_14), not(PyPy), not(GraalPy), not(Py_LIMITED_API))))]
pub fn compact_ascii_text<'a>(_string: &'a Bound<'_, pyo3::types::PyString>) -> Option<&'a str> {
    None
}

/// `bytes` as text when they are all ASCII: one pass that only looks at each byte's high bit,
/// where `std::str::from_utf8` also tracks multi-byte sequences.
pub fn ascii_text(bytes: &[u8]) -> Option<&str> {
    // SAFETY: ASCII bytes are valid UTF-8.
    all_ascii(bytes).then(|| unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// Text known to be all ASCII, so that any byte range of it is itself valid text: slices
/// need no character-boundary checks.
#[derive(Clone, Copy)]
pub struct AsciiText<'a>(&'a str);

impl<'a> AsciiText<'a> {
    /// `bytes` as ASCII text, or `None` if any byte is not ASCII.
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        ascii_text(bytes).map(AsciiText)
    }

    pub fn as_str(self) -> &'a str {
        self.0
    }

    /// The text in `start..end`, or `None` past the end.
    #[inline(always)]
    pub fn slice(self, start: usize, end: usize) -> Option<&'a str> {
        let bytes = self.0.as_bytes().get(start..end)?;
        // SAFETY: every byte of the text is ASCII (checked in `new`), so every byte range
        // of it is valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    }
}

/// Whether every byte is below 0x80, sixteen bytes at a time (the last sixteen loaded once
/// more, overlapping, rather than a byte loop over the rest).
#[cfg(target_arch = "x86_64")]
fn all_ascii(bytes: &[u8]) -> bool {
    use std::arch::x86_64::{_mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128};
    let Some(last) = bytes
        .len()
        .checked_sub(16)
        .and_then(|start| bytes.get(start..))
    else {
        return bytes.is_ascii();
    };
    // SAFETY: SSE2 is part of x86-64 itself; each load reads one 16-byte chunk of `bytes`
    // (`last` is its final 16 bytes), unaligned loads being what `_mm_loadu_si128` is for.
    let high_bits = unsafe {
        let mut seen = _mm_loadu_si128(last.as_ptr().cast());
        for chunk in bytes.chunks_exact(16) {
            seen = _mm_or_si128(seen, _mm_loadu_si128(chunk.as_ptr().cast()));
        }
        _mm_movemask_epi8(seen)
    };
    high_bits == 0
}

#[cfg(not(target_arch = "x86_64"))]
fn all_ascii(bytes: &[u8]) -> bool {
    bytes.is_ascii()
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

    use pyo3::ffi;
    // What PyO3's own `#[pymethods]` fastcall functions expand to: it marks the thread as
    // attached for PyO3 (so a `Py<T>` dropped during the call is released at once, not
    // queued for a later attach) and turns a panic into `PanicException`.
    use pyo3::impl_::trampoline::get_trampoline_function;
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

    /// The keywords in the order they are looked for, most used first: PyJWT's callers pass
    /// `algorithms`, then `audience` and `issuer`.
    const SEARCH: [&str; 10] = [
        "algorithms",
        "audience",
        "issuer",
        "options",
        "leeway",
        "key",
        "jwt",
        "subject",
        "verify",
        "detached_payload",
    ];

    /// Per entry point, each keyword of `SEARCH` (interned) with its parameter position.
    type Keywords = [(Py<PyString>, usize); 10];

    static NAMES: PyOnceLock<[Keywords; 2]> = PyOnceLock::new();

    fn names(py: Python<'_>, which: Which) -> &Keywords {
        let [decode, complete] = NAMES.get_or_init(py, || {
            let keywords = |parameters: [&str; 10]| {
                SEARCH.map(|name| {
                    let position = parameters.iter().position(|p| *p == name);
                    // Every name is a parameter; an impossible position only sends calls
                    // that use it to the slow path.
                    (
                        PyString::intern(py, name).unbind(),
                        position.unwrap_or(usize::MAX),
                    )
                })
            };
            [keywords(DECODE), keywords(DECODE_COMPLETE)]
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
                PyCFunctionFastWithKeywords: get_trampoline_function!(
                    fastcall_cfunction_with_keywords,
                    body::<false>
                ),
            },
            ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
            ml_doc: DECODE_DOC.as_ptr(),
        },
        ffi::PyMethodDef {
            ml_name: c"decode_complete".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunctionFastWithKeywords: get_trampoline_function!(
                    fastcall_cfunction_with_keywords,
                    body::<true>
                ),
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

    /// The body of `decode` (`COMPLETE = false`) or `decode_complete` (`true`), which PyO3's
    /// trampoline calls with the conventions `vectorcall` documents (see `call`), on an
    /// attached thread.
    unsafe fn body<const COMPLETE: bool>(
        py: Python<'_>,
        slf: *mut ffi::PyObject,
        args: *const *mut ffi::PyObject,
        nargs: ffi::Py_ssize_t,
        kwnames: *mut ffi::PyObject,
    ) -> PyResult<*mut ffi::PyObject> {
        let which = if COMPLETE {
            Which::Complete
        } else {
            Which::Decode
        };
        // SAFETY: the trampoline passes on what CPython passed (see `call`).
        unsafe { call(py, which, slf, args, nargs, kwnames) }
    }

    /// # Safety
    /// Called (through PyO3's trampoline) for a `METH_FASTCALL | METH_KEYWORDS` function:
    /// `slf` is the object the function was bound to; `args` holds `nargs` positional values
    /// followed by one value per name in `kwnames` (a tuple of `str`, or null), all borrowed
    /// for the duration of the call.
    unsafe fn call(
        py: Python<'_>,
        which: Which,
        slf: *mut ffi::PyObject,
        args: *const *mut ffi::PyObject,
        nargs: ffi::Py_ssize_t,
        kwnames: *mut ffi::PyObject,
    ) -> PyResult<*mut ffi::PyObject> {
        // SAFETY: the pointers follow the vectorcall convention stated above.
        let arguments = unsafe { Arguments::read(py, which, slf, args, nargs, kwnames) };
        let engine = arguments.engine.cast::<JwtEngine>()?;
        let result = match &arguments.slots {
            Some(slots) => {
                let slots = slots.each_ref().map(|slot| slot.as_deref());
                crate::jwt::call_fast(&engine, which, slots)?
            }
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
                    )?
                }
            }
        };
        Ok(result.into_ptr())
    }

    /// The call's arguments by parameter position, or `None` for the slow path; borrowed
    /// from the caller for the duration of the call.
    struct Arguments<'a, 'py> {
        engine: Borrowed<'a, 'py, PyAny>,
        slots: Option<[Option<Borrowed<'a, 'py, PyAny>>; 10]>,
    }

    impl<'a, 'py> Arguments<'a, 'py> {
        /// # Safety
        /// As for [`call`]; the arguments must outlive `'a`.
        unsafe fn read(
            py: Python<'py>,
            which: Which,
            slf: *mut ffi::PyObject,
            args: *const *mut ffi::PyObject,
            nargs: ffi::Py_ssize_t,
            kwnames: *mut ffi::PyObject,
        ) -> Self {
            // SAFETY: `slf` is the live bound object.
            let engine = unsafe { Borrowed::from_ptr(py, slf) };
            let slots = Self::by_position(py, which, args, nargs, kwnames);
            Arguments { engine, slots }
        }

        /// # Safety
        /// As for [`Arguments::read`].
        unsafe fn by_position(
            py: Python<'py>,
            which: Which,
            args: *const *mut ffi::PyObject,
            nargs: ffi::Py_ssize_t,
            kwnames: *mut ffi::PyObject,
        ) -> Option<[Option<Borrowed<'a, 'py, PyAny>>; 10]> {
            let positional = usize::try_from(nargs).ok().filter(|&n| n <= 10)?;
            let keywords = if kwnames.is_null() {
                None
            } else {
                // SAFETY: a non-null `kwnames` is a live tuple of `str`.
                let names: Borrowed<'a, 'py, PyAny> = unsafe { Borrowed::from_ptr(py, kwnames) };
                Some(names.cast::<PyTuple>().ok()?)
            };
            let value = |index: usize| {
                // SAFETY: `args` holds `nargs + len(kwnames)` live objects; `index` is below
                // that count.
                unsafe { Borrowed::from_ptr(py, *args.add(index)) }
            };
            let mut slots: [Option<Borrowed<'a, 'py, PyAny>>; 10] = Default::default();
            for (index, slot) in slots.iter_mut().enumerate().take(positional) {
                *slot = Some(value(index));
            }
            if let Some(keyword_names) = keywords {
                let known = names(py, which);
                for (offset, name) in keyword_names.iter_borrowed().enumerate() {
                    match slots.get_mut(position(py, known, &name)?) {
                        Some(slot @ None) => *slot = Some(value(positional + offset)),
                        _ => return None,
                    }
                }
            }
            slots.first()?.as_ref()?;
            Some(slots)
        }
    }

    /// The parameter `name` stands for: by identity (keyword names in code are interned),
    /// most used first, else by value.
    fn position(py: Python<'_>, known: &Keywords, name: &Borrowed<'_, '_, PyAny>) -> Option<usize> {
        if let Some((_, index)) = known.iter().find(|(k, _)| k.as_ptr() == name.as_ptr()) {
            return Some(*index);
        }
        let name = name.cast::<PyString>().ok()?;
        let name = name.to_str().ok()?;
        known
            .iter()
            .find(|(k, _)| k.bind(py).to_str().is_ok_and(|k| k == name))
            .map(|(_, index)| *index)
    }
}

/// The bindings of a frozen engine object: Python references read by every call and
/// replaced only when a `PyJWT`'s options or `PyJWS` are reassigned.
///
/// With the GIL, holding a `Python` token already excludes every other thread, so a read is
/// new references to the objects and nothing else: no atomic operation, where an `ArcSwap`
/// load and its guard's release took four locked instructions and a thread-local lookup (3%
/// of an HS256 encode in a sampling profile, invisible to instruction counts). Without the
/// GIL, the `ArcSwap` stays: its reads write only the calling thread's slot, where a lock
/// would make threads decoding at once fight over one cache line.
pub mod guarded {
    use pyo3::prelude::*;

    mod sealed {
        pub trait Sealed {}
    }

    /// Python references whose copy runs no Python code: tuples of `Py` handles. Sealed, so
    /// `Guarded`'s soundness rests on the impls below alone.
    pub trait Refs: sealed::Sealed + Send + Sync + Sized {
        /// The same references bound to the interpreter: released without asking whether
        /// the thread is attached, as dropping a `Py` must.
        type Bound<'py>;
        /// Borrowed views of the references, for one call.
        type View<'a, 'py: 'a>
        where
            Self: 'a;
        /// For `update` under the GIL; the free-threaded `rcu` works on the `Arc` instead.
        #[cfg_attr(Py_GIL_DISABLED, allow(dead_code))]
        fn clone_refs(&self, py: Python<'_>) -> Self;
        #[cfg_attr(Py_GIL_DISABLED, allow(dead_code))]
        fn bind_refs<'py>(&self, py: Python<'py>) -> Self::Bound<'py>;
        #[cfg_attr(Py_GIL_DISABLED, allow(dead_code))]
        fn view_bound<'a, 'py>(bound: &'a Self::Bound<'py>) -> Self::View<'a, 'py>;
        #[cfg_attr(not(Py_GIL_DISABLED), allow(dead_code))]
        fn view_refs<'a, 'py>(&'a self, py: Python<'py>) -> Self::View<'a, 'py>;
    }

    impl<A, B> sealed::Sealed for (Py<A>, Py<B>) {}
    impl<A, B> Refs for (Py<A>, Py<B>) {
        type Bound<'py> = (Bound<'py, A>, Bound<'py, B>);
        type View<'a, 'py: 'a>
            = (&'a Bound<'py, A>, &'a Bound<'py, B>)
        where
            Self: 'a;
        fn clone_refs(&self, py: Python<'_>) -> Self {
            (self.0.clone_ref(py), self.1.clone_ref(py))
        }
        fn bind_refs<'py>(&self, py: Python<'py>) -> Self::Bound<'py> {
            (self.0.bind(py).clone(), self.1.bind(py).clone())
        }
        fn view_bound<'a, 'py>(bound: &'a Self::Bound<'py>) -> Self::View<'a, 'py> {
            (&bound.0, &bound.1)
        }
        fn view_refs<'a, 'py>(&'a self, py: Python<'py>) -> Self::View<'a, 'py> {
            (self.0.bind(py), self.1.bind(py))
        }
    }

    impl<A, B, C> sealed::Sealed for (Py<A>, Py<B>, Py<C>) {}
    impl<A, B, C> Refs for (Py<A>, Py<B>, Py<C>) {
        type Bound<'py> = (Bound<'py, A>, Bound<'py, B>, Bound<'py, C>);
        type View<'a, 'py: 'a>
            = (&'a Bound<'py, A>, &'a Bound<'py, B>, &'a Bound<'py, C>)
        where
            Self: 'a;
        fn clone_refs(&self, py: Python<'_>) -> Self {
            (
                self.0.clone_ref(py),
                self.1.clone_ref(py),
                self.2.clone_ref(py),
            )
        }
        fn bind_refs<'py>(&self, py: Python<'py>) -> Self::Bound<'py> {
            (
                self.0.bind(py).clone(),
                self.1.bind(py).clone(),
                self.2.bind(py).clone(),
            )
        }
        fn view_bound<'a, 'py>(bound: &'a Self::Bound<'py>) -> Self::View<'a, 'py> {
            (&bound.0, &bound.1, &bound.2)
        }
        fn view_refs<'a, 'py>(&'a self, py: Python<'py>) -> Self::View<'a, 'py> {
            (self.0.bind(py), self.1.bind(py), self.2.bind(py))
        }
    }

    /// The references as one call sees them; [`Snapshot::view`] borrows them.
    ///
    /// With the GIL: new references (incrementing a count is a plain add there). Without
    /// it: the `ArcSwap` guard, whose references are borrowed, so threads decoding at once
    /// never write the shared objects' reference counts (atomic there, and one cache line
    /// per object that every thread would fight over).
    pub struct Snapshot<'py, T: Refs> {
        #[cfg(not(Py_GIL_DISABLED))]
        refs: T::Bound<'py>,
        #[cfg(Py_GIL_DISABLED)]
        guard: arc_swap::Guard<std::sync::Arc<T>>,
        #[cfg(Py_GIL_DISABLED)]
        py: Python<'py>,
    }

    impl<'py, T: Refs> Snapshot<'py, T> {
        pub fn view(&self) -> T::View<'_, 'py> {
            #[cfg(not(Py_GIL_DISABLED))]
            return T::view_bound(&self.refs);
            #[cfg(Py_GIL_DISABLED)]
            return self.guard.view_refs(self.py);
        }
    }

    /// References read with `get` and replaced with `update`, both attached to the
    /// interpreter.
    #[cfg(not(Py_GIL_DISABLED))]
    pub struct Guarded<T: Refs> {
        cell: std::cell::UnsafeCell<T>,
    }

    // SAFETY: the cell is only reached through `get` and `update`, which take a `Python`
    // token: on this build the GIL is then held, and it serialises every access from any
    // thread. `T: Send` (Refs) lets the references be dropped on whichever thread replaces them.
    #[cfg(not(Py_GIL_DISABLED))]
    unsafe impl<T: Refs> Sync for Guarded<T> {}

    #[cfg(not(Py_GIL_DISABLED))]
    impl<T: Refs> Guarded<T> {
        pub fn new(value: T) -> Self {
            Guarded {
                cell: std::cell::UnsafeCell::new(value),
            }
        }

        /// The current objects, for one call.
        pub fn get<'py>(&self, py: Python<'py>) -> Snapshot<'py, T> {
            // SAFETY: the GIL is held (`py`), so no `update` runs at the same time, and the
            // shared borrow ends within this statement: `bind_refs` only increments reference
            // counts, which runs no Python code that could re-enter `update` meanwhile.
            let refs = unsafe { &*self.cell.get() }.bind_refs(py);
            Snapshot { refs }
        }

        /// Replace the references with `make(current)`; the old ones are released after.
        pub fn update(&self, py: Python<'_>, make: impl Fn(&T) -> T) {
            // SAFETY: as in `get`; `clone_refs` only increments reference counts.
            let current = unsafe { &*self.cell.get() }.clone_refs(py);
            let new = make(&current);
            // SAFETY: the GIL is held, and no borrow of the cell is alive: `get` returned
            // copies, and `make` ran before this exclusive borrow, which ends with the swap
            // (moving values runs no code).
            let old = unsafe { std::mem::replace(&mut *self.cell.get(), new) };
            drop(old); // may run Python code (a `__del__`), with the cell consistent again
        }
    }

    #[cfg(Py_GIL_DISABLED)]
    pub struct Guarded<T: Refs> {
        swap: arc_swap::ArcSwap<T>,
    }

    #[cfg(Py_GIL_DISABLED)]
    impl<T: Refs> Guarded<T> {
        pub fn new(value: T) -> Self {
            Guarded {
                swap: arc_swap::ArcSwap::from_pointee(value),
            }
        }

        /// The current objects, for one call.
        pub fn get<'py>(&self, py: Python<'py>) -> Snapshot<'py, T> {
            Snapshot {
                guard: self.swap.load(),
                py,
            }
        }

        /// Replace the references with `make(current)`; `rcu` keeps two concurrent updates
        /// from losing either's change.
        pub fn update(&self, _py: Python<'_>, make: impl Fn(&T) -> T) {
            self.swap.rcu(|current| make(current));
        }
    }
}

/// HMAC (RFC 2104) with the keyed inner and outer hash states computed once per key.
///
/// aws-lc-rs's `hmac::sign` sets up an `HMAC_CTX` per call (init, a copy of three hash
/// contexts, cleanup): about a thousand instructions around an HS256 token's seven SHA-256
/// blocks. Here a call copies the two keyed states (a hundred-odd bytes each) and runs
/// aws-lc's own SHA-2 update and final on them, the same functions its HMAC calls.
pub mod hmac_state {
    use super::sha256_lanes::{Lanes, LANES};
    use aws_lc_sys as lc;
    use std::mem::MaybeUninit;
    use std::os::raw::c_void;
    use zeroize::Zeroize;

    /// The hash under the HMAC: SHA-256, SHA-384 or SHA-512.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Hash {
        Sha256,
        Sha384,
        Sha512,
    }

    /// A MAC, as long as its hash's digest.
    pub struct Tag {
        bytes: [u8; 64],
        len: usize,
    }

    impl Tag {
        pub const fn empty() -> Self {
            Tag {
                bytes: [0; 64],
                len: 0,
            }
        }
    }

    impl AsRef<[u8]> for Tag {
        fn as_ref(&self) -> &[u8] {
            self.bytes.get(..self.len).unwrap_or_default()
        }
    }

    /// The hash states after absorbing `key ^ ipad` and `key ^ opad`; wiped when dropped.
    /// (Unboxed on purpose: a key is one allocation, inside the cache's `Arc`.)
    #[allow(clippy::large_enum_variant)]
    pub enum HmacStates {
        Sha256 {
            inner: lc::SHA256_CTX,
            outer: lc::SHA256_CTX,
        },
        Sha512 {
            truncated: bool,
            inner: lc::SHA512_CTX,
            outer: lc::SHA512_CTX,
        },
    }

    fn sha256_init() -> lc::SHA256_CTX {
        let mut ctx = MaybeUninit::<lc::SHA256_CTX>::uninit();
        // SAFETY: `SHA256_Init` writes every field of the context it is given (it cannot
        // fail: it always returns 1), so the value is initialised when it returns.
        unsafe {
            lc::SHA256_Init(ctx.as_mut_ptr());
            ctx.assume_init()
        }
    }

    fn sha512_init(truncated: bool) -> lc::SHA512_CTX {
        let mut ctx = MaybeUninit::<lc::SHA512_CTX>::uninit();
        // SAFETY: as for `SHA256_Init`: `SHA384_Init`/`SHA512_Init` set every field.
        unsafe {
            if truncated {
                lc::SHA384_Init(ctx.as_mut_ptr());
            } else {
                lc::SHA512_Init(ctx.as_mut_ptr());
            }
            ctx.assume_init()
        }
    }

    fn sha256_update(ctx: &mut lc::SHA256_CTX, data: &[u8]) {
        // SAFETY: `ctx` is an initialised context we hold exclusively; `data` is valid for
        // `data.len()` bytes. `SHA256_Update` reads the bytes and updates the context only.
        unsafe { lc::SHA256_Update(ctx, data.as_ptr().cast::<c_void>(), data.len()) };
    }

    fn sha512_update(ctx: &mut lc::SHA512_CTX, truncated: bool, data: &[u8]) {
        let (ptr, len) = (data.as_ptr().cast::<c_void>(), data.len());
        // SAFETY: as for `sha256_update`; SHA-384 and SHA-512 share the context type.
        unsafe {
            if truncated {
                lc::SHA384_Update(ctx, ptr, len);
            } else {
                lc::SHA512_Update(ctx, ptr, len);
            }
        }
    }

    /// Finish `ctx` into `out` (at least the digest length), then wipe the context.
    fn sha256_final(ctx: &mut lc::SHA256_CTX, out: &mut [u8; 64]) {
        // SAFETY: `out` has 64 writable bytes, more than SHA-256's 32; `ctx` is ours.
        unsafe { lc::SHA256_Final(out.as_mut_ptr(), ctx) };
        wipe256(ctx);
    }

    fn sha512_final(ctx: &mut lc::SHA512_CTX, truncated: bool, out: &mut [u8; 64]) {
        // SAFETY: `out` has 64 writable bytes, SHA-512's digest length (SHA-384 writes 48).
        unsafe {
            if truncated {
                lc::SHA384_Final(out.as_mut_ptr(), ctx);
            } else {
                lc::SHA512_Final(out.as_mut_ptr(), ctx);
            }
        }
        wipe512(ctx);
    }

    /// Overwrite `place` with `zero` in one volatile store the compiler may not drop:
    /// `zeroize`'s element-by-element writes cost a fifth of an HS256 verification's
    /// non-hashing work.
    fn wipe<T: Copy>(place: &mut T, zero: T) {
        // SAFETY: `place` is a valid, aligned and exclusive reference, and `T: Copy` has no
        // drop glue the overwrite could skip.
        unsafe { std::ptr::write_volatile(place, zero) };
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
    }

    fn wipe256(ctx: &mut lc::SHA256_CTX) {
        wipe(&mut ctx.h, [0; 8]);
        wipe(&mut ctx.data, [0; 64]);
    }

    fn wipe512(ctx: &mut lc::SHA512_CTX) {
        wipe(&mut ctx.h, [0; 8]);
        wipe(&mut ctx.p, [0; 128]);
    }

    /// `key` padded to the block with zeros (hashed first if longer), XORed with `pad`.
    fn padded<const BLOCK: usize>(key: &[u8], pad: u8, hash: Hash) -> [u8; BLOCK] {
        let mut digest = [0u8; 64];
        let key = if key.len() > BLOCK {
            let len = digest_into(hash, key, &mut digest);
            digest.get(..len).unwrap_or_default()
        } else {
            key
        };
        let mut block = [pad; BLOCK];
        for (byte, k) in block.iter_mut().zip(key) {
            *byte ^= k;
        }
        digest.zeroize();
        block
    }

    /// The plain hash of `data` into `out`; returns the digest length.
    fn digest_into(hash: Hash, data: &[u8], out: &mut [u8; 64]) -> usize {
        match hash {
            Hash::Sha256 => {
                let mut ctx = sha256_init();
                sha256_update(&mut ctx, data);
                sha256_final(&mut ctx, out);
                32
            }
            Hash::Sha384 | Hash::Sha512 => {
                let truncated = hash == Hash::Sha384;
                let mut ctx = sha512_init(truncated);
                sha512_update(&mut ctx, truncated, data);
                sha512_final(&mut ctx, truncated, out);
                if truncated {
                    48
                } else {
                    64
                }
            }
        }
    }

    impl HmacStates {
        pub fn new(hash: Hash, key: &[u8]) -> Self {
            // aws-lc picks its SHA-2 code (SHA-NI, AVX, ...) from the CPU features its
            // initialisation reads; nothing else may have initialised it yet.
            aws_lc_rs::init();
            match hash {
                Hash::Sha256 => {
                    let (mut ipad, mut opad) =
                        (padded::<64>(key, 0x36, hash), padded::<64>(key, 0x5c, hash));
                    let (mut inner, mut outer) = (sha256_init(), sha256_init());
                    sha256_update(&mut inner, &ipad);
                    sha256_update(&mut outer, &opad);
                    ipad.zeroize();
                    opad.zeroize();
                    HmacStates::Sha256 { inner, outer }
                }
                Hash::Sha384 | Hash::Sha512 => {
                    let truncated = hash == Hash::Sha384;
                    let (mut ipad, mut opad) = (
                        padded::<128>(key, 0x36, hash),
                        padded::<128>(key, 0x5c, hash),
                    );
                    let (mut inner, mut outer) = (sha512_init(truncated), sha512_init(truncated));
                    sha512_update(&mut inner, truncated, &ipad);
                    sha512_update(&mut outer, truncated, &opad);
                    ipad.zeroize();
                    opad.zeroize();
                    HmacStates::Sha512 {
                        truncated,
                        inner,
                        outer,
                    }
                }
            }
        }

        /// HMAC of `message`.
        pub fn sign(&self, message: &[u8]) -> Tag {
            let mut tag = Tag::empty();
            self.sign_into(message, &mut tag);
            tag
        }

        /// HMAC of `message` into `tag`, where the caller keeps it: a returned `Tag` is
        /// copied with wide loads right after `SHA*_Final`'s narrow stores, a stall per load.
        pub fn sign_into(&self, message: &[u8], tag: &mut Tag) {
            match self {
                HmacStates::Sha256 { inner, outer } => {
                    let mut ctx = *inner;
                    sha256_update(&mut ctx, message);
                    sha256_final(&mut ctx, &mut tag.bytes);
                    let mut ctx = *outer;
                    sha256_update(&mut ctx, tag.bytes.get(..32).unwrap_or_default());
                    sha256_final(&mut ctx, &mut tag.bytes);
                    tag.len = 32;
                }
                HmacStates::Sha512 {
                    truncated,
                    inner,
                    outer,
                } => {
                    let len = if *truncated { 48 } else { 64 };
                    let mut ctx = *inner;
                    sha512_update(&mut ctx, *truncated, message);
                    sha512_final(&mut ctx, *truncated, &mut tag.bytes);
                    let mut ctx = *outer;
                    sha512_update(
                        &mut ctx,
                        *truncated,
                        tag.bytes.get(..len).unwrap_or_default(),
                    );
                    sha512_final(&mut ctx, *truncated, &mut tag.bytes);
                    tag.len = len;
                }
            }
        }

        /// Whether `signature` is the HMAC of `message`, compared in constant time (the
        /// length, which is public, first).
        pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
            let mut tag = Tag::empty();
            self.sign_into(message, &mut tag);
            let valid = same_mac(tag.as_ref(), signature);
            wipe(&mut tag.bytes, [0; 64]);
            valid
        }

        /// HMAC-SHA-256 of each of [`LANES`] messages, their blocks compressed in step (see
        /// [`super::sha256_lanes`]); `None` for a SHA-384 or SHA-512 key.
        pub fn sign_lanes(&self, lanes: Lanes, messages: [&[u8]; LANES]) -> Option<LaneTags> {
            let HmacStates::Sha256 { inner, outer } = self else {
                return None;
            };
            // The inner hash goes on from the keyed state, one block (the padded key) in.
            let mut tails = [[0u8; 128]; LANES];
            let mut block_counts = [0usize; LANES];
            for ((message, tail), count) in messages.iter().zip(&mut tails).zip(&mut block_counts) {
                *count = padded_tail(message, 64, tail);
            }
            let steps = block_counts.iter().copied().max().unwrap_or(0);
            let mut states = [inner.h; LANES];
            let mut digests = [[0u32; 8]; LANES];
            for step in 0..steps {
                // A lane whose message has fewer blocks repeats its last one; its digest
                // was taken when that block was first compressed.
                let mut blocks = [&ZERO_BLOCK; LANES];
                for (((block, message), tail), &count) in blocks
                    .iter_mut()
                    .zip(&messages)
                    .zip(&tails)
                    .zip(&block_counts)
                {
                    *block = message_block(message, tail, step.min(count.saturating_sub(1)))?;
                }
                lanes.compress(&mut states, blocks);
                for ((digest, state), &count) in digests.iter_mut().zip(&states).zip(&block_counts)
                {
                    if step + 1 == count {
                        *digest = *state;
                    }
                }
            }
            // The outer hash: the inner digest, padded, after the outer keyed state.
            let mut outer_blocks = [[0u8; 64]; LANES];
            for (block, digest) in outer_blocks.iter_mut().zip(&digests) {
                let mut tail = [0u8; 128];
                let mut bytes = [0u8; 32];
                big_endian(digest, &mut bytes);
                padded_tail(&bytes, 64, &mut tail);
                if let Some(first) = tail.first_chunk::<64>() {
                    *block = *first;
                }
                wipe(&mut tail, [0; 128]);
                wipe(&mut bytes, [0; 32]);
            }
            let mut tags = LaneTags {
                tags: [[0u8; 32]; LANES],
            };
            let mut states = [outer.h; LANES];
            lanes.compress(&mut states, outer_blocks.each_ref());
            for (tag, state) in tags.tags.iter_mut().zip(&states) {
                big_endian(state, tag);
            }
            wipe(&mut states, [[0; 8]; LANES]);
            wipe(&mut digests, [[0; 8]; LANES]);
            wipe(&mut outer_blocks, [[0; 64]; LANES]);
            Some(tags)
        }
    }

    /// The MACs of [`HmacStates::sign_lanes`], one per lane; wiped when dropped (each is the
    /// valid signature of its token, forged or not).
    pub struct LaneTags {
        tags: [[u8; 32]; LANES],
    }

    impl LaneTags {
        /// Whether `signature` is lane `lane`'s MAC, compared in constant time.
        pub fn matches(&self, lane: usize, signature: &[u8]) -> bool {
            self.tags
                .get(lane)
                .is_some_and(|tag| same_mac(tag, signature))
        }
    }

    impl Drop for LaneTags {
        fn drop(&mut self) {
            wipe(&mut self.tags, [[0; 32]; LANES]);
        }
    }

    /// Whether `signature` equals `expected`, in time independent of their bytes (the
    /// length, which is public, is compared first).
    fn same_mac(expected: &[u8], signature: &[u8]) -> bool {
        expected.len() == signature.len()
            // SAFETY: both pointers are valid for `expected.len()` bytes (the lengths are
            // equal); `CRYPTO_memcmp` only reads them.
            && unsafe {
                lc::CRYPTO_memcmp(
                    expected.as_ptr().cast::<c_void>(),
                    signature.as_ptr().cast::<c_void>(),
                    expected.len(),
                )
            } == 0
    }

    static ZERO_BLOCK: [u8; 64] = [0; 64];

    /// SHA-256's padding of `message`, hashed after `prefix` bytes: its bytes after the
    /// last whole block, `0x80`, zeros and the bit length, in one or two blocks of `tail`
    /// (which must be zeros). Returns the message's block count, padding included.
    fn padded_tail(message: &[u8], prefix: usize, tail: &mut [u8; 128]) -> usize {
        let whole = message.len() / 64;
        let rest = message.get(whole * 64..).unwrap_or_default();
        let tail_blocks = if rest.len() + 9 <= 64 { 1 } else { 2 };
        if let Some(start) = tail.get_mut(..rest.len()) {
            start.copy_from_slice(rest);
        }
        if let Some(marker) = tail.get_mut(rest.len()) {
            *marker = 0x80;
        }
        let bits = ((prefix + message.len()) as u64).wrapping_mul(8);
        if let Some(length) = tail.get_mut(tail_blocks * 64 - 8..tail_blocks * 64) {
            length.copy_from_slice(&bits.to_be_bytes());
        }
        whole + tail_blocks
    }

    /// Block `index` of `message` padded with `tail` (see [`padded_tail`]).
    fn message_block<'a>(
        message: &'a [u8],
        tail: &'a [u8; 128],
        index: usize,
    ) -> Option<&'a [u8; 64]> {
        let whole = message.len() / 64;
        match index.checked_sub(whole) {
            None => message.get(index * 64..)?.first_chunk::<64>(),
            Some(in_tail) => tail.get(in_tail * 64..)?.first_chunk::<64>(),
        }
    }

    /// SHA-256 working words as the digest's big-endian bytes.
    fn big_endian(words: &[u32; 8], bytes: &mut [u8; 32]) {
        for (chunk, word) in bytes.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }

    impl Drop for HmacStates {
        fn drop(&mut self) {
            match self {
                HmacStates::Sha256 { inner, outer } => {
                    wipe256(inner);
                    wipe256(outer);
                }
                HmacStates::Sha512 { inner, outer, .. } => {
                    wipe512(inner);
                    wipe512(outer);
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use aws_lc_rs::hmac;

        /// Against aws-lc-rs's HMAC, for keys around each block size and messages of
        /// every length up to three blocks.
        #[test]
        fn matches_aws_lc_hmac() {
            for (hash, algorithm, block) in [
                (Hash::Sha256, hmac::HMAC_SHA256, 64),
                (Hash::Sha384, hmac::HMAC_SHA384, 128),
                (Hash::Sha512, hmac::HMAC_SHA512, 128),
            ] {
                for key_len in [0, 1, 31, block - 1, block, block + 1, 3 * block] {
                    let key: Vec<u8> = (0..key_len).map(|i| (i * 7 + 3) as u8).collect();
                    let states = HmacStates::new(hash, &key);
                    let reference = hmac::Key::new(algorithm, &key);
                    for message_len in 0..=(3 * block) {
                        let message: Vec<u8> = (0..message_len).map(|i| (i * 13) as u8).collect();
                        let expected = hmac::sign(&reference, &message);
                        assert_eq!(states.sign(&message).as_ref(), expected.as_ref());
                        assert!(states.verify(&message, expected.as_ref()));
                        let mut forged = expected.as_ref().to_vec();
                        forged.iter_mut().for_each(|byte| *byte ^= 1);
                        assert!(!states.verify(&message, &forged));
                        assert!(!states
                            .verify(&message, expected.as_ref().get(1..).unwrap_or_default()));
                    }
                }
            }
        }

        /// Four messages at once, of lengths that end on and around every block boundary
        /// in every lane, against one at a time.
        #[test]
        fn lanes_match_one_message_at_a_time() {
            let Some(lanes) = Lanes::detect() else {
                return; // no SHA extensions: `sign_lanes` is never called here
            };
            for key_len in [0, 1, 32, 64, 65, 200] {
                let key: Vec<u8> = (0..key_len).map(|i| (i * 5 + 1) as u8).collect();
                let states = HmacStates::new(Hash::Sha256, &key);
                for first in 0..=260_usize {
                    let lengths = [
                        first,
                        (first * 7 + 3) % 300,
                        (first * 13 + 50) % 400,
                        260 - first,
                    ];
                    let messages = lengths
                        .map(|len| -> Vec<u8> { (0..len).map(|i| (i * 31 + len) as u8).collect() });
                    let tags = states
                        .sign_lanes(lanes, messages.each_ref().map(Vec::as_slice))
                        .unwrap_or_else(|| unreachable!("a SHA-256 key signs in lanes"));
                    for (lane, message) in messages.iter().enumerate() {
                        let expected = states.sign(message);
                        assert!(
                            tags.matches(lane, expected.as_ref()),
                            "lane {lane}, {lengths:?}"
                        );
                        let mut forged = expected.as_ref().to_vec();
                        forged.iter_mut().for_each(|byte| *byte ^= 0x40);
                        assert!(!tags.matches(lane, &forged));
                        assert!(!tags.matches(lane, expected.as_ref().get(1..).unwrap_or_default()));
                    }
                    assert!(!tags.matches(LANES, &[0; 32]));
                }
            }
            let sha384 = HmacStates::new(Hash::Sha384, b"key");
            assert!(sha384.sign_lanes(lanes, [&[][..]; LANES]).is_none());
        }
    }
}

/// SHA-256 compression of several messages' blocks in step, with the x86 SHA extensions.
///
/// One message's 64 rounds form a single chain of dependent `sha256rnds2` instructions, so a
/// core waits out each one's latency; the rounds of other messages fill those waits. Four
/// lanes compress a block each in about 60% of the time aws-lc takes for one block
/// (`benches/sha256_lanes`), which is what the column path's HMAC gains from verifying
/// tokens four at a time (`hmac_state::HmacStates::sign_lanes`). Checked block for block
/// against aws-lc in the tests below and through HMAC in `hmac_state`'s.
pub mod sha256_lanes {
    /// Messages compressed in step.
    pub const LANES: usize = 4;

    /// The eight working words of SHA-256, `a` first, as aws-lc's `SHA256_CTX::h` holds them.
    pub type State = [u32; 8];

    /// Proof that the CPU has every extension the lanes are compiled for: only
    /// [`Lanes::detect`] makes one.
    #[derive(Clone, Copy, Debug)]
    pub struct Lanes(());

    impl Lanes {
        /// `Some` where the CPU has the SHA extensions, SSSE3 and SSE4.1.
        pub fn detect() -> Option<Lanes> {
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("sha")
                && std::is_x86_feature_detected!("ssse3")
                && std::is_x86_feature_detected!("sse4.1")
            {
                return Some(Lanes(()));
            }
            None
        }

        /// Compress one block into each state.
        pub fn compress(self, states: &mut [State; LANES], blocks: [&[u8; 64]; LANES]) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Lanes` exists only where `detect` found every extension
            // `compress_lanes` is compiled with.
            unsafe {
                x86::compress_lanes(states, blocks);
            }
            #[cfg(not(target_arch = "x86_64"))]
            let _ = (states, blocks);
        }
    }

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use super::{State, LANES};
        use std::arch::x86_64::{
            __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_blend_epi16, _mm_loadu_si128,
            _mm_set_epi64x, _mm_sha256msg1_epu32, _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32,
            _mm_shuffle_epi32, _mm_shuffle_epi8, _mm_storeu_si128,
        };

        /// The round constants, four to a group of rounds.
        const K: [[u32; 4]; 16] = [
            [0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5],
            [0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5],
            [0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3],
            [0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174],
            [0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc],
            [0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da],
            [0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7],
            [0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967],
            [0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13],
            [0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85],
            [0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3],
            [0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070],
            [0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5],
            [0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3],
            [0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208],
            [0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2],
        ];

        /// One lane's working state in the layout `sha256rnds2` takes, and the next four
        /// message words.
        #[derive(Clone, Copy)]
        struct Lane {
            abef: __m128i,
            cdgh: __m128i,
            words: [__m128i; 4],
        }

        /// # Safety
        /// The CPU must have the SHA extensions, SSSE3 and SSE4.1.
        #[target_feature(enable = "sha,ssse3,sse4.1")]
        pub(super) unsafe fn compress_lanes(
            states: &mut [State; LANES],
            blocks: [&[u8; 64]; LANES],
        ) {
            // Big-endian message words from the block's bytes.
            let byte_swap = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
            let zero = _mm_set_epi64x(0, 0);
            let mut lanes = [Lane {
                abef: zero,
                cdgh: zero,
                words: [zero; 4],
            }; LANES];
            for ((lane, block), state) in lanes.iter_mut().zip(blocks).zip(states.iter()) {
                // Four 16-byte reads of the 64-byte block, two of the 32-byte state.
                let block = block.as_ptr().cast::<__m128i>();
                for (offset, word) in lane.words.iter_mut().enumerate() {
                    *word = _mm_shuffle_epi8(_mm_loadu_si128(block.add(offset)), byte_swap);
                }
                let state = state.as_ptr().cast::<__m128i>();
                let (dcba, efgh) = (_mm_loadu_si128(state), _mm_loadu_si128(state.add(1)));
                let cdab = _mm_shuffle_epi32::<0xb1>(dcba);
                let hgfe = _mm_shuffle_epi32::<0x1b>(efgh);
                lane.abef = _mm_alignr_epi8::<8>(cdab, hgfe);
                lane.cdgh = _mm_blend_epi16::<0xf0>(hgfe, cdab);
            }
            let start = lanes;
            for (group, constants) in K.iter().enumerate() {
                // A 16-byte read of the group's four constants.
                let constants = _mm_loadu_si128(constants.as_ptr().cast::<__m128i>());
                for lane in lanes.iter_mut() {
                    let [w0, w1, w2, w3] = lane.words;
                    let sums = _mm_add_epi32(w0, constants);
                    lane.cdgh = _mm_sha256rnds2_epu32(lane.cdgh, lane.abef, sums);
                    let high = _mm_shuffle_epi32::<0x0e>(sums);
                    lane.abef = _mm_sha256rnds2_epu32(lane.abef, lane.cdgh, high);
                    // The schedule's next four words; the last four groups need none.
                    let next = if group < 12 {
                        let partial = _mm_add_epi32(
                            _mm_sha256msg1_epu32(w0, w1),
                            _mm_alignr_epi8::<4>(w3, w2),
                        );
                        _mm_sha256msg2_epu32(partial, w3)
                    } else {
                        w0
                    };
                    lane.words = [w1, w2, w3, next];
                }
            }
            for ((lane, start), state) in lanes.iter().zip(&start).zip(states.iter_mut()) {
                let abef = _mm_add_epi32(lane.abef, start.abef);
                let cdgh = _mm_add_epi32(lane.cdgh, start.cdgh);
                let feba = _mm_shuffle_epi32::<0x1b>(abef);
                let dchg = _mm_shuffle_epi32::<0xb1>(cdgh);
                // Two 16-byte writes of the 32-byte state.
                let state = state.as_mut_ptr().cast::<__m128i>();
                _mm_storeu_si128(state, _mm_blend_epi16::<0xf0>(feba, dchg));
                _mm_storeu_si128(state.add(1), _mm_alignr_epi8::<8>(dchg, feba));
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use aws_lc_sys as lc;

        /// aws-lc's compression of one block, the reference.
        fn reference(state: &State, block: &[u8; 64]) -> State {
            let mut state = *state;
            // SAFETY: `state` is 8 words and `block` one 64-byte block, as the function reads.
            unsafe { lc::SHA256_TransformBlocks(state.as_mut_ptr(), block.as_ptr(), 1) };
            state
        }

        #[test]
        fn lanes_match_aws_lc_block_for_block() {
            let Some(lanes) = Lanes::detect() else {
                return; // no SHA extensions: the lanes are never used here
            };
            let mut seed = 0x2545_f491_4f6c_dd1d_u64;
            let mut random = move || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            };
            for _ in 0..2_000 {
                let states: [State; LANES] =
                    std::array::from_fn(|_| std::array::from_fn(|_| random() as u32));
                let blocks: [[u8; 64]; LANES] =
                    std::array::from_fn(|_| std::array::from_fn(|_| random() as u8));
                let expected: Vec<State> = states
                    .iter()
                    .zip(&blocks)
                    .map(|(s, b)| reference(s, b))
                    .collect();
                let mut compressed = states;
                lanes.compress(&mut compressed, blocks.each_ref());
                assert_eq!(compressed.to_vec(), expected);
            }
        }
    }
}

/// A Python thread state a worker thread keeps for a whole batch (free-threaded builds, where
/// `decode_batch`'s workers attach to build result dicts).
///
/// `Python::attach` on a thread CPython does not know makes a thread state and destroys it
/// again on release: per chunk of a batch, that is a new mimalloc heap, abandoned and
/// reclaimed, and every object the worker made merged by hand, which cost as much CPU as
/// the decoding itself. [`keep`](worker_state::keep) holds one `PyGILState_Ensure` on the
/// worker, so each later attach re-attaches the same state; the thread stays detached
/// between attaches, so it never holds up a stop-the-world collection.
/// [`release`](worker_state::release) ends it when the batch is done: a worker's state must
/// not outlive the batch, because objects it made and another thread frees are queued for
/// it to merge, and an idle worker runs no interpreter loop to merge them.
#[cfg(Py_GIL_DISABLED)]
pub mod worker_state {
    use std::cell::Cell;

    use pyo3::ffi;

    thread_local! {
        /// Whether this thread holds a state made by [`keep`].
        static KEPT: Cell<bool> = const { Cell::new(false) };
    }

    /// Make this worker's thread state, unless it has one (kept, or a Python thread's).
    pub fn keep() {
        if KEPT.with(Cell::get) {
            return;
        }
        // SAFETY: called on a worker thread while a batch (an interpreter call) runs, so the
        // interpreter is initialised and not finalising. A thread CPython already knows is
        // left alone. Otherwise `PyGILState_Ensure` makes and attaches a state for this
        // thread with a count of one, and `PyEval_SaveThread` detaches it at once (CPython
        // keeps it bound to the thread, so the returned pointer is not needed).
        let made = unsafe {
            if ffi::PyGILState_GetThisThreadState().is_null() {
                ffi::PyGILState_Ensure();
                ffi::PyEval_SaveThread();
                true
            } else {
                false
            }
        };
        KEPT.with(|kept| kept.set(made));
    }

    /// Destroy the state [`keep`] made on this thread, if any.
    pub fn release() {
        if !KEPT.with(|kept| kept.replace(false)) {
            return;
        }
        // SAFETY: `keep` made this thread's state and left it detached with a count of one;
        // no attach is running on this thread (the batch's jobs are finished). Re-attaching
        // it and releasing the count deletes it, as `PyGILState_Release` requires of an
        // attached state; the interpreter is still running the batch's call.
        unsafe {
            ffi::PyEval_RestoreThread(ffi::PyGILState_GetThisThreadState());
            ffi::PyGILState_Release(ffi::PyGILState_STATE::PyGILState_UNLOCKED);
        }
    }
}

/// Arrow data taken from the capsules of the Arrow PyCapsule interface
/// (`__arrow_c_array__`, `__arrow_c_stream__`), as the C Data Interface moves it.
///
/// Imported arrays are validated in full (offsets in bounds, UTF-8 where the type says
/// text) before any value is read: a producer's buffers are not trusted.
pub mod arrow_capsule {
    use std::ffi::CStr;

    use arrow_array::ffi::{from_ffi_and_data_type, FFI_ArrowArray, FFI_ArrowSchema};
    use arrow_array::ffi_stream::FFI_ArrowArrayStream;
    use arrow_array::{make_array, ArrayRef};
    use arrow_schema::{ArrowError, DataType, Field};
    use pyo3::exceptions::PyValueError;
    use pyo3::prelude::*;
    use pyo3::types::PyCapsule;

    fn arrow_error(error: ArrowError) -> PyErr {
        PyValueError::new_err(format!("invalid Arrow data: {error}"))
    }

    /// The field a schema capsule describes (borrowed: the producer keeps ownership).
    pub fn import_field(schema: &Bound<'_, PyCapsule>) -> PyResult<Field> {
        let pointer = schema.pointer_checked(Some(c"arrow_schema"))?;
        // SAFETY: a capsule named "arrow_schema" holds an `ArrowSchema` struct (the Arrow
        // PyCapsule interface), which `FFI_ArrowSchema` lays out with `#[repr(C)]`; it lives
        // as long as the capsule, which `schema` keeps alive for this borrow, and
        // `Field::try_from` only reads it.
        let schema = unsafe { pointer.cast::<FFI_ArrowSchema>().as_ref() };
        Field::try_from(schema).map_err(arrow_error)
    }

    /// The array an `__arrow_c_array__` capsule pair holds, moved out of its capsule: its
    /// field as the producer describes it, and the array with strings read as binary.
    pub fn import_array(
        schema: &Bound<'_, PyCapsule>,
        array: &Bound<'_, PyCapsule>,
    ) -> PyResult<(Field, ArrayRef)> {
        let field = import_field(schema)?;
        let pointer = array.pointer_checked(Some(c"arrow_array"))?;
        // SAFETY: a capsule named "arrow_array" holds an `ArrowArray` struct, laid out as
        // `FFI_ArrowArray`. `from_raw` moves it out and leaves a released struct behind,
        // which is how the C Data Interface hands an array over: the capsule's destructor
        // then sees `release == NULL` and frees nothing twice.
        let raw = unsafe { FFI_ArrowArray::from_raw(pointer.cast::<FFI_ArrowArray>().as_ptr()) };
        let data = import_data(raw, &field)?;
        Ok((field, make_array(data)))
    }

    fn import_data(raw: FFI_ArrowArray, field: &Field) -> PyResult<arrow_data::ArrayData> {
        if raw.is_released() {
            return Err(PyValueError::new_err(
                "invalid Arrow data: the array was already consumed",
            ));
        }
        // SAFETY: `raw` is an owned, unreleased `ArrowArray` whose producer described it
        // with `field`'s type, whose buffers `bytes_type` keeps (a string type's binary
        // twin has the same layout); the import reads its buffers only through the lengths
        // and offsets the struct declares, and `validate_full` below checks those against
        // the buffers before any value is read.
        let data = unsafe { from_ffi_and_data_type(raw, bytes_type(field.data_type())) }
            .map_err(arrow_error)?;
        data.validate_full().map_err(arrow_error)?;
        Ok(data)
    }

    /// `data_type` with every string type, at the top or in a struct, read as its binary
    /// twin. Tokens are judged as bytes, so the strings are not checked for UTF-8 on import
    /// (a pass over every byte of every string column); a token that is not UTF-8 is
    /// invalid, as `decode` finds.
    fn bytes_type(data_type: &DataType) -> DataType {
        match data_type {
            DataType::Utf8 => DataType::Binary,
            DataType::LargeUtf8 => DataType::LargeBinary,
            DataType::Utf8View => DataType::BinaryView,
            DataType::Struct(fields) => DataType::Struct(
                fields
                    .iter()
                    .map(|field| {
                        field
                            .as_ref()
                            .clone()
                            .with_data_type(bytes_type(field.data_type()))
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// An Arrow C stream of arrays of one field's type.
    pub struct ArrayStream {
        raw: FFI_ArrowArrayStream,
        field: Field,
    }

    /// The stream an `__arrow_c_stream__` capsule holds, moved out of its capsule.
    pub fn import_stream(capsule: &Bound<'_, PyCapsule>) -> PyResult<ArrayStream> {
        let pointer = capsule.pointer_checked(Some(c"arrow_array_stream"))?;
        // SAFETY: a capsule named "arrow_array_stream" holds an `ArrowArrayStream` struct,
        // laid out as `FFI_ArrowArrayStream`; `from_raw` moves it out and leaves a released
        // struct, so the capsule's destructor releases nothing.
        let raw = unsafe {
            FFI_ArrowArrayStream::from_raw(pointer.cast::<FFI_ArrowArrayStream>().as_ptr())
        };
        let mut stream = ArrayStream {
            raw,
            field: Field::new("", arrow_schema::DataType::Null, true),
        };
        let mut schema = FFI_ArrowSchema::empty();
        let status = match stream.raw.get_schema {
            // SAFETY: `get_schema` is the producer's callback for this unreleased stream;
            // it writes an owned schema into `schema`, which is dropped (released) after.
            Some(get_schema) => unsafe { get_schema(&raw mut stream.raw, &raw mut schema) },
            None => {
                return Err(PyValueError::new_err(
                    "invalid Arrow data: a released stream",
                ))
            }
        };
        if status != 0 {
            return Err(stream.error(status));
        }
        stream.field = Field::try_from(&schema).map_err(arrow_error)?;
        Ok(stream)
    }

    impl ArrayStream {
        /// The field every array of the stream has.
        pub fn field(&self) -> &Field {
            &self.field
        }

        /// The next array (strings read as binary), or `None` at the end of the stream.
        pub fn next_array(&mut self) -> PyResult<Option<ArrayRef>> {
            let Some(get_next) = self.raw.get_next else {
                return Ok(None);
            };
            let mut array = FFI_ArrowArray::empty();
            // SAFETY: `get_next` is the producer's callback for this unreleased stream; it
            // moves the next array into `array`, or leaves it released at the end.
            let status = unsafe { get_next(&raw mut self.raw, &raw mut array) };
            if status != 0 {
                return Err(self.error(status));
            }
            if array.is_released() {
                return Ok(None);
            }
            import_data(array, &self.field).map(|data| Some(make_array(data)))
        }

        fn error(&mut self, status: i32) -> PyErr {
            let detail = match self.raw.get_last_error {
                // SAFETY: `get_last_error` returns null or a NUL-terminated string owned by
                // the stream, valid until its next call; it is copied at once.
                Some(get_last_error) => unsafe {
                    let message = get_last_error(&raw mut self.raw);
                    (!message.is_null())
                        .then(|| CStr::from_ptr(message).to_string_lossy().into_owned())
                },
                None => None,
            };
            PyValueError::new_err(format!(
                "the Arrow stream of tokens failed (error {status}){}",
                detail.map(|d| format!(": {d}")).unwrap_or_default()
            ))
        }
    }
}
