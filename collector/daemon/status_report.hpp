#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "collector/alerts/service.hpp"
#include "collector/batch/batch_writer.hpp"
#include "collector/daemon/database_health.hpp"
#include "collector/ingest/ingest.hpp"
#include "common/status/metrics.hpp"
#include "common/status/status_server.hpp"

// What the collector tells its operator: /readyz checks, /metrics figures, systemd STATUS= and
// the progress log line.
namespace streamtrack::collector::daemon {

// The /readyz checks: "broker" (the MQTT connection is up) and "database" (DatabaseHealth).
// Both read state only, as a check must; the arguments outlive the server.
void add_readiness_checks(status::StatusServer& server, const std::atomic<bool>& broker_up,
                          const DatabaseHealth& database);

// Creates the transition series of `rules` at 0 (CollectorMetrics::declare_alert_rules).
void declare_alert_rules(status::CollectorMetrics& metrics, const std::vector<alerts::Rule>& rules);

// Turns the running collector's counters into metrics and status lines; from the main loop only.
// `pool_states` holds one PoolState per writer (filled once the writers start); `alerting`
// may be null (off). Every reference outlives the reporter.
class StatusReporter {
 public:
  StatusReporter(status::CollectorMetrics& metrics, const batch::WriterCounters& counters,
                 const ingest::IngestQueue& queue, const std::vector<std::atomic<int>>& pool_states,
                 const DatabaseHealth& database, alerts::AlertService* alerting)
      : m_metrics(metrics),
        m_counters(counters),
        m_queue(queue),
        m_pool_states(pool_states),
        m_database(database),
        m_alerting(alerting) {}

  // Gauges (pending rows, pool connections by state, alerts by state) and the committed-rows
  // counter; at least once a second.
  void update_metrics();
  // STATUS= for systemctl status, and an "ingest: progress" line when samples were committed
  // since the last one.
  void report_status();

 private:
  status::CollectorMetrics& m_metrics;
  const batch::WriterCounters& m_counters;
  const ingest::IngestQueue& m_queue;
  const std::vector<std::atomic<int>>& m_pool_states;
  const DatabaseHealth& m_database;
  alerts::AlertService* m_alerting;
  std::uint64_t m_reported_samples = 0;
  std::uint64_t m_last_samples = 0;
};

}  // namespace streamtrack::collector::daemon
