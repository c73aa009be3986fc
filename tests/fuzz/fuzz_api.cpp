// libFuzzer harness: the input is a program of API calls on a few handles.
// After each step the result must be a documented status (never a crash,
// leak or sanitizer report), and every snapshot must agree with what the
// program did: an operation's count equals the tracers finished and timings
// recorded with BT_OK since the last reset, and equals its histogram's
// bucket sum. Takes add up with the cumulative view.
#include <boundarytrace/bt.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

namespace {

struct Input {
  const uint8_t *p;
  size_t n;
  bool empty() const { return n == 0; }
  uint8_t byte() {
    if (!n) return 0;
    --n;
    return *p++;
  }
  uint32_t u32() { return byte() | (uint32_t(byte()) << 8) | (uint32_t(byte()) << 16) | (uint32_t(byte()) << 24); }
  uint64_t u64() { return u32() | (uint64_t(u32()) << 32); }
  // A name: mostly from a table (so operations repeat), sometimes raw bytes
  // (empty, overlong, invalid UTF-8, control characters).
  std::string name() {
    static const char *table[] = {"insert_many", "find", "op\xc3\xa9", "x", "update", "delete"};
    uint8_t b = byte();
    if (b < 200) return table[b % 6];
    size_t len = byte();
    if (b == 255) len += 200;  // near and past BT_NAME_MAX
    std::string s;
    for (size_t i = 0; i < len; ++i) s.push_back(static_cast<char>(byte()));
    return std::string(s.c_str());  // what a C caller passes ends at the first NUL
  }
};

void fail(const char *what, int status) {
  std::fprintf(stderr, "invariant broken: %s (status %d %s)\n", what, status, bt_status_name(status));
  std::abort();
}

bool known_status(int s) { return s <= 0 && s >= BT_STATUS_LAST_; }

void expect(int s, const char *what) {
  if (!known_status(s)) fail(what, s);
}

struct Sink {
  bt_metrics *m = nullptr;
  std::map<std::string, uint64_t> expected;  // finishes + records with BT_OK since reset
  uint64_t taken = 0;                        // sum of interval counts since reset
};

uint64_t check_snapshot(const bt_snapshot *s, const Sink *sink) {
  size_t n = 0;
  expect(bt_snapshot_op_count(&n, s), "op_count");
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    bt_op_stats st = BT_OP_STATS_INIT;
    if (bt_snapshot_op_stats(&st, s, i) != BT_OK) fail("op_stats", -99);
    bt_bucket b[64];
    size_t nb = 0;
    if (bt_snapshot_buckets(b, 64, &nb, s, i, BT_PHASE_TOTAL) != BT_OK) fail("buckets", -99);
    uint64_t sum = 0;
    for (size_t k = 0; k < nb && k < 64; ++k) sum += b[k].count;
    if (nb <= 64 && sum != st.count) fail("count != bucket sum", 0);
    if (sink) {
      auto it = sink->expected.find(st.name);
      uint64_t want = it == sink->expected.end() ? 0 : it->second;
      if (st.count != want) {
        std::fprintf(stderr, "operation '%s': count %llu, finished %llu\n", st.name,
                     static_cast<unsigned long long>(st.count), static_cast<unsigned long long>(want));
        fail("snapshot count != finished tracers", 0);
      }
    }
    total += st.count;
  }
  return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Input in{data, size};
  Sink sinks[2];
  for (auto &s : sinks) {
    if (bt_metrics_new(&s.m) != BT_OK) return 0;
  }
  bt_tracer *tr[4] = {};
  int tr_sink[4] = {};
  std::string tr_name[4];
  char small[64];
  size_t needed;

