//! Columns of tokens in, columns of verdicts out, through the Arrow PyCapsule interface.
//!
//! A column (any Arrow array or stream of string, large string, string view or binary
//! tokens) is judged in chunks on every core with the GIL released, and each chunk's
//! verdicts are written straight into Arrow builders: no Python object per token. The
//! batch pass ([`crate::batch::judge`]) accepts the tokens `decode` certainly accepts and
//! refuses those it certainly refuses (a bad signature, an expired token); the rest go to
//! a Python `fallback` that runs `decode` itself, so every verdict is `decode`'s.
//!
//! An array comes back as one struct array ([`VerdictArray`]); a stream comes back as a
//! stream ([`VerdictStream`]) that reads and judges one input array at a time as the
//! consumer asks for verdicts, so a stream of any length is judged in bounded memory.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use arrow_array::cast::AsArray;
use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{
    Array, ArrayRef, RecordBatch, RecordBatchIterator, RecordBatchReader, StructArray,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule, PyList, PyString, PyTuple};
use rayon::prelude::*;

use crate::batch::{self, BatchCall, Judged, MacLanes, Plan};
use crate::ffi::arrow_capsule::{self, ArrayStream};
use crate::jwt::{batch_plan, JwtEngine};
use crate::py_refs::refs;
use crate::verdicts::{self, VerdictBuilder};

/// Tokens per chunk: enough to keep a worker busy for a while (tens of microseconds a
/// token), few enough that the slowest chunk does not hold up the rest.
const CHUNK_ROWS: usize = 4096;

/// How the tokens of one call are judged.
struct Judge {
    /// The batch pass's plan, or `None` when every token must take `fallback`.
    plan: Option<Plan>,
    /// `fallback(token)`: `(exception_class, message)` for a token `decode` refuses, an
    /// object with the attributes of [`verdicts::FallbackRow`] for one it accepts.
    fallback: Py<PyAny>,
    threads: Option<usize>,
}

/// Judge the tokens of `source` (an object with `__arrow_c_array__` or
/// `__arrow_c_stream__`). `keys` is `[(None, key)]`, or `[(kid, PyJWK), ...]` for a JWK
/// set; the other arguments are `decode`'s. With `unverified`, tokens are read as
/// `decode(token, options={"verify_signature": False})` reads them.
#[pyfunction]
#[pyo3(signature = (engine, source, keys, algorithms, options, audience, issuer, subject, leeway, fallback, unverified, column=None, threads=None))]
#[allow(clippy::too_many_arguments)] // decode's own parameters, and the column's
pub fn verify_arrow<'py>(
    py: Python<'py>,
    engine: &Bound<'py, JwtEngine>,
    source: &Bound<'py, PyAny>,
    keys: Vec<(Option<String>, Bound<'py, PyAny>)>,
    algorithms: Option<Bound<'py, PyAny>>,
    options: Option<Bound<'py, PyAny>>,
    audience: Option<Bound<'py, PyAny>>,
    issuer: Option<Bound<'py, PyAny>>,
    subject: Option<Bound<'py, PyAny>>,
    leeway: Bound<'py, PyAny>,
    fallback: Bound<'py, PyAny>,
    unverified: bool,
    column: Option<String>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    if threads == Some(0) {
        return Err(PyValueError::new_err("threads must be at least 1"));
    }
    let plan = if unverified {
        Some(Plan::unverified(refs(py)?.now(py)?))
    } else {
        let engine = engine.get();
        let mut plans = Vec::new();
        let mut single = None;
        for (kid, key) in keys {
            let call = BatchCall {
                key,
                algorithms: algorithms.clone(),
                options: options.clone(),
                audience: audience.clone(),
                issuer: issuer.clone(),
                subject: subject.clone(),
                leeway: leeway.clone(),
            };
            let plan = batch_plan(py, &engine.bindings(py), &call)?;
            match kid {
                None => single = plan,
                Some(kid) => plans.extend(plan.map(|plan| (kid, plan))),
            }
        }
        single.or_else(|| Plan::keyed(plans))
    };
    let judge = Judge {
        plan,
        fallback: fallback.unbind(),
        threads,
    };
    if source.hasattr(intern!(py, "__arrow_c_array__"))? {
        let capsules = source.call_method0(intern!(py, "__arrow_c_array__"))?;
        let (schema, array) =
            capsules.extract::<(Bound<'py, PyCapsule>, Bound<'py, PyCapsule>)>()?;
        let (field, array) = arrow_capsule::import_array(&schema, &array)?;
        let (tokens, text) = token_column(&field, array, column.as_deref())?;
        let chunks = judge.column(py, &tokens, text)?;
        let verdicts = VerdictArray {
            chunks,
            whole: OnceLock::new(),
        };
        return Ok(Bound::new(py, verdicts)?.into_any());
    }
    if source.hasattr(intern!(py, "__arrow_c_stream__"))? {
        let capsule = source.call_method0(intern!(py, "__arrow_c_stream__"))?;
        let stream = arrow_capsule::import_stream(capsule.cast::<PyCapsule>()?)?;
        token_field(stream.field(), column.as_deref())?; // refuse a wrong type at once
        let reader = VerdictReader {
            input: stream,
            column,
            judge,
            pending: VecDeque::new(),
        };
        let stream = VerdictStream {
            reader: Mutex::new(Some(reader)),
        };
        return Ok(Bound::new(py, stream)?.into_any());
    }
    Err(PyTypeError::new_err(format!(
        "tokens must be an Arrow array or stream (an object with __arrow_c_array__ or \
         __arrow_c_stream__: a pyarrow Array, ChunkedArray or Table, a Polars Series, a \
         DuckDB relation...), not {}",
        source.get_type().name()?
    )))
}

