#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "common/status/metrics.hpp"
#include "common/status/status_server.hpp"

namespace streamtrack::collector::daemon {

// What the /readyz "database" check and collector_postgres_up report, written by the
// maintenance worker (reachability, schema) and the writers (their last outcome). The gauge is
// set under the same lock as the state changes, so /readyz and /metrics never disagree.
// Thread-safe.
class DatabaseHealth {
 public:
  // Starts unreachable, without the schema (the gauge at 0).
  explicit DatabaseHealth(status::CollectorMetrics& metrics);

  // The maintenance connection answered (`up`), or failed with `error`.
  void set_reachable(bool up, const std::string& error = {});
  // The migrations are applied: writes may start. For good.
  void set_schema_ready();
  bool schema_ready() const { return m_schema_ready; }
  // Writer number `writer`'s batch failed (retried) with `error`, or (empty) committed.
  void writer_outcome(std::size_t writer, const std::string& error);

  bool up() const { return check().ok; }
  // The "database" readiness check: the first of unreachable, no schema, a writer failing.
  status::CheckResult check() const;

 private:
  void publish();
  status::CheckResult check_locked() const;

  status::CollectorMetrics& m_metrics;
  mutable std::mutex m_mutex;
  bool m_reachable = false;
  std::atomic<bool> m_schema_ready{false};
  std::string m_maintenance_error = "not connected yet";
  std::vector<std::string> m_writer_errors;
};

}  // namespace streamtrack::collector::daemon
