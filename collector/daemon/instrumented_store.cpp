#include "collector/daemon/instrumented_store.hpp"

#include <chrono>

namespace streamtrack::collector::daemon {

store::WriteOutcome InstrumentedStore::write(const std::vector<ingest::Item>& batch) {
  using Steady = std::chrono::steady_clock;
  // Before the schema is applied, a write could only fail (or, worse, find half a schema).
  if (!m_health.schema_ready()) return {Outcome::retry, "schema not applied yet"};
  m_state = static_cast<int>(PoolState::busy);
  const auto start = Steady::now();
  auto outcome = m_inner.write(batch);
  const status::Seconds took = Steady::now() - start;
  const auto rows = static_cast<std::int64_t>(batch.size());
  switch (outcome.status) {
    case Outcome::ok:
      m_metrics.batch_written(rows, took, Outcome::ok);
      m_timer.record(Steady::now() - start);
      count_rejects(batch);
      break;
    case Outcome::retry:
      m_metrics.batch_written(rows, took, Outcome::retry);
      break;
    case Outcome::error:
      m_metrics.batch_written(rows, took, Outcome::error);
      break;
  }
  m_state =
      static_cast<int>(outcome.status == Outcome::retry ? PoolState::broken : PoolState::idle);
  m_health.writer_outcome(m_writer, outcome.status == Outcome::retry ? outcome.error : "");
  return outcome;
}

// Committed dead letters: refused at decode by ingest, or refused by the database.
void InstrumentedStore::count_rejects(const std::vector<ingest::Item>& batch) {
  std::int64_t decode = 0;
  std::int64_t database = 0;
  for (const auto& item : batch) {
    if (item.kind != ingest::Item::Kind::reject) continue;
    ++(item.origin == ingest::Item::Origin::database ? database : decode);
  }
  if (decode > 0) m_metrics.count_ingest_rejects("decode", decode);
  if (database > 0) m_metrics.count_ingest_rejects("database", database);
}

}  // namespace streamtrack::collector::daemon
