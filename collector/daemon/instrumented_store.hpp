#pragma once

#include <atomic>
#include <cstddef>
#include <vector>

#include "collector/alerts/timed_store.hpp"
#include "collector/daemon/database_health.hpp"
#include "collector/store/store.hpp"
#include "common/status/metrics.hpp"

namespace streamtrack::collector::daemon {

// What one pool connection is doing, for collector_postgres_connections.
enum class PoolState : int { idle, busy, broken };

// The one decorator around each writer's PgStore: holds writes back (retry) until the schema is
// applied, and reports each attempt to the metrics (rows, latency and outcome per batch,
// dead-lettered rows by origin, its pool connection's state in `state`), to the write_latency
// alert rule (committed writes) and to the /readyz "database" check (its last outcome, as
// writer number `writer`). Used by one writer thread; the references outlive it.
class InstrumentedStore final : public store::Store {
 public:
  InstrumentedStore(store::Store& inner, status::CollectorMetrics& metrics,
                    alerts::WriteTimer& timer, std::atomic<int>& state, DatabaseHealth& health,
                    std::size_t writer)
      : m_inner(inner),
        m_metrics(metrics),
        m_timer(timer),
        m_state(state),
        m_health(health),
        m_writer(writer) {}

  store::WriteOutcome write(const std::vector<ingest::Item>& batch) override;

 private:
  void count_rejects(const std::vector<ingest::Item>& batch);

  store::Store& m_inner;
  status::CollectorMetrics& m_metrics;
  alerts::WriteTimer& m_timer;
  std::atomic<int>& m_state;
  DatabaseHealth& m_health;
  std::size_t m_writer;
};

}  // namespace streamtrack::collector::daemon
