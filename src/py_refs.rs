//! Python objects the core needs, looked up once per interpreter and then reused.

use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCFunction, PyDict, PyModule, PyType};

/// Borrowed-forever handles on the Python objects the hot paths compare against or call.
pub struct PyRefs {
    pub json_namespace: Py<PyDict>,
    pub json_loads: Py<PyAny>,
    pub json_dumps: Py<PyAny>,
    pub time_namespace: Py<PyDict>,
    pub time_time: Py<PyAny>,
    pub timedelta: Py<PyType>,
    pub datetime: Py<PyType>,
    pub iterable_abc: Py<PyAny>,
    pub timegm: Py<PyAny>,
    /// `sys.modules`: whether time-machine is loaded decides how the clock is read.
    pub sys_modules: Py<PyDict>,
    /// The globals of `turbojwt.api_jwt`, through which PyJWT's code reads `datetime`.
    pub api_jwt_namespace: Py<PyDict>,
    /// Versions at which a namespace was last seen unpatched (see [`Unchanged`]).
    json_loads_unchanged: Unchanged,
    json_dumps_unchanged: Unchanged,
    datetime_unchanged: Unchanged,
    time_unchanged: Unchanged,
    no_time_machine: Unchanged,
}

/// Remembers the version of a dict at which a check on it passed, so the check need not run
/// again until the dict changes ([`crate::ffi::dict_version`]): a test that patches
/// `json.loads` or `time.time` changes the version, and the next read looks again.
struct Unchanged(AtomicU64);

impl Unchanged {
    const UNKNOWN: u64 = u64::MAX;

    fn new() -> Self {
        Unchanged(AtomicU64::new(Self::UNKNOWN))
    }

    /// Whether `check` holds for `dict`, running it only when the dict changed since it last
    /// held.
    fn holds(
        &self,
        dict: &Bound<'_, PyDict>,
        check: impl FnOnce() -> PyResult<bool>,
    ) -> PyResult<bool> {
        let version = crate::ffi::dict_version(dict);
        if version.is_some_and(|v| v == self.0.load(Ordering::Relaxed)) {
            return Ok(true);
        }
        let holds = check()?;
        if let (true, Some(version)) = (holds, version) {
            self.0.store(version, Ordering::Relaxed);
        }
        Ok(holds)
    }
}

static REFS: PyOnceLock<PyRefs> = PyOnceLock::new();

pub fn refs(py: Python<'_>) -> PyResult<&PyRefs> {
    REFS.get_or_try_init(py, || {
        let json_module = py.import("json")?;
        let time_module = py.import("time")?;
        let dt = py.import("datetime")?;
        Ok(PyRefs {
            json_loads: json_module.getattr("loads")?.unbind(),
            json_dumps: json_module.getattr("dumps")?.unbind(),
            json_namespace: json_module.dict().unbind(),
            time_time: time_module.getattr("time")?.unbind(),
            time_namespace: time_module.dict().unbind(),
            timedelta: dt.getattr("timedelta")?.cast_into::<PyType>()?.unbind(),
            datetime: dt.getattr("datetime")?.cast_into::<PyType>()?.unbind(),
            iterable_abc: py.import("collections.abc")?.getattr("Iterable")?.unbind(),
            timegm: py.import("calendar")?.getattr("timegm")?.unbind(),
            sys_modules: py
                .import("sys")?
                .getattr("modules")?
                .cast_into::<PyDict>()?
                .unbind(),
            // Already in `sys.modules` (perhaps half-initialised) whenever the core runs.
            api_jwt_namespace: py.import("turbojwt.api_jwt")?.dict().unbind(),
            json_loads_unchanged: Unchanged::new(),
            json_dumps_unchanged: Unchanged::new(),
            datetime_unchanged: Unchanged::new(),
            time_unchanged: Unchanged::new(),
            no_time_machine: Unchanged::new(),
        })
    })
}

