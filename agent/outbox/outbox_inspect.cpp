#include <SQLiteCpp/SQLiteCpp.h>

#include <ostream>

#include "agent/outbox/outbox.hpp"
#include "common/daemon/log.hpp"

// Inspection: outbox stats and outbox export.
namespace streamtrack::agent::outbox {

Stats Outbox::stats() {
  Stats s;
  s.depth = m_depth;
  s.bytes = m_bytes;
  s.last_seq = m_last_seq;
  s.dropped_oldest = m_dropped_oldest;
  s.dropped_newest = m_dropped_newest;
  s.dropped_unsaved = m_dropped_unsaved;
  s.quarantined = m_quarantined;
  s.seq_reserved = m_reserved;
  try {
    SQLite::Statement q(*m_db, "SELECT ts_ms FROM samples ORDER BY seq LIMIT 1");
    if (q.executeStep()) {
      s.oldest_ts = TimePoint{std::chrono::milliseconds{q.getColumn(0).getInt64()}};
    }
  } catch (const SQLite::Exception& e) {
    log::error("outbox: read failed error=" + log::quote(e.what()));
  }
  return s;
}

std::int64_t Outbox::export_json_lines(std::ostream& out) {
  SQLite::Statement q(*m_db, "SELECT payload FROM samples ORDER BY seq");
  std::int64_t n = 0;
  while (q.executeStep()) {
    out << q.getColumn(0).getString() << "\n";
    ++n;
  }
  return n;
}

}  // namespace streamtrack::agent::outbox
