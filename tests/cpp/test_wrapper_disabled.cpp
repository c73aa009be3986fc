/*
 * The C++ wrapper with tracing compiled out (BT_DISABLE_TRACING): bt.h turns
 * every C call into an inline no-op returning BT_OK, and the wrapper must keep
 * working on top of that — no throw, nothing recorded, empty reports — in a
 * program that is not linked against libboundarytrace at all.
 */
#define BT_DISABLE_TRACING 1
#include <boundarytrace/bt.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <utility>

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      std::exit(1);                                                      \
    }                                                                    \
  } while (0)

int main() {
  try {
    CHECK(!bt::is_enabled());
    CHECK(bt::version() == BT_VERSION_NUMBER);
    bt::Metrics m;
    bt::Metrics g = bt::Metrics::global();
    bt::Op op = m.op("noop.op");
    {
      bt::Tracer t("noop.op", m);
      t.begin(bt::EXTRACT);
      t.end(bt::EXTRACT);
      { auto p = t.phase(bt::CONVERT); }
      t.add_items(3);
      t.add_gil_release();
      t.add_gil_wait(10);
      t.set_workers(2);
      t.set_error();
      bt::Timing tm = t.finish();
      CHECK(tm.format().empty());
      bt::Tracer moved(std::move(t));
    }
    { bt::Tracer t(op); }
    { bt::Tracer t("noop.global"); }
    (void)bt::register_phase("noop.phase", true);
    (void)bt::lookup_phase("noop.phase");
    bt::Snapshot s = m.snapshot();
    CHECK(s.size() == 0);
    CHECK(s.format().empty());
    CHECK(s.buckets(0, bt::TOTAL).empty());
    bt::TakeResult r = g.take();
    CHECK(r.interval.size() == 0);
    m.reset();
    m.record(bt::Timing("noop.op"));
  } catch (const std::exception &e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    return 1;
  }
  std::puts("ok   test_wrapper_disabled");
  return 0;
}