/// The tokens of one input array: the array itself, or the chosen column of a struct
/// (a record batch or table); and whether the producer describes them as text (the
/// imported array holds them as binary either way).
fn token_column(
    field: &Field,
    array: ArrayRef,
    column: Option<&str>,
) -> PyResult<(ArrayRef, bool)> {
    let index = token_field(field, column)?;
    let token_type = match (index, field.data_type()) {
        (Some(index), DataType::Struct(children)) => children
            .get(index)
            .map_or(field.data_type(), |child| child.data_type()),
        _ => field.data_type(),
    };
    let text = matches!(
        token_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    );
    let tokens = match index {
        None => array,
        Some(index) => array
            .as_struct_opt()
            .and_then(|columns| columns.columns().get(index).cloned())
            .ok_or_else(|| PyValueError::new_err("invalid Arrow data: a missing column"))?,
    };
    Ok((tokens, text))
}

/// Which child of a struct field holds the tokens (`None`: the field itself does), after
/// checking that the tokens are text or binary.
fn token_field(field: &Field, column: Option<&str>) -> PyResult<Option<usize>> {
    let (index, tokens) = match (field.data_type(), column) {
        (DataType::Struct(children), Some(name)) => {
            let (index, child) = children.find(name).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "no column named {name:?}; the columns are {:?}",
                    children.iter().map(|c| c.name()).collect::<Vec<_>>()
                ))
            })?;
            (Some(index), child.as_ref())
        }
        (DataType::Struct(children), None) => match children.len() {
            1 => (
                Some(0),
                children.first().map(AsRef::as_ref).unwrap_or(field),
            ),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "the tokens have {} columns: pass column= to choose one of {:?}",
                    children.len(),
                    children.iter().map(|c| c.name()).collect::<Vec<_>>()
                )))
            }
        },
        (_, Some(name)) => {
            return Err(PyValueError::new_err(format!(
                "column={name:?} chooses a column of a table, but the tokens are one column"
            )))
        }
        (_, None) => (None, field),
    };
    match tokens.data_type() {
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView => Ok(index),
        other => Err(PyTypeError::new_err(format!(
            "tokens must be strings or binary (Arrow string, large_string, string_view, \
             binary, large_binary or binary_view), not {other}"
        ))),
    }
}

