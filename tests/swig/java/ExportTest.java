package dev.boundarytrace.tests;

import static dev.boundarytrace.tests.Json.arr;
import static dev.boundarytrace.tests.Json.num;
import static dev.boundarytrace.tests.Json.obj;
import static dev.boundarytrace.tests.Util.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.boundarytrace.Format;
import dev.boundarytrace.Metrics;
import dev.boundarytrace.Phase;
import dev.boundarytrace.Snapshot;
import dev.boundarytrace.Timing;
import dev.boundarytrace.Timeline;
import dev.boundarytrace.TimelineInfo;
import dev.boundarytrace.Tracer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every export format, from Java: JSON, Prometheus, OpenMetrics, folded, text, Chrome trace. */
class ExportTest {
  private String op;
  private Metrics m;

  /** Three operations of known timings: total 1000 ns, extract 100, network 300 in 2 entries. */
  @BeforeEach
  void record() {
    op = unique("export");
    m = Metrics.create();
    Timing t = Timing.builder(op).totalNs(1000).phase(Phase.EXTRACT, 100)
        .phase(Phase.NETWORK, 300, 2).items(3).gilReleases(1).gilWaitNs(20).build();
    for (int i = 0; i < 3; i++) m.record(t);
  }

  @Test
  void jsonHoldsEveryFigure() {
    String text;
    try (Snapshot s = m.snapshot()) {
      text = s.export(Format.JSON);
    }
    Map<String, Object> root = obj(Json.parse(text));
    assertEquals("boundarytrace.snapshot", root.get("schema"));
    assertEquals(1L, root.get("version"));
    assertTrue(num(root.get("end_ns")) >= num(root.get("start_ns")));
    List<Object> phases = arr(root.get("phases"));
    assertEquals(Map.of("id", 0L, "name", "extract", "gil_held", true), obj(phases.get(0)));
    List<Object> ops = arr(root.get("operations"));
    assertEquals(1, ops.size());
    Map<String, Object> o = obj(ops.get(0));
    assertEquals(op, o.get("name"));
    assertEquals(3L, o.get("count"));
    assertEquals(9L, o.get("items"));
    assertEquals(3000L, o.get("total_ns"));
    assertEquals(300L, o.get("gil_held_ns"));
    assertEquals(900L, o.get("gil_released_ns"));
    assertEquals(60L, o.get("gil_wait_ns"));
    assertEquals(1800L - 60, o.get("unattributed_ns")); // the GIL wait is not unattributed
    Map<String, Object> total = obj(o.get("total"));
    assertEquals(3L, total.get("count"));
    assertEquals(1000L, total.get("p50_ns"));
    Map<String, Object> byPhase = obj(o.get("phases"));
    assertEquals(List.of("extract", "network"), List.copyOf(byPhase.keySet()));
    Map<String, Object> network = obj(byPhase.get("network"));
    assertEquals(6L, network.get("entries"));
    assertEquals(900L, network.get("sum_ns"));
    long inBuckets = 0;
    for (Object b : arr(network.get("buckets"))) {
      List<Object> bucket = arr(b);
      assertEquals(3, bucket.size());
      assertTrue(num(bucket.get(0)) <= 300 && 300 < num(bucket.get(1)));
      inBuckets += num(bucket.get(2));
    }
    assertEquals(3, inBuckets);
  }

