#include "common/util/host.hpp"

#include <unistd.h>

namespace streamtrack {

std::string host_name(std::string_view fallback) {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return std::string(fallback);
  return buf;
}

}  // namespace streamtrack
