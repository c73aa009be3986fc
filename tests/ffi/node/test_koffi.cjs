// boundarytrace from Node.js through koffi: no addon, no header, only the
// declarations of docs/ffi.md. The library is loaded by its SONAME, so the
// dynamic loader searches LD_LIBRARY_PATH (CTest sets it to the build's
// library directory); BT_LIBRARY=/path/to/libboundarytrace.so.1 overrides.
//
//   NODE_PATH=<dir>/node_modules LD_LIBRARY_PATH=<libdir> node --test test_koffi.cjs
//
// Runs a four-phase operation into a private sink and reads the snapshot back
// (operation stats, the network phase's p50, the text report), and checks the
// version and a bad call's status. node --test exits non-zero on any failure.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');

let koffi;
try {
  koffi = require('koffi');
} catch (e) {
  console.error('koffi is not installed: run `npm ci` in tests/ffi/node (CTest does it in ' +
                'its build directory) and put its node_modules on NODE_PATH');
  throw e;
}

const SONAME = 'libboundarytrace.so.1';   // lib<name>.so.<BT_ABI_VERSION>
const WANT_MAJOR = 0;                     // release major the declarations come from
const WANT_MIN = 100;                     // 0.1.0: the version they were copied from
const [EXTRACT, CONVERT, NETWORK, MATERIALIZE, TOTAL] = [0, 1, 2, 3, -1];
const MAX_PHASES = 32;

const LIBRARY = process.env.BT_LIBRARY || SONAME;
let lib;
try {
  lib = koffi.load(LIBRARY);
} catch (e) {
  // koffi's message does not name the file.
  throw new Error(`cannot load ${LIBRARY} (set LD_LIBRARY_PATH or BT_LIBRARY): ${e.message}`);
}

// ---- the declarations an FFI user needs (docs/ffi.md) -----------------------
koffi.opaque('bt_tracer');
koffi.opaque('bt_metrics');
koffi.opaque('bt_snapshot');

const bt_timing = koffi.struct('bt_timing', {
  struct_size: 'size_t',
  op_name: 'const char *',
  total_ns: 'uint64_t',
  unattributed_ns: 'uint64_t',
  gil_held_ns: 'uint64_t',
  gil_released_ns: 'uint64_t',
  gil_wait_ns: 'uint64_t',
  items: 'uint64_t',
  gil_releases: 'uint32_t',
  workers: 'uint32_t',
  flags: 'uint32_t',
  phase_count: 'uint32_t',
  phase_ns: koffi.array('uint64_t', MAX_PHASES, 'Array'),    // 'Array': Numbers, not a BigUint64Array
  phase_entries: koffi.array('uint32_t', MAX_PHASES, 'Array'),
});

const bt_op_stats = koffi.struct('bt_op_stats', {
  struct_size: 'size_t',
  name: 'const char *',
  count: 'uint64_t',
  errors: 'uint64_t',
  left_open: 'uint64_t',
  items: 'uint64_t',
  total_ns: 'uint64_t',
  gil_held_ns: 'uint64_t',
  gil_released_ns: 'uint64_t',
  gil_wait_ns: 'uint64_t',
  unattributed_ns: 'uint64_t',
  gil_releases: 'uint64_t',
  parallel_ops: 'uint64_t',
  workers_max: 'uint32_t',
  reserved_: 'uint32_t',
});

const bt_phase_stats = koffi.struct('bt_phase_stats', {
  struct_size: 'size_t',
  name: 'const char *',
  phase: 'int32_t',
  gil_held: 'int32_t',
  count: 'uint64_t',
  entries: 'uint64_t',
  sum_ns: 'uint64_t',
  min_ns: 'uint64_t',
  max_ns: 'uint64_t',
  p50_ns: 'uint64_t',
  p90_ns: 'uint64_t',
  p99_ns: 'uint64_t',
  p999_ns: 'uint64_t',
});