  while (!in.empty()) {
    uint8_t op = in.byte();
    int slot = in.byte() % 4;
    Sink &sink = sinks[in.byte() % 2];
    switch (op % 16) {
      case 0: {  // new tracer by name (freeing what the slot held)
        bt_tracer_free(tr[slot]);
        tr[slot] = nullptr;
        tr_name[slot] = in.name();
        tr_sink[slot] = static_cast<int>(&sink - sinks);
        expect(bt_tracer_new(&tr[slot], sink.m, tr_name[slot].c_str()), "tracer_new");
        break;
      }
      case 1: {  // new tracer from a bound operation
        std::string name = in.name();
        bt_op *bop = nullptr;
        int s = bt_op_lookup(&bop, sink.m, name.c_str());
        expect(s, "op_lookup");
        if (s == BT_OK) {
          bt_tracer_free(tr[slot]);
          tr[slot] = nullptr;
          if (std::strcmp(bt_op_name(bop), name.c_str()) != 0) fail("op name", 0);
          tr_name[slot] = name;
          tr_sink[slot] = static_cast<int>(&sink - sinks);
          expect(bt_tracer_new_op(&tr[slot], bop), "tracer_new_op");
        }
        break;
      }
      case 2: expect(bt_phase_begin(tr[slot], static_cast<int8_t>(in.byte())), "begin"); break;
      case 3: expect(bt_phase_end(tr[slot], static_cast<int8_t>(in.byte())), "end"); break;
      case 4:
        switch (in.byte() % 5) {
          case 0: expect(bt_tracer_add_items(tr[slot], in.u32()), "items"); break;
          case 1: expect(bt_tracer_add_gil_release(tr[slot]), "gil_release"); break;
          case 2: expect(bt_tracer_add_gil_wait(tr[slot], in.u32()), "gil_wait"); break;
          case 3: expect(bt_tracer_set_workers(tr[slot], in.byte()), "workers"); break;
          default: expect(bt_tracer_set_error(tr[slot]), "error"); break;
        }
        break;
      case 5: {  // finish (twice is fine: the second says BT_E_FINISHED)
        bt_timing t = BT_TIMING_INIT;
        if (in.byte() & 1) t.struct_size = in.byte();  // sometimes too small
        int s = bt_tracer_finish_timing(&t, tr[slot]);
        expect(s, "finish");
        if (s == BT_OK && tr[slot]) sinks[tr_sink[slot]].expected[tr_name[slot]]++;
        break;
      }
      case 6:
        bt_tracer_free(tr[slot]);
        tr[slot] = nullptr;
        break;
      case 7: {
        bt_phase_id id;
        std::string name = in.name();
        expect(bt_phase_register(&id, name.c_str(), in.byte() & 1), "phase_register");
        break;
      }
      case 8: {
        bt_snapshot *s = nullptr;
        expect(bt_metrics_snapshot(&s, sink.m), "snapshot");
        if (s) check_snapshot(s, &sink);
        bt_snapshot_free(s);
        break;
      }
      case 9: {  // take: interval + cumulative
        bt_snapshot *iv = nullptr, *cum = nullptr;
        expect(bt_metrics_take(&iv, &cum, sink.m), "take");
        if (iv) sink.taken += check_snapshot(iv, nullptr);
        if (cum && check_snapshot(cum, &sink) != sink.taken) fail("takes != cumulative", 0);
        bt_snapshot_free(iv);
        bt_snapshot_free(cum);
        break;
      }
      case 10: {  // text into small buffers
        size_t cap = in.byte() % sizeof small;
        bt_snapshot *s = nullptr;
        if (bt_metrics_snapshot(&s, sink.m) == BT_OK) {
          expect(bt_snapshot_format(cap ? small : nullptr, cap, &needed, s), "format");
          if (cap && std::strlen(small) >= cap) fail("format overflow", 0);
        }
        bt_snapshot_free(s);
        bt_timing t = BT_TIMING_INIT;
        t.op_name = "x";
        expect(bt_timing_format(cap ? small : nullptr, cap, &needed, &t), "timing_format");
        break;
      }
      case 11: {  // every export, into small buffers
        size_t cap = in.byte() % sizeof small;
        bt_snapshot *s = nullptr;
        if (bt_metrics_snapshot(&s, sink.m) == BT_OK) {
          for (int f = -1; f <= 7; ++f) {
            expect(bt_snapshot_export(cap ? small : nullptr, cap, &needed, s, static_cast<bt_format>(f)), "export");
          }
        }
        bt_snapshot_free(s);
        break;
      }
      case 12: {  // a timing measured elsewhere, possibly inconsistent
        bt_timing t = BT_TIMING_INIT;
        std::string name = in.name();
        t.op_name = name.c_str();
        t.total_ns = in.u64() >> (in.byte() % 64);
        int p = in.byte() % (BT_MAX_PHASES + 1);
        if (p < BT_MAX_PHASES) {
          t.phase_ns[p] = in.u32();
          t.phase_entries[p] = in.byte();
        }
        t.flags = in.byte() % 5;
        int s = bt_metrics_record(sink.m, &t);
        expect(s, "record");
        if (s == BT_OK) sink.expected[name]++;
        break;
      }
      case 13:
        expect(bt_metrics_reset(sink.m), "reset");
        sink.expected.clear();
        sink.taken = 0;
        break;
      case 14: {  // the trace ring
        switch (in.byte() % 4) {
          case 0: expect(bt_timeline_start(in.byte()), "timeline_start"); break;
          case 1: expect(bt_timeline_stop(), "timeline_stop"); break;
          default: {
            size_t cap = in.byte() % sizeof small;
            expect(bt_timeline_export(cap ? small : nullptr, cap, &needed), "timeline_export");
          }
        }
        break;
      }
      default: {  // NULL and odd arguments
        expect(bt_phase_begin(nullptr, 0), "begin(NULL)");
        expect(bt_snapshot_find(&needed, nullptr, "x"), "find(NULL)");
        bt_phase_stats ps = BT_PHASE_STATS_INIT;
        ps.struct_size = in.byte();
        bt_snapshot *s = nullptr;
        if (bt_metrics_snapshot(&s, sink.m) == BT_OK) {
          expect(bt_snapshot_phase_stats(&ps, s, in.byte(), static_cast<int8_t>(in.byte())), "phase_stats");
          uint64_t q;
          double qv = (in.byte() - 64) / 64.0;
          expect(bt_snapshot_quantile(&q, s, in.byte() % 3, BT_PHASE_TOTAL, qv), "quantile");
        }
        bt_snapshot_free(s);
        break;
      }
    }
  }
  for (auto *t : tr) bt_tracer_free(t);
  // A last check of each sink, then free.
  for (auto &sink : sinks) {
    bt_snapshot *s = nullptr;
    if (bt_metrics_snapshot(&s, sink.m) == BT_OK) check_snapshot(s, &sink);
    bt_snapshot_free(s);
    bt_metrics_free(sink.m);
  }
  bt_timeline_stop();
  return 0;
}
