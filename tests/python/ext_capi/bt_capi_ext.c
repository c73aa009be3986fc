/*
 * bt_capi_ext: a hand-written CPython C API extension traced with
 * boundarytrace/python.h; built on the fly by the capi_ext fixture of
 * tests/python/conftest.py (setuptools, against the installed package's
 * headers and library), never by the main build; tested by
 * tests/python/test_capi_cython_helpers.py.
 *
 * Each function traces one operation and returns its timing as a dict
 * (bt_tracer_finish_timing's copy); the records land in the process-wide
 * sink too, which the tests read through boundarytrace.snapshot().
 */
#define PY_SSIZE_T_CLEAN
#include <boundarytrace/python.h>

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

/* Bumped by Python threads through tick(): a call that needs the GIL, so its
   progress during a released phase proves the GIL was released. */
static atomic_ullong g_ticks;

static uint64_t add_bytes(const unsigned char *p, Py_ssize_t n) {
  uint64_t sum = 0;
  Py_ssize_t i;
  for (i = 0; i < n; ++i) sum += p[i];
  return sum;
}

/* Adds `key: value` to `d` (steals value). 0 on success. */
static int put(PyObject *d, const char *key, PyObject *value) {
  int rc;
  if (value == NULL) return -1;
  rc = PyDict_SetItemString(d, key, value);
  Py_DECREF(value);
  return rc;
}

#define PUT_U64(d, key, v) put((d), (key), PyLong_FromUnsignedLongLong((unsigned long long)(v)))

/* The timing as a dict, plus the tracer status `finish` of the finish call. */
static PyObject *timing_dict(const bt_timing *t, bt_status finish) {
  PyObject *d = PyDict_New(), *ns = NULL, *entries = NULL;
  int i;
  if (d == NULL) return NULL;
  ns = PyList_New(4);
  entries = PyList_New(4);
  if (ns == NULL || entries == NULL) goto fail;
  for (i = 0; i < 4; ++i) {
    PyObject *a = PyLong_FromUnsignedLongLong(t->phase_ns[i]);
    PyObject *b = PyLong_FromUnsignedLong(t->phase_entries[i]);
    if (a == NULL || b == NULL) {
      Py_XDECREF(a);
      Py_XDECREF(b);
      goto fail;
    }
    PyList_SET_ITEM(ns, i, a);
    PyList_SET_ITEM(entries, i, b);
  }
  if (put(d, "phase_ns", ns) < 0) { ns = NULL; goto fail; }
  ns = NULL;
  if (put(d, "phase_entries", entries) < 0) { entries = NULL; goto fail; }
  entries = NULL;
  if (PUT_U64(d, "total_ns", t->total_ns) < 0 || PUT_U64(d, "unattributed_ns", t->unattributed_ns) < 0 ||
      PUT_U64(d, "gil_held_ns", t->gil_held_ns) < 0 ||
      PUT_U64(d, "gil_released_ns", t->gil_released_ns) < 0 ||
      PUT_U64(d, "gil_wait_ns", t->gil_wait_ns) < 0 || PUT_U64(d, "gil_releases", t->gil_releases) < 0 ||
      PUT_U64(d, "items", t->items) < 0 || PUT_U64(d, "flags", t->flags) < 0 ||
      put(d, "finish_status", PyLong_FromLong(finish)) < 0)
    goto fail;
  return d;
fail:
  Py_XDECREF(ns);
  Py_XDECREF(entries);
  Py_DECREF(d);
  return NULL;
}

/* Finishes and frees `t`; returns its timing dict (NULL with an exception set
   when the dict cannot be built). */
static PyObject *finish(bt_tracer *t) {
  bt_timing timing = BT_TIMING_INIT;
  bt_status st = bt_tracer_finish_timing(&timing, t);
  bt_tracer_free(t);
  return timing_dict(&timing, st);
}

static bt_tracer *new_tracer(const char *op) {
  bt_tracer *t = NULL;
  bt_status st = bt_tracer_new(&t, NULL, op);
  if (st != BT_OK) {
    PyErr_Format(PyExc_RuntimeError, "bt_tracer_new: %s", bt_status_name(st));
    return NULL;
  }
  return t;
}

/*
 * sum_bytes(op, data, chunks) -> dict: the sum of the bytes of `data` (any
 * buffer), read in a GIL-held extract phase, summed in `chunks` GIL-released
 * convert phases (one release each, with the block macros), the result built
 * in a GIL-held materialize phase. Keys of the timing, plus "sum".
 */