impl PyRefs {
    /// `json.loads` as it is now: tests and applications may replace it, and PyJWT honours that.
    pub fn current_json_loads<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.replaced(
            py,
            &self.json_namespace,
            &self.json_loads_unchanged,
            pyo3::intern!(py, "loads"),
            &self.json_loads,
        )
    }

    /// `json.dumps` if someone replaced it, else `None` (the native writer is then exact).
    pub fn current_json_dumps<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.replaced(
            py,
            &self.json_namespace,
            &self.json_dumps_unchanged,
            pyo3::intern!(py, "dumps"),
            &self.json_dumps,
        )
    }

    /// `namespace[name]` when it is no longer `original`, else `None`.
    fn replaced<'py>(
        &self,
        py: Python<'py>,
        namespace: &Py<PyDict>,
        unchanged: &Unchanged,
        name: &Bound<'py, pyo3::types::PyString>,
        original: &Py<PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let namespace = namespace.bind(py);
        let mut current = None;
        let same = unchanged.holds(namespace, || {
            current = namespace
                .get_item(name)?
                .filter(|f| !f.is(original.bind(py)));
            Ok(current.is_none())
        })?;
        Ok(if same { None } else { current })
    }

    /// `datetime.datetime` as `turbojwt.api_jwt` sees it now, when a test replaced it there
    /// (`mock.patch("jwt.api_jwt.datetime")`, or freezegun's module scan), else `None`.
    pub fn replaced_datetime<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let namespace = self.api_jwt_namespace.bind(py);
        let mut current = None;
        let same = self.datetime_unchanged.holds(namespace, || {
            current = namespace
                .get_item(pyo3::intern!(py, "datetime"))?
                .filter(|dt| !dt.is(self.datetime.bind(py)));
            Ok(current.is_none())
        })?;
        Ok(if same { None } else { current })
    }

    /// Seconds since the epoch, as PyJWT's claim checks see them. Test clocks move it:
    /// - a replaced `api_jwt.datetime`: `datetime.now(tz=timezone.utc).timestamp()`, PyJWT's
    ///   own expression, through the module's names;
    /// - a replaced `time.time` (freezegun), or time-machine, which patches the C function in
    ///   place and so is only seen by calling it: `time.time()`;
    /// - otherwise the OS clock directly.
    ///
    /// Each of the three namespaces is read again only after it changed.
    pub fn now(&self, py: Python<'_>) -> PyResult<f64> {
        if let Some(datetime) = self.replaced_datetime(py)? {
            return self.now_through(py, &datetime);
        }
        let time_namespace = self.time_namespace.bind(py);
        let mut time = None;
        // `time.time` is replaced when it is not the one seen first, or not a C function at
        // all (the first sight may itself have happened under freezegun).
        let time_is_original = self.time_unchanged.holds(time_namespace, || {
            time = time_namespace.get_item(pyo3::intern!(py, "time"))?;
            Ok(time.as_ref().is_some_and(|time| {
                time.is(self.time_time.bind(py)) && time.is_instance_of::<PyCFunction>()
            }))
        })?;
        let modules = self.sys_modules.bind(py);
        let no_time_machine = self.no_time_machine.holds(modules, || {
            Ok(!modules.contains(pyo3::intern!(py, "time_machine"))?)
        })?;
        if time_is_original && no_time_machine {
            let since_epoch = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            return Ok(since_epoch.as_secs_f64());
        }
        let time = match time {
            Some(time) => time,
            None => time_namespace
                .get_item(pyo3::intern!(py, "time"))?
                .unwrap_or_else(|| self.time_time.bind(py).clone()),
        };
        time.call0()?.extract()
    }

    fn now_through(&self, py: Python<'_>, datetime: &Bound<'_, PyAny>) -> PyResult<f64> {
        let namespace = self.api_jwt_namespace.bind(py);
        let timezone = match namespace.get_item(pyo3::intern!(py, "timezone"))? {
            Some(timezone) => timezone,
            None => py.import("datetime")?.getattr("timezone")?,
        };
        let kwargs = PyDict::new(py);
        kwargs.set_item("tz", timezone.getattr("utc")?)?;
        datetime
            .call_method("now", (), Some(&kwargs))?
            .call_method0("timestamp")?
            .extract()
    }
}

