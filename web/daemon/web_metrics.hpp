#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status/metrics.hpp"

// streamtrack-web's metrics: the common ones (build info, start time) plus its own, behind
// typed calls (docs/operations.md lists them). Thread-safe.
namespace streamtrack::web {

class WebMetrics {
 public:
  WebMetrics();
  ~WebMetrics();

  // One answered request; `route` is a fixed label ("stats", "channels", "static", ...).
  void request_done(std::string_view route, int status, std::chrono::duration<double> took);
  void count_live_events(std::int64_t n);

  struct Gauges {
    std::int64_t live_clients = 0;
    std::int64_t connections = 0;
    std::int64_t pool_idle = 0;
    std::int64_t pool_busy = 0;
    std::int64_t stats_computations = 0;
    std::int64_t slow_clients_dropped = 0;
    bool listener_connected = false;
    bool database_up = false;
  };
  // Called at each render to read the current gauges.
  void set_gauge_source(std::function<Gauges()> source);

  std::string render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  status::Metrics m_base{"streamtrack-web"};
};

}  // namespace streamtrack::web
