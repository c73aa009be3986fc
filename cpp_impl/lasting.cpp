#include "cpp_impl/lasting.hpp"

#include <dirent.h>

namespace bt {

bool alone_in_process() {
  DIR *d = opendir("/proc/self/task");
  if (!d) return false;
  int threads = 0;
  while (const dirent *e = readdir(d)) {
    if (e->d_name[0] != '.') ++threads;
  }
  closedir(d);
  return threads == 1;
}

}  // namespace bt
