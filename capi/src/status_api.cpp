// Status names and messages, generated from BT_STATUS_MAP.
#include "capi/src/shim.hpp"

extern "C" {

const char *bt_status_str(int status) {
  switch (status) {
#define BT_STR_(name, value, msg) \
  case value:                     \
    return msg;
    BT_STATUS_MAP(BT_STR_)
#undef BT_STR_
    default:
      return "unknown status";
  }
}

const char *bt_status_name(int status) {
  switch (status) {
#define BT_NAME_(name, value, msg) \
  case value:                      \
    return #name;
    BT_STATUS_MAP(BT_NAME_)
#undef BT_NAME_
    default:
      return "BT_E_UNKNOWN_STATUS";
  }
}

}  // extern "C"
