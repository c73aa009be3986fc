/*
 * Contract test: the C++ wrapper compiles on its own (no other include before
 * it) with -Wall -Wextra -Werror -pedantic. Built, never run.
 */
#include <boundarytrace/bt.hpp>

/* Instantiate the formatting template so it is compiled, not only parsed. */
std::string bt_header_alone_format(const bt::Snapshot &s);
std::string bt_header_alone_format(const bt::Snapshot &s) { return s.format(); }
