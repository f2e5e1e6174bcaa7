#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>

#include "agent/outbox/outbox.hpp"
#include "common/daemon/log.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"

// The write path: append with its limits, and the newest rows kept in memory.
namespace streamtrack::agent::outbox {

Result<AppendReport> Outbox::append(std::vector<Sample>& samples, std::int64_t unsaved_dropped) {
  AppendReport report;
  if (samples.empty() && unsaved_dropped == 0) return report;
  const auto& limits = m_options.limits;
  const wire::Topics topics(m_options.topic_root);
  const std::int64_t gap = std::max<std::int64_t>(0, unsaved_dropped);
  const std::int64_t first = m_last_seq + gap + 1;
  const std::int64_t last = m_last_seq + gap + static_cast<std::int64_t>(samples.size());
  if (last > m_reserved) {
    std::string error;
    const std::int64_t reserve = last + m_options.seq_reserve;
    if (!m_reservation.write(reserve, error)) return Result<AppendReport>::failure(error);
    m_reserved = reserve;
  }
  std::vector<Row> stored;
  stored.reserve(samples.size());
  try {
    SQLite::Transaction tx(*m_db);
    auto& insert = statement(
        m_insert, "INSERT INTO samples(seq, ts_ms, topic, payload, bytes) VALUES(?, ?, ?, ?, ?)");
    std::int64_t depth = m_depth;
    std::int64_t bytes = m_bytes;
    std::int64_t seq = m_last_seq + gap;
    for (auto& s : samples) {
      s.seq = ++seq;
      Row row{s.seq, topics.metrics(s.agent, s.platform, s.channel), wire::encode_sample(s)};
      const auto size = static_cast<std::int64_t>(row.payload.size());
      if (limits.policy == DropPolicy::drop_newest &&
          (depth + 1 > limits.max_rows || bytes + size > limits.max_bytes)) {
        ++report.dropped_newest;
        continue;
      }
      insert.bind(1, s.seq);
      insert.bind(2, s.ts.time_since_epoch().count());
      insert.bindNoCopy(3, row.topic);
      insert.bindNoCopy(4, row.payload);
      insert.bind(5, size);
      insert.exec();
      insert.reset();
      stored.push_back(std::move(row));
      ++depth;
      bytes += size;
      ++report.stored;
    }
    const std::int64_t saved_depth = m_depth;
    const std::int64_t saved_bytes = m_bytes;
    m_depth = depth;
    m_bytes = bytes;
    try {
      if (limits.policy == DropPolicy::drop_oldest)
        report.dropped_oldest = drop_oldest_over_limits();
      // max(seq) of the rows tells the last seq while the newest row is stored: meta keeps it
      // only when that is not so (a seq given to a dropped sample, rows deleted).
      if (stored.empty() || stored.back().seq != seq || report.dropped_oldest > 0) {
        set_meta("last_seq", seq);
      }
      if (report.dropped_oldest > 0)
        set_meta("dropped_oldest", m_dropped_oldest + report.dropped_oldest);
      if (report.dropped_newest > 0)
        set_meta("dropped_newest", m_dropped_newest + report.dropped_newest);
      if (gap > 0) set_meta("dropped_unsaved", m_dropped_unsaved + gap);
      tx.commit();
    } catch (...) {
      m_depth = saved_depth;
      m_bytes = saved_bytes;
      throw;
    }
    m_last_seq = seq;
    for (auto& row : stored) remember(std::move(row));
    m_dropped_oldest += report.dropped_oldest;
    m_dropped_newest += report.dropped_newest;
    m_dropped_unsaved += gap;
    report.first_seq = samples.empty() ? 0 : first;
    report.last_seq = samples.empty() ? 0 : last;
    return report;
  } catch (const SQLite::Exception& e) {
    for (auto& s : samples) s.seq = 0;
    forget_all();  // drop_oldest_over_limits may have forgotten rows the rollback kept
    return Result<AppendReport>::failure(e.what());
  }
}

// Inside append's transaction: deletes the oldest rows until the limits hold again.
std::int64_t Outbox::drop_oldest_over_limits() {
  const auto& limits = m_options.limits;
  std::int64_t dropped = 0;
  while (m_depth > limits.max_rows || m_bytes > limits.max_bytes) {
    SQLite::Statement q(*m_db, "SELECT seq, bytes FROM samples ORDER BY seq LIMIT 512");
    std::int64_t upto = 0;
    std::int64_t rows = 0;
    std::int64_t freed = 0;
    while (q.executeStep() &&
           (m_depth - rows > limits.max_rows || m_bytes - freed > limits.max_bytes)) {
      upto = q.getColumn(0).getInt64();
      ++rows;
      freed += q.getColumn(1).getInt64();
    }
    if (rows == 0) break;
    SQLite::Statement del(*m_db, "DELETE FROM samples WHERE seq <= ?");
    del.bind(1, upto);
    del.exec();
    forget(0, upto);
    m_depth -= rows;
    m_bytes -= freed;
    dropped += rows;
  }
  return dropped;
}

void Outbox::remember(Row row) {
  if (m_options.recent_rows == 0) return;  // m_recent_from stays above every seq
  m_recent_bytes += row.payload.size() + row.topic.size();
  const std::int64_t seq = row.seq;
  m_recent.emplace_hint(m_recent.end(), seq, std::move(row));
  while (!m_recent.empty() &&
         (m_recent.size() > m_options.recent_rows || m_recent_bytes > m_options.recent_bytes)) {
    const auto oldest = m_recent.begin();
    m_recent_bytes -= oldest->second.payload.size() + oldest->second.topic.size();
    m_recent_from = oldest->first + 1;
    m_recent.erase(oldest);
  }
}

void Outbox::forget_all() {
  m_recent.clear();
  m_recent_bytes = 0;
  m_recent_from =
      m_options.recent_rows == 0 ? std::numeric_limits<std::int64_t>::max() : m_last_seq + 1;
}

void Outbox::forget(std::int64_t first, std::int64_t last) {
  auto it = m_recent.lower_bound(first);
  while (it != m_recent.end() && it->first <= last) {
    m_recent_bytes -= it->second.payload.size() + it->second.topic.size();
    it = m_recent.erase(it);
  }
}

}  // namespace streamtrack::agent::outbox