/// The bytes of each token (`None` for a null); the import reads strings as binary.
fn token_slices(array: &dyn Array) -> Vec<Option<&[u8]>> {
    if let Some(binary) = array.as_binary_opt::<i32>() {
        return binary.iter().collect();
    }
    if let Some(binary) = array.as_binary_opt::<i64>() {
        return binary.iter().collect();
    }
    if let Some(binary) = array.as_binary_view_opt() {
        return binary.iter().collect();
    }
    Vec::new() // refused earlier by `token_field`
}

/// One chunk's verdicts: every token the batch pass could judge is in place; the rows at
/// `undecided` hold placeholders until `fallback` has judged those tokens.
struct ChunkVerdicts {
    verdicts: StructArray,
    undecided: Vec<usize>,
}

impl Judge {
    /// The verdicts on a whole column, a struct array per chunk of tokens; `text` when the
    /// tokens are strings, which the fallback then gets as `str`.
    fn column(&self, py: Python<'_>, tokens: &ArrayRef, text: bool) -> PyResult<Vec<StructArray>> {
        let slices = token_slices(tokens.as_ref());
        let chunks = self.judge_chunks(py, &slices);
        let mut done = Vec::with_capacity(chunks.len());
        for (index, chunk) in chunks.into_iter().enumerate() {
            let start = index * CHUNK_ROWS;
            done.push(self.settle(py, chunk, &slices, start, text)?);
        }
        Ok(done)
    }

    /// Every chunk through the batch pass, on the pool, with the GIL released.
    fn judge_chunks(&self, py: Python<'_>, tokens: &[Option<&[u8]>]) -> Vec<ChunkVerdicts> {
        let plan = self.plan.as_ref();
        let work = || -> Vec<ChunkVerdicts> {
            tokens
                .par_chunks(CHUNK_ROWS)
                .map(|chunk| judge_chunk(plan, chunk))
                .collect()
        };
        py.detach(|| match batch::pool(self.threads) {
            Some(pool) => pool.install(work),
            None => work(),
        })
    }

    /// A chunk with its undecided tokens judged by `fallback`, under the GIL.
    fn settle(
        &self,
        py: Python<'_>,
        chunk: ChunkVerdicts,
        tokens: &[Option<&[u8]>],
        start: usize,
        text: bool,
    ) -> PyResult<StructArray> {
        if chunk.undecided.is_empty() {
            return Ok(chunk.verdicts);
        }
        let fallback = self.fallback.bind(py);
        let mut settled = VerdictBuilder::with_capacity(chunk.undecided.len(), 0);
        for &row in &chunk.undecided {
            let Some(Some(token)) = tokens.get(start + row) else {
                return Err(PyRuntimeError::new_err("a token row out of range"));
            };
            let token = if text {
                PyString::new(py, &String::from_utf8_lossy(token)).into_any()
            } else {
                PyBytes::new(py, token).into_any()
            };
            let verdict = fallback.call1((token,))?;
            match verdict.extract::<(String, String)>() {
                Ok((class, message)) => settled.append_invalid(&class, &message),
                Err(_) => settled.append_valid_columns(verdict.extract()?),
            }
        }
        let settled = settled.finish();
        let mut next_settled = 0;
        let mut undecided = chunk.undecided.iter().peekable();
        let indices: Vec<(usize, usize)> = (0..chunk.verdicts.len())
            .map(|row| {
                if undecided.next_if_eq(&&row).is_some() {
                    next_settled += 1;
                    (1, next_settled - 1)
                } else {
                    (0, row)
                }
            })
            .collect();
        let merged = arrow_select::interleave::interleave(
            &[&chunk.verdicts as &dyn Array, &settled as &dyn Array],
            &indices,
        )
        .map_err(arrow_error)?;
        Ok(merged.as_struct().clone())
    }
}

