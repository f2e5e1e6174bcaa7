#include "agent/outbox/outbox.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include "common/daemon/log.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::agent::outbox {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_schema = R"sql(
CREATE TABLE IF NOT EXISTS samples (
  seq     INTEGER PRIMARY KEY,
  ts_ms   INTEGER NOT NULL,
  topic   TEXT NOT NULL,
  payload TEXT NOT NULL,
  bytes   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
)sql";

std::int64_t unix_ms(TimePoint t) {
  return t.time_since_epoch().count();
}

fs::path sidecar(const fs::path& db) {
  return fs::path(db.string() + ".seq");
}

void move_aside(const fs::path& db) {
  const auto stamp = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const fs::path from(db.string() + suffix);
    std::error_code ec;
    if (!fs::exists(from, ec)) continue;
    fs::path to(db.string() + ".corrupt-" + stamp + suffix);
    for (int i = 1; fs::exists(to, ec); ++i) {
      to = db.string() + ".corrupt-" + stamp + "." + std::to_string(i) + suffix;
    }
    fs::rename(from, to, ec);
    if (ec) {
      throw std::runtime_error("outbox: cannot move the corrupt database aside: " + from.string() +
                               ": " + ec.message());
    }
    log::error("outbox: CORRUPT outbox moved aside path=" + log::quote(to.string()) +
               " (kept for inspection; a fresh outbox is started)");
  }
}

}  // namespace

Outbox::Outbox(fs::path path, Options options)
    : m_path(std::move(path)), m_options(std::move(options)) {
  std::error_code ec;
  if (!m_options.read_only && m_path.has_parent_path()) {
    fs::create_directories(m_path.parent_path(), ec);
  }
  open_checked();
}

Outbox::~Outbox() = default;

