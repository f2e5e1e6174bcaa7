#include "collector/daemon/status_report.hpp"

#include <string>

#include "common/daemon/log.hpp"
#include "common/daemon/notify.hpp"

namespace streamtrack::collector::daemon {

void add_readiness_checks(status::StatusServer& server, const std::atomic<bool>& broker_up,
                          const DatabaseHealth& database) {
  server.add_check("broker", [&broker_up] {
    const bool up = broker_up.load();
    return status::CheckResult{up, up ? "connected" : "not connected"};
  });
  server.add_check("database", [&database] { return database.check(); });
}

void declare_alert_rules(status::CollectorMetrics& metrics,
                         const std::vector<alerts::Rule>& rules) {
  std::vector<std::string> names;
  names.reserve(rules.size());
  for (const auto& r : rules) names.push_back(r.name);
  metrics.declare_alert_rules(names);
}

void StatusReporter::update_metrics() {
  const auto samples = m_counters.samples.load();
  m_metrics.count_ingest_rows(static_cast<std::int64_t>(samples - m_reported_samples));
  m_reported_samples = samples;
  m_metrics.set_pending_rows(static_cast<std::int64_t>(m_queue.pending()));
  std::int64_t by_state[3] = {0, 0, 0};
  for (const auto& st : m_pool_states) ++by_state[st.load()];
  m_metrics.set_pool(by_state[0], by_state[1], by_state[2]);
  if (!m_alerting) return;
  std::int64_t pending = 0;
  std::int64_t firing = 0;
  std::int64_t resolved = 0;
  for (const auto& a : m_alerting->engine().alerts()) {
    ++(a.state == alerts::AlertState::pending  ? pending
       : a.state == alerts::AlertState::firing ? firing
                                               : resolved);
  }
  m_metrics.set_alerts("pending", pending);
  m_metrics.set_alerts("firing", firing);
  m_metrics.set_alerts("resolved", resolved);
}

void StatusReporter::report_status() {
  const auto samples = m_counters.samples.load();
  notify::status("samples=" + std::to_string(samples) +
                 " rejects=" + std::to_string(m_counters.rejects.load()) +
                 " pending=" + std::to_string(m_queue.pending()) +
                 (m_database.up() ? "" : " database=" + m_database.check().detail));
  if (samples == m_last_samples) return;
  log::info("ingest: progress samples=" + std::to_string(samples) +
            " rejects=" + std::to_string(m_counters.rejects.load()) +
            " batches=" + std::to_string(m_counters.batches.load()) +
            " pending=" + std::to_string(m_queue.pending()));
  m_last_samples = samples;
}

}  // namespace streamtrack::collector::daemon
