/*
 * boundarytrace example in C: one "insert_many" operation, traced in its four
 * phases, doing real work in each.
 *
 *   extract      (GIL held)     parse N text records "id,name,score" into structs
 *   convert      (GIL released) encode them into a length-prefixed binary buffer
 *   network      (GIL released) send it over loopback TCP to a server thread, which
 *                               decodes it, sums the scores and replies; read the reply
 *   materialize  (GIL held)     decode the reply into result records with strings
 *
 * There is no interpreter here, so a mutex stands in for the GIL: it is held
 * during extract and materialize, released around convert and network, and the
 * time spent taking it back is reported as GIL wait.
 *
 * Batches of 10, 100 and 1000 records run a few times each into the global
 * metrics; the program prints the timing of one operation and then the report
 * of the global snapshot. It exits non-zero if any bt_* call fails.
 *
 * Build with CMake (see CMakeLists.txt here), or with pkg-config alone:
 *
 *   cc example.c $(pkg-config --cflags --libs boundarytrace) -lpthread -o bt_example_c
 *
 * (add -Wl,-rpath,$(pkg-config --variable=libdir boundarytrace) when the library
 * is installed outside the loader's search path).
 */
#define _POSIX_C_SOURCE 200809L

#include <boundarytrace/bt.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* Every bt_* call goes through this: a failure prints its name and exits 1. */
#define BT_CHECK(call)                                                          \
  do {                                                                          \
    bt_status st_ = (call);                                                     \
    if (st_ != BT_OK) {                                                         \
      fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, #call, \
              bt_status_name(st_), bt_status_str(st_));                         \
      exit(1);                                                                  \
    }                                                                           \
  } while (0)

static void die(const char *what) {
  fprintf(stderr, "bt_example_c: %s: %s\n", what, errno ? strerror(errno) : "failed");
  exit(1);
}

/* ------------------------------------------------------------------------- */
/* Records and the wire format                                               */
/* ------------------------------------------------------------------------- */

#define NAME_CAP 24 /* bytes, NUL included */

typedef struct record {
  uint32_t id;
  int32_t score;
  char name[NAME_CAP];
} record;

typedef struct result {
  uint32_t id;
  uint32_t share_bp; /* the record's share of the total score, basis points */
  char text[64];
} result;

/* Big-endian helpers; a buffer grows as needed. */
typedef struct buffer {
  unsigned char *data;
  size_t len, cap;
} buffer;

static void buf_reserve(buffer *b, size_t extra) {
  if (b->len + extra <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra) cap *= 2;
  unsigned char *p = realloc(b->data, cap);
  if (p == NULL) die("realloc");
  b->data = p;
  b->cap = cap;
}
static void put_u16(buffer *b, uint16_t v) {
  buf_reserve(b, 2);
  b->data[b->len++] = (unsigned char)(v >> 8);
  b->data[b->len++] = (unsigned char)v;
}
static void put_u32(buffer *b, uint32_t v) {
  buf_reserve(b, 4);
  for (int s = 24; s >= 0; s -= 8) b->data[b->len++] = (unsigned char)(v >> s);
}
static void put_u64(buffer *b, uint64_t v) {
  buf_reserve(b, 8);
  for (int s = 56; s >= 0; s -= 8) b->data[b->len++] = (unsigned char)(v >> s);
}
static void put_bytes(buffer *b, const void *p, size_t n) {
  buf_reserve(b, n);
  memcpy(b->data + b->len, p, n);
  b->len += n;
}
/* Patches the 4-byte length prefix at the start with the payload length. */
static void finish_frame(buffer *b) {
  uint32_t n = (uint32_t)(b->len - 4);
  for (int i = 0; i < 4; ++i) b->data[i] = (unsigned char)(n >> (24 - 8 * i));
}

/* A bounds-checked reader; `ok` drops to 0 on a short read. */
typedef struct reader {
  const unsigned char *p, *end;
  int ok;
} reader;

