#include "collector/daemon/database_health.hpp"

namespace streamtrack::collector::daemon {

DatabaseHealth::DatabaseHealth(status::CollectorMetrics& metrics) : m_metrics(metrics) {
  m_metrics.set_database_up(false);
}

void DatabaseHealth::set_reachable(bool up, const std::string& error) {
  std::lock_guard lock(m_mutex);
  m_reachable = up;
  if (!up) m_maintenance_error = error;
  publish();
}

void DatabaseHealth::set_schema_ready() {
  std::lock_guard lock(m_mutex);
  m_schema_ready = true;
  publish();
}

void DatabaseHealth::writer_outcome(std::size_t writer, const std::string& error) {
  std::lock_guard lock(m_mutex);
  if (m_writer_errors.size() <= writer) m_writer_errors.resize(writer + 1);
  m_writer_errors[writer] = error;
  publish();
}

status::CheckResult DatabaseHealth::check() const {
  std::lock_guard lock(m_mutex);
  return check_locked();
}

void DatabaseHealth::publish() {
  m_metrics.set_database_up(check_locked().ok);
}

status::CheckResult DatabaseHealth::check_locked() const {
  if (!m_reachable) return {false, "unreachable: " + m_maintenance_error};
  if (!m_schema_ready) return {false, "schema not applied yet"};
  for (const auto& e : m_writer_errors) {
    if (!e.empty()) return {false, "writes failing: " + e};
  }
  return {true, "reachable"};
}

}  // namespace streamtrack::collector::daemon
