// boundarytrace._native — the pybind11 backend of the Python package.
//
// A thin layer over the stable C API (bt.h), nothing more: it exposes the small
// internal interface that boundarytrace/_backend.py documents, and the ctypes
// backend (_ctypes_backend.py) exposes the same one, so the Pythonic layer is
// written once. Names arrive as UTF-8 bytes (the Pythonic layer encodes and
// validates them); results leave as plain tuples.
//
// The hot path of a traced operation (Op.tracer, the Tracer's methods, the
// phase scopes) is plain CPython types inside this pybind11 module; the rest
// is pybind11.
//
// Errors: a failed bt_status becomes a C++ StatusError, which the translator
// registered below turns into the Python exception built by
// boundarytrace._errors.error_from_status (the same function the ctypes
// backend uses), so both backends raise the same classes and messages.
//
// Threads: the module declares py::mod_gil_not_used(), so importing it on a
// free-threaded Python never re-enables the GIL. Metrics, ops and snapshots are
// thread-safe in the C library. A tracer belongs to one thread at a time; on a
// free-threaded build each Tracer object serialises its own calls with a mutex,
// so misuse from two threads can never corrupt it (with the GIL, the GIL does).
// Handles are freed by destructors only, when no Python reference is left, so a
// handle is never used after it was freed: a Tracer or Op keeps its sink alive.
//
// Interpreters: the main one only. The package's __init__ raises ImportError
// in any subinterpreter before this module is imported (_subinterp.py; its
// init blocks in PyGILState_Ensure there on 3.11 and older). With pybind11 3 the module
// also declares py::multiple_interpreters::not_supported() (pybind11 3's
// default, said explicitly): on 3.12+ CPython then refuses it in isolated
// subinterpreters itself. per_interpreter_gil()/shared_gil() would claim
// per-interpreter state this module does not have.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <boundarytrace/bt.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#ifdef Py_GIL_DISABLED
#include <mutex>
#endif

namespace py = pybind11;

namespace {

// A failed C call, on its way to becoming a Python exception. A failed file
// write (BT_E_IO) also carries the errno the call left and the path.
struct StatusError {
  int status;
  const char *call;
  int err = 0;
  std::string path = {};
  bool has_path = false;
};

inline void check(bt_status st, const char *call) {
  if (st != BT_OK) throw StatusError{st, call};
}

// Runs an snprintf-style formatter into a std::string. The text may grow
// between two calls (the timeline fills while it is exported), so a retry
// asks for some room beyond what was needed.
template <class Fn>
std::string format_with(Fn &&fn, const char *call) {
  std::string out(2048, '\0');
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::size_t needed = 0;
    check(fn(&out[0], out.size(), &needed), call);
    if (needed < out.size()) {
      out.resize(needed);
      return out;
    }
    out.assign(needed + needed / 4 + 4096, '\0');
  }
  throw StatusError{BT_E_INTERNAL, call};
}

// Runs a call on the file or directory `path` (a write, or a shared
// directory's lock and files) without the GIL, and raises with the errno it
// left when it fails with BT_E_IO.
template <class Fn>
void io_call(Fn &&fn, const std::string &path, const char *call) {
  bt_status st;
  int err;
  {
    py::gil_scoped_release nogil;
    errno = 0;
    st = fn();
    err = errno;  // read before anything else can change it
  }
  if (st == BT_E_IO) throw StatusError{st, call, err, path, true};
  check(st, call);
}

// The Python exception of a failed status, built by _errors.error_from_status
// (the function the ctypes backend uses too).
py::object make_error(const StatusError &e) {
  py::object make = py::module_::import("boundarytrace._errors").attr("error_from_status");
  py::object err = e.err ? py::object(py::int_(e.err)) : py::object(py::none());
  py::object path = e.has_path ? py::object(py::bytes(e.path)) : py::object(py::none());
  return make(e.status, e.call, bt_status_name(e.status), bt_status_str(e.status), py::none(),
              err, path);
}

py::str utf8(const char *s) { return py::str(s ? s : ""); }

