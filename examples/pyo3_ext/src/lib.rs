//! bt_pyo3_demo: the seed's scenario — a Rust extension inside a Python
//! database driver, tracing its own boundary with boundarytrace.
//!
//! `Client().insert_many(docs)` runs the four phases for real:
//!
//! | phase       | GIL      | work                                                     |
//! |-------------|----------|----------------------------------------------------------|
//! | extract     | held     | read the Python dicts into Rust [`Value`]s                |
//! | convert     | released | encode them into a binary frame (worker threads when big) |
//! | network     | released | send the frame to a loopback TCP echo server, read it back |
//! | materialize | held     | decode the reply and build the Python list of `_id`s       |
//!
//! The echo server is a thread of this extension, one per `Client`, listening
//! on 127.0.0.1 on a free port. Operations are recorded under the name
//! `pyo3_insert_many` in the process-wide sink of the libboundarytrace that
//! `import boundarytrace` loaded, so they show up in `boundarytrace.snapshot()`
//! beside every other extension's.
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Mutex;
use std::thread;

use pyo3::exceptions::{PyImportError, PyOverflowError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use boundarytrace::{Metrics, Op, Phase, Timing};

/// The operation name this extension records under.
const OPERATION: &str = "pyo3_insert_many";
/// Batches at least this big are encoded by several worker threads.
const PARALLEL_MIN_DOCS: usize = 256;
const MAX_WORKERS: usize = 4;

static OP: GILOnceCell<Op<'static>> = GILOnceCell::new();

fn bt_err(e: boundarytrace::Error) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

// ---- extract: Python objects -> Rust values (GIL held) ---------------------

/// A document value, detached from Python.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Doc(Vec<(String, Value)>),
}

fn extract_value(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > 64 {
        return Err(PyValueError::new_err(
            "documents nest deeper than 64 levels",
        ));
    }
    if obj.is_none() {
        Ok(Value::Null)
    } else if let Ok(b) = obj.downcast::<PyBool>() {
        Ok(Value::Bool(b.is_true()))
    } else if obj.is_instance_of::<PyInt>() {
        obj.extract::<i64>()
            .map(Value::Int)
            .map_err(|_| PyOverflowError::new_err("integers must fit in 64 bits"))
    } else if let Ok(f) = obj.downcast::<PyFloat>() {
        Ok(Value::Float(f.value()))
    } else if let Ok(s) = obj.downcast::<PyString>() {
        Ok(Value::Str(s.to_cow()?.into_owned()))
    } else if let Ok(b) = obj.downcast::<PyBytes>() {
        Ok(Value::Bytes(b.as_bytes().to_vec()))
    } else if let Ok(d) = obj.downcast::<PyDict>() {
        extract_doc(d, depth + 1).map(Value::Doc)
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for item in obj.try_iter()? {
            items.push(extract_value(&item?, depth + 1)?);
        }
        Ok(Value::List(items))
    } else {
        Err(PyTypeError::new_err(format!(
            "cannot store a value of type {}",
            obj.get_type().name()?
        )))
    }
}

fn extract_doc(d: &Bound<'_, PyDict>, depth: usize) -> PyResult<Vec<(String, Value)>> {
    let mut fields = Vec::with_capacity(d.len());
    for (k, v) in d.iter() {
        let key = k
            .downcast::<PyString>()
            .map_err(|_| PyTypeError::new_err("document keys must be str"))?
            .to_cow()?
            .into_owned();
        fields.push((key, extract_value(&v, depth)?));
    }
    Ok(fields)
}

// ---- convert: Rust values -> bytes (GIL released) ---------------------------
//
// A small self-describing encoding: a value is a tag byte and its payload;
// lengths and numbers are little-endian; a document is a u32 field count and
// (key, value) pairs; a batch is a u32 document count and the documents.

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0),
        Value::Bool(b) => out.extend_from_slice(&[1, *b as u8]),
        Value::Int(i) => {
            out.push(2);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Float(f) => {
            out.push(3);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Value::Str(s) => {
            out.push(4);
            put_len(out, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(5);
            put_len(out, b.len());
            out.extend_from_slice(b);
        }
        Value::List(items) => {
            out.push(6);
            put_len(out, items.len());
            for item in items {
                encode_value(item, out);
            }
        }
        Value::Doc(fields) => {
            out.push(7);
            encode_doc(fields, out);
        }
    }
}

fn encode_doc(fields: &[(String, Value)], out: &mut Vec<u8>) {
    put_len(out, fields.len());
    for (k, v) in fields {
        put_len(out, k.len());
        out.extend_from_slice(k.as_bytes());
        encode_value(v, out);
    }
}

/// Encodes a batch; big batches in chunks on worker threads. Returns the
/// bytes and the number of workers used.
fn encode_batch(docs: &[Vec<(String, Value)>]) -> (Vec<u8>, usize) {
    let workers = if docs.len() >= PARALLEL_MIN_DOCS {
        thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(2, MAX_WORKERS)
    } else {
        1
    };
    let mut out = Vec::with_capacity(64 * docs.len() + 4);
    put_len(&mut out, docs.len());
    if workers == 1 {
        for d in docs {
            encode_doc(d, &mut out);
        }
    } else {
        let chunk = (docs.len() + workers - 1) / workers;
        let parts: Vec<Vec<u8>> = thread::scope(|s| {
            let handles: Vec<_> = docs
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        let mut buf = Vec::with_capacity(64 * part.len());
                        for d in part {
                            encode_doc(d, &mut buf);
                        }
                        buf
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("encoder thread panicked"))
                .collect()
        });
        for p in parts {
            out.extend_from_slice(&p);
        }
    }
    (out, workers)
}

