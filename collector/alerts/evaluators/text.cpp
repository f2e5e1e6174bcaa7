#include "collector/alerts/evaluators/text.hpp"

#include <cstdio>

namespace streamtrack::collector::alerts::evaluators {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

double seconds(std::chrono::milliseconds d) {
  return static_cast<double>(d.count()) / 1000.0;
}

}  // namespace streamtrack::collector::alerts::evaluators