// Text the library made from what it found on disk (a skipped file's reason):
// bytes that are not UTF-8 become U+FFFD rather than an exception.
py::str utf8_lenient(const char *s) {
  if (!s) s = "";
  PyObject *o = PyUnicode_DecodeUTF8(s, static_cast<Py_ssize_t>(std::strlen(s)), "replace");
  if (!o) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

// --- sinks, bound operations, tracers ---------------------------------------

struct MetricsBox {
  bt_metrics *m;
  bool owned;
  MetricsBox(bt_metrics *metrics, bool own) : m(metrics), owned(own) {}
  ~MetricsBox() {
    if (owned) bt_metrics_free(m);
  }
  MetricsBox(const MetricsBox &) = delete;
  MetricsBox &operator=(const MetricsBox &) = delete;
};
using MetricsRef = std::shared_ptr<MetricsBox>;

struct TracerBox {
  bt_tracer *t = nullptr;
  MetricsRef keep;  // the sink outlives the tracer
  bool finished = false;
  bt_timing timing = BT_TIMING_INIT;
#ifdef Py_GIL_DISABLED
  std::mutex mu;
#endif
  TracerBox(bt_tracer *tracer, MetricsRef metrics) : t(tracer), keep(std::move(metrics)) {}
  ~TracerBox() { bt_tracer_free(t); }
  TracerBox(const TracerBox &) = delete;
  TracerBox &operator=(const TracerBox &) = delete;
};

#ifdef Py_GIL_DISABLED
#define BT_TRACER_LOCK(box) std::lock_guard<std::mutex> bt_lock_(box.mu)
#else
#define BT_TRACER_LOCK(box) (void)0
#endif

py::tuple timing_tuple(const bt_timing &t) {
  uint32_t n = t.phase_count > BT_MAX_PHASES ? BT_MAX_PHASES : t.phase_count;
  py::tuple ns(n), entries(n);
  for (uint32_t p = 0; p < n; ++p) {
    ns[p] = py::int_(t.phase_ns[p]);
    entries[p] = py::int_(t.phase_entries[p]);
  }
  return py::make_tuple(t.op_name ? py::object(utf8(t.op_name)) : py::object(py::none()),
                        t.total_ns, t.unattributed_ns, t.gil_held_ns, t.gil_released_ns,
                        t.gil_wait_ns, t.items, t.gil_releases, t.workers, t.flags, ns,
                        entries);
}

// Fills the phase arrays of `t` from two lists (at most BT_MAX_PHASES long).
void fill_phases(bt_timing &t, const std::vector<uint64_t> &ns,
                 const std::vector<uint32_t> &entries, const char *call) {
  if (ns.size() > BT_MAX_PHASES || entries.size() > BT_MAX_PHASES)
    throw StatusError{BT_E_UNKNOWN_PHASE, call};
  for (std::size_t p = 0; p < ns.size(); ++p) t.phase_ns[p] = ns[p];
  for (std::size_t p = 0; p < entries.size(); ++p) t.phase_entries[p] = entries[p];
  std::size_t n = ns.size() > entries.size() ? ns.size() : entries.size();
  t.phase_count = static_cast<uint32_t>(n);
}

// Sets the Python exception of a failed status (same classes as the
// translator below) and returns NULL, for the raw CPython entry points.
PyObject *set_status_error(int status, const char *call) {
  try {
    py::object exc = make_error(StatusError{status, call});
    PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exc.ptr())), exc.ptr());
  } catch (py::error_already_set &err) {
    err.restore();
  }
  return nullptr;
}

// --- bound operations and tracers: the hot path, in plain CPython -----------------
//
// A traced operation from Python is Op.tracer(), four scopes and finish():
// pybind11's dispatcher and its instance registry cost a few hundred ns per
// call and per object, so Op and Tracer are plain CPython types too (the rest
// of the module stays pybind11). The Pythonic layer checks every argument's
// type and range before a call (_backend.py); these check again, cheaply, and
// raise the same classes. None of them can be created from Python.

struct OpObject {
  PyObject_HEAD
  bt_op *op;
  MetricsRef keep;  // constructed in place; the sink outlives the op
};

struct TracerObject {
  PyObject_HEAD
  TracerBox box;  // constructed in place
};

PyTypeObject *op_type = nullptr;
PyTypeObject *tracer_type = nullptr;

inline TracerBox &tracer_box(PyObject *self) {
  return reinterpret_cast<TracerObject *>(self)->box;
}

// A heap type whose instances only this module makes: no tp_new.
PyTypeObject *make_type(PyType_Spec *spec) {
  auto *tp = reinterpret_cast<PyTypeObject *>(PyType_FromSpec(spec));
  if (!tp) throw py::error_already_set();
#ifndef Py_TPFLAGS_DISALLOW_INSTANTIATION
  tp->tp_new = nullptr;
#endif
  return tp;
}

#ifdef Py_TPFLAGS_DISALLOW_INSTANTIATION
constexpr unsigned long kNoInstantiation = Py_TPFLAGS_DISALLOW_INSTANTIATION;
#else
constexpr unsigned long kNoInstantiation = 0;
#endif

