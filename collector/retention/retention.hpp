#pragma once

#include <chrono>
#include <cstdint>

#include "collector/store/pg_connection.hpp"
#include "common/util/time.hpp"

// Retention of the collector's history tables besides livestream_metrics (whose months the
// partition manager drops): ingest_rejects and resolved alerts ([retention] in collector.toml).
namespace streamtrack::collector::retention {

struct HistoryRetention {
  std::chrono::milliseconds ingest_rejects{0};  // 0: keep every reject
  std::chrono::milliseconds alert_history{0};   // 0: keep every resolved alert
  std::int64_t chunk_rows = 10'000;             // rows deleted per statement
};

struct HistoryReport {
  std::int64_t rejects_deleted = 0;
  std::int64_t alerts_deleted = 0;
};

// Deletes rejects received, and alerts resolved, longer ago than their retention before `now`,
// in statements of at most `chunk_rows` rows (each its own transaction, so neither table is
// locked for long). Open alerts are never deleted. Throws store::PgError.
HistoryReport prune_history(store::PgConnection& conn, TimePoint now,
                            const HistoryRetention& retention);

}  // namespace streamtrack::collector::retention
