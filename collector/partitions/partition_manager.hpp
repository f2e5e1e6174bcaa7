#pragma once

#include <functional>
#include <string>
#include <vector>

#include "collector/store/pg_connection.hpp"
#include "common/util/time.hpp"

// Monthly partitions of livestream_metrics: livestream_metrics_yYYYYmMM, plus a default
// partition that should stay empty.
namespace streamtrack::collector::partitions {

// A calendar month in UTC.
struct Month {
  int year = 1970;
  int month = 1;  // 1..12
  // clang-tidy 14 reads the defaulted <=>'s synthesized comparison with 0 as a null pointer.
  auto operator<=>(const Month&) const = default;  // NOLINT(modernize-use-nullptr)
};

Month month_of(TimePoint t);
Month add_months(Month m, int n);
// "livestream_metrics_y2026m03"
std::string partition_name(Month m);
// Parses partition_name(); nullopt for any other name (such as the default partition).
std::optional<Month> parse_partition_name(std::string_view name);
// "2026-03-01 00:00:00+00"
std::string month_start_text(Month m);

struct MaintenanceOptions {
  int premake_months = 3;
  int retention_months = 0;                 // 0: keep every month
  std::int64_t rescue_chunk_rows = 10'000;  // rows moved out of the default per transaction
  // Non-empty: a month is written to <archive_dir>/<partition>.copy.gz (archive.hpp) before
  // it is dropped; a month that cannot be archived is not dropped.
  std::string archive_dir{};
  // Which part of a round runs: `create` makes and fills partitions (short; the collector runs
  // it before and beside ingest), `expire` archives and drops expired months and deletes
  // expired rows of the default (may take as long as copying a month; the collector runs it
  // on a thread of its own). Each takes its own advisory lock.
  enum class Steps { all, create, expire };
  Steps steps = Steps::all;
  // Asked before each month and chunk: true ends the round early (what is done stays done).
  std::function<bool()> stop_requested{};
};

struct MaintenanceReport {
  std::vector<std::string> created;
  std::vector<std::string> dropped;
  std::vector<std::pair<std::string, std::int64_t>> archived;  // file, rows
  // Partitions that could not be made or dropped this round, with the database's reason; the
  // other months are still handled, and the next round tries these again.
  std::vector<std::pair<std::string, std::string>> failed;
  std::int64_t default_rows = 0;  // rows left in the default partition afterwards
  std::int64_t rescued_rows = 0;  // rows moved out of the default into new partitions
  // Rows of the default older than retention, deleted (only without archive_dir: with one
  // they stay in the default, counted in default_rows).
  std::int64_t expired_rows = 0;
};

// Makes sure partitions exist for the month of `now` and `premake_months` months after it;
// months from 2000 on that have rows in the default partition get their partition too (the rows
// move there in chunks of `rescue_chunk_rows`, each its own transaction), unless retention
// would drop them: such rows are deleted. With `retention_months` > 0, partitions whose month
// lies entirely before the start of (month of now - retention_months) are detached and dropped;
// with `archive_dir`, each is first written there in one transaction that holds a SHARE lock
// on it (no row can arrive meanwhile) and drops it only once the file is on disk.
// Whatever else sits in the default partition stays there and is counted. One month failing
// (a lock not granted within the connection's lock_timeout, a table in the way) is reported in
// `failed` and does not stop the others. options.steps chooses the creating part, the
// expiring part or both; each is serialised across collectors by its own advisory lock.
// Throws store::PgError only when the connection fails or the lock is not granted.
MaintenanceReport maintain_partitions(store::PgConnection& conn, TimePoint now,
                                      const MaintenanceOptions& options);

}  // namespace streamtrack::collector::partitions