static PyObject *sum_bytes(PyObject *self, PyObject *args) {
  const char *op;
  PyObject *data, *result = NULL, *d;
  Py_ssize_t chunks, i, step;
  Py_buffer view;
  uint64_t sum = 0;
  int rc = -1;
  bt_tracer *t;
  (void)self;
  if (!PyArg_ParseTuple(args, "sOn", &op, &data, &chunks)) return NULL;
  if (chunks < 1) {
    PyErr_SetString(PyExc_ValueError, "chunks must be at least 1");
    return NULL;
  }
  if ((t = new_tracer(op)) == NULL) return NULL;

  BT_PY_BEGIN_HELD(t, BT_PHASE_EXTRACT)
    rc = PyObject_GetBuffer(data, &view, PyBUF_SIMPLE);
  BT_PY_END_HELD
  if (rc < 0) {
    (void)bt_tracer_set_error(t);
    Py_XDECREF(finish(t));
    return NULL;
  }

  step = (view.len + chunks - 1) / chunks;
  for (i = 0; i < chunks; ++i) {
    Py_ssize_t from = i * step, to = from + step;
    if (from > view.len) from = view.len;
    if (to > view.len) to = view.len;
    BT_PY_BEGIN_ALLOW_THREADS(t, BT_PHASE_CONVERT)
      sum += add_bytes((const unsigned char *)view.buf + from, to - from);
    BT_PY_END_ALLOW_THREADS
  }

  BT_PY_BEGIN_HELD(t, BT_PHASE_MATERIALIZE)
    result = PyLong_FromUnsignedLongLong((unsigned long long)sum);
  BT_PY_END_HELD
  (void)bt_tracer_add_items(t, (uint64_t)view.len);
  PyBuffer_Release(&view);

  d = finish(t);
  if (d == NULL) {
    Py_XDECREF(result);
    return NULL;
  }
  if (put(d, "sum", result) < 0) { /* takes result; fails on NULL */
    Py_DECREF(d);
    return NULL;
  }
  return d;
}

/*
 * convert_then_network(op, data) -> dict: convert (sum) then network (an
 * empty stretch) under one release: BT_PY_NEXT_PHASE.
 */
