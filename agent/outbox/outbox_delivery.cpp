#include <SQLiteCpp/SQLiteCpp.h>

#include "agent/outbox/outbox.hpp"
#include "common/daemon/log.hpp"

// The publisher's side: reading rows to publish, deleting delivered ones, quarantining refused
// ones.
namespace streamtrack::agent::outbox {

Result<std::vector<Row>> Outbox::read(std::int64_t from, std::int64_t before, std::size_t limit) {
  std::vector<Row> rows;
  if (limit == 0 || from >= before) return rows;
  if (from >= m_recent_from) {
    for (auto it = m_recent.lower_bound(from);
         it != m_recent.end() && it->first < before && rows.size() < limit; ++it) {
      rows.push_back(it->second);
    }
    return rows;
  }
  try {
    auto& q = statement(m_read,
                        "SELECT seq, topic, payload FROM samples WHERE seq >= ? AND seq < ? "
                        "ORDER BY seq LIMIT ?");
    q.bind(1, from);
    q.bind(2, before);
    q.bind(3, static_cast<std::int64_t>(limit));
    while (q.executeStep()) {
      rows.push_back(
          Row{q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getString()});
    }
    q.tryReset();
  } catch (const SQLite::Exception& e) {
    log::error("outbox: read failed error=" + log::quote(e.what()));
    return Result<std::vector<Row>>::failure(e.what());
  }
  return rows;
}

bool Outbox::quarantine(std::int64_t seq, const std::string& reason) {
  try {
    SQLite::Transaction tx(*m_db);
    SQLite::Statement size(*m_db, "SELECT bytes FROM samples WHERE seq = ?");
    size.bind(1, seq);
    if (!size.executeStep()) return true;
    const std::int64_t bytes = size.getColumn(0).getInt64();
    SQLite::Statement move(
        *m_db,
        "INSERT OR REPLACE INTO dead_letters(seq, ts_ms, topic, payload, reason, "
        "quarantined_ms) SELECT seq, ts_ms, topic, payload, ?, ? FROM samples "
        "WHERE seq = ?");
    move.bind(1, reason);
    move.bind(2, SystemClock::instance().now().time_since_epoch().count());
    move.bind(3, seq);
    move.exec();
    SQLite::Statement del(*m_db, "DELETE FROM samples WHERE seq = ?");
    del.bind(1, seq);
    del.exec();
    set_meta("last_seq", m_last_seq);
    SQLite::Statement trim(*m_db,
                           "DELETE FROM dead_letters WHERE seq NOT IN "
                           "(SELECT seq FROM dead_letters ORDER BY seq DESC LIMIT ?)");
    trim.bind(1, m_options.max_dead_letters);
    const int trimmed = trim.exec();
    tx.commit();
    forget(seq, seq);
    m_depth -= 1;
    m_bytes -= bytes;
    m_quarantined += 1 - trimmed;
    log::error("outbox: sample quarantined seq=" + std::to_string(seq) + " reason=" +
               log::quote(reason) + " (kept in the dead-letter table; see outbox stats)");
    return true;
  } catch (const SQLite::Exception& e) {
    log::error("outbox: quarantine failed seq=" + std::to_string(seq) +
               " error=" + log::quote(e.what()));
    return false;
  }
}

Result<std::int64_t> Outbox::remove(
    const std::vector<std::pair<std::int64_t, std::int64_t>>& ranges) {
  if (ranges.empty()) return std::int64_t{0};
  try {
    SQLite::Transaction tx(*m_db);
    std::int64_t rows = 0;
    std::int64_t freed = 0;
    set_meta("last_seq", m_last_seq);
    for (const auto& [first, last] : ranges) {
      auto& del = statement(m_delete_range,
                            "DELETE FROM samples WHERE seq BETWEEN ? AND ? RETURNING bytes");
      del.bind(1, first);
      del.bind(2, last);
      while (del.executeStep()) {
        ++rows;
        freed += del.getColumn(0).getInt64();
      }
      del.tryReset();
    }
    tx.commit();
    for (const auto& [first, last] : ranges) forget(first, last);
    m_depth -= rows;
    m_bytes -= freed;
    return rows;
  } catch (const SQLite::Exception& e) {
    return Result<std::int64_t>::failure(e.what());
  }
}

std::optional<std::int64_t> Outbox::first_seq() {
  try {
    SQLite::Statement q(*m_db, "SELECT min(seq) FROM samples");
    if (q.executeStep() && !q.getColumn(0).isNull()) return q.getColumn(0).getInt64();
  } catch (const SQLite::Exception& e) {
    log::error("outbox: read failed error=" + log::quote(e.what()));
  }
  return std::nullopt;
}

}  // namespace streamtrack::agent::outbox
