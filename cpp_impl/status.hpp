// Result codes of the core. The C shim maps them one to one onto bt_status
// (it static_asserts that the values agree), so the core needs no C header.
#pragma once

namespace bt {

enum class Err : int {
  ok = 0,
  null = -1,
  invalid = -2,
  name = -3,
  unknown_phase = -4,
  phase_open = -5,
  phase_not_open = -6,
  finished = -7,
  struct_size = -8,
  nomem = -9,
  full = -10,
  conflict = -11,
  not_found = -12,
  internal = -13,
  io = -14,
};

}  // namespace bt