// ---- materialize: bytes -> Python objects (GIL held) -------------------------

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> PyResult<&'a [u8]> {
        if self.buf.len() < n {
            return Err(PyValueError::new_err("truncated reply from the server"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    fn u8(&mut self) -> PyResult<u8> {
        Ok(self.take(1)?[0])
    }
    fn len(&mut self) -> PyResult<usize> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    fn u64(&mut self) -> PyResult<[u8; 8]> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(a)
    }
    fn str(&mut self) -> PyResult<&'a str> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?)
            .map_err(|_| PyValueError::new_err("reply holds invalid UTF-8"))
    }
}

fn decode_value<'py>(py: Python<'py>, r: &mut Reader<'_>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match r.u8()? {
        0 => py.None().into_bound(py),
        1 => PyBool::new(py, r.u8()? != 0).to_owned().into_any(),
        2 => i64::from_le_bytes(r.u64()?).into_pyobject(py)?.into_any(),
        3 => PyFloat::new(py, f64::from_le_bytes(r.u64()?)).into_any(),
        4 => PyString::new(py, r.str()?).into_any(),
        5 => {
            let n = r.len()?;
            PyBytes::new(py, r.take(n)?).into_any()
        }
        6 => {
            let n = r.len()?;
            let list = PyList::empty(py);
            for _ in 0..n {
                list.append(decode_value(py, r)?)?;
            }
            list.into_any()
        }
        7 => decode_doc(py, r)?.into_any(),
        tag => {
            return Err(PyValueError::new_err(format!(
                "unknown tag {} in reply",
                tag
            )))
        }
    })
}

fn decode_doc<'py>(py: Python<'py>, r: &mut Reader<'_>) -> PyResult<Bound<'py, PyDict>> {
    let n = r.len()?;
    let d = PyDict::new(py);
    for _ in 0..n {
        let k = r.str()?;
        d.set_item(k, decode_value(py, r)?)?;
    }
    Ok(d)
}

/// The inserted ids: each returned document's `_id`, or its position.
fn materialize_ids<'py>(
    py: Python<'py>,
    reply: &[u8],
    expected: usize,
) -> PyResult<Bound<'py, PyList>> {
    let mut r = Reader { buf: reply };
    let n = r.len()?;
    if n != expected {
        return Err(PyRuntimeError::new_err(format!(
            "server acknowledged {} of {} documents",
            n, expected
        )));
    }
    let ids = PyList::empty(py);
    for i in 0..n {
        let doc = decode_doc(py, &mut r)?;
        match doc.get_item("_id")? {
            Some(id) => ids.append(id)?,
            None => ids.append(i)?,
        }
    }
    if !r.buf.is_empty() {
        return Err(PyValueError::new_err("trailing bytes in the reply"));
    }
    Ok(ids)
}

// ---- network: a loopback echo server (GIL released) --------------------------

/// Frames are a u32 length and that many bytes; the server reads a whole
/// frame before echoing it, so a big frame cannot deadlock both sides.
fn echo_connection(mut s: TcpStream) -> io::Result<()> {
    let mut head = [0u8; 4];
    let mut body = Vec::new();
    loop {
        match s.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        body.resize(u32::from_le_bytes(head) as usize, 0);
        s.read_exact(&mut body)?;
        s.write_all(&head)?;
        s.write_all(&body)?;
    }
}

/// Starts an echo server thread on a free loopback port and connects to it.
/// The thread serves this one connection and exits when it closes.
fn connect_echo() -> io::Result<TcpStream> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::Builder::new()
        .name("bt-pyo3-echo".into())
        .spawn(move || {
            if let Ok((s, _)) = listener.accept() {
                let _ = s.set_nodelay(true);
                let _ = echo_connection(s);
            }
        })?;
    let s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    Ok(s)
}

fn round_trip(conn: &Mutex<TcpStream>, frame: &[u8]) -> io::Result<Vec<u8>> {
    let mut s = conn
        .lock()
        .map_err(|_| io::Error::new(io::ErrorKind::Other, "connection poisoned"))?;
    s.write_all(&(frame.len() as u32).to_le_bytes())?;
    s.write_all(frame)?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head)?;
    let mut reply = vec![0u8; u32::from_le_bytes(head) as usize];
    s.read_exact(&mut reply)?;
    Ok(reply)
}

