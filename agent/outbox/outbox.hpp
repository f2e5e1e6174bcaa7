#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "agent/outbox/seq_reservation.hpp"
#include "common/util/result.hpp"
#include "common/util/time.hpp"
#include "common/wire/sample.hpp"

namespace SQLite {
class Database;
class Statement;
}  // namespace SQLite

// The agent's store of unsent samples: a SQLite database in state_dir. Every sample is
// written here, with its seq, before anything is published; it leaves only when its delivery
// is confirmed. Single-threaded: the daemon's main loop owns it.
// One class in four files: outbox.cpp (open, schema, corruption, close), outbox_write.cpp
// (append, limits, the newest rows in memory), outbox_delivery.cpp (read, remove, quarantine),
// outbox_inspect.cpp (stats, export); the seq reservation is seq_reservation.hpp.
namespace streamtrack::agent::outbox {

struct Limits {
  std::int64_t max_rows = 1'000'000;
  std::int64_t max_bytes = std::int64_t{256} * 1024 * 1024;
  DropPolicy policy = DropPolicy::drop_oldest;
};

// One stored sample, ready to publish.
struct Row {
  std::int64_t seq = 0;
  std::string topic;
  std::string payload;  // the encoded sample (carries seq)
};

struct Stats {
  std::int64_t depth = 0;  // unsent samples
  std::int64_t bytes = 0;  // their payload bytes
  std::int64_t last_seq = 0;
  std::int64_t dropped_oldest = 0;
  std::int64_t dropped_newest = 0;
  // Samples held in memory while the outbox could not be written, and dropped there (over
  // the limits, or still unwritten at shutdown); each left a gap in seq.
  std::int64_t dropped_unsaved = 0;
  std::int64_t quarantined = 0;  // rows in the dead-letter table
  // Seqs up to here may have been given out: the next start continues above this. Ahead of
  // last_seq while an agent runs or after it crashed; equal after a clean stop.
  std::int64_t seq_reserved = 0;
  std::optional<TimePoint> oldest_ts;  // when the oldest unsent sample was taken
  std::int64_t dropped() const { return dropped_oldest + dropped_newest + dropped_unsaved; }
};

// What one append did.
struct AppendReport {
  std::int64_t stored = 0;
  std::int64_t first_seq = 0;  // seqs given out: first_seq .. last_seq (0 when none)
  std::int64_t last_seq = 0;
  std::int64_t dropped_oldest = 0;
  std::int64_t dropped_newest = 0;
};

struct Options {
  Limits limits;
  std::string topic_root = "streamtrack/v1";
  // Seqs reserved ahead in the sidecar file "<db>.seq" (written with fsync of the file and its
  // directory before any of them is used), so that no seq is ever given out twice: not by a
  // fresh outbox that replaces a corrupt or deleted one, nor after a power loss rolled back
  // the last commits. After a crash, seqs continue above the reservation (a gap of at most
  // this many); a clean close lowers the reservation to the last seq.
  std::int64_t seq_reserve = 1'000;
  // How long a statement waits for a lock held by another process (outbox stats, a backup).
  std::chrono::milliseconds busy_timeout{5'000};
  // Most rows kept in the dead-letter table; the oldest go first.
  std::int64_t max_dead_letters = 10'000;
  // Inspection (outbox stats/export next to a running daemon): never creates, checks or moves
  // anything; a missing or unreadable database is an error.
  bool read_only = false;
  // Tests only: SQLite's max_page_count, to make writes fail with SQLITE_FULL like a full disk.
  std::optional<std::int64_t> max_page_count{};
  // The newest stored rows also kept in memory (bounded by rows and payload bytes), so that
  // publishing what was just stored does not read it back from the database. 0 disables it.
  std::size_t recent_rows = 256;
  std::size_t recent_bytes = std::size_t{256} * 1024;
};

class Outbox {
 public:
  // Opens (or creates) the database at `path` (WAL, synchronous=NORMAL, busy timeout) and runs
  // an integrity check. Only real corruption (the check fails, SQLITE_CORRUPT, SQLITE_NOTADB)
  // renames the database to "<path>.corrupt-<unix seconds>" (never deleted), logged as an
  // error, and starts a fresh one; seqs keep growing from the sidecar reservation. Any other
  // error (busy or locked beyond the busy timeout, I/O, full disk, out of memory, permissions)
  // leaves every file in place and throws std::runtime_error naming it (startup only).
  Outbox(std::filesystem::path path, Options options);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Stores the samples (one or several poll rounds) in one transaction: gives each the next
  // seq (overwriting `seq`), encodes it once, and applies the limits (every dropped sample is
  // counted, persistently).
  // On a database error (full disk, read-only file system...) nothing is stored, no seq is
  // consumed, and the error text is returned: the caller keeps the samples and retries.
  // `unsaved_dropped` samples were dropped before they could be stored: that many seqs are
  // skipped first (the gap that tells the collector) and counted as dropped_unsaved.
  Result<AppendReport> append(std::vector<Sample>& samples, std::int64_t unsaved_dropped = 0);

