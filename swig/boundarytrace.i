/*
 * boundarytrace.i — the SWIG interface of boundarytrace, for Java, Perl 5 and Tcl 8.6.
 *
 * It wraps the public C header boundarytrace/bt.h and nothing else (bindings
 * use the public headers only). What SWIG generates here is the raw layer; each
 * language has a thin hand-written layer over it that users see
 * (swig/java/src/dev/boundarytrace/*.java, swig/perl/lib/Boundarytrace.pm,
 * swig/tcl/boundarytrace.tcl).
 *
 * The raw layer already hides the C conventions:
 *  - a negative bt_status becomes the language's error (a Java exception, a
 *    Perl die with a Boundarytrace::Error object, a Tcl error with errorCode
 *    {BOUNDARYTRACE BT_E_...}); the message reads "<NAME>: <sentence> (in <call>)";
 *  - out-pointers become results (Perl and Tcl: return values; Java: a
 *    one-element array the hand-written layer passes in);
 *  - result structs become Perl hashes and Tcl dicts (Java: SWIG proxy classes
 *    that the hand-written layer copies into records);
 *  - the snprintf-style text calls are rendered whole into a string (the
 *    btw_* helpers below, which use bt.h only);
 *  - a call on a shared directory (bt_metrics_open_shared,
 *    bt_snapshot_read_shared, bt_timeline_export_shared) that fails with
 *    BT_E_IO names the directory and errno's text, and the rule an unsafe
 *    directory broke (btw_shared_detail); bt_snapshot_get_skipped gives the
 *    (path, reason) pair of one file a merge left out.
 *
 * Per-language typemaps live beside their layer: java/bt_java.swg,
 * perl/bt_perl.swg, tcl/bt_tcl.swg.
 */

#if defined(SWIGJAVA)
%module BtNative
#elif defined(SWIGPERL)
%module "Boundarytrace::Raw"
#else
%module boundarytrace_raw
#endif