void op_dealloc(PyObject *self) {
  auto *o = reinterpret_cast<OpObject *>(self);
  PyTypeObject *tp = Py_TYPE(self);
  o->keep.~MetricsRef();
  tp->tp_free(self);
  Py_DECREF(tp);
}

// Op.tracer(): bt_tracer_new_op, the clock starts.
PyObject *op_tracer(PyObject *self, PyObject *) {
  auto *o = reinterpret_cast<OpObject *>(self);
  bt_tracer *t = nullptr;
  bt_status st = bt_tracer_new_op(&t, o->op);
  if (st != BT_OK) return set_status_error(st, "bt_tracer_new_op");
  auto *to = PyObject_New(TracerObject, tracer_type);
  if (!to) {
    bt_tracer_free(t);
    return nullptr;
  }
  new (&to->box) TracerBox(t, o->keep);
  return reinterpret_cast<PyObject *>(to);
}

PyObject *op_get_name(PyObject *self, void *) {
  const char *name = bt_op_name(reinterpret_cast<OpObject *>(self)->op);
  return PyUnicode_FromString(name ? name : "");
}

PyMethodDef op_methods[] = {
    {"tracer", op_tracer, METH_NOARGS, "A new tracer, its clock started (bt_tracer_new_op)."},
    {nullptr, nullptr, 0, nullptr}};

PyGetSetDef op_getset[] = {
    {const_cast<char *>("name"), op_get_name, nullptr,
     const_cast<char *>("The operation name (bt_op_name)."), nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyType_Slot op_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void *>(op_dealloc)},
    {Py_tp_methods, op_methods},
    {Py_tp_getset, op_getset},
    {Py_tp_doc, const_cast<char *>("An operation name bound once in one sink (bt_op).")},
    {0, nullptr}};

PyType_Spec op_spec = {"boundarytrace._native.Op", sizeof(OpObject), 0,
                       Py_TPFLAGS_DEFAULT | kNoInstantiation, op_slots};

py::object new_op(bt_op *op, const MetricsRef &keep) {
  auto *o = PyObject_New(OpObject, op_type);
  if (!o) throw py::error_already_set();
  o->op = op;
  new (&o->keep) MetricsRef(keep);
  return py::reinterpret_steal<py::object>(reinterpret_cast<PyObject *>(o));
}

void tracer_dealloc(PyObject *self) {
  PyTypeObject *tp = Py_TYPE(self);
  tracer_box(self).~TracerBox();
  tp->tp_free(self);
  Py_DECREF(tp);
}

// Argument conversions: the Pythonic layer has checked type and range.
bool arg_phase(PyObject *arg, bt_phase_id *out, const char *call) {
  int overflow = 0;
  long v = PyLong_AsLongAndOverflow(arg, &overflow);
  if (v == -1 && PyErr_Occurred()) return false;
  if (overflow || v < INT32_MIN || v > INT32_MAX) {
    set_status_error(BT_E_UNKNOWN_PHASE, call);
    return false;
  }
  *out = static_cast<bt_phase_id>(v);
  return true;
}

bool arg_u64(PyObject *arg, uint64_t *out) {
  unsigned long long v = PyLong_AsUnsignedLongLong(arg);
  if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) return false;
  *out = static_cast<uint64_t>(v);
  return true;
}

