-- boundarytrace from LuaJIT through its FFI: no header, no C module of our
-- own, only the declarations of docs/ffi.md. The library is loaded by its
-- SONAME, so the dynamic loader searches LD_LIBRARY_PATH (CTest sets it to
-- the build's library directory); BT_LIBRARY=/path/to/libboundarytrace.so.1
-- overrides.
--
--   LD_LIBRARY_PATH=<libdir> luajit test_luajit.lua
--
-- Runs a four-phase operation into a private sink and reads the snapshot back
-- (operation stats, the network phase's p50, the text report), checks the
-- version first and a bad call's status. Exits 1 with a message on the first
-- failure, 0 when every check passed.
local ffi = require("ffi")

ffi.cdef[[
typedef struct bt_tracer bt_tracer;
typedef struct bt_metrics bt_metrics;
typedef struct bt_snapshot bt_snapshot;

typedef struct bt_timing {
  size_t struct_size;
  const char *op_name;
  uint64_t total_ns, unattributed_ns, gil_held_ns, gil_released_ns, gil_wait_ns, items;
  uint32_t gil_releases, workers, flags, phase_count;
  uint64_t phase_ns[32];        /* BT_MAX_PHASES */
  uint32_t phase_entries[32];
} bt_timing;

typedef struct bt_op_stats {
  size_t struct_size;
  const char *name;
  uint64_t count, errors, left_open, items, total_ns, gil_held_ns, gil_released_ns,
           gil_wait_ns, unattributed_ns, gil_releases, parallel_ops;
  uint32_t workers_max, reserved_;
} bt_op_stats;

typedef struct bt_phase_stats {
  size_t struct_size;
  const char *name;
  int32_t phase, gil_held;
  uint64_t count, entries, sum_ns, min_ns, max_ns, p50_ns, p90_ns, p99_ns, p999_ns;
} bt_phase_stats;

unsigned bt_version(void);
const char *bt_version_string(void);
const char *bt_status_name(int status);
int bt_metrics_new(bt_metrics **out);
void bt_metrics_free(bt_metrics *m);
int bt_metrics_snapshot(bt_snapshot **out, bt_metrics *m);
int bt_tracer_new(bt_tracer **out, bt_metrics *m, const char *op_name);
int bt_phase_begin(bt_tracer *t, int32_t phase);
int bt_phase_end(bt_tracer *t, int32_t phase);
int bt_tracer_add_items(bt_tracer *t, uint64_t n);
int bt_tracer_add_gil_release(bt_tracer *t);
int bt_tracer_add_gil_wait(bt_tracer *t, uint64_t ns);
int bt_tracer_finish(bt_tracer *t);
int bt_tracer_finish_timing(bt_timing *out, bt_tracer *t);
void bt_tracer_free(bt_tracer *t);
void bt_snapshot_free(bt_snapshot *s);
int bt_snapshot_find(size_t *index, const bt_snapshot *s, const char *name);
int bt_snapshot_op_stats(bt_op_stats *out, const bt_snapshot *s, size_t index);
int bt_snapshot_phase_stats(bt_phase_stats *out, const bt_snapshot *s, size_t index, int32_t phase);
int bt_snapshot_format(char *buf, size_t cap, size_t *needed, const bt_snapshot *s);

struct bt_lua_timespec { long tv_sec; long tv_nsec; };
int nanosleep(const struct bt_lua_timespec *req, struct bt_lua_timespec *rem);
]]

local SONAME = "libboundarytrace.so.1"    -- lib<name>.so.<BT_ABI_VERSION>
local WANT_MAJOR, WANT_MIN = 0, 100         -- the declarations come from 0.1.0
local EXTRACT, CONVERT, NETWORK, MATERIALIZE, TOTAL = 0, 1, 2, 3, -1
local NETWORK_SLEEP_NS = 2000000
local GIL_WAIT_NS = 12345

local checks = 0
local function fail(msg)
  io.stderr:write("test_luajit: FAILED: ", msg, "\n", debug.traceback(), "\n")
  os.exit(1)
end
local function check(cond, msg)
  checks = checks + 1
  if not cond then fail(msg) end
end
-- uint64_t fields are 64-bit cdata numbers: compare them as such.
local function eq(got, want, what)
  checks = checks + 1
  if ffi.cast("uint64_t", got) ~= ffi.cast("uint64_t", want) then
    fail(string.format("%s = %s, want %s", what, tostring(got), tostring(want)))
  end
end

local ok_lib, bt = pcall(ffi.load, os.getenv("BT_LIBRARY") or SONAME)
if not ok_lib then fail(tostring(bt) .. " (set LD_LIBRARY_PATH or BT_LIBRARY)") end

local function ok(status, what)
  checks = checks + 1
  if status ~= 0 then
    fail(string.format("%s returned %d (%s)", what, status, ffi.string(bt.bt_status_name(status))))
  end
end

-- A status must be exactly `want`.
local function status_is(status, want, what)
  checks = checks + 1
  if status ~= want then
    fail(string.format("%s returned %d (%s), want %d (%s)", what, status,
      ffi.string(bt.bt_status_name(status)), want, ffi.string(bt.bt_status_name(want))))
  end
end

-- 1. The version, before anything else.
local v = bt.bt_version()
local version = ffi.string(bt.bt_version_string())
if math.floor(v / 10000) ~= WANT_MAJOR or v < WANT_MIN then
  fail(string.format("libboundarytrace %s is not compatible: want %d.x, at least 0.1.0",
    version, WANT_MAJOR))
end
check(version == string.format("%d.%d.%d", math.floor(v / 10000), math.floor(v / 100) % 100, v % 100),
  "bt_version_string() " .. version .. " does not match bt_version() " .. v)
print(string.format("test_luajit: libboundarytrace %s (bt_version() = %d)", version, v))

-- 2. A four-phase operation into a private sink.
local pm = ffi.new("bt_metrics *[1]")
ok(bt.bt_metrics_new(pm), "bt_metrics_new")
local metrics = ffi.gc(pm[0], bt.bt_metrics_free)

local pt = ffi.new("bt_tracer *[1]")
ok(bt.bt_tracer_new(pt, metrics, "luajit_insert_many"), "bt_tracer_new")
local tracer = ffi.gc(pt[0], bt.bt_tracer_free)
local sleep = ffi.new("struct bt_lua_timespec", 0, NETWORK_SLEEP_NS)
for phase = EXTRACT, MATERIALIZE do
  ok(bt.bt_phase_begin(tracer, phase), "bt_phase_begin(" .. phase .. ")")
  if phase == CONVERT then ok(bt.bt_tracer_add_gil_release(tracer), "bt_tracer_add_gil_release") end
  if phase == NETWORK then ffi.C.nanosleep(sleep, nil) end
  ok(bt.bt_phase_end(tracer, phase), "bt_phase_end(" .. phase .. ")")
end
ok(bt.bt_tracer_add_gil_wait(tracer, GIL_WAIT_NS), "bt_tracer_add_gil_wait")
ok(bt.bt_tracer_add_items(tracer, 3), "bt_tracer_add_items")
local timing = ffi.new("bt_timing")           -- zero-filled
timing.struct_size = ffi.sizeof("bt_timing")
ok(bt.bt_tracer_finish_timing(timing, tracer), "bt_tracer_finish_timing")
status_is(bt.bt_phase_begin(tracer, EXTRACT), -7, "bt_phase_begin after finish")

check(ffi.string(timing.op_name) == "luajit_insert_many", "timing.op_name")
eq(timing.items, 3, "timing.items")
eq(timing.gil_releases, 1, "timing.gil_releases")
eq(timing.gil_wait_ns, GIL_WAIT_NS, "timing.gil_wait_ns")
eq(timing.phase_entries[NETWORK], 1, "timing.phase_entries[network]")
check(timing.phase_ns[NETWORK] >= NETWORK_SLEEP_NS, "network phase shorter than its sleep")
eq(timing.gil_released_ns, timing.phase_ns[CONVERT] + timing.phase_ns[NETWORK], "timing.gil_released_ns")
-- the GIL wait (a given figure here, not measured) comes out of the rest, down to 0
local rest = timing.total_ns - timing.gil_held_ns - timing.gil_released_ns
eq(timing.unattributed_ns, rest > timing.gil_wait_ns and rest - timing.gil_wait_ns or 0ULL, "timing.unattributed_ns")

-- 3. Read it back from a snapshot.
local ps_ = ffi.new("bt_snapshot *[1]")
ok(bt.bt_metrics_snapshot(ps_, metrics), "bt_metrics_snapshot")
local snap = ffi.gc(ps_[0], bt.bt_snapshot_free)
local index = ffi.new("size_t[1]")
ok(bt.bt_snapshot_find(index, snap, "luajit_insert_many"), "bt_snapshot_find")

local op = ffi.new("bt_op_stats")
op.struct_size = ffi.sizeof("bt_op_stats")
ok(bt.bt_snapshot_op_stats(op, snap, index[0]), "bt_snapshot_op_stats")
check(ffi.string(op.name) == "luajit_insert_many", "op_stats.name")
check(op.name == timing.op_name, "the interned name differs between timing and snapshot")
eq(op.count, 1, "op.count")
eq(op.errors, 0, "op.errors")
eq(op.items, 3, "op.items")
eq(op.gil_releases, 1, "op.gil_releases")
eq(op.gil_wait_ns, GIL_WAIT_NS, "op.gil_wait_ns")
eq(op.total_ns, timing.total_ns, "op.total_ns")

-- One sample: p50 is clamped to [min, max], i.e. the sample itself.
local ph = ffi.new("bt_phase_stats")
ph.struct_size = ffi.sizeof("bt_phase_stats")
ok(bt.bt_snapshot_phase_stats(ph, snap, index[0], NETWORK), "bt_snapshot_phase_stats(network)")
check(ffi.string(ph.name) == "network", "phase_stats.name")
check(ph.gil_held == 0, "network is GIL-released")
eq(ph.count, 1, "network count")
eq(ph.p50_ns, timing.phase_ns[NETWORK], "network p50")
ok(bt.bt_snapshot_phase_stats(ph, snap, index[0], TOTAL), "bt_snapshot_phase_stats(total)")
check(ph.gil_held == -1, "total gil_held")
eq(ph.p50_ns, timing.total_ns, "total p50")

-- snprintf semantics: ask for the length, then fill.
local needed = ffi.new("size_t[1]")
ok(bt.bt_snapshot_format(nil, 0, needed, snap), "bt_snapshot_format(NULL, 0)")
local cap = tonumber(needed[0]) + 1
local buf = ffi.new("char[?]", cap)
ok(bt.bt_snapshot_format(buf, cap, needed, snap), "bt_snapshot_format")
local report = ffi.string(buf, needed[0])
check(report:find("luajit_insert_many", 1, true), "the report names the operation")
check(report:find("network", 1, true), "the report names the network phase")

-- 4. bt_tracer_finish records without a timing; a second finish is refused.
ok(bt.bt_tracer_new(pt, metrics, "luajit_plain_finish"), "bt_tracer_new")
local plain = ffi.gc(pt[0], bt.bt_tracer_free)
ok(bt.bt_tracer_finish(plain), "bt_tracer_finish")
status_is(bt.bt_tracer_finish(plain), -7, "bt_tracer_finish after finish")
bt.bt_tracer_free(ffi.gc(plain, nil))
local ps2 = ffi.new("bt_snapshot *[1]")
ok(bt.bt_metrics_snapshot(ps2, metrics), "bt_metrics_snapshot")
local snap2 = ffi.gc(ps2[0], bt.bt_snapshot_free)
ok(bt.bt_snapshot_find(index, snap2, "luajit_plain_finish"), "bt_snapshot_find(luajit_plain_finish)")
local plain_op = ffi.new("bt_op_stats")
plain_op.struct_size = ffi.sizeof("bt_op_stats")
ok(bt.bt_snapshot_op_stats(plain_op, snap2, index[0]), "bt_snapshot_op_stats(luajit_plain_finish)")
eq(plain_op.count, 1, "luajit_plain_finish count")
bt.bt_snapshot_free(ffi.gc(snap2, nil))
ok(bt.bt_snapshot_find(index, snap, "luajit_insert_many"), "bt_snapshot_find")

-- 5. Bad calls: documented negative statuses, named by bt_status_name.
local small = ffi.new("bt_op_stats")
small.struct_size = 8                          -- smaller than the first published struct
status_is(bt.bt_snapshot_op_stats(small, snap, index[0]), -8, "bt_snapshot_op_stats(struct_size 8)")
status_is(bt.bt_tracer_new(nil, metrics, "x"), -1, "bt_tracer_new(NULL)")
ok(bt.bt_tracer_new(pt, metrics, "luajit_bad_call"), "bt_tracer_new")
local bad = ffi.gc(pt[0], bt.bt_tracer_free)
status_is(bt.bt_phase_end(bad, NETWORK), -6, "bt_phase_end with no phase open")
check(ffi.string(bt.bt_status_name(-6)) == "BT_E_PHASE_NOT_OPEN", "bt_status_name(-6)")
status_is(bt.bt_phase_begin(bad, 31), -4, "bt_phase_begin(unknown phase)")

-- Free in order: tracers before their metrics.
bt.bt_tracer_free(ffi.gc(bad, nil))
bt.bt_tracer_free(ffi.gc(tracer, nil))
bt.bt_snapshot_free(ffi.gc(snap, nil))
bt.bt_metrics_free(ffi.gc(metrics, nil))
print(string.format("test_luajit: %d checks passed", checks))
os.exit(0)
