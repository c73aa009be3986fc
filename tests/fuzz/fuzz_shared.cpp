// libFuzzer harness for the shared directory's file reader: the input is one
// file, placed in a private directory as a process slot or as the archive
// (its first byte chooses), then merged with bt_snapshot_read_shared. Any
// input must give BT_OK (a bad file is skipped with a reason, never
// trusted), and the snapshot must be whole: every distribution's count is
// the sum of its buckets and min <= p50 <= max. A slot's flight recorder is
// exported too (BT_OK or BT_E_NOT_FOUND, JSON closed).
#include <boundarytrace/bt.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void broken(const char *what) {
  std::fprintf(stderr, "fuzz_shared: %s\n", what);
  std::abort();
}

const std::string &dir() {
  static const std::string d = [] {
    char buf[] = "/tmp/bt-fuzz-shared-XXXXXX";
    if (!mkdtemp(buf)) broken("mkdtemp");
    return std::string(buf);
  }();
  return d;
}

void put(const std::string &name, const uint8_t *data, size_t size) {
  const std::string path = dir() + "/" + name;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) broken("open");
  while (size) {
    ssize_t w = write(fd, data, size);
    if (w <= 0) broken("write");
    data += w;
    size -= static_cast<size_t>(w);
  }
  close(fd);
}

void check_whole(const bt_snapshot *s) {
  size_t n = 0;
  if (bt_snapshot_op_count(&n, s) != BT_OK) broken("op_count");
  const uint32_t phases = bt_phase_count();
  for (size_t i = 0; i < n; ++i) {
    for (int32_t p = -1; p < static_cast<int32_t>(phases); ++p) {
      const bt_phase_id id = p < 0 ? BT_PHASE_TOTAL : p;
      bt_phase_stats ps = BT_PHASE_STATS_INIT;
      if (bt_snapshot_phase_stats(&ps, s, i, id) != BT_OK) broken("phase_stats");
      size_t nb = 0;
      if (bt_snapshot_buckets(nullptr, 0, &nb, s, i, id) != BT_OK) broken("buckets");
      std::vector<bt_bucket> b(nb);
      if (nb && bt_snapshot_buckets(b.data(), nb, &nb, s, i, id) != BT_OK) broken("buckets");
      uint64_t sum = 0;
      for (const bt_bucket &x : b) sum += x.count;
      if (sum != ps.count) broken("a count differs from its buckets' sum");
      if (ps.count && !(ps.min_ns <= ps.p50_ns && ps.p50_ns <= ps.max_ns)) broken("min <= p50 <= max broken");
    }
  }
  size_t need = 0;
  if (bt_snapshot_export(nullptr, 0, &need, s, BT_FORMAT_JSON) != BT_OK) broken("export");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const bool archive = size > 0 && (data[0] & 1);
  const std::string here = archive ? "archive.bt" : "slot-0.bt";
  const std::string other = archive ? "slot-0.bt" : "archive.bt";
  unlink((dir() + "/" + other).c_str());
  put(here, size ? data + 1 : data, size ? size - 1 : 0);
  bt_snapshot *s = nullptr;
  if (bt_snapshot_read_shared(&s, dir().c_str()) != BT_OK) broken("read_shared did not answer BT_OK");
  bt_snapshot_info info = BT_SNAPSHOT_INFO_INIT;
  if (bt_snapshot_get_info(&info, s) != BT_OK || info.skipped > 1) broken("info");
  for (size_t i = 0; i < info.skipped; ++i) {
    const char *path = nullptr, *reason = nullptr;
    if (bt_snapshot_get_skipped(&path, &reason, s, i) != BT_OK || !*path || !*reason) broken("skipped");
  }
  check_whole(s);
  bt_snapshot_free(s);
  // A slot's flight recorder, by the pid its header names (FileHeader.pid
  // is the word at byte 32).
  if (!archive && size >= 1 + 40) {
    int64_t pid = 0;
    std::memcpy(&pid, data + 1 + 32, sizeof pid);
    if (pid > 0) {
      size_t needed = 0;
      const bt_status st = bt_timeline_export_shared(nullptr, 0, &needed, dir().c_str(), pid);
      if (st != BT_OK && st != BT_E_NOT_FOUND) broken("timeline_export_shared");
      if (st == BT_OK) {
        std::vector<char> json(needed + 1);
        if (bt_timeline_export_shared(json.data(), json.size(), &needed, dir().c_str(), pid) != BT_OK)
          broken("timeline_export_shared (second call)");
        if (needed < 2 || json[needed - 2] != '}') broken("flight JSON not closed");
      }
    }
  }
  return 0;
}
