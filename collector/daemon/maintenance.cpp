#include "collector/daemon/maintenance.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include "collector/analytics/hourly.hpp"
#include "collector/daemon/options.hpp"
#include "collector/retention/retention.hpp"
#include "collector/sessions/session_store.hpp"
#include "collector/store/migrations.hpp"
#include "common/daemon/log.hpp"
#include "common/util/backoff.hpp"

namespace streamtrack::collector::daemon {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Steps = partitions::MaintenanceOptions::Steps;

void refresh_analytics(store::PgConnection& c) {
  const auto n = analytics::refresh_hourly(c);
  if (n > 0) log::debug("analytics: refreshed hours=" + std::to_string(n));
}

}  // namespace

void log_partitions(const partitions::MaintenanceReport& r) {
  for (const auto& name : r.created) log::info("partitions: created partition=" + name);
  for (const auto& [file, rows] : r.archived) {
    log::notice("partitions: archived file=" + log::quote(file) + " rows=" + std::to_string(rows));
  }
  for (const auto& name : r.dropped) log::notice("partitions: dropped partition=" + name);
  if (r.rescued_rows > 0) {
    log::warning("partitions: moved rows out of the default partition rows=" +
                 std::to_string(r.rescued_rows));
  }
  if (r.expired_rows > 0) {
    log::notice("partitions: deleted rows of dropped months from the default partition rows=" +
                std::to_string(r.expired_rows));
  }
  for (const auto& [name, error] : r.failed) {
    log::error("partitions: cannot create or drop partition=" + name +
               " error=" + log::quote(error) + " (retried next round)");
  }
  if (r.default_rows > 0) {
    log::warning("partitions: default partition holds rows=" + std::to_string(r.default_rows) +
                 " (samples outside every month a partition can be made for)");
  }
}

store::PgConnection& WorkerConnection::get() {
  if (!m_conn || !m_conn->healthy()) {
    auto fresh = std::make_unique<store::PgConnection>(maintenance_options(m_config));
    std::lock_guard lock(m_mutex);
    m_conn = std::move(fresh);
  }
  return *m_conn;
}

bool WorkerConnection::drop_if_broken() {
  if (m_conn && m_conn->healthy()) return false;
  std::lock_guard lock(m_mutex);
  m_conn.reset();
  return true;
}

void WorkerConnection::cancel() {
  std::lock_guard lock(m_mutex);
  if (m_conn) m_conn->cancel();
}

void MaintenanceWorker::run() {
  auto& wakeup = m_thread.wakeup();
  Backoff backoff(milliseconds{500}, milliseconds{10'000});
  while (!wakeup.stopped() && !prepare()) {
    if (wakeup.wait_for(backoff.next_delay())) return;
  }
  Periodic probe(milliseconds{5000});
  Periodic analytics(m_config.analytics_refresh_interval);
  Periodic maintenance(m_config.maintenance_interval);
  Periodic sessions(std::min<milliseconds>(m_config.session_timeout / 4, milliseconds{30'000}));
  while (true) {
    const auto next =
        std::min({probe.next(), analytics.next(), maintenance.next(), sessions.next()});
    if (wakeup.wait_until(next)) break;
    const auto now = Steady::now();
    if (probe.due(now)) task("database", [](store::PgConnection& c) { c.exec("SELECT 1"); });
    if (analytics.due(now)) task("analytics", refresh_analytics);
    if (maintenance.due(now)) {
      task("partitions", [this](store::PgConnection& c) {
        log_partitions(partitions::maintain_partitions(c, m_clock.now(),
                                                       partition_options(m_config, Steps::create)));
      });
      task("retention", [this](store::PgConnection& c) {
        const auto r = retention::prune_history(
            c, m_clock.now(),
            {m_config.rejects_retention, m_config.alert_history_retention, 10'000});
        if (r.rejects_deleted > 0 || r.alerts_deleted > 0) {
          log::notice("retention: deleted ingest_rejects=" + std::to_string(r.rejects_deleted) +
                      " alerts=" + std::to_string(r.alerts_deleted));
        }
      });
    }
    if (sessions.due(now)) {
      task("sessions", [this](store::PgConnection& c) {
        const auto n = sessions::close_silent_sessions(c, m_clock.now(), m_config.session_timeout);
        if (n > 0) log::info("sessions: closed silent sessions=" + std::to_string(n));
      });
    }
  }
  if (m_health.schema_ready()) task("analytics", refresh_analytics);
}

// Migrations, then ingest may start (rows of a month without its partition wait in the default
// partition), then one round creating partitions (whose failures are only logged: a month that
// cannot be made is no reason not to start). Expired months are RetentionWorker's. False when
// the database is unreachable.
bool MaintenanceWorker::prepare() {
  return task("schema", [this](store::PgConnection& c) {
    const auto applied = store::apply_migrations(c);
    for (const int v : applied) log::notice("schema: applied migration=" + std::to_string(v));
    m_health.set_schema_ready();
    log::info("schema: ready");
    try {
      log_partitions(partitions::maintain_partitions(c, m_clock.now(),
                                                     partition_options(m_config, Steps::create)));
    } catch (const store::PgError& e) {
      if (!c.healthy()) throw;
      log::error("partitions: maintenance failed error=" + log::quote(e.describe()));
    }
  });
}

bool MaintenanceWorker::task(const char* what,
                             const std::function<void(store::PgConnection&)>& body) {
  try {
    body(m_conn.get());
    m_health.set_reachable(true);
    return true;
  } catch (const store::PgError& e) {
    log::warning(std::string(what) + ": database error error=" + log::quote(e.describe()));
    if (m_conn.drop_if_broken()) m_health.set_reachable(false, e.describe());
    return false;
  }
}

void RetentionWorker::run() {
  auto& wakeup = m_thread.wakeup();
  // The first round once the schema is applied, then one every maintenance_interval.
  auto next = Steady::now();
  while (!wakeup.wait_until(next)) {
    if (!m_health.schema_ready()) {
      next = Steady::now() + milliseconds{1000};
      continue;
    }
    next = Steady::now() + m_config.maintenance_interval;
    try {
      auto options = partition_options(m_config, Steps::expire);
      // Asked before each month and chunk, so that stop() (which also cancels) ends the round.
      options.stop_requested = [&wakeup] { return wakeup.stopped(); };
      log_partitions(partitions::maintain_partitions(m_conn.get(), m_clock.now(), options));
    } catch (const store::PgError& e) {
      log::warning("retention: database error error=" + log::quote(e.describe()));
      m_conn.drop_if_broken();
    }
  }
}

}  // namespace streamtrack::collector::daemon