// ---- the Python class ---------------------------------------------------------

/// A client of a loopback echo "server": insert_many(docs) sends the encoded
/// documents and builds the ids from what comes back, traced as
/// `pyo3_insert_many`.
#[pyclass(module = "bt_pyo3_demo")]
struct Client {
    conn: Mutex<TcpStream>,
    last: Mutex<Option<Timing>>,
}

#[pymethods]
impl Client {
    #[new]
    fn new() -> PyResult<Self> {
        let conn =
            connect_echo().map_err(|e| PyRuntimeError::new_err(format!("echo server: {}", e)))?;
        Ok(Client {
            conn: Mutex::new(conn),
            last: Mutex::new(None),
        })
    }

    /// Stores `documents` (an iterable of dicts with str keys and None, bool,
    /// int, float, str, bytes, list, tuple or dict values); returns their ids
    /// (`_id`, or the position in the batch). A failure raises and records the
    /// operation as an error.
    fn insert_many<'py>(
        &self,
        py: Python<'py>,
        documents: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let op = *OP
            .get_or_try_init(py, || Metrics::global().op(OPERATION))
            .map_err(bt_err)?;
        let mut tracer = op.tracer().map_err(bt_err)?;

        let docs = {
            let _p = tracer.phase(Phase::EXTRACT).map_err(bt_err)?;
            let mut docs = Vec::new();
            for item in documents.try_iter()? {
                let item = item?;
                let d = item
                    .downcast::<PyDict>()
                    .map_err(|_| PyTypeError::new_err("insert_many takes an iterable of dicts"))?;
                docs.push(extract_doc(d, 0)?);
            }
            docs
        };

        // convert and network under one GIL release; the time to get the GIL
        // back is recorded as GIL wait, outside both phases.
        let conn = &self.conn;
        let reply = tracer
            .allow_threads(py, Phase::CONVERT, |r| {
                let (frame, workers) = encode_batch(&docs);
                r.tracer().set_workers(workers as u32)?;
                r.next(Phase::NETWORK)?;
                Ok(round_trip(conn, &frame))
            })
            .and_then(|inner: Result<io::Result<Vec<u8>>, boundarytrace::Error>| inner)
            .map_err(bt_err)?
            .map_err(|e| PyRuntimeError::new_err(format!("network: {}", e)))?;

        let ids = {
            let _p = tracer.phase(Phase::MATERIALIZE).map_err(bt_err)?;
            materialize_ids(py, &reply, docs.len())?
        };
        tracer.add_items(docs.len() as u64).map_err(bt_err)?;
        let timing = tracer.finish().map_err(bt_err)?;
        if let Ok(mut last) = self.last.lock() {
            *last = Some(timing);
        }
        Ok(ids)
    }

    /// The timing of the last successful insert_many (bt_tracer_finish_timing's
    /// bt_timing) as a dict, or None.
    #[getter]
    fn last_timing<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let last = self
            .last
            .lock()
            .map_err(|_| PyRuntimeError::new_err("poisoned"))?;
        let t = match &*last {
            Some(t) => t,
            None => return Ok(None),
        };
        let d = PyDict::new(py);
        d.set_item("op_name", t.op_name())?;
        d.set_item("total_ns", t.total_ns())?;
        d.set_item("gil_held_ns", t.gil_held_ns())?;
        d.set_item("gil_released_ns", t.gil_released_ns())?;
        d.set_item("gil_wait_ns", t.gil_wait_ns())?;
        d.set_item("unattributed_ns", t.unattributed_ns())?;
        d.set_item("items", t.items())?;
        d.set_item("gil_releases", t.gil_releases())?;
        d.set_item("workers", t.workers())?;
        d.set_item("error", t.is_error())?;
        let phases = PyDict::new(py);
        for phase in [Phase::EXTRACT, Phase::CONVERT, Phase::NETWORK, Phase::MATERIALIZE] {
            let name = phase.name().map_err(bt_err)?;
            phases.set_item(name, t.phase(phase))?;
        }
        d.set_item("phases", phases)?;
        Ok(Some(d))
    }

    /// Closes the connection (the server thread then exits).
    fn close(&self) {
        if let Ok(s) = self.conn.lock() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// (version string, bt_version(), directory linked against) of libboundarytrace.
#[pyfunction]
fn build_info() -> (String, u32, &'static str) {
    (
        boundarytrace::version_string().to_owned(),
        boundarytrace::version(),
        boundarytrace::sys::LINKED_LIB_DIR,
    )
}

// gil_used = false: safe without the GIL (free-threaded CPython 3.13t):
// the client's state is behind Mutexes and the library is thread-safe.
#[pymodule(gil_used = false)]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The version check before any other call into the library.
    boundarytrace::check_version().map_err(PyImportError::new_err)?;
    m.add_class::<Client>()?;
    m.add_function(wrap_pyfunction!(build_info, m)?)?;
    m.add("OPERATION", OPERATION)?;
    Ok(())
}