void Outbox::open_checked() {
  if (m_options.read_only) {
    try {
      m_db = std::make_unique<SQLite::Database>(m_path.string(), SQLite::OPEN_READONLY);
      load_state();
    } catch (const SQLite::Exception& e) {
      throw std::runtime_error("outbox: cannot read " + m_path.string() + ": " + e.what());
    }
    return;
  }
  std::string problem;
  try {
    m_db = std::make_unique<SQLite::Database>(m_path.string(),
                                              SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    m_db->exec("PRAGMA journal_mode=WAL");
    SQLite::Statement check(*m_db, "PRAGMA integrity_check(1)");
    if (check.executeStep()) {
      const std::string verdict = check.getColumn(0).getString();
      if (verdict != "ok") problem = verdict;
    }
  } catch (const SQLite::Exception& e) {
    problem = e.what();
    if (e.getErrorCode() == SQLITE_CANTOPEN || e.getErrorCode() == SQLITE_READONLY ||
        e.getErrorCode() == SQLITE_PERM) {
      throw std::runtime_error("outbox: cannot open " + m_path.string() + ": " + e.what());
    }
  }
  if (!problem.empty()) {
    log::error("outbox: integrity check failed path=" + log::quote(m_path.string()) +
               " error=" + log::quote(problem));
    m_db.reset();
    move_aside(m_path);
    try {
      m_db = std::make_unique<SQLite::Database>(m_path.string(),
                                                SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      m_db->exec("PRAGMA journal_mode=WAL");
    } catch (const SQLite::Exception& e) {
      throw std::runtime_error("outbox: cannot create " + m_path.string() + ": " + e.what());
    }
  }
  try {
    m_db->exec("PRAGMA synchronous=NORMAL");
    if (m_options.max_page_count) set_max_page_count(*m_options.max_page_count);
    create_schema();
    load_state();
  } catch (const SQLite::Exception& e) {
    throw std::runtime_error("outbox: cannot prepare " + m_path.string() + ": " + e.what());
  }
}

void Outbox::create_schema() {
  m_db->exec(k_schema);
}

void Outbox::set_max_page_count(std::int64_t pages) {
  m_db->exec("PRAGMA max_page_count=" + std::to_string(pages));
}

std::int64_t Outbox::meta(const std::string& key) {
  SQLite::Statement q(*m_db, "SELECT value FROM meta WHERE key = ?");
  q.bind(1, key);
  return q.executeStep() ? q.getColumn(0).getInt64() : 0;
}

void Outbox::set_meta(const std::string& key, std::int64_t value) {
  SQLite::Statement q(*m_db,
                      "INSERT INTO meta(key, value) VALUES(?, ?) "
                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  q.bind(1, key);
  q.bind(2, value);
  q.exec();
}

std::int64_t Outbox::read_reserve() const {
  std::ifstream in(sidecar(m_path));
  std::int64_t value = 0;
  if (in >> value && value > 0) return value;
  return 0;
}

bool Outbox::write_reserve(std::int64_t value, std::string& error) const {
  const fs::path target = sidecar(m_path);
  const fs::path tmp(target.string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << value << "\n";
    out.flush();
    if (!out) {
      error = "cannot write " + tmp.string();
      return false;
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    error = "cannot write " + target.string() + ": " + ec.message();
    return false;
  }
  return true;
}

void Outbox::load_state() {
  SQLite::Statement q(*m_db,
                      "SELECT count(*), coalesce(sum(bytes), 0), coalesce(max(seq), 0) "
                      "FROM samples");
  q.executeStep();
  m_depth = q.getColumn(0).getInt64();
  m_bytes = q.getColumn(1).getInt64();
  const std::int64_t max_stored = q.getColumn(2).getInt64();
  m_dropped_oldest = meta("dropped_oldest");
  m_dropped_newest = meta("dropped_newest");
  const std::int64_t recorded = std::max(meta("last_seq"), max_stored);
  const std::int64_t from_sidecar = read_reserve();
  if (recorded == 0 && from_sidecar > 0) {
    // A fresh outbox after a corrupt or lost one: continue above every seq ever reserved.
    m_last_seq = from_sidecar;
    if (!m_options.read_only) {
      log::notice("outbox: fresh outbox, seq continues above the reservation last_seq=" +
                  std::to_string(m_last_seq));
    }
  } else {
    m_last_seq = recorded;
  }
  m_reserved = std::max(m_last_seq, from_sidecar);
}

Result<AppendReport> Outbox::append(std::vector<Sample>& samples) {
  AppendReport report;
  if (samples.empty()) return report;
  const auto& limits = m_options.limits;
  const wire::Topics topics(m_options.topic_root);
  const std::int64_t first = m_last_seq + 1;
  const std::int64_t last = m_last_seq + static_cast<std::int64_t>(samples.size());
  if (last > m_reserved) {
    std::string error;
    const std::int64_t reserve = last + m_options.seq_reserve;
    if (!write_reserve(reserve, error)) return Result<AppendReport>::failure(error);
    m_reserved = reserve;
  }
  try {
    SQLite::Transaction tx(*m_db);
    SQLite::Statement insert(
        *m_db, "INSERT INTO samples(seq, ts_ms, topic, payload, bytes) VALUES(?, ?, ?, ?, ?)");
    std::int64_t depth = m_depth;
    std::int64_t bytes = m_bytes;
    std::int64_t seq = m_last_seq;
    for (auto& s : samples) {
      s.seq = ++seq;
      const std::string payload = wire::encode_sample(s);
      const auto size = static_cast<std::int64_t>(payload.size());
      if (limits.policy == DropPolicy::drop_newest &&
          (depth + 1 > limits.max_rows || bytes + size > limits.max_bytes)) {
        ++report.dropped_newest;
        continue;
      }
      insert.bind(1, s.seq);
      insert.bind(2, unix_ms(s.ts));
      insert.bind(3, topics.metrics(s.agent, s.platform, s.channel));
      insert.bind(4, payload);
      insert.bind(5, size);
      insert.exec();
      insert.reset();
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
      set_meta("last_seq", seq);
      if (report.dropped_oldest > 0)
        set_meta("dropped_oldest", m_dropped_oldest + report.dropped_oldest);
      if (report.dropped_newest > 0)
        set_meta("dropped_newest", m_dropped_newest + report.dropped_newest);
      tx.commit();
    } catch (...) {
      m_depth = saved_depth;
      m_bytes = saved_bytes;
      throw;
    }
    m_last_seq = seq;
    m_dropped_oldest += report.dropped_oldest;
    m_dropped_newest += report.dropped_newest;
    report.first_seq = first;
    report.last_seq = last;
    return report;
  } catch (const SQLite::Exception& e) {
    for (auto& s : samples) s.seq = 0;
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
    m_depth -= rows;
    m_bytes -= freed;
    dropped += rows;
  }
  return dropped;
}

std::vector<Row> Outbox::read(std::int64_t from, std::int64_t before, std::size_t limit) {
  std::vector<Row> rows;
  if (limit == 0 || from >= before) return rows;
  try {
    SQLite::Statement q(*m_db,
                        "SELECT seq, topic, payload FROM samples WHERE seq >= ? AND seq < ? "
                        "ORDER BY seq LIMIT ?");
    q.bind(1, from);
    q.bind(2, before);
    q.bind(3, static_cast<std::int64_t>(limit));
    while (q.executeStep()) {
      rows.push_back(
          Row{q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getString()});
    }
  } catch (const SQLite::Exception& e) {
    log::error("outbox: read failed error=" + log::quote(e.what()));
    rows.clear();
  }
  return rows;
}

Result<std::int64_t> Outbox::remove(
    const std::vector<std::pair<std::int64_t, std::int64_t>>& ranges) {
  if (ranges.empty()) return std::int64_t{0};
  try {
    SQLite::Transaction tx(*m_db);
    SQLite::Statement sum(*m_db,
                          "SELECT count(*), coalesce(sum(bytes), 0) FROM samples "
                          "WHERE seq BETWEEN ? AND ?");
    SQLite::Statement del(*m_db, "DELETE FROM samples WHERE seq BETWEEN ? AND ?");
    std::int64_t rows = 0;
    std::int64_t freed = 0;
    for (const auto& [first, last] : ranges) {
      sum.bind(1, first);
      sum.bind(2, last);
      sum.executeStep();
      const std::int64_t n = sum.getColumn(0).getInt64();
      const std::int64_t b = sum.getColumn(1).getInt64();
      sum.reset();
      if (n == 0) continue;
      del.bind(1, first);
      del.bind(2, last);
      del.exec();
      del.reset();
      rows += n;
      freed += b;
    }
    tx.commit();
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

Stats Outbox::stats() {
  Stats s;
  s.depth = m_depth;
  s.bytes = m_bytes;
  s.last_seq = m_last_seq;
  s.dropped_oldest = m_dropped_oldest;
  s.dropped_newest = m_dropped_newest;
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

fs::path outbox_path(const AgentConfig& config) {
  return fs::path(config.state_dir) / "outbox.db";
}

Options outbox_options(const AgentConfig& config) {
  Options o;
  o.limits = Limits{config.buffer_max_rows, config.buffer_max_bytes, config.buffer_policy};
  o.topic_root = config.mqtt.topic_prefix;
  return o;
}

}  // namespace streamtrack::agent::outbox