bool arg_u32(PyObject *arg, uint32_t *out) {
  unsigned long long v = PyLong_AsUnsignedLongLong(arg);
  if (v == static_cast<unsigned long long>(-1) && PyErr_Occurred()) return false;
  if (v > UINT32_MAX) {
    PyErr_SetString(PyExc_OverflowError, "value does not fit in 32 bits");
    return false;
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

inline PyObject *done(bt_status st, const char *call) {
  if (st != BT_OK) return set_status_error(st, call);
  Py_RETURN_NONE;
}

PyObject *tracer_begin(PyObject *self, PyObject *arg) {
  bt_phase_id phase = 0;
  if (!arg_phase(arg, &phase, "bt_phase_begin")) return nullptr;
  TracerBox &b = tracer_box(self);
  bt_status st;
  {
    BT_TRACER_LOCK(b);
    st = bt_phase_begin(b.t, phase);
  }
  return done(st, "bt_phase_begin");
}

PyObject *tracer_end(PyObject *self, PyObject *arg) {
  bt_phase_id phase = 0;
  if (!arg_phase(arg, &phase, "bt_phase_end")) return nullptr;
  TracerBox &b = tracer_box(self);
  bt_status st;
  {
    BT_TRACER_LOCK(b);
    st = bt_phase_end(b.t, phase);
  }
  return done(st, "bt_phase_end");
}

PyObject *tracer_add_items(PyObject *self, PyObject *arg) {
  uint64_t n = 0;
  if (!arg_u64(arg, &n)) return nullptr;
  TracerBox &b = tracer_box(self);
  bt_status st;
  {
    BT_TRACER_LOCK(b);
    st = bt_tracer_add_items(b.t, n);
  }
  return done(st, "bt_tracer_add_items");
}

PyObject *tracer_add_gil_release(PyObject *self, PyObject *) {
  TracerBox &b = tracer_box(self);
  bt_status st;
  {
    BT_TRACER_LOCK(b);
    st = bt_tracer_add_gil_release(b.t);
  }
  return done(st, "bt_tracer_add_gil_release");
}

PyObject *tracer_add_gil_wait(PyObject *self, PyObject *arg) {
  uint64_t ns = 0;
  if (!arg_u64(arg, &ns)) return nullptr;
  TracerBox &b = tracer_box(self);
  bt_status st;
  {
    BT_TRACER_LOCK(b);
    st = bt_tracer_add_gil_wait(b.t, ns);
  }
  return done(st, "bt_tracer_add_gil_wait");
}

PyObject *tracer_set_workers(PyObject *self, PyObject *arg) {
  uint32_t n = 0;
  if (!arg_u32(arg, &n)) return nullptr;
  TracerBox &b = tracer_box(self);
  bt_status st;
  {
    BT_TRACER_LOCK(b);
    st = bt_tracer_set_workers(b.t, n);
  }
  return done(st, "bt_tracer_set_workers");
}

PyObject *tracer_set_error(PyObject *self, PyObject *) {
  TracerBox &b = tracer_box(self);
  bt_status st;
  {
    BT_TRACER_LOCK(b);
    st = bt_tracer_set_error(b.t);
  }
  return done(st, "bt_tracer_set_error");
}

// finish(): bt_tracer_finish_timing; the timing is kept for timing().
PyObject *tracer_finish(PyObject *self, PyObject *) {
  TracerBox &b = tracer_box(self);
  bt_status st;
  {
    BT_TRACER_LOCK(b);
    bt_timing t = BT_TIMING_INIT;
    st = bt_tracer_finish_timing(&t, b.t);
    if (st == BT_OK) {
      b.timing = t;
      b.finished = true;
    }
  }
  return done(st, "bt_tracer_finish_timing");
}

PyObject *tracer_timing(PyObject *self, PyObject *) {
  TracerBox &b = tracer_box(self);
  try {
    BT_TRACER_LOCK(b);
    if (!b.finished) Py_RETURN_NONE;
    return timing_tuple(b.timing).release().ptr();
  } catch (py::error_already_set &err) {
    err.restore();
    return nullptr;
  }
}

PyMethodDef tracer_methods[] = {
    {"begin", tracer_begin, METH_O, "bt_phase_begin."},
    {"end", tracer_end, METH_O, "bt_phase_end."},
    {"add_items", tracer_add_items, METH_O, "bt_tracer_add_items."},
    {"add_gil_release", tracer_add_gil_release, METH_NOARGS, "bt_tracer_add_gil_release."},
    {"add_gil_wait", tracer_add_gil_wait, METH_O, "bt_tracer_add_gil_wait."},
    {"set_workers", tracer_set_workers, METH_O, "bt_tracer_set_workers."},
    {"set_error", tracer_set_error, METH_NOARGS, "bt_tracer_set_error."},
    {"finish", tracer_finish, METH_NOARGS,
     "bt_tracer_finish_timing; the timing is kept for timing()."},
    {"timing", tracer_timing, METH_NOARGS, "The finished timing as a tuple, or None."},
    {nullptr, nullptr, 0, nullptr}};

PyType_Slot tracer_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void *>(tracer_dealloc)},
    {Py_tp_methods, tracer_methods},
    {Py_tp_doc, const_cast<char *>("One traced operation in flight (bt_tracer).")},
    {0, nullptr}};

PyType_Spec tracer_spec = {"boundarytrace._native.Tracer", sizeof(TracerObject), 0,
                           Py_TPFLAGS_DEFAULT | kNoInstantiation, tracer_slots};

// --- phase scopes: the hot path, in plain CPython ---------------------------------
//
// `with t.phase(p):` creates one of these per phase entered. pybind11's
// dispatcher costs a few hundred ns per call, so the scope is a plain CPython
// type: scope(tracer, phase) is a METH_FASTCALL function, __enter__ and
// __exit__ are METH_NOARGS / METH_FASTCALL methods that call bt_phase_begin and
// bt_phase_end directly. __exit__ always ends the phase; when an exception is
// in flight, a failure to end it is ignored so that the exception is the one
// reported. The scope holds a strong reference to its Tracer object.