  // Up to `limit` rows with from <= seq < before, in seq order, or the read error (logged).
  // Rows among the newest ones kept in memory (Options::recent_rows) come from memory: they
  // are byte for byte what was stored.
  Result<std::vector<Row>> read(std::int64_t from, std::int64_t before, std::size_t limit);

  // Moves row `seq` into the dead-letter table with `reason` (one that can never be published);
  // false (logged, nothing moved) on a database error. A missing row is fine (true).
  bool quarantine(std::int64_t seq, const std::string& reason);

  // Deletes the rows in these inclusive ranges (ranges with no rows are fine). Returns how many
  // rows were deleted, or the error (nothing deleted).
  Result<std::int64_t> remove(const std::vector<std::pair<std::int64_t, std::int64_t>>& ranges);

  // Smallest stored seq, or nullopt when empty.
  std::optional<std::int64_t> first_seq();
  std::int64_t last_seq() const { return m_last_seq; }
  std::int64_t depth() const { return m_depth; }
  std::int64_t bytes() const { return m_bytes; }
  Stats stats();

  // Writes every unsent sample, oldest first, one JSON object a line. Returns the count.
  std::int64_t export_json_lines(std::ostream& out);

  // Changes the limits (SIGHUP); they apply from the next append.
  void set_limits(const Limits& limits) { m_options.limits = limits; }

  const std::filesystem::path& path() const { return m_path; }

  // Tests only: changes SQLite's max_page_count (see Options).
  void set_max_page_count(std::int64_t pages);

 private:
  // Lowers the sidecar reservation to the last seq once every commit is durable (a clean
  // close): the next start continues without a gap.
  void close_cleanly();
  void open_checked();
  void create_schema();
  void load_state();
  std::int64_t meta(const std::string& key);
  void set_meta(const std::string& key, std::int64_t value);
  std::int64_t drop_oldest_over_limits();
  void prepare_statements();
  SQLite::Statement& statement(std::unique_ptr<SQLite::Statement>& slot, const char* sql);
  void remember(Row row);
  void forget(std::int64_t first, std::int64_t last);
  // After a failed transaction: reads go to the database again until the next append.
  void forget_all();

  std::filesystem::path m_path;
  Options m_options;
  SeqReservation m_reservation;
  std::unique_ptr<SQLite::Database> m_db;
  // Prepared once, reset after each use; declared after m_db, so finalized before it closes.
  std::unique_ptr<SQLite::Statement> m_insert;
  std::unique_ptr<SQLite::Statement> m_set_meta;
  std::unique_ptr<SQLite::Statement> m_read;
  std::unique_ptr<SQLite::Statement> m_delete_range;
  // Every stored row with seq >= m_recent_from, and nothing else (see Options::recent_rows).
  std::map<std::int64_t, Row> m_recent;
  std::int64_t m_recent_from = std::numeric_limits<std::int64_t>::max();
  std::size_t m_recent_bytes = 0;
  std::int64_t m_last_seq = 0;
  std::int64_t m_reserved = 0;
  std::int64_t m_depth = 0;
  std::int64_t m_bytes = 0;
  std::int64_t m_dropped_oldest = 0;
  std::int64_t m_dropped_newest = 0;
  std::int64_t m_dropped_unsaved = 0;
  std::int64_t m_quarantined = 0;
};

// "<state_dir>/outbox.db"
std::filesystem::path outbox_path(const AgentConfig& config);
Options outbox_options(const AgentConfig& config);

}  // namespace streamtrack::agent::outbox