/// One chunk through the batch pass: rows for the tokens it judges, placeholders for the
/// rest (all of them without a plan).
fn judge_chunk(plan: Option<&Plan>, tokens: &[Option<&[u8]>]) -> ChunkVerdicts {
    let size = tokens.iter().flatten().map(|t| t.len()).max().unwrap_or(0);
    let mut builder = VerdictBuilder::with_capacity(tokens.len(), size);
    let mut undecided = Vec::new();
    let mut memo = None;
    let mac_lanes = plan.and_then(MacLanes::new);
    batch::each_with_mac(mac_lanes.as_ref(), tokens, |row, token, mac| {
        let Some(token) = token else {
            builder.append_null();
            return;
        };
        let judged = match plan {
            Some(plan) => batch::judge(plan, token, &mut memo, mac, |parts| {
                builder.append_valid(parts.header, parts.claims, parts.claims_json);
            }),
            None => Judged::Undecided,
        };
        match judged {
            Judged::Accepted(()) => {}
            Judged::Rejected(rejection) => {
                let (class, message) = rejection.exception();
                builder.append_invalid(class, message);
            }
            Judged::Undecided => {
                builder.append_null();
                undecided.push(row);
            }
        }
    });
    ChunkVerdicts {
        verdicts: builder.finish(),
        undecided,
    }
}

fn concat(chunks: &[StructArray]) -> PyResult<StructArray> {
    match chunks {
        [] => Ok(VerdictBuilder::with_capacity(0, 0).finish()),
        [one] => Ok(one.clone()),
        many => {
            let arrays: Vec<&dyn Array> = many.iter().map(|a| a as &dyn Array).collect();
            let whole = arrow_select::concat::concat(&arrays).map_err(arrow_error)?;
            Ok(whole.as_struct().clone())
        }
    }
}

fn arrow_error(error: ArrowError) -> PyErr {
    PyRuntimeError::new_err(format!("Arrow: {error}"))
}

fn verdict_schema() -> SchemaRef {
    Arc::new(Schema::new(verdicts::fields()))
}

/// A schema capsule for a struct array of verdicts.
fn schema_capsule(py: Python<'_>) -> PyResult<Bound<'_, PyCapsule>> {
    let field = Field::new("verdicts", verdicts::data_type(), false);
    let schema = FFI_ArrowSchema::try_from(&field).map_err(arrow_error)?;
    PyCapsule::new(py, schema, Some(c"arrow_schema".to_owned()))
}

fn stream_capsule(
    py: Python<'_>,
    reader: Box<dyn RecordBatchReader + Send>,
) -> PyResult<Bound<'_, PyCapsule>> {
    let stream = FFI_ArrowArrayStream::new(reader);
    PyCapsule::new(py, stream, Some(c"arrow_array_stream".to_owned()))
}

/// The verdicts on an array of tokens: a struct array, one row per token, that any Arrow
/// library reads through `__arrow_c_array__` or `__arrow_c_stream__`.
///
/// Kept as the chunks the workers built: a stream hands them over as they are, and only a
/// consumer that asks for one array pays for joining them (once).
#[pyclass(frozen, module = "turbojwt._turbojwt")]
pub struct VerdictArray {
    chunks: Vec<StructArray>,
    whole: OnceLock<StructArray>,
}

impl VerdictArray {
    fn whole(&self) -> PyResult<&StructArray> {
        if let Some(whole) = self.whole.get() {
            return Ok(whole);
        }
        let whole = concat(&self.chunks)?;
        Ok(self.whole.get_or_init(|| whole))
    }
}