const bt = {
  version: lib.func('unsigned int bt_version(void)'),
  version_string: lib.func('const char *bt_version_string(void)'),
  status_name: lib.func('const char *bt_status_name(int status)'),
  metrics_new: lib.func('int bt_metrics_new(_Out_ bt_metrics **out)'),
  metrics_free: lib.func('void bt_metrics_free(bt_metrics *m)'),
  metrics_snapshot: lib.func('int bt_metrics_snapshot(_Out_ bt_snapshot **out, bt_metrics *m)'),
  tracer_new: lib.func('int bt_tracer_new(_Out_ bt_tracer **out, bt_metrics *m, const char *op)'),
  phase_begin: lib.func('int bt_phase_begin(bt_tracer *t, int32_t phase)'),
  phase_end: lib.func('int bt_phase_end(bt_tracer *t, int32_t phase)'),
  add_items: lib.func('int bt_tracer_add_items(bt_tracer *t, uint64_t n)'),
  gil_release: lib.func('int bt_tracer_add_gil_release(bt_tracer *t)'),
  gil_wait: lib.func('int bt_tracer_add_gil_wait(bt_tracer *t, uint64_t ns)'),
  // _Inout_: struct_size must travel in, the filled struct back out.
  finish: lib.func('int bt_tracer_finish(bt_tracer *t)'),
  finish_timing: lib.func('int bt_tracer_finish_timing(_Inout_ bt_timing *out, bt_tracer *t)'),
  tracer_free: lib.func('void bt_tracer_free(bt_tracer *t)'),
  snapshot_free: lib.func('void bt_snapshot_free(bt_snapshot *s)'),
  snapshot_find: lib.func('int bt_snapshot_find(_Out_ size_t *index, bt_snapshot *s, const char *name)'),
  op_stats: lib.func('int bt_snapshot_op_stats(_Inout_ bt_op_stats *out, bt_snapshot *s, size_t index)'),
  phase_stats: lib.func('int bt_snapshot_phase_stats(_Inout_ bt_phase_stats *out, bt_snapshot *s, size_t index, int32_t phase)'),
  snapshot_format: lib.func('int bt_snapshot_format(_Out_ uint8_t *buf, size_t cap, _Out_ size_t *needed, bt_snapshot *s)'),
};

// A status must be 0 (BT_OK); otherwise fail with its name.
function ok(status, what) {
  assert.equal(status, 0, `${what} returned ${status} (${bt.status_name(status)})`);
}

// A blocking sleep, so the network phase holds a known minimum of time.
function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const NETWORK_SLEEP_MS = 2;
const GIL_WAIT_NS = 12345;

test('the version is checked before use', () => {
  const v = bt.version();
  assert.equal(Math.floor(v / 10000), WANT_MAJOR, `release major of ${bt.version_string()}`);
  assert.ok(v >= WANT_MIN, `libboundarytrace ${bt.version_string()} is older than 0.1.0`);
  const s = `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`;
  assert.equal(bt.version_string(), s);
});

