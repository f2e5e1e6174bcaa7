#include "agent/outbox/outbox.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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
CREATE TABLE IF NOT EXISTS dead_letters (
  seq            INTEGER PRIMARY KEY,
  ts_ms          INTEGER NOT NULL,
  topic          TEXT NOT NULL,
  payload        TEXT NOT NULL,
  reason         TEXT NOT NULL,
  quarantined_ms INTEGER NOT NULL
);
)sql";

// SQLite's primary result codes that mean the file is not a usable database. Everything else
// (busy, locked, I/O, full, out of memory, permissions) is about the moment, not the file.
bool is_corruption(int code) {
  const int primary = code & 0xFF;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

// Writes `text` to `path` durably: write, fsync, close. False with `error` set on failure.
bool write_synced(const fs::path& path, const std::string& text, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot open " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const auto n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = "cannot write " + path.string() + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    error = "cannot fsync " + path.string() + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  if (::close(fd) != 0) {
    error = "cannot close " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

// Makes a rename in `dir` durable.
bool sync_directory(const fs::path& dir, std::string& error) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    error = "cannot fsync directory " + dir.string() + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return false;
  }
  ::close(fd);
  return true;
}

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

Outbox::~Outbox() {
  if (!m_options.read_only && m_db) close_cleanly();
}

void Outbox::close_cleanly() {
  try {
    SQLite::Statement q(*m_db, "PRAGMA wal_checkpoint(TRUNCATE)");
    // (busy, log frames, checkpointed frames): busy = 1 means not everything is in the file.
    if (!q.executeStep() || q.getColumn(0).getInt() != 0) return;
  } catch (const SQLite::Exception& e) {
    log::warning("outbox: checkpoint at close failed error=" + log::quote(e.what()));
    return;
  }
  if (m_reserved == m_last_seq) return;
  std::string error;
  if (write_reserve(m_last_seq, error)) {
    m_reserved = m_last_seq;
  } else {
    log::warning("outbox: cannot lower the seq reservation error=" + log::quote(error));
  }
}

void Outbox::open_checked() {
  const auto busy_ms = static_cast<int>(m_options.busy_timeout.count());
  if (m_options.read_only) {
    try {
      m_db = std::make_unique<SQLite::Database>(m_path.string(), SQLite::OPEN_READONLY, busy_ms);
      load_state();
    } catch (const SQLite::Exception& e) {
      throw std::runtime_error("outbox: cannot read " + m_path.string() + ": " + e.what());
    }
    return;
  }
  std::string problem;
  try {
    m_db = std::make_unique<SQLite::Database>(
        m_path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, busy_ms);
    m_db->exec("PRAGMA journal_mode=WAL");
    SQLite::Statement check(*m_db, "PRAGMA integrity_check(1)");
    if (check.executeStep()) {
      const std::string verdict = check.getColumn(0).getString();
      if (verdict != "ok") problem = verdict;
    }
  } catch (const SQLite::Exception& e) {
    if (!is_corruption(e.getErrorCode())) {
      throw std::runtime_error("outbox: cannot open " + m_path.string() + ": " + e.what() +
                               " (left in place; the start is refused until this is fixed)");
    }
    problem = e.what();
  }
  if (!problem.empty()) {
    log::error("outbox: integrity check failed path=" + log::quote(m_path.string()) +
               " error=" + log::quote(problem));
    m_db.reset();
    move_aside(m_path);
    try {
      m_db = std::make_unique<SQLite::Database>(
          m_path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, busy_ms);
      m_db->exec("PRAGMA journal_mode=WAL");
    } catch (const SQLite::Exception& e) {
      throw std::runtime_error("outbox: cannot create " + m_path.string() + ": " + e.what());
    }
  }
  try {
    m_db->exec("PRAGMA synchronous=NORMAL");
    // The outbox is read and written at its two ends: a small page cache holds both.
    m_db->exec("PRAGMA cache_size=-512");
    if (m_options.max_page_count) set_max_page_count(*m_options.max_page_count);
    create_schema();
    load_state();
    prepare_statements();
  } catch (const SQLite::Exception& e) {
    throw std::runtime_error("outbox: cannot prepare " + m_path.string() + ": " + e.what());
  }
}

void Outbox::create_schema() {
  m_db->exec(k_schema);
}

void Outbox::prepare_statements() {
  forget_all();
  statement(m_insert,
            "INSERT INTO samples(seq, ts_ms, topic, payload, bytes) VALUES(?, ?, ?, ?, ?)");
  statement(m_set_meta,
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  statement(m_read,
            "SELECT seq, topic, payload FROM samples WHERE seq >= ? AND seq < ? "
            "ORDER BY seq LIMIT ?");
  statement(m_delete_range, "DELETE FROM samples WHERE seq BETWEEN ? AND ? RETURNING bytes");
}

// The statement in `slot`, prepared on first use and reset (bindings cleared) for the next.
SQLite::Statement& Outbox::statement(std::unique_ptr<SQLite::Statement>& slot, const char* sql) {
  if (!slot) {
    slot = std::make_unique<SQLite::Statement>(*m_db, sql);
  } else {
    slot->tryReset();
    slot->clearBindings();
  }
  return *slot;
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

void Outbox::set_max_page_count(std::int64_t pages) {
  m_db->exec("PRAGMA max_page_count=" + std::to_string(pages));
}

std::int64_t Outbox::meta(const std::string& key) {
  SQLite::Statement q(*m_db, "SELECT value FROM meta WHERE key = ?");
  q.bind(1, key);
  return q.executeStep() ? q.getColumn(0).getInt64() : 0;
}

void Outbox::set_meta(const std::string& key, std::int64_t value) {
  auto& q = statement(m_set_meta,
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
  if (!write_synced(tmp, std::to_string(value) + "\n", error)) return false;
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    error = "cannot write " + target.string() + ": " + ec.message();
    return false;
  }
  return sync_directory(target.parent_path(), error);
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
  m_dropped_unsaved = meta("dropped_unsaved");
  if (m_db->tableExists("dead_letters")) {
    SQLite::Statement dl(*m_db, "SELECT count(*) FROM dead_letters");
    dl.executeStep();
    m_quarantined = dl.getColumn(0).getInt64();
  }
  const std::int64_t recorded = std::max(meta("last_seq"), max_stored);
  const std::int64_t reserved = read_reserve();
  // Every seq up to the reservation may have been given out (and published) even if the
  // database does not remember it: a power loss can roll back the last commits, a lost or
  // corrupt database remembers nothing. Never reuse one.
  // Inspection shows what the database recorded (the reservation runs ahead while an agent
  // runs); only an outbox that gives out seqs continues above the reservation.
  m_last_seq = m_options.read_only ? recorded : std::max(recorded, reserved);
  m_reserved = std::max(m_last_seq, reserved);
  if (m_options.read_only) return;
  m_reserved = m_last_seq;
  if (reserved > recorded) {
    log::notice("outbox: seq continues above the reservation recorded=" + std::to_string(recorded) +
                " reserved=" + std::to_string(reserved) +
                " (after a crash, a power loss or a lost outbox; the gap is never used)");
  }
}

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
    if (!write_reserve(reserve, error)) return Result<AppendReport>::failure(error);
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
      insert.bind(2, unix_ms(s.ts));
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
    move.bind(2, unix_ms(SystemClock::instance().now()));
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