  /** Sample lines "name{labels} value" of a text exposition, with their families' TYPE. */
  private static Map<String, String> samples(String text, Map<String, String> types) {
    Map<String, String> out = new HashMap<>();
    for (String line : text.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] f = line.split(" ");
        assertEquals(4, f.length, line);
        types.put(f[2], f[3]);
        continue;
      }
      if (line.startsWith("#") || line.isEmpty()) continue;
      int sp = line.lastIndexOf(' ');
      assertTrue(sp > 0, "sample line: " + line);
      String key = line.substring(0, sp);
      assertFalse(out.containsKey(key), "duplicate sample " + key);
      out.put(key, line.substring(sp + 1));
    }
    return out;
  }

  @Test
  void prometheusExposition() {
    String text;
    try (Snapshot s = m.snapshot()) {
      text = s.export(Format.PROMETHEUS);
    }
    assertTrue(text.endsWith("\n"));
    Map<String, String> types = new HashMap<>();
    Map<String, String> s = samples(text, types);
    String l = "{op=\"" + op + "\"}";
    assertEquals("counter", types.get("boundarytrace_operations_total"));
    assertEquals("histogram", types.get("boundarytrace_operation_seconds"));
    assertEquals("3", s.get("boundarytrace_operations_total" + l));
    assertEquals("9", s.get("boundarytrace_items_total" + l));
    assertEquals("3", s.get("boundarytrace_gil_releases_total" + l));
    assertEquals("0.00000006", s.get("boundarytrace_gil_wait_seconds_total" + l));
    assertEquals("6", s.get("boundarytrace_phase_entries_total{op=\"" + op + "\",phase=\"network\"}"));
    assertEquals("3", s.get("boundarytrace_operation_seconds_count" + l));
    assertEquals("0.000003", s.get("boundarytrace_operation_seconds_sum" + l));
    assertEquals("3", s.get("boundarytrace_operation_seconds_bucket{op=\"" + op + "\",le=\"+Inf\"}"));
    assertEquals("0", s.get("boundarytrace_operation_seconds_bucket{op=\"" + op + "\",le=\"0.000000512\"}"));
    assertEquals("3", s.get("boundarytrace_operation_seconds_bucket{op=\"" + op + "\",le=\"0.000001024\"}"));
    assertFalse(text.contains("# EOF"));
  }

  @Test
  void openMetricsExposition() {
    String text;
    try (Snapshot s = m.snapshot()) {
      text = s.export(Format.OPENMETRICS);
    }
    assertTrue(text.endsWith("# EOF\n"), "ends with # EOF");
    Map<String, String> types = new HashMap<>();
    Map<String, String> s = samples(text, types);
    assertEquals("counter", types.get("boundarytrace_operations"), "family without _total");
    assertEquals("histogram", types.get("boundarytrace_phase_seconds"));
    assertTrue(text.contains("# UNIT boundarytrace_operation_seconds seconds\n"));
    assertEquals("3", s.get("boundarytrace_operations_total{op=\"" + op + "\"}"));
    assertEquals("3", s.get("boundarytrace_phase_seconds_count{op=\"" + op + "\",phase=\"extract\"}"));
  }

  @Test
  void foldedStacksAddUpToTheTotal() {
    String text;
    try (Snapshot s = m.snapshot()) {
      text = s.export(Format.FOLDED);
    }
    Map<String, Long> frames = new HashMap<>();
    for (String line : text.split("\n")) {
      String[] f = line.split(" ");
      assertEquals(2, f.length, line);
      frames.put(f[0], Long.parseLong(f[1]));
    }
    assertEquals(Map.of(op + ";extract", 300L, op + ";network", 900L, op + ";GIL_wait", 60L,
        op + ";unattributed", 1740L),
        frames);
  }

  @Test
  void textReport() {
    try (Snapshot s = m.snapshot()) {
      String text = s.export(Format.TEXT);
      assertEquals(s.format(), text);
      assertTrue(text.contains(op + ": 3 ops, 0 errors, 9 items"), text);
      assertTrue(text.contains("extract"));
      assertTrue(text.contains("network"));
    }
  }

  @Test
  void writesEachFormatToAFileAtomically() throws Exception {
    Path dir = Util.tmpdir(op);
    try (Snapshot s = m.snapshot()) {
      for (Format f : Format.values()) {
        Path p = dir.resolve("snapshot-" + f.name().toLowerCase() + ".out");
        s.write(f, p);
        assertEquals(s.export(f), Files.readString(p, StandardCharsets.UTF_8), f.name());
      }
      Map<String, Format> bySuffix = Map.of("a.json", Format.JSON, "a.prom", Format.PROMETHEUS,
          "a.om", Format.OPENMETRICS, "a.folded", Format.FOLDED, "a.txt", Format.TEXT);
      for (Map.Entry<String, Format> e : bySuffix.entrySet()) {
        Path p = dir.resolve(e.getKey());
        assertEquals(e.getValue(), Format.forPath(p));
        s.write(p);
        assertEquals(s.export(e.getValue()), Files.readString(p, StandardCharsets.UTF_8));
      }
      try (var files = Files.list(dir)) {
        assertEquals(10, files.count(), "no temporary files left");
      }
    }
  }

  @Test
  void chromeTraceOfTheTimeline() throws Exception {
    String traced = unique("traced");
    Timeline.start(8);
    try {
      for (int i = 0; i < 10; i++) {
        try (Tracer t = new Tracer(m, traced)) {
          try (Phase p = t.phase(Phase.EXTRACT)) {
            Util.spin(2_000);
          }
          try (Phase p = t.phase(Phase.NETWORK)) {
            Util.spin(2_000);
          }
          t.addItems(i);
        }
      }
      TimelineInfo info = Timeline.info();
      assertEquals(new TimelineInfo(8, 8, 2, true), info);
      String text = Timeline.export();
      Map<String, Object> root = obj(Json.parse(text));
      int operations = 0;
      int phases = 0;
      for (Object e : arr(root.get("traceEvents"))) {
        Map<String, Object> ev = obj(e);
        assertTrue(ev.containsKey("ph") && ev.containsKey("pid") && ev.containsKey("tid"), ev.toString());
        if (!"X".equals(ev.get("ph"))) continue;
        assertTrue(ev.get("ts") instanceof Number && ev.get("dur") instanceof Number, ev.toString());
        if ("operation".equals(ev.get("cat"))) {
          assertEquals(traced, ev.get("name"));
          assertTrue(obj(ev.get("args")).containsKey("items"));
          operations++;
        } else if ("phase".equals(ev.get("cat"))) {
          phases++;
        }
      }
      assertEquals(8, operations);
      assertEquals(16, phases);
      Map<String, Object> other = obj(root.get("otherData"));
      assertEquals(2L, other.get("dropped"));
      Path p = Util.tmpdir(traced).resolve("timeline.json");
      Timeline.write(p);
      obj(Json.parse(Files.readString(p, StandardCharsets.UTF_8)));
    } finally {
      Timeline.stop();
    }
    assertFalse(Timeline.info().active());
  }
}