static uint64_t get_n(reader *r, int bytes) {
  if (r->end - r->p < bytes) {
    r->ok = 0;
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | *r->p++;
  return v;
}
static const unsigned char *get_bytes(reader *r, size_t n) {
  if ((size_t)(r->end - r->p) < n) {
    r->ok = 0;
    return NULL;
  }
  const unsigned char *p = r->p;
  r->p += n;
  return p;
}

/* ------------------------------------------------------------------------- */
/* Sockets                                                                   */
/* ------------------------------------------------------------------------- */

static int write_full(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = send(fd, c, n, 0);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

/* 1 = read n bytes, 0 = clean end of stream before any byte, -1 = error. */
static int read_full(int fd, void *p, size_t n) {
  char *c = p;
  size_t got = 0;
  while (got < n) {
    ssize_t r = recv(fd, c + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) return got == 0 ? 0 : -1;
    got += (size_t)r;
  }
  return 1;
}

/* Reads one frame (u32 length + payload) into b. Same returns as read_full. */
static int read_frame(int fd, buffer *b) {
  unsigned char hdr[4];
  int rc = read_full(fd, hdr, 4);
  if (rc <= 0) return rc;
  uint32_t n = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | ((uint32_t)hdr[2] << 8) | hdr[3];
  b->len = 0;
  buf_reserve(b, n);
  if (n > 0 && read_full(fd, b->data, n) != 1) return -1;
  b->len = n;
  return 1;
}

static void set_nodelay(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("setsockopt");
}

/*
 * The server: one connection, one request frame at a time. A request is
 * u32 count, then count x (u32 id, i32 score, u16 name_len, name bytes). The
 * reply is u32 count, i64 sum of scores, then count x (u32 id, u32 share_bp).
 */
static void *server_main(void *arg) {
  int listen_fd = *(int *)arg;
  int fd = accept(listen_fd, NULL, NULL);
  if (fd < 0) die("accept");
  set_nodelay(fd);
  buffer in = {0}, out = {0};
  uint32_t *ids = NULL;
  int32_t *scores = NULL;
  for (;;) {
    int rc = read_frame(fd, &in);
    if (rc == 0) break; /* the client closed the connection */
    if (rc < 0) die("server: read");
    reader r = {in.data, in.data + in.len, 1};
    uint32_t count = (uint32_t)get_n(&r, 4);
    uint32_t *ni = realloc(ids, (count ? count : 1) * sizeof *ids);
    int32_t *ns = realloc(scores, (count ? count : 1) * sizeof *scores);
    if (ni == NULL || ns == NULL) die("server: realloc");
    ids = ni;
    scores = ns;
    int64_t sum = 0;
    for (uint32_t i = 0; i < count && r.ok; ++i) {
      ids[i] = (uint32_t)get_n(&r, 4);
      scores[i] = (int32_t)(uint32_t)get_n(&r, 4);
      size_t name_len = (size_t)get_n(&r, 2);
      (void)get_bytes(&r, name_len); /* the server has no use for names */
      sum += scores[i];
    }
    if (!r.ok) {
      fprintf(stderr, "bt_example_c: server: malformed request\n");
      exit(1);
    }
    out.len = 0;
    put_u32(&out, 0); /* length, patched below */
    put_u32(&out, count);
    put_u64(&out, (uint64_t)sum);
    for (uint32_t i = 0; i < count; ++i) {
      put_u32(&out, ids[i]);
      put_u32(&out, sum > 0 ? (uint32_t)((int64_t)scores[i] * 10000 / sum) : 0);
    }
    finish_frame(&out);
    if (write_full(fd, out.data, out.len) != 0) die("server: send");
  }
  free(ids);
  free(scores);
  free(in.data);
  free(out.data);
  close(fd);
  return NULL;
}

/* ------------------------------------------------------------------------- */
/* The traced operation                                                      */
/* ------------------------------------------------------------------------- */

static pthread_mutex_t gil = PTHREAD_MUTEX_INITIALIZER; /* stands in for the GIL */

static const char *const kNames[] = {"ada", "grace", "linus", "barbara", "ken", "margaret",
                                     "dennis", "frances", "edsger", "radia"};

/* The "interpreter objects": n lines of text, generated in memory. */
static char *make_input(size_t n, unsigned seed) {
  char *text = malloc(n * 48 + 1);
  if (text == NULL) die("malloc");
  size_t off = 0;
  unsigned x = seed * 2654435761u + 1u;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    off += (size_t)sprintf(text + off, "%zu,%s_%zu,%u\n", i + 1, kNames[(x >> 16) % 10], i,
                           (x >> 8) % 1000u);
  }
  text[off] = '\0';
  return text;
}

/* extract: parses the lines into records; returns the sum of scores. */
static int64_t parse_records(const char *text, record *recs, size_t n) {
  int64_t sum = 0;
  const char *p = text;
  for (size_t i = 0; i < n; ++i) {
    char *end;
    recs[i].id = (uint32_t)strtoul(p, &end, 10);
    if (*end != ',') die("parse: id");
    p = end + 1;
    const char *comma = strchr(p, ',');
    if (comma == NULL || comma - p >= NAME_CAP) die("parse: name");
    memcpy(recs[i].name, p, (size_t)(comma - p));
    recs[i].name[comma - p] = '\0';
    recs[i].score = (int32_t)strtol(comma + 1, &end, 10);
    if (*end != '\n') die("parse: score");
    p = end + 1;
    sum += recs[i].score;
  }
  return sum;
}

/* convert: encodes the records into one request frame. */
static void encode_records(const record *recs, size_t n, buffer *out) {
  out->len = 0;
  put_u32(out, 0);
  put_u32(out, (uint32_t)n);
  for (size_t i = 0; i < n; ++i) {
    size_t name_len = strlen(recs[i].name);
    put_u32(out, recs[i].id);
    put_u32(out, (uint32_t)recs[i].score);
    put_u16(out, (uint16_t)name_len);
    put_bytes(out, recs[i].name, name_len);
  }
  finish_frame(out);
}

/* materialize: decodes the reply into results; returns 0 when it matches. */
static int decode_reply(const buffer *reply, size_t n, int64_t expected_sum, result *res) {
  reader r = {reply->data, reply->data + reply->len, 1};
  uint32_t count = (uint32_t)get_n(&r, 4);
  int64_t sum = (int64_t)get_n(&r, 8);
  if (!r.ok || count != n || sum != expected_sum) return -1;
  for (size_t i = 0; i < n; ++i) {
    res[i].id = (uint32_t)get_n(&r, 4);
    res[i].share_bp = (uint32_t)get_n(&r, 4);
    snprintf(res[i].text, sizeof res[i].text, "record %" PRIu32 ": %u.%02u%% of %" PRId64,
             res[i].id, res[i].share_bp / 100, res[i].share_bp % 100, sum);
  }
  return r.ok ? 0 : -1;
}

/*
 * One traced insert_many of n records over the connection `fd`. Writes the
 * operation's timing to *timing_out. Returns 0, or -1 when the reply did not
 * match (the operation is then recorded as failed).
 */
static int insert_many(bt_op *op, int fd, size_t n, unsigned seed, bt_timing *timing_out,
                       char *first_result, size_t first_cap) {
  char *text = make_input(n, seed); /* owned by the "interpreter", not traced */
  record *recs = calloc(n, sizeof *recs);
  result *res = calloc(n, sizeof *res);
  buffer request = {0}, reply = {0};
  if (recs == NULL || res == NULL) die("calloc");

  bt_tracer *t = NULL;
  BT_CHECK(bt_tracer_new_op(&t, op)); /* the clock starts here */

  pthread_mutex_lock(&gil); /* we are the interpreter: hold the GIL */
  BT_CHECK(bt_phase_begin(t, BT_PHASE_EXTRACT));
  int64_t expected_sum = parse_records(text, recs, n);
  BT_CHECK(bt_phase_end(t, BT_PHASE_EXTRACT));
  BT_CHECK(bt_tracer_add_items(t, n));

  pthread_mutex_unlock(&gil); /* Py_BEGIN_ALLOW_THREADS */
  BT_CHECK(bt_tracer_add_gil_release(t));
  BT_CHECK(bt_tracer_set_workers(t, 1));

  BT_CHECK(bt_phase_begin(t, BT_PHASE_CONVERT));
  encode_records(recs, n, &request);
  BT_CHECK(bt_phase_end(t, BT_PHASE_CONVERT));

  BT_CHECK(bt_phase_begin(t, BT_PHASE_NETWORK));
  if (write_full(fd, request.data, request.len) != 0) die("send");
  if (read_frame(fd, &reply) != 1) die("recv");
  BT_CHECK(bt_phase_end(t, BT_PHASE_NETWORK));

  uint64_t wait_start = bt_clock_now_ns(); /* Py_END_ALLOW_THREADS */
  pthread_mutex_lock(&gil);
  BT_CHECK(bt_tracer_add_gil_wait(t, bt_clock_now_ns() - wait_start));

  BT_CHECK(bt_phase_begin(t, BT_PHASE_MATERIALIZE));
  int rc = decode_reply(&reply, n, expected_sum, res);
  BT_CHECK(bt_phase_end(t, BT_PHASE_MATERIALIZE));
  pthread_mutex_unlock(&gil);

  if (rc != 0) BT_CHECK(bt_tracer_set_error(t));
  BT_CHECK(bt_tracer_finish_timing(timing_out, t)); /* records into the global metrics */
  bt_tracer_free(t);

  if (rc == 0 && n > 0) snprintf(first_result, first_cap, "%s", res[0].text);
  free(text);
  free(recs);
  free(res);
  free(request.data);
  free(reply.data);
  return rc;
}

/* Prints a bt_*_format result: ask for the length, allocate, format. */
static void print_timing(const bt_timing *timing) {
  size_t needed = 0;
  BT_CHECK(bt_timing_format(NULL, 0, &needed, timing));
  char *text = malloc(needed + 1);
  if (text == NULL) die("malloc");
  BT_CHECK(bt_timing_format(text, needed + 1, &needed, timing));
  fputs(text, stdout);
  if (needed > 0 && text[needed - 1] != '\n') putchar('\n');
  free(text);
}

static void print_snapshot(const bt_snapshot *snap) {
  size_t needed = 0;
  BT_CHECK(bt_snapshot_format(NULL, 0, &needed, snap));
  char *text = malloc(needed + 1);
  if (text == NULL) die("malloc");
  BT_CHECK(bt_snapshot_format(text, needed + 1, &needed, snap));
  fputs(text, stdout);
  if (needed > 0 && text[needed - 1] != '\n') putchar('\n');
  free(text);
}

int main(void) {
  printf("boundarytrace %s (built against %s), clock: %s\n", bt_version_string(),
         BT_VERSION_STRING, bt_clock_source());

  /* A loopback server on an ephemeral port. */
  int listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd < 0) die("socket");
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("bind");
  if (listen(listen_fd, 1) != 0) die("listen");
  socklen_t len = sizeof addr;
  if (getsockname(listen_fd, (struct sockaddr *)&addr, &len) != 0) die("getsockname");
  pthread_t server;
  if (pthread_create(&server, NULL, server_main, &listen_fd) != 0) die("pthread_create");

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("connect");
  set_nodelay(fd);
  printf("server listening on 127.0.0.1:%u\n\n", (unsigned)ntohs(addr.sin_port));

  /* Bind the operation name once; tracers made from it skip the name lookup. */
  bt_op *op = NULL;
  BT_CHECK(bt_op_lookup(&op, NULL, "insert_many"));

  static const size_t kSizes[] = {10, 100, 1000};
  const int kIterations = 5;
  bt_timing last = BT_TIMING_INIT;
  int failures = 0;
  for (size_t s = 0; s < sizeof kSizes / sizeof kSizes[0]; ++s) {
    char first[64] = "";
    uint64_t total_ns = 0;
    for (int it = 0; it < kIterations; ++it) {
      bt_timing timing = BT_TIMING_INIT;
      if (insert_many(op, fd, kSizes[s], (unsigned)(s * 100 + (size_t)it), &timing, first,
                      sizeof first) != 0)
        ++failures;
      total_ns += timing.total_ns;
      last = timing;
    }
    printf("batch of %4zu records x %d: mean %8.1f us/op   first result: %s\n", kSizes[s],
           kIterations, (double)total_ns / kIterations / 1e3, first);
  }
  close(fd); /* the server sees end of stream and exits */
  pthread_join(server, NULL);
  close(listen_fd);

  printf("\n--- one operation (the last batch of %zu records) ---\n", kSizes[2]);
  print_timing(&last);

  bt_snapshot *snap = NULL;
  BT_CHECK(bt_metrics_snapshot(&snap, NULL));
  printf("\n--- global metrics ---\n");
  print_snapshot(snap);
  bt_snapshot_free(snap);

  if (failures != 0) {
    fprintf(stderr, "bt_example_c: %d operation(s) got a wrong reply\n", failures);
    return 1;
  }
  return 0;
}