/// Classes from the pure-Python half of the package, imported lazily (the package imports
/// this extension first, so these cannot be looked up at module initialisation).
pub struct PackageRefs {
    /// Present when `cryptography` is installed (the asymmetric classes need it for now).
    pub asymmetric: Option<AsymmetricRefs>,
    /// `turbojwt._asymmetric._export_key_der`: a key object's DER, or None.
    pub export_key_der: Option<Py<PyAny>>,
    pub hmac_algorithm: Py<PyType>,
    pub none_algorithm: Py<PyType>,
    pub pyjwk: Py<PyType>,
    pub vet_hmac_secret: Py<PyAny>,
    pub hashlib_sha256: Py<PyAny>,
    pub hashlib_sha384: Py<PyAny>,
    pub hashlib_sha512: Py<PyAny>,
}

static PACKAGE: PyOnceLock<PackageRefs> = PyOnceLock::new();

pub fn package(py: Python<'_>) -> PyResult<&PackageRefs> {
    PACKAGE.get_or_try_init(py, || {
        let algorithms = py.import("turbojwt.algorithms")?;
        let api_jwk = py.import("turbojwt.api_jwk")?;
        let hashlib = py.import("hashlib")?;
        // Absent only if the package has no asymmetric classes at all (a broken install).
        let asymmetric = AsymmetricRefs::load(&algorithms).ok();
        // Only the cryptography-backed classes hand out key objects that need exporting.
        let export_key_der = if algorithms.getattr("has_crypto")?.is_truthy()? {
            Some(
                py.import("turbojwt._asymmetric")?
                    .getattr("_export_key_der")?
                    .unbind(),
            )
        } else {
            None
        };
        Ok(PackageRefs {
            asymmetric,
            export_key_der,
            hmac_algorithm: algorithms
                .getattr("HMACAlgorithm")?
                .cast_into::<PyType>()?
                .unbind(),
            none_algorithm: algorithms
                .getattr("NoneAlgorithm")?
                .cast_into::<PyType>()?
                .unbind(),
            vet_hmac_secret: algorithms.getattr("_vet_hmac_secret")?.unbind(),
            pyjwk: api_jwk.getattr("PyJWK")?.cast_into::<PyType>()?.unbind(),
            hashlib_sha256: hashlib.getattr("sha256")?.unbind(),
            hashlib_sha384: hashlib.getattr("sha384")?.unbind(),
            hashlib_sha512: hashlib.getattr("sha512")?.unbind(),
        })
    })
}

/// The asymmetric algorithm classes of `turbojwt.algorithms` (cryptography-backed, or the
/// native ones when cryptography is absent) and the hash and curve values that say which
/// JWS algorithm an instance stands for.
pub struct AsymmetricRefs {
    pub rsa: Py<PyType>,
    pub rsa_pss: Py<PyType>,
    pub ec: Py<PyType>,
    pub okp: Py<PyType>,
    /// `RSAAlgorithm.SHA256`, `.SHA384`, `.SHA512`.
    pub hashes: [Py<PyAny>; 3],
    /// The `expected_curve` of the default ES256, ES256K, ES384 and ES512 instances.
    pub curves: [Py<PyAny>; 4],
}

impl AsymmetricRefs {
    fn load(algorithms: &Bound<'_, PyModule>) -> PyResult<Self> {
        let class = |name: &str| -> PyResult<Py<PyType>> {
            Ok(algorithms.getattr(name)?.cast_into::<PyType>()?.unbind())
        };
        let rsa = class("RSAAlgorithm")?;
        let hash = |name: &str| -> PyResult<Py<PyAny>> {
            Ok(rsa.bind(algorithms.py()).getattr(name)?.unbind())
        };
        let defaults = algorithms.getattr("get_default_algorithms")?.call0()?;
        let curve = |alg: &str| -> PyResult<Py<PyAny>> {
            Ok(defaults.get_item(alg)?.getattr("expected_curve")?.unbind())
        };
        Ok(AsymmetricRefs {
            hashes: [hash("SHA256")?, hash("SHA384")?, hash("SHA512")?],
            curves: [
                curve("ES256")?,
                curve("ES256K")?,
                curve("ES384")?,
                curve("ES512")?,
            ],
            rsa,
            rsa_pss: class("RSAPSSAlgorithm")?,
            ec: class("ECAlgorithm")?,
            okp: class("OKPAlgorithm")?,
        })
    }
}
