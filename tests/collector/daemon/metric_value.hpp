#pragma once

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "common/status/metrics.hpp"

namespace streamtrack::collector::daemon {

// The value of an unlabelled series (`streamtrack_collector_frames_total`) in the Prometheus
// text of `metrics`; fails the test, returning -1, when the series is not there.
inline double metric_value(const status::Metrics& metrics, const std::string& series) {
  std::istringstream lines(metrics.render());
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  ADD_FAILURE() << "no " << series << " in\n" << metrics.render();
  return -1;
}

}  // namespace streamtrack::collector::daemon
