/* The header's version equals the library's; the SONAME carries the ABI major. */
#include "bt_test.h"

#include <dlfcn.h>

static void test_version__number_matches_header(void **state) {
  (void)state;
  assert_int_equal(bt_version(), BT_VERSION_NUMBER);
  assert_int_equal(BT_VERSION_NUMBER,
                   BT_VERSION_MAJOR * 10000 + BT_VERSION_MINOR * 100 + BT_VERSION_PATCH);
}

static void test_version__string_matches_header(void **state) {
  char want[32];
  (void)state;
  assert_non_null(bt_version_string());
  assert_string_equal(bt_version_string(), BT_VERSION_STRING);
  assert_int_equal(bt_abi_version(), BT_ABI_VERSION);
  snprintf(want, sizeof want, "%d.%d.%d", BT_VERSION_MAJOR, BT_VERSION_MINOR, BT_VERSION_PATCH);
  assert_string_equal(BT_VERSION_STRING, want);
  assert_ptr_equal(bt_version_string(), bt_version_string()); /* static storage */
}

/* The loaded file is libboundarytrace.so.<BT_ABI_VERSION> (the SONAME link). */
static void test_version__soname_carries_abi_major(void **state) {
  Dl_info info;
  char want[64];
  const char *base;
  void *fn = dlsym(RTLD_DEFAULT, "bt_version"); /* the library's own address */
  (void)state;
  assert_non_null(fn);
  memset(&info, 0, sizeof info);
  assert_true(dladdr(fn, &info) != 0);
  assert_non_null(info.dli_fname);
  base = strrchr(info.dli_fname, '/');
  base = base ? base + 1 : info.dli_fname;
  snprintf(want, sizeof want, "libboundarytrace.so.%d", BT_ABI_VERSION);
  assert_string_equal(base, want);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version__number_matches_header),
      cmocka_unit_test(test_version__string_matches_header),
      cmocka_unit_test(test_version__soname_carries_abi_major),
  };
  return cmocka_run_group_tests_name("version", tests, NULL, NULL);
}
