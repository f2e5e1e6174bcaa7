#include "collector/retention/retention.hpp"

namespace streamtrack::collector::retention {

namespace {

std::int64_t delete_in_chunks(store::PgConnection& conn, const std::string& table,
                              const std::string& condition, const std::string& before,
                              std::int64_t chunk) {
  const std::string sql = "DELETE FROM " + table + " WHERE id IN (SELECT id FROM " + table +
                          " WHERE " + condition + " LIMIT " + std::to_string(chunk) + ")";
  std::int64_t total = 0;
  while (true) {
    const auto n = conn.exec(sql, {before}).affected();
    total += n;
    if (n < chunk) return total;
  }
}

}  // namespace

HistoryReport prune_history(store::PgConnection& conn, TimePoint now,
                            const HistoryRetention& retention) {
  HistoryReport report;
  if (retention.ingest_rejects.count() > 0) {
    report.rejects_deleted =
        delete_in_chunks(conn, "ingest_rejects", "received_at < $1::timestamptz",
                         format_rfc3339(now - retention.ingest_rejects), retention.chunk_rows);
  }
  if (retention.alert_history.count() > 0) {
    report.alerts_deleted = delete_in_chunks(
        conn, "alerts", "resolved_at IS NOT NULL AND resolved_at < $1::timestamptz",
        format_rfc3339(now - retention.alert_history), retention.chunk_rows);
  }
  return report;
}

}  // namespace streamtrack::collector::retention
