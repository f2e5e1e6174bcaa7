#include "agent/outbox/outbox.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <algorithm>
#include <stdexcept>
#include <system_error>

#include "common/daemon/log.hpp"

// Opening, checking and closing the outbox: schema, corruption handling, the state kept in
// memory (counters, seq reservation) and the prepared statements.
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
    : m_path(std::move(path)), m_options(std::move(options)), m_reservation(m_path) {
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
  if (m_reservation.write(m_last_seq, error)) {
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
  const std::int64_t reserved = m_reservation.read();
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