static PyObject *convert_then_network(PyObject *self, PyObject *args) {
  const char *op;
  Py_buffer view;
  uint64_t sum = 0;
  bt_status status = BT_OK;
  bt_tracer *t;
  PyObject *d;
  (void)self;
  if (!PyArg_ParseTuple(args, "sy*", &op, &view)) return NULL;
  if ((t = new_tracer(op)) == NULL) {
    PyBuffer_Release(&view);
    return NULL;
  }
  BT_PY_BEGIN_ALLOW_THREADS(t, BT_PHASE_CONVERT)
    sum = add_bytes((const unsigned char *)view.buf, view.len);
    BT_PY_NEXT_PHASE(BT_PHASE_NETWORK);
    status = BT_PY_RELEASED_STATUS;
  BT_PY_END_ALLOW_THREADS
  PyBuffer_Release(&view);
  d = finish(t);
  if (d == NULL) return NULL;
  if (PUT_U64(d, "sum", sum) < 0 || put(d, "status", PyLong_FromLong(status)) < 0) {
    Py_DECREF(d);
    return NULL;
  }
  return d;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * released_until_tick(op, timeout_s) -> dict: a released convert phase (the
 * functions, not the macros) that lasts until another Python thread has
 * called tick() (it can only while the GIL is released), or the timeout.
 * That thread then holds the GIL when this one asks for it back: the wait is
 * real. Keys of the timing, plus "ticks" and "wait_ns" (the stretch's own
 * measurement), "status".
 */
static PyObject *released_until_tick(PyObject *self, PyObject *args) {
  const char *op;
  double timeout;
  bt_py_released r;
  unsigned long long start, ticks;
  uint64_t deadline;
  bt_tracer *t;
  PyObject *d;
  (void)self;
  if (!PyArg_ParseTuple(args, "sd", &op, &timeout)) return NULL;
  if ((t = new_tracer(op)) == NULL) return NULL;
  (void)bt_py_released_begin(&r, t, BT_PHASE_CONVERT);
  start = atomic_load(&g_ticks);
  deadline = now_ns() + (uint64_t)(timeout * 1e9);
  while (atomic_load(&g_ticks) == start && now_ns() < deadline) {
  }
  ticks = atomic_load(&g_ticks) - start;
  bt_py_released_end(&r);
  d = finish(t);
  if (d == NULL) return NULL;
  if (PUT_U64(d, "ticks", ticks) < 0 || PUT_U64(d, "wait_ns", r.wait_ns) < 0 ||
      put(d, "status", PyLong_FromLong(r.status)) < 0) {
    Py_DECREF(d);
    return NULL;
  }
  return d;
}

/* tick(): counts one call (needs the GIL, as every Python call). */
static PyObject *tick(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  atomic_fetch_add(&g_ticks, 1);
  Py_RETURN_NONE;
}

/*
 * misuse(data) -> dict of statuses and sums: the helpers on bad tracers, each
 * still summing `data` correctly with the GIL released and reacquired.
 *   null_*: a NULL tracer; finished_*: a tracer already finished
 *   (operation "bt_capi_ext.finished"); conflict_*: phases of the wrong GIL
 *   state on a live tracer (operation "bt_capi_ext.conflict").
 */
static PyObject *misuse(PyObject *self, PyObject *args) {
  Py_buffer view;
  bt_py_released r;
  bt_tracer *t = NULL;
  PyObject *d;
  uint64_t sums[3] = {0, 0, 0};
  long st[8];
  int i;
  (void)self;
  if (!PyArg_ParseTuple(args, "y*", &view)) return NULL;

  /* A NULL tracer: the block macros and the functions. */
  BT_PY_BEGIN_HELD(NULL, BT_PHASE_EXTRACT)
  BT_PY_END_HELD
  BT_PY_BEGIN_ALLOW_THREADS(NULL, BT_PHASE_CONVERT)
    sums[0] = add_bytes((const unsigned char *)view.buf, view.len);
    BT_PY_NEXT_PHASE(BT_PHASE_NETWORK);
  BT_PY_END_ALLOW_THREADS
  st[0] = bt_py_released_begin(&r, NULL, BT_PHASE_CONVERT);
  st[1] = bt_py_released_next(&r, BT_PHASE_NETWORK);
  bt_py_released_end(&r);
  bt_py_released_end(&r); /* twice: nothing happens */
  bt_py_released_end(NULL);
  st[2] = bt_py_held_begin(NULL, BT_PHASE_EXTRACT);
  st[3] = bt_py_held_end(NULL, BT_PHASE_EXTRACT);
  st[4] = bt_py_released_begin(NULL, NULL, BT_PHASE_CONVERT); /* nothing happens */

  /* A finished tracer. */
  (void)bt_tracer_new(&t, NULL, "bt_capi_ext.finished");
  (void)bt_tracer_finish(t);
  st[5] = bt_py_released_begin(&r, t, BT_PHASE_CONVERT);
  sums[1] = add_bytes((const unsigned char *)view.buf, view.len);
  bt_py_released_end(&r);
  BT_PY_BEGIN_ALLOW_THREADS(t, BT_PHASE_NETWORK)
  BT_PY_END_ALLOW_THREADS
  bt_tracer_free(t);

  /* Phases of the wrong GIL state: refused, the GIL still released. */
  (void)bt_tracer_new(&t, NULL, "bt_capi_ext.conflict");
  st[6] = bt_py_released_begin(&r, t, BT_PHASE_EXTRACT);
  sums[2] = add_bytes((const unsigned char *)view.buf, view.len);
  bt_py_released_end(&r);
  st[7] = bt_py_held_begin(t, BT_PHASE_CONVERT);
  (void)bt_tracer_finish(t);
  bt_tracer_free(t);
  PyBuffer_Release(&view);

  if ((d = PyDict_New()) == NULL) return NULL;
  {
    static const char *const names[8] = {"null_begin", "null_next", "null_held_begin",
                                         "null_held_end", "null_out", "finished_begin",
                                         "conflict_released", "conflict_held"};
    for (i = 0; i < 8; ++i)
      if (put(d, names[i], PyUnicode_FromString(bt_status_name((int)st[i]))) < 0) goto fail;
  }
  if (PUT_U64(d, "null_sum", sums[0]) < 0 || PUT_U64(d, "finished_sum", sums[1]) < 0 ||
      PUT_U64(d, "conflict_sum", sums[2]) < 0)
    goto fail;
  return d;
fail:
  Py_DECREF(d);
  return NULL;
}

static PyMethodDef methods[] = {
    {"sum_bytes", sum_bytes, METH_VARARGS, "sum_bytes(op, data, chunks) -> dict"},
    {"convert_then_network", convert_then_network, METH_VARARGS,
     "convert_then_network(op, data) -> dict"},
    {"released_until_tick", released_until_tick, METH_VARARGS,
     "released_until_tick(op, timeout_s) -> dict"},
    {"tick", tick, METH_NOARGS, "tick(): one call that needs the GIL"},
    {"misuse", misuse, METH_VARARGS, "misuse(data) -> dict of statuses"},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
#ifdef Py_GIL_DISABLED
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "bt_capi_ext", "boundarytrace/python.h under test", 0, methods, slots,
    NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_bt_capi_ext(void) { return PyModuleDef_Init(&module); }