test('a four-phase operation is read back from a snapshot', () => {
  const m = [null];
  ok(bt.metrics_new(m), 'bt_metrics_new');
  const metrics = m[0];
  try {
    const t = [null];
    ok(bt.tracer_new(t, metrics, 'node_insert_many'), 'bt_tracer_new');
    const tracer = t[0];
    const timing = { struct_size: koffi.sizeof(bt_timing) };
    try {
      for (const phase of [EXTRACT, CONVERT, NETWORK, MATERIALIZE]) {
        ok(bt.phase_begin(tracer, phase), `bt_phase_begin(${phase})`);
        if (phase === CONVERT) ok(bt.gil_release(tracer), 'bt_tracer_add_gil_release');
        if (phase === NETWORK) sleepMs(NETWORK_SLEEP_MS);
        ok(bt.phase_end(tracer, phase), `bt_phase_end(${phase})`);
      }
      ok(bt.gil_wait(tracer, GIL_WAIT_NS), 'bt_tracer_add_gil_wait');
      ok(bt.add_items(tracer, 3), 'bt_tracer_add_items');
      ok(bt.finish_timing(timing, tracer), 'bt_tracer_finish_timing');
    } finally {
      bt.tracer_free(tracer);
    }
    assert.equal(timing.op_name, 'node_insert_many');
    assert.equal(timing.items, 3);
    assert.equal(timing.gil_releases, 1);
    assert.equal(timing.gil_wait_ns, GIL_WAIT_NS);
    assert.equal(timing.phase_entries[NETWORK], 1);
    assert.ok(timing.phase_ns[NETWORK] >= NETWORK_SLEEP_MS * 1e6, `network ${timing.phase_ns[NETWORK]} ns`);
    assert.equal(timing.gil_released_ns, timing.phase_ns[CONVERT] + timing.phase_ns[NETWORK]);

    const s = [null];
    ok(bt.metrics_snapshot(s, metrics), 'bt_metrics_snapshot');
    const snap = s[0];
    try {
      const index = [0];
      ok(bt.snapshot_find(index, snap, 'node_insert_many'), 'bt_snapshot_find');

      const op = { struct_size: koffi.sizeof(bt_op_stats) };
      ok(bt.op_stats(op, snap, index[0]), 'bt_snapshot_op_stats');
      assert.equal(op.name, 'node_insert_many');
      assert.equal(op.count, 1);
      assert.equal(op.errors, 0);
      assert.equal(op.items, 3);
      assert.equal(op.gil_releases, 1);
      assert.equal(op.gil_wait_ns, GIL_WAIT_NS);
      assert.equal(op.total_ns, timing.total_ns);
      // struct_size below the first published version: refused, not overrun.
      assert.equal(bt.op_stats({ struct_size: 8 }, snap, index[0]), -8);

      // One sample: p50 is clamped to [min, max], i.e. the sample itself.
      const ps = { struct_size: koffi.sizeof(bt_phase_stats) };
      ok(bt.phase_stats(ps, snap, index[0], NETWORK), 'bt_snapshot_phase_stats(network)');
      assert.equal(ps.name, 'network');
      assert.equal(ps.gil_held, 0);
      assert.equal(ps.count, 1);
      assert.equal(ps.p50_ns, timing.phase_ns[NETWORK]);
      const total = { struct_size: koffi.sizeof(bt_phase_stats) };
      ok(bt.phase_stats(total, snap, index[0], TOTAL), 'bt_snapshot_phase_stats(total)');
      assert.equal(total.gil_held, -1);
      assert.equal(total.p50_ns, timing.total_ns);

      // snprintf semantics: ask for the length, then fill.
      const needed = [0];
      ok(bt.snapshot_format(null, 0, needed, snap), 'bt_snapshot_format(NULL, 0)');
      const buf = Buffer.alloc(needed[0] + 1);
      ok(bt.snapshot_format(buf, buf.length, needed, snap), 'bt_snapshot_format');
      const report = buf.toString('utf8', 0, needed[0]);
      assert.match(report, /node_insert_many/);
      assert.match(report, /network/);
    } finally {
      bt.snapshot_free(snap);
    }
  } finally {
    bt.metrics_free(metrics);
  }
});

test('a bad call gives the documented negative status', () => {
  const t = [null];
  ok(bt.tracer_new(t, null, 'node_bad_call'), 'bt_tracer_new');
  try {
    const st = bt.phase_end(t[0], NETWORK);      // no phase open
    assert.equal(st, -6);
    assert.equal(bt.status_name(st), 'BT_E_PHASE_NOT_OPEN');
    assert.equal(bt.phase_begin(t[0], 31), -4);  // unknown phase id
    assert.equal(bt.phase_begin(null, EXTRACT), -1);
  } finally {
    bt.tracer_free(t[0]);                         // unfinished: records nothing
  }
});

test('bt_tracer_finish records without a timing', () => {
  const m = [null];
  ok(bt.metrics_new(m), 'bt_metrics_new');
  try {
    const t = [null];
    ok(bt.tracer_new(t, m[0], 'node_plain_finish'), 'bt_tracer_new');
    try {
      ok(bt.finish(t[0]), 'bt_tracer_finish');
      assert.equal(bt.finish(t[0]), -7);           // already finished
    } finally {
      bt.tracer_free(t[0]);
    }
    const s = [null];
    ok(bt.metrics_snapshot(s, m[0]), 'bt_metrics_snapshot');
    try {
      const index = [0];
      ok(bt.snapshot_find(index, s[0], 'node_plain_finish'), 'bt_snapshot_find');
      const op = { struct_size: koffi.sizeof(bt_op_stats) };
      ok(bt.op_stats(op, s[0], index[0]), 'bt_snapshot_op_stats');
      assert.equal(op.count, 1);
    } finally {
      bt.snapshot_free(s[0]);
    }
  } finally {
    bt.metrics_free(m[0]);
  }
});