%{
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boundarytrace/bt.h"

/* ---- shared helpers (bt.h only) ------------------------------------------ */

/* Fields of the result structs, so each language lists them once. */
#define BTW_TIMING_U64(X) X(total_ns) X(unattributed_ns) X(gil_held_ns) \
  X(gil_released_ns) X(gil_wait_ns) X(items)
#define BTW_TIMING_U32(X) X(gil_releases) X(workers) X(flags)
#define BTW_OP_STATS_U64(X) X(count) X(errors) X(left_open) X(items) X(total_ns) \
  X(gil_held_ns) X(gil_released_ns) X(gil_wait_ns) X(unattributed_ns) \
  X(gil_releases) X(parallel_ops) X(workers_max)
#define BTW_PHASE_STATS_U64(X) X(count) X(entries) X(sum_ns) X(min_ns) X(max_ns) \
  X(p50_ns) X(p90_ns) X(p99_ns) X(p999_ns)
#define BTW_SNAPSHOT_INFO_U64(X) X(op_count) X(start_ns) X(end_ns) X(phase_count) \
  X(dropped) X(processes) X(skipped)
#define BTW_TIMELINE_INFO_U64(X) X(capacity) X(kept) X(dropped)

/*
 * The snprintf-style calls (bt_*_format, bt_*_export) rendered whole into a
 * malloc'ed string: a first pass into a guess, then again with the size the
 * library asked for. A snapshot or timing is immutable, so the second pass
 * fits; the timeline may grow between passes, hence the slack and the bound.
 */
typedef bt_status (*btw_render_fn)(char *buf, size_t cap, size_t *needed, const void *obj,
                                   int arg);

static bt_status btw_render(char **text_out, btw_render_fn fn, const void *obj, int arg) {
  size_t cap = 4096;
  char *buf = NULL;
  int attempt;
  if (text_out == NULL) return BT_E_NULL;
  for (attempt = 0; attempt < 8; ++attempt) {
    size_t needed = 0;
    bt_status st;
    char *grown = (char *)realloc(buf, cap);
    if (grown == NULL) {
      free(buf);
      return BT_E_NOMEM;
    }
    buf = grown;
    st = fn(buf, cap, &needed, obj, arg);
    if (st != BT_OK) {
      free(buf);
      return st;
    }
    if (needed < cap) {
      *text_out = buf;
      return BT_OK;
    }
    cap = needed + needed / 8 + 1;
  }
  free(buf);
  return BT_E_INTERNAL;
}

static bt_status btw_render_timing(char *b, size_t c, size_t *n, const void *o, int a) {
  (void)a;
  return bt_timing_format(b, c, n, (const bt_timing *)o);
}
static bt_status btw_render_snapshot(char *b, size_t c, size_t *n, const void *o, int a) {
  (void)a;
  return bt_snapshot_format(b, c, n, (const bt_snapshot *)o);
}
static bt_status btw_render_export(char *b, size_t c, size_t *n, const void *o, int a) {
  return bt_snapshot_export(b, c, n, (const bt_snapshot *)o, (bt_format)a);
}
static bt_status btw_render_timeline(char *b, size_t c, size_t *n, const void *o, int a) {
  (void)o;
  (void)a;
  return bt_timeline_export(b, c, n);
}

/* bt_timeline_export_shared's inputs, the object its renderer is given. */
typedef struct btw_flight {
  const char *dir;
  int64_t pid;
} btw_flight;

/* The flight recorder of a live process may grow between passes: the bound
   of btw_render covers it, as for the timeline. */
static bt_status btw_render_timeline_shared(char *b, size_t c, size_t *n, const void *o, int a) {
  const btw_flight *f = (const btw_flight *)o;
  (void)a;
  return bt_timeline_export_shared(b, c, n, f->dir, f->pid);
}

/*
 * The detail of a failed call on a shared directory (bt_metrics_open_shared,
 * bt_snapshot_read_shared, bt_timeline_export_shared), into buf; NULL (the
 * error's usual detail) for any status but BT_E_IO. BT_E_IO: "<dir>:
 * <strerror(err)>", and for EACCES the rule the directory broke, when a look
 * at it says which: the library refuses a directory that group or others may
 * write into, or (to write into it) one of another user, with EACCES, whose
 * sentence ("Permission denied") reads like a missing permission. An EACCES
 * for an ordinary reason (a parent that may not be searched) gets no rule.
 */
static const char *btw_shared_detail(char *buf, size_t cap, int status, int err,
                                     const char *call, const char *dir) {
  static const char rule[] =
      "a shared directory must be your own and not writable by group or others";
  struct stat st;
  int opening = strcmp(call, "bt_metrics_open_shared") == 0;
  size_t len;
  if (status != BT_E_IO || dir == NULL) return NULL;
  snprintf(buf, cap, "%.400s: %s", dir, err != 0 ? strerror(err) : "unknown reason");
  if (err != EACCES || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return buf;
  len = strlen(buf);
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    snprintf(buf + len, cap - len, "; %s, and this one is mode %04o", rule,
             (unsigned)(st.st_mode & 07777));
  else if (opening && st.st_uid != geteuid())
    snprintf(buf + len, cap - len, "; %s, and this one belongs to user id %lu", rule,
             (unsigned long)st.st_uid);
  else if (opening)
    snprintf(buf + len, cap - len, "; %s, writable by you, and its files must be yours too", rule);
  return buf;
}

/* The non-empty buckets of one distribution, copied whole. */
typedef struct btw_buckets {
  bt_bucket *v;
  size_t n;
} btw_buckets;

static bt_status btw_buckets_fill(btw_buckets *out, const bt_snapshot *s, size_t index,
                                  bt_phase_id phase) {
  size_t n = 0;
  bt_status st = bt_snapshot_buckets(NULL, 0, &n, s, index, phase);
  if (st != BT_OK) return st;
  out->v = NULL;
  out->n = 0;
  if (n == 0) return BT_OK;
  out->v = (bt_bucket *)calloc(n, sizeof(bt_bucket));
  if (out->v == NULL) return BT_E_NOMEM;
  st = bt_snapshot_buckets(out->v, n, &out->n, s, index, phase);
  if (st != BT_OK) {
    free(out->v);
    out->v = NULL;
    out->n = 0;
    return st;
  }
  if (out->n > n) out->n = n; /* immutable snapshot: cannot happen */
  return BT_OK;
}

/* A phase given by id for the hash/dict conversions: its name, or NULL. */
static const char *btw_phase_name(bt_phase_id id) {
  const char *name = NULL;
  if (bt_phase_get_info(&name, NULL, id) != BT_OK) return NULL;
  return name;
}
%}

/* ---- the helpers the raw layer exposes instead of the snprintf calls ------ */
%{
/** bt_snapshot_format, rendered whole. */
static bt_status btw_snapshot_format(char **text_out, const bt_snapshot *snapshot) {
  if (snapshot == NULL) return BT_E_NULL;
  return btw_render(text_out, btw_render_snapshot, snapshot, 0);
}
/** bt_snapshot_export, rendered whole. */
static bt_status btw_snapshot_export(char **text_out, const bt_snapshot *snapshot,
                                     bt_format format) {
  if (snapshot == NULL) return BT_E_NULL;
  return btw_render(text_out, btw_render_export, snapshot, (int)format);
}
/** bt_timing_format, rendered whole. */
static bt_status btw_timing_format(char **text_out, const bt_timing *timing) {
  if (timing == NULL) return BT_E_NULL;
  return btw_render(text_out, btw_render_timing, timing, 0);
}
/** bt_timeline_export, rendered whole. */
static bt_status btw_timeline_export(char **text_out) {
  return btw_render(text_out, btw_render_timeline, NULL, 0);
}
/** bt_timeline_export_shared, rendered whole. */
static bt_status btw_timeline_export_shared(char **text_out, const char *dir, int64_t pid) {
  btw_flight f;
  if (dir == NULL) return BT_E_NULL;
  f.dir = dir;
  f.pid = pid;
  return btw_render(text_out, btw_render_timeline_shared, &f, 0);
}
/** bt_snapshot_buckets, copied whole. */
static bt_status btw_snapshot_buckets(btw_buckets *buckets_out, const bt_snapshot *snapshot,
                                      size_t index, bt_phase_id phase) {
  return btw_buckets_fill(buckets_out, snapshot, index, phase);
}
%}

/* Integer types: stdint as C has them; each language file maps them further. */
%include <stdint.i>
%include <typemaps.i>

#if defined(SWIGJAVA)
%include "java/bt_java.swg"
#elif defined(SWIGPERL)
%include "perl/bt_perl.swg"
#elif defined(SWIGTCL)
%include "tcl/bt_tcl.swg"
#else
#error "boundarytrace.i: Java, Perl and Tcl are the languages wrapped"
#endif

/* The helpers take the C names of the calls they stand for. */
%ignore bt_snapshot_format;
%ignore bt_snapshot_export;
%ignore bt_timing_format;
%ignore bt_timeline_export;
%ignore bt_timeline_export_shared;
%ignore bt_snapshot_buckets;
%rename(bt_snapshot_format) btw_snapshot_format;
%rename(bt_snapshot_export) btw_snapshot_export;
%rename(bt_timing_format) btw_timing_format;
%rename(bt_timeline_export) btw_timeline_export;
%rename(bt_timeline_export_shared) btw_timeline_export_shared;
%rename(bt_snapshot_buckets) btw_snapshot_buckets;
%ignore bt_bucket;
%ignore btw_buckets;

/* Build-time macros that make no sense across the binding. */
%ignore BT_API;
%ignore BT_STATUS_LAST_;

%include "boundarytrace/bt.h"

/* Declared after bt.h, so SWIG knows its types when it wraps them. */
bt_status btw_snapshot_format(char **text_out, const bt_snapshot *snapshot);
bt_status btw_snapshot_export(char **text_out, const bt_snapshot *snapshot, bt_format format);
#if !defined(SWIGJAVA)
bt_status btw_timing_format(char **text_out, const bt_timing *timing);
#endif
bt_status btw_timeline_export(char **text_out);
bt_status btw_timeline_export_shared(char **text_out, const char *dir, int64_t pid);
bt_status btw_snapshot_buckets(btw_buckets *buckets_out, const bt_snapshot *snapshot, size_t index,
                               bt_phase_id phase);
#if defined(SWIGJAVA)
bt_status btw_metrics_record(bt_metrics *metrics, bt_timing *timing, const char *op_name);
bt_status btw_timing_format_op(char **text_out, bt_timing *timing, const char *op_name);
#endif
