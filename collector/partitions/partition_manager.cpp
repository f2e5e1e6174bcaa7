#include "collector/partitions/partition_manager.hpp"

#include <cstdio>
#include <functional>
#include <optional>
#include <regex>
#include <set>

#include "collector/partitions/archive.hpp"
#include "collector/store/lock_keys.hpp"

namespace streamtrack::collector::partitions {

Month month_of(TimePoint t) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  return {static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month()))};
}

Month add_months(Month m, int n) {
  const int index = m.year * 12 + (m.month - 1) + n;
  return {index / 12, index % 12 + 1};
}

std::string partition_name(Month m) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "livestream_metrics_y%04dm%02d", m.year, m.month);
  return buf;
}

std::optional<Month> parse_partition_name(std::string_view name) {
  static const std::regex k_pattern("livestream_metrics_y([0-9]{4})m([0-9]{2})");
  std::cmatch match;
  if (!std::regex_match(name.begin(), name.end(), match, k_pattern)) return std::nullopt;
  Month m{std::stoi(match[1].str()), std::stoi(match[2].str())};
  if (m.month < 1 || m.month > 12) return std::nullopt;
  return m;
}

std::string month_start_text(Month m) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-01 00:00:00+00", m.year, m.month);
  return buf;
}

namespace {

constexpr Month k_first_month{2000, 1};  // the start of ingest's accepted time window

std::set<Month> existing_partitions(store::PgConnection& conn) {
  const auto r = conn.exec(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = 'livestream_metrics'::regclass");
  std::set<Month> months;
  for (int i = 0; i < r.rows(); ++i) {
    if (const auto m = parse_partition_name(r.text(i, 0))) months.insert(*m);
  }
  return months;
}

std::string range_condition(const std::string& from, const std::string& to) {
  return "\"timestamp\" >= '" + from + "' AND \"timestamp\" < '" + to + "'";
}

// Moves up to `limit` rows (0: all) of the default partition matching `condition` into `table`
// (nullopt: deletes them). Returns the rows moved.
std::int64_t move_default_rows(store::PgConnection& conn, const std::string& condition,
                               std::int64_t limit, const std::optional<std::string>& table) {
  std::string pick = "SELECT ctid FROM livestream_metrics_default WHERE " + condition;
  if (limit > 0) pick += " LIMIT " + std::to_string(limit);
  const std::string remove = "DELETE FROM livestream_metrics_default WHERE ctid IN (" + pick + ")";
  if (!table) return conn.exec(remove).affected();
  return conn
      .exec("WITH moved AS (" + remove + " RETURNING *) INSERT INTO " + *table +
            " SELECT * FROM moved")
      .affected();
}

void rollback_quietly(store::PgConnection& conn) {
  if (!conn.healthy()) return;
  try {
    conn.exec("ROLLBACK");
  } catch (const store::PgError&) {
  }
}

// Creates the partition for `m` as a plain table, moves that month's rows out of the default
// partition into it in chunks (each its own transaction, so no lock is held for long), then in
// one short transaction moves what arrived meanwhile and attaches it. An interrupted run leaves
// the plain table with some rows, which the next run continues from.
std::int64_t create_partition(store::PgConnection& conn, Month m, std::int64_t chunk_rows) {
  const auto from = month_start_text(m);
  const auto to = month_start_text(add_months(m, 1));
  const auto name = partition_name(m);
  const auto condition = range_condition(from, to);
  conn.exec("CREATE TABLE IF NOT EXISTS " + name + " (LIKE livestream_metrics INCLUDING DEFAULTS)");
  std::int64_t moved = 0;
  while (true) {
    const auto n = move_default_rows(conn, condition, chunk_rows, name);
    moved += n;
    if (n < chunk_rows) break;
  }
  conn.exec("BEGIN");
  try {
    conn.exec("LOCK TABLE livestream_metrics_default IN ACCESS EXCLUSIVE MODE");
    moved += move_default_rows(conn, condition, 0, name);
    conn.exec("ALTER TABLE livestream_metrics ATTACH PARTITION " + name + " FOR VALUES FROM ('" +
              from + "') TO ('" + to + "')");
    conn.exec("COMMIT");
    return moved;
  } catch (...) {
    rollback_quietly(conn);
    throw;
  }
}

void drop_partition(store::PgConnection& conn, Month m, const std::string& archive_dir,
                    MaintenanceReport& report) {
  const auto name = partition_name(m);
  if (archive_dir.empty()) {
    conn.exec("ALTER TABLE livestream_metrics DETACH PARTITION " + name);
    conn.exec("DROP TABLE " + name);
    return;
  }
  conn.exec("BEGIN");
  try {
    // Copying a month may take longer than any statement_timeout; lock waits stay bounded.
    conn.exec("SET LOCAL statement_timeout = 0");
    conn.exec("LOCK TABLE " + name + " IN SHARE MODE");
    const auto archived = archive_table(conn, name, archive_dir);
    conn.exec("ALTER TABLE livestream_metrics DETACH PARTITION " + name);
    conn.exec("DROP TABLE " + name);
    conn.exec("COMMIT");
    report.archived.emplace_back(archived.file.string(), archived.rows);
  } catch (...) {
    rollback_quietly(conn);
    throw;
  }
}

}  // namespace

MaintenanceReport maintain_partitions(store::PgConnection& conn, TimePoint now,
                                      const MaintenanceOptions& options) {
  MaintenanceReport report;
  using Steps = MaintenanceOptions::Steps;
  const bool create = options.steps != Steps::expire;
  const bool expire = options.steps != Steps::create;
  const auto lock = store::lock_keys::text(create ? store::lock_keys::k_partitions
                                                  : store::lock_keys::k_retention);
  const auto stopping = [&] { return options.stop_requested && options.stop_requested(); };
  const auto retention_lock = store::lock_keys::text(store::lock_keys::k_retention);
  const auto unlock = [&] {
    conn.exec("SELECT pg_advisory_unlock(" + lock + ")");
    if (create && expire) conn.exec("SELECT pg_advisory_unlock(" + retention_lock + ")");
  };
  conn.exec("SELECT pg_advisory_lock(" + lock + ")");
  // One month's failure is that month's: reported, and the others still handled. A lost
  // connection ends the round.
  const auto attempt = [&](Month m, const std::function<void()>& step) {
    try {
      step();
    } catch (const store::PgError& e) {
      if (!conn.healthy()) throw;
      report.failed.emplace_back(partition_name(m), e.describe());
    } catch (const ArchiveError& e) {
      report.failed.emplace_back(partition_name(m), e.what());
    }
  };
  try {
    if (create && expire) conn.exec("SELECT pg_advisory_lock(" + retention_lock + ")");
    const Month current = month_of(now);
    const Month last = add_months(current, options.premake_months);
    const std::optional<Month> keep_from =
        options.retention_months > 0
            ? std::optional<Month>(add_months(current, -options.retention_months))
            : std::nullopt;
    const Month first = keep_from ? std::max(*keep_from, k_first_month) : k_first_month;
    auto existing = existing_partitions(conn);

    std::set<Month> wanted;
    for (int i = 0; i <= options.premake_months; ++i) wanted.insert(add_months(current, i));
    // Only months a partition may be made for: anything else in the default stays there.
    const auto stray = conn.exec(
        "SELECT DISTINCT extract(year FROM \"timestamp\" AT TIME ZONE 'UTC')::integer, "
        "extract(month FROM \"timestamp\" AT TIME ZONE 'UTC')::integer "
        "FROM livestream_metrics_default WHERE " +
        range_condition(month_start_text(first), month_start_text(add_months(last, 1))));
    for (int i = 0; i < stray.rows(); ++i) {
      wanted.insert(
          Month{static_cast<int>(stray.integer(i, 0)), static_cast<int>(stray.integer(i, 1))});
    }
    for (const auto& m : wanted) {
      if (!create || stopping()) break;
      if (existing.count(m)) continue;
      attempt(m, [&] {
        report.rescued_rows += create_partition(conn, m, options.rescue_chunk_rows);
        report.created.push_back(partition_name(m));
        existing.insert(m);
      });
    }
    if (keep_from && expire) {
      for (const auto& m : existing) {
        if (stopping()) break;
        if (m >= *keep_from) continue;
        attempt(m, [&] {
          drop_partition(conn, m, options.archive_dir, report);
          report.dropped.push_back(partition_name(m));
        });
      }
      // Late rows of months retention already dropped would keep the default non-empty (and
      // its alert firing) forever. With an archive they are kept (and counted in
      // default_rows): only an archived row may be deleted.
      const auto expired = "\"timestamp\" < '" + month_start_text(*keep_from) + "'";
      while (options.archive_dir.empty() && !stopping()) {
        const auto n = move_default_rows(conn, expired, options.rescue_chunk_rows, std::nullopt);
        report.expired_rows += n;
        if (n < options.rescue_chunk_rows) break;
      }
    }
    report.default_rows =
        conn.exec("SELECT count(*) FROM livestream_metrics_default").integer(0, 0);
  } catch (...) {
    if (conn.healthy()) {
      rollback_quietly(conn);
      unlock();
    }
    throw;
  }
  unlock();
  return report;
}

}  // namespace streamtrack::collector::partitions
