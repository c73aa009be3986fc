/*
 * Tests of the header-only C++ wrapper, boundarytrace/bt.hpp, against the
 * real library.
 *
 * Plain asserts through a local CHECK macro rather than cmocka: cmocka fails a
 * test with longjmp, which skips C++ destructors — and destructors (Tracer,
 * PhaseScope, Snapshot, Metrics) are exactly what these tests are about.
 *
 * Usage: bt_test_cpp_wrapper [test-name]   (no argument: run every test)
 */
#include <boundarytrace/bt.hpp>  // first, so it is shown to compile on its own

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

const char *g_test = "?";

[[noreturn]] void fail(const char *file, int line, const std::string &what) {
  std::fprintf(stderr, "%s:%d: [%s] FAILED: %s\n", file, line, g_test, what.c_str());
  std::exit(1);
}

#define CHECK(cond)                                   \
  do {                                                \
    if (!(cond)) fail(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)

#define CHECK_EQ(a, b)                                                          \
  do {                                                                          \
    const auto va_ = (a);                                                       \
    const auto vb_ = (b);                                                       \
    if (!(va_ == vb_))                                                          \
      fail(__FILE__, __LINE__,                                                  \
           std::string("CHECK_EQ(" #a ", " #b "): ") + std::to_string(va_) +   \
               " != " + std::to_string(vb_));                                   \
  } while (0)

#define CHECK_STREQ(a, b)                                                        \
  do {                                                                           \
    const char *sa_ = (a);                                                       \
    const char *sb_ = (b);                                                       \
    if (sa_ == nullptr || sb_ == nullptr || std::strcmp(sa_, sb_) != 0)          \
      fail(__FILE__, __LINE__,                                                   \
           std::string("CHECK_STREQ(" #a ", " #b "): \"") + (sa_ ? sa_ : "(null)") + \
               "\" != \"" + (sb_ ? sb_ : "(null)") + "\"");                      \
  } while (0)

/* Runs `stmt`, which must throw bt::error with status `st`. */
#define CHECK_THROWS(stmt, st)                                                    \
  do {                                                                            \
    bool thrown_ = false;                                                         \
    try {                                                                         \
      stmt;                                                                       \
    } catch (const bt::error &e_) {                                               \
      thrown_ = true;                                                             \
      if (e_.status() != (st))                                                    \
        fail(__FILE__, __LINE__,                                                  \
             std::string(#stmt " threw ") + e_.what() + ", expected " #st);       \
    } catch (const std::exception &e_) {                                          \
      fail(__FILE__, __LINE__, std::string(#stmt " threw non-bt ") + e_.what());  \
    }                                                                             \
    if (!thrown_) fail(__FILE__, __LINE__, #stmt " did not throw " #st);          \
  } while (0)

/* Runs `stmt`, which must not throw. */
#define CHECK_NOTHROW(stmt)                                                       \
  do {                                                                            \
    try {                                                                         \
      stmt;                                                                       \
    } catch (const std::exception &e_) {                                          \
      fail(__FILE__, __LINE__, std::string(#stmt " threw ") + e_.what());         \
    }                                                                             \
  } while (0)

bool contains(const std::string &hay, const char *needle) {
  return hay.find(needle) != std::string::npos;
}

/* Busy-waits about `ns` nanoseconds on the library's clock, so phases have a time. */
void spin(std::uint64_t ns) {
  const std::uint64_t until = bt::clock_now_ns() + ns;
  while (bt::clock_now_ns() < until) {
  }
}

/* The aggregates of operation `name` in `m`; fails the test when absent. */
bt_op_stats stats_of(const bt::Metrics &m, const char *name) {
  bt::Snapshot s = m.snapshot();
  std::optional<std::size_t> i = s.find(name);
  if (!i) fail(__FILE__, __LINE__, std::string("operation not in snapshot: ") + name);
  return s.op(*i);
}

/* Operations recorded under `name` in `m` (0 when absent). */
std::uint64_t count_of(const bt::Metrics &m, const char *name) {
  bt::Snapshot s = m.snapshot();
  std::optional<std::size_t> i = s.find(name);
  return i ? s.op(*i).count : 0;
}

/* ------------------------------------------------------------------------- */

void test_wrapper__version_matches_header() {
  CHECK_EQ(bt::version(), static_cast<unsigned>(BT_VERSION_NUMBER));
  CHECK_STREQ(bt::version_string(), BT_VERSION_STRING);
  const std::string src = bt::clock_source();
  CHECK(src == "tsc" || src == "monotonic");
  CHECK(bt::EXTRACT == 0 && bt::CONVERT == 1 && bt::NETWORK == 2 && bt::MATERIALIZE == 3);
  CHECK(bt::TOTAL == -1);
}

void test_wrapper__error_carries_status_name_and_message() {
  bt::error e(BT_E_NAME, "somewhere");
  CHECK_EQ(e.status(), BT_E_NAME);
  CHECK_STREQ(e.name(), "BT_E_NAME");
  const std::string what = e.what();
  const std::string head = std::string("BT_E_NAME: ") + bt_status_str(BT_E_NAME);
  CHECK(what.compare(0, head.size(), head) == 0);
  CHECK(contains(what, "somewhere"));

  bt::error bare(BT_E_FULL);
  CHECK(std::string(bare.what()) == std::string("BT_E_FULL: ") + bt_status_str(BT_E_FULL));

  CHECK_NOTHROW(bt::check(BT_OK, "fine"));
  CHECK_THROWS(bt::check(BT_E_CONFLICT, "ctx"), BT_E_CONFLICT);
  bool caught_as_runtime_error = false;
  try {
    bt::check(BT_E_NOMEM, "ctx");
  } catch (const std::runtime_error &) {
    caught_as_runtime_error = true;
  }
  CHECK(caught_as_runtime_error);
}

void test_wrapper__tracer_records_on_destruction() {
  bt::Metrics m;
  {
    bt::Tracer t("raii.closed", &m);
    t.add_items(3);
    t.begin(bt::EXTRACT);
    t.end(bt::EXTRACT);
    CHECK_EQ(count_of(m, "raii.closed"), 0u);  // not before the destructor
  }
  bt_op_stats st = stats_of(m, "raii.closed");
  CHECK_EQ(st.count, 1u);
  CHECK_EQ(st.items, 3u);
  CHECK_EQ(st.errors, 0u);
  CHECK_EQ(st.left_open, 0u);

  { bt::Tracer t("raii.open", m); t.begin(bt::NETWORK); }  // finish closes the phase
  st = stats_of(m, "raii.open");
  CHECK_EQ(st.count, 1u);
  CHECK_EQ(st.left_open, 1u);

  // An exception unwinding past the tracer marks the operation as failed.
  try {
    bt::Tracer t("raii.throw", m);
    auto p = t.phase(bt::CONVERT);
    throw std::runtime_error("boom");
  } catch (const std::runtime_error &) {
  }
  st = stats_of(m, "raii.throw");
  CHECK_EQ(st.count, 1u);
  CHECK_EQ(st.errors, 1u);
  CHECK_EQ(st.left_open, 0u);  // the PhaseScope ended the phase first

  // ... but not a tracer made and destroyed while handling an exception.
  try {
    throw std::runtime_error("outer");
  } catch (const std::runtime_error &) {
    bt::Tracer t("raii.in_catch", m);
  }
  CHECK_EQ(stats_of(m, "raii.in_catch").errors, 0u);

  // An explicitly finished tracer is not recorded twice by its destructor.
  {
    bt::Tracer t("raii.finished", m);
    bt::Timing tm = t.finish();
    CHECK(t.finished());
    CHECK_STREQ(tm.op_name(), "raii.finished");
  }
  CHECK_EQ(count_of(m, "raii.finished"), 1u);
}

void test_wrapper__phase_scope_in_order_and_no_nesting() {
  bt::Metrics m;
  bt::Tracer t("scopes", m);
  {
    auto p = t.phase(bt::EXTRACT);
    CHECK_EQ(p.id(), bt::EXTRACT);
    // One phase at a time: a nested guard throws and leaves the outer one open.
    CHECK_THROWS((void)t.phase(bt::CONVERT), BT_E_PHASE_OPEN);
    CHECK_THROWS(t.begin(bt::EXTRACT), BT_E_PHASE_OPEN);
    spin(1000);
  }  // ends EXTRACT
  { auto p = t.phase(bt::CONVERT); spin(1000); }
  { auto p = t.phase(bt::EXTRACT); spin(1000); }  // re-entry accumulates
  {
    auto p = t.phase(bt::NETWORK);
    p.end();  // early end; the destructor then does nothing
    CHECK_THROWS(t.end(bt::NETWORK), BT_E_PHASE_NOT_OPEN);
    CHECK_NOTHROW(p.end());  // a second end() on the guard is a no-op
  }
  // A guard whose begin fails throws and owns nothing.
  CHECK_THROWS((void)t.phase(97), BT_E_UNKNOWN_PHASE);
  // A guard survives its tracer being moved: it holds the same C handle.
  bt::Tracer t2(std::move(t));
  {
    auto p = t2.phase(bt::MATERIALIZE);
    bt::PhaseScope q(std::move(p));  // p is inert now, q ends MATERIALIZE
  }
  CHECK_NOTHROW(t2.begin(bt::MATERIALIZE));  // so nothing is open here
  t2.end(bt::MATERIALIZE);

  bt::Timing tm = t2.finish();
  CHECK(!tm.phase_left_open());
  CHECK_EQ(tm.phase_entries(bt::EXTRACT), 2u);
  CHECK_EQ(tm.phase_entries(bt::CONVERT), 1u);
  CHECK_EQ(tm.phase_entries(bt::NETWORK), 1u);
  CHECK_EQ(tm.phase_entries(bt::MATERIALIZE), 2u);
  CHECK(tm.phase_ns(bt::EXTRACT) >= 2000u);
  CHECK(tm.phase_ns(bt::CONVERT) >= 1000u);
  const std::uint64_t in_phases = tm.phase_ns(bt::EXTRACT) + tm.phase_ns(bt::CONVERT) +
                                  tm.phase_ns(bt::NETWORK) + tm.phase_ns(bt::MATERIALIZE);
  CHECK(in_phases <= tm.total_ns());
  CHECK_EQ(tm.unattributed_ns(), tm.total_ns() - in_phases);
  CHECK_EQ(tm.gil_held_ns(), tm.phase_ns(bt::EXTRACT) + tm.phase_ns(bt::MATERIALIZE));
  CHECK_EQ(tm.gil_released_ns(), tm.phase_ns(bt::CONVERT) + tm.phase_ns(bt::NETWORK));
}

void test_wrapper__bad_input_throws_right_status() {
  bt::Metrics m;
  {
    bt::Tracer t("bad.phases", m);
    CHECK_THROWS(t.begin(99), BT_E_UNKNOWN_PHASE);
    CHECK_THROWS(t.begin(-5), BT_E_UNKNOWN_PHASE);
    CHECK_THROWS(t.begin(BT_MAX_PHASES), BT_E_UNKNOWN_PHASE);
    CHECK_THROWS(t.end(99), BT_E_UNKNOWN_PHASE);
    CHECK_THROWS(t.end(bt::EXTRACT), BT_E_PHASE_NOT_OPEN);  // end without begin
    t.begin(bt::EXTRACT);
    CHECK_THROWS(t.begin(bt::CONVERT), BT_E_PHASE_OPEN);    // begin while open
    CHECK_THROWS(t.end(bt::CONVERT), BT_E_PHASE_NOT_OPEN);  // another one is open
    t.end(bt::EXTRACT);

    bt::Timing tm = t.finish();
    CHECK_EQ(tm.phase_entries(bt::EXTRACT), 1u);  // the failed calls changed nothing
    CHECK_EQ(tm.phase_entries(bt::CONVERT), 0u);
    // Use after finish.
    CHECK_THROWS(t.begin(bt::EXTRACT), BT_E_FINISHED);
    CHECK_THROWS(t.end(bt::EXTRACT), BT_E_FINISHED);
    CHECK_THROWS(t.add_items(1), BT_E_FINISHED);
    CHECK_THROWS(t.add_gil_release(), BT_E_FINISHED);
    CHECK_THROWS(t.add_gil_wait(1), BT_E_FINISHED);
    CHECK_THROWS(t.set_workers(2), BT_E_FINISHED);
    CHECK_THROWS(t.set_error(), BT_E_FINISHED);
    CHECK_THROWS((void)t.phase(bt::EXTRACT), BT_E_FINISHED);
    CHECK_THROWS((void)t.finish(), BT_E_FINISHED);
  }
  CHECK_EQ(stats_of(m, "bad.phases").count, 1u);

  // Bad names.
  const std::string longest(BT_NAME_MAX, 'a');
  const std::string too_long(BT_NAME_MAX + 1, 'a');
  CHECK_THROWS(bt::Tracer("", m), BT_E_NAME);
  CHECK_THROWS(bt::Tracer(too_long.c_str(), m), BT_E_NAME);
  CHECK_THROWS(bt::Tracer("bad\xff\xfe", m), BT_E_NAME);
  CHECK_THROWS(bt::Tracer("bad\nname", m), BT_E_NAME);
  CHECK_THROWS(bt::Tracer(static_cast<const char *>(nullptr), m), BT_E_NULL);
  CHECK_NOTHROW(bt::Tracer(longest.c_str(), m));
  CHECK_NOTHROW(bt::Tracer("caf\xc3\xa9", m));  // valid UTF-8
  CHECK_THROWS((void)m.op(""), BT_E_NAME);
  CHECK_THROWS((void)bt::register_phase("", true), BT_E_NAME);
  CHECK_THROWS((void)bt::register_phase(too_long.c_str(), true), BT_E_NAME);
  CHECK_THROWS((void)bt::lookup_phase("\x01"), BT_E_NAME);
  CHECK_THROWS((void)bt::lookup_phase("cpp_test.no_such_phase"), BT_E_NOT_FOUND);
  CHECK_THROWS((void)bt::phase_info(99), BT_E_UNKNOWN_PHASE);
  // A built-in name with the other GIL state.
  CHECK_THROWS((void)bt::register_phase(bt::phase_info(bt::EXTRACT).name, false),
               BT_E_CONFLICT);
  CHECK_THROWS((void)bt::register_phase(bt::phase_info(bt::NETWORK).name, true),
               BT_E_CONFLICT);

  // Timings recorded by hand.
  bt::Timing no_name;
  CHECK_THROWS(m.record(no_name), BT_E_NULL);
  bt::Timing too_long_phases("bad.record");
  too_long_phases.raw().total_ns = 100;
  too_long_phases.raw().phase_ns[bt::CONVERT] = 200;
  too_long_phases.raw().phase_entries[bt::CONVERT] = 1;
  CHECK_THROWS(m.record(too_long_phases), BT_E_INVALID);
  bt_timing small = too_long_phases.raw();
  small.phase_ns[bt::CONVERT] = 50;
  small.struct_size = sizeof(std::size_t);
  CHECK_THROWS(m.record(small), BT_E_STRUCT_SIZE);
  bt::Timing unregistered("bad.record");
  unregistered.raw().total_ns = 100;
  unregistered.raw().phase_ns[BT_MAX_PHASES - 1] = 10;
  if (bt::phase_count() < BT_MAX_PHASES) CHECK_THROWS(m.record(unregistered), BT_E_UNKNOWN_PHASE);
  CHECK_EQ(count_of(m, "bad.record"), 0u);  // nothing recorded on error

  // The wrapper's own range check.
  bt::Timing tm;
  CHECK_THROWS((void)tm.phase_ns(-2), BT_E_UNKNOWN_PHASE);
  CHECK_THROWS((void)tm.phase_entries(BT_MAX_PHASES), BT_E_UNKNOWN_PHASE);

  // Snapshot queries out of range.
  bt::Snapshot s = m.snapshot();
  const std::size_t n = s.size();
  CHECK(n >= 1);
  CHECK_THROWS((void)s.op(n), BT_E_NOT_FOUND);
  CHECK_THROWS((void)s.phase(n, bt::EXTRACT), BT_E_NOT_FOUND);
  CHECK_THROWS((void)s.phase(0, 99), BT_E_UNKNOWN_PHASE);
  CHECK_THROWS((void)s.quantile(0, bt::TOTAL, 1.5), BT_E_INVALID);
  CHECK_THROWS((void)s.quantile(0, bt::TOTAL, -0.1), BT_E_INVALID);
  CHECK_THROWS((void)s.quantile(0, bt::TOTAL, std::nan("")), BT_E_INVALID);
  CHECK_THROWS((void)s.buckets(n, bt::TOTAL), BT_E_NOT_FOUND);
  CHECK_THROWS((void)s.buckets(0, 99), BT_E_UNKNOWN_PHASE);
  CHECK_THROWS((void)s.find(""), BT_E_NAME);
}

void test_wrapper__custom_phase() {
  const bt_phase_id id = bt::register_phase("cpp_test.decode", true);
  CHECK(id >= 4);
  CHECK(id < static_cast<bt_phase_id>(bt::phase_count()));
  CHECK_EQ(bt::register_phase("cpp_test.decode", true), id);  // idempotent
  CHECK_EQ(bt::lookup_phase("cpp_test.decode"), id);
  CHECK_THROWS((void)bt::register_phase("cpp_test.decode", false), BT_E_CONFLICT);
  bt::PhaseInfo info = bt::phase_info(id);
  CHECK_STREQ(info.name, "cpp_test.decode");
  CHECK(info.gil_held);
  CHECK(!bt::phase_info(bt::CONVERT).gil_held);

  bt::Metrics m;
  {
    bt::Tracer t("custom.op", m);
    auto p = t.phase(id);
    spin(1000);
  }
  bt::Snapshot s = m.snapshot();
  bt_phase_stats ps = s.phase(*s.find("custom.op"), id);
  CHECK_EQ(ps.count, 1u);
  CHECK_EQ(ps.gil_held, 1);
  CHECK_STREQ(ps.name, "cpp_test.decode");
  CHECK(ps.sum_ns >= 1000u);
}

void test_wrapper__snapshot_accessors() {
  bt::Metrics m;
  for (int i = 0; i < 20; ++i) {
    bt::Tracer t("snap.a", m);
    t.add_items(2);
    { auto p = t.phase(bt::EXTRACT); spin(200u * static_cast<std::uint64_t>(i + 1)); }
    { auto p = t.phase(bt::NETWORK); spin(500); }
  }
  for (int i = 0; i < 5; ++i) {
    bt::Tracer t("snap.b", m);
    t.set_error();
  }
  bt::Snapshot s = m.snapshot();
  CHECK(s.get() != nullptr);
  CHECK_EQ(s.size(), 2u);
  CHECK_EQ(s.info().op_count, 2u);
  CHECK_EQ(s.info().phase_count, bt::phase_count());
  CHECK(s.info().start_ns <= s.info().end_ns);
  CHECK(s.find("snap.a") == std::optional<std::size_t>(0));  // sorted by name
  CHECK(s.find(std::string("snap.b")) == std::optional<std::size_t>(1));
  CHECK(!s.find("snap.zzz").has_value());

  bt_op_stats a = s.op(0);
  CHECK_STREQ(a.name, "snap.a");
  CHECK_EQ(a.count, 20u);
  CHECK_EQ(a.items, 40u);
  CHECK_EQ(a.errors, 0u);
  CHECK(a.gil_held_ns > 0 && a.gil_released_ns > 0);
  CHECK(a.gil_held_ns + a.gil_released_ns + a.unattributed_ns == a.total_ns);
  bt_op_stats b = s.op(1);
  CHECK_EQ(b.count, 5u);
  CHECK_EQ(b.errors, 5u);

  bt_phase_stats ex = s.phase(0, bt::EXTRACT);
  CHECK_STREQ(ex.name, bt::phase_info(bt::EXTRACT).name);
  CHECK_EQ(ex.phase, bt::EXTRACT);
  CHECK_EQ(ex.gil_held, 1);
  CHECK_EQ(ex.count, 20u);
  CHECK_EQ(ex.entries, 20u);
  CHECK(ex.min_ns >= 200u);
  CHECK(ex.min_ns <= ex.p50_ns && ex.p50_ns <= ex.p90_ns && ex.p90_ns <= ex.p99_ns &&
        ex.p99_ns <= ex.p999_ns && ex.p999_ns <= ex.max_ns);
  CHECK(ex.sum_ns >= ex.max_ns);

  bt_phase_stats tot = s.phase(0, bt::TOTAL);
  CHECK_STREQ(tot.name, "total");
  CHECK_EQ(tot.gil_held, -1);
  CHECK_EQ(tot.count, 20u);
  CHECK_EQ(tot.sum_ns, a.total_ns);

  bt_phase_stats never = s.phase(0, bt::MATERIALIZE);  // never entered
  CHECK_EQ(never.count, 0u);
  CHECK_EQ(never.sum_ns, 0u);
  CHECK_EQ(s.quantile(0, bt::MATERIALIZE, 0.5), 0u);
  CHECK(s.buckets(0, bt::MATERIALIZE).empty());

  CHECK_EQ(s.quantile(0, bt::TOTAL, 0.0), tot.min_ns);
  CHECK_EQ(s.quantile(0, bt::TOTAL, 1.0), tot.max_ns);
  const std::uint64_t q50 = s.quantile(0, bt::EXTRACT, 0.5);
  CHECK(q50 >= ex.min_ns && q50 <= ex.max_ns);

  for (bt_phase_id id : {bt::EXTRACT, bt::NETWORK, bt::TOTAL}) {
    std::vector<bt_bucket> bk = s.buckets(0, id);
    CHECK(!bk.empty());
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < bk.size(); ++i) {
      CHECK(bk[i].lower_ns < bk[i].upper_ns);
      CHECK(bk[i].count > 0);
      if (i > 0) CHECK(bk[i - 1].upper_ns <= bk[i].lower_ns);
      sum += bk[i].count;
    }
    CHECK_EQ(sum, s.phase(0, id).count);
  }

  // A snapshot is an immutable copy.
  { bt::Tracer t("snap.a", m); }
  { bt::Tracer t("snap.c", m); }
  CHECK_EQ(s.size(), 2u);
  CHECK_EQ(s.op(0).count, 20u);
  CHECK_EQ(m.snapshot().size(), 3u);

  // release() hands the C handle over.
  bt_snapshot *raw = s.release();
  CHECK(raw != nullptr && s.get() == nullptr);
  bt_snapshot_free(raw);
}

void test_wrapper__take_and_reset() {
  bt::Metrics m;
  bt::Op op = m.op("take.op");
  for (int i = 0; i < 3; ++i) bt::Tracer t(op);
  bt::TakeResult r = m.take();
  CHECK_EQ(r.interval.op(*r.interval.find("take.op")).count, 3u);
  CHECK_EQ(r.cumulative.op(*r.cumulative.find("take.op")).count, 3u);
  for (int i = 0; i < 2; ++i) bt::Tracer t(op);
  r = m.take();  // move-assigns both snapshots
  CHECK_EQ(r.interval.op(*r.interval.find("take.op")).count, 2u);
  CHECK_EQ(r.cumulative.op(*r.cumulative.find("take.op")).count, 5u);
  CHECK_EQ(count_of(m, "take.op"), 5u);  // takes leave the cumulative view alone
  r = m.take();
  CHECK_EQ(r.interval.find("take.op") ? r.interval.op(*r.interval.find("take.op")).count : 0u,
           0u);

  m.reset();
  CHECK_EQ(count_of(m, "take.op"), 0u);
  { bt::Tracer t(op); }  // the bound op survives a reset
  CHECK_EQ(count_of(m, "take.op"), 1u);
}

void test_wrapper__shared_sink() {
  char dir[] = "/tmp/bt-cpp-shared-XXXXXX";
  CHECK(mkdtemp(dir) != nullptr);
  {
    bt::Metrics m = bt::Metrics::open_shared(dir);
    bt::Op op = m.op("shared.op");
    for (int i = 0; i < 4; ++i) bt::Tracer t(op);
    bt::Snapshot s = bt::Snapshot::read_shared(dir);
    CHECK_EQ(s.op(*s.find("shared.op")).count, 4u);
    CHECK_EQ(s.info().processes, 1u);
    CHECK_EQ(count_of(m, "shared.op"), 4u);  // the sink's own snapshot is the merge
    bool threw = false;
    try {
      (void)m.take();
    } catch (const bt::error &e) {
      threw = e.status() == BT_E_INVALID;
    }
    CHECK(threw);
  }
  bool refused = false;
  try {
    (void)bt::Metrics::open_shared("");
  } catch (const bt::error &e) {
    refused = e.status() == BT_E_INVALID;
  }
  CHECK(refused);
  std::string cleanup = std::string("rm -rf ") + dir;
  CHECK_EQ(std::system(cleanup.c_str()), 0);
}

void test_wrapper__record_timing_measured_elsewhere() {
  bt::Metrics m;
  bt::Timing tm("rec.op");
  tm.raw().total_ns = 1000;
  tm.raw().phase_ns[bt::CONVERT] = 400;
  tm.raw().phase_entries[bt::CONVERT] = 1;
  tm.raw().phase_ns[bt::EXTRACT] = 100;
  tm.raw().phase_entries[bt::EXTRACT] = 2;
  tm.raw().items = 7;
  tm.raw().workers = 3;
  m.record(tm);
  m.record(tm.raw());
  bt_op_stats st = stats_of(m, "rec.op");
  CHECK_EQ(st.count, 2u);
  CHECK_EQ(st.total_ns, 2000u);
  CHECK_EQ(st.gil_released_ns, 800u);
  CHECK_EQ(st.gil_held_ns, 200u);
  CHECK_EQ(st.unattributed_ns, 1000u);
  CHECK_EQ(st.items, 14u);
  CHECK_EQ(st.workers_max, 3u);
  CHECK_EQ(st.parallel_ops, 2u);
  bt::Snapshot s = m.snapshot();
  CHECK_EQ(s.phase(0, bt::EXTRACT).entries, 4u);
  CHECK_EQ(s.phase(0, bt::EXTRACT).count, 2u);
}

void test_wrapper__timing_accessors() {
  bt::Metrics m;
  bt::Tracer t("acc.op", m);
  t.add_items(10);
  t.add_items(5);
  t.add_gil_release();
  t.add_gil_release();
  t.add_gil_wait(500);
  t.set_workers(4);
  t.set_workers(2);  // the largest wins
  t.set_error();
  t.begin(bt::CONVERT);  // left open on purpose
  spin(1000);
  bt::Timing tm = t.finish();
  CHECK_STREQ(tm.op_name(), "acc.op");
  CHECK_EQ(tm.items(), 15u);
  CHECK_EQ(tm.gil_releases(), 2u);
  CHECK_EQ(tm.gil_wait_ns(), 500u);
  CHECK_EQ(tm.workers(), 4u);
  CHECK(tm.is_error());
  CHECK(tm.phase_left_open());
  CHECK_EQ(tm.flags(), BT_TIMING_ERROR | BT_TIMING_PHASE_LEFT_OPEN);
  CHECK(tm.phase_count() >= 4u && tm.phase_count() <= static_cast<std::uint32_t>(BT_MAX_PHASES));
  CHECK(tm.phase_ns(bt::CONVERT) >= 1000u);
  CHECK_EQ(tm.gil_released_ns(), tm.phase_ns(bt::CONVERT));
  CHECK_EQ(tm.raw().struct_size, sizeof(bt_timing));

  bt_op_stats st = stats_of(m, "acc.op");
  CHECK_EQ(st.errors, 1u);
  CHECK_EQ(st.left_open, 1u);
  CHECK_EQ(st.gil_releases, 2u);
  CHECK_EQ(st.gil_wait_ns, 500u);
  CHECK_EQ(st.workers_max, 4u);
  CHECK_EQ(st.parallel_ops, 1u);

  bt::Timing copy = tm;  // a value type
  CHECK_EQ(copy.total_ns(), tm.total_ns());
  bt::Timing wrapped(tm.raw());
  CHECK_EQ(wrapped.items(), 15u);
}

void test_wrapper__move_semantics() {
  bt::Metrics m;
  {
    bt::Tracer a("move.ctor", m);
    a.add_items(1);
    bt::Tracer b(std::move(a));
    CHECK(a.get() == nullptr);
    CHECK(b.get() != nullptr);
    CHECK_THROWS(a.begin(bt::EXTRACT), BT_E_NULL);
    CHECK_THROWS(a.add_items(1), BT_E_NULL);
    CHECK_THROWS((void)a.phase(bt::EXTRACT), BT_E_NULL);
    CHECK_THROWS((void)a.finish(), BT_E_NULL);
    b.add_items(1);
  }  // b records once; the moved-from a does nothing
  bt_op_stats st = stats_of(m, "move.ctor");
  CHECK_EQ(st.count, 1u);
  CHECK_EQ(st.items, 2u);

  {
    bt::Tracer c("move.assign_old", m);
    bt::Tracer d("move.assign_new", m);
    c = std::move(d);  // c's old operation is finished right here
    CHECK_EQ(count_of(m, "move.assign_old"), 1u);
    CHECK_EQ(count_of(m, "move.assign_new"), 0u);
    CHECK(d.get() == nullptr);
    bt::Tracer e = std::move(c);
    e.finish();
    CHECK(e.finished());
  }
  CHECK_EQ(count_of(m, "move.assign_old"), 1u);
  CHECK_EQ(count_of(m, "move.assign_new"), 1u);

  {
    bt::Tracer f("move.discard", m);
    f.discard();
    CHECK(f.get() == nullptr);
    CHECK_THROWS(f.begin(bt::EXTRACT), BT_E_NULL);
  }
  CHECK_EQ(count_of(m, "move.discard"), 0u);

  // Metrics: the moved-from one never falls back to the global sink.
  bt::Metrics m2;
  { bt::Tracer t("move.metrics", m2); }
  bt::Metrics m3(std::move(m2));
  CHECK(m3.owns() && !m2.owns());
  CHECK_THROWS((void)m2.get(), BT_E_NULL);
  CHECK_THROWS((void)m2.snapshot(), BT_E_NULL);
  CHECK_THROWS((void)m2.take(), BT_E_NULL);
  CHECK_THROWS(m2.reset(), BT_E_NULL);
  CHECK_THROWS((void)m2.op("move.metrics"), BT_E_NULL);
  CHECK_THROWS(bt::Tracer("move.metrics", m2), BT_E_NULL);
  CHECK_THROWS(bt::Tracer("move.metrics", &m2), BT_E_NULL);
  CHECK_EQ(count_of(m3, "move.metrics"), 1u);
  m3 = bt::Metrics();  // frees the old sink, owns a new empty one
  CHECK_EQ(m3.snapshot().size(), 0u);
  m2 = std::move(m3);  // a moved-from object can be assigned to again
  CHECK_EQ(m2.snapshot().size(), 0u);

  // Snapshot.
  bt::Snapshot s = m.snapshot();
  const std::size_t n = s.size();
  bt::Snapshot s2(std::move(s));
  CHECK(s.get() == nullptr);
  CHECK_EQ(s2.size(), n);
  CHECK_THROWS((void)s.size(), BT_E_NULL);
  CHECK_THROWS((void)s.format(), BT_E_NULL);
  s = std::move(s2);
  CHECK_EQ(s.size(), n);
}

void test_wrapper__private_and_global_kept_apart() {
  bt::Metrics priv;
  bt::Metrics global = bt::Metrics::global();
  CHECK(priv.owns());
  CHECK(!global.owns());
  CHECK(global.get() == bt_metrics_global());
  CHECK(bt::Metrics::borrow(nullptr).get() == bt_metrics_global());
  CHECK(bt::Metrics::borrow(priv.get()).get() == priv.get());
  CHECK(priv.get() != global.get());

  const std::uint64_t before = count_of(global, "apart.global");
  { bt::Tracer t("apart.private", priv); }
  { bt::Tracer t("apart.private", &priv); }
  { bt::Tracer t("apart.private", priv.get()); }
  { bt::Tracer t("apart.global"); }
  { bt::Tracer t("apart.global", nullptr); }
  { bt::Tracer t("apart.global", static_cast<bt::Metrics *>(nullptr)); }
  { bt::Tracer t("apart.global", static_cast<bt_metrics *>(nullptr)); }
  { bt::Tracer t("apart.global", global); }
  { bt::Tracer t(global.op("apart.global")); }

  CHECK_EQ(count_of(priv, "apart.private"), 3u);
  CHECK(!priv.snapshot().find("apart.global").has_value());
  CHECK_EQ(count_of(global, "apart.global"), before + 6u);
  CHECK(!global.snapshot().find("apart.private").has_value());

  // Bound ops belong to their sink.
  bt::Op a = priv.op("apart.op");
  bt::Op b = priv.op(std::string("apart.op"));
  bt::Op g = global.op("apart.op");
  CHECK(a.get() == b.get());
  CHECK(a.get() != g.get());
  CHECK_STREQ(a.name(), "apart.op");
  CHECK_STREQ(g.name(), "apart.op");
  { bt::Tracer t(a); }
  CHECK_EQ(count_of(priv, "apart.op"), 1u);
  CHECK_EQ(count_of(global, "apart.op"), 0u);

  // Resetting the private sink leaves the global one alone.
  priv.reset();
  CHECK_EQ(count_of(priv, "apart.private"), 0u);
  CHECK_EQ(count_of(global, "apart.global"), before + 6u);
}

void test_wrapper__format_strings() {
  bt::Metrics m;
  bt::Timing tm;
  {
    bt::Tracer t("fmt.op", m);
    t.add_items(4);
    { auto p = t.phase(bt::EXTRACT); spin(1000); }
    { auto p = t.phase(bt::CONVERT); spin(1000); }
    tm = t.finish();
  }
  const std::string one = tm.format();
  CHECK(!one.empty());
  CHECK(contains(one, "fmt.op"));
  CHECK_EQ(one.size(), std::strlen(one.c_str()));  // no NUL left inside

  // Enough operations that the report outgrows the first guess (resize and retry).
  for (int i = 0; i < 40; ++i) {
    const std::string name = "fmt.many_operations_with_long_names." + std::to_string(i);
    bt::Tracer t(name.c_str(), m);
    auto p = t.phase(bt::NETWORK);
  }
  bt::Snapshot s = m.snapshot();
  const std::string all = s.format();
  CHECK(contains(all, "fmt.op"));
  CHECK(contains(all, "fmt.many_operations_with_long_names.39"));
  std::size_t needed = 0;
  CHECK_EQ(bt_snapshot_format(nullptr, 0, &needed, s.get()), BT_OK);
  CHECK(needed > 1024u);
  CHECK_EQ(all.size(), needed);
  CHECK_EQ(all.size(), std::strlen(all.c_str()));

  // An empty private sink still formats (possibly to an empty report) without error.
  bt::Metrics empty;
  CHECK_NOTHROW((void)empty.snapshot().format());
}

void test_wrapper__tracer_moves_between_threads() {
  bt::Metrics m;
  bt::Tracer t("thread.handoff", m);
  t.begin(bt::EXTRACT);
  t.end(bt::EXTRACT);
  std::thread worker([&t] {
    auto p = t.phase(bt::NETWORK);  // the tracer is used by one thread at a time
    spin(1000);
  });
  worker.join();
  bt::Tracer moved(std::move(t));
  std::thread finisher([tr = std::move(moved)]() mutable { tr.add_items(1); });
  finisher.join();  // the lambda's tracer is destroyed (recorded) with the thread's closure
  bt_op_stats st = stats_of(m, "thread.handoff");
  CHECK_EQ(st.count, 1u);
  CHECK_EQ(st.items, 1u);
  CHECK(st.gil_released_ns >= 1000u);

  // Many threads recording into one sink through one bound op.
  bt::Op op = m.op("thread.many");
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([op] {
      for (int k = 0; k < 250; ++k) {
        bt::Tracer tr(op);
        auto p = tr.phase(bt::CONVERT);
      }
    });
  for (std::thread &th : threads) th.join();
  CHECK_EQ(count_of(m, "thread.many"), 1000u);
}

void test_wrapper__disabled_records_nothing() {
  const bool was = bt::is_enabled();
  bt::Metrics m;
  bt::set_enabled(false);
  CHECK(!bt::is_enabled());
  {
    bt::Tracer t("disabled.op", m);  // the inert tracer: every call succeeds
    CHECK_NOTHROW(t.begin(bt::EXTRACT));
    CHECK_NOTHROW(t.begin(bt::EXTRACT));
    CHECK_NOTHROW(t.add_items(3));
    auto p = t.phase(bt::CONVERT);
  }
  {
    bt::Tracer t("disabled.finish", m);
    CHECK_NOTHROW((void)t.finish());
  }
  CHECK_NOTHROW(m.snapshot());
  bt::set_enabled(true);
  CHECK_EQ(count_of(m, "disabled.op"), 0u);
  CHECK_EQ(count_of(m, "disabled.finish"), 0u);
  { bt::Tracer t("disabled.after", m); }
  CHECK_EQ(count_of(m, "disabled.after"), 1u);
  bt::set_enabled(was);
}

struct TestCase {
  const char *name;
  void (*fn)();
};

#define TEST(f) TestCase{#f, f}

const TestCase kTests[] = {
    TEST(test_wrapper__version_matches_header),
    TEST(test_wrapper__error_carries_status_name_and_message),
    TEST(test_wrapper__tracer_records_on_destruction),
    TEST(test_wrapper__phase_scope_in_order_and_no_nesting),
    TEST(test_wrapper__bad_input_throws_right_status),
    TEST(test_wrapper__custom_phase),
    TEST(test_wrapper__snapshot_accessors),
    TEST(test_wrapper__take_and_reset),
    TEST(test_wrapper__shared_sink),
    TEST(test_wrapper__record_timing_measured_elsewhere),
    TEST(test_wrapper__timing_accessors),
    TEST(test_wrapper__move_semantics),
    TEST(test_wrapper__private_and_global_kept_apart),
    TEST(test_wrapper__format_strings),
    TEST(test_wrapper__tracer_moves_between_threads),
    TEST(test_wrapper__disabled_records_nothing),
};

}  // namespace

int main(int argc, char **argv) {
  if (!bt::is_enabled()) {
    std::fprintf(stderr, "note: tracing was disabled at load (BOUNDARYTRACE_DISABLE); enabling\n");
    bt::set_enabled(true);
  }
  int ran = 0;
  for (const TestCase &tc : kTests) {
    if (argc > 1 && std::strcmp(argv[1], tc.name) != 0) continue;
    g_test = tc.name;
    try {
      tc.fn();
    } catch (const std::exception &e) {
      std::fprintf(stderr, "[%s] FAILED: unexpected exception: %s\n", tc.name, e.what());
      return 1;
    }
    std::printf("ok   %s\n", tc.name);
    ++ran;
  }
  if (ran == 0) {
    std::fprintf(stderr, "no test called %s\n", argc > 1 ? argv[1] : "?");
    return 1;
  }
  std::printf("%d passed\n", ran);
  return 0;
}