struct ScopeObject {
  PyObject_HEAD
  PyObject *owner;  // the Tracer object (keeps the TracerBox alive)
  TracerBox *box;
  bt_phase_id phase;
};

PyTypeObject *scope_type = nullptr;

void scope_dealloc(PyObject *self) {
  auto *s = reinterpret_cast<ScopeObject *>(self);
  PyTypeObject *tp = Py_TYPE(self);
  Py_XDECREF(s->owner);
  tp->tp_free(self);
  Py_DECREF(tp);
}

PyObject *scope_enter(PyObject *self, PyObject *) {
  auto *s = reinterpret_cast<ScopeObject *>(self);
  bt_status st;
  {
    BT_TRACER_LOCK((*s->box));
    st = bt_phase_begin(s->box->t, s->phase);
  }
  if (st != BT_OK) return set_status_error(st, "bt_phase_begin");
  Py_INCREF(self);
  return self;
}

PyObject *scope_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
  auto *s = reinterpret_cast<ScopeObject *>(self);
  bt_status st;
  {
    BT_TRACER_LOCK((*s->box));
    st = bt_phase_end(s->box->t, s->phase);
  }
  bool in_flight = nargs > 0 && args[0] != Py_None;
  if (st != BT_OK && !in_flight) return set_status_error(st, "bt_phase_end");
  Py_RETURN_FALSE;
}

PyObject *scope_get_phase(PyObject *self, void *) {
  return PyLong_FromLong(reinterpret_cast<ScopeObject *>(self)->phase);
}

PyMethodDef scope_methods[] = {
    {"__enter__", scope_enter, METH_NOARGS, "Enters the phase (bt_phase_begin)."},
    {"__exit__", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)(void)>(scope_exit)),
     METH_FASTCALL, "Leaves the phase (bt_phase_end), also when an exception is in flight."},
    {nullptr, nullptr, 0, nullptr}};

PyGetSetDef scope_getset[] = {
    {const_cast<char *>("phase"), scope_get_phase, nullptr,
     const_cast<char *>("The phase id."), nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyType_Slot scope_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void *>(scope_dealloc)},
    {Py_tp_methods, scope_methods},
    {Py_tp_getset, scope_getset},
    {Py_tp_doc, const_cast<char *>("with t.phase(p): enters phase p, leaves it on exit.")},
    {0, nullptr}};

PyType_Spec scope_spec = {"boundarytrace._native.PhaseScope", sizeof(ScopeObject), 0,
                          Py_TPFLAGS_DEFAULT | kNoInstantiation, scope_slots};

// scope(tracer, phase) -> PhaseScope
PyObject *scope_new(PyObject *, PyObject *const *args, Py_ssize_t nargs) {
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "scope(tracer, phase) takes 2 arguments");
    return nullptr;
  }
  if (Py_TYPE(args[0]) != tracer_type) {
    PyErr_SetString(PyExc_TypeError, "scope: expected a boundarytrace._native.Tracer");
    return nullptr;
  }
  TracerBox *box = &tracer_box(args[0]);
  int overflow = 0;
  long phase = PyLong_AsLongAndOverflow(args[1], &overflow);
  if (phase == -1 && PyErr_Occurred()) return nullptr;
  if (overflow || phase < INT32_MIN || phase > INT32_MAX)
    return set_status_error(BT_E_UNKNOWN_PHASE, "bt_phase_begin");
  auto *s = PyObject_New(ScopeObject, scope_type);
  if (!s) return nullptr;
  Py_INCREF(args[0]);
  s->owner = args[0];
  s->box = box;
  s->phase = static_cast<bt_phase_id>(phase);
  return reinterpret_cast<PyObject *>(s);
}

PyMethodDef scope_new_def = {
    "scope", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)(void)>(scope_new)),
    METH_FASTCALL, "scope(tracer, phase): a context manager that enters `phase` and leaves it."};

// --- snapshots ----------------------------------------------------------------

struct SnapshotBox {
  bt_snapshot *s;
  explicit SnapshotBox(bt_snapshot *snapshot) : s(snapshot) {}
  ~SnapshotBox() { bt_snapshot_free(s); }
  SnapshotBox(const SnapshotBox &) = delete;
  SnapshotBox &operator=(const SnapshotBox &) = delete;
};

}  // namespace