#[pymethods]
impl VerdictArray {
    fn __len__(&self) -> usize {
        self.chunks.iter().map(Array::len).sum()
    }

    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        schema_capsule(py)
    }

    /// The verdicts as the capsule pair of the Arrow PyCapsule interface.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let _ = requested_schema; // the interface lets a producer keep its own schema
        let array = FFI_ArrowArray::new(&self.whole()?.to_data());
        let array = PyCapsule::new(py, array, Some(c"arrow_array".to_owned()))?;
        PyTuple::new(py, [schema_capsule(py)?, array])
    }

    /// The verdicts as a stream of struct arrays, one per chunk of tokens.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let batches: Vec<_> = self
            .chunks
            .iter()
            .map(|chunk| Ok(RecordBatch::from(chunk.clone())))
            .collect();
        let reader = RecordBatchIterator::new(batches, verdict_schema());
        stream_capsule(py, Box::new(reader))
    }

    /// How many tokens are valid, invalid, and null.
    fn counts(&self) -> (usize, usize, usize) {
        self.chunks
            .iter()
            .map(count)
            .fold((0, 0, 0), |total, chunk| {
                (total.0 + chunk.0, total.1 + chunk.1, total.2 + chunk.2)
            })
    }

    fn __repr__(&self) -> String {
        let (valid, invalid, null) = self.counts();
        format!("<VerdictArray: {valid} valid, {invalid} invalid, {null} null>")
    }
}

fn count(verdicts: &StructArray) -> (usize, usize, usize) {
    let Some(valid) = verdicts.column(0).as_boolean_opt() else {
        return (0, 0, 0);
    };
    let null = valid.null_count();
    let good = valid.true_count();
    (good, valid.len() - null - good, null)
}

/// The verdicts on a stream of token arrays: a stream of struct arrays, each judged when
/// the consumer asks for it. It can be read once.
#[pyclass(frozen, module = "turbojwt._turbojwt")]
pub struct VerdictStream {
    reader: Mutex<Option<VerdictReader>>,
}

#[pymethods]
impl VerdictStream {
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        schema_capsule(py)
    }

    /// The verdicts as a stream capsule; judging happens as the consumer reads it.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let reader = self
            .reader
            .lock()
            .map_err(|_| PyRuntimeError::new_err("the verdict stream is unusable"))?
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this verdict stream has already been read"))?;
        stream_capsule(py, Box::new(reader))
    }

    fn __repr__(&self) -> String {
        let read = self.reader.lock().map_or(true, |reader| reader.is_none());
        format!("<VerdictStream{}>", if read { " (read)" } else { "" })
    }
}

/// Reads the token stream one array at a time, and hands out its verdicts a chunk (up to
/// [`CHUNK_ROWS`] tokens) per output batch.
struct VerdictReader {
    input: ArrayStream,
    column: Option<String>,
    judge: Judge,
    pending: VecDeque<StructArray>,
}

impl VerdictReader {
    fn next_verdicts(&mut self, py: Python<'_>) -> PyResult<Option<StructArray>> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                return Ok(Some(chunk));
            }
            let Some(array) = self.input.next_array()? else {
                return Ok(None);
            };
            let (tokens, text) = token_column(self.input.field(), array, self.column.as_deref())?;
            if let Some(plan) = self.judge.plan.as_mut() {
                plan.set_now(refs(py)?.now(py)?);
            }
            self.pending.extend(self.judge.column(py, &tokens, text)?);
        }
    }
}

impl Iterator for VerdictReader {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        // The consumer may ask from any thread, even one that never ran Python; a stream
        // read after the interpreter has shut down ends with an error, not a panic.
        let verdicts = Python::try_attach(|py| {
            self.next_verdicts(py)
                .map_err(|error| ArrowError::ExternalError(Box::new(PyErrText(error.to_string()))))
        })
        .unwrap_or_else(|| {
            Err(ArrowError::ExternalError(Box::new(PyErrText(
                "the Python interpreter is not running".to_owned(),
            ))))
        });
        verdicts.transpose().map(|v| v.map(RecordBatch::from))
    }
}

impl RecordBatchReader for VerdictReader {
    fn schema(&self) -> SchemaRef {
        verdict_schema()
    }
}

/// A Python exception's text, carried through Arrow's error type to the stream consumer.
#[derive(Debug)]
struct PyErrText(String);

impl std::fmt::Display for PyErrText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PyErrText {}

/// The verdict column's fields, by name, for `turbojwt.arrow`'s documentation and tests.
#[pyfunction]
pub fn verdict_fields(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    PyList::new(
        py,
        verdicts::fields().iter().map(|field| field.name().as_str()),
    )
}