#if defined(PYBIND11_VERSION_HEX) && PYBIND11_VERSION_HEX >= 0x03000000
PYBIND11_MODULE(_native, m, py::mod_gil_not_used(), py::multiple_interpreters::not_supported())
#elif defined(PYBIND11_VERSION_HEX) && PYBIND11_VERSION_HEX >= 0x020D0000
PYBIND11_MODULE(_native, m, py::mod_gil_not_used())
#else
#error "boundarytrace needs pybind11 >= 2.13 (py::mod_gil_not_used)"
#endif
{
  m.doc() = "pybind11 backend of boundarytrace (internal; use the boundarytrace package)";

  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError &e) {
      try {
        py::object exc = make_error(e);
        PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exc.ptr())), exc.ptr());
      } catch (py::error_already_set &err) {
        err.restore();
      }
    }
  });

  // --- library -------------------------------------------------------------
  m.def("version", &bt_version, "bt_version(): MAJOR*10000 + MINOR*100 + PATCH.");
  m.def("version_string", [] { return std::string(bt_version_string()); });
  m.def("status_str", [](int st) { return std::string(bt_status_str(st)); });
  m.def("status_name", [](int st) { return std::string(bt_status_name(st)); });
  m.def("set_enabled", [](bool on) { bt_set_enabled(on ? 1 : 0); });
  m.def("is_enabled", [] { return bt_is_enabled() != 0; });
  m.def("clock_now_ns", &bt_clock_now_ns);
  m.def("clock_source", [] { return std::string(bt_clock_source()); });
  m.def("library_path", [] { return py::none(); },
        "None: the extension finds the library through its RPATH ($ORIGIN).");

  // --- phases --------------------------------------------------------------
  m.def("phase_register", [](const std::string &name, bool gil_held) {
    bt_phase_id id = 0;
    check(bt_phase_register(&id, name.c_str(), gil_held ? 1 : 0), "bt_phase_register");
    return id;
  });
  m.def("phase_lookup", [](const std::string &name) {
    bt_phase_id id = 0;
    check(bt_phase_lookup(&id, name.c_str()), "bt_phase_lookup");
    return id;
  });
  m.def("phase_info", [](bt_phase_id id) {
    const char *name = nullptr;
    int held = 0;
    check(bt_phase_get_info(&name, &held, id), "bt_phase_get_info");
    return py::make_tuple(utf8(name), held != 0);
  });
  m.def("phase_count", &bt_phase_count);

  // --- exports and the timeline ----------------------------------------------
  // Formats arrive as bt_format values the Python layer has checked (0..4).
  m.def("format_for_path", [](const std::string &path) {
    bt_format f = BT_FORMAT_TEXT;
    check(bt_format_for_path(&f, path.c_str()), "bt_format_for_path");
    return static_cast<int>(f);
  });
  m.def("timeline_start", [](std::size_t capacity) {
    check(bt_timeline_start(capacity), "bt_timeline_start");
  });
  m.def("timeline_stop", [] { check(bt_timeline_stop(), "bt_timeline_stop"); });
  m.def("timeline_info", [] {
    bt_timeline_info info = BT_TIMELINE_INFO_INIT;
    check(bt_timeline_get_info(&info), "bt_timeline_get_info");
    return py::make_tuple(info.capacity, info.kept, info.dropped, info.active != 0);
  });
  m.def("timeline_export", [] {
    return format_with(
        [](char *buf, std::size_t cap, std::size_t *needed) {
          return bt_timeline_export(buf, cap, needed);
        },
        "bt_timeline_export");
  });
  m.def("timeline_write", [](const std::string &path) {
    io_call([&path] { return bt_timeline_write(path.c_str()); }, path, "bt_timeline_write");
  });
  // A shared directory's flight recorder: read from files (the GIL released,
  // the errno of a BT_E_IO kept), then rendered like timeline_export.
  m.def("timeline_export_shared", [](const std::string &dir, std::int64_t pid) {
    return format_with(
        [&dir, pid](char *buf, std::size_t cap, std::size_t *needed) {
          io_call([&] { return bt_timeline_export_shared(buf, cap, needed, dir.c_str(), pid); },
                  dir, "bt_timeline_export_shared");
          return BT_OK;
        },
        "bt_timeline_export_shared");
  });

  // --- timing text -----------------------------------------------------------
  m.def(
      "timing_format",
      [](py::object op_name, uint64_t total_ns, uint64_t unattributed_ns, uint64_t gil_held_ns,
         uint64_t gil_released_ns, uint64_t gil_wait_ns, uint64_t items, uint32_t gil_releases,
         uint32_t workers, uint32_t flags, const std::vector<uint64_t> &phase_ns,
         const std::vector<uint32_t> &phase_entries) {
        bt_timing t = BT_TIMING_INIT;
        std::string name;
        if (!op_name.is_none()) {
          name = op_name.cast<std::string>();
          t.op_name = name.c_str();
        }
        t.total_ns = total_ns;
        t.unattributed_ns = unattributed_ns;
        t.gil_held_ns = gil_held_ns;
        t.gil_released_ns = gil_released_ns;
        t.gil_wait_ns = gil_wait_ns;
        t.items = items;
        t.gil_releases = gil_releases;
        t.workers = workers;
        t.flags = flags;
        fill_phases(t, phase_ns, phase_entries, "bt_timing_format");
        return format_with(
            [&t](char *buf, std::size_t cap, std::size_t *needed) {
              return bt_timing_format(buf, cap, needed, &t);
            },
            "bt_timing_format");
      });

  // --- snapshots ---------------------------------------------------------------
  py::class_<SnapshotBox>(m, "Snapshot", "An immutable copy of a sink's aggregates.")
      .def("info",
           [](const SnapshotBox &s) {
             bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
             check(bt_snapshot_get_info(&info, s.s), "bt_snapshot_get_info");
             return py::make_tuple(info.op_count, info.start_ns, info.end_ns, info.phase_count,
                                   info.dropped, info.processes, info.skipped);
           })
      .def("skipped",
           [](const SnapshotBox &s) {
             bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
             check(bt_snapshot_get_info(&info, s.s), "bt_snapshot_get_info");
             py::list out;
             for (std::size_t i = 0; i < info.skipped; ++i) {
               const char *path = nullptr, *reason = nullptr;
               check(bt_snapshot_get_skipped(&path, &reason, s.s, i), "bt_snapshot_get_skipped");
               out.append(py::make_tuple(py::bytes(path ? path : ""), utf8_lenient(reason)));
             }
             return out;
           })
      .def("find",
           [](const SnapshotBox &s, const std::string &name) -> py::object {
             std::size_t index = 0;
             bt_status st = bt_snapshot_find(&index, s.s, name.c_str());
             if (st == BT_E_NOT_FOUND) return py::none();
             check(st, "bt_snapshot_find");
             return py::int_(index);
           })
      .def("op_stats",
           [](const SnapshotBox &s, std::size_t index) {
             bt_op_stats o = BT_OP_STATS_INIT;
             check(bt_snapshot_op_stats(&o, s.s, index), "bt_snapshot_op_stats");
             return py::make_tuple(utf8(o.name), o.count, o.errors, o.left_open, o.items,
                                   o.total_ns, o.gil_held_ns, o.gil_released_ns, o.gil_wait_ns,
                                   o.unattributed_ns, o.gil_releases, o.parallel_ops,
                                   o.workers_max, (o.flags & BT_STATS_SATURATED) != 0);
           })
      .def("phase_stats",
           [](const SnapshotBox &s, std::size_t index, bt_phase_id phase) {
             bt_phase_stats p = BT_PHASE_STATS_INIT;
             check(bt_snapshot_phase_stats(&p, s.s, index, phase), "bt_snapshot_phase_stats");
             return py::make_tuple(utf8(p.name), p.phase, p.gil_held, p.count, p.entries,
                                   p.sum_ns, p.min_ns, p.max_ns, p.p50_ns, p.p90_ns, p.p99_ns,
                                   p.p999_ns);
           })
      .def("quantile",
           [](const SnapshotBox &s, std::size_t index, bt_phase_id phase, double q) {
             uint64_t ns = 0;
             check(bt_snapshot_quantile(&ns, s.s, index, phase, q), "bt_snapshot_quantile");
             return ns;
           })
      .def("buckets",
           [](const SnapshotBox &s, std::size_t index, bt_phase_id phase) {
             std::vector<bt_bucket> buf(64);
             std::size_t count = 0;
             for (int attempt = 0; attempt < 4; ++attempt) {
               check(bt_snapshot_buckets(buf.data(), buf.size(), &count, s.s, index, phase),
                     "bt_snapshot_buckets");
               if (count <= buf.size()) break;
               buf.resize(count);
             }
             if (count > buf.size()) throw StatusError{BT_E_INTERNAL, "bt_snapshot_buckets"};
             py::list out(count);
             for (std::size_t i = 0; i < count; ++i)
               out[i] = py::make_tuple(buf[i].lower_ns, buf[i].upper_ns, buf[i].count);
             return out;
           })
      .def("format",
           [](const SnapshotBox &s) {
             return format_with(
                 [&s](char *buf, std::size_t cap, std::size_t *needed) {
                   return bt_snapshot_format(buf, cap, needed, s.s);
                 },
                 "bt_snapshot_format");
           })
      .def("export",
           [](const SnapshotBox &s, int fmt) {
             return format_with(
                 [&s, fmt](char *buf, std::size_t cap, std::size_t *needed) {
                   return bt_snapshot_export(buf, cap, needed, s.s, static_cast<bt_format>(fmt));
                 },
                 "bt_snapshot_export");
           })
      .def("export_bytes",
           [](const SnapshotBox &s, int fmt) {
             return py::bytes(format_with(
                 [&s, fmt](char *buf, std::size_t cap, std::size_t *needed) {
                   return bt_snapshot_export(buf, cap, needed, s.s, static_cast<bt_format>(fmt));
                 },
                 "bt_snapshot_export"));
           })
      .def("write", [](const SnapshotBox &s, int fmt, const std::string &path) {
        io_call([&s, fmt, &path] {
          return bt_snapshot_write(s.s, static_cast<bt_format>(fmt), path.c_str());
        }, path, "bt_snapshot_write");
      });

  // --- bound operations and tracers: plain CPython types (above) -----------------------
  op_type = make_type(&op_spec);
  tracer_type = make_type(&tracer_spec);
  m.add_object("Op", py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject *>(op_type)));
  m.add_object("Tracer",
               py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject *>(tracer_type)));

  // --- sinks -------------------------------------------------------------------------
  py::class_<MetricsBox, MetricsRef>(m, "Metrics", "A sink (bt_metrics); Metrics() is a private one.")
      .def(py::init([] {
        bt_metrics *mt = nullptr;
        check(bt_metrics_new(&mt), "bt_metrics_new");
        return std::make_shared<MetricsBox>(mt, true);
      }))
      .def_static("open_shared",
                  [](const std::string &dir) {
                    bt_metrics *mt = nullptr;
                    io_call([&mt, &dir] { return bt_metrics_open_shared(&mt, dir.c_str()); }, dir,
                            "bt_metrics_open_shared");
                    return std::make_shared<MetricsBox>(mt, true);
                  })
      .def_property_readonly("is_global", [](const MetricsBox &b) { return !b.owned; })
      .def("op",
           [](const MetricsRef &b, const std::string &name) {
             bt_op *op = nullptr;
             check(bt_op_lookup(&op, b->m, name.c_str()), "bt_op_lookup");
             return new_op(op, b);
           })
      .def("record",
           [](const MetricsRef &b, const std::string &op_name, uint64_t total_ns,
              uint64_t gil_wait_ns, uint64_t items, uint32_t gil_releases, uint32_t workers,
              uint32_t flags, const std::vector<uint64_t> &phase_ns,
              const std::vector<uint32_t> &phase_entries) {
             bt_timing t = BT_TIMING_INIT;
             t.op_name = op_name.c_str();
             t.total_ns = total_ns;
             t.gil_wait_ns = gil_wait_ns;
             t.items = items;
             t.gil_releases = gil_releases;
             t.workers = workers;
             t.flags = flags;
             fill_phases(t, phase_ns, phase_entries, "bt_metrics_record");
             check(bt_metrics_record(b->m, &t), "bt_metrics_record");
           })
      .def("snapshot",
           [](const MetricsRef &b) {
             bt_snapshot *s = nullptr;
             check(bt_metrics_snapshot(&s, b->m), "bt_metrics_snapshot");
             return std::unique_ptr<SnapshotBox>(new SnapshotBox(s));
           })
      .def("take",
           [](const MetricsRef &b) {
             bt_snapshot *interval = nullptr, *cumulative = nullptr;
             check(bt_metrics_take(&interval, &cumulative, b->m), "bt_metrics_take");
             std::unique_ptr<SnapshotBox> i(new SnapshotBox(interval));
             std::unique_ptr<SnapshotBox> c(new SnapshotBox(cumulative));
             return py::make_tuple(std::move(i), std::move(c));
           })
      .def("reset", [](const MetricsRef &b) {
        check(bt_metrics_reset(b->m), "bt_metrics_reset");
      });

  scope_type = make_type(&scope_spec);
  m.add_object("PhaseScope", py::reinterpret_borrow<py::object>(
                                 reinterpret_cast<PyObject *>(scope_type)));
  m.add_object("scope", py::reinterpret_steal<py::object>(
                            PyCFunction_NewEx(&scope_new_def, nullptr, m.ptr())));

  m.def("read_shared", [](const std::string &dir) {
    bt_snapshot *s = nullptr;
    io_call([&s, &dir] { return bt_snapshot_read_shared(&s, dir.c_str()); }, dir,
            "bt_snapshot_read_shared");
    return std::unique_ptr<SnapshotBox>(new SnapshotBox(s));
  });

  m.def("metrics_global", [] {
    static MetricsRef global = std::make_shared<MetricsBox>(bt_metrics_global(), false);
    return global;
  });
}
